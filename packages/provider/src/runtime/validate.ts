import path from 'node:path'
import { InvalidParameterError } from '@stoa/protocol'
import type { RuntimeKind, WorkloadSpec } from './types.ts'

const workloadIdPattern = /^[a-z0-9][a-z0-9_.-]{0,127}$/
const serviceNamePattern = /^[a-z][a-z0-9-]{0,31}$/
const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Checks a spec before anything is created, so bad input changes nothing. Throws
 * InvalidParameterError naming the field (`spec.limits.memoryMiB`) and what was expected.
 */
export function validateWorkloadSpec(spec: WorkloadSpec, runtime: RuntimeKind): void {
  const fail = (field: string, expected: string, received: unknown): never => {
    throw new InvalidParameterError(`spec.${field}`, expected, received)
  }
  if (typeof spec.id !== 'string' || !workloadIdPattern.test(spec.id)) {
    fail(
      'id',
      'lower-case letters, digits, "_", "." or "-" (1 to 128, starting with a letter or digit)',
      spec.id,
    )
  }
  if (typeof spec.leaseId !== 'bigint' || spec.leaseId < 0n)
    fail('leaseId', 'a non-negative bigint', spec.leaseId)
  if (typeof spec.service !== 'string' || !serviceNamePattern.test(spec.service)) {
    fail('service', 'a service name like "web" ([a-z][a-z0-9-]{0,31})', spec.service)
  }
  if (spec.kind !== 'job' && spec.kind !== 'service') fail('kind', '"job" or "service"', spec.kind)

  const limits = spec.limits
  if (typeof limits !== 'object' || limits === null) fail('limits', 'an object', limits)
  const integer = (field: keyof typeof limits, min: number, max: number) => {
    const value = limits[field]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(`limits.${field}`, `an integer from ${min} to ${max}`, value)
    }
  }
  integer('cpuMillis', 1, 1_024_000)
  // Docker refuses memory limits under 6 MB.
  integer('memoryMiB', runtime === 'docker' ? 6 : 1, 4_194_304)
  integer('storageMiB', 1, 16_777_216)
  // PidsLimit 0 means "unlimited" to Docker, so a docker workload needs at least 1.
  integer('pids', runtime === 'docker' ? 1 : 0, 4_194_304)
  if (typeof limits.timeoutSec !== 'number' || !Number.isFinite(limits.timeoutSec) || limits.timeoutSec < 0) {
    fail('limits.timeoutSec', 'a number of seconds >= 0 (0: no limit)', limits.timeoutSec)
  }
  if (limits.gpus !== undefined) integer('gpus', 0, 64)

  if (spec.env !== undefined) {
    if (typeof spec.env !== 'object' || spec.env === null) fail('env', 'an object of strings', spec.env)
    for (const [name, value] of Object.entries(spec.env)) {
      if (!envNamePattern.test(name)) fail(`env.${name}`, 'a name of letters, digits and "_"', name)
      if (typeof value !== 'string' || value.includes('\0'))
        fail(`env.${name}`, 'a string without NUL', value)
    }
  }
  for (const field of ['command', 'args'] as const) {
    const list = spec[field]
    if (list === undefined) continue
    if (!Array.isArray(list)) fail(field, 'an array of strings', list)
    list.forEach((item, index) => {
      if (typeof item !== 'string' || item.includes('\0'))
        fail(`${field}[${index}]`, 'a string without NUL', item)
    })
  }
  if (spec.command !== undefined && spec.command.length === 0)
    fail('command', 'at least one word', spec.command)

  const expose = spec.expose ?? []
  if (!Array.isArray(expose)) fail('expose', 'an array of { port, http }', expose)
  expose.forEach((entry, index) => {
    if (!Number.isInteger(entry?.port) || entry.port < 1 || entry.port > 65535) {
      fail(`expose[${index}].port`, 'a port from 1 to 65535', entry?.port)
    }
  })
  if (spec.kind === 'job' && expose.length > 0)
    fail('expose', 'no ports for a job (only services expose ports)', expose)

  for (const field of ['resultsDir', 'inputDir'] as const) {
    const dir = spec[field]
    if (dir !== undefined && (typeof dir !== 'string' || !path.isAbsolute(dir))) {
      fail(field, 'an absolute host path', dir)
    }
  }

  if (runtime === 'docker') {
    if (typeof spec.image !== 'string' || spec.image.length === 0)
      fail('image', 'an image reference', spec.image)
    if (spec.wasm !== undefined) fail('wasm', 'nothing for the docker runtime (use image)', spec.wasm)
    if (spec.inputDir !== undefined) {
      fail('inputDir', 'nothing for the docker runtime (its only mount is /results)', spec.inputDir)
    }
  } else {
    if (!(spec.wasm instanceof Uint8Array) || spec.wasm.length === 0)
      fail('wasm', 'the module bytes', spec.wasm)
    if (spec.image !== undefined) fail('image', 'nothing for the wasm runtime (use wasm)', spec.image)
    if (spec.command !== undefined) fail('command', 'nothing for the wasm runtime (use args)', spec.command)
    if (expose.length > 0) fail('expose', 'no ports: a WASM workload has no network', expose)
    if ((limits.gpus ?? 0) > 0) fail('limits.gpus', '0: a WASM workload cannot use GPUs', limits.gpus)
  }
}
