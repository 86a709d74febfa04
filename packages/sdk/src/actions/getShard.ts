import {
  InvalidParameterError,
  type InvalidParameterErrorType,
  type StoaContractErrorType,
} from '@stoa/protocol'
import { readShard, type ShardRecord } from '../storage/deals.ts'
import type { StoaActionClient } from '../types.ts'

export type GetShardParameters = { dealId: bigint; shardIndex: number; blockNumber?: bigint | undefined }

export type GetShardReturnType = ShardRecord

export type GetShardErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Reads one shard of a deal: its provider, root, size, erasure index, state and proofs. */
export async function getShard(
  client: StoaActionClient,
  parameters: GetShardParameters,
): Promise<GetShardReturnType> {
  const { shardIndex } = parameters
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex > 0xffff) {
    throw new InvalidParameterError('shardIndex', 'an integer from 0 to 65535', shardIndex)
  }
  return readShard(client, parameters.dealId, shardIndex, parameters.blockNumber)
}
