import { type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import type { Address } from 'viem'
import { getContractEvents } from 'viem/actions'
import { subjectAddress } from '../internal/write.ts'
import { type DealRecord, readDeal, storageDealsAddress } from '../storage/deals.ts'
import type { StoaActionClient } from '../types.ts'

export type ListDealsParameters = {
  /** Whose deals; default the client's account. */
  owner?: Address | undefined
  fromBlock?: bigint | undefined
}

export type ListDealsReturnType = DealRecord[]

export type ListDealsErrorType = StoaContractErrorType

/** The deals `owner` opened (from `DealCreated` events), each read as it stands now, oldest first. */
export async function listDeals(
  client: StoaActionClient,
  parameters: ListDealsParameters = {},
): Promise<ListDealsReturnType> {
  const owner = subjectAddress(client, parameters.owner, 'owner')
  const logs = await getContractEvents(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    eventName: 'DealCreated',
    args: { owner },
    fromBlock: parameters.fromBlock ?? 0n,
    toBlock: 'latest',
  })
  const ids = [...new Set(logs.map((log) => log.args.dealId).filter((id): id is bigint => id !== undefined))]
  ids.sort((a, b) => (a < b ? -1 : 1))
  const deals = await Promise.all(ids.map((dealId) => readDeal(client, dealId)))
  return deals.filter((deal) => deal.owner.toLowerCase() === owner.toLowerCase())
}
