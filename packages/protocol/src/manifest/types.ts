import type { Hex } from 'viem'
import type { RegionName } from '../regions.ts'

/** A `job` runs to completion (exit code, logs, result files); a `service` runs until the lease ends. */
export type ServiceKind = 'job' | 'service'

/** A port a service listens on, reachable through the provider's ingress when `http`. */
export type NormalizedExpose = { port: number; http: boolean }

/** What one service needs, in the units of `Market.createOrder`. */
export type NormalizedResources = {
  /** Thousandths of a CPU core. */
  cpuMillis: number
  memoryMiB: number
  /** Ephemeral disk (the container's /tmp and /results). */
  storageMiB: number
  gpus: number
  /** Present only when `gpus > 0` and a model was asked for (at most 32 UTF-8 bytes). */
  gpuModel?: string
}

/** A WASI module, named by the sha256 of its bytes (which travel beside the manifest). */
export type WasmModuleRef = { sha256: Hex; size: number }

type NormalizedServiceBase = {
  kind: ServiceKind
  /** For an image: replaces the image's default command when not empty. Always empty for wasm. */
  command: string[]
  /** Appended after `command` (image), or the module's argv after its name (wasm). */
  args: string[]
  /** Environment variables, keys sorted. */
  env: Record<string, string>
  /** Sorted by port; empty for jobs and wasm modules. */
  expose: NormalizedExpose[]
  resources: NormalizedResources
}

/** One service of a normalized manifest: a container image or a WASI module. */
export type NormalizedService = NormalizedServiceBase &
  ({ image: string; wasm?: never } | { wasm: WasmModuleRef; image?: never })

/**
 * The normalized manifest: every default filled, every unit converted to the integers the chain
 * uses, wasm paths replaced by their module's digest. Its RFC 8785 JSON is what `manifestHash`
 * hashes and what the gateway receives. Integers too large for a JSON number (credits, prices) are
 * decimal strings.
 */
export type NormalizedManifest = {
  version: '1'
  services: Record<string, NormalizedService>
  placement: {
    /** Allowed regions, in region-code order; empty means anywhere. */
    regions: RegionName[]
    /** The highest price the tenant pays, in 1e-12 USD per second (decimal string of a uint64). */
    maxPricePerSecond: string
  }
  deposit: {
    /** Credits (1e-6 USD) to escrow with the order (decimal string of a uint64). */
    credits: string
    /** Present when the manifest gave a `duration`: credits = maxPricePerSecond × durationSeconds, rounded up. */
    durationSeconds?: number
  }
}
