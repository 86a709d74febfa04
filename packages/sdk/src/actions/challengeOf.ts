import { type InvalidParameterErrorType, type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import { readStoaContract } from '../internal/write.ts'
import { dealIdParameter, storageDealsAddress } from '../storage/deals.ts'
import type { StoaActionClient } from '../types.ts'

export type ChallengeOfParameters = {
  dealId: bigint
  shardIndex: number
  period: number
  blockNumber?: bigint | undefined
}

/** The leaf the shard must prove for that period (readable from the period's window on). */
export type ChallengeOfReturnType = bigint

export type ChallengeOfErrorType = StoaContractErrorType | InvalidParameterErrorType

export async function challengeOf(
  client: StoaActionClient,
  parameters: ChallengeOfParameters,
): Promise<ChallengeOfReturnType> {
  return readStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'challengeOf',
    args: [dealIdParameter(parameters.dealId), parameters.shardIndex, parameters.period],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
}
