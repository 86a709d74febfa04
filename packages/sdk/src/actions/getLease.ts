import {
  type CloseReason,
  closeReasonName,
  type InvalidParameterErrorType,
  type LeaseState,
  leaseStateName,
  marketAbi,
  parseLeaseId,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address } from 'viem'
import { positive } from '../internal/values.ts'
import { readStoaContract } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetLeaseParameters = { leaseId: bigint; blockNumber?: bigint | undefined }

export type LeaseRecord = {
  leaseId: bigint
  orderId: bigint
  round: number
  provider: Address
  pricePerSecond: bigint
  /** Block time the lease started. */
  startedAt: number
  /** Block time up to which accrual has been booked. */
  settledAt: number
  /** Settled credits the provider has not withdrawn. */
  earned: bigint
  /** Accrued price units below one credit unit, carried to the next settle. */
  dust: number
  state: LeaseState
  /** `None` while active. */
  closeReason: CloseReason
  faultReports: number
  /**
   * Whether this lease's completion (closed by the tenant or by running out of escrow) has been added
   * to the provider's `leasesCompleted` counter: that happens at the provider's first withdrawal naming
   * the lease.
   */
  completionCounted: boolean
  /** What a settle would book now, and the escrow it would leave (at the block read). */
  pending: { owed: bigint; escrowAfter: bigint }
}

/** `null` for a lease id never created. */
export type GetLeaseReturnType = LeaseRecord | null

export type GetLeaseErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Reads a lease and what it owes since its last settlement. */
export async function getLease(
  client: StoaActionClient,
  parameters: GetLeaseParameters,
): Promise<GetLeaseReturnType> {
  const leaseId = positive(parameters.leaseId, 'leaseId')
  const address = client.deployment.contracts.market
  const { blockNumber } = parameters
  const [lease, pending] = await Promise.all([
    readStoaContract(client, {
      address,
      abi: marketAbi,
      functionName: 'getLease',
      args: [leaseId],
      blockNumber,
    }),
    readStoaContract(client, {
      address,
      abi: marketAbi,
      functionName: 'pendingSettlement',
      args: [leaseId],
      blockNumber,
    }),
  ])
  const state = leaseStateName(lease.state)
  if (state === 'None') return null
  return {
    leaseId,
    ...parseLeaseId(leaseId),
    provider: lease.provider,
    pricePerSecond: lease.pricePerSecond,
    startedAt: lease.startedAt,
    settledAt: lease.settledAt,
    earned: lease.earned,
    dust: lease.dust,
    state,
    closeReason: closeReasonName(lease.reason),
    faultReports: lease.faultReports,
    completionCounted: lease.completionCounted,
    pending: { owed: pending[0], escrowAfter: pending[1] },
  }
}
