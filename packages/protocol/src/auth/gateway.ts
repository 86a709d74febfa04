import {
  type Address,
  bytesToBigInt,
  bytesToHex,
  getAddress,
  type Hex,
  hexToBigInt,
  hexToBytes,
  isAddress,
  keccak256,
  type LocalAccount,
  recoverAddress,
  sha256,
  stringToBytes,
  type TypedDataDomain,
  zeroHash,
} from 'viem'
import { BaseError } from '../errors/base.ts'
import { describeValue, InvalidParameterError, type InvalidParameterErrorType } from '../errors/parameter.ts'

/**
 * EIP-712 signing of tenant requests to a provider gateway (docs/compute-spec.md, "Request
 * signing"). The signature binds the method, the path with its query, the body, the lease, a nonce
 * and an expiry to the tenant's key, under a domain naming the chain and the Market contract.
 * Replay tracking (the nonce store) and the tenant check are the gateway's.
 */

export const gatewayRequestTypes = {
  GatewayRequest: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodyHash', type: 'bytes32' },
    { name: 'leaseId', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const

/** Header names (lowercase, as Node reports them). */
export const gatewayAuthHeaders = {
  signature: 'x-stoa-signature',
  signer: 'x-stoa-signer',
  nonce: 'x-stoa-nonce',
  expiry: 'x-stoa-expiry',
} as const

export type GatewayRequestHeaders = {
  'x-stoa-signature': Hex
  'x-stoa-signer': Address
  'x-stoa-nonce': string
  'x-stoa-expiry': string
}

/** The signed message. */
export type GatewayRequestMessage = {
  method: string
  path: string
  bodyHash: Hex
  leaseId: bigint
  nonce: bigint
  expiry: bigint
}

export type GatewayRequestTypedData = {
  domain: TypedDataDomain & {
    name: 'Stoa Gateway'
    version: '1'
    chainId: number
    verifyingContract: Address
  }
  types: typeof gatewayRequestTypes
  primaryType: 'GatewayRequest'
  message: GatewayRequestMessage
}

/** A request body as sent on the wire; none (or empty) hashes to the zero hash. */
export type GatewayRequestBody = string | Uint8Array | undefined

export type GatewayAuthErrorCode =
  | 'missing-signature'
  | 'malformed'
  | 'expired'
  | 'expiry-too-far'
  | 'bad-signature'

export type GatewayAuthErrorType = GatewayAuthError & { name: 'GatewayAuthError' }

/** A request's signature headers are missing, malformed, out of date or do not verify. Always HTTP 401. */
export class GatewayAuthError extends BaseError {
  code: GatewayAuthErrorCode
  /** The HTTP status a gateway answers with. */
  status = 401 as const

  constructor(code: GatewayAuthErrorCode, reason: string) {
    super(`Request not authenticated (${code}): ${reason}`, { name: 'GatewayAuthError' })
    this.code = code
  }
}

const MAX_UINT64 = 2n ** 64n - 1n
const MAX_UINT256 = 2n ** 256n - 1n
// secp256k1 group order; signatures with s above n/2 are refused (one signature per message).
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const DEFAULT_EXPIRES_IN_SECONDS = 60

/** sha256 of the raw body bytes (a string as UTF-8); the zero hash for no body or an empty one. */
export function gatewayBodyHash(body: GatewayRequestBody): Hex {
  if (body === undefined) return zeroHash
  const bytes = typeof body === 'string' ? stringToBytes(body) : body
  return bytes.length === 0 ? zeroHash : sha256(bytes)
}

/** The lease id in a gateway path (`/v1/leases/123/logs?tail=5` → 123n), or 0n when the path names none. */
export function leaseIdFromPath(path: string): bigint {
  const match = /^\/v1\/leases\/(\d{1,78})(?:[/?#]|$)/.exec(path)
  const id = match ? BigInt(match[1] as string) : 0n
  return id <= MAX_UINT256 ? id : 0n
}

/** The EIP-712 domain: `{ name: 'Stoa Gateway', version: '1', chainId, verifyingContract: market }`. */
export function gatewayDomain(chainId: number, market: Address): GatewayRequestTypedData['domain'] {
  return { name: 'Stoa Gateway', version: '1', chainId, verifyingContract: market }
}

/** The typed data a request signs (method upper-cased, body hashed). */
export function gatewayRequestTypedData(parameters: {
  chainId: number
  market: Address
  method: string
  path: string
  body?: GatewayRequestBody
  leaseId: bigint
  nonce: bigint
  expiry: bigint
}): GatewayRequestTypedData {
  return {
    domain: gatewayDomain(parameters.chainId, parameters.market),
    types: gatewayRequestTypes,
    primaryType: 'GatewayRequest',
    message: {
      method: parameters.method.toUpperCase(),
      path: parameters.path,
      bodyHash: gatewayBodyHash(parameters.body),
      leaseId: parameters.leaseId,
      nonce: parameters.nonce,
      expiry: parameters.expiry,
    },
  }
}

const DOMAIN_TYPEHASH = keccak256(
  stringToBytes('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
  'bytes',
)
const GATEWAY_REQUEST_TYPEHASH = keccak256(
  stringToBytes(
    'GatewayRequest(string method,string path,bytes32 bodyHash,uint256 leaseId,uint256 nonce,uint64 expiry)',
  ),
  'bytes',
)
// Domain separators by `chainId:market` (a process talks to a handful of markets at most).
const domainSeparators = new Map<string, Uint8Array>()

function domainSeparator(domain: GatewayRequestTypedData['domain']): Uint8Array {
  const key = `${domain.chainId}:${domain.verifyingContract.toLowerCase()}`
  let separator = domainSeparators.get(key)
  if (!separator) {
    const encoded = new Uint8Array(5 * 32)
    encoded.set(DOMAIN_TYPEHASH, 0)
    encoded.set(keccak256(stringToBytes(domain.name), 'bytes'), 32)
    encoded.set(keccak256(stringToBytes(domain.version), 'bytes'), 64)
    putUint256(encoded, 96, BigInt(domain.chainId))
    encoded.set(hexToBytes(domain.verifyingContract), 128 + 12)
    separator = keccak256(encoded, 'bytes')
    if (domainSeparators.size >= 64) domainSeparators.clear()
    domainSeparators.set(key, separator)
  }
  return separator
}

function putUint256(target: Uint8Array, at: number, value: bigint): void {
  for (let i = 31; i >= 0; i--) {
    target[at + i] = Number(value & 0xffn)
    value >>= 8n
  }
}

/**
 * The EIP-712 digest a gateway request signs: what viem's `hashTypedData` gives for
 * `gatewayRequestTypedData(...)`, written out for this one type (a tenth of the time: a gateway
 * hashes every request it serves, a storage read one per piece), the domain separator kept.
 */
export function hashGatewayRequest(typedData: GatewayRequestTypedData): Hex {
  const { message } = typedData
  const encoded = new Uint8Array(7 * 32)
  encoded.set(GATEWAY_REQUEST_TYPEHASH, 0)
  encoded.set(keccak256(stringToBytes(message.method), 'bytes'), 32)
  encoded.set(keccak256(stringToBytes(message.path), 'bytes'), 64)
  encoded.set(hexToBytes(message.bodyHash), 96)
  putUint256(encoded, 128, message.leaseId)
  putUint256(encoded, 160, message.nonce)
  putUint256(encoded, 192, message.expiry)
  const digest = new Uint8Array(2 + 64)
  digest[0] = 0x19
  digest[1] = 0x01
  digest.set(domainSeparator(typedData.domain), 2)
  digest.set(keccak256(encoded, 'bytes'), 34)
  return bytesToHex(keccak256(digest, 'bytes'))
}

/**
 * A local account (viem `privateKeyToAccount`; one with `sign` signs the digest directly, which is
 * the same signature), or any function that signs EIP-712 typed data.
 */
export type GatewayRequestSigner =
  | (Pick<LocalAccount, 'address' | 'signTypedData'> & Partial<Pick<LocalAccount, 'sign'>>)
  | ((typedData: GatewayRequestTypedData) => Promise<Hex>)

export type SignGatewayRequestParameters = {
  account: GatewayRequestSigner
  chainId: number
  /** The Market contract: the domain's `verifyingContract`. */
  market: Address
  method: string
  /** The request target as sent: path and query string (`/v1/leases/5/logs?tail=10`). */
  path: string
  /** The raw body as sent; none for GET. */
  body?: GatewayRequestBody
  /** Default: the id in a `/v1/leases/:leaseId…` path, else 0. */
  leaseId?: bigint | number | undefined
  /** Default: 128 random bits. */
  nonce?: bigint | undefined
  /** Unix seconds; default `now + 60`. The gateway refuses more than 300 s ahead. */
  expiry?: bigint | number | undefined
  /** Unix seconds; default the clock. */
  now?: number | undefined
}

export type SignGatewayRequestReturnType = GatewayRequestHeaders

export type SignGatewayRequestErrorType = InvalidParameterErrorType

/**
 * Signs a gateway request; returns the headers to send with it.
 *
 * @example
 * const headers = await signGatewayRequest({
 *   account: privateKeyToAccount(key),
 *   chainId: 31337,
 *   market: deployment.contracts.market,
 *   method: 'GET',
 *   path: `/v1/leases/${leaseId}`,
 * })
 * await fetch(`${gatewayUrl}/v1/leases/${leaseId}`, { headers })
 */
export async function signGatewayRequest(
  parameters: SignGatewayRequestParameters,
): Promise<SignGatewayRequestReturnType> {
  const { account, chainId, market, method, path } = parameters
  checkDomain(chainId, market)
  if (typeof method !== 'string' || !/^[A-Za-z]{1,16}$/.test(method)) {
    throw new InvalidParameterError('method', 'an HTTP method like "GET"', method)
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidParameterError('path', 'the request path and query, starting with "/"', path)
  }
  const leaseId =
    parameters.leaseId === undefined
      ? leaseIdFromPath(path)
      : uintParameter(parameters.leaseId, MAX_UINT256, 'leaseId', 'a uint256')
  const nonce =
    parameters.nonce === undefined
      ? randomNonce()
      : uintParameter(parameters.nonce, MAX_UINT256, 'nonce', 'a uint256')
  const now = parameters.now ?? Math.floor(Date.now() / 1000)
  const expiry = uintParameter(
    parameters.expiry ?? now + DEFAULT_EXPIRES_IN_SECONDS,
    MAX_UINT64,
    'expiry',
    'unix seconds (a uint64)',
  )
  const typedData = gatewayRequestTypedData({
    chainId,
    market,
    method,
    path,
    body: parameters.body,
    leaseId,
    nonce,
    expiry,
  })
  let signature: Hex
  let signer: Address
  if (typeof account === 'function') {
    signature = await account(typedData)
    signer = await recoverAddress({ hash: hashGatewayRequest(typedData), signature })
  } else {
    signature =
      typeof account.sign === 'function'
        ? await account.sign({ hash: hashGatewayRequest(typedData) })
        : await account.signTypedData(typedData)
    signer = account.address
  }
  return {
    'x-stoa-signature': signature,
    'x-stoa-signer': getAddress(signer),
    'x-stoa-nonce': nonce.toString(),
    'x-stoa-expiry': expiry.toString(),
  }
}

export type VerifyGatewayRequestParameters = {
  /** The request headers: Node's `IncomingHttpHeaders`, a plain record (any case) or a fetch `Headers`. */
  headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>
  method: string
  /** The request target as received: path and query string (Fastify's `request.url`). */
  path: string
  /** The raw body as received. */
  body?: GatewayRequestBody
  chainId: number
  market: Address
  /** Unix seconds; default the clock. */
  now?: number | undefined
  /** How far ahead an expiry may be; default 300 s. */
  maxSkewSeconds?: number | undefined
  /** The lease the route names; default: the id in a `/v1/leases/:leaseId…` path, else 0. */
  leaseId?: bigint | undefined
  /**
   * The address that signed `hash` (a canonical 65-byte signature); it may throw on a signature
   * that recovers to no key. Default viem's `recoverAddress`; a gateway passes a faster one.
   */
  recoverAddress?: ((hash: Hex, signature: Hex) => Address | Promise<Address>) | undefined
}

export type VerifiedGatewayRequest = {
  /** The account that signed (checksummed). */
  signer: Address
  nonce: bigint
  /** Unix seconds. */
  expiry: number
  leaseId: bigint
}

export type VerifyGatewayRequestErrorType = GatewayAuthErrorType | InvalidParameterErrorType

/**
 * Verifies a gateway request's signature headers. Throws `GatewayAuthError` with a `code`:
 * `missing-signature` (no signature header), `malformed` (a header or the request line is not in
 * its format, or the signature is not canonical), `expired` (expiry < now), `expiry-too-far`
 * (expiry > now + maxSkewSeconds), `bad-signature` (it does not recover to `x-stoa-signer`: the
 * request was changed or forged). Whatever the headers hold, it throws nothing else.
 *
 * The caller must still refuse a reused (signer, nonce) until `expiry`, and check that `signer`
 * may act on `leaseId` (403 when not).
 */
export async function verifyGatewayRequest(
  parameters: VerifyGatewayRequestParameters,
): Promise<VerifiedGatewayRequest> {
  const { chainId, market, method, path } = parameters
  checkDomain(chainId, market)
  const maxSkewSeconds = parameters.maxSkewSeconds ?? 300
  const now = parameters.now ?? Math.floor(Date.now() / 1000)
  if (!Number.isSafeInteger(now) || now < 0) throw new InvalidParameterError('now', 'unix seconds', now)
  if (!Number.isSafeInteger(maxSkewSeconds) || maxSkewSeconds < 0) {
    throw new InvalidParameterError('maxSkewSeconds', 'a non-negative integer', maxSkewSeconds)
  }
  const { body } = parameters
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new InvalidParameterError('body', 'the raw body (a string or bytes)', body)
  }

  const signatureText = header(parameters.headers, gatewayAuthHeaders.signature)
  if (signatureText === undefined) {
    throw new GatewayAuthError(
      'missing-signature',
      `the request has no ${gatewayAuthHeaders.signature} header.`,
    )
  }
  const signature = parseSignature(signatureText)
  const signerText = header(parameters.headers, gatewayAuthHeaders.signer)
  if (signerText === undefined || !isAddress(signerText, { strict: false })) {
    throw malformed(gatewayAuthHeaders.signer, 'an address', signerText)
  }
  const nonce = parseUint(
    header(parameters.headers, gatewayAuthHeaders.nonce),
    MAX_UINT256,
    gatewayAuthHeaders.nonce,
  )
  const expiry = parseUint(
    header(parameters.headers, gatewayAuthHeaders.expiry),
    MAX_UINT64,
    gatewayAuthHeaders.expiry,
  )
  if (typeof method !== 'string' || !/^[A-Za-z]{1,16}$/.test(method)) {
    throw malformed('method', 'an HTTP method', method)
  }
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw malformed('path', 'a path starting with "/"', path)
  const leaseId = parameters.leaseId ?? leaseIdFromPath(path)
  if (typeof leaseId !== 'bigint' || leaseId < 0n || leaseId > MAX_UINT256) {
    throw new InvalidParameterError('leaseId', 'a uint256 bigint', leaseId)
  }

  if (expiry < BigInt(now)) {
    throw new GatewayAuthError(
      'expired',
      `the signature expired at ${expiry}, ${BigInt(now) - expiry} s ago.`,
    )
  }
  if (expiry > BigInt(now + maxSkewSeconds)) {
    throw new GatewayAuthError(
      'expiry-too-far',
      `the expiry ${expiry} is ${expiry - BigInt(now)} s ahead; at most ${maxSkewSeconds} s is accepted.`,
    )
  }

  const typedData = gatewayRequestTypedData({ chainId, market, method, path, body, leaseId, nonce, expiry })
  let recovered: Address
  try {
    const hash = hashGatewayRequest(typedData)
    recovered = parameters.recoverAddress
      ? await parameters.recoverAddress(hash, signature)
      : await recoverAddress({ hash, signature })
  } catch (error) {
    throw new GatewayAuthError(
      'bad-signature',
      `the signature does not recover to an account (${(error as Error).message.split('\n')[0]}).`,
    )
  }
  if (recovered.toLowerCase() !== signerText.toLowerCase()) {
    throw new GatewayAuthError(
      'bad-signature',
      `the signature is not ${getAddress(signerText)}'s for this request (changed in transit, or signed for another chain, market or request).`,
    )
  }
  return { signer: getAddress(recovered), nonce, expiry: Number(expiry), leaseId }
}

/** A bigint or safe integer in 0..max, as a bigint; InvalidParameterError otherwise. */
function uintParameter(value: unknown, max: bigint, field: string, expected: string): bigint {
  const integer =
    typeof value === 'bigint'
      ? value
      : typeof value === 'number' && Number.isSafeInteger(value)
        ? BigInt(value)
        : -1n
  if (integer < 0n || integer > max) throw new InvalidParameterError(field, expected, value)
  return integer
}

function checkDomain(chainId: number, market: Address): void {
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InvalidParameterError('chainId', 'a positive integer', chainId)
  }
  if (typeof market !== 'string' || !isAddress(market, { strict: false })) {
    throw new InvalidParameterError('market', 'the Market contract address', market)
  }
}

/** One header's value; a repeated header (an array of several) reads as malformed. */
function header(headers: VerifyGatewayRequestParameters['headers'], name: string): string | undefined {
  let value: unknown
  if (typeof (headers as Headers)?.get === 'function') {
    value = (headers as Headers).get(name) ?? undefined
  } else if (typeof headers === 'object' && headers !== null) {
    value = Object.hasOwn(headers, name)
      ? (headers as Record<string, unknown>)[name]
      : Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1]
  }
  if (Array.isArray(value)) {
    if (value.length !== 1) throw malformed(name, 'one value', value)
    value = value[0]
  }
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw malformed(name, 'a string', value)
  return value
}

function malformed(name: string, expected: string, received: unknown): GatewayAuthError {
  return new GatewayAuthError('malformed', `${name} must be ${expected}, got ${describeValue(received)}.`)
}

function parseSignature(text: string): Hex {
  if (!/^0x[0-9a-fA-F]{130}$/.test(text)) {
    throw malformed(gatewayAuthHeaders.signature, 'a 65-byte signature in hex (0x and 130 digits)', text)
  }
  const r = hexToBigInt(`0x${text.slice(2, 66)}`)
  const s = hexToBigInt(`0x${text.slice(66, 130)}`)
  const v = Number.parseInt(text.slice(130, 132), 16)
  if (r === 0n || r >= SECP256K1_N || s === 0n || s > SECP256K1_N / 2n || ![0, 1, 27, 28].includes(v)) {
    throw malformed(
      gatewayAuthHeaders.signature,
      'a canonical secp256k1 signature (low s, v of 27 or 28)',
      text,
    )
  }
  return text.toLowerCase() as Hex
}

function parseUint(text: string | undefined, max: bigint, name: string): bigint {
  if (text === undefined || !/^(0|[1-9][0-9]{0,77})$/.test(text)) {
    throw malformed(name, 'a decimal integer', text)
  }
  const value = BigInt(text)
  if (value > max) throw malformed(name, `at most ${max}`, text)
  return value
}

function randomNonce(): bigint {
  return bytesToBigInt(crypto.getRandomValues(new Uint8Array(16)))
}
