import { type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import type { Address } from 'viem'
import { readStoaContract, subjectAddress } from '../internal/write.ts'
import { storageDealsAddress } from '../storage/deals.ts'
import type { StoaActionClient } from '../types.ts'

export type GetIndexDealParameters = { owner?: Address | undefined; blockNumber?: bigint | undefined }

/** The deal holding `owner`'s object index; undefined when none was set. */
export type GetIndexDealReturnType = bigint | undefined

export type GetIndexDealErrorType = StoaContractErrorType

export async function getIndexDeal(
  client: StoaActionClient,
  parameters: GetIndexDealParameters = {},
): Promise<GetIndexDealReturnType> {
  const owner = subjectAddress(client, parameters.owner, 'owner')
  const dealId = await readStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'indexOf',
    args: [owner],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
  return dealId === 0n ? undefined : dealId
}
