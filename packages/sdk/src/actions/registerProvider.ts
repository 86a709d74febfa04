import {
  type InvalidParameterErrorType,
  providerRegistryAbi,
  type StoaContractErrorType,
} from '@stoa/protocol'
import { ensureStoaAllowance } from '../internal/allowance.ts'
import { eventArgs } from '../internal/logs.ts'
import { encodeProviderInfo, type ProviderInfoInput } from '../internal/provider.ts'
import { uint } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ApproveProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type RegisterProviderProgressEvent = ApproveProgressEvent | TransactionProgressEvent

export type RegisterProviderParameters = WriteParameters &
  ProgressOptions<RegisterProviderProgressEvent> &
  ProviderInfoInput & {
    /** STOA to bond (18 decimals), at least the registry's `minStake`. */
    stake: bigint
  }

export type RegisterProviderReturnType = WriteReturnType & {
  /** The provider's id (from 1, never changes). */
  providerId: number
  /** Bonded stake after registering. */
  stake: bigint
}

export type RegisterProviderErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Registers the account as a provider and bonds its stake: approves the registry to pull the
 * stake when needed, then registers.
 */
export async function registerProvider(
  client: StoaActionClient,
  parameters: RegisterProviderParameters,
): Promise<RegisterProviderReturnType> {
  const account = resolveAccount(client, parameters.account, 'registerProvider')
  const address = client.deployment.contracts.providerRegistry
  const info = encodeProviderInfo(parameters)
  const stake = uint(parameters.stake, 96, 'stake')
  const { onProgress } = parameters
  await ensureStoaAllowance(client, { account, spender: address, amount: stake, onProgress })
  const result = await writeStoaContract(client, {
    address,
    abi: providerRegistryAbi,
    functionName: 'register',
    args: [info, stake],
    account,
    onProgress,
  })
  const registered = eventArgs(result.receipt, providerRegistryAbi, address, 'ProviderRegistered')
  const staked = eventArgs(result.receipt, providerRegistryAbi, address, 'Staked')
  return { ...result, providerId: registered.id, stake: staked.stake }
}
