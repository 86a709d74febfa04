import type { InvalidParameterErrorType, StoaContractErrorType } from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { getBlock } from 'viem/actions'
import { resolveAccount } from '../internal/write.ts'
import { readDeal, repairThresholdOf } from '../storage/deals.ts'
import { createShardReader } from '../storage/download.ts'
import type { NotEnoughStorageProvidersErrorType, StorageRequestErrorType } from '../storage/errors.ts'
import { storageClientFor } from '../storage/http.ts'
import { selectStorageProviders } from '../storage/placement.ts'
import { type UploadProgress, uploadShards } from '../storage/upload.ts'
import type { ProgressEvent, ProgressOptions, StoaActionClient, TransactionProgressEvent } from '../types.ts'
import { replaceShard } from './replaceShard.ts'

export type RepairDealProgressEvent =
  | ProgressEvent<'repair:plan', { dealId: bigint; active: number; threshold: number; lost: number[] }>
  | ProgressEvent<'repair:upload', UploadProgress>
  | ProgressEvent<'repair:provider-dropped', { provider: Address; reason: string }>
  | ProgressEvent<'repair:replaced', { dealId: bigint; shardIndex: number; provider: Address; root: Hex }>
  | TransactionProgressEvent

export type RepairDealParameters = ProgressOptions<RepairDealProgressEvent> & {
  dealId: bigint
  /** Repair every Lost shard even when the deal is above its repair threshold. */
  force?: boolean | undefined
  /** Providers not to read from nor place on. */
  excludeProviders?: readonly Address[] | undefined
  signal?: AbortSignal | undefined
}

export type RepairDealReturnType = {
  dealId: bigint
  /** Shards given to new providers. */
  replaced: { shardIndex: number; provider: Address; root: Hex }[]
  /** Why nothing was done, when nothing was. */
  skipped?: 'healthy' | 'above-threshold'
}

export type RepairDealErrorType =
  | NotEnoughStorageProvidersErrorType
  | StorageRequestErrorType
  | StoaContractErrorType
  | InvalidParameterErrorType

/**
 * Repairs a deal (spec section 5) without the master key: reads any k shards piece by piece
 * (each piece checked against piece roots that are checked against the on-chain roots), rebuilds
 * the Lost shards' erasure indices with the same code (so the same bytes and roots), streams each
 * to a new provider outside the deal, and calls `replaceShard` with its acceptance. Anyone may run it.
 */
export async function repairDeal(
  client: StoaActionClient,
  parameters: RepairDealParameters,
): Promise<RepairDealReturnType> {
  const { dealId, signal, onProgress } = parameters
  const deal = await readDeal(client, dealId)
  const lost = deal.shards.filter((shard) => shard.state === 'Lost')
  const active = deal.shards.filter((shard) => shard.state === 'Active').length
  const threshold = repairThresholdOf(deal)
  if (lost.length === 0) return { dealId, replaced: [], skipped: 'healthy' }
  if (active > threshold && !parameters.force) return { dealId, replaced: [], skipped: 'above-threshold' }
  onProgress?.({
    type: 'repair:plan',
    detail: { dealId, active, threshold, lost: lost.map((s) => s.shardIndex) },
  })

  const reader = await createShardReader(client, {
    deal,
    excludeProviders: parameters.excludeProviders,
    onDropped: (detail) => onProgress?.({ type: 'repair:provider-dropped', detail }),
  })
  const account = resolveAccount(client, undefined, 'repairDeal')
  const inDeal = deal.shards.map((shard) => shard.provider)
  const replaced: RepairDealReturnType['replaced'] = []
  let remaining = lost
  const failedProviders: Address[] = []
  for (let round = 1; remaining.length > 0; round++) {
    const { selected } = await selectStorageProviders(client, {
      count: remaining.length,
      exclude: [...inDeal, ...failedProviders, ...(parameters.excludeProviders ?? [])],
      minFree: remaining[0]?.size,
      // The new provider signs for the deal's price, so only those asking no more can take it.
      maxAskPricePerByteSecond: deal.pricePerByteSecond,
      signal,
    })
    const wanted = remaining.map((shard) => shard.erasureIndex)
    const { shards, failed } = await uploadShards(client, {
      source: {
        segmentCount: reader.pieces.length,
        shardSize: remaining[0]?.size ?? 0,
        pieceSize: deal.pieceSize,
        segment: async (s) => {
          const pieces = await reader.readSegment(s, wanted, signal)
          return wanted.map((index) => pieces.get(index) as Uint8Array)
        },
      },
      slots: remaining.map((shard, i) => ({
        provider: selected[i] as (typeof selected)[number],
        erasureIndex: shard.erasureIndex,
        expectedRoot: shard.root,
      })),
      keep: remaining.length,
      signal,
      onProgress: (detail) => onProgress?.({ type: 'repair:upload', detail }),
    }).catch((error: unknown) => {
      if (round >= 3) throw error
      return { shards: [], failed: selected.map((p) => ({ provider: p.address, error })) }
    })
    failedProviders.push(...failed.map((entry) => entry.provider))
    const block = await getBlock(client, { blockTag: 'latest' })
    const deadline = block.timestamp + 3_600n
    for (const uploaded of shards) {
      const shard = remaining[uploaded.slot] as (typeof remaining)[number]
      const acceptance = await storageClientFor(client, uploaded.gatewayUrl, {
        provider: uploaded.provider,
      }).acceptance({
        owner: deal.owner,
        dealId,
        shardIndex: shard.shardIndex,
        root: shard.root,
        size: shard.size,
        erasureIndex: shard.erasureIndex,
        pricePerByteSecond: deal.pricePerByteSecond,
        periodBlocks: deal.periodBlocks,
        periods: deal.periods,
        deadline,
        signal,
      })
      await replaceShard(client, {
        account,
        dealId,
        shardIndex: shard.shardIndex,
        provider: uploaded.provider,
        deadline,
        acceptance,
        onProgress,
      })
      replaced.push({ shardIndex: shard.shardIndex, provider: uploaded.provider, root: shard.root })
      onProgress?.({
        type: 'repair:replaced',
        detail: { dealId, shardIndex: shard.shardIndex, provider: uploaded.provider, root: shard.root },
      })
    }
    const done = new Set(shards.map((uploaded) => uploaded.slot))
    remaining = remaining.filter((_, i) => !done.has(i))
    if (round >= 3 && remaining.length > 0) break
  }
  return { dealId, replaced }
}
