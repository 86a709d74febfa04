/**
 * A client for one provider's storage API (docs/storage-spec.md section 4). Requests are signed as
 * compute requests are (EIP-712 `GatewayRequest`, `leaseId = 0`); streamed bodies are signed with
 * the zero body hash, their integrity being the Merkle root the provider reports back.
 */
import { type GatewayRequestSigner, signGatewayRequest } from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { gatewaySignerOf } from '../gateway/signer.ts'
import type { StoaActionClient } from '../types.ts'
import {
  StorageProviderError,
  StorageResponseError,
  StorageTimeoutError,
  StorageUnreachableError,
} from './errors.ts'
import { Http1ResponseError, http1Get } from './http1.ts'

export type StorageInfo = {
  askPricePerByteSecond: bigint
  capacity: bigint
  used: bigint
  free: bigint
}

export type StorageAcceptanceRequest = {
  owner: Address
  dealId: bigint
  shardIndex: number
  root: Hex
  size: number
  erasureIndex: number
  pricePerByteSecond: bigint
  periodBlocks: number
  periods: number
  deadline: bigint
}

export type StorageCallOptions = {
  signal?: AbortSignal | undefined
  /** This call's time limit in ms (for a transfer: of silence between chunks). */
  timeoutMs?: number | undefined
}

export type StorageClient = {
  readonly url: string
  readonly provider: Address | undefined
  info(options?: StorageCallOptions): Promise<StorageInfo>
  createUpload(
    parameters: StorageCallOptions & { size: number; erasureIndex: number },
  ): Promise<{ uploadId: string; maxBytes: number }>
  uploadStatus(parameters: StorageCallOptions & { uploadId: string }): Promise<{ received: number }>
  /** Streams `body` (the shard from `offset` on) and resolves with the provider's root once it has all of it. */
  putShard(
    parameters: StorageCallOptions & {
      uploadId: string
      offset?: number | undefined
      body: AsyncIterable<Uint8Array>
    },
  ): Promise<{ root: Hex; size: number }>
  acceptance(parameters: StorageCallOptions & StorageAcceptanceRequest): Promise<Hex>
  /** `bytes [start, end)` of a shard (whole when no range). */
  getShard(
    parameters: StorageCallOptions & {
      root: Hex
      start?: number | undefined
      end?: number | undefined
      /** Sees every chunk as it arrives (to hash the bytes while they come). */
      onChunk?: ((chunk: Uint8Array) => void) | undefined
      /**
       * A buffer of the announced length to read the body into (a reused one, say), or undefined
       * for a new one. The returned bytes are then a view of it.
       */
      into?: ((size: number) => Uint8Array | undefined) | undefined
    },
  ): Promise<Uint8Array>
  /** The level-`level` nodes of a shard's tree. */
  nodes(parameters: StorageCallOptions & { root: Hex; level: number }): Promise<Uint8Array[]>
}

export type CreateStorageClientParameters = {
  url: string
  /** The provider's address, named in errors. */
  provider?: Address | undefined
  account?: GatewayRequestSigner | undefined
  chainId: number
  /** The Market contract: the signature domain's `verifyingContract`, as for compute requests. */
  market: Address
  /** Default time limit in ms of a request, and of silence during a transfer (default 15 000). */
  timeoutMs?: number | undefined
  fetch?: typeof fetch | undefined
}

/** A storage client for a provider's gateway URL that signs with the Stoa client's account. */
export function storageClientFor(
  client: StoaActionClient,
  url: string,
  options: { provider?: Address | undefined; timeoutMs?: number | undefined } = {},
): StorageClient {
  return createStorageClient({
    url,
    provider: options.provider,
    account: gatewaySignerOf(client),
    chainId: client.deployment.chainId,
    market: client.deployment.contracts.market,
    timeoutMs: options.timeoutMs,
  })
}

/**
 * @example
 * const storage = createStorageClient({ url, account, chainId, market })
 * const { uploadId } = await storage.createUpload({ size, erasureIndex: 0 })
 * const { root } = await storage.putShard({ uploadId, body: chunks })
 */
export function createStorageClient(parameters: CreateStorageClientParameters): StorageClient {
  const base = parameters.url.replace(/\/+$/, '')
  const { provider, account, chainId, market } = parameters
  const defaultTimeoutMs = parameters.timeoutMs ?? 15_000
  const fetchFn = parameters.fetch ?? globalThis.fetch
  // Shard bytes from an http: gateway skip fetch (http1.ts says why); a given fetch is always used.
  const directReads = parameters.fetch === undefined && base.startsWith('http:')

  type Request = {
    method: string
    path: string
    json?: unknown
    stream?: AsyncIterable<Uint8Array> | undefined
    headers?: Record<string, string> | undefined
    signed: boolean
    options: StorageCallOptions
    /**
     * Reads the answer with `http1Get` instead of fetch, when the gateway is `http:` and no fetch
     * was given: its 2xx body into `into`'s buffer.
     */
    direct?:
      | {
          into: ((size: number) => Uint8Array | undefined) | undefined
          onChunk: ((chunk: Uint8Array) => void) | undefined
        }
      | undefined
  }

  /**
   * Sends a request and hands the response to `read`, with one timer that restarts whenever bytes
   * move (an idle limit), so a long transfer is not cut while it progresses.
   */
  async function call<T>(
    request: Request,
    read: (response: Response, touch: () => void) => Promise<T>,
  ): Promise<T> {
    const url = `${base}${request.path}`
    const target = { provider, method: request.method, url }
    const { signal } = request.options
    signal?.throwIfAborted()
    const body = request.json === undefined ? undefined : JSON.stringify(request.json, jsonBigint)
    // Signed anew for each send: a request sent again (http1Get on a stale connection) needs a
    // fresh nonce, since the first may have reached the provider and spent its own.
    const headersOf = async (): Promise<Record<string, string>> => {
      const headers: Record<string, string> = { accept: 'application/json', ...request.headers }
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (request.stream) headers['content-type'] = 'application/octet-stream'
      if (request.signed && account) {
        const parsed = new URL(url)
        Object.assign(
          headers,
          await signGatewayRequest({
            account,
            chainId,
            market,
            method: request.method,
            path: `${parsed.pathname}${parsed.search}`,
            body,
            leaseId: 0n,
            expiry: Math.floor(Date.now() / 1000) + 240,
          }),
        )
      }
      return headers
    }
    const headers = await headersOf()
    const timeoutMs = request.options.timeoutMs ?? defaultTimeoutMs
    const controller = new AbortController()
    let timedOut = false
    let timer: NodeJS.Timeout | undefined
    const touch = () => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        timedOut = true
        controller.abort(new StorageTimeoutError({ ...target, timeoutMs }))
      }, timeoutMs)
    }
    const onAbort = () => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    touch()
    const failure = (error: unknown): unknown => {
      if (signal?.aborted) return signal.reason
      if (timedOut) return new StorageTimeoutError({ ...target, timeoutMs })
      if (error instanceof StorageProviderError || error instanceof StorageResponseError) return error
      return new StorageUnreachableError({ ...target, cause: error })
    }
    try {
      if (request.direct && directReads) {
        const response = await http1Get({
          url: new URL(url),
          headers,
          headersAgain: headersOf,
          signal: controller.signal,
          onActivity: touch,
          into: request.direct.into,
          onChunk: request.direct.onChunk,
        }).catch((error: unknown) => {
          if (error instanceof Http1ResponseError) throw shape(request, error.expected)
          throw error
        })
        if (response.status < 200 || response.status >= 300) {
          throw providerError(target, response.status, Buffer.from(response.body).toString('utf8'))
        }
        return response.body as T
      }
      let requestBody: string | ReadableStream<Uint8Array> | undefined = body
      if (request.stream) {
        const iterator = request.stream[Symbol.asyncIterator]()
        // Pulled, never read ahead (high-water mark 0): the next chunk is asked for only once the
        // socket took the previous one, so a body holds no bytes beyond what is being written.
        requestBody = new ReadableStream<Uint8Array>(
          {
            async pull(stream) {
              const next = await iterator.next()
              touch()
              if (next.done) stream.close()
              else stream.enqueue(next.value)
            },
            async cancel() {
              await iterator.return?.()
            },
          },
          { highWaterMark: 0 },
        )
      }
      const response = await fetchFn(url, {
        method: request.method,
        headers,
        ...(requestBody === undefined ? {} : { body: requestBody }),
        // A streamed body goes out as is: with redirects followed or a window, fetch clones the
        // request, which tees the body into a branch nobody reads, holding every chunk sent.
        ...(request.stream ? { duplex: 'half', redirect: 'error', window: null } : {}),
        signal: controller.signal,
      } as RequestInit)
      touch()
      if (!response.ok) {
        const text = await response.text().catch(() => '')
        throw providerError(target, response.status, text)
      }
      return await read(response, touch)
    } catch (error) {
      throw failure(error)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  async function readJson(request: Request, response: Response): Promise<Record<string, unknown>> {
    const text = await response.text()
    try {
      const value = JSON.parse(text) as unknown
      if (value && typeof value === 'object') return value as Record<string, unknown>
    } catch {}
    throw new StorageResponseError({
      provider,
      method: request.method,
      url: `${base}${request.path}`,
      expected: 'JSON',
    })
  }

  async function readBytes(
    response: Response,
    touch: () => void,
    onChunk?: ((chunk: Uint8Array) => void) | undefined,
    bufferFor?: ((size: number) => Uint8Array | undefined) | undefined,
  ): Promise<Uint8Array> {
    if (!response.body) return new Uint8Array(0)
    // With a length announced, the bytes land in one buffer as they come (no second copy); more
    // than announced falls back to collecting chunks, for the caller's checks to refuse.
    const announced = Number(response.headers.get('content-length') ?? Number.NaN)
    const given = Number.isSafeInteger(announced) && announced > 0 ? bufferFor?.(announced) : undefined
    let into =
      given?.length === announced
        ? given
        : Number.isSafeInteger(announced) && announced > 0
          ? allocUnfilled(announced)
          : undefined
    const chunks: Uint8Array[] = []
    let length = 0
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      touch()
      onChunk?.(chunk)
      if (into && length + chunk.length <= into.length) {
        into.set(chunk, length)
      } else {
        if (into) chunks.push(into.subarray(0, length))
        into = undefined
        chunks.push(chunk)
      }
      length += chunk.length
    }
    if (into) return into.subarray(0, length)
    if (chunks.length === 1) return chunks[0] as Uint8Array
    const out = new Uint8Array(length)
    let offset = 0
    for (const chunk of chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }

  function shape(request: Request, expected: string): StorageResponseError {
    return new StorageResponseError({
      provider,
      method: request.method,
      url: `${base}${request.path}`,
      expected,
    })
  }

  return {
    url: base,
    provider,

    async info(options = {}) {
      const request: Request = { method: 'GET', path: '/v1/storage/info', signed: false, options }
      const body = await call(request, (response) => readJson(request, response))
      const ask = toBigint(body.askPricePerByteSecond)
      if (ask === undefined) throw shape(request, '{ askPricePerByteSecond, capacity, used, free }')
      return {
        askPricePerByteSecond: ask,
        capacity: toBigint(body.capacity) ?? 0n,
        used: toBigint(body.used) ?? 0n,
        free: toBigint(body.free) ?? 0n,
      }
    },

    async createUpload({ size, erasureIndex, ...options }) {
      const request: Request = {
        method: 'POST',
        path: '/v1/storage/uploads',
        json: { size, erasureIndex },
        signed: true,
        options,
      }
      const body = await call(request, (response) => readJson(request, response))
      if (typeof body.uploadId !== 'string') throw shape(request, '{ uploadId, maxBytes }')
      return { uploadId: body.uploadId, maxBytes: Number(body.maxBytes ?? size) }
    },

    async uploadStatus({ uploadId, ...options }) {
      const request: Request = {
        method: 'GET',
        path: `/v1/storage/uploads/${encodeURIComponent(uploadId)}`,
        signed: true,
        options,
      }
      const body = await call(request, (response) => readJson(request, response))
      const received = Number(body.received)
      if (!Number.isSafeInteger(received)) throw shape(request, '{ received }')
      return { received }
    },

    async putShard({ uploadId, offset, body, ...options }) {
      const query = offset ? `?offset=${offset}` : ''
      const request: Request = {
        method: 'PUT',
        path: `/v1/storage/uploads/${encodeURIComponent(uploadId)}${query}`,
        stream: body,
        signed: true,
        options,
      }
      const result = await call(request, (response) => readJson(request, response))
      if (typeof result.root !== 'string') {
        // 202 { received }: the body ended before the shard did (a cut); resume from `received`.
        if (result.received !== undefined) {
          throw new StorageProviderError({
            provider,
            method: request.method,
            url: `${base}${request.path}`,
            status: 202,
            code: 'incomplete',
            message: `received ${String(result.received)} of ${String(result.size)} bytes`,
          })
        }
        throw shape(request, '{ root, size }')
      }
      return { root: result.root.toLowerCase() as Hex, size: Number(result.size) }
    },

    async acceptance({ signal, timeoutMs, ...terms }) {
      const request: Request = {
        method: 'POST',
        path: '/v1/storage/acceptances',
        json: terms,
        signed: true,
        options: { signal, timeoutMs },
      }
      const body = await call(request, (response) => readJson(request, response))
      if (typeof body.signature !== 'string') throw shape(request, '{ signature }')
      return body.signature as Hex
    },

    async getShard({ root, start, end, onChunk, into, ...options }) {
      const headers: Record<string, string> = {}
      if (start !== undefined && end !== undefined) headers.range = `bytes=${start}-${end - 1}`
      const request: Request = {
        method: 'GET',
        path: `/v1/storage/shards/${root}`,
        headers,
        signed: true,
        options,
        direct: { into, onChunk },
      }
      return call(request, (response, touch) => readBytes(response, touch, onChunk, into))
    },

    async nodes({ root, level, ...options }) {
      const request: Request = {
        method: 'GET',
        path: `/v1/storage/shards/${root}/nodes?level=${level}`,
        signed: true,
        options,
      }
      const bytes = await call(request, readBytes)
      if (bytes.length % 32 !== 0) throw shape(request, 'a whole number of 32-byte nodes')
      return Array.from({ length: bytes.length / 32 }, (_, i) => bytes.subarray(i * 32, i * 32 + 32))
    },
  }
}

/**
 * `size` bytes not zeroed first, where Node's Buffer is there (every byte is written before it is
 * read: a body shorter than announced is cut to what arrived): a piece is 16 MiB, and zeroing
 * every one cost a memset over each byte downloaded.
 */
function allocUnfilled(size: number): Uint8Array {
  const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer
  return NodeBuffer ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size)
}

function providerError(
  target: { provider: Address | undefined; method: string; url: string },
  status: number,
  text: string,
): StorageProviderError {
  let code = `http-${status}`
  let message = text.slice(0, 200)
  try {
    const body = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown } | string
      reason?: unknown
    }
    if (body.error && typeof body.error === 'object') {
      if (typeof body.error.code === 'string') code = body.error.code
      if (typeof body.error.message === 'string') message = body.error.message
    } else if (typeof body.error === 'string') message = body.error
    if (typeof body.reason === 'string') message = body.reason
  } catch {}
  return new StorageProviderError({ ...target, status, code, message })
}

function toBigint(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value)
  return undefined
}

function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
