import {
  type InvalidParameterErrorType,
  providerRegistryAbi,
  type StoaContractErrorType,
} from '@stoa/protocol'
import { encodeProviderInfo, type ProviderInfoInput } from '../internal/provider.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type UpdateProviderParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> &
  ProviderInfoInput

export type UpdateProviderReturnType = WriteReturnType

export type UpdateProviderErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Replaces the account's declared gateway URL, region, location, capacity and attributes. */
export async function updateProvider(
  client: StoaActionClient,
  parameters: UpdateProviderParameters,
): Promise<UpdateProviderReturnType> {
  const account = resolveAccount(client, parameters.account, 'updateProvider')
  return await writeStoaContract(client, {
    address: client.deployment.contracts.providerRegistry,
    abi: providerRegistryAbi,
    functionName: 'update',
    args: [encodeProviderInfo(parameters)],
    account,
    onProgress: parameters.onProgress,
  })
}
