import { type InvalidParameterErrorType, type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import { dealIdParameter, storageDealsAddress } from '../storage/deals.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type MarkMissedParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { dealId: bigint; shardIndex: number; period: number }

export type MarkMissedReturnType = WriteReturnType

export type MarkMissedErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Reports that a shard's provider proved nothing in period `period`'s window (closed by now):
 * the provider is slashed (part of it to the caller), the shard is marked Lost and can be repaired.
 */
export async function markMissed(
  client: StoaActionClient,
  parameters: MarkMissedParameters,
): Promise<MarkMissedReturnType> {
  return writeStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'markMissed',
    args: [dealIdParameter(parameters.dealId), parameters.shardIndex, parameters.period],
    account: resolveAccount(client, parameters.account, 'markMissed'),
    onProgress: parameters.onProgress,
  })
}
