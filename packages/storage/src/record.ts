import { MalformedIndexError, type MalformedIndexErrorType } from './errors.ts'

/**
 * Object records, as the encrypted object index (docs/storage-spec.md section 6) holds them.
 * In memory bytes are `Uint8Array` and the deal id a `bigint`; in JSON bytes are 0x-hex and
 * the deal id a decimal string, so nothing loses precision.
 */

/** What decrypting one segment needs besides the master key and the object id. */
export type SegmentRecord = {
  plainSize: number
  /** The AES-GCM nonce, 12 bytes. */
  nonce: Uint8Array
  /** The segment key wrapped under the master key, 60 bytes. */
  wrappedKey: Uint8Array
  /**
   * Older records only: sha256 of each of the segment's pieces as stored (ciphertext, after
   * erasure coding), 32 bytes per erasure index `0..total-1`, concatenated. A reader checks a piece
   * against it when the segment fails to decrypt. New records leave it out: computing it cost the
   * upload a sha256 pass over every piece, and a reader can check a piece against its Merkle root
   * instead (from its provider, checked against the on-chain root), which it needs only when a
   * segment fails AES-GCM.
   */
  pieceHashes?: Uint8Array | undefined
}

/** One shard of an object's deal. */
export type ShardRecord = {
  /** The shard's slot in the deal. */
  shardIndex: number
  /** Which Reed-Solomon piece index the shard holds (0..total-1). */
  erasureIndex: number
  /** The shard's Merkle root, 32 bytes. */
  root: Uint8Array
  /** The provider holding it. */
  provider: `0x${string}`
}

export type ObjectRecord = {
  name: string
  /** Plaintext bytes. */
  size: number
  /** sha256 of the plaintext, 32 bytes. */
  sha256: Uint8Array
  objectId: Uint8Array
  k: number
  n: number
  total: number
  /** P, the piece size of every segment but the last. */
  pieceSize: number
  segments: SegmentRecord[]
  dealId: bigint
  shards: ShardRecord[]
  /** Unix seconds when it was stored. */
  createdAt?: number | undefined
}

export type ObjectIndex = { version: 1; objects: ObjectRecord[] }

const toHex = (bytes: Uint8Array) =>
  `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`

/** The JSON text of an index (bytes as 0x-hex, bigints as decimal strings). */
export function serializeObjectIndex(objects: readonly ObjectRecord[]): string {
  return JSON.stringify({ version: 1, objects }, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString()
    if (value instanceof Uint8Array) return toHex(value)
    return value
  })
}

export type ParseObjectIndexErrorType = MalformedIndexErrorType

/** The records of an index's JSON text, every field checked. */
export function parseObjectIndex(text: string): ObjectRecord[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new MalformedIndexError('its JSON does not parse', { cause })
  }
  const index = object(json, 'index')
  if (index.version !== 1) throw new MalformedIndexError(`version ${String(index.version)} is not 1`)
  if (!Array.isArray(index.objects)) throw new MalformedIndexError('`objects` is not an array')
  return index.objects.map((value, i) => parseObjectRecord(value, `objects[${i}]`))
}

function parseObjectRecord(value: unknown, at: string): ObjectRecord {
  const o = object(value, at)
  const total = integer(o.total, `${at}.total`)
  const segments = array(o.segments, `${at}.segments`).map((s, i) => {
    const segment = object(s, `${at}.segments[${i}]`)
    const parsed: SegmentRecord = {
      plainSize: integer(segment.plainSize, `${at}.segments[${i}].plainSize`),
      nonce: bytes(segment.nonce, `${at}.segments[${i}].nonce`, 12),
      wrappedKey: bytes(segment.wrappedKey, `${at}.segments[${i}].wrappedKey`, 60),
    }
    if (segment.pieceHashes !== undefined) {
      parsed.pieceHashes = bytes(segment.pieceHashes, `${at}.segments[${i}].pieceHashes`, 32 * total)
    }
    return parsed
  })
  const shards = array(o.shards, `${at}.shards`).map((s, i) => {
    const shard = object(s, `${at}.shards[${i}]`)
    const provider = shard.provider
    if (typeof provider !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(provider)) {
      throw new MalformedIndexError(`${at}.shards[${i}].provider is not an address`)
    }
    return {
      shardIndex: integer(shard.shardIndex, `${at}.shards[${i}].shardIndex`),
      erasureIndex: integer(shard.erasureIndex, `${at}.shards[${i}].erasureIndex`),
      root: bytes(shard.root, `${at}.shards[${i}].root`, 32),
      provider: provider as `0x${string}`,
    }
  })
  if (typeof o.name !== 'string') throw new MalformedIndexError(`${at}.name is not a string`)
  if (typeof o.dealId !== 'string' || !/^\d+$/.test(o.dealId)) {
    throw new MalformedIndexError(`${at}.dealId is not a decimal string`)
  }
  const record: ObjectRecord = {
    name: o.name,
    size: integer(o.size, `${at}.size`),
    sha256: bytes(o.sha256, `${at}.sha256`, 32),
    objectId: bytes(o.objectId, `${at}.objectId`, 32),
    k: integer(o.k, `${at}.k`),
    n: integer(o.n, `${at}.n`),
    total,
    pieceSize: integer(o.pieceSize, `${at}.pieceSize`),
    segments,
    dealId: BigInt(o.dealId),
    shards,
  }
  if (o.createdAt !== undefined) record.createdAt = integer(o.createdAt, `${at}.createdAt`)
  return record
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedIndexError(`${at} is not an object`)
  }
  return value as Record<string, unknown>
}

function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedIndexError(`${at} is not an array`)
  return value
}

function integer(value: unknown, at: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new MalformedIndexError(`${at} is not a non-negative integer`)
  }
  return value as number
}

function bytes(value: unknown, at: string, size: number): Uint8Array {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value) || value.length !== 2 + 2 * size) {
    throw new MalformedIndexError(`${at} is not ${size} bytes of 0x-hex`)
  }
  return new Uint8Array(Buffer.from(value.slice(2), 'hex'))
}

/** The recorded sha256 of a segment's piece at `erasureIndex`, when the record has them. */
export function pieceHashOf(segment: SegmentRecord, erasureIndex: number): Uint8Array | undefined {
  const hashes = segment.pieceHashes
  if (hashes === undefined || (erasureIndex + 1) * 32 > hashes.length) return undefined
  return hashes.subarray(erasureIndex * 32, (erasureIndex + 1) * 32)
}
