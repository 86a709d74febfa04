import { type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import type { Address } from 'viem'
import { getContractEvents } from 'viem/actions'
import { readDeal, repairThresholdOf, storageDealsAddress } from '../storage/deals.ts'
import type { StoaActionClient } from '../types.ts'
import { listDeals } from './listDeals.ts'

export type FindDealsToRepairParameters = {
  /** Only this owner's deals (default: every deal with a `ShardLost` event). */
  owner?: Address | undefined
  fromBlock?: bigint | undefined
}

export type DealToRepair = {
  dealId: bigint
  k: number
  n: number
  active: number
  threshold: number
  /** Shard indices marked Lost. */
  lost: number[]
}

export type FindDealsToRepairReturnType = DealToRepair[]

export type FindDealsToRepairErrorType = StoaContractErrorType

/** Deals with Lost shards whose Active shards are at or under the repair threshold (spec section 5). */
export async function findDealsToRepair(
  client: StoaActionClient,
  parameters: FindDealsToRepairParameters = {},
): Promise<FindDealsToRepairReturnType> {
  let deals: Awaited<ReturnType<typeof readDeal>>[]
  if (parameters.owner) {
    deals = await listDeals(client, { owner: parameters.owner, fromBlock: parameters.fromBlock })
  } else {
    const logs = await getContractEvents(client, {
      address: storageDealsAddress(client),
      abi: storageDealsAbi,
      eventName: 'ShardLost',
      fromBlock: parameters.fromBlock ?? 0n,
      toBlock: 'latest',
    })
    const ids = [
      ...new Set(logs.map((log) => log.args.dealId).filter((id): id is bigint => id !== undefined)),
    ]
    deals = await Promise.all(ids.map((dealId) => readDeal(client, dealId)))
  }
  const due: DealToRepair[] = []
  for (const deal of deals) {
    if (deal.ended) continue
    const active = deal.shards.filter((shard) => shard.state === 'Active').length
    const lost = deal.shards.filter((shard) => shard.state === 'Lost').map((shard) => shard.shardIndex)
    const threshold = repairThresholdOf(deal)
    if (lost.length > 0 && active <= threshold && active >= deal.k) {
      due.push({ dealId: deal.dealId, k: deal.k, n: deal.shardCount, active, threshold, lost })
    }
  }
  return due
}
