import type { Hex } from 'viem'
import type { RegionName } from '../regions.ts'
import type { NormalizedManifest } from './types.ts'
import { manifestHash } from './validate.ts'

/** The resources an order asks one provider for: the sum over the manifest's services. */
export type ManifestOrderResources = {
  cpuMillis: number
  memoryMiB: number
  storageMiB: number
  gpus: number
  /** The GPU model the services ask for (they agree on one), if any. */
  gpuModel?: string
}

/**
 * Sums the services' resources for `Market.createOrder`: every service of a manifest runs on the
 * one provider that wins the order. The manifest limits keep each sum within its uint32/uint16 field.
 */
export function orderResources(manifest: NormalizedManifest): ManifestOrderResources {
  const total: ManifestOrderResources = { cpuMillis: 0, memoryMiB: 0, storageMiB: 0, gpus: 0 }
  for (const { resources } of Object.values(manifest.services)) {
    total.cpuMillis += resources.cpuMillis
    total.memoryMiB += resources.memoryMiB
    total.storageMiB += resources.storageMiB
    total.gpus += resources.gpus
    if (resources.gpuModel !== undefined) total.gpuModel = resources.gpuModel
  }
  return total
}

export type ManifestOrderParameters = {
  resources: ManifestOrderResources
  regions: RegionName[]
  maxPricePerSecond: bigint
  deposit: bigint
  manifestHash: Hex
}

/**
 * Everything `createOrder` needs from a manifest (all but the bid window):
 * `createOrder(client, { ...manifestOrderParameters(manifest), bidWindowSeconds: 30 })`.
 */
export function manifestOrderParameters(manifest: NormalizedManifest): ManifestOrderParameters {
  return {
    resources: orderResources(manifest),
    regions: [...manifest.placement.regions],
    maxPricePerSecond: BigInt(manifest.placement.maxPricePerSecond),
    deposit: BigInt(manifest.deposit.credits),
    manifestHash: manifestHash(manifest),
  }
}
