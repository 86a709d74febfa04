import { BaseError } from '@stoa/protocol'
import type { Address } from 'viem'
import { originOf, pathOf } from '../internal/url.ts'

/** Which provider a failed storage request went to. */
export type StorageRequestTarget = { provider: Address | undefined; method: string; url: string }

function who(target: StorageRequestTarget): string {
  const origin = originOf(target.url)
  return target.provider ? `Provider ${target.provider} (${origin})` : `The provider at ${origin}`
}

export type StorageProviderErrorType = StorageProviderError & { name: 'StorageProviderError' }

/** A provider answered a storage request with an error status. */
export class StorageProviderError extends BaseError {
  readonly provider: Address | undefined
  readonly status: number
  readonly code: string
  readonly providerMessage: string
  readonly method: string
  readonly url: string
  constructor(target: StorageRequestTarget & { status: number; code: string; message: string }) {
    super(
      `${who(target)} refused ${target.method} ${pathOf(target.url)} with ${target.status} ${target.code}: ${target.message}`,
      { name: 'StorageProviderError', details: target.message },
    )
    this.provider = target.provider
    this.status = target.status
    this.code = target.code
    this.providerMessage = target.message
    this.method = target.method
    this.url = target.url
  }
}

export type StorageTimeoutErrorType = StorageTimeoutError & { name: 'StorageTimeoutError' }

/** A provider did not answer (or stopped sending) within the time limit. */
export class StorageTimeoutError extends BaseError {
  readonly provider: Address | undefined
  readonly timeoutMs: number
  constructor(target: StorageRequestTarget & { timeoutMs: number }) {
    super(
      `${who(target)} did not answer ${target.method} ${pathOf(target.url)} within ${target.timeoutMs} ms.`,
      { name: 'StorageTimeoutError' },
    )
    this.provider = target.provider
    this.timeoutMs = target.timeoutMs
  }
}

export type StorageUnreachableErrorType = StorageUnreachableError & { name: 'StorageUnreachableError' }

/** No connection to a provider, or the connection broke mid-transfer. */
export class StorageUnreachableError extends BaseError {
  readonly provider: Address | undefined
  constructor(target: StorageRequestTarget & { cause: unknown }) {
    super(`${who(target)} could not be reached for ${target.method} ${pathOf(target.url)}.`, {
      name: 'StorageUnreachableError',
      cause: target.cause,
    })
    this.provider = target.provider
  }
}

export type StorageResponseErrorType = StorageResponseError & { name: 'StorageResponseError' }

/** A provider answered, but not in the shape the spec gives, or with bytes that fail verification. */
export class StorageResponseError extends BaseError {
  readonly provider: Address | undefined
  constructor(target: StorageRequestTarget & { expected: string }) {
    super(
      `${who(target)} answered ${target.method} ${pathOf(target.url)} with something other than ${target.expected}.`,
      {
        name: 'StorageResponseError',
      },
    )
    this.provider = target.provider
  }
}

export type ShardRootMismatchErrorType = ShardRootMismatchError & { name: 'ShardRootMismatchError' }

/** The root a provider computed over the bytes it received is not the one the client computed. */
export class ShardRootMismatchError extends BaseError {
  readonly provider: Address
  constructor(parameters: { provider: Address; expected: string; actual: string }) {
    super(
      `Provider ${parameters.provider} reports root ${parameters.actual} for a shard whose root is ${parameters.expected}.`,
      {
        name: 'ShardRootMismatchError',
      },
    )
    this.provider = parameters.provider
  }
}

export type NotEnoughStorageProvidersErrorType = NotEnoughStorageProvidersError & {
  name: 'NotEnoughStorageProvidersError'
}

/** Fewer usable providers than the operation needs. */
export class NotEnoughStorageProvidersError extends BaseError {
  readonly needed: number
  readonly available: number
  constructor(parameters: {
    needed: number
    available: number
    what: string
    reasons?: string[] | undefined
  }) {
    super(
      `${parameters.what} needs ${parameters.needed} storage providers but only ${parameters.available} could be used.`,
      { name: 'NotEnoughStorageProvidersError', metaMessages: parameters.reasons ?? [] },
    )
    this.needed = parameters.needed
    this.available = parameters.available
  }
}

export type ObjectNotFoundErrorType = ObjectNotFoundError & { name: 'ObjectNotFoundError' }

export class ObjectNotFoundError extends BaseError {
  readonly objectName: string
  constructor(name: string) {
    super(`No object named "${name}" in the account's index.`, {
      name: 'ObjectNotFoundError',
      metaMessages: ['`stoa ls` lists the stored objects.'],
    })
    this.objectName = name
  }
}

export type DealNotRenewableErrorType = DealNotRenewableError & { name: 'DealNotRenewableError' }

/** A deal that cannot be renewed as it is (ended, or with shards that are not active). */
export class DealNotRenewableError extends BaseError {
  readonly dealId: bigint
  constructor(parameters: { dealId: bigint; reason: string; hint?: string | undefined }) {
    super(`Deal ${parameters.dealId} cannot be renewed: ${parameters.reason}.`, {
      name: 'DealNotRenewableError',
      metaMessages: [
        parameters.hint ??
          'A renewal is a new deal over the shards the providers still hold: renew before the last period ends.',
      ],
    })
    this.dealId = parameters.dealId
  }
}

export type DealNotFoundErrorType = DealNotFoundError & { name: 'DealNotFoundError' }

export class DealNotFoundError extends BaseError {
  readonly dealId: bigint
  constructor(dealId: bigint) {
    super(`Storage deal ${dealId} does not exist.`, { name: 'DealNotFoundError' })
    this.dealId = dealId
  }
}

export type ObjectIntegrityErrorType = ObjectIntegrityError & { name: 'ObjectIntegrityError' }

/** The downloaded object's sha256 is not the one recorded at upload. */
export class ObjectIntegrityError extends BaseError {
  constructor(parameters: { name: string; expected: string; actual: string; cause?: unknown }) {
    super(
      `Object "${parameters.name}" read back with sha256 ${parameters.actual}, not ${parameters.expected}.`,
      {
        name: 'ObjectIntegrityError',
        ...(parameters.cause === undefined ? {} : { cause: parameters.cause }),
      },
    )
  }
}

export type StorageRequestErrorType =
  | StorageProviderErrorType
  | StorageTimeoutErrorType
  | StorageUnreachableErrorType
  | StorageResponseErrorType

/** Whether a failed storage request may pass with time (worth a retry on the same provider). */
export function isTransientStorageFailure(error: unknown): boolean {
  if (error instanceof StorageUnreachableError || error instanceof StorageTimeoutError) return true
  if (error instanceof StorageProviderError)
    return error.status >= 500 || [408, 425, 429].includes(error.status) || error.code === 'incomplete'
  return false
}
