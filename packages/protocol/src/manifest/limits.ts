/** Limits a manifest must keep. Per-service caps are set so that sums over 16 services fit the order's uint32/uint16 fields. */
export const manifestLimits = {
  /** YAML text, bytes. */
  maxTextBytes: 1024 * 1024,
  maxServices: 16,
  /** One WASI module. */
  maxWasmModuleBytes: 8 * 1024 * 1024,
  /** All distinct modules of a manifest: base64 of 12 MiB stays under the gateway's 16 MiB body limit. */
  maxTotalModuleBytes: 12 * 1024 * 1024,
  minMemoryMiB: 4,
  /** 1024 cores. */
  maxCpuMillis: 1_024_000,
  /** 64 TiB. */
  maxMemoryMiB: 64 * 1024 * 1024,
  /** 128 TiB. */
  maxStorageMiB: 128 * 1024 * 1024,
  maxGpus: 64,
  maxPorts: 16,
  maxArgs: 256,
  maxArgLength: 4096,
  maxEnv: 256,
  maxEnvKeyLength: 256,
  maxEnvValueLength: 32 * 1024,
  maxPathLength: 4096,
} as const

export const MAX_UINT64 = 2n ** 64n - 1n
