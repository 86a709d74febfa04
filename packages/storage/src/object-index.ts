import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import { decryptIndexBlob, encryptIndexBlob } from './crypto.ts'
import { rebuildPieces } from './decode.ts'
import { piecesOfSegment } from './encode.ts'
import type { NotEnoughShardsErrorType } from './erasure/errors.ts'
import type { DecryptionFailedErrorType, MalformedIndexErrorType } from './errors.ts'
import { LEAF_SIZE } from './merkle.ts'
import { type ObjectRecord, parseObjectIndex, serializeObjectIndex } from './record.ts'

/**
 * The account's object index (docs/storage-spec.md section 6): JSON, encrypted under
 * `HKDF(master, "index")`, framed, zero-padded to a multiple of `k * LEAF_SIZE` and coded as one
 * segment of `total` pieces of `P = padded / k` bytes.
 */

export type EncodeIndexParameters = { k: number; total: number }

export type EncodeIndexReturnType = {
  /** `uint32be(length) || nonce || ciphertext+tag`, zero-padded to `k * pieceSize`. */
  blob: Uint8Array
  /** P of the index deal. */
  pieceSize: number
  /** One per erasure index 0..total-1 (piece i is shard i of the index deal). */
  pieces: Uint8Array[]
}

export type EncodeIndexErrorType = InvalidParameterErrorType

export function encodeIndex(
  records: readonly ObjectRecord[],
  masterKey: Uint8Array,
  parameters: EncodeIndexParameters,
): EncodeIndexReturnType {
  const { k, total } = parameters
  if (!Array.isArray(records))
    throw new InvalidParameterError('records', 'an array of object records', records)
  const frame = encryptIndexBlob(new TextEncoder().encode(serializeObjectIndex(records)), masterKey)
  const stripe = k * LEAF_SIZE
  const blob = new Uint8Array(Math.ceil(frame.length / stripe) * stripe)
  blob.set(frame)
  return { blob, pieceSize: blob.length / k, pieces: piecesOfSegment(blob, k, total) }
}

export type DecodeIndexInput =
  | Uint8Array
  | { pieces: readonly (Uint8Array | undefined)[]; k: number; total: number }

export type DecodeIndexErrorType =
  | InvalidParameterErrorType
  | NotEnoughShardsErrorType
  | MalformedIndexErrorType
  | DecryptionFailedErrorType

/** The object records from the index blob, or from any `k` of its pieces. */
export function decodeIndex(input: DecodeIndexInput, masterKey: Uint8Array): ObjectRecord[] {
  let blob: Uint8Array
  if (input instanceof Uint8Array) {
    blob = input
  } else {
    const { pieces, k, total } = input
    const data = rebuildPieces({ k, total, pieces, wanted: Array.from({ length: k }, (_, i) => i) })
    const pieceSize = data[0]?.length ?? 0
    blob = new Uint8Array(k * pieceSize)
    for (const [i, piece] of data.entries()) blob.set(piece, i * pieceSize)
  }
  return parseObjectIndex(new TextDecoder('utf-8', { fatal: true }).decode(decryptIndexBlob(blob, masterKey)))
}
