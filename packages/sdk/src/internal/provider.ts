import { InvalidParameterError, type RegionName, toRegionCode, UnknownRegionError } from '@stoa/protocol'
import type { Hex } from 'viem'
import { bytes32, degreesE5, smallUint } from './values.ts'

/** What a provider declares about itself, in friendly units. */
export type ProviderInfoInput = {
  /** The HTTPS (or HTTP on devnet) base URL of the provider gateway. */
  gatewayUrl: string
  /** Region name (`'eu-west'`) or code (0..31). */
  region: RegionName | (string & {}) | number
  /** Where the machines are, in degrees (rounded to 1e-5°, about a metre). Default 0, 0. */
  location?: { latitude: number; longitude: number } | undefined
  /** Total capacity offered (advertised, not enforced on chain). */
  capacity: { cpuMillis: number; memoryMiB: number; storageGiB: number; gpus?: number | undefined }
  /**
   * Free-form capabilities, at most 16: keys and values are texts of at most 32 bytes (or 32-byte hex),
   * e.g. `{ 'gpu.model': 'A100' }`.
   */
  attributes?: Record<string, string> | readonly { key: string; value: string }[] | undefined
}

/** The registry's `ProviderInfo` struct, checked field by field. */
export function encodeProviderInfo(info: ProviderInfoInput) {
  let region: number
  try {
    region = toRegionCode(info.region)
  } catch (error) {
    if (error instanceof UnknownRegionError) {
      throw new InvalidParameterError('region', 'a region name or a code from 0 to 31', info.region, {
        cause: error,
      })
    }
    throw error
  }
  if (typeof info.gatewayUrl !== 'string' || !/^https?:\/\/\S+$/.test(info.gatewayUrl)) {
    throw new InvalidParameterError('gatewayUrl', 'an http:// or https:// URL', info.gatewayUrl)
  }
  const attributes = Array.isArray(info.attributes)
    ? (info.attributes as readonly { key: string; value: string }[])
    : Object.entries(info.attributes ?? {}).map(([key, value]) => ({ key, value }))
  return {
    region,
    latE5: degreesE5(info.location?.latitude ?? 0, 'location.latitude', 90),
    lonE5: degreesE5(info.location?.longitude ?? 0, 'location.longitude', 180),
    capacity: {
      cpuMillis: smallUint(info.capacity?.cpuMillis, 32, 'capacity.cpuMillis'),
      memoryMiB: smallUint(info.capacity?.memoryMiB, 32, 'capacity.memoryMiB'),
      storageGiB: smallUint(info.capacity?.storageGiB, 32, 'capacity.storageGiB'),
      gpus: smallUint(info.capacity?.gpus ?? 0, 16, 'capacity.gpus'),
    },
    gatewayUrl: info.gatewayUrl,
    attributes: attributes.map(({ key, value }, index) => ({
      key: bytes32(key, `attributes[${index}].key`) as Hex,
      value: bytes32(value, `attributes[${index}].value`) as Hex,
    })),
  }
}
