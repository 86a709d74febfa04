import {
  type InvalidParameterErrorType,
  providerRegistryAbi,
  type StoaContractErrorType,
} from '@stoa/protocol'
import { ensureStoaAllowance } from '../internal/allowance.ts'
import { eventArgs } from '../internal/logs.ts'
import { positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ApproveProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type StakeProgressEvent = ApproveProgressEvent | TransactionProgressEvent

export type StakeParameters = WriteParameters &
  ProgressOptions<StakeProgressEvent> & {
    /** STOA to bond (18 decimals), > 0. */
    amount: bigint
  }

export type StakeReturnType = WriteReturnType & {
  /** The provider's bonded stake afterwards. */
  stake: bigint
}

export type StakeErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Bonds more STOA as the account's provider stake (approving the registry first when needed). */
export async function stake(client: StoaActionClient, parameters: StakeParameters): Promise<StakeReturnType> {
  const account = resolveAccount(client, parameters.account, 'stake')
  const address = client.deployment.contracts.providerRegistry
  const amount = positive(parameters.amount, 'amount', 96)
  const { onProgress } = parameters
  await ensureStoaAllowance(client, { account, spender: address, amount, onProgress })
  const result = await writeStoaContract(client, {
    address,
    abi: providerRegistryAbi,
    functionName: 'stake',
    args: [amount],
    account,
    onProgress,
  })
  const staked = eventArgs(result.receipt, providerRegistryAbi, address, 'Staked')
  return { ...result, stake: staked.stake }
}
