import { BaseError, signGatewayRequest, storageDealsAbi } from '@stoa/protocol'
import { getProvider, type StoaActionClient } from '@stoa/sdk/browser'
import { type Address, hexToBytes } from 'viem'
import { readContract } from 'viem/actions'
import type { TenantSession } from './account.ts'
import { decodeDataPieces } from './erasure.ts'

/**
 * The tenant's object names, read in the browser: the encrypted object index
 * (docs/storage-spec.md section 6) is a deal of its own that `StorageDeals.indexOf(owner)` points
 * to. Its k data pieces (erasure indices 0..k-1: the code is systematic) are fetched from their
 * providers' gateways (signed `GET /v1/storage/shards/:root`, which the deal's owner may read) and
 * put end to end (rebuilt from parity pieces when a data piece is missing: erasure.ts), which
 * gives the framed blob `uint32be(length) || nonce || AES-256-GCM(...)`.
 * The key is `HKDF-SHA256(master, salt "stoa/storage/v1", info "index")`, the master key
 * `HKDF-SHA256(signature, same salt, info "master")` over the account's EIP-191 signature of
 * `Stoa storage master key v1`: the same derivation as @stoa/storage, done with WebCrypto. GCM's
 * tag authenticates the whole index, so a shard altered in transit fails the decryption.
 * Pieces are not checked against their Merkle roots one by one: the tag covers the result.
 */

/** The fixed text whose signature derives the storage master key (@stoa/storage `masterKeyMessage`). */
export const MASTER_KEY_MESSAGE = 'Stoa storage master key v1'
const HKDF_SALT = 'stoa/storage/v1'
const NONCE_SIZE = 12
const TAG_SIZE = 16

export type StoredObject = {
  name: string
  size: number
  dealId: bigint
  createdAt: number | undefined
  sha256: string
}

export type ObjectIndexErrorType = ObjectIndexError & { name: 'ObjectIndexError' }

export class ObjectIndexError extends BaseError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, {
      name: 'ObjectIndexError',
      cause: options.cause,
      ...(options.hint ? { metaMessages: [options.hint] } : {}),
    })
  }
}

export async function listStoredObjects(parameters: {
  session: TenantSession
  /** Reads (the console's RPC). */
  client: StoaActionClient
  signal?: AbortSignal | undefined
}): Promise<{ indexDealId: bigint; objects: StoredObject[] }> {
  const { session, client, signal } = parameters
  const { storageDeals, market } = client.deployment.contracts
  const dealId = await readContract(client, {
    address: storageDeals,
    abi: storageDealsAbi,
    functionName: 'indexOf',
    args: [session.address],
  })
  if (dealId === 0n) return { indexDealId: 0n, objects: [] }
  const deal = await readContract(client, {
    address: storageDeals,
    abi: storageDealsAbi,
    functionName: 'getDeal',
    args: [dealId],
  })
  const shards = await Promise.all(
    Array.from({ length: deal.shardCount }, (_, index) =>
      readContract(client, {
        address: storageDeals,
        abi: storageDealsAbi,
        functionName: 'getShard',
        args: [dealId, index],
      }),
    ),
  )
  // Shard state 1 = Active, 3 = Ended (its provider may still hold it). Data pieces first: with
  // all of them no decoding is needed.
  const candidates = shards
    .filter((shard) => shard.state === 1 || shard.state === 3)
    .sort((a, b) => a.erasureIndex - b.erasureIndex)
  if (candidates.length < deal.k) {
    throw new ObjectIndexError(
      `Only ${candidates.length} shards of the index (deal ${dealId}) are held; ${deal.k} are needed.`,
      { hint: 'The deal awaits repair: `stoa repair`.' },
    )
  }

  const signature = await session.signMessage(MASTER_KEY_MESSAGE)
  const masterKey = await hkdf(new Uint8Array(hexToBytes(signature)), 'master')
  const indexKey = await hkdf(masterKey, 'index')

  const pieces = new Map<number, Uint8Array>()
  const failures: unknown[] = []
  let next = 0
  while (pieces.size < deal.k && next < candidates.length) {
    const batch = candidates.slice(next, next + deal.k - pieces.size)
    next += batch.length
    const fetched = await Promise.allSettled(
      batch.map(async (shard) => {
        const record = await getProvider(client, { provider: shard.provider })
        if (!record?.gatewayUrl)
          throw new ObjectIndexError(`Provider ${shard.provider} has no gateway on record.`)
        const url = record.gatewayUrl
        return fetchShard({
          session,
          gatewayUrl: url,
          root: shard.root,
          chainId: client.deployment.chainId,
          market,
          signal,
        })
      }),
    )
    fetched.forEach((result, index) => {
      if (result.status === 'fulfilled')
        pieces.set((batch[index] as (typeof batch)[number]).erasureIndex, result.value)
      else failures.push(result.reason)
    })
  }
  signal?.throwIfAborted()
  if (pieces.size < deal.k) {
    throw new ObjectIndexError(`Only ${pieces.size} of the ${deal.k} index pieces needed could be fetched.`, {
      cause: failures[0],
    })
  }
  const parts = decodeDataPieces(deal.k, pieces)
  const blob = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    blob.set(part, offset)
    offset += part.length
  }
  const length = new DataView(blob.buffer).getUint32(0)
  if (length < NONCE_SIZE + TAG_SIZE || 4 + length > blob.length) {
    throw new ObjectIndexError(`The index of deal ${dealId} is malformed (its frame says ${length} bytes).`)
  }
  let plaintext: ArrayBuffer
  try {
    const key = await crypto.subtle.importKey('raw', indexKey, 'AES-GCM', false, ['decrypt'])
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: blob.slice(4, 4 + NONCE_SIZE) },
      key,
      blob.slice(4 + NONCE_SIZE, 4 + length),
    )
  } catch (error) {
    throw new ObjectIndexError(`The index of deal ${dealId} does not decrypt with this account's key.`, {
      cause: error,
    })
  }
  return { indexDealId: dealId, objects: parseIndex(new TextDecoder().decode(plaintext)) }
}

async function hkdf(ikm: Uint8Array<ArrayBuffer>, info: string): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new TextEncoder().encode(HKDF_SALT),
      info: new TextEncoder().encode(info),
    },
    key,
    256,
  )
  return new Uint8Array(bits)
}

async function fetchShard(parameters: {
  session: TenantSession
  gatewayUrl: string
  root: `0x${string}`
  chainId: number
  market: Address
  signal: AbortSignal | undefined
}): Promise<Uint8Array> {
  const url = new URL(`${parameters.gatewayUrl.replace(/\/+$/, '')}/v1/storage/shards/${parameters.root}`)
  const headers = await signGatewayRequest({
    account: parameters.session.signer,
    chainId: parameters.chainId,
    market: parameters.market,
    method: 'GET',
    path: `${url.pathname}${url.search}`,
    leaseId: 0n,
  })
  let response: Response
  try {
    response = await fetch(url, {
      headers: { ...headers },
      ...(parameters.signal ? { signal: parameters.signal } : {}),
    })
  } catch (error) {
    throw new ObjectIndexError(`Could not reach ${url.origin} for an index shard.`, { cause: error })
  }
  if (!response.ok) {
    throw new ObjectIndexError(`${url.origin} answered HTTP ${response.status} for an index shard.`)
  }
  return new Uint8Array(await response.arrayBuffer())
}

function parseIndex(text: string): StoredObject[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ObjectIndexError('The decrypted index is not JSON.', { cause: error })
  }
  const objects = (json as { objects?: unknown })?.objects
  if (!Array.isArray(objects)) throw new ObjectIndexError('The decrypted index has no object list.')
  return objects.map((entry: unknown) => {
    const record = (entry ?? {}) as Record<string, unknown>
    return {
      name: String(record.name ?? ''),
      size: Number(record.size ?? 0),
      dealId: typeof record.dealId === 'string' && /^\d+$/.test(record.dealId) ? BigInt(record.dealId) : 0n,
      createdAt: typeof record.createdAt === 'number' ? record.createdAt : undefined,
      sha256: typeof record.sha256 === 'string' ? record.sha256 : '',
    }
  })
}
