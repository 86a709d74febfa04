import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http'
import {
  createTransport,
  type EIP1193RequestFn,
  HttpRequestError,
  ResponseBodyTooLargeError,
  RpcRequestError,
  stringify,
  TimeoutError,
  type Transport,
} from 'viem'

export type NodeHttpTransportConfig = {
  /** Per request, in ms; 0 for none (default: the client's, else 10 000, as viem's `http`). */
  timeout?: number | undefined
  /** Retries of a failed request (default: the client's, 3). */
  retryCount?: number | undefined
  /** Largest response body read, in bytes (default 10 MiB, as viem's `http`). */
  maxResponseBytes?: number | undefined
}

type HttpModule = {
  request(url: URL, options: RequestOptions, callback: (response: IncomingMessage) => void): ClientRequest
  agent: Agent
}

/**
 * A viem transport for JSON-RPC over `node:http` (or `node:https`) with one keep-alive agent: the
 * daemon's connection to its node, which it polls every few hundred milliseconds all day.
 *
 * Why not viem's `http`: it goes through `fetch` (undici in Node 20), which builds a `Request`, an
 * `AbortSignal` and web streams for every call, about 20 KB, part of it held long enough to reach
 * the old generation. An idle provider polling every 250 ms grew its heap about 0.13 MiB a second
 * with it, and its RSS about 10 MiB between full collections (measured with a sampling heap
 * profile of a devnet provider, packages/provider/test/measure-daemon.ts). A POST with a JSON body is
 * all JSON-RPC needs; no fetch-free client library does that here.
 *
 * Failures are viem's own, as its `http` transport throws them: `RpcRequestError` for a JSON-RPC
 * error (so contract errors decode the same way), `HttpRequestError` for a bad status or a broken
 * connection, `TimeoutError` after `timeout`, `ResponseBodyTooLargeError` past `maxResponseBytes`.
 *
 * @example
 * const client = createPublicClient({ transport: nodeHttpTransport('http://127.0.0.1:8545') })
 */
export function nodeHttpTransport(url: string, config: NodeHttpTransportConfig = {}): Transport {
  const target = new URL(url)
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new Error(`nodeHttpTransport needs an http:// or https:// URL, not ${target.protocol}`)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (target.username !== '' || target.password !== '') {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
    target.username = ''
    target.password = ''
  }
  // Where errors say the request went: without the credentials.
  const shownUrl = target.toString()
  const maxResponseBytes = config.maxResponseBytes ?? 10 * 1024 * 1024
  // node:https (and TLS with it) is loaded only for an https:// node.
  let loaded: Promise<HttpModule> | undefined
  const load = () => {
    loaded ??= (target.protocol === 'https:' ? import('node:https') : import('node:http')).then((module) => ({
      request: module.request,
      agent: new module.Agent({ keepAlive: true, maxSockets: 16 }),
    }))
    return loaded
  }
  let nextId = 0

  return ({ retryCount, timeout: clientTimeout }) => {
    const timeout = clientTimeout ?? config.timeout ?? 10_000
    return createTransport(
      {
        key: 'http',
        name: 'HTTP JSON-RPC (node:http)',
        type: 'http',
        retryCount: config.retryCount ?? retryCount,
        timeout,
        request: (async ({ method, params }) => {
          const body = { method, params }
          const payload = stringify({ jsonrpc: '2.0', id: ++nextId, method, params })
          const { request, agent } = await load()
          const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
            const outgoing = request(
              target,
              {
                method: 'POST',
                agent,
                headers: { ...headers, 'content-length': Buffer.byteLength(payload) },
              },
              (incoming) => {
                const chunks: Buffer[] = []
                let size = 0
                incoming.on('data', (chunk: Buffer) => {
                  size += chunk.length
                  if (size > maxResponseBytes)
                    outgoing.destroy(new ResponseBodyTooLargeError({ size, maxSize: maxResponseBytes }))
                  else chunks.push(chunk)
                })
                incoming.on('end', () =>
                  resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
                )
                incoming.on('error', (error) =>
                  reject(new HttpRequestError({ body, cause: error, url: shownUrl })),
                )
              },
            )
            const timer =
              timeout > 0
                ? setTimeout(() => outgoing.destroy(new TimeoutError({ body, url: shownUrl })), timeout)
                : undefined
            outgoing.on('close', () => clearTimeout(timer))
            outgoing.on('error', (error) =>
              reject(
                error instanceof TimeoutError || error instanceof ResponseBodyTooLargeError
                  ? error
                  : new HttpRequestError({ body, cause: error, url: shownUrl }),
              ),
            )
            outgoing.end(payload)
          })
          let data: { result?: unknown; error?: { code?: unknown; message?: unknown } } | undefined
          try {
            data = JSON.parse(response.text)
          } catch {
            data = undefined
          }
          const error = data?.error
          const rpcError = typeof error?.code === 'number' && typeof error.message === 'string'
          if (rpcError)
            throw new RpcRequestError({
              body,
              error: error as { code: number; message: string },
              url: shownUrl,
            })
          if (response.status < 200 || response.status > 299 || data === undefined)
            throw new HttpRequestError({
              body,
              details: response.text.slice(0, 500) || `HTTP ${response.status}`,
              status: response.status,
              url: shownUrl,
            })
          return data.result
        }) as EIP1193RequestFn,
      },
      { url: shownUrl },
    )
  }
}
