// The daemon's JSON-RPC transport (node:http, keep-alive): against a real anvil it answers as viem's
// fetch-based `http` does, contract errors included; against small local HTTP servers it fails as
// `http` does (time-out, bad status, JSON-RPC error, oversized body, refused connection) and sends
// the URL's credentials as Basic auth without printing them.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { closeLease, createStoaClient, getProvider } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import {
  createPublicClient,
  HttpRequestError,
  http,
  ResponseBodyTooLargeError,
  RpcRequestError,
  TimeoutError,
  type Transport,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { nodeHttpTransport } from '../src/index.ts'
import { type Devnet, startDevnet } from './daemon-fixture.ts'

let devnet: Devnet
before(async () => {
  devnet = await startDevnet({ providers: 0 })
})
after(async () => {
  await devnet?.stop()
})

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  assert.fail('expected a rejection')
}

/** A local HTTP server answering every request with `handler`; returns its URL. */
async function serve(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

describe('nodeHttpTransport against anvil', () => {
  test('reads what viem http reads', async () => {
    const viaNode = createPublicClient({ transport: nodeHttpTransport(devnet.deployment.rpcUrl) })
    const viaFetch = createPublicClient({ transport: http(devnet.deployment.rpcUrl) })
    assert.equal(await viaNode.getBlockNumber(), await viaFetch.getBlockNumber())
    assert.equal(await viaNode.getChainId(), 31337)
    const block = await viaNode.getBlock({ blockTag: 'latest' })
    assert.deepEqual(block, await viaFetch.getBlock({ blockTag: 'latest' }))
  })

  test('many requests at once share the keep-alive sockets and all answer', async () => {
    const client = createPublicClient({ transport: nodeHttpTransport(devnet.deployment.rpcUrl) })
    const numbers = await Promise.all(Array.from({ length: 64 }, () => client.getBlockNumber()))
    assert.equal(new Set(numbers).size, 1)
  })

  test('a contract revert decodes to the same named error as through viem http', async () => {
    const account = privateKeyToAccount(devnetAccount('alice').privateKey)
    const failure = async (transport: Transport) =>
      rejection(
        closeLease(createStoaClient({ deployment: devnet.deployment, account, transport }), {
          leaseId: 424242n,
        }),
      )
    const viaNode = (await failure(nodeHttpTransport(devnet.deployment.rpcUrl))) as Error & {
      errorName?: string
    }
    const viaFetch = (await failure(http(devnet.deployment.rpcUrl))) as Error & { errorName?: string }
    assert.ok(viaFetch.errorName, `viem http names the error: ${viaFetch.message}`)
    assert.equal(viaNode.name, viaFetch.name)
    assert.equal(viaNode.errorName, viaFetch.errorName)
    // And a read that finds nothing is no error at all.
    const client = createStoaClient({
      deployment: devnet.deployment,
      transport: nodeHttpTransport(devnet.deployment.rpcUrl),
    })
    assert.equal(await getProvider(client, { provider: account.address }), null)
  })
})

describe('nodeHttpTransport failures', () => {
  const servers: Server[] = []
  after(() => {
    for (const server of servers) server.close()
  })
  const client = (url: string, config: Parameters<typeof nodeHttpTransport>[1] = {}) =>
    createPublicClient({ transport: nodeHttpTransport(url, { retryCount: 0, ...config }) })

  test('a node that never answers: TimeoutError after the timeout', async () => {
    const { url, server } = await serve(() => {})
    servers.push(server)
    const started = performance.now()
    const error = await rejection(client(url, { timeout: 200 }).getBlockNumber())
    assert.ok(error instanceof TimeoutError, String(error))
    assert.ok(performance.now() - started < 5_000)
  })

  test('a bad status with a text body: HttpRequestError with the status and the text', async () => {
    const { url, server } = await serve((_, response) => {
      response.writeHead(502, { 'content-type': 'text/plain' }).end('upstream down')
    })
    servers.push(server)
    const error = await rejection(client(url).getBlockNumber())
    assert.ok(error instanceof HttpRequestError, String(error))
    assert.equal(error.status, 502)
    assert.match(error.message, /upstream down/)
  })

  test('a JSON-RPC error (even with a 4xx status): RpcRequestError with its code', async () => {
    const { url, server } = await serve((_, response) => {
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad params here' } }))
    })
    servers.push(server)
    const error = await rejection(client(url).getBlockNumber())
    // viem maps -32602 to InvalidParamsRpcError, with the RpcRequestError as its cause.
    const cause = (error as { walk?: (fn: (e: unknown) => boolean) => unknown }).walk?.(
      (e) => e instanceof RpcRequestError,
    )
    assert.ok(cause instanceof RpcRequestError, String(error))
    assert.equal(cause.code, -32602)
    assert.match(error.message, /bad params here/)
  })

  test('a body past the limit: ResponseBodyTooLargeError, and the socket is dropped', async () => {
    const { url, server } = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: `0x${'00'.repeat(64 * 1024)}` }))
    })
    servers.push(server)
    const error = await rejection(client(url, { maxResponseBytes: 16 * 1024 }).getBlockNumber())
    const cause = (error as { walk?: (fn: (e: unknown) => boolean) => unknown }).walk?.(
      (e) => e instanceof ResponseBodyTooLargeError,
    )
    assert.ok(cause instanceof ResponseBodyTooLargeError, String(error))
  })

  test('a refused connection: HttpRequestError naming the URL', async () => {
    const { url, server } = await serve(() => {})
    await new Promise((resolve) => server.close(resolve))
    const error = await rejection(client(url).getBlockNumber())
    assert.ok(error instanceof HttpRequestError, String(error))
    assert.match(error.message, new RegExp(url.replace(/[.]/g, '\\.')))
  })

  test("the URL's user and password go as Basic auth and never into an error", async () => {
    let authorization: string | undefined
    const { url, server } = await serve((request, response) => {
      authorization = request.headers.authorization
      response.writeHead(500).end('no')
    })
    servers.push(server)
    const withCredentials = url.replace('http://', 'http://node-user:s3cret%21@')
    const error = await rejection(client(withCredentials).getBlockNumber())
    assert.equal(authorization, `Basic ${Buffer.from('node-user:s3cret!').toString('base64')}`)
    assert.doesNotMatch(error.message, /s3cret/)
  })

  test('a ws:// or other URL is refused at once', () => {
    assert.throws(() => nodeHttpTransport('ws://127.0.0.1:8545'), /http:\/\/ or https:\/\//)
  })
})
