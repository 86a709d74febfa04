import {
  compareCodeUnits,
  providerRegistryAbi,
  type RegionName,
  regionName,
  regions as regionTable,
} from '@stoa/protocol'
import type { Address } from 'viem'
import { getProvider, type ProviderRecord } from '../actions/getProvider.ts'
import { readStoaContract } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'
import { NotEnoughStorageProvidersError, type NotEnoughStorageProvidersErrorType } from './errors.ts'
import { type StorageInfo, storageClientFor } from './http.ts'

export type StorageProviderCandidate = {
  address: Address
  gatewayUrl: string
  region: number
  regionName: RegionName | undefined
  askPricePerByteSecond: bigint
  free: bigint
  faults: number
  recentFaults: number
  /** Lower is better: the ask relative to the cheapest, plus a penalty per fault. */
  score: number
}

export type SelectStorageProvidersParameters = {
  /** How many providers. */
  count: number
  /** Only providers in these regions (default: any). */
  regions?: readonly (RegionName | number)[] | undefined
  /** Providers never to pick (those of the deal already, ones that failed). */
  exclude?: readonly Address[] | undefined
  /** Bytes each must have free (default 0). */
  minFree?: number | undefined
  /** Only providers asking at most this (credit units per byte-second): a repair must fit the deal's price. */
  maxAskPricePerByteSecond?: bigint | undefined
  /** Fewer than `count` is an error unless this is set (then as many as there are, at least `min`). */
  min?: number | undefined
  /** Time limit of each `GET /v1/storage/info` in ms (default 3 000). */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

export type SelectStorageProvidersReturnType = {
  selected: StorageProviderCandidate[]
  /** Every usable candidate, best first (selected ones included). */
  candidates: StorageProviderCandidate[]
  excluded: { provider: Address; reason: string }[]
}

export type SelectStorageProvidersErrorType = NotEnoughStorageProvidersErrorType

/**
 * Picks distinct, active, registered storage providers, spread over regions: candidates are scored
 * by their ask (`GET /v1/storage/info`) and their record (faults), then taken round-robin by
 * region, each region's best first, so no region holds more shards than it must.
 */
export async function selectStorageProviders(
  client: StoaActionClient,
  parameters: SelectStorageProvidersParameters,
): Promise<SelectStorageProvidersReturnType> {
  const { count, signal } = parameters
  const registry = client.deployment.contracts.providerRegistry
  const total = Number(
    await readStoaContract(client, {
      address: registry,
      abi: providerRegistryAbi,
      functionName: 'providerCount',
      args: [],
    }),
  )
  const addresses = await Promise.all(
    Array.from({ length: total }, (_, i) =>
      readStoaContract(client, {
        address: registry,
        abi: providerRegistryAbi,
        functionName: 'providerAddress',
        args: [i + 1],
      }),
    ),
  )
  const exclude = new Set((parameters.exclude ?? []).map((address) => address.toLowerCase()))
  const allowedRegions = parameters.regions?.map((region) =>
    typeof region === 'number' ? region : regionTable.indexOf(region as never),
  )
  const excluded: { provider: Address; reason: string }[] = []
  const records = await Promise.all(addresses.map((provider) => getProvider(client, { provider })))
  const usable: ProviderRecord[] = []
  for (const [i, record] of records.entries()) {
    const provider = addresses[i] as Address
    if (!record) excluded.push({ provider, reason: 'not registered' })
    else if (exclude.has(provider.toLowerCase())) excluded.push({ provider, reason: 'excluded' })
    else if (!record.active) excluded.push({ provider, reason: 'not active (stake, jail)' })
    else if (!record.gatewayUrl) excluded.push({ provider, reason: 'no gateway URL' })
    else if (allowedRegions && !allowedRegions.includes(record.region))
      excluded.push({ provider, reason: `region ${record.regionName ?? record.region} not wanted` })
    else usable.push(record)
  }
  const infos = await Promise.all(
    usable.map((record) =>
      storageClientFor(client, record.gatewayUrl, {
        provider: record.address,
        timeoutMs: parameters.timeoutMs ?? 3_000,
      })
        .info({ signal })
        .then(
          (info): StorageInfo | Error => info,
          (error: unknown): Error => (error instanceof Error ? error : new Error(String(error))),
        ),
    ),
  )
  signal?.throwIfAborted()
  const candidates: StorageProviderCandidate[] = []
  for (const [i, record] of usable.entries()) {
    const info = infos[i] as StorageInfo | Error
    if (info instanceof Error) {
      excluded.push({
        provider: record.address,
        reason: `storage API: ${(info as { shortMessage?: string }).shortMessage ?? info.message}`,
      })
      continue
    }
    if (parameters.minFree !== undefined && info.free < BigInt(parameters.minFree)) {
      excluded.push({ provider: record.address, reason: `only ${info.free} bytes free` })
      continue
    }
    const maxAsk = parameters.maxAskPricePerByteSecond
    if (maxAsk !== undefined && info.askPricePerByteSecond > maxAsk) {
      excluded.push({
        provider: record.address,
        reason: `asks ${info.askPricePerByteSecond}, above ${maxAsk} per byte-second`,
      })
      continue
    }
    candidates.push({
      address: record.address,
      gatewayUrl: record.gatewayUrl,
      region: record.region,
      regionName: record.region < regionTable.length ? regionName(record.region) : undefined,
      askPricePerByteSecond: info.askPricePerByteSecond,
      free: info.free,
      faults: record.faults,
      recentFaults: record.recentFaults,
      score: 0,
    })
  }
  let cheapest = 2n ** 255n
  for (const candidate of candidates)
    if (candidate.askPricePerByteSecond < cheapest) cheapest = candidate.askPricePerByteSecond
  for (const candidate of candidates) {
    const relative = cheapest > 0n ? Number((candidate.askPricePerByteSecond * 1000n) / cheapest) / 1000 : 1
    candidate.score = relative + 0.5 * candidate.recentFaults + 0.1 * candidate.faults
  }
  candidates.sort((a, b) => a.score - b.score || compareCodeUnits(a.address, b.address))

  // Round-robin over regions, the region with the best candidate first.
  const byRegion = new Map<number, StorageProviderCandidate[]>()
  for (const candidate of candidates) {
    const list = byRegion.get(candidate.region) ?? []
    list.push(candidate)
    byRegion.set(candidate.region, list)
  }
  const queues = [...byRegion.values()]
  const selected: StorageProviderCandidate[] = []
  while (selected.length < count && queues.some((queue) => queue.length > 0)) {
    for (const queue of queues) {
      const next = queue.shift()
      if (next && selected.length < count) selected.push(next)
    }
  }
  const min = parameters.min ?? count
  if (selected.length < min) {
    throw new NotEnoughStorageProvidersError({
      needed: min,
      available: selected.length,
      what: 'Placing shards',
      reasons: excluded.map(({ provider, reason }) => `${provider}: ${reason}`),
    })
  }
  return { selected, candidates, excluded }
}
