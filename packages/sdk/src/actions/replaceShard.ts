import { type InvalidParameterErrorType, type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import { dealIdParameter, storageDealsAddress } from '../storage/deals.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type ReplaceShardParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    dealId: bigint
    shardIndex: number
    /** The new holder: it stores the same bytes (same root, size, erasure index). */
    provider: Address
    /** The block timestamp the acceptance was signed with. */
    deadline: bigint
    /** The new provider's EIP-712 `ShardAcceptance` for this deal and shard. */
    acceptance: Hex
  }

export type ReplaceShardReturnType = WriteReturnType

export type ReplaceShardErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Gives a Lost shard to a new provider, paid from what is left of the deal's escrow. Anyone may call it. */
export async function replaceShard(
  client: StoaActionClient,
  parameters: ReplaceShardParameters,
): Promise<ReplaceShardReturnType> {
  return writeStoaContract(client, {
    address: storageDealsAddress(client),
    abi: storageDealsAbi,
    functionName: 'replaceShard',
    args: [
      dealIdParameter(parameters.dealId),
      parameters.shardIndex,
      parameters.provider,
      parameters.deadline,
      parameters.acceptance,
    ],
    account: resolveAccount(client, parameters.account, 'replaceShard'),
    onProgress: parameters.onProgress,
  })
}
