import { execFile } from 'node:child_process'
import { mkdir, statfs } from 'node:fs/promises'
import os from 'node:os'
import type { Resources } from './resources.ts'

/** What this machine offers, as detected, before the configuration's overrides. */
export type DetectedCapacity = Resources & {
  /** GPU model names from nvidia-smi, one per GPU (empty without NVIDIA GPUs). */
  gpuModels: string[]
  /** Where each figure came from, for the log. */
  sources: Record<keyof Resources, string>
}

export type CapacityOverrides = {
  cpuMillis?: number | undefined
  memoryMiB?: number | undefined
  storageMiB?: number | undefined
  gpus?: number | undefined
  gpuModel?: string | undefined
}

/** Total capacity after overrides, plus the GPU model to advertise. */
export type Capacity = Resources & { gpuModel: string | undefined }

export type DetectCapacityParameters = {
  /** The data directory: storage is the space available on its file system. */
  dataDir: string
  /** Path of nvidia-smi; default looked up on PATH. */
  nvidiaSmi?: string
  /** How long nvidia-smi may take, ms (default 5000). */
  timeoutMs?: number
}

/**
 * Detects capacity: CPU cores (`os.availableParallelism`), memory (`os.totalmem`), storage (space
 * available to this user on the data directory's file system, `statfs`), NVIDIA GPUs
 * (`nvidia-smi --query-gpu=name --format=csv,noheader`, none when it is absent or fails).
 */
export async function detectCapacity(parameters: DetectCapacityParameters): Promise<DetectedCapacity> {
  await mkdir(parameters.dataDir, { recursive: true })
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  const fs = await statfs(parameters.dataDir)
  const gpuModels = await detectNvidiaGpus(parameters.nvidiaSmi ?? 'nvidia-smi', parameters.timeoutMs ?? 5000)
  return {
    cpuMillis: cores * 1000,
    memoryMiB: Math.floor(os.totalmem() / (1024 * 1024)),
    storageMiB: Math.floor((Number(fs.bavail) * Number(fs.bsize)) / (1024 * 1024)),
    gpus: gpuModels.length,
    gpuModels,
    sources: {
      cpuMillis: `${cores} logical CPUs`,
      memoryMiB: 'os.totalmem()',
      storageMiB: `statfs(${parameters.dataDir}) available blocks`,
      gpus: gpuModels.length > 0 ? `nvidia-smi: ${gpuModels.join(', ')}` : 'no nvidia-smi or no NVIDIA GPU',
    },
  }
}

/** Overrides win field by field; the GPU model defaults to the first detected one. */
export function resolveCapacity(detected: DetectedCapacity, overrides: CapacityOverrides = {}): Capacity {
  return {
    cpuMillis: overrides.cpuMillis ?? detected.cpuMillis,
    memoryMiB: overrides.memoryMiB ?? detected.memoryMiB,
    storageMiB: overrides.storageMiB ?? detected.storageMiB,
    gpus: overrides.gpus ?? detected.gpus,
    gpuModel: overrides.gpuModel ?? detected.gpuModels[0],
  }
}

/** GPU names from nvidia-smi; empty when the tool is missing, fails or times out. */
export async function detectNvidiaGpus(binary: string, timeoutMs: number): Promise<string[]> {
  return await new Promise((resolve) => {
    execFile(
      binary,
      ['--query-gpu=name', '--format=csv,noheader'],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 },
      (error, stdout) => {
        if (error) return resolve([])
        resolve(
          String(stdout)
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => line.length > 0 && !line.startsWith('No devices')),
        )
      },
    )
  })
}
