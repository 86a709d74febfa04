import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type RestartBiddingParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { orderId: bigint }

export type RestartBiddingReturnType = WriteReturnType & {
  /** The new bidding round. */
  round: number
  /** Block time until which the new round takes bids. */
  bidDeadline: number
}

export type RestartBiddingErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Starts a fresh bidding round on an open order whose window has closed: the tenant may do it for any
 * such order; anyone may on an auto-reopen order whose round got no bid or whose best bidder is no
 * longer active (so a workload whose provider failed still moves with nobody watching).
 */
export async function restartBidding(
  client: StoaActionClient,
  parameters: RestartBiddingParameters,
): Promise<RestartBiddingReturnType> {
  const account = resolveAccount(client, parameters.account, 'restartBidding')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'restartBidding',
    args: [positive(parameters.orderId, 'orderId')],
    account,
    onProgress: parameters.onProgress,
  })
  const restarted = eventArgs(result.receipt, marketAbi, market, 'BiddingRestarted')
  return { ...result, round: restarted.round, bidDeadline: restarted.bidDeadline }
}
