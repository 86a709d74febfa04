import {
  type InvalidParameterErrorType,
  providerRegistryAbi,
  type StoaContractErrorType,
} from '@stoa/protocol'
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

export type BeginUnbondParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    /** Bonded STOA to start unbonding (18 decimals), > 0. */
    amount: bigint
  }

export type BeginUnbondReturnType = WriteReturnType & {
  /** Everything now unbonding (a second call adds to the first and restarts the clock). */
  unbonding: bigint
  /** Block time (seconds) from which `withdrawStake` can take it. */
  releaseAt: bigint
}

export type BeginUnbondErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Moves bonded stake to unbonding; it can be withdrawn after the registry's unbonding period and
 * can still be slashed until then.
 */
export async function beginUnbond(
  client: StoaActionClient,
  parameters: BeginUnbondParameters,
): Promise<BeginUnbondReturnType> {
  const account = resolveAccount(client, parameters.account, 'beginUnbond')
  const address = client.deployment.contracts.providerRegistry
  const result = await writeStoaContract(client, {
    address,
    abi: providerRegistryAbi,
    functionName: 'beginUnbond',
    args: [positive(parameters.amount, 'amount')],
    account,
    onProgress: parameters.onProgress,
  })
  const started = eventArgs(result.receipt, providerRegistryAbi, address, 'UnbondingStarted')
  return { ...result, unbonding: started.unbonding, releaseAt: started.releaseAt }
}
