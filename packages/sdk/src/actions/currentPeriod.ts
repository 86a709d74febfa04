import { type InvalidParameterErrorType, type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import { readStoaContract } from '../internal/write.ts'
import { dealIdParameter, storageDealsAddress } from '../storage/deals.ts'
import type { StoaActionClient } from '../types.ts'

export type CurrentPeriodParameters = { dealId: bigint; blockNumber?: bigint | undefined }

/** The deal's current proving period (0-based). */
export type CurrentPeriodReturnType = number

export type CurrentPeriodErrorType = StoaContractErrorType | InvalidParameterErrorType

export async function currentPeriod(
  client: StoaActionClient,
  parameters: CurrentPeriodParameters,
): Promise<CurrentPeriodReturnType> {
  const period = await readStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'currentPeriod',
    args: [dealIdParameter(parameters.dealId)],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
  return Number(period)
}
