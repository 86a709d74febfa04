import {
  closeReasonName,
  InvalidParameterError,
  type InvalidParameterErrorType,
  leaseStateName,
  marketAbi,
  type StoaContractErrorType,
} from '@stoa/protocol'
import { getContractEvents } from 'viem/actions'
import { eventLogs } from '../internal/logs.ts'
import { uint } from '../internal/values.ts'
import { accountAddress, readStoaContract, resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type WithdrawEarningsParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    /**
     * Leases to collect from (the account must be their provider). Left out: the leases the account won
     * (from `LeaseCreated` logs since `fromBlock`) that still have something to collect: active ones,
     * ones with unwithdrawn earnings, and completed ones not yet counted in `leasesCompleted`.
     */
    leaseIds?: readonly bigint[] | undefined
    /** Where the log search for `leaseIds` starts (default: the first block). */
    fromBlock?: bigint | undefined
  }

export type WithdrawEarningsReturnType = WriteReturnType & {
  /** Credits paid to the provider, now redeemable for STOA. */
  amount: bigint
  /** What each lease contributed (leases with nothing to pay are left out). */
  leases: { leaseId: bigint; amount: bigint }[]
}

export type WithdrawEarningsErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Settles the given active leases and pays the provider everything they earned, as redeemable credits. */
export async function withdrawEarnings(
  client: StoaActionClient,
  parameters: WithdrawEarningsParameters = {},
): Promise<WithdrawEarningsReturnType> {
  const account = resolveAccount(client, parameters.account, 'withdrawEarnings')
  const market = client.deployment.contracts.market
  let leaseIds = parameters.leaseIds?.map((leaseId, index) => uint(leaseId, 256, `leaseIds[${index}]`))
  if (leaseIds === undefined) {
    const won = await getContractEvents(client, {
      address: market,
      abi: marketAbi,
      eventName: 'LeaseCreated',
      args: { provider: accountAddress(account) },
      fromBlock: parameters.fromBlock ?? 0n,
      toBlock: 'latest',
      strict: true,
    })
    const candidates = won.map((log) => log.args.leaseId)
    const leases = await Promise.all(
      candidates.map((leaseId) =>
        readStoaContract(client, {
          address: market,
          abi: marketAbi,
          functionName: 'getLease',
          args: [leaseId],
        }),
      ),
    )
    leaseIds = candidates.filter((_, index) => {
      const lease = leases[index]
      if (lease === undefined) return false
      const reason = closeReasonName(lease.reason)
      const completedUncounted =
        (reason === 'TenantClosed' || reason === 'InsufficientFunds') && !lease.completionCounted
      return leaseStateName(lease.state) === 'Active' || lease.earned > 0n || completedUncounted
    })
  }
  if (leaseIds.length === 0) {
    throw new InvalidParameterError(
      'leaseIds',
      'at least one lease of this provider with something to collect',
      leaseIds,
    )
  }
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'withdrawEarnings',
    args: [leaseIds],
    account,
    onProgress: parameters.onProgress,
  })
  const leases = eventLogs(result.receipt, marketAbi, market, 'EarningsWithdrawn').map((log) => ({
    leaseId: log.args.leaseId,
    amount: log.args.amount,
  }))
  return { ...result, amount: leases.reduce((sum, lease) => sum + lease.amount, 0n), leases }
}
