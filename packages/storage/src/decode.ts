import { createDecipheriv } from 'node:crypto'
import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import { createContentHasher } from './content-hash.ts'
import { segmentAad, unwrapSegmentKey } from './crypto.ts'
import { erasureCoderFor } from './encode.ts'
import { NotEnoughShardsError, type NotEnoughShardsErrorType } from './erasure/errors.ts'
import {
  ContentHashMismatchError,
  type ContentHashMismatchErrorType,
  DecryptionFailedError,
  type DecryptionFailedErrorType,
} from './errors.ts'
import { GCM_TAG_SIZE } from './layout.ts'
import { LEAF_SIZE } from './merkle.ts'
import type { ObjectRecord, SegmentRecord } from './record.ts'

/** Bytes decrypted per decipher call. */
const DECIPHER_STEP = 1024 * 1024
/** Objects from this size on have their content hashed on a worker thread (createContentHasher). */
const THREADED_HASH_BYTES = 16 * 1024 * 1024

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')

/** The piece size of a segment with `plainSize` bytes of plaintext coded over `k` data pieces. */
export function segmentPieceSize(plainSize: number, k: number): number {
  const stripe = k * LEAF_SIZE
  return (Math.ceil((plainSize + GCM_TAG_SIZE) / stripe) * stripe) / k
}

function checkPieces(
  pieces: readonly (Uint8Array | undefined)[],
  k: number,
  total: number,
  pieceSize?: number,
) {
  if (!Array.isArray(pieces) || pieces.length !== total) {
    throw new InvalidParameterError(
      'pieces',
      `an array of ${total} entries (undefined where missing)`,
      pieces,
    )
  }
  let present = 0
  for (const [i, piece] of pieces.entries()) {
    if (piece === undefined) continue
    if (!(piece instanceof Uint8Array) || (pieceSize !== undefined && piece.length !== pieceSize)) {
      throw new InvalidParameterError(`pieces[${i}]`, `${pieceSize ?? 'equally long'} bytes`, piece)
    }
    present++
  }
  if (present < k) throw new NotEnoughShardsError({ available: present, needed: k, total })
}

export type RebuildPiecesParameters = {
  k: number
  total: number
  /** One entry per erasure index, `undefined` where missing; at least `k` present, all equally long. */
  pieces: readonly (Uint8Array | undefined)[]
  /** The erasure indices to rebuild. */
  wanted: readonly number[]
}

export type RebuildPiecesErrorType = InvalidParameterErrorType | NotEnoughShardsErrorType

/**
 * The pieces of the `wanted` erasure indices (in that order), rebuilt from any `k` pieces of one
 * segment: byte for byte the ones the encoder made, so a repaired shard has the lost one's root.
 * Needs no key (pieces are ciphertext).
 */
export function rebuildPieces(parameters: RebuildPiecesParameters): Uint8Array[] {
  const { k, total, pieces, wanted } = parameters
  const coder = erasureCoderFor(k, total)
  checkPieces(pieces, k, total)
  for (const index of wanted) {
    if (!Number.isInteger(index) || index < 0 || index >= total) {
      throw new InvalidParameterError('wanted', `erasure indices from 0 to ${total - 1}`, index)
    }
  }
  const missing = wanted.filter((index) => pieces[index] === undefined)
  const shards = [...pieces]
  if (missing.length > 0) {
    if (coder === undefined) {
      throw new NotEnoughShardsError({ available: pieces.filter(Boolean).length, needed: total, total })
    }
    coder.reconstruct(shards, missing)
  }
  return wanted.map((index) => shards[index] as Uint8Array)
}

export type DecodeSegmentParameters = {
  /** One entry per erasure index (0..total-1), `undefined` where missing; any `k` suffice. */
  pieces: readonly (Uint8Array | undefined)[]
  segmentIndex: number
  record: SegmentRecord
  objectId: Uint8Array
  masterKey: Uint8Array
  k: number
  total: number
}

export type DecodeSegmentErrorType =
  | InvalidParameterErrorType
  | NotEnoughShardsErrorType
  | DecryptionFailedErrorType

/** One segment's plaintext from any `k` of its pieces: RS decode, strip padding, decrypt and verify. */
export function decodeSegment(parameters: DecodeSegmentParameters): Uint8Array {
  const parts = decodeSegmentParts(parameters)
  return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)
}

/** What decrypting a segment takes: its `k` data pieces (rebuilt where missing), its GCM tag and key. */
export type PreparedSegment = {
  /** The `k` data pieces, in order: the ciphertext, then the tag, then zero padding. */
  data: Uint8Array[]
  pieceSize: number
  plainSize: number
  tag: Uint8Array
  /** The unwrapped segment key: the caller zeroes it when done. */
  key: Uint8Array
}

/**
 * A segment's data pieces from any `k` of its pieces (Reed-Solomon where data pieces are missing),
 * the GCM tag taken from where it lies in them, and the segment key unwrapped: all of decoding a
 * segment but the decryption (decodeSegment; createPlaintextFileWriter's worker).
 */
export function prepareSegment(parameters: DecodeSegmentParameters): PreparedSegment {
  const { pieces, segmentIndex, record, masterKey, k, total } = parameters
  const pieceSize = segmentPieceSize(record.plainSize, k)
  checkPieces(pieces, k, total, pieceSize)
  const dataIndices = Array.from({ length: k }, (_, i) => i)
  const data = rebuildPieces({ k, total, pieces, wanted: dataIndices })
  const plainSize = record.plainSize
  const tag = new Uint8Array(GCM_TAG_SIZE)
  for (const [i, piece] of data.entries()) {
    const start = i * pieceSize
    const from = Math.max(plainSize, start)
    const to = Math.min(plainSize + GCM_TAG_SIZE, start + pieceSize)
    if (from < to) tag.set(piece.subarray(from - start, to - start), from - plainSize)
  }
  const key = unwrapSegmentKey(record.wrappedKey, masterKey, segmentIndex)
  return { data, pieceSize, plainSize, tag, key }
}

/**
 * decodeSegment's plaintext as the decipher gives it, in parts of about `DECIPHER_STEP` bytes:
 * returned only once the whole segment is authenticated, and never copied into one buffer (a
 * download writes the parts as they are).
 */
function decodeSegmentParts(parameters: DecodeSegmentParameters): Uint8Array[] {
  const { segmentIndex, objectId, record } = parameters
  const { data, pieceSize, plainSize, tag, key } = prepareSegment(parameters)
  const parts: Uint8Array[] = []
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, record.nonce)
    decipher.setAuthTag(tag)
    decipher.setAAD(segmentAad(objectId, segmentIndex))
    for (const [i, piece] of data.entries()) {
      const start = i * pieceSize
      const end = Math.min(start + pieceSize, plainSize)
      for (let at = start; at < end; at += DECIPHER_STEP) {
        const out = decipher.update(piece.subarray(at - start, Math.min(at + DECIPHER_STEP, end) - start))
        if (out.length > 0) parts.push(out)
      }
    }
    const rest = decipher.final()
    if (rest.length > 0) parts.push(rest)
  } catch (cause) {
    for (const part of parts) part.fill(0)
    throw new DecryptionFailedError({ what: 'segment', segmentIndex, cause })
  } finally {
    key.fill(0)
  }
  return parts.length > 0 ? parts : [new Uint8Array(0)]
}

export type SegmentPieces = {
  segmentIndex: number
  /** One entry per erasure index, `undefined` where missing. */
  pieces: readonly (Uint8Array | undefined)[]
}

export type DecodeObjectParameters = {
  /** The object's record (k, total, objectId, segments, sha256, size). */
  object: Pick<ObjectRecord, 'k' | 'total' | 'objectId' | 'segments' | 'sha256' | 'size'>
  masterKey: Uint8Array
  /** Every segment's pieces, in segment order. */
  segments: AsyncIterable<SegmentPieces> | Iterable<SegmentPieces>
  /**
   * Called once when a segment's pieces fail to decrypt: other pieces for it (say, after checking
   * each piece and fetching replacements of bad ones), or `undefined` when there are none, and
   * then the `DecryptionFailedError` stands. Lets a reader skip checking pieces that decrypt.
   */
  retrySegment?:
    | ((
        segmentIndex: number,
        pieces: readonly (Uint8Array | undefined)[],
        error: DecryptionFailedError,
      ) => Promise<readonly (Uint8Array | undefined)[] | undefined>)
    | undefined
  /**
   * Also hash the plaintext and compare it with the record's `sha256` at the end (default true).
   * Not needed for integrity: AES-GCM authenticates every segment under its own key, bound to the
   * object and its place by the additional data, and the record fixes how many segments there are.
   * A reader that trusts that (getObject by default) passes false and saves a sha256 pass (about
   * 0.65 s of CPU per GiB here). The size is checked either way.
   */
  verifyContentHash?: boolean | undefined
  signal?: AbortSignal | undefined
}

export type DecodeObjectErrorType = DecodeSegmentErrorType | ContentHashMismatchErrorType

/**
 * The object's plaintext in order, a segment at a time (each in parts of about 1 MiB, yielded once
 * the whole segment is authenticated). After the last segment, the size and (unless
 * `verifyContentHash` is false) the content hash are checked against the record
 * (`ContentHashMismatchError`), so a consumer must not treat the output as good before the
 * iteration ends without error.
 */
export async function* decodeObject(parameters: DecodeObjectParameters): AsyncGenerator<Uint8Array> {
  const { object, masterKey, signal } = parameters
  // Hashed beside the decoding on a worker thread for a large object (see createContentHasher).
  const contentHash =
    parameters.verifyContentHash === false
      ? undefined
      : createContentHasher({ thread: object.size >= THREADED_HASH_BYTES })
  let expected = 0
  let size = 0
  try {
    for await (const { segmentIndex, pieces } of parameters.segments) {
      signal?.throwIfAborted()
      if (segmentIndex !== expected || segmentIndex >= object.segments.length) {
        throw new InvalidParameterError(
          'segmentIndex',
          `segment ${expected} (segments in order)`,
          segmentIndex,
        )
      }
      const record = object.segments[segmentIndex] as SegmentRecord
      const decode = (from: readonly (Uint8Array | undefined)[]) =>
        decodeSegmentParts({
          pieces: from,
          segmentIndex,
          record,
          objectId: object.objectId,
          masterKey,
          k: object.k,
          total: object.total,
        })
      let parts: Uint8Array[]
      try {
        parts = decode(pieces)
      } catch (error) {
        if (!(error instanceof DecryptionFailedError) || !parameters.retrySegment) throw error
        const other = await parameters.retrySegment(segmentIndex, pieces, error)
        if (other === undefined) throw error
        signal?.throwIfAborted()
        parts = decode(other)
      }
      expected++
      for (const part of parts) {
        await contentHash?.update(part)
        size += part.length
        yield part
      }
    }
    if (expected !== object.segments.length) {
      throw new InvalidParameterError('segments', `all ${object.segments.length} segments`, `${expected}`)
    }
    if (size !== object.size) {
      throw new InvalidParameterError(
        'object',
        `a record whose segments hold its ${object.size} bytes`,
        `${size} bytes`,
      )
    }
    if (contentHash) {
      const actual = hex(await contentHash.digest())
      if (actual !== hex(object.sha256)) {
        throw new ContentHashMismatchError({ expected: hex(object.sha256), actual })
      }
    }
  } finally {
    contentHash?.close()
  }
}
