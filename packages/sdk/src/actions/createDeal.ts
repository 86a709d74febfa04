import { type InvalidParameterErrorType, type StoaContractErrorType, storageDealsAbi } from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { eventLogs } from '../internal/logs.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import { storageDealsAddress } from '../storage/deals.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

/** The terms of a deal, as `StorageDeals.createDeal` takes them. */
export type DealTerms = {
  k: number
  pieceSize: number
  /** 1e-18 credit units per byte per second. */
  pricePerByteSecond: bigint
  periods: number
  /** Block timestamp after which the acceptances are void (they sign it). */
  deadline: bigint
}

/** One shard of a new deal: who holds it and what it is. */
export type ShardSpec = { provider: Address; root: Hex; size: number; erasureIndex: number }

export type CreateDealParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    terms: DealTerms
    shards: readonly ShardSpec[]
    /** Each provider's EIP-712 `ShardAcceptance`, in shard order. */
    acceptances: readonly Hex[]
  }

export type CreateDealReturnType = WriteReturnType & { dealId: bigint }

export type CreateDealErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Opens a storage deal: escrows every shard's payment for every period from the caller's credits
 * and records the shards. Each provider must have signed its acceptance for the id the deal gets
 * (`nextDealId`), the contract's current `periodBlocks` and the terms' `deadline`.
 */
export async function createDeal(
  client: StoaActionClient,
  parameters: CreateDealParameters,
): Promise<CreateDealReturnType> {
  const account = resolveAccount(client, parameters.account, 'createDeal')
  const address = storageDealsAddress(client)
  const { terms } = parameters
  const result = await writeStoaContract(client, {
    address,
    abi: storageDealsAbi,
    functionName: 'createDeal',
    args: [
      {
        k: terms.k,
        pieceSize: terms.pieceSize,
        pricePerByteSecond: terms.pricePerByteSecond,
        periods: terms.periods,
        deadline: terms.deadline,
      },
      parameters.shards.map((shard) => ({
        provider: shard.provider,
        root: shard.root,
        size: BigInt(shard.size),
        erasureIndex: shard.erasureIndex,
      })),
      [...parameters.acceptances],
    ],
    account,
    onProgress: parameters.onProgress,
  })
  const [created] = eventLogs(result.receipt, storageDealsAbi, address, 'DealCreated')
  return { ...result, dealId: created?.args.dealId ?? 0n }
}
