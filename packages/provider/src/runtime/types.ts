/**
 * The one interface every workload runtime implements (docs/compute-spec.md, "Runtimes"), and the
 * shapes it takes and returns. The gateway starts a lease's services through it, the reconciler
 * lists and stops them, and the lease API reads status, logs and results.
 */

export type RuntimeKind = 'docker' | 'wasm'

/** A job runs to an exit code; a service runs until stopped (and may expose ports). */
export type WorkloadKind = 'job' | 'service'

export type WorkloadLimits = {
  /** CPU in millicores (1000 = one core). Docker: NanoCpus. WASM: admission only, a module uses one thread. */
  cpuMillis: number
  /** Memory cap in MiB. Docker: cgroup limit with no swap. WASM: linear memory cap (module max pages). */
  memoryMiB: number
  /** Scratch space in MiB: the size of the container's tmpfs /tmp. Not enforced on /results (see Deviations). */
  storageMiB: number
  /** Most processes/threads at once (Docker PidsLimit). Ignored by WASM, which has no processes. */
  pids: number
  /** Wall-clock limit in seconds from start; the workload is killed and reported failed('timeout'). 0: none. */
  timeoutSec: number
  /** NVIDIA GPUs to attach (Docker device requests). Absent or 0: none. WASM refuses any. */
  gpus?: number
}

export type ExposedPort = {
  port: number
  /** True when the ingress may proxy HTTP to this port. */
  http: boolean
}

export type WorkloadSpec = {
  /** Unique per provider, also the container name suffix: `lease-<leaseId>-<service>`. [a-z0-9][a-z0-9_.-]{0,127} */
  id: string
  leaseId: bigint
  service: string
  kind: WorkloadKind
  /** Docker: a local image reference (never pulled). Exactly one of image | wasm. */
  image?: string
  /** WASM: the module bytes (a WASI preview1 command). Exactly one of image | wasm. */
  wasm?: Uint8Array
  /** Docker: replaces the image's CMD. Not used by WASM. */
  command?: string[]
  /** WASM: argv after the program name. Docker: appended to `command` (or to the image's CMD). */
  args?: string[]
  env?: Record<string, string>
  expose?: ExposedPort[]
  limits: WorkloadLimits
  /**
   * Host directory the workload sees as /results (created if missing). Absolute. Default
   * `<dataDir>/results/<id>`. The runtime never deletes it: it outlives the workload, so results
   * can be fetched after the job exited and was stopped.
   */
  resultsDir?: string
  /** WASM only: host directory pre-opened read-only as /input. */
  inputDir?: string
}

/** What `start` and `list` give back: enough for the reconciler to tie a workload to its lease. */
export type WorkloadHandle = {
  id: string
  runtime: RuntimeKind
  leaseId: bigint
  service: string
  kind: WorkloadKind
  /** Milliseconds since the epoch. */
  createdAt: number
}

/**
 * Why a workload failed, as opposed to exiting with a code of its own:
 * - `timeout`: ran past `limits.timeoutSec` and was killed;
 * - `oom`: hit its memory cap (container OOM-killed, or a module refused more memory);
 * - `trap`: a WebAssembly trap (unreachable, out-of-bounds access, stack overflow...);
 * - `daemon-restart`: a WASM workload whose worker died with the provider daemon;
 * - `error`: the engine or worker reported an error of its own.
 */
export type WorkloadFailureReason = 'timeout' | 'oom' | 'trap' | 'daemon-restart' | 'error'

export type WorkloadStatus =
  | { state: 'running'; startedAt: number }
  | { state: 'exited'; exitCode: number; startedAt: number; finishedAt: number }
  | {
      state: 'failed'
      reason: WorkloadFailureReason
      message: string
      exitCode?: number
      startedAt?: number
      finishedAt?: number
    }
  | { state: 'missing' }

export type ResultFile = {
  /** Path relative to the results directory, with `/` separators. */
  name: string
  size: number
  /** Hex sha256 of the content. */
  sha256: string
  /** Absolute host path. Open it with `openResultFile`, which refuses links planted by the workload. */
  path: string
}

export type LogsOptions = {
  /** Keep streaming new lines until the workload ends (or `signal` aborts). */
  follow?: boolean
  /** Only the last N lines written so far (then, with follow, everything new). */
  tail?: number
  signal?: AbortSignal
}

export interface Runtime {
  readonly kind: RuntimeKind
  /** Starts the workload and resolves once it runs (a very short job may already have exited). */
  start(spec: WorkloadSpec, options?: { signal?: AbortSignal }): Promise<WorkloadHandle>
  /** Kills the workload if it runs and forgets it (container removed). Results stay. No-op when missing. */
  stop(id: string): Promise<void>
  status(id: string): Promise<WorkloadStatus>
  /** stdout and stderr, interleaved as written, one line per item (no trailing newline). */
  logs(id: string, options?: LogsOptions): AsyncIterable<string>
  /** The regular files the workload wrote under /results, sorted by name. */
  results(id: string): Promise<ResultFile[]>
  /** Every workload this runtime owns, including those left over from an earlier daemon process. */
  list(): Promise<WorkloadHandle[]>
  /**
   * The daemon is shutting down: releases what this process holds. Containers keep running (the
   * next process finds them with `list()`); WASM workers cannot outlive the process, so they end
   * and are recorded as failed('daemon-restart').
   */
  close(): Promise<void>
}
