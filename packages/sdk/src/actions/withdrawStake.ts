import { providerRegistryAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type WithdrawStakeParameters = WriteParameters & ProgressOptions<TransactionProgressEvent>

export type WithdrawStakeReturnType = WriteReturnType & {
  /** STOA returned to the provider (18 decimals). */
  amount: bigint
}

export type WithdrawStakeErrorType = StoaContractErrorType

/**
 * Takes back stake whose unbonding period is over (`RegistryStillUnbonding` before,
 * `RegistryNothingToWithdraw` when nothing is unbonding).
 */
export async function withdrawStake(
  client: StoaActionClient,
  parameters: WithdrawStakeParameters = {},
): Promise<WithdrawStakeReturnType> {
  const account = resolveAccount(client, parameters.account, 'withdrawStake')
  const address = client.deployment.contracts.providerRegistry
  const result = await writeStoaContract(client, {
    address,
    abi: providerRegistryAbi,
    functionName: 'withdraw',
    args: [],
    account,
    onProgress: parameters.onProgress,
  })
  const withdrawn = eventArgs(result.receipt, providerRegistryAbi, address, 'Withdrawn')
  return { ...result, amount: withdrawn.amount }
}
