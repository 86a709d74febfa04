import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
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

export type CloseLeaseParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    leaseId: bigint
    /** Why, for the record: a text of at most 32 bytes or 32-byte hex. Default empty. */
    note?: string | undefined
  }

export type CloseLeaseReturnType = WriteReturnType & LeaseOutcome

export type CloseLeaseErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Ends a lease after settling it. By the tenant: the order closes and the rest of the escrow is
 * refunded. By the provider: an auto-reopen order goes back to bidding with its escrow, otherwise
 * the tenant is refunded. If the settle used up the escrow, the lease had already closed with
 * `InsufficientFunds` (see `closed.reason`).
 */
export async function closeLease(
  client: StoaActionClient,
  parameters: CloseLeaseParameters,
): Promise<CloseLeaseReturnType> {
  const account = resolveAccount(client, parameters.account, 'closeLease')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'closeLease',
    args: [positive(parameters.leaseId, 'leaseId'), bytes32(parameters.note ?? '', 'note')],
    account,
    onProgress: parameters.onProgress,
  })
  return { ...result, ...leaseOutcome(result.receipt, market) }
}
