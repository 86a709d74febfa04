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

export type SetIndexParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { dealId: bigint }

export type SetIndexReturnType = WriteReturnType

export type SetIndexErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Points the caller's object index at deal `dealId` (a deal the caller owns). */
export async function setIndex(
  client: StoaActionClient,
  parameters: SetIndexParameters,
): Promise<SetIndexReturnType> {
  return writeStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'setIndex',
    args: [dealIdParameter(parameters.dealId)],
    account: resolveAccount(client, parameters.account, 'setIndex'),
    onProgress: parameters.onProgress,
  })
}
