import { type CloseReason, closeReasonName, marketAbi } from '@stoa/protocol'
import type { Address, TransactionReceipt } from 'viem'
import { eventLogs } from './logs.ts'

/** How a transaction that may end a lease ended it, read from its Market events. */
export type LeaseOutcome = {
  /** Set when the lease closed in this transaction. */
  closed: { leaseId: bigint; reason: CloseReason; settled: bigint; refund: bigint } | undefined
  /** Set when the order went back to bidding (auto-reopen after a provider close or a fault). */
  reopened: { orderId: bigint; round: number; escrow: bigint; bidDeadline: number } | undefined
  /** Credits refunded to the tenant when the order closed (0 when it reopened or stayed open). */
  refund: bigint
}

export function leaseOutcome(receipt: TransactionReceipt, market: Address): LeaseOutcome {
  const [closed] = eventLogs(receipt, marketAbi, market, 'LeaseClosed')
  const [reopened] = eventLogs(receipt, marketAbi, market, 'OrderReopened')
  return {
    closed: closed
      ? {
          leaseId: closed.args.leaseId,
          reason: closeReasonName(closed.args.reason),
          /** Credits the closing settle booked to the provider. */
          settled: closed.args.settled,
          refund: closed.args.refund,
        }
      : undefined,
    reopened: reopened
      ? {
          orderId: reopened.args.orderId,
          round: reopened.args.round,
          escrow: reopened.args.escrow,
          bidDeadline: reopened.args.bidDeadline,
        }
      : undefined,
    // LeaseClosed carries the refund of the order that closed with the lease (0 when it reopened).
    refund: closed?.args.refund ?? 0n,
  }
}
