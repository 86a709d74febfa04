import { BaseError } from '@stoa/protocol'

const docsPath = 'docs/storage-spec.md'

export type DecryptionFailedErrorType = DecryptionFailedError & { name: 'DecryptionFailedError' }

/**
 * AES-GCM refused to decrypt: the key is not the one that encrypted, or the bytes (or their
 * position: object, segment) were changed. Nothing of the plaintext is returned.
 */
export class DecryptionFailedError extends BaseError {
  what: 'segment' | 'segment key' | 'index'
  segmentIndex: number | undefined
  constructor(parameters: {
    what: 'segment' | 'segment key' | 'index'
    segmentIndex?: number | undefined
    cause?: unknown
  }) {
    const { what, segmentIndex } = parameters
    const subject =
      what === 'segment'
        ? `Segment ${segmentIndex}`
        : what === 'segment key'
          ? `The key of segment ${segmentIndex ?? '?'}`
          : 'The object index'
    super(`${subject} could not be decrypted: wrong key, or the data was changed.`, {
      name: 'DecryptionFailedError',
      metaMessages: [
        what === 'segment'
          ? 'The ciphertext, its tag, or its place (object id, segment number) does not match.'
          : 'Check that the master key comes from the account (or secret) that stored the data.',
      ],
      cause: parameters.cause,
      docsPath: `${docsPath}#1-object-layout`,
    })
    this.what = what
    this.segmentIndex = segmentIndex
  }
}

export type MalformedIndexErrorType = MalformedIndexError & { name: 'MalformedIndexError' }

/** The object index is not framed as section 6 says, or its JSON is not a valid index. */
export class MalformedIndexError extends BaseError {
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super(`The object index is malformed: ${reason}.`, {
      name: 'MalformedIndexError',
      cause: options.cause,
      docsPath: `${docsPath}#6-object-index`,
    })
  }
}

export type ContentHashMismatchErrorType = ContentHashMismatchError & { name: 'ContentHashMismatchError' }

/** The decoded object's sha256 is not the one its record names. */
export class ContentHashMismatchError extends BaseError {
  expected: string
  actual: string
  constructor(parameters: { expected: string; actual: string }) {
    super('The decoded object does not have the content hash its record names.', {
      name: 'ContentHashMismatchError',
      metaMessages: [`Expected sha256: ${parameters.expected}`, `Got:             ${parameters.actual}`],
      docsPath,
    })
    this.expected = parameters.expected
    this.actual = parameters.actual
  }
}

export type SourceSizeMismatchErrorType = SourceSizeMismatchError & { name: 'SourceSizeMismatchError' }

/** The stream handed to the encoder is shorter or longer than the size it was told. */
export class SourceSizeMismatchError extends BaseError {
  expected: number
  actual: number
  constructor(parameters: { expected: number; actual: number; atLeast?: boolean }) {
    const { expected, actual } = parameters
    super(
      `The file stream has ${parameters.atLeast ? 'more than ' : ''}${actual} bytes, but its size was given as ${expected}.`,
      {
        name: 'SourceSizeMismatchError',
        metaMessages: ['The file changed while it was read, or the size passed is wrong.'],
        docsPath,
      },
    )
    this.expected = expected
    this.actual = actual
  }
}

export type PieceRootHasherClosedErrorType = PieceRootHasherClosedError & {
  name: 'PieceRootHasherClosedError'
}

/** A piece root asked of `createPieceRootHasher` and not hashed before it was closed. */
export class PieceRootHasherClosedError extends BaseError {
  constructor() {
    super('The piece-root hasher was closed before this root was hashed.', {
      name: 'PieceRootHasherClosedError',
    })
  }
}

export type ContentHasherFailedErrorType = ContentHasherFailedError & { name: 'ContentHasherFailedError' }

export type PlaintextWriterFailedErrorType = PlaintextWriterFailedError & {
  name: 'PlaintextWriterFailedError'
}

/** The worker thread of `createPlaintextFileWriter` stopped (or never started), or the writer was closed. */
export class PlaintextWriterFailedError extends BaseError {
  constructor({ cause }: { cause: unknown }) {
    super('The thread decrypting into the file stopped.', {
      name: 'PlaintextWriterFailedError',
      cause: cause instanceof Error ? cause : new Error(String(cause)),
    })
  }
}

/** The worker thread of `createContentHasher` stopped after it took bytes, so no digest can be given. */
export class ContentHasherFailedError extends BaseError {
  constructor({ cause }: { cause: unknown }) {
    super('The thread hashing the content stopped before the digest.', {
      name: 'ContentHasherFailedError',
      cause: cause instanceof Error ? cause : new Error(String(cause)),
    })
  }
}
