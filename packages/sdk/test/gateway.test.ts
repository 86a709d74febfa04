/**
 * The gateway client against a real Fastify server that authenticates like the spec says:
 * `verifyGatewayRequest` over the raw body, a replay check on (signer, nonce), 403 for a signer
 * that is not the lease's tenant, and JSON errors `{ error: { code, message } }`.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import {
  decodeManifestSubmission,
  GatewayAuthError,
  type NormalizedManifest,
  parseManifest,
  verifyGatewayRequest,
} from '@stoa/protocol'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { type Address, type Hex, sha256 } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { findFreePort } from '../src/devnet/index.ts'
import {
  createGatewayClient,
  GatewayError,
  GatewayResponseError,
  GatewaySignerRequiredError,
  GatewayTimeoutError,
  GatewayUnreachableError,
  measureGatewayLatency,
} from '../src/index.ts'

const chainId = 31337
const market: Address = '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707'
const tenant = privateKeyToAccount(generatePrivateKey())
const stranger = privateKeyToAccount(generatePrivateKey())
const LEASE = (7n << 32n) | 1n
const SLOW_LEASE = (8n << 32n) | 0n
const BROKEN_LEASE = (9n << 32n) | 0n
const resultBytes = new TextEncoder().encode('P3\n1 1\n255\n255 0 0\n')

// A WASI module header is all parseManifest checks; the bytes travel base64 in the body.
const wasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x2a])
const parsed = await parseManifest(
  `version: "1"
services:
  render:
    wasm: ./render.wasm
    args: ["--frame", "0"]
    resources: { cpu: 1, memory: 64Mi }
placement: { maxUsdPerHour: "0.10" }
duration: 1h
`,
  { baseDir: '/virtual', readFile: () => wasm },
)

type Received = { method: string; url: string; signer: Address; nonce: bigint }
const received: Received[] = []
let manifests: { leaseId: string; manifest: NormalizedManifest; modules: Map<Hex, Uint8Array> }[] = []
const followClosed: string[] = []
let app: FastifyInstance
let url: string

function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } })
}

before(async () => {
  app = Fastify()
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  const usedNonces = new Set<string>()

  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    try {
      const verified = await verifyGatewayRequest({
        headers: request.headers,
        method: request.method,
        path: request.url,
        body: Buffer.isBuffer(request.body) ? request.body : undefined,
        chainId,
        market,
      })
      const key = `${verified.signer}:${verified.nonce}`
      if (usedNonces.has(key)) {
        fail(reply, 401, 'replayed', `Nonce ${verified.nonce} was already used.`)
        return false
      }
      usedNonces.add(key)
      received.push({
        method: request.method,
        url: request.url,
        signer: verified.signer,
        nonce: verified.nonce,
      })
      if (verified.signer !== tenant.address) {
        fail(reply, 403, 'not-tenant', `${verified.signer} is not the tenant of lease ${verified.leaseId}.`)
        return false
      }
      return true
    } catch (error) {
      if (error instanceof GatewayAuthError) {
        fail(reply, 401, error.code, error.shortMessage)
        return false
      }
      throw error
    }
  }

  app.get('/v1/health', async () => ({
    ok: true,
    provider: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    version: '0.1.0',
    chainId,
    region: 'eu-west',
    ingressUrl: 'http://127.0.0.1:9999/',
  }))
  app.get('/v1/capacity', async () => ({
    total: { cpuMillis: 4000, memoryMiB: 8192, storageMiB: 10240, gpus: 0 },
    reserved: { cpuMillis: 1000, memoryMiB: 64, storageMiB: 0, gpus: 0 },
    available: { cpuMillis: 3000, memoryMiB: 8128, storageMiB: 10240, gpus: 0 },
  }))
  app.put('/v1/leases/:leaseId/manifest', async (request, reply) => {
    if (!(await authenticate(request, reply))) return reply
    const decoded = decodeManifestSubmission(JSON.parse((request.body as Buffer).toString('utf8')))
    if (decoded.hash !== parsed.hash) return fail(reply, 409, 'hash-mismatch', 'Not the order manifest.')
    const { leaseId } = request.params as { leaseId: string }
    manifests.push({ leaseId, manifest: decoded.manifest, modules: decoded.modules })
    return reply.code(202).send({ leaseId, status: 'starting' })
  })
  app.get('/v1/leases/:leaseId', async (request, reply) => {
    if (!(await authenticate(request, reply))) return reply
    const { leaseId } = request.params as { leaseId: string }
    if (BigInt(leaseId) === SLOW_LEASE) await new Promise((resolve) => setTimeout(resolve, 2_000))
    if (BigInt(leaseId) === BROKEN_LEASE) return reply.code(502).type('text/plain').send('upstream exploded')
    if (BigInt(leaseId) !== LEASE)
      return fail(reply, 404, 'lease-not-found', `Lease ${leaseId} is not held here.`)
    return {
      leaseId,
      orderId: '7',
      status: 'exited',
      services: [{ name: 'render', kind: 'job', runtime: 'wasm', status: 'exited', exitCode: 0 }],
    }
  })
  app.get('/v1/leases/:leaseId/logs', async (request, reply) => {
    if (!(await authenticate(request, reply))) return reply
    const query = request.query as { follow?: string; tail?: string; service?: string }
    const stream = new PassThrough()
    reply.type('text/plain; charset=utf-8')
    if (query.follow === '1') {
      // One line every 20 ms until the client goes away; the last line is split across writes.
      let n = 0
      const timer = setInterval(() => {
        n++
        stream.write(`tick ${n}`)
        setTimeout(() => stream.write('\n'), 5)
      }, 20)
      reply.raw.on('close', () => {
        clearInterval(timer)
        followClosed.push(request.url)
        stream.end()
      })
    } else {
      const lines = ['frame 0 start', 'héllo wörld', 'frame 0 done'].slice(-(Number(query.tail ?? 3) || 3))
      stream.end(`${lines.join('\r\n')}\n`)
    }
    return reply.send(stream)
  })
  app.get('/v1/leases/:leaseId/results', async (request, reply) => {
    if (!(await authenticate(request, reply))) return reply
    return {
      leaseId: (request.params as { leaseId: string }).leaseId,
      files: [
        {
          service: 'render',
          name: 'frames/frame-000.ppm',
          size: resultBytes.length,
          sha256: sha256(resultBytes).slice(2),
        },
      ],
    }
  })
  app.get('/v1/leases/:leaseId/results/*', async (request, reply) => {
    if (!(await authenticate(request, reply))) return reply
    const name = (request.params as { '*': string })['*']
    if (name !== 'frames/frame-000.ppm') return fail(reply, 404, 'result-not-found', `No result ${name}.`)
    return reply.type('application/octet-stream').send(Buffer.from(resultBytes))
  })

  await app.listen({ host: '127.0.0.1', port: 0 })
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
})

after(async () => {
  await app?.close()
})

const gatewayAs = (
  account: typeof tenant | undefined,
  extra: { timeoutMs?: number; fetch?: typeof fetch } = {},
) => createGatewayClient({ url, chainId, market, ...(account ? { account } : {}), ...extra })

describe('public routes', () => {
  test('health and capacity need no account and parse the ingress URL', async () => {
    const gateway = gatewayAs(undefined)
    const health = await gateway.health()
    assert.equal(health.ok, true)
    assert.equal(health.chainId, chainId)
    assert.equal(health.region, 'eu-west')
    assert.equal(health.ingressUrl, 'http://127.0.0.1:9999')
    const capacity = await gateway.capacity()
    assert.equal(capacity.available.cpuMillis, 3000)
    assert.equal(capacity.reserved.memoryMiB, 64)
  })

  test('measureGatewayLatency times a health round trip; a dead gateway measures null', async () => {
    const ms = await measureGatewayLatency({ url, timeoutMs: 1_000 })
    assert.equal(typeof ms, 'number')
    assert.ok(ms !== null && ms >= 0 && ms < 1_000)
    const dead = `http://127.0.0.1:${await findFreePort()}`
    assert.equal(await measureGatewayLatency({ url: dead, timeoutMs: 500 }), null)
  })
})

describe('signed requests', () => {
  test('putManifest sends the normalized manifest and its modules; the server verifies the signature', async () => {
    manifests = []
    const accepted = await gatewayAs(tenant).putManifest({
      leaseId: LEASE,
      manifest: parsed.manifest,
      modules: parsed.modules,
    })
    assert.deepEqual(accepted, { leaseId: LEASE, status: 'starting' })
    assert.equal(manifests.length, 1)
    assert.deepEqual(manifests[0]?.manifest, parsed.manifest)
    const [digest, bytes] = [...(manifests[0]?.modules ?? [])][0] ?? []
    assert.equal(digest, sha256(wasm))
    assert.deepEqual(bytes, wasm)
    assert.deepEqual(received.at(-1), {
      method: 'PUT',
      url: `/v1/leases/${LEASE}/manifest`,
      signer: tenant.address,
      nonce: received.at(-1)?.nonce,
    })
  })

  test('leaseStatus returns the parsed status; each request carries a fresh nonce', async () => {
    const gateway = gatewayAs(tenant)
    const first = await gateway.leaseStatus({ leaseId: LEASE })
    const second = await gateway.leaseStatus({ leaseId: LEASE })
    assert.equal(first.leaseId, LEASE)
    assert.equal(first.status, 'exited')
    assert.deepEqual(first.services, [{ name: 'render', kind: 'job', status: 'exited', exitCode: 0 }])
    assert.deepEqual(second, first)
    const [a, b] = received.slice(-2)
    assert.notEqual(a?.nonce, b?.nonce)
  })

  test('a function signer (an external wallet) works too', async () => {
    const gateway = createGatewayClient({
      url,
      chainId,
      market,
      account: (typedData) => tenant.signTypedData(typedData),
    })
    assert.equal((await gateway.leaseStatus({ leaseId: LEASE })).status, 'exited')
  })

  test('another account gets 403 as a GatewayError with the code and status', async () => {
    await assert.rejects(
      gatewayAs(stranger).leaseStatus({ leaseId: LEASE }),
      (error: unknown) =>
        error instanceof GatewayError &&
        error.status === 403 &&
        error.code === 'not-tenant' &&
        error.gatewayMessage.includes(stranger.address) &&
        error.shortMessage.startsWith(`The gateway refused GET /v1/leases/${LEASE} with 403 not-tenant`),
    )
  })

  test('a request changed after signing is refused with 401 bad-signature', async () => {
    // A proxy that rewrites the query in transit: the signature no longer covers what arrives.
    const tampering: typeof fetch = (input, init) => fetch(`${String(input)}?tail=1000`, init)
    await assert.rejects(
      gatewayAs(tenant, { fetch: tampering }).leaseStatus({ leaseId: LEASE }),
      (error: unknown) =>
        error instanceof GatewayError && error.status === 401 && error.code === 'bad-signature',
    )
  })

  test('a replayed request is refused with 401 replayed', async () => {
    let captured: { url: string; init: RequestInit } | undefined
    const recording: typeof fetch = (input, init) => {
      captured = { url: String(input), init: { ...init, signal: null } }
      return fetch(input, init)
    }
    await gatewayAs(tenant, { fetch: recording }).leaseStatus({ leaseId: LEASE })
    assert.ok(captured)
    const replay = await fetch(captured.url, captured.init)
    assert.equal(replay.status, 401)
    assert.deepEqual(((await replay.json()) as { error: { code: string } }).error.code, 'replayed')
  })

  test('an unsigned request is refused with 401 missing-signature', async () => {
    const response = await fetch(`${url}/v1/leases/${LEASE}`)
    assert.equal(response.status, 401)
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'missing-signature')
  })

  test('a client without an account refuses to send a lease request', async () => {
    await assert.rejects(gatewayAs(undefined).leaseStatus({ leaseId: LEASE }), GatewaySignerRequiredError)
  })
})

describe('error mapping, timeouts and abort', () => {
  test('a JSON error body becomes a GatewayError with its code and message', async () => {
    const unknown = (3n << 32n) | 0n
    await assert.rejects(
      gatewayAs(tenant).leaseStatus({ leaseId: unknown }),
      (error: unknown) =>
        error instanceof GatewayError &&
        error.status === 404 &&
        error.code === 'lease-not-found' &&
        error.gatewayMessage === `Lease ${unknown} is not held here.`,
    )
  })

  test('a non-JSON error body keeps its text with the code http-<status>', async () => {
    await assert.rejects(
      gatewayAs(tenant).leaseStatus({ leaseId: BROKEN_LEASE }),
      (error: unknown) =>
        error instanceof GatewayError &&
        error.status === 502 &&
        error.code === 'http-502' &&
        error.gatewayMessage === 'upstream exploded',
    )
  })

  test('a slow answer becomes a GatewayTimeoutError after the time limit', async () => {
    const started = performance.now()
    await assert.rejects(
      gatewayAs(tenant, { timeoutMs: 200 }).leaseStatus({ leaseId: SLOW_LEASE }),
      (error: unknown) => error instanceof GatewayTimeoutError && error.timeoutMs === 200,
    )
    assert.ok(performance.now() - started < 1_500)
  })

  test('no server becomes a GatewayUnreachableError naming the cause', async () => {
    const dead = createGatewayClient({ url: `http://127.0.0.1:${await findFreePort()}`, chainId, market })
    await assert.rejects(
      dead.health(),
      (error: unknown) =>
        error instanceof GatewayUnreachableError && error.shortMessage.includes('ECONNREFUSED'),
    )
  })

  test('aborting rejects with the signal reason, not a gateway error', async () => {
    const controller = new AbortController()
    const pending = gatewayAs(tenant).leaseStatus({ leaseId: SLOW_LEASE, signal: controller.signal })
    setTimeout(() => controller.abort(new Error('user pressed Ctrl-C')), 50)
    await assert.rejects(pending, { message: 'user pressed Ctrl-C' })
    const aborted = AbortSignal.abort()
    await assert.rejects(gatewayAs(tenant).health({ signal: aborted }), { name: 'AbortError' })
  })

  test('a success body that is not JSON is a GatewayResponseError', async () => {
    const html: typeof fetch = async () => new Response('<html>login</html>', { status: 200 })
    await assert.rejects(gatewayAs(undefined, { fetch: html }).health(), GatewayResponseError)
  })
})

describe('logs and results', () => {
  test('logs yields lines (CRLF and UTF-8 included) and passes tail', async () => {
    const lines: string[] = []
    for await (const line of gatewayAs(tenant).logs({ leaseId: LEASE, tail: 2 })) lines.push(line)
    assert.deepEqual(lines, ['héllo wörld', 'frame 0 done'])
    assert.equal(received.at(-1)?.url, `/v1/leases/${LEASE}/logs?tail=2`)
  })

  test('a followed stream runs past the time limit; breaking out closes the connection', async () => {
    const lines: string[] = []
    for await (const line of gatewayAs(tenant, { timeoutMs: 100 }).logs({
      leaseId: LEASE,
      follow: true,
      service: 'render',
    })) {
      lines.push(line)
      if (lines.length === 12) break
    }
    assert.deepEqual(
      lines,
      Array.from({ length: 12 }, (_, index) => `tick ${index + 1}`),
    )
    const path = `/v1/leases/${LEASE}/logs?service=render&follow=1`
    await waitFor(() => followClosed.includes(path))
  })

  test('aborting a followed stream ends the iteration with the abort reason', async () => {
    const controller = new AbortController()
    const lines: string[] = []
    await assert.rejects(
      (async () => {
        for await (const line of gatewayAs(tenant).logs({
          leaseId: LEASE,
          follow: true,
          signal: controller.signal,
        })) {
          lines.push(line)
          if (lines.length === 3) controller.abort(new Error('stop following'))
        }
      })(),
      { message: 'stop following' },
    )
    assert.ok(lines.length >= 3)
  })

  test('results lists files with 0x digests; resultFile fetches and checks the bytes', async () => {
    const gateway = gatewayAs(tenant)
    const files = await gateway.results({ leaseId: LEASE })
    assert.deepEqual(files, [
      {
        name: 'frames/frame-000.ppm',
        size: resultBytes.length,
        sha256: sha256(resultBytes),
        service: 'render',
      },
    ])
    const bytes = await gateway.resultFile({
      leaseId: LEASE,
      name: 'frames/frame-000.ppm',
      sha256: files[0]?.sha256,
    })
    assert.deepEqual(bytes, resultBytes)
    await assert.rejects(
      gateway.resultFile({
        leaseId: LEASE,
        name: 'frames/frame-000.ppm',
        sha256: sha256(new Uint8Array([1])),
      }),
      GatewayResponseError,
    )
    await assert.rejects(
      gateway.resultFile({ leaseId: LEASE, name: 'nope.txt' }),
      (error: unknown) => error instanceof GatewayError && error.code === 'result-not-found',
    )
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
