import { randomUUID } from 'node:crypto'
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { compareCodeUnits, InvalidParameterError } from '@stoa/protocol'
import {
  InvalidWasmModuleError,
  WorkloadExistsError,
  WorkloadNotFoundError,
  WorkloadStartError,
} from './errors.ts'
import { LineSplitter, lastLines, sleep } from './lines.ts'
import { listResultFiles } from './results.ts'
import type {
  LogsOptions,
  ResultFile,
  Runtime,
  WorkloadHandle,
  WorkloadKind,
  WorkloadSpec,
  WorkloadStatus,
} from './types.ts'
import { validateWorkloadSpec } from './validate.ts'
import { prepareWasmModule, WASM_PAGE_BYTES } from './wasm-module.ts'

export type CreateWasmRuntimeParameters = {
  /** Provider data directory: workload state and logs (`wasm/<id>/`), default results dirs (`results/<id>`). */
  dataDir: string
  /** Cap on a workload's log file (stdout + stderr); output past it is dropped. Default 8 MiB. */
  logLimitBytes?: number
  /** JS heap of each worker thread (node:wasi's own buffers; module memory is capped separately). Default 32 MiB. */
  workerHeapMiB?: number
  /** How often a followed log is polled for new lines, in ms. Default 50. */
  followIntervalMs?: number
}

export type WasmRuntime = Runtime & { readonly kind: 'wasm' }

/** What `wasm/<id>/state.json` holds: enough to answer list/status/results after a restart. */
type WorkloadRecord = {
  version: 1
  id: string
  leaseId: string
  service: string
  kind: WorkloadKind
  createdAt: number
  resultsDir: string
  /** The runtime instance (one daemon process) that runs it; another one finding it running knows it died. */
  owner: string
  status: WorkloadStatus
}

type Live = {
  record: WorkloadRecord
  worker: Worker
  timer: NodeJS.Timeout | undefined
  settled: boolean
  /** Resolves when the final status is on disk. */
  done: Promise<void>
}

type WorkerOutcome =
  | { type: 'exit'; code: number; memoryBytes: number }
  | { type: 'trap'; message: string; memoryBytes: number }

const workerUrl = new URL('./wasm-worker.mjs', import.meta.url)

/**
 * The part of the WebAssembly JS API used here. The project's `lib` (ES2023, no DOM) does not
 * declare the global, so it is typed locally rather than widening every package's globals.
 */
type CompiledModule = object
type WebAssemblyApi = {
  compile(bytes: Uint8Array): Promise<CompiledModule>
  Module: { exports(module: CompiledModule): Array<{ name: string; kind: string }> }
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly

/**
 * The WASM runtime (docs/compute-spec.md, Runtimes): each workload is a WASI preview1 command run
 * by node:wasi in its own worker thread.
 *
 * - Memory: the module's linear memory is capped at `limits.memoryMiB` (a larger declared
 *   maximum is refused, a missing one is set to the cap); the worker's JS heap is capped too.
 * - Time: `limits.timeoutSec` of wall clock, then the worker is terminated: failed('timeout').
 * - Files: only /results (read-write) and, when given, /input (read-only) are pre-opened.
 * - Network: none (WASI preview1 has no sockets beyond pre-opened ones, and none are given).
 * - Output: stdout and stderr interleaved into one capped log file.
 * - State: a JSON file per workload, so list/status/results survive a daemon restart; a workload
 *   that was running when its daemon died is reported failed('daemon-restart').
 *
 * One runtime instance per data directory.
 */
export function createWasmRuntime(parameters: CreateWasmRuntimeParameters): WasmRuntime {
  const dataDir = path.resolve(parameters.dataDir)
  const logLimitBytes = parameters.logLimitBytes ?? 8 * 1024 * 1024
  const workerHeapMiB = parameters.workerHeapMiB ?? 32
  const followIntervalMs = parameters.followIntervalMs ?? 50
  const owner = randomUUID()
  const live = new Map<string, Live>()
  const starting = new Set<string>()

  const workloadDir = (id: string) => path.join(dataDir, 'wasm', id)
  const statePath = (id: string) => path.join(workloadDir(id), 'state.json')
  const logPath = (id: string) => path.join(workloadDir(id), 'output.log')
  const defaultResultsDir = (id: string) => path.join(dataDir, 'results', id)
  const isWorkloadId = (id: string) => /^[a-z0-9][a-z0-9_.-]{0,127}$/.test(id)

  async function saveRecord(record: WorkloadRecord): Promise<void> {
    const target = statePath(record.id)
    const temporary = `${target}.${process.pid}.tmp`
    await writeFile(temporary, `${JSON.stringify(record)}\n`)
    await rename(temporary, target)
  }

  /** The record on disk; one left running by another daemon process is settled as failed('daemon-restart'). */
  async function loadRecord(id: string): Promise<WorkloadRecord | undefined> {
    if (!isWorkloadId(id)) return undefined
    let record: WorkloadRecord
    try {
      record = JSON.parse(await readFile(statePath(id), 'utf8')) as WorkloadRecord
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    if (record.status.state === 'running' && record.owner !== owner && !live.has(id)) {
      record.status = {
        state: 'failed',
        reason: 'daemon-restart',
        message: 'the provider daemon that ran it stopped; its worker thread died with it',
        startedAt: record.status.startedAt,
        finishedAt: Date.now(),
      }
      record.owner = owner
      await saveRecord(record)
    }
    return record
  }

  function handleOf(record: WorkloadRecord): WorkloadHandle {
    return {
      id: record.id,
      runtime: 'wasm',
      leaseId: BigInt(record.leaseId),
      service: record.service,
      kind: record.kind,
      createdAt: record.createdAt,
    }
  }

  /** Records the final status once (exit, trap, timeout, stop and shutdown race; the first wins). */
  function settle(entry: Live, status: WorkloadStatus, persist = true): void {
    if (entry.settled) return
    entry.settled = true
    if (entry.timer) clearTimeout(entry.timer)
    entry.record.status = status
    entry.done = (async () => {
      if (persist) await saveRecord(entry.record).catch(() => {})
      live.delete(entry.record.id)
    })()
  }

  function outcomeStatus(outcome: WorkerOutcome, startedAt: number, capBytes: number): WorkloadStatus {
    const finishedAt = Date.now()
    // A module that fails with its memory at (or within an allocation of) the cap ran out of
    // memory: memory.grow returned -1 and the module trapped or aborted.
    const nearCap = outcome.memoryBytes + Math.max(capBytes / 8, 1024 * 1024) > capBytes
    const usage = `linear memory ${(outcome.memoryBytes / 1048576).toFixed(1)} MiB of a ${capBytes / 1048576} MiB cap`
    if (outcome.type === 'exit' && outcome.code === 0)
      return { state: 'exited', exitCode: 0, startedAt, finishedAt }
    if (nearCap) {
      return {
        state: 'failed',
        reason: 'oom',
        message: `out of memory: ${usage}${outcome.type === 'trap' ? ` (${outcome.message})` : ''}`,
        ...(outcome.type === 'exit' ? { exitCode: outcome.code } : {}),
        startedAt,
        finishedAt,
      }
    }
    if (outcome.type === 'trap')
      return { state: 'failed', reason: 'trap', message: outcome.message, startedAt, finishedAt }
    return { state: 'exited', exitCode: outcome.code, startedAt, finishedAt }
  }

  async function start(spec: WorkloadSpec, options: { signal?: AbortSignal } = {}): Promise<WorkloadHandle> {
    validateWorkloadSpec(spec, 'wasm')
    // Reserved synchronously, so two concurrent starts of one id cannot both pass the checks.
    if (starting.has(spec.id)) throw new WorkloadExistsError(spec.id, 'wasm')
    starting.add(spec.id)
    try {
      return await startReserved(spec, options)
    } finally {
      starting.delete(spec.id)
    }
  }

  async function startReserved(
    spec: WorkloadSpec,
    options: { signal?: AbortSignal },
  ): Promise<WorkloadHandle> {
    const { signal } = options
    signal?.throwIfAborted()
    const limits = spec.limits
    const capPages = Math.floor((limits.memoryMiB * 1048576) / WASM_PAGE_BYTES)
    const prepared = prepareWasmModule(spec.wasm as Uint8Array, capPages)
    let module: CompiledModule
    try {
      module = await webAssembly.compile(prepared.bytes)
    } catch (error) {
      throw new InvalidWasmModuleError('it does not compile', { cause: error })
    }
    const exports = webAssembly.Module.exports(module)
    if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
      throw new InvalidWasmModuleError('it exports no _start function (it must be a WASI command)')
    }
    if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
      throw new InvalidWasmModuleError('it does not export its memory as "memory"')
    }
    if (spec.inputDir !== undefined) {
      const isDir = await stat(spec.inputDir).then(
        (s) => s.isDirectory(),
        () => false,
      )
      if (!isDir) throw new InvalidParameterError('spec.inputDir', 'an existing directory', spec.inputDir)
    }
    if (live.has(spec.id) || (await loadRecord(spec.id))) throw new WorkloadExistsError(spec.id, 'wasm')
    signal?.throwIfAborted()

    const resultsDir = spec.resultsDir ?? defaultResultsDir(spec.id)
    await mkdir(resultsDir, { recursive: true })
    await mkdir(workloadDir(spec.id), { recursive: true })
    await writeFile(logPath(spec.id), '')
    const createdAt = Date.now()
    const record: WorkloadRecord = {
      version: 1,
      id: spec.id,
      leaseId: spec.leaseId.toString(),
      service: spec.service,
      kind: spec.kind,
      createdAt,
      resultsDir,
      owner,
      status: { state: 'running', startedAt: createdAt },
    }
    await saveRecord(record)

    // Insertion order fixes the descriptors: /results is fd 3, /input fd 4.
    const preopens: Record<string, string> = { '/results': resultsDir }
    if (spec.inputDir !== undefined) preopens['/input'] = spec.inputDir
    const capBytes = capPages * WASM_PAGE_BYTES
    let worker: Worker
    try {
      worker = new Worker(workerUrl, {
        workerData: {
          module,
          args: [spec.service, ...(spec.args ?? [])],
          env: spec.env ?? {},
          preopens,
          readOnlyFds: spec.inputDir !== undefined ? [4] : [],
          logPath: logPath(spec.id),
          logLimitBytes,
        },
        execArgv: [],
        env: {},
        stdout: true,
        stderr: true,
        resourceLimits: {
          maxOldGenerationSizeMb: workerHeapMiB,
          maxYoungGenerationSizeMb: Math.max(1, Math.min(16, Math.floor(workerHeapMiB / 4))),
          stackSizeMb: 4,
        },
      })
    } catch (error) {
      record.status = {
        state: 'failed',
        reason: 'error',
        message: String(error),
        startedAt: createdAt,
        finishedAt: Date.now(),
      }
      await saveRecord(record)
      throw new WorkloadStartError(spec.id, { cause: error })
    }
    // Nothing is expected on the worker's own stdio; drain it so it cannot fill a buffer.
    worker.stdout.resume()
    worker.stderr.resume()
    const entry: Live = { record, worker, timer: undefined, settled: false, done: Promise.resolve() }
    live.set(spec.id, entry)
    const startedAt = record.status.state === 'running' ? record.status.startedAt : createdAt
    let outcome: WorkerOutcome | undefined
    worker.on('message', (message: WorkerOutcome) => {
      outcome = message
    })
    worker.on('error', (error: Error & { code?: string }) => {
      const oom = error.code === 'ERR_WORKER_OUT_OF_MEMORY'
      settle(entry, {
        state: 'failed',
        reason: oom ? 'oom' : 'error',
        message: oom ? `out of memory: the worker's ${workerHeapMiB} MiB JS heap is full` : error.message,
        startedAt,
        finishedAt: Date.now(),
      })
    })
    worker.on('exit', (code) => {
      if (outcome) return settle(entry, outcomeStatus(outcome, startedAt, capBytes))
      settle(entry, {
        state: 'failed',
        reason: 'error',
        message: `the worker thread ended with code ${code} before the module finished`,
        startedAt,
        finishedAt: Date.now(),
      })
    })
    if (limits.timeoutSec > 0) {
      entry.timer = setTimeout(() => {
        settle(entry, {
          state: 'failed',
          reason: 'timeout',
          message: `killed at its wall-clock limit of ${limits.timeoutSec} s`,
          startedAt,
          finishedAt: Date.now(),
        })
        void worker.terminate()
      }, limits.timeoutSec * 1000)
    }
    return handleOf(record)
  }

  async function stop(id: string): Promise<void> {
    const entry = live.get(id)
    if (entry) {
      settle(entry, { state: 'missing' }, false)
      await entry.worker.terminate()
      await entry.done
    }
    if (isWorkloadId(id)) await rm(workloadDir(id), { recursive: true, force: true })
  }

  async function status(id: string): Promise<WorkloadStatus> {
    const entry = live.get(id)
    if (entry) return entry.record.status
    const record = await loadRecord(id)
    return record ? record.status : { state: 'missing' }
  }

  async function isFinished(id: string): Promise<boolean> {
    return (await status(id)).state !== 'running'
  }

  async function* logs(id: string, options: LogsOptions = {}): AsyncGenerator<string> {
    const { follow = false, tail, signal } = options
    if (!live.has(id) && !(await loadRecord(id))) throw new WorkloadNotFoundError(id, 'wasm')
    let file: FileHandle
    try {
      file = await open(logPath(id), 'r')
    } catch {
      throw new WorkloadNotFoundError(id, 'wasm')
    }
    try {
      const splitter = new LineSplitter()
      const chunk = Buffer.alloc(64 * 1024)
      let position = 0
      const readAvailable = async (): Promise<string[]> => {
        const lines: string[] = []
        for (;;) {
          const { bytesRead } = await file.read(chunk, 0, chunk.length, position)
          if (bytesRead === 0) return lines
          position += bytesRead
          lines.push(...splitter.push(chunk.subarray(0, bytesRead)))
        }
      }
      // What is there now (tail applies to it), then, when following, whatever comes next.
      const finishedBefore = await isFinished(id)
      const initial = await readAvailable()
      if (!follow || finishedBefore) {
        yield* lastLines([...initial, ...splitter.flush()], tail)
        return
      }
      yield* lastLines(initial, tail)
      while (!signal?.aborted) {
        const finished = await isFinished(id)
        const lines = await readAvailable()
        yield* lines
        if (finished) {
          yield* splitter.flush()
          return
        }
        if (lines.length === 0) await sleep(followIntervalMs, signal)
      }
    } finally {
      await file.close()
    }
  }

  async function results(id: string): Promise<ResultFile[]> {
    const record = live.get(id)?.record ?? (await loadRecord(id))
    if (record) return listResultFiles(record.resultsDir)
    const fallback = isWorkloadId(id) ? defaultResultsDir(id) : undefined
    const exists =
      fallback !== undefined &&
      (await stat(fallback).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    if (!exists || fallback === undefined) throw new WorkloadNotFoundError(id, 'wasm')
    return listResultFiles(fallback)
  }

  async function list(): Promise<WorkloadHandle[]> {
    const ids = await readdir(path.join(dataDir, 'wasm')).catch(() => [] as string[])
    const handles: WorkloadHandle[] = []
    for (const id of ids) {
      const record = live.get(id)?.record ?? (await loadRecord(id).catch(() => undefined))
      if (record) handles.push(handleOf(record))
    }
    return handles.sort((a, b) => a.createdAt - b.createdAt || compareCodeUnits(a.id, b.id))
  }

  async function close(): Promise<void> {
    const entries = [...live.values()]
    for (const entry of entries) {
      settle(entry, {
        state: 'failed',
        reason: 'daemon-restart',
        message: 'the provider daemon shut down while it ran',
        startedAt: entry.record.createdAt,
        finishedAt: Date.now(),
      })
    }
    await Promise.all(entries.map((entry) => entry.worker.terminate()))
    await Promise.all(entries.map((entry) => entry.done))
  }

  return { kind: 'wasm', start, stop, status, logs, results, list, close }
}
