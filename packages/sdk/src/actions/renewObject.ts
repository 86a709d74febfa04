import type { StoaContractErrorType } from '@stoa/protocol'
import type { DecodeIndexErrorType, ObjectRecord } from '@stoa/storage'
import { type Address, hexToBytes } from 'viem'
import { readDeal } from '../storage/deals.ts'
import {
  DealNotRenewableError,
  type DealNotRenewableErrorType,
  ObjectNotFoundError,
  type ObjectNotFoundErrorType,
  type StorageRequestErrorType,
} from '../storage/errors.ts'
import { storageClientFor } from '../storage/http.ts'
import { loadObjectIndex, saveObjectIndex } from '../storage/objectIndex.ts'
import { defaultSchedule, openDeal, type UploadedShard } from '../storage/upload.ts'
import type { ProgressOptions, StoaActionClient, TransactionProgressEvent } from '../types.ts'
import { getProvider } from './getProvider.ts'

export type RenewObjectParameters = ProgressOptions<TransactionProgressEvent> & {
  name: string
  masterKey: Uint8Array
  /** Proving periods the new deal pays for (default: as many as the deal it renews). */
  periods?: number | undefined
  signal?: AbortSignal | undefined
}

export type RenewObjectReturnType = {
  /** The object's record, now naming the new deal. */
  record: ObjectRecord
  /** The deal it renews, left to run out. */
  previousDealId: bigint
  dealId: bigint
  pricePerByteSecond: bigint
  periods: number
  /** The new index deal. */
  indexDealId: bigint
}

export type RenewObjectErrorType =
  | ObjectNotFoundErrorType
  | DealNotRenewableErrorType
  | DecodeIndexErrorType
  | StorageRequestErrorType
  | StoaContractErrorType

/**
 * Renews an object's storage: a new deal over the same shards with the same providers, who keep
 * the bytes they hold (a provider keeps a shard while any deal names it), each accepting the new
 * terms at its current ask; the object's record then names the new deal (a new index deal). The
 * deal it renews is left to run out, so renew before its last period ends: after that, providers
 * delete shards no deal names. Every shard must be active; a lost one is repaired first
 * (`repairDeal`, `stoa repair`).
 *
 * @example
 * await renewObject(client, { name: 'photo.jpg', masterKey, periods: 720 })
 */
export async function renewObject(
  client: StoaActionClient,
  parameters: RenewObjectParameters,
): Promise<RenewObjectReturnType> {
  const { masterKey, signal, name } = parameters
  const { index } = await loadObjectIndex(client, { masterKey, signal })
  const record = index.objects.find((object) => object.name === name)
  if (!record) throw new ObjectNotFoundError(name)
  const deal = await readDeal(client, record.dealId)
  if (deal.state !== 'Active' || deal.ended) {
    throw new DealNotRenewableError({ dealId: deal.dealId, reason: 'it has ended' })
  }
  const notActive = deal.shards.filter((shard) => shard.state !== 'Active')
  if (notActive.length > 0) {
    throw new DealNotRenewableError({
      dealId: deal.dealId,
      reason: `shard${notActive.length === 1 ? '' : 's'} ${notActive.map((shard) => shard.shardIndex).join(', ')} ${notActive.length === 1 ? 'is' : 'are'} not active`,
      hint: `Repair it first: \`stoa repair ${deal.dealId}\`.`,
    })
  }
  // Each provider's gateway and current ask: the new deal pays the highest (openDeal).
  const gateways = new Map<string, { gatewayUrl: string; ask: bigint }>()
  await Promise.all(
    [...new Set(deal.shards.map((shard) => shard.provider.toLowerCase()))].map(async (provider) => {
      const info = await getProvider(client, { provider: provider as Address })
      if (!info?.gatewayUrl) {
        throw new DealNotRenewableError({
          dealId: deal.dealId,
          reason: `provider ${provider} has no gateway URL on record`,
        })
      }
      const { askPricePerByteSecond } = await storageClientFor(client, info.gatewayUrl, {
        provider: provider as Address,
      }).info({ signal })
      gateways.set(provider, { gatewayUrl: info.gatewayUrl, ask: askPricePerByteSecond })
    }),
  )
  const shards: UploadedShard[] = deal.shards.map((shard) => {
    const gateway = gateways.get(shard.provider.toLowerCase()) as { gatewayUrl: string; ask: bigint }
    return {
      slot: shard.shardIndex,
      provider: shard.provider,
      gatewayUrl: gateway.gatewayUrl,
      erasureIndex: shard.erasureIndex,
      root: shard.root,
      size: shard.size,
      askPricePerByteSecond: gateway.ask,
      ms: 0,
    }
  })
  const periods = parameters.periods ?? deal.periods
  const opened = await openDeal(client, {
    shards,
    k: deal.k,
    pieceSize: deal.pieceSize,
    schedule: await defaultSchedule(client, periods),
    signal,
    onTransaction: parameters.onProgress,
  })
  const renewed: ObjectRecord = {
    ...record,
    dealId: opened.dealId,
    shards: deal.shards.map(({ shardIndex, erasureIndex, root, provider }) => ({
      shardIndex,
      erasureIndex,
      root: hexToBytes(root),
      provider,
    })),
  }
  index.objects = index.objects.map((object) => (object === record ? renewed : object))
  const saved = await saveObjectIndex(client, {
    masterKey,
    index,
    signal,
    onTransaction: parameters.onProgress,
  })
  return {
    record: renewed,
    previousDealId: deal.dealId,
    dealId: opened.dealId,
    pricePerByteSecond: opened.pricePerByteSecond,
    periods,
    indexDealId: saved.dealId,
  }
}
