import type { InvalidParameterErrorType, StoaContractErrorType } from '@stoa/protocol'
import { type DealRecord, readDeal } from '../storage/deals.ts'
import type { DealNotFoundErrorType } from '../storage/errors.ts'
import type { StoaActionClient } from '../types.ts'

export type GetDealParameters = { dealId: bigint; blockNumber?: bigint | undefined }

export type GetDealReturnType = DealRecord

export type GetDealErrorType = DealNotFoundErrorType | StoaContractErrorType | InvalidParameterErrorType

/** Reads a storage deal with its terms, schedule, escrow and every shard. */
export async function getDeal(
  client: StoaActionClient,
  parameters: GetDealParameters,
): Promise<GetDealReturnType> {
  return readDeal(client, parameters.dealId, parameters.blockNumber)
}
