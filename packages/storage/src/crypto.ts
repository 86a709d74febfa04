import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import {
  DecryptionFailedError,
  type DecryptionFailedErrorType,
  MalformedIndexError,
  type MalformedIndexErrorType,
} from './errors.ts'
import { GCM_TAG_SIZE } from './layout.ts'

/**
 * The storage pipeline's cryptography (docs/storage-spec.md sections 1 and 6): AES-256-GCM per
 * segment under a fresh key, segment keys wrapped under the account's master key, and the
 * encrypted object index.
 */

export const KEY_SIZE = 32
export const NONCE_SIZE = 12
/** `nonce' (12) || AES-256-GCM(master, nonce', key) (32 + 16)`. */
export const WRAPPED_KEY_SIZE = NONCE_SIZE + KEY_SIZE + GCM_TAG_SIZE
export const OBJECT_ID_SIZE = 32

/** The fixed text whose EIP-191 signature (`personal_sign`) is the master key's input. */
export const masterKeyMessage = 'Stoa storage master key v1'

const HKDF_SALT = 'stoa/storage/v1'

type Bytes = Uint8Array

function hexToBytes(value: string, field: string): Bytes {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(value))
    throw new InvalidParameterError(field, 'a 0x-prefixed hex string', value)
  return new Uint8Array(Buffer.from(value.slice(2), 'hex'))
}

function checkBytes(value: unknown, size: number, field: string): asserts value is Bytes {
  if (!(value instanceof Uint8Array) || value.length !== size) {
    throw new InvalidParameterError(field, `${size} bytes`, value)
  }
}

function hkdf(ikm: Bytes, info: string): Bytes {
  return new Uint8Array(hkdfSync('sha256', ikm, HKDF_SALT, info, KEY_SIZE))
}

export type DeriveMasterKeyParameters =
  /** The account's EIP-191 signature of `masterKeyMessage` (65 bytes, hex or bytes). */
  | { signature: `0x${string}` | Uint8Array }
  /** A user secret instead (a passphrase is taken as its UTF-8 bytes). */
  | { secret: string | Uint8Array }

export type DeriveMasterKeyErrorType = InvalidParameterErrorType

/**
 * `HKDF-SHA256(ikm, salt = "stoa/storage/v1", info = "master", 32)`, `ikm` being the account's
 * signature of `masterKeyMessage` (RFC 6979 signatures are deterministic, so the same account
 * always gets the same key) or a user secret.
 *
 * ```ts
 * const signature = await account.signMessage({ message: masterKeyMessage })
 * const masterKey = deriveMasterKey({ signature })
 * ```
 */
export function deriveMasterKey(parameters: DeriveMasterKeyParameters): Bytes {
  let ikm: Bytes
  if ('signature' in parameters) {
    const { signature } = parameters
    ikm = typeof signature === 'string' ? hexToBytes(signature, 'signature') : signature
    if (!(ikm instanceof Uint8Array) || ikm.length !== 65) {
      throw new InvalidParameterError('signature', 'a 65-byte EIP-191 signature', signature)
    }
  } else if ('secret' in parameters) {
    const { secret } = parameters
    ikm = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
    if (!(ikm instanceof Uint8Array) || ikm.length < 16) {
      throw new InvalidParameterError('secret', 'at least 16 bytes (UTF-8)', secret)
    }
  } else {
    throw new InvalidParameterError('parameters', '{ signature } or { secret }', parameters)
  }
  return hkdf(ikm, 'master')
}

/** The key the object index is encrypted under: `HKDF-SHA256(master, salt = "stoa/storage/v1", info = "index", 32)`. */
export function deriveIndexKey(masterKey: Bytes): Bytes {
  checkBytes(masterKey, KEY_SIZE, 'masterKey')
  return hkdf(masterKey, 'index')
}

/** The additional data binding a segment to its place: `objectId (32) || uint32be(segmentIndex)`. */
export function segmentAad(objectId: Bytes, segmentIndex: number): Bytes {
  checkBytes(objectId, OBJECT_ID_SIZE, 'objectId')
  if (!Number.isInteger(segmentIndex) || segmentIndex < 0 || segmentIndex > 0xffffffff) {
    throw new InvalidParameterError('segmentIndex', 'an integer from 0 to 2^32 - 1', segmentIndex)
  }
  const aad = new Uint8Array(OBJECT_ID_SIZE + 4)
  aad.set(objectId)
  new DataView(aad.buffer).setUint32(OBJECT_ID_SIZE, segmentIndex)
  return aad
}

/** A fresh random segment key and nonce. */
export function randomSegmentSecrets(): { key: Bytes; nonce: Bytes } {
  return { key: new Uint8Array(randomBytes(KEY_SIZE)), nonce: new Uint8Array(randomBytes(NONCE_SIZE)) }
}

export type SegmentCipher = {
  /** Encrypts the next plaintext bytes into `output` at the current position; returns the bytes written. */
  update(plaintext: Bytes): number
  /** Writes the 16-byte tag after the ciphertext; returns the ciphertext size (plaintext + 16). */
  final(): number
}

/**
 * Encrypts one segment as its plaintext streams by, writing the ciphertext and tag into `output`
 * (which must hold plaintext + 16 bytes): the encoder never holds a segment's plaintext.
 */
export function createSegmentCipher(parameters: {
  key: Bytes
  nonce: Bytes
  objectId: Bytes
  segmentIndex: number
  output: Bytes
}): SegmentCipher {
  const { key, nonce, output } = parameters
  checkBytes(key, KEY_SIZE, 'key')
  checkBytes(nonce, NONCE_SIZE, 'nonce')
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(segmentAad(parameters.objectId, parameters.segmentIndex))
  let written = 0
  const put = (bytes: Buffer) => {
    if (written + bytes.length > output.length) {
      throw new InvalidParameterError(
        'output',
        `room for the ciphertext (${written + bytes.length} bytes)`,
        output,
      )
    }
    output.set(bytes, written)
    written += bytes.length
  }
  return {
    update(plaintext) {
      const before = written
      put(cipher.update(plaintext))
      return written - before
    },
    final() {
      put(cipher.final())
      put(cipher.getAuthTag())
      return written
    },
  }
}

export type EncryptSegmentParameters = {
  plaintext: Bytes
  objectId: Bytes
  segmentIndex: number
  /** Defaults to a fresh random key. */
  key?: Bytes | undefined
  /** Defaults to a fresh random nonce. */
  nonce?: Bytes | undefined
}

export type EncryptSegmentReturnType = { ciphertext: Bytes; key: Bytes; nonce: Bytes }
export type EncryptSegmentErrorType = InvalidParameterErrorType

/** AES-256-GCM of one segment; `ciphertext` is the plaintext's length + 16 (the tag last). */
export function encryptSegment(parameters: EncryptSegmentParameters): EncryptSegmentReturnType {
  const fresh = randomSegmentSecrets()
  const key = parameters.key ?? fresh.key
  const nonce = parameters.nonce ?? fresh.nonce
  const ciphertext = new Uint8Array(parameters.plaintext.length + GCM_TAG_SIZE)
  const cipher = createSegmentCipher({ ...parameters, key, nonce, output: ciphertext })
  cipher.update(parameters.plaintext)
  cipher.final()
  return { ciphertext, key, nonce }
}

export type DecryptSegmentParameters = {
  /** The ciphertext with its tag (padding already removed). */
  ciphertext: Bytes
  objectId: Bytes
  segmentIndex: number
  key: Bytes
  nonce: Bytes
}

export type DecryptSegmentErrorType = InvalidParameterErrorType | DecryptionFailedErrorType

/** Decrypts one segment; throws `DecryptionFailedError` (never returns garbage) on a wrong key or changed bytes. */
export function decryptSegment(parameters: DecryptSegmentParameters): Bytes {
  const { ciphertext, key, nonce, segmentIndex } = parameters
  checkBytes(key, KEY_SIZE, 'key')
  checkBytes(nonce, NONCE_SIZE, 'nonce')
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < GCM_TAG_SIZE) {
    throw new InvalidParameterError('ciphertext', `at least ${GCM_TAG_SIZE} bytes (the tag)`, ciphertext)
  }
  const aad = segmentAad(parameters.objectId, segmentIndex)
  return gcmOpen(
    key,
    nonce,
    ciphertext,
    aad,
    (cause) => new DecryptionFailedError({ what: 'segment', segmentIndex, cause }),
  )
}

function gcmOpen(
  key: Bytes,
  nonce: Bytes,
  sealed: Bytes,
  aad: Bytes | undefined,
  fail: (cause: unknown) => Error,
): Bytes {
  const body = sealed.subarray(0, sealed.length - GCM_TAG_SIZE)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_SIZE))
  if (aad) decipher.setAAD(aad)
  const plaintext = new Uint8Array(body.length)
  try {
    plaintext.set(decipher.update(body))
    decipher.final()
  } catch (cause) {
    plaintext.fill(0)
    throw fail(cause)
  }
  return plaintext
}

function gcmSeal(key: Bytes, nonce: Bytes, plaintext: Bytes): Bytes {
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  const sealed = new Uint8Array(plaintext.length + GCM_TAG_SIZE)
  const body = cipher.update(plaintext)
  sealed.set(body)
  cipher.final()
  sealed.set(cipher.getAuthTag(), body.length)
  return sealed
}

export type WrapSegmentKeyErrorType = InvalidParameterErrorType

/** `nonce' (12) || AES-256-GCM(masterKey, nonce', key)`: 60 bytes, safe to store in the index. */
export function wrapSegmentKey(key: Bytes, masterKey: Bytes): Bytes {
  checkBytes(key, KEY_SIZE, 'key')
  checkBytes(masterKey, KEY_SIZE, 'masterKey')
  const nonce = randomBytes(NONCE_SIZE)
  const wrapped = new Uint8Array(WRAPPED_KEY_SIZE)
  wrapped.set(nonce)
  wrapped.set(gcmSeal(masterKey, nonce, key), NONCE_SIZE)
  return wrapped
}

export type UnwrapSegmentKeyErrorType = InvalidParameterErrorType | DecryptionFailedErrorType

/** The segment key inside `wrapped`; `DecryptionFailedError` when `masterKey` is not the one that wrapped it. */
export function unwrapSegmentKey(wrapped: Bytes, masterKey: Bytes, segmentIndex?: number): Bytes {
  checkBytes(wrapped, WRAPPED_KEY_SIZE, 'wrappedKey')
  checkBytes(masterKey, KEY_SIZE, 'masterKey')
  return gcmOpen(
    masterKey,
    wrapped.subarray(0, NONCE_SIZE),
    wrapped.subarray(NONCE_SIZE),
    undefined,
    (cause) => new DecryptionFailedError({ what: 'segment key', segmentIndex, cause }),
  )
}

export type EncryptIndexBlobErrorType = InvalidParameterErrorType

/**
 * The framed, encrypted index (section 6) before padding:
 * `uint32be(12 + ciphertext + 16) || nonce (12) || AES-256-GCM(HKDF(master, "index"), nonce, plaintext)`.
 */
export function encryptIndexBlob(plaintext: Bytes, masterKey: Bytes): Bytes {
  const key = deriveIndexKey(masterKey)
  const nonce = randomBytes(NONCE_SIZE)
  const sealed = gcmSeal(key, nonce, plaintext)
  const length = NONCE_SIZE + sealed.length
  if (length > 0xffffffff) throw new InvalidParameterError('plaintext', 'an index under 4 GiB', plaintext)
  const frame = new Uint8Array(4 + length)
  new DataView(frame.buffer).setUint32(0, length)
  frame.set(nonce, 4)
  frame.set(sealed, 4 + NONCE_SIZE)
  return frame
}

export type DecryptIndexBlobErrorType =
  | InvalidParameterErrorType
  | MalformedIndexErrorType
  | DecryptionFailedErrorType

/** The index plaintext from a framed blob (zero padding after the frame is ignored). */
export function decryptIndexBlob(blob: Bytes, masterKey: Bytes): Bytes {
  if (!(blob instanceof Uint8Array)) throw new InvalidParameterError('blob', 'a Uint8Array', blob)
  if (blob.length < 4) throw new MalformedIndexError(`${blob.length} bytes is too short for a frame`)
  const length = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0)
  if (length < NONCE_SIZE + GCM_TAG_SIZE || 4 + length > blob.length) {
    throw new MalformedIndexError(`its frame says ${length} bytes, but ${blob.length - 4} follow`)
  }
  const key = deriveIndexKey(masterKey)
  return gcmOpen(
    key,
    blob.subarray(4, 4 + NONCE_SIZE),
    blob.subarray(4 + NONCE_SIZE, 4 + length),
    undefined,
    (cause) => new DecryptionFailedError({ what: 'index', cause }),
  )
}
