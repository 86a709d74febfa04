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

export type SettleDealParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { dealId: bigint }

export type SettleDealReturnType = WriteReturnType

export type SettleDealErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Pays every provider of a deal its proven, unpaid periods; after the last period it refunds what
 * nobody earned to the owner and ends the deal. Anyone may call it.
 */
export async function settleDeal(
  client: StoaActionClient,
  parameters: SettleDealParameters,
): Promise<SettleDealReturnType> {
  return writeStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'settle',
    args: [dealIdParameter(parameters.dealId)],
    account: resolveAccount(client, parameters.account, 'settleDeal'),
    onProgress: parameters.onProgress,
  })
}
