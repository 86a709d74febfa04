import { createHash } from 'node:crypto'
import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import {
  createSegmentCipher,
  OBJECT_ID_SIZE,
  randomSegmentSecrets,
  unwrapSegmentKey,
  wrapSegmentKey,
} from './crypto.ts'
import { createErasureCoder, type ErasureCoder, MAX_SHARDS } from './erasure/coder.ts'
import { SourceSizeMismatchError, type SourceSizeMismatchErrorType } from './errors.ts'
import { GCM_TAG_SIZE, planSegments, type SegmentPlan, segmentAt } from './layout.ts'
import {
  createMerkleBuilder,
  LEAF_SIZE,
  type MerkleBuilder,
  NODE_SIZE,
  pieceLevel,
  treeHeight,
} from './merkle.ts'
import type { SegmentRecord } from './record.ts'

const coders = new Map<string, ErasureCoder>()
/** Bytes encrypted per cipher call (each call returns a fresh buffer of its output). */
const CIPHER_STEP = 1024 * 1024

/** A `k`-of-`total` coder (cached); `undefined` when there is no parity (`total = k`). */
export function erasureCoderFor(k: number, total: number): ErasureCoder | undefined {
  if (!Number.isInteger(k) || !Number.isInteger(total) || k < 1 || total < k || total > MAX_SHARDS) {
    throw new InvalidParameterError('total', `an integer from k = ${k} to ${MAX_SHARDS}`, total)
  }
  if (total === k) return undefined
  const key = `${k}/${total}`
  let coder = coders.get(key)
  if (coder === undefined) {
    coder = createErasureCoder({ k, m: total - k })
    coders.set(key, coder)
  }
  return coder
}

/** The `total` pieces of one padded segment (`k * pieceSize` bytes): data pieces are views of it. */
export function piecesOfSegment(padded: Uint8Array, k: number, total: number): Uint8Array[] {
  if (padded.length % (k * LEAF_SIZE) !== 0) {
    throw new InvalidParameterError('padded', `a multiple of k * ${LEAF_SIZE} bytes`, padded)
  }
  const pieceSize = padded.length / k
  const data = Array.from({ length: k }, (_, i) => padded.subarray(i * pieceSize, (i + 1) * pieceSize))
  const coder = erasureCoderFor(k, total)
  return coder ? [...data, ...coder.encode(data)] : data
}

export type EncodedSegment = {
  segmentIndex: number
  /** One piece per erasure index 0..total-1; all `pieceSize` bytes (the last segment's shorter). */
  pieces: Uint8Array[]
  record: SegmentRecord
}

export type EncodeObjectParameters = {
  /** The file's bytes, in any chunking (a Node `Readable` is an AsyncIterable). */
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  /** Its size in bytes; the stream must have exactly this many. */
  size: number | bigint
  k: number
  total: number
  objectId: Uint8Array
  masterKey: Uint8Array
  /** P; defaults to `choosePieceSize(k)` (tests pass small ones). */
  pieceSize?: number | undefined
  signal?: AbortSignal | undefined
}

export type EncodeObjectResult = {
  /** sha256 of the plaintext. */
  sha256: Uint8Array
  size: number
  segments: SegmentRecord[]
}

export type ObjectEncoding = AsyncIterable<EncodedSegment> & {
  readonly plan: SegmentPlan
  /** After the segments were all consumed: the content hash and the segment records. */
  result(): EncodeObjectResult
}

export type EncodeObjectReturnType = ObjectEncoding
export type EncodeObjectErrorType = InvalidParameterErrorType | SourceSizeMismatchErrorType

/**
 * Encrypts and erasure-codes an object one segment at a time, as its bytes stream in: memory is
 * one segment (`k * P`) and its parity, whatever the file's size. Each segment's pieces are
 * fresh buffers, so a consumer may keep them.
 *
 * ```ts
 * const encoding = encodeObject({ source: createReadStream(path), size, k: 4, total: 6, objectId, masterKey })
 * for await (const { segmentIndex, pieces, record } of encoding) upload(pieces)
 * const { sha256, segments } = encoding.result()
 * ```
 */
export function encodeObject(parameters: EncodeObjectParameters): EncodeObjectReturnType {
  const { source, k, total, objectId, masterKey, signal } = parameters
  const plan = planSegments({ size: parameters.size, k, pieceSize: parameters.pieceSize })
  erasureCoderFor(k, total)
  if (!(objectId instanceof Uint8Array) || objectId.length !== OBJECT_ID_SIZE) {
    throw new InvalidParameterError('objectId', `${OBJECT_ID_SIZE} bytes`, objectId)
  }
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== 32) {
    throw new InvalidParameterError('masterKey', '32 bytes', masterKey)
  }
  let result: EncodeObjectResult | undefined
  let started = false

  async function* segments(): AsyncGenerator<EncodedSegment> {
    if (started)
      throw new InvalidParameterError('encoding', 'an encoding iterated once', 'a second iteration')
    started = true
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<Uint8Array>)[Symbol.iterator]()
    const contentHash = createHash('sha256')
    const records: SegmentRecord[] = []
    let chunk: Uint8Array = new Uint8Array(0)
    let chunkOffset = 0
    let read = 0
    const nextChunk = async (): Promise<boolean> => {
      for (;;) {
        const next = await iterator.next()
        if (next.done) return false
        if (!(next.value instanceof Uint8Array))
          throw new InvalidParameterError('source', 'chunks of bytes', next.value)
        if (next.value.length === 0) continue
        chunk = next.value
        chunkOffset = 0
        return true
      }
    }
    try {
      for (let index = 0; index < plan.segmentCount; index++) {
        signal?.throwIfAborted()
        const layout = segmentAt(plan, index)
        const padded = new Uint8Array(layout.paddedSize)
        const { key, nonce } = randomSegmentSecrets()
        const cipher = createSegmentCipher({ key, nonce, objectId, segmentIndex: index, output: padded })
        let needed = layout.plainSize
        while (needed > 0) {
          if (chunkOffset === chunk.length && !(await nextChunk())) {
            throw new SourceSizeMismatchError({ expected: plan.size, actual: read })
          }
          const taken = Math.min(needed, chunk.length - chunkOffset)
          const part = chunk.subarray(chunkOffset, chunkOffset + taken)
          cipher.update(part)
          contentHash.update(part)
          chunkOffset += taken
          needed -= taken
          read += taken
        }
        cipher.final()
        const pieces = piecesOfSegment(padded, k, total)
        const record = {
          plainSize: layout.plainSize,
          nonce,
          wrappedKey: wrapSegmentKey(key, masterKey),
        }
        key.fill(0)
        records.push(record)
        yield { segmentIndex: index, pieces, record }
      }
      if (chunkOffset < chunk.length || (await nextChunk())) {
        throw new SourceSizeMismatchError({ expected: plan.size, actual: plan.size, atLeast: true })
      }
      result = { sha256: new Uint8Array(contentHash.digest()), size: plan.size, segments: records }
    } finally {
      if (result === undefined) await iterator.return?.()
    }
  }

  return {
    plan,
    [Symbol.asyncIterator]: segments,
    result() {
      if (result === undefined) {
        throw new InvalidParameterError(
          'encoding',
          'an encoding whose segments were all consumed',
          'one in progress',
        )
      }
      return result
    },
  }
}

export type EncodeSegmentParameters = {
  /** The segment's plaintext (its `plainSize` bytes). */
  plaintext: Uint8Array
  segmentIndex: number
  /** The record the first encoding made (its nonce and wrapped key are reused). */
  record: SegmentRecord
  objectId: Uint8Array
  masterKey: Uint8Array
  k: number
  total: number
}

export type EncodeSegmentErrorType = InvalidParameterErrorType

/**
 * The same pieces `encodeObject` made for one segment, from its plaintext and record (to resume
 * or retry an upload): the same key and nonce give the same ciphertext, hence the same roots.
 */
export function encodeSegment(parameters: EncodeSegmentParameters): Uint8Array[] {
  const { plaintext, segmentIndex, record, objectId, masterKey, k, total } = parameters
  if (!(plaintext instanceof Uint8Array) || plaintext.length !== record.plainSize) {
    throw new InvalidParameterError('plaintext', `the segment's ${record.plainSize} bytes`, plaintext)
  }
  const coder = erasureCoderFor(k, total)
  const stripe = k * LEAF_SIZE
  const padded = segmentBuffer(Math.ceil((plaintext.length + GCM_TAG_SIZE) / stripe) * stripe)
  // A recycled buffer's padding is zeroed (the cipher writes the rest).
  padded.fill(0, plaintext.length + GCM_TAG_SIZE)
  const key = unwrapSegmentKey(record.wrappedKey, masterKey, segmentIndex)
  const cipher = createSegmentCipher({ key, nonce: record.nonce, objectId, segmentIndex, output: padded })
  // In steps: one call would make a second, temporary copy of the whole ciphertext.
  for (let at = 0; at < plaintext.length; at += CIPHER_STEP) {
    cipher.update(plaintext.subarray(at, Math.min(at + CIPHER_STEP, plaintext.length)))
  }
  cipher.final()
  key.fill(0)
  const pieceSize = padded.length / k
  const data = Array.from({ length: k }, (_, i) => padded.subarray(i * pieceSize, (i + 1) * pieceSize))
  if (coder === undefined) return data
  const parity = Array.from({ length: total - k }, () => segmentBuffer(pieceSize))
  return [...data, ...coder.encode(data, parity)]
}

// Buffers `encodeSegment` made, and those handed back with `recycleSegmentPieces` for its next
// calls (held weakly: the garbage collector may still take them while they wait).
const madeBuffers = new WeakSet<ArrayBufferLike>()
const spareBuffers = new Map<number, WeakRef<ArrayBuffer>[]>()
const SPARES_PER_SIZE = 8

function segmentBuffer(length: number): Uint8Array {
  const spares = spareBuffers.get(length)
  while (spares && spares.length > 0) {
    const buffer = spares.pop()?.deref()
    if (buffer === undefined) continue
    madeBuffers.add(buffer)
    return new Uint8Array(buffer)
  }
  const bytes = new Uint8Array(length)
  madeBuffers.add(bytes.buffer)
  return bytes
}

/**
 * Hands back the memory of pieces `encodeSegment` made, for its next calls to reuse instead of
 * allocating (a segment is tens of MiB, which the garbage collector may be slow to free). Only
 * once nothing reads or sends those pieces any more: they will be overwritten. Pieces from
 * elsewhere are ignored.
 */
export function recycleSegmentPieces(pieces: readonly Uint8Array[]): void {
  for (const piece of pieces) {
    const buffer = piece.buffer
    if (!madeBuffers.has(buffer) || !(buffer instanceof ArrayBuffer)) continue
    madeBuffers.delete(buffer)
    let spares = spareBuffers.get(buffer.byteLength)
    if (spares === undefined) {
      spares = []
      spareBuffers.set(buffer.byteLength, spares)
    }
    if (spares.length < SPARES_PER_SIZE) spares.push(new WeakRef(buffer))
  }
}

export type ShardTree = {
  erasureIndex: number
  root: Uint8Array
  /** Shard bytes. */
  size: number
  leafCount: number
  /** The roots of the shard's pieces (its nodes at level `pieceLevel(P)`), one per segment. */
  pieceRoots: Uint8Array[]
  /** Kept levels (those `>= keepLevelsFrom`), as `createMerkleBuilder` gives them. */
  levels: Map<number, Uint8Array>
}

export type ShardTreeBuilders = {
  /** Feeds one segment's pieces (one per erasure index), in segment order. */
  update(pieces: readonly Uint8Array[]): void
  finish(): ShardTree[]
}

export type CreateShardTreeBuildersParameters = {
  total: number
  /** P. */
  pieceSize: number
  /** Also keep these levels and up (a provider keeps 6); the piece level is kept regardless. */
  keepLevelsFrom?: number | undefined
}

/** One Merkle builder per shard, fed that shard's piece of every segment: roots and piece roots at the end. */
export function createShardTreeBuilders(parameters: CreateShardTreeBuildersParameters): ShardTreeBuilders {
  const { total, pieceSize } = parameters
  if (!Number.isInteger(total) || total < 1 || total > MAX_SHARDS) {
    throw new InvalidParameterError('total', `an integer from 1 to ${MAX_SHARDS}`, total)
  }
  const level = pieceLevel(pieceSize)
  const keepFrom = Math.min(level, parameters.keepLevelsFrom ?? level)
  const builders: MerkleBuilder[] = Array.from({ length: total }, () =>
    createMerkleBuilder({ keepLevelsFrom: keepFrom }),
  )
  return {
    update(pieces) {
      if (pieces.length !== total) throw new InvalidParameterError('pieces', `${total} pieces`, pieces)
      for (const [i, builder] of builders.entries()) builder.update(pieces[i] as Uint8Array)
    },
    finish() {
      return builders.map((builder, erasureIndex) => {
        const tree = builder.finish()
        // A one-segment shard shorter than P has no node at the piece level: its root is the piece root.
        const nodes = treeHeight(tree.leafCount) < level ? tree.root : (tree.levels.get(level) as Uint8Array)
        const pieceRoots = Array.from({ length: nodes.length / NODE_SIZE }, (_, j) =>
          nodes.slice(j * NODE_SIZE, (j + 1) * NODE_SIZE),
        )
        const levels = new Map(
          [...tree.levels].filter(
            ([l]) => parameters.keepLevelsFrom !== undefined && l >= parameters.keepLevelsFrom,
          ),
        )
        return {
          erasureIndex,
          root: tree.root,
          size: tree.size,
          leafCount: tree.leafCount,
          pieceRoots,
          levels,
        }
      })
    },
  }
}
