/**
 * Reading the StorageDeals contract into plain records, shared by the deal actions and the
 * orchestrating ones (putObject, getObject, repairDeal).
 */
import { InvalidParameterError, storageDealsAbi } from '@stoa/protocol'
import { objectThresholds } from '@stoa/storage'
import type { Address, Hex } from 'viem'
import { readStoaContract } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'
import { DealNotFoundError } from './errors.ts'

export type ShardState = 'None' | 'Active' | 'Lost' | 'Ended'
const shardStates: readonly ShardState[] = ['None', 'Active', 'Lost', 'Ended']
export type DealState = 'None' | 'Active' | 'Ended'
const dealStates: readonly DealState[] = ['None', 'Active', 'Ended']

export type ShardRecord = {
  dealId: bigint
  shardIndex: number
  provider: Address
  root: Hex
  /** Bytes. */
  size: number
  leafCount: number
  /** Which Reed-Solomon piece index it holds. */
  erasureIndex: number
  state: ShardState
  /** The only period the shard can prove next (earlier ones proven or missed). */
  nextPeriod: number
  /** Proven periods not yet paid out. */
  unpaidPeriods: number
  /** Credits per proven period. */
  paymentPerPeriod: bigint
}

export type DealRecord = {
  dealId: bigint
  owner: Address
  k: number
  shardCount: number
  pieceSize: number
  startBlock: bigint
  periodBlocks: number
  windowBlocks: number
  periods: number
  pricePerByteSecond: bigint
  state: DealState
  /** Credits the deal still holds. */
  escrow: bigint
  /** Credits escrowed at creation. */
  deposited: bigint
  /** Credits paid to providers so far. */
  paid: bigint
  /** Settled after its last period. */
  ended: boolean
  shards: ShardRecord[]
}

export function storageDealsAddress(client: StoaActionClient): Address {
  const address = (client.deployment.contracts as { storageDeals?: Address }).storageDeals
  if (!address) {
    throw new InvalidParameterError(
      'deployment.contracts.storageDeals',
      'the StorageDeals contract address (a deployment with storage)',
      address,
    )
  }
  return address
}

export function dealIdParameter(value: bigint, field = 'dealId'): bigint {
  if (typeof value !== 'bigint' || value <= 0n)
    throw new InvalidParameterError(field, 'a deal id (a positive bigint)', value)
  return value
}

/** Reads deal `dealId` and all of its shards; throws `DealNotFoundError` for an unknown id. */
export async function readDeal(
  client: StoaActionClient,
  dealId: bigint,
  blockNumber?: bigint | undefined,
): Promise<DealRecord> {
  const deal = await readStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'getDeal',
    args: [dealIdParameter(dealId)],
    blockNumber,
  })
  if (/^0x0{40}$/i.test(deal.owner)) throw new DealNotFoundError(dealId)
  const shards = await Promise.all(
    Array.from({ length: deal.shardCount }, (_, shardIndex) =>
      readShard(client, dealId, shardIndex, blockNumber),
    ),
  )
  const state = dealStates[deal.state] ?? 'None'
  return {
    dealId,
    owner: deal.owner,
    k: deal.k,
    shardCount: deal.shardCount,
    pieceSize: deal.pieceSize,
    startBlock: deal.startBlock,
    periodBlocks: deal.periodBlocks,
    windowBlocks: deal.windowBlocks,
    periods: deal.periods,
    pricePerByteSecond: deal.pricePerByteSecond,
    state,
    escrow: deal.escrow,
    deposited: deal.deposited,
    paid: deal.paid,
    ended: state === 'Ended',
    shards,
  }
}

export async function readShard(
  client: StoaActionClient,
  dealId: bigint,
  shardIndex: number,
  blockNumber?: bigint | undefined,
): Promise<ShardRecord> {
  const shard = await readStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'getShard',
    args: [dealIdParameter(dealId), shardIndex],
    blockNumber,
  })
  return {
    dealId,
    shardIndex,
    provider: shard.provider,
    root: shard.root.toLowerCase() as Hex,
    size: Number(shard.size),
    leafCount: shard.leafCount,
    erasureIndex: shard.erasureIndex,
    state: shardStates[shard.state] ?? 'None',
    nextPeriod: shard.nextPeriod,
    unpaidPeriods: shard.unpaidPeriods,
    paymentPerPeriod: shard.paymentPerPeriod,
  }
}

/** The spec's default (the library's rule): repair when the Active shards are `<= max(k + 1, n - 1)`, at most n. */
export function repairThresholdOf(deal: Pick<DealRecord, 'k' | 'shardCount'>): number {
  return objectThresholds({ k: deal.k, n: deal.shardCount }).repairThreshold
}
