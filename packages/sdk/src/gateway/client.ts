import {
  encodeManifestSubmission,
  type GatewayRequestSigner,
  InvalidParameterError,
  type InvalidParameterErrorType,
  type NormalizedManifest,
  signGatewayRequest,
} from '@stoa/protocol'
import { type Address, type Hex, isAddress, sha256 } from 'viem'
import {
  GatewayError,
  GatewayResponseError,
  GatewaySignerRequiredError,
  GatewayTimeoutError,
  GatewayUnreachableError,
} from './errors.ts'
import type {
  GatewayCapacity,
  GatewayHealth,
  GatewayLeaseState,
  GatewayLeaseStatus,
  GatewayManifestAccepted,
  GatewayResourceAmounts,
  GatewayResultFile,
  GatewayServiceStatus,
} from './types.ts'

export type CreateGatewayClientParameters = {
  /** The gateway's base URL, as the provider registered it (`http://127.0.0.1:8701`). */
  url: string
  /**
   * Signs lease requests: the order's tenant, as a local account (`privateKeyToAccount`) or a
   * function that signs EIP-712 typed data. Public calls (`health`, `capacity`) need none.
   */
  account?: GatewayRequestSigner | undefined
  /** The settlement chain: part of the signature's domain. */
  chainId: number
  /** The Market contract: the signature domain's `verifyingContract`. */
  market: Address
  /** Default time limit of a request, in ms (default 10 000). A followed log stream is limited until its headers only. */
  timeoutMs?: number | undefined
  /** How long a signature stays valid, in seconds (default 60; the gateway refuses more than 300). */
  expiresInSeconds?: number | undefined
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch | undefined
}

/** Options of every gateway call. */
export type GatewayCallOptions = {
  signal?: AbortSignal | undefined
  /** This call's time limit in ms, instead of the client's. */
  timeoutMs?: number | undefined
}

export type GatewayLogsOptions = GatewayCallOptions & {
  leaseId: bigint
  /** One service's lines only. */
  service?: string | undefined
  /** Keep streaming new lines until the workload ends, the gateway closes the stream or `signal` aborts. */
  follow?: boolean | undefined
  /** Only the last N lines so far. */
  tail?: number | undefined
}

export type GatewayClient = {
  readonly url: string
  readonly chainId: number
  readonly market: Address
  /** `GET /v1/health` (public). */
  health(options?: GatewayCallOptions): Promise<GatewayHealth>
  /** `GET /v1/capacity` (public). */
  capacity(options?: GatewayCallOptions): Promise<GatewayCapacity>
  /**
   * `PUT /v1/leases/:leaseId/manifest` (signed): the normalized manifest and the bytes of every WASI
   * module it names, which the provider checks against the order's manifest hash.
   */
  putManifest(
    parameters: GatewayCallOptions & {
      leaseId: bigint
      manifest: NormalizedManifest
      modules?: ReadonlyMap<Hex, Uint8Array> | undefined
    },
  ): Promise<GatewayManifestAccepted>
  /** `GET /v1/leases/:leaseId` (signed): how the provider runs the lease. */
  leaseStatus(parameters: GatewayCallOptions & { leaseId: bigint }): Promise<GatewayLeaseStatus>
  /** `GET /v1/leases/:leaseId/logs` (signed): the log lines, streamed as they arrive. */
  logs(parameters: GatewayLogsOptions): AsyncIterable<string>
  /** `GET /v1/leases/:leaseId/results` (signed): the files the lease's jobs wrote to /results. */
  results(
    parameters: GatewayCallOptions & { leaseId: bigint; service?: string | undefined },
  ): Promise<GatewayResultFile[]>
  /**
   * `GET /v1/leases/:leaseId/results/:name` (signed): one result file's bytes. With `sha256` (as
   * `results` lists it) the bytes are checked against it.
   */
  resultFile(
    parameters: GatewayCallOptions & {
      leaseId: bigint
      name: string
      /** The service that wrote it (as `results` lists it): needed when several wrote the same name. */
      service?: string | undefined
      sha256?: Hex | undefined
    },
  ): Promise<Uint8Array>
}

export type CreateGatewayClientReturnType = GatewayClient

/** `createGatewayClient` checks its parameters; each call then throws a `GatewayRequestErrorType`. */
export type CreateGatewayClientErrorType = InvalidParameterErrorType

const DEFAULT_TIMEOUT_MS = 10_000
const leaseStates: readonly GatewayLeaseState[] = [
  'waiting-manifest',
  'starting',
  'running',
  'exited',
  'failed',
  'closed',
]

/**
 * A client for one provider gateway (docs/compute-spec.md, "Gateway HTTP API"). Lease requests
 * are EIP-712 signed with `account` (method, path with query, body hash, lease id, nonce,
 * expiry). An error status becomes a `GatewayError` carrying the gateway's `code` and `status`;
 * no answer in time a `GatewayTimeoutError`; no connection a `GatewayUnreachableError`. An
 * aborted call rejects with the signal's reason, as `fetch` does.
 *
 * @example
 * const gateway = createGatewayClient({
 *   url: provider.gatewayUrl,
 *   account: privateKeyToAccount(key),
 *   chainId: deployment.chainId,
 *   market: deployment.contracts.market,
 * })
 * await gateway.putManifest({ leaseId, manifest, modules })
 * for await (const line of gateway.logs({ leaseId, follow: true, signal })) console.log(line)
 */
export function createGatewayClient(
  parameters: CreateGatewayClientParameters,
): CreateGatewayClientReturnType {
  const { account, chainId, market } = parameters
  if (typeof parameters.url !== 'string' || !/^https?:\/\/[^\s/]+/.test(parameters.url)) {
    throw new InvalidParameterError('url', 'an http:// or https:// gateway URL', parameters.url)
  }
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InvalidParameterError('chainId', 'a positive integer', chainId)
  }
  if (typeof market !== 'string' || !isAddress(market, { strict: false })) {
    throw new InvalidParameterError('market', 'the Market contract address', market)
  }
  const base = parameters.url.replace(/\/+$/, '')
  const defaultTimeoutMs = parameters.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const expiresInSeconds = parameters.expiresInSeconds ?? 60
  const fetchFn = parameters.fetch ?? globalThis.fetch

  type Sent = {
    response: Response
    /** Clears the timer and the abort listener (and ends a stream's transfer). */
    done: () => void
    /** The error to throw when reading the body failed: the abort reason, the timeout, else `error`. */
    failure: (error: unknown) => unknown
  }

  type Request = {
    method: string
    path: string
    body?: string | undefined
    /** The lease a signed request is about; undefined: a public request. */
    leaseId?: bigint | undefined
    what: string
    options: GatewayCallOptions
    /** Keep the response body open past the time limit (log streams). */
    stream?: boolean | undefined
    /** Error statuses whose body is still the answer (health: 503 with `ok: false`). */
    acceptStatus?: readonly number[] | undefined
  }

  /**
   * Signs (lease requests) and sends a request; resolves with the response once its status is OK,
   * throws the mapped error otherwise. The caller reads the body, then calls `done()`.
   */
  async function send(request: Request): Promise<Sent> {
    const url = `${base}${request.path}`
    // What the gateway sees as `request.url`: the path (with any base path) and the query.
    const parsed = new URL(url)
    const signedPath = `${parsed.pathname}${parsed.search}`
    const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9' }
    if (request.body !== undefined) headers['content-type'] = 'application/json'
    if (request.leaseId !== undefined) {
      if (!account) throw new GatewaySignerRequiredError(request.what)
      Object.assign(
        headers,
        await signGatewayRequest({
          account,
          chainId,
          market,
          method: request.method,
          path: signedPath,
          body: request.body,
          leaseId: request.leaseId,
          expiry: Math.floor(Date.now() / 1000) + expiresInSeconds,
        }),
      )
    }

    const { signal } = request.options
    signal?.throwIfAborted()
    const timeoutMs = request.options.timeoutMs ?? defaultTimeoutMs
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new GatewayTimeoutError({ method: request.method, url, timeoutMs }))
    }, timeoutMs)
    const onAbort = () => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const failure = (error: unknown): unknown => {
      if (signal?.aborted) return signal.reason
      if (timedOut) return new GatewayTimeoutError({ method: request.method, url, timeoutMs })
      return error
    }
    const fail = (error: unknown): never => {
      done()
      throw failure(error)
    }

    let response: Response
    try {
      response = await fetchFn(url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: controller.signal,
      })
    } catch (error) {
      return fail(new GatewayUnreachableError({ method: request.method, url, cause: error }))
    }
    if (!response.ok && !request.acceptStatus?.includes(response.status)) {
      let text: string
      try {
        text = await response.text()
      } catch (error) {
        return fail(error)
      }
      done()
      throw errorFromBody(response.status, text, request.method, url)
    }
    if (request.stream) {
      // The time limit covers the wait for the headers; a followed stream may then run for hours.
      clearTimeout(timer)
      return {
        response,
        done: () => {
          done()
          controller.abort()
        },
        failure,
      }
    }
    return { response, done, failure }
  }

  async function json(request: Request): Promise<unknown> {
    const { response, done, failure } = await send(request)
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      throw failure(error)
    } finally {
      done()
    }
    try {
      return JSON.parse(text) as unknown
    } catch (error) {
      throw new GatewayResponseError({
        method: request.method,
        url: `${base}${request.path}`,
        expected: 'JSON',
        cause: error,
      })
    }
  }

  function shapeError(request: Request, expected: string): GatewayResponseError {
    return new GatewayResponseError({ method: request.method, url: `${base}${request.path}`, expected })
  }

  function leasePath(leaseId: bigint, suffix = ''): string {
    if (typeof leaseId !== 'bigint' || leaseId <= 0n) {
      throw new InvalidParameterError('leaseId', 'a lease id (a positive bigint)', leaseId)
    }
    return `/v1/leases/${leaseId}${suffix}`
  }

  return {
    url: base,
    chainId,
    market,

    async health(options = {}) {
      // An unhealthy provider answers 503 with `ok: false` and the same fields.
      const request: Request = {
        method: 'GET',
        path: '/v1/health',
        what: 'health',
        options,
        acceptStatus: [503],
      }
      const body = await json(request)
      if (!isRecord(body) || typeof body.ok !== 'boolean') throw shapeError(request, 'a health report')
      const health: GatewayHealth = {
        ok: body.ok,
        provider: (typeof body.provider === 'string' ? body.provider : '0x') as Address,
        version: typeof body.version === 'string' ? body.version : '',
        chainId: typeof body.chainId === 'number' ? body.chainId : Number(body.chainId ?? 0),
      }
      if (typeof body.region === 'string') health.region = body.region
      const ingressUrl = ingressUrlOf(body)
      if (ingressUrl !== undefined) health.ingressUrl = ingressUrl
      return health
    },

    async capacity(options = {}) {
      const request: Request = { method: 'GET', path: '/v1/capacity', what: 'capacity', options }
      const body = await json(request)
      if (!isRecord(body)) throw shapeError(request, 'a capacity report')
      const capacity: GatewayCapacity = {
        total: resourceAmounts(body.total),
        reserved: resourceAmounts(body.reserved),
        available: resourceAmounts(body.available),
      }
      const ingressUrl = ingressUrlOf(body)
      if (ingressUrl !== undefined) capacity.ingressUrl = ingressUrl
      return capacity
    },

    async putManifest({ leaseId, manifest, modules, ...options }) {
      const submission = encodeManifestSubmission({ manifest, modules: modules ?? new Map() })
      const request: Request = {
        method: 'PUT',
        path: leasePath(leaseId, '/manifest'),
        body: JSON.stringify(submission),
        leaseId,
        what: 'Sending a manifest',
        options,
      }
      const body = await json(request)
      if (!isRecord(body)) throw shapeError(request, '{ leaseId, status }')
      return {
        leaseId: toLeaseId(body.leaseId) ?? leaseId,
        status: toLeaseState(body.status) ?? 'starting',
      }
    },

    async leaseStatus({ leaseId, ...options }) {
      const request: Request = {
        method: 'GET',
        path: leasePath(leaseId),
        leaseId,
        what: 'Reading a lease status',
        options,
      }
      const body = await json(request)
      const status = isRecord(body) ? toLeaseState(body.status) : undefined
      if (!isRecord(body) || status === undefined || !Array.isArray(body.services)) {
        throw shapeError(request, '{ leaseId, status, services }')
      }
      return {
        leaseId: toLeaseId(body.leaseId) ?? leaseId,
        status,
        services: body.services.filter(isRecord).map(serviceStatus),
      }
    },

    logs({ leaseId, service, follow, tail, ...options }) {
      const query = new URLSearchParams()
      if (service !== undefined) query.set('service', service)
      if (follow) query.set('follow', '1')
      if (tail !== undefined) {
        if (!Number.isSafeInteger(tail) || tail < 0) {
          throw new InvalidParameterError('tail', 'a non-negative integer', tail)
        }
        query.set('tail', String(tail))
      }
      const search = query.toString()
      const request: Request = {
        method: 'GET',
        path: leasePath(leaseId, `/logs${search ? `?${search}` : ''}`),
        leaseId,
        what: 'Reading logs',
        options,
        stream: true,
      }
      return {
        [Symbol.asyncIterator]: () => readLines(send(request)),
      }
    },

    async results({ leaseId, service, ...options }) {
      const request: Request = {
        method: 'GET',
        path: leasePath(leaseId, `/results${serviceQuery(service)}`),
        leaseId,
        what: 'Listing results',
        options,
      }
      const body = await json(request)
      const list = Array.isArray(body)
        ? body
        : isRecord(body)
          ? Array.isArray(body.files)
            ? body.files
            : Array.isArray(body.results)
              ? body.results
              : undefined
          : undefined
      if (!list) throw shapeError(request, 'a list of result files')
      return list.filter(isRecord).map((file) => {
        const entry: GatewayResultFile = {
          name: String(file.name ?? ''),
          size: Number(file.size ?? 0),
          sha256: toHex(file.sha256),
        }
        if (typeof file.service === 'string') entry.service = file.service
        return entry
      })
    },

    async resultFile({ leaseId, name, service, sha256: expected, ...options }) {
      if (typeof name !== 'string' || name === '' || name.split('/').some((part) => part === '..')) {
        throw new InvalidParameterError('name', 'a result file name as `results` lists it', name)
      }
      const encoded = name.split('/').map(encodeURIComponent).join('/')
      const request: Request = {
        method: 'GET',
        path: leasePath(leaseId, `/results/${encoded}${serviceQuery(service)}`),
        leaseId,
        what: 'Fetching a result file',
        options,
      }
      const { response, done, failure } = await send(request)
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await response.arrayBuffer())
      } catch (error) {
        throw failure(error)
      } finally {
        done()
      }
      if (expected !== undefined && sha256(bytes) !== toHex(expected)) {
        throw new GatewayResponseError({
          method: 'GET',
          url: `${base}${request.path}`,
          expected: `the bytes whose sha256 is ${toHex(expected)}`,
        })
      }
      return bytes
    },
  }
}

/** Lines of a streamed text body; the stream is cancelled when the consumer stops early. */
async function* readLines(
  sending: Promise<{ response: Response; done: () => void; failure: (error: unknown) => unknown }>,
): AsyncGenerator<string> {
  const { response, done, failure } = await sending
  const body = response.body
  if (!body) {
    done()
    return
  }
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let pending = ''
  try {
    while (true) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        chunk = await reader.read()
      } catch (error) {
        throw failure(error)
      }
      if (chunk.done) break
      pending += decoder.decode(chunk.value, { stream: true })
      let newline = pending.indexOf('\n')
      while (newline !== -1) {
        yield pending.slice(0, newline).replace(/\r$/, '')
        pending = pending.slice(newline + 1)
        newline = pending.indexOf('\n')
      }
    }
    pending += decoder.decode()
    if (pending !== '') yield pending.replace(/\r$/, '')
  } finally {
    done()
    reader.cancel().catch(() => {})
  }
}

function errorFromBody(status: number, text: string, method: string, url: string): GatewayError {
  let code = `http-${status}`
  let message = text.trim().slice(0, 300) || `HTTP ${status}`
  try {
    const parsed = JSON.parse(text) as unknown
    const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined
    if (error) {
      if (typeof error.code === 'string' && error.code) code = error.code
      if (typeof error.message === 'string' && error.message) message = error.message
    } else if (isRecord(parsed) && typeof parsed.message === 'string') {
      // Fastify's own errors (404 for an unknown route, 400 for a bad body) look like this.
      message = parsed.message
      if (typeof parsed.code === 'string' && parsed.code) code = parsed.code
    }
  } catch {
    // Not JSON: keep the text.
  }
  return new GatewayError({ status, code, message, method, url })
}

function serviceQuery(service: string | undefined): string {
  return service === undefined ? '' : `?${new URLSearchParams({ service }).toString()}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function ingressUrlOf(body: Record<string, unknown>): string | undefined {
  const ingress = body.ingressUrl ?? body.ingress
  const url = isRecord(ingress) ? ingress.url : ingress
  return typeof url === 'string' && /^https?:\/\//.test(url) ? url.replace(/\/+$/, '') : undefined
}

function resourceAmounts(value: unknown): GatewayResourceAmounts {
  const record = isRecord(value) ? value : {}
  const number = (key: string) => (typeof record[key] === 'number' ? (record[key] as number) : 0)
  return {
    cpuMillis: number('cpuMillis'),
    memoryMiB: number('memoryMiB'),
    storageMiB: number('storageMiB'),
    gpus: number('gpus'),
  }
}

function serviceStatus(record: Record<string, unknown>): GatewayServiceStatus {
  const service: GatewayServiceStatus = {
    name: String(record.name ?? ''),
    kind: record.kind === 'service' ? 'service' : 'job',
    status: String(record.status ?? 'unknown'),
  }
  if (typeof record.exitCode === 'number') service.exitCode = record.exitCode
  if (typeof record.url === 'string') service.url = record.url
  if (typeof record.reason === 'string') service.reason = record.reason
  if (typeof record.message === 'string') service.message = record.message
  return service
}

function toLeaseState(value: unknown): GatewayLeaseState | undefined {
  return leaseStates.includes(value as GatewayLeaseState) ? (value as GatewayLeaseState) : undefined
}

function toLeaseId(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (
    (typeof value === 'string' && /^\d{1,78}$/.test(value)) ||
    (typeof value === 'number' && Number.isSafeInteger(value))
  ) {
    return BigInt(value)
  }
  return undefined
}

function toHex(value: unknown): Hex {
  const text = typeof value === 'string' ? value.toLowerCase() : ''
  return (text.startsWith('0x') ? text : `0x${text}`) as Hex
}
