import {
  type InvalidParameterErrorType,
  marketAbi,
  orderStateName,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address, Hash } from 'viem'
import { getContractEvents } from 'viem/actions'
import { positive } from '../internal/values.ts'
import { readStoaContract } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetBidsParameters = {
  orderId: bigint
  /** A past round instead of the order's current one. */
  round?: number | undefined
  /** Where the log search starts (default: the first block; a public chain may need a later one). */
  fromBlock?: bigint | undefined
}

export type BidRecord = {
  provider: Address
  pricePerSecond: bigint
  round: number
  blockNumber: bigint
  logIndex: number
  transactionHash: Hash
}

/** Cheapest first; equal prices in bid order (the first bid wins ties, as on chain). */
export type GetBidsReturnType = BidRecord[]

export type GetBidsErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Lists an order's bids in its current round (or `round`), read from `BidPlaced` logs. */
export async function getBids(
  client: StoaActionClient,
  parameters: GetBidsParameters,
): Promise<GetBidsReturnType> {
  const orderId = positive(parameters.orderId, 'orderId')
  const market = client.deployment.contracts.market
  let round = parameters.round
  if (round === undefined) {
    const order = await readStoaContract(client, {
      address: market,
      abi: marketAbi,
      functionName: 'getOrder',
      args: [orderId],
    })
    if (orderStateName(order.state) === 'None') return []
    round = order.round
  }
  const logs = await getContractEvents(client, {
    address: market,
    abi: marketAbi,
    eventName: 'BidPlaced',
    args: { orderId },
    fromBlock: parameters.fromBlock ?? 0n,
    toBlock: 'latest',
    strict: true,
  })
  return logs
    .filter((log) => log.args.round === round)
    .map((log) => ({
      provider: log.args.provider,
      pricePerSecond: log.args.price,
      round: log.args.round,
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
    }))
    .sort(
      (a, b) =>
        compare(a.pricePerSecond, b.pricePerSecond) ||
        compare(a.blockNumber, b.blockNumber) ||
        a.logIndex - b.logIndex,
    )
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}
