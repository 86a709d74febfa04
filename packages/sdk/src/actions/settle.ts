import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventLogs } from '../internal/logs.ts'
import { type LeaseOutcome, leaseOutcome } from '../internal/market.ts'
import { positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type SettleParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { leaseId: bigint }

export type SettleReturnType = WriteReturnType &
  LeaseOutcome & {
    /** Credits moved from escrow to the provider's earnings by this settle (0 when nothing had accrued). */
    amount: bigint
    /** Escrow left on the order afterwards. */
    escrowLeft: bigint | undefined
  }

export type SettleErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Books what an active lease owes since its last settlement (price × seconds, exact to the sub-unit
 * remainder) from the order's escrow to the provider's earnings. Anyone may call it. When the escrow
 * cannot cover it, the lease takes what is left and closes with `InsufficientFunds`.
 */
export async function settle(
  client: StoaActionClient,
  parameters: SettleParameters,
): Promise<SettleReturnType> {
  const account = resolveAccount(client, parameters.account, 'settle')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'settle',
    args: [positive(parameters.leaseId, 'leaseId')],
    account,
    onProgress: parameters.onProgress,
  })
  // A settle that keeps the lease running emits LeaseSettled (none when nothing accrued, e.g. a second
  // settle in the same block); one that uses the escrow up closes the lease and reports the amount in
  // LeaseClosed.settled instead, leaving no escrow.
  const [settled] = eventLogs(result.receipt, marketAbi, market, 'LeaseSettled')
  const outcome = leaseOutcome(result.receipt, market)
  return {
    ...result,
    ...outcome,
    amount: settled?.args.amount ?? outcome.closed?.settled ?? 0n,
    escrowLeft: settled?.args.escrowLeft ?? (outcome.closed ? 0n : undefined),
  }
}
