import { BaseError } from '@stoa/protocol'
import { originOf, pathOf } from '../internal/url.ts'

/** Where a failed gateway request went, for error messages. */
type RequestTarget = { method: string; url: string }

export type GatewayErrorType = GatewayError & { name: 'GatewayError' }

/**
 * The gateway answered with an error status. `code` and `gatewayMessage` come from its JSON body
 * (`{ error: { code, message } }`, docs/compute-spec.md); a body in another shape gives the code
 * `http-<status>` and the start of the text.
 */
export class GatewayError extends BaseError {
  /** The gateway's error code (`lease-not-found`, `expired`, `forbidden`…), or `http-<status>`. */
  readonly code: string
  /** The HTTP status (401 unauthenticated, 403 not the lease's tenant, 404 unknown lease…). */
  readonly status: number
  /** The gateway's own words. */
  readonly gatewayMessage: string
  readonly method: string
  readonly url: string

  constructor(parameters: RequestTarget & { status: number; code: string; message: string }) {
    const { status, code, message, method, url } = parameters
    super(`The gateway refused ${method} ${pathOf(url)} with ${status} ${code}: ${message}`, {
      name: 'GatewayError',
      metaMessages: [`Gateway: ${originOf(url)}`, ...hintFor(status, code)],
      details: message,
    })
    this.code = code
    this.status = status
    this.gatewayMessage = message
    this.method = method
    this.url = url
  }
}

export type GatewayTimeoutErrorType = GatewayTimeoutError & { name: 'GatewayTimeoutError' }

/** The gateway did not answer within the request's time limit. */
export class GatewayTimeoutError extends BaseError {
  readonly timeoutMs: number
  readonly method: string
  readonly url: string

  constructor(parameters: RequestTarget & { timeoutMs: number }) {
    super(
      `The gateway at ${originOf(parameters.url)} did not answer ${parameters.method} ${pathOf(parameters.url)} within ${parameters.timeoutMs} ms.`,
      {
        name: 'GatewayTimeoutError',
        metaMessages: [
          'The provider may be down or overloaded; try again, or let `stoa deploy --watch` fail over.',
        ],
      },
    )
    this.timeoutMs = parameters.timeoutMs
    this.method = parameters.method
    this.url = parameters.url
  }
}

export type GatewayUnreachableErrorType = GatewayUnreachableError & { name: 'GatewayUnreachableError' }

/** No connection to the gateway (refused, reset, DNS failure…). */
export class GatewayUnreachableError extends BaseError {
  readonly method: string
  readonly url: string

  constructor(parameters: RequestTarget & { cause: unknown }) {
    const reason = networkReason(parameters.cause)
    super(`Could not reach the gateway at ${originOf(parameters.url)}${reason ? ` (${reason})` : ''}.`, {
      name: 'GatewayUnreachableError',
      cause: parameters.cause,
      metaMessages: [
        `Request: ${parameters.method} ${pathOf(parameters.url)}`,
        'Is the provider running? Its gateway URL is the one it registered on chain (`stoa status ID` shows it).',
      ],
    })
    this.method = parameters.method
    this.url = parameters.url
  }
}

export type GatewayResponseErrorType = GatewayResponseError & { name: 'GatewayResponseError' }

/** The gateway answered with success but not in the shape the spec gives (a different or broken server). */
export class GatewayResponseError extends BaseError {
  readonly method: string
  readonly url: string

  constructor(parameters: RequestTarget & { expected: string; cause?: unknown }) {
    super(
      `The gateway at ${originOf(parameters.url)} answered ${parameters.method} ${pathOf(parameters.url)} with something other than ${parameters.expected}.`,
      {
        name: 'GatewayResponseError',
        ...(parameters.cause === undefined ? {} : { cause: parameters.cause }),
        metaMessages: ['Is that URL a Stoa provider gateway of a compatible version?'],
      },
    )
    this.method = parameters.method
    this.url = parameters.url
  }
}

export type GatewaySignerRequiredErrorType = GatewaySignerRequiredError & {
  name: 'GatewaySignerRequiredError'
}

/** A lease request must be signed by the lease's tenant, and the gateway client has no account. */
export class GatewaySignerRequiredError extends BaseError {
  constructor(what: string) {
    super(`${what} is a signed gateway request, so the gateway client needs an account.`, {
      name: 'GatewaySignerRequiredError',
      metaMessages: ["Pass `account` (the lease's tenant: a local account or a typed-data signer)."],
    })
  }
}

/** Every error a gateway request throws on its own (an aborted request throws the signal's reason). */
export type GatewayRequestErrorType =
  | GatewayErrorType
  | GatewayTimeoutErrorType
  | GatewayUnreachableErrorType
  | GatewayResponseErrorType
  | GatewaySignerRequiredErrorType

function hintFor(status: number, code: string): string[] {
  if (status === 401) {
    return [
      code === 'expired' || code === 'expiry-too-far'
        ? "The request's expiry was refused: check this machine's clock."
        : 'The gateway could not authenticate the request signature.',
    ]
  }
  if (status === 403) return ["Requests about a lease must be signed by the key of the order's tenant."]
  if (status === 404)
    return ['The provider does not know that lease (yet): is it the lease the chain gave it?']
  return []
}

/** `ECONNREFUSED` and friends, from undici's `fetch failed` cause chain. */
function networkReason(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
