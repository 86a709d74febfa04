import { z } from 'zod'
import { textToBytes32 } from '../bytes32.ts'
import { describeValue } from '../errors/parameter.ts'
import { isRegionName, regionCode } from '../regions.ts'
import { creditsForDuration } from '../units.ts'
import { manifestLimits as limits, MAX_UINT64 } from './limits.ts'
import type { NormalizedManifest } from './types.ts'
import {
  cpuExpected,
  durationExpected,
  imageExpected,
  isImageReference,
  isPlainText,
  parseCpuMillis,
  parseDurationSeconds,
  parseSizeMiB,
  sizeExpected,
  usdExpected,
  usdText,
} from './values.ts'

/** A field path as zod and the YAML tree see it. */
export type PathSegments = readonly PropertyKey[]
export type RawIssue = { path: PathSegments; message: string; key?: boolean }

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,31}$/
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A value parsed by `parse`; when it returns undefined the issue says "expected <expected>". */
function field<T>(parse: (value: unknown) => T | undefined, expected: string) {
  return z.unknown().transform((value, context) => {
    const parsed = parse(value)
    if (parsed === undefined) {
      context.addIssue({ code: 'custom', message: `expected ${expected}`, input: value })
      return z.NEVER
    }
    return parsed
  })
}

const serviceName = z.string().regex(SERVICE_NAME, {
  error: 'expected a service name of 1 to 32 characters: a-z first, then a-z, 0-9 or -',
})

const envKey = z
  .string()
  .max(limits.maxEnvKeyLength, {
    error: `expected an environment variable name of at most ${limits.maxEnvKeyLength} characters`,
  })
  .regex(ENV_KEY, {
    error: 'expected an environment variable name: A-Z, a-z, 0-9 or _, not starting with a digit',
  })
  .refine((key) => key !== '__proto__', {
    error: 'expected an environment variable name other than __proto__',
  })

function plainText(what: string, maxLength: number) {
  return z
    .string({ error: `expected ${what}` })
    .max(maxLength, { error: `expected ${what} of at most ${maxLength} characters` })
    .refine(isPlainText, { error: `expected ${what} without NUL characters or lone surrogates` })
}

const argument = plainText('a string', limits.maxArgLength)
const argumentList = z
  .array(argument, { error: 'expected a list of strings like ["httpd", "-f"]' })
  .max(limits.maxArgs, { error: `expected at most ${limits.maxArgs} arguments` })

const image = z
  .string({ error: `expected ${imageExpected}` })
  .refine(isImageReference, { error: `expected ${imageExpected}` })

const port = z.int({ error: 'expected a port number from 1 to 65535' }).min(1).max(65535)

function record<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V, what: string) {
  return z.record(key, value, { error: `expected a map of ${what}` })
}

// ---------------------------------------------------------------------------------------------
// The manifest as written (YAML)
// ---------------------------------------------------------------------------------------------

const authoredExpose = z.preprocess(
  (value) => (typeof value === 'number' ? { port: value } : value),
  z.strictObject(
    { port, http: z.boolean({ error: 'expected true or false' }).optional() },
    { error: 'expected a port like 8080 or { port: 8080, http: true }' },
  ),
)

const authoredGpu = z.preprocess(
  (value) => (typeof value === 'number' ? { count: value } : value),
  z.strictObject(
    {
      count: z
        .int({ error: `expected a GPU count from 0 to ${limits.maxGpus}` })
        .min(0)
        .max(limits.maxGpus),
      model: z
        .string({ error: 'expected a GPU model name like "A100"' })
        .refine((model) => model.length > 0 && textToBytes32(model) !== undefined && isPlainText(model), {
          error: 'expected a GPU model name of 1 to 32 bytes like "A100"',
        })
        .optional(),
    },
    { error: 'expected a GPU count like 1, or { count: 1, model: "A100" }' },
  ),
)

const memoryMiB = field((value) => {
  const mib = parseSizeMiB(value)
  return mib !== undefined && mib >= limits.minMemoryMiB && mib <= limits.maxMemoryMiB ? mib : undefined
}, `${sizeExpected}, from 4Mi to 64Ti`)

const storageMiB = field((value) => {
  const mib = parseSizeMiB(value, { allowZero: true })
  return mib !== undefined && mib <= limits.maxStorageMiB ? mib : undefined
}, `${sizeExpected}, at most 128Ti (or 0)`)

const cpuMillis = field((value) => {
  const millis = parseCpuMillis(value)
  return millis !== undefined && millis <= limits.maxCpuMillis ? millis : undefined
}, `${cpuExpected}, from 0.001 to 1024 cores`)

const envValue = field((value) => {
  const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value
  return typeof text === 'string' && text.length <= limits.maxEnvValueLength && isPlainText(text)
    ? text
    : undefined
}, `a string (or a number or boolean, kept as written) of at most ${limits.maxEnvValueLength} characters, without NUL`)

const authoredService = z.strictObject(
  {
    image: image.optional(),
    wasm: plainText('a path to a .wasm file, relative to the manifest', limits.maxPathLength)
      .min(1, { error: 'expected a path to a .wasm file, relative to the manifest' })
      .optional(),
    command: argumentList.optional(),
    args: argumentList.optional(),
    env: record(envKey, envValue, 'environment variables like { GREETING: hello }')
      .refine((env) => Object.keys(env).length <= limits.maxEnv, {
        error: `expected at most ${limits.maxEnv} environment variables`,
      })
      .optional(),
    expose: z
      .array(authoredExpose, { error: 'expected a list of ports like [{ port: 8080, http: true }]' })
      .max(limits.maxPorts, { error: `expected at most ${limits.maxPorts} ports` })
      .optional(),
    kind: z.enum(['job', 'service'], { error: 'expected "job" or "service"' }).optional(),
    resources: z.strictObject(
      {
        cpu: cpuMillis,
        memory: memoryMiB,
        storage: storageMiB.optional(),
        gpu: authoredGpu.optional(),
      },
      { error: 'expected resources like { cpu: 0.5, memory: 128Mi }' },
    ),
  },
  { error: 'expected a service: { image or wasm, resources, ... }' },
)

export const authoredManifestSchema = z.strictObject(
  {
    version: field((value) => (value === '1' || value === 1 ? ('1' as const) : undefined), '"1"').optional(),
    services: record(serviceName, authoredService, 'services by name').refine(
      (services) => {
        const count = Object.keys(services).length
        return count >= 1 && count <= limits.maxServices
      },
      { error: `expected 1 to ${limits.maxServices} services` },
    ),
    placement: z.strictObject(
      {
        regions: z
          .array(z.string({ error: 'expected a region name like "eu-west"' }), {
            error: 'expected a list of region names like [eu-west, us-east]',
          })
          .max(32, { error: 'expected at most 32 regions' })
          .optional(),
        maxUsdPerHour: field(usdText, `${usdExpected} (the most to pay per hour)`),
      },
      { error: 'expected placement like { regions: [eu-west], maxUsdPerHour: "0.50" }' },
    ),
    duration: field(parseDurationSeconds, durationExpected).optional(),
    deposit: z
      .strictObject({ usd: field(usdText, usdExpected) }, { error: 'expected a deposit like { usd: "5" }' })
      .optional(),
  },
  { error: 'expected a manifest: a YAML map with services and placement' },
)

export type AuthoredManifest = z.output<typeof authoredManifestSchema>

// ---------------------------------------------------------------------------------------------
// The normalized manifest (what the gateway receives): strict, every field present
// ---------------------------------------------------------------------------------------------

const uint64Text = (what: string) =>
  z
    .string({ error: `expected ${what} as a decimal string` })
    .regex(/^[1-9][0-9]{0,19}$/, { error: `expected ${what} as a decimal string of a positive integer` })
    .refine((text) => !/^[1-9][0-9]{0,19}$/.test(text) || BigInt(text) <= MAX_UINT64, {
      error: `expected ${what} that fits a uint64`,
    })

const normalizedService = z.strictObject({
  kind: z.enum(['job', 'service'], { error: 'expected "job" or "service"' }),
  image: image.optional(),
  wasm: z
    .strictObject({
      sha256: z
        .string()
        .regex(/^0x[0-9a-f]{64}$/, { error: 'expected a sha256 as 0x and 64 lowercase hex digits' }),
      size: z
        .int({ error: 'expected the module size in bytes' })
        .min(8)
        .max(limits.maxWasmModuleBytes, {
          error: `expected a module of at most ${limits.maxWasmModuleBytes} bytes`,
        }),
    })
    .optional(),
  command: argumentList,
  args: argumentList,
  env: record(envKey, plainText('a string', limits.maxEnvValueLength), 'environment variables').refine(
    (env) => Object.keys(env).length <= limits.maxEnv,
    { error: `expected at most ${limits.maxEnv} environment variables` },
  ),
  expose: z
    .array(z.strictObject({ port, http: z.boolean({ error: 'expected true or false' }) }))
    .max(limits.maxPorts, { error: `expected at most ${limits.maxPorts} ports` }),
  resources: z.strictObject({
    cpuMillis: z.int().min(1).max(limits.maxCpuMillis),
    memoryMiB: z.int().min(limits.minMemoryMiB).max(limits.maxMemoryMiB),
    storageMiB: z.int().min(0).max(limits.maxStorageMiB),
    gpus: z.int().min(0).max(limits.maxGpus),
    gpuModel: z
      .string()
      .refine((model) => model.length > 0 && textToBytes32(model) !== undefined && isPlainText(model), {
        error: 'expected a GPU model name of 1 to 32 bytes',
      })
      .optional(),
  }),
})

export const normalizedManifestSchema = z.strictObject({
  version: z.literal('1', { error: 'expected "1"' }),
  services: record(serviceName, normalizedService, 'services by name').refine(
    (services) => {
      const count = Object.keys(services).length
      return count >= 1 && count <= limits.maxServices
    },
    { error: `expected 1 to ${limits.maxServices} services` },
  ),
  placement: z.strictObject({
    regions: z.array(z.string()).max(32),
    maxPricePerSecond: uint64Text('a price in 1e-12 USD per second'),
  }),
  deposit: z.strictObject({
    credits: uint64Text('an amount of credits'),
    durationSeconds: z
      .int()
      .min(1)
      .max(365 * 24 * 3600)
      .optional(),
  }),
})

// ---------------------------------------------------------------------------------------------
// Rules across fields, shared by both forms
// ---------------------------------------------------------------------------------------------

/**
 * Checks what a schema cannot see field by field. `form: 'normalized'` also requires the normal
 * form (sorted ports and regions, consistent deposit), so that one manifest has one JSON.
 */
export function checkManifestRules(
  manifest: NormalizedManifest,
  form: 'authored' | 'normalized',
): RawIssue[] {
  const issues: RawIssue[] = []
  const gpuModelPath = form === 'authored' ? ['resources', 'gpu', 'model'] : ['resources', 'gpuModel']
  let firstGpuModel: { service: string; model: string } | undefined
  let moduleBytes = 0
  const modulesSeen = new Set<string>()

  for (const [name, service] of Object.entries(manifest.services)) {
    const at = (...path: PropertyKey[]) => ['services', name, ...path]
    const hasImage = service.image !== undefined
    const hasWasm = service.wasm !== undefined
    if (hasImage === hasWasm) {
      issues.push({
        path: at(),
        message: hasImage
          ? 'expected either `image` or `wasm`, not both'
          : 'expected `image` (a container image) or `wasm` (a WASI module)',
      })
    }
    if (hasWasm && service.command.length > 0) {
      issues.push({ path: at('command'), message: 'expected no `command` for a wasm module: pass `args`' })
    }
    if (service.expose.length > 0) {
      if (service.kind === 'job') {
        issues.push({
          path: at('expose'),
          message: 'expected no ports for a job: a job exposes nothing (set `kind: service` to run a server)',
        })
      } else if (hasWasm) {
        issues.push({
          path: at('expose'),
          message: 'expected no ports for a wasm module: it has no network',
        })
      }
    }
    const ports = new Set<number>()
    service.expose.forEach((entry, index) => {
      if (ports.has(entry.port)) {
        issues.push({
          path: at('expose', index, 'port'),
          message: `expected each port once per service, got ${entry.port} again`,
        })
      }
      ports.add(entry.port)
      const previous = service.expose[index - 1]
      if (form === 'normalized' && previous !== undefined && previous.port > entry.port) {
        issues.push({ path: at('expose', index, 'port'), message: 'expected ports in increasing order' })
      }
    })
    const { gpuModel, gpus } = service.resources
    if (gpuModel !== undefined) {
      if (gpus === 0) {
        issues.push({
          path: at(...gpuModelPath),
          message: 'expected a GPU count of at least 1 with a GPU model',
        })
      }
      if (firstGpuModel === undefined) {
        firstGpuModel = { service: name, model: gpuModel }
      } else if (firstGpuModel.model !== gpuModel) {
        issues.push({
          path: at(...gpuModelPath),
          message: `expected the same GPU model as service ${firstGpuModel.service} ("${firstGpuModel.model}"): an order names one model, got "${gpuModel}"`,
        })
      }
    }
    if (service.wasm !== undefined && !modulesSeen.has(service.wasm.sha256)) {
      modulesSeen.add(service.wasm.sha256)
      moduleBytes += service.wasm.size
      if (moduleBytes > limits.maxTotalModuleBytes) {
        issues.push({
          path: at('wasm'),
          message: `expected all wasm modules together to be at most ${limits.maxTotalModuleBytes} bytes, got ${moduleBytes}`,
        })
      }
    }
  }

  if (form === 'normalized') {
    let previousCode = -1
    manifest.placement.regions.forEach((region, index) => {
      if (!isRegionName(region)) {
        issues.push({
          path: ['placement', 'regions', index],
          message: `expected a region name, got ${describeValue(region)}`,
        })
        return
      }
      const code = regionCode(region)
      if (code <= previousCode) {
        issues.push({
          path: ['placement', 'regions', index],
          message: 'expected regions once each, in region-code order',
        })
      }
      previousCode = code
    })
    const { durationSeconds } = manifest.deposit
    if (durationSeconds !== undefined && /^[0-9]{1,20}$/.test(manifest.placement.maxPricePerSecond)) {
      const expected = creditsForDuration(
        BigInt(manifest.placement.maxPricePerSecond),
        BigInt(durationSeconds),
        {
          rounding: 'up',
        },
      )
      if (manifest.deposit.credits !== expected.toString()) {
        issues.push({
          path: ['deposit', 'credits'],
          message: `expected ${expected} (maxPricePerSecond × durationSeconds, rounded up), got "${manifest.deposit.credits}"`,
        })
      }
    }
  }
  return issues
}

/**
 * Own `__proto__` keys (JSON.parse and YAML make them) anywhere in `value`. zod skips such keys
 * silently; a strict reader refuses them instead. Iterative, so deep nesting cannot overflow the stack.
 */
export function protoKeyIssues(value: unknown): RawIssue[] {
  const issues: RawIssue[] = []
  const stack: { node: unknown; path: PropertyKey[] }[] = [{ node: value, path: [] }]
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: unknown; path: PropertyKey[] }
    if (typeof node !== 'object' || node === null) continue
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        stack.push({ node: item, path: [...path, index] })
      })
      continue
    }
    for (const key of Object.keys(node)) {
      if (key === '__proto__')
        issues.push({ path: [...path, key], message: 'unknown field "__proto__"', key: true })
      else stack.push({ node: (node as Record<string, unknown>)[key], path: [...path, key] })
    }
  }
  return issues
}

// ---------------------------------------------------------------------------------------------
// zod issues → manifest issues
// ---------------------------------------------------------------------------------------------

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
}

/** zod's default messages, rephrased as "expected …" (schemas give their own for most fields). */
export function zodMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${typeNames[issue.expected] ?? issue.expected}`
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} items`
        : issue.origin === 'string'
          ? `expected at least ${issue.minimum} characters`
          : `expected a number ${issue.inclusive === false ? '>' : '≥'} ${issue.minimum}`
    case 'too_big':
      return issue.origin === 'array'
        ? `expected at most ${issue.maximum} items`
        : issue.origin === 'string'
          ? `expected at most ${issue.maximum} characters`
          : `expected a number ${issue.inclusive === false ? '<' : '≤'} ${issue.maximum}`
    case 'invalid_value':
      return `expected ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}`
    case 'invalid_format':
      return `expected ${issue.format === 'regex' ? `text matching ${String(issue.pattern)}` : issue.format}`
    default:
      return 'expected a valid value'
  }
}

/** Flattens zod's issues (one per unknown key, record key issues by their own message) and says what was received. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[]): RawIssue[] {
  const result: RawIssue[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        result.push({ path: [...issue.path, key], message: unknownFieldMessage(key), key: true })
      }
    } else if (issue.code === 'invalid_key') {
      const inner = issue.issues[0]
      result.push({ path: issue.path, message: inner?.message ?? 'expected a valid name', key: true })
    } else if (issue.code === 'invalid_union') {
      result.push({ path: issue.path, message: issue.message })
    } else {
      const received = 'input' in issue ? `, got ${describeValue(issue.input)}` : ''
      result.push({ path: issue.path, message: `${issue.message}${received}` })
    }
  }
  return result
}

const knownFields = [
  'version',
  'services',
  'placement',
  'duration',
  'deposit',
  'image',
  'wasm',
  'command',
  'args',
  'env',
  'expose',
  'kind',
  'resources',
  'cpu',
  'memory',
  'storage',
  'gpu',
  'count',
  'model',
  'port',
  'http',
  'regions',
  'maxUsdPerHour',
  'usd',
]

function unknownFieldMessage(key: string): string {
  const needle = key.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const known of knownFields) {
    const candidate = known.toLowerCase()
    // A prefix counts as close (`stor` → storage, `res` → resources).
    const distance = needle.length >= 3 && candidate.startsWith(needle) ? 1 : editDistance(needle, candidate)
    if (distance < bestDistance) {
      best = known
      bestDistance = distance
    }
  }
  const close = best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
  return `unknown field ${JSON.stringify(key)}${close ? ` (did you mean \`${best}\`?)` : ''}`
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64) return 99
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** `services.web.expose[0].port`; keys that are not plain names are quoted: `env["bad key"]`. */
export function formatPath(path: PathSegments): string {
  if (path.length === 0) return '(root)'
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment))
      text += text ? `.${segment}` : segment
    else text += `[${JSON.stringify(String(segment))}]`
  }
  return text
}
