import { BaseError } from '@stoa/protocol'

export type ProviderConfigIssue = { path: string; message: string }

export type ProviderConfigErrorType = ProviderConfigError & { name: 'ProviderConfigError' }

/** The provider configuration (file plus overrides) is not valid; `issues` names every bad field. */
export class ProviderConfigError extends BaseError {
  issues: ProviderConfigIssue[]
  constructor(issues: ProviderConfigIssue[], options: { source?: string | undefined; cause?: unknown } = {}) {
    const listed = issues.length > 0 ? issues : [{ path: '(root)', message: 'invalid configuration' }]
    const [first] = listed as [ProviderConfigIssue]
    const more = listed.length > 1 ? ` (and ${listed.length - 1} more)` : ''
    super(
      `Invalid provider configuration${options.source ? ` in ${options.source}` : ''}: ${first.path}: ${first.message}${more}.`,
      {
        name: 'ProviderConfigError',
        metaMessages:
          listed.length > 1 ? listed.map((issue) => `- ${issue.path}: ${issue.message}`) : undefined,
        docsPath: 'packages/provider/README.md#configuration',
        cause: options.cause,
      },
    )
    this.issues = listed
  }
}

export type PricingScriptErrorType = PricingScriptError & { name: 'PricingScriptError' }

/** The external pricing script failed, timed out or printed something that is not a price. */
export class PricingScriptError extends BaseError {
  reason: 'timeout' | 'exit' | 'output' | 'spawn'
  constructor(reason: PricingScriptError['reason'], message: string, options: { cause?: unknown } = {}) {
    super(`The pricing script gave no price: ${message}`, {
      name: 'PricingScriptError',
      cause: options.cause,
      metaMessages: [
        'The script reads {"order":…,"resources":…} as JSON on stdin and prints a price in USD per hour (e.g. 0.12), or nothing to decline.',
      ],
    })
    this.reason = reason
  }
}

export type DaemonStateErrorType = DaemonStateError & { name: 'DaemonStateError' }

/** The daemon was asked to do something its lifecycle does not allow (start twice, use before start). */
export class DaemonStateError extends BaseError {
  constructor(message: string) {
    super(message, { name: 'DaemonStateError' })
  }
}

/** Machine-readable codes of the gateway's and ingress's error answers (`{ error: { code, message } }`). */
export type ProviderRequestErrorCode =
  | 'bad-request'
  | 'invalid-lease-id'
  | 'invalid-json'
  | 'invalid-manifest'
  | 'invalid-query'
  | 'missing-signature'
  | 'malformed'
  | 'expired'
  | 'expiry-too-far'
  | 'bad-signature'
  | 'replayed'
  | 'not-tenant'
  | 'not-found'
  | 'lease-not-found'
  | 'service-not-found'
  | 'result-not-found'
  | 'service-required'
  | 'no-manifest'
  | 'lease-not-active'
  | 'manifest-hash-mismatch'
  | 'manifest-exceeds-order'
  | 'runtime-unavailable'
  | 'no-http-port'
  | 'service-unavailable'
  | 'body-too-large'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'chain-unavailable'
  | 'internal'

export type ProviderRequestErrorType = ProviderRequestError & { name: 'ProviderRequestError' }

/** A gateway or ingress request that cannot be served; `status` and `code` become the HTTP answer. */
export class ProviderRequestError extends BaseError {
  status: number
  code: ProviderRequestErrorCode
  /** Extra structured detail for the answer (e.g. manifest issues). */
  extra: Record<string, unknown> | undefined
  constructor(
    status: number,
    code: ProviderRequestErrorCode,
    message: string,
    options: { extra?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { name: 'ProviderRequestError', cause: options.cause })
    this.status = status
    this.code = code
    this.extra = options.extra
  }
}
