import { version } from '../version.ts'

export type BaseErrorParameters = {
  cause?: unknown
  details?: string | undefined
  docsPath?: string | undefined
  metaMessages?: string[] | undefined
  name?: string | undefined
}

export type BaseErrorType = BaseError & { name: 'StoaError' }

/**
 * The root of every error Stoa throws on purpose, shaped like viem's `BaseError`:
 * `shortMessage` is one sentence for a person (the CLI prints it as is), `metaMessages` add
 * context lines, `details` carries the underlying message, `docsPath` points into the docs, and
 * `cause` keeps the original error. `walk()` follows the `cause` chain.
 *
 * Subclasses pass a fixed `name`, so `err.name` says what went wrong without `instanceof`.
 */
export class BaseError extends Error {
  details: string
  docsPath: string | undefined
  metaMessages: string[] | undefined
  shortMessage: string
  version: string

  override name = 'StoaError'

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause } = parameters
    const details =
      cause instanceof BaseError
        ? cause.details
        : cause instanceof Error
          ? cause.message
          : (parameters.details ?? '')
    const docsPath =
      cause instanceof BaseError ? (parameters.docsPath ?? cause.docsPath) : parameters.docsPath
    const message = [
      shortMessage || 'An error occurred.',
      '',
      ...(parameters.metaMessages ? [...parameters.metaMessages, ''] : []),
      ...(docsPath ? [`Docs: ${docsPath}`] : []),
      ...(details ? [`Details: ${details}`] : []),
      `Version: ${version}`,
    ].join('\n')
    super(message, cause === undefined ? undefined : { cause })
    this.details = details
    this.docsPath = docsPath
    this.metaMessages = parameters.metaMessages
    this.name = parameters.name ?? this.name
    this.shortMessage = shortMessage
    this.version = version
  }

  /** The innermost error of the `cause` chain. */
  walk(): unknown
  /** The first error of the `cause` chain (this one included) that `predicate` accepts, or null. */
  walk(predicate: (error: unknown) => boolean): unknown
  walk(predicate?: (error: unknown) => boolean): unknown {
    return walk(this, predicate)
  }
}

function walk(error: unknown, predicate?: (error: unknown) => boolean): unknown {
  if (predicate?.(error)) return error
  if (error && typeof error === 'object' && 'cause' in error && error.cause !== undefined) {
    return walk(error.cause, predicate)
  }
  return predicate ? null : error
}
