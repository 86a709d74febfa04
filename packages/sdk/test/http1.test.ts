// http1Get (the shard download path on http: gateways) against real servers on loopback: node:http
// for well-formed answers, and raw node:net servers for answers split, malformed or cut off.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type Server } from 'node:http'
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Http1ResponseError, http1Get } from '../src/storage/http1.ts'

const servers: (Server | NetServer)[] = []
after(() => {
  for (const server of servers) server.close()
})

async function listen<T extends Server | NetServer>(server: T): Promise<URL> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
}

/** A raw server that answers each connection's first request with `answer(socket)`. */
async function rawServer(answer: (socket: Socket) => unknown): Promise<URL> {
  const server = createNetServer((socket) => {
    socket.once('data', () => void answer(socket))
    socket.on('error', () => {})
  })
  return listen(server)
}

const get = (url: URL, extra: Partial<Parameters<typeof http1Get>[0]> = {}) =>
  http1Get({ url, headers: { 'x-test': '1' }, signal: new AbortController().signal, ...extra })

describe('http1Get', () => {
  const data = randomBytes(3 * 1024 * 1024 + 17)
  let connections = 0
  const requests: { url: string; headers: Record<string, unknown> }[] = []
  const server = createHttpServer((request, response) => {
    requests.push({ url: request.url ?? '', headers: request.headers })
    if (request.url === '/missing') {
      const body = JSON.stringify({ error: { code: 'not-found', message: 'no such shard' } })
      response.writeHead(404, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      response.end(body)
      return
    }
    if (request.url === '/gone') {
      // An error answer without a length (chunked): its status still comes through.
      response.writeHead(410)
      response.end('gone for good')
      return
    }
    if (request.url === '/chunked') {
      response.writeHead(200)
      response.write('abc')
      response.end('def')
      return
    }
    response.writeHead(200, { 'content-length': String(data.length) })
    // Written in uneven parts, so reads end anywhere.
    let at = 0
    const write = () => {
      while (at < data.length) {
        const end = Math.min(data.length, at + 1 + Math.floor(Math.random() * 300_000))
        const more = response.write(data.subarray(at, end))
        at = end
        if (!more) return void response.once('drain', write)
      }
      response.end()
    }
    write()
  })
  server.on('connection', () => connections++)
  server.keepAliveTimeout = 60_000
  const ready = listen(server)

  it('reads a body into the buffer it is given, each part seen once, over one kept-alive connection', async () => {
    const url = new URL('/shard?x=1', await ready)
    const target = Buffer.alloc(data.length)
    const seen: Buffer[] = []
    for (let round = 0; round < 3; round++) {
      seen.length = 0
      const response = await get(url, {
        into: (size) => (size === data.length ? target : undefined),
        onChunk: (chunk) => seen.push(Buffer.from(chunk)),
      })
      assert.equal(response.status, 200)
      assert.equal(response.body.buffer, target.buffer, 'the body is a view of the given buffer')
      assert.ok(Buffer.from(response.body).equals(data))
      assert.ok(Buffer.concat(seen).equals(data))
      target.fill(0)
    }
    assert.equal(connections, 1)
    const last = requests.at(-1)
    assert.equal(last?.url, '/shard?x=1')
    assert.equal(last?.headers['x-test'], '1')
  })

  it('allocates a body when no buffer is given or its length is not the announced one', async () => {
    const url = new URL('/shard', await ready)
    const response = await get(url, { into: () => Buffer.alloc(5) })
    assert.ok(Buffer.from(response.body).equals(data))
  })

  it('returns an error answer with its body, and the connection stays usable', async () => {
    const before = connections
    const missing = await get(new URL('/missing', await ready))
    assert.equal(missing.status, 404)
    assert.match(Buffer.from(missing.body).toString(), /no such shard/)
    const ok = await get(new URL('/shard', await ready))
    assert.equal(ok.body.length, data.length)
    assert.equal(connections, before)
    const gone = await get(new URL('/gone', await ready))
    assert.equal(gone.status, 410)
    assert.equal(gone.body.length, 0)
  })

  it('refuses a chunked body', async () => {
    await assert.rejects(get(new URL('/chunked', await ready)), Http1ResponseError)
  })

  it('stops on abort, mid-body', async () => {
    const url = new URL('/shard', await ready)
    const controller = new AbortController()
    const reason = new Error('stop here')
    await assert.rejects(
      get(url, {
        signal: controller.signal,
        onChunk: () => controller.abort(reason),
      }),
      (error) => error === reason,
    )
    // The next request still works (on a new connection).
    assert.equal((await get(url)).body.length, data.length)
  })

  it('drops a pooled connection the server closed, and retries one that closes unanswered', async () => {
    // Each connection answers one request; then the server closes it at once (first port) or
    // closes it without a word on the next request (second port), as a server whose keep-alive
    // ran out just as the request went.
    let opened = 0
    const heads: string[] = []
    const serve = (closeAt: 'idle' | 'next') =>
      createNetServer((socket) => {
        opened++
        let requests = 0
        socket.on('error', () => {})
        socket.on('data', (data) => {
          heads.push(data.toString('latin1'))
          requests++
          if (requests > 1) return void socket.destroy()
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
          if (closeAt === 'idle') setTimeout(() => socket.destroy(), 20)
        })
      })
    for (const closeAt of ['idle', 'next'] as const) {
      opened = 0
      const url = await listen(serve(closeAt))
      assert.equal(Buffer.from((await get(url)).body).toString(), 'ok')
      await sleep(100)
      heads.length = 0
      const again = await get(url, { headersAgain: async () => ({ 'x-test': 'signed again' }) })
      assert.equal(Buffer.from(again.body).toString(), 'ok')
      assert.equal(opened, 2, closeAt)
      // Sent again on the new connection with fresh headers (a signed request needs a new nonce).
      if (closeAt === 'next') assert.match(heads.at(-1) ?? '', /x-test: signed again/)
    }
  })

  it('reads a head split over several reads', async () => {
    const url = await rawServer(async (socket) => {
      for (const part of ['HTTP/1.1 20', '0 OK\r\nContent-Le', 'ngth: 5\r\n', '\r', '\nhe', 'llo']) {
        socket.write(part)
        await sleep(10)
      }
    })
    const response = await get(url)
    assert.equal(response.status, 200)
    assert.equal(Buffer.from(response.body).toString(), 'hello')
  })

  it('refuses an answer without a Content-Length, with more bytes than it, or with a huge head', async () => {
    const noLength = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nhello'))
    await assert.rejects(
      get(noLength),
      (error: Error) => error instanceof Http1ResponseError && /Content-Length/.test(error.message),
    )
    const tooMany = await rawServer((socket) =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello'),
    )
    await assert.rejects(get(tooMany), /no more bytes than the Content-Length/)
    const hugeHead = await rawServer((socket) =>
      socket.write(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(20_000)}\r\n`),
    )
    await assert.rejects(get(hugeHead), /response head under/)
    const notHttp = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'))
    await assert.rejects(get(notHttp), /status line/)
  })

  it('fails when the server closes mid-body, and when nothing listens', async () => {
    const cut = await rawServer((socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'),
    )
    await assert.rejects(get(cut), /closed before the whole answer/)
    const closed = createNetServer()
    const url = await listen(closed)
    closed.close()
    await assert.rejects(get(url), /ECONNREFUSED/)
  })

  it('refuses header values with line breaks', async () => {
    await assert.rejects(
      http1Get({ url: await ready, headers: { 'x-bad': 'a\r\nb' }, signal: new AbortController().signal }),
      /line break/,
    )
  })
})
