import {
  bytes32ToText,
  providerRegistryAbi,
  type RegionName,
  regionName,
  regions,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { readStoaContract, subjectAddress } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetProviderParameters = {
  /** The provider's operator address; defaults to the client's account. */
  provider?: Address | undefined
  blockNumber?: bigint | undefined
}

export type ProviderRecord = {
  address: Address
  id: number
  region: number
  /** The region's name, undefined for a code outside the table. */
  regionName: RegionName | undefined
  location: { latitude: number; longitude: number }
  capacity: { cpuMillis: number; memoryMiB: number; storageGiB: number; gpus: number }
  gatewayUrl: string
  /** Attributes, text where the bytes32 holds text, hex otherwise. */
  attributes: { key: string; value: string; rawKey: Hex; rawValue: Hex }[]
  /** Bonded stake (STOA, 18 decimals). */
  stake: bigint
  unbonding: bigint
  unbondingReleaseAt: number
  /** 0 when not jailed; else the time from which `unjail` works. */
  jailedUntil: number
  faults: number
  recentFaults: number
  registeredAt: number
  /** Registered, stake at least the minimum, not jailed: may bid. */
  active: boolean
  /** Track record from the Market. */
  stats: { leasesWon: bigint; leasesCompleted: bigint; faults: bigint }
}

/** `null` when the address never registered. */
export type GetProviderReturnType = ProviderRecord | null

export type GetProviderErrorType = StoaContractErrorType

/** Reads a provider's public record, whether it may take work, and its track record. */
export async function getProvider(
  client: StoaActionClient,
  parameters: GetProviderParameters = {},
): Promise<GetProviderReturnType> {
  const provider = subjectAddress(client, parameters.provider, 'provider')
  const address = client.deployment.contracts.providerRegistry
  const { blockNumber } = parameters
  const [record, active, stats] = await Promise.all([
    readStoaContract(client, {
      address,
      abi: providerRegistryAbi,
      functionName: 'getProvider',
      args: [provider],
      blockNumber,
    }),
    readStoaContract(client, {
      address,
      abi: providerRegistryAbi,
      functionName: 'isActive',
      args: [provider],
      blockNumber,
    }),
    readStoaContract(client, {
      address,
      abi: providerRegistryAbi,
      functionName: 'statsOf',
      args: [provider],
      blockNumber,
    }),
  ])
  if (record.id === 0) return null
  return {
    address: provider,
    id: record.id,
    region: record.region,
    regionName: record.region < regions.length ? regionName(record.region) : undefined,
    location: { latitude: record.latE5 / 1e5, longitude: record.lonE5 / 1e5 },
    capacity: { ...record.capacity },
    gatewayUrl: record.gatewayUrl,
    attributes: record.attributes.map(({ key, value }) => ({
      key: bytes32ToText(key) ?? key,
      value: bytes32ToText(value) ?? value,
      rawKey: key,
      rawValue: value,
    })),
    stake: record.stake,
    unbonding: record.unbonding,
    unbondingReleaseAt: record.unbondingReleaseAt,
    jailedUntil: record.jailedUntil,
    faults: record.faults,
    recentFaults: record.recentFaults,
    registeredAt: record.registeredAt,
    active,
    stats: { leasesWon: stats[0], leasesCompleted: stats[1], faults: stats[2] },
  }
}
