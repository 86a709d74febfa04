import { BaseError } from '@stoa/protocol'

/** Machine-readable codes of the storage routes' error answers (`{ error: { code, message } }`). */
export type StorageRequestErrorCode =
  | 'invalid-body'
  | 'invalid-query'
  | 'invalid-root'
  | 'invalid-upload-id'
  | 'insufficient-storage'
  | 'upload-not-found'
  | 'upload-expired'
  | 'upload-complete'
  | 'not-uploader'
  | 'offset-mismatch'
  | 'body-exceeds-size'
  | 'upload-interrupted'
  | 'shard-not-found'
  | 'shard-not-held'
  | 'size-mismatch'
  | 'erasure-index-mismatch'
  | 'price-below-ask'
  | 'deadline-passed'
  | 'deadline-too-far'
  | 'not-allowed'
  | 'replayed'
  | 'range-not-satisfiable'
  | 'level-not-kept'
  | 'storage-deals-unavailable'

export type StorageRequestErrorType = StorageRequestError & { name: 'StorageRequestError' }

/** A storage request that cannot be served; the gateway answers `status` with `{ error: { code, message, ...extra } }`. */
export class StorageRequestError extends BaseError {
  status: number
  code: StorageRequestErrorCode
  extra: Record<string, unknown> | undefined
  constructor(
    status: number,
    code: StorageRequestErrorCode,
    message: string,
    options: { extra?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { name: 'StorageRequestError', cause: options.cause })
    this.status = status
    this.code = code
    this.extra = options.extra
  }
}
