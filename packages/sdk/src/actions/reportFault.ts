import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import type { Address } from 'viem'
import { eventLogs } from '../internal/logs.ts'
import { type LeaseOutcome, leaseOutcome } from '../internal/market.ts'
import { bytes32, positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type ReportFaultParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    leaseId: bigint
    /** What was observed: a text of at most 32 bytes or a 32-byte digest of the evidence. Default empty. */
    evidence?: string | undefined
  }

export type ReportFaultReturnType = WriteReturnType &
  LeaseOutcome & {
    /** Watcher reports on the lease so far (0 for a tenant report). */
    reports: number
    /** Set when this report reached the quorum and the provider was slashed. */
    slashed: { provider: Address; amount: bigint } | undefined
  }

export type ReportFaultErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Reports that a lease's provider failed. By the tenant: the lease closes at once without a slash.
 * By a registered watcher: counted, and at the quorum the lease closes and the provider is slashed.
 * Either way an auto-reopen order with escrow left goes back to bidding (`reopened`), otherwise the
 * tenant is refunded.
 */
export async function reportFault(
  client: StoaActionClient,
  parameters: ReportFaultParameters,
): Promise<ReportFaultReturnType> {
  const account = resolveAccount(client, parameters.account, 'reportFault')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'reportFault',
    args: [positive(parameters.leaseId, 'leaseId'), bytes32(parameters.evidence ?? '', 'evidence')],
    account,
    onProgress: parameters.onProgress,
  })
  const [reported] = eventLogs(result.receipt, marketAbi, market, 'FaultReported')
  const [confirmed] = eventLogs(result.receipt, marketAbi, market, 'FaultConfirmed')
  return {
    ...result,
    ...leaseOutcome(result.receipt, market),
    reports: reported?.args.reports ?? 0,
    slashed: confirmed ? { provider: confirmed.args.provider, amount: confirmed.args.slashed } : undefined,
  }
}
