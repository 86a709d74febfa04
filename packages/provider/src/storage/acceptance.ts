import type { Address, Hex, LocalAccount, TypedDataDomain } from 'viem'

/** EIP-712 type of a provider's acceptance of one deal slot (docs/storage-spec.md section 3). */
export const shardAcceptanceTypes = {
  ShardAcceptance: [
    { name: 'owner', type: 'address' },
    { name: 'dealId', type: 'uint256' },
    { name: 'shardIndex', type: 'uint16' },
    { name: 'root', type: 'bytes32' },
    { name: 'size', type: 'uint64' },
    { name: 'erasureIndex', type: 'uint8' },
    { name: 'pricePerByteSecond', type: 'uint64' },
    { name: 'periodBlocks', type: 'uint32' },
    { name: 'periods', type: 'uint32' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const

export type ShardAcceptanceMessage = {
  owner: Address
  dealId: bigint
  shardIndex: number
  root: Hex
  size: bigint
  erasureIndex: number
  pricePerByteSecond: bigint
  periodBlocks: number
  periods: number
  /** A block timestamp (unix seconds). */
  deadline: bigint
}

/** `{ name: "Stoa StorageDeals", version: "1", chainId, verifyingContract: storageDeals }`. */
export function storageDealsDomain(chainId: number, storageDeals: Address): TypedDataDomain {
  return { name: 'Stoa StorageDeals', version: '1', chainId, verifyingContract: storageDeals }
}

/** The typed data of an acceptance, for signing and for `recoverTypedDataAddress`. */
export function shardAcceptanceTypedData(
  chainId: number,
  storageDeals: Address,
  message: ShardAcceptanceMessage,
) {
  return {
    domain: storageDealsDomain(chainId, storageDeals),
    types: shardAcceptanceTypes,
    primaryType: 'ShardAcceptance' as const,
    message,
  }
}

/** Signs an acceptance with the provider's key. */
export async function signShardAcceptance(
  account: Pick<LocalAccount, 'signTypedData'>,
  chainId: number,
  storageDeals: Address,
  message: ShardAcceptanceMessage,
): Promise<Hex> {
  return await account.signTypedData(shardAcceptanceTypedData(chainId, storageDeals, message))
}
