import type { AddressInfo } from 'node:net'
import { type Duplex, Readable } from 'node:stream'
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors'
import { GatewayAuthError, gatewayAuthHeaders, verifyGatewayRequest } from '@stoa/protocol'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { Address } from 'viem'
import type { Capacity } from '../capacity.ts'
import type { ProviderChain } from '../chain/client.ts'
import type { ChainService } from '../chain/sync.ts'
import { ProviderRequestError } from '../errors.ts'
import type { LeaseManager } from '../leases/manager.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import { subtractResources } from '../resources.ts'
import type { StateStore } from '../state/store.ts'
import { StorageRequestError } from '../storage/errors.ts'
import { providerVersion } from '../version.ts'
import { recoverSigner } from './recover.ts'

export type GatewayInit = {
  host: string
  port: number
  bodyLimitBytes: number
  /** How far ahead a signature's expiry may be, seconds (default 300). */
  maxSkewSeconds?: number
  /** The health check reports not ok when the last chain sync is older than this, ms. */
  staleSyncMs: number
}

export type GatewayComponents = {
  chain: ProviderChain
  chainService: Pick<ChainService, 'lastHead' | 'lastSyncAt'>
  store: StateStore
  leases: LeaseManager
  capacity: Capacity
  /** The region and the ingress URL, for /v1/health. */
  info: () => { region: string; ingressUrl: string | undefined }
  logger?: Logger
  metrics?: ProviderMetrics
  /** The storage routes (`/v1/storage/...`), registered in a context of their own; none when storage is off. */
  storageRoutes?: ((app: FastifyInstance) => Promise<void>) | undefined
}

export type Gateway = {
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port` once listening (the bound port when `port` was 0). */
  readonly url: string | undefined
  readonly port: number | undefined
  /** The Fastify instance (for `inject` in tests). */
  readonly app: FastifyInstance
}

const MAX_UINT256 = 2n ** 256n - 1n

/**
 * CORS: a page on any origin (the console, a tenant's own dApp) may call the gateway. Requests are
 * authorized by the EIP-712 signature headers, never by cookies, so `*` gives a page nothing it could
 * not do with curl. A preflight is answered before any route runs: it needs no signature.
 */
const corsOptions: FastifyCorsOptions = {
  origin: '*',
  methods: ['GET', 'HEAD', 'PUT', 'POST'],
  allowedHeaders: ['content-type', 'range', ...Object.values(gatewayAuthHeaders)],
  exposedHeaders: [
    'content-length',
    'content-range',
    'accept-ranges',
    'x-stoa-sha256',
    'x-stoa-service',
    'x-stoa-root',
    'x-stoa-leaf-count',
    'x-stoa-level',
  ],
  maxAge: 600,
  // An OPTIONS request without the preflight headers gets the same 204 instead of the plugin's
  // plain-text 400: every error this gateway sends is JSON, and such a request asks for nothing.
  strictPreflight: false,
}

/**
 * The provider gateway (docs/compute-spec.md, "Gateway HTTP API"), on Fastify. Public: health,
 * capacity, metrics. Tenant routes (manifest, lease status, logs, results) verify the EIP-712
 * signature over method, path, body, lease, nonce and expiry (`verifyGatewayRequest`), require the
 * signer to be the tenant of the lease's order on chain (403), then refuse a reused nonce (401,
 * kept in SQLite until it expires). Any origin may call it from a browser (CORS). Every error is
 * JSON `{ error: { code, message } }`; bad input never gets a 5xx.
 */
export function gateway(init: GatewayInit): (components: GatewayComponents) => Gateway {
  return (components) => {
    const { chain, store, leases } = components
    const logger = (components.logger ?? silentLogger).child({ service: 'gateway' })
    const { chainId } = chain.deployment
    const market = chain.deployment.contracts.market
    const app = Fastify({
      loggerInstance: logger as unknown as FastifyBaseLogger,
      // Requests are logged (at debug) and counted by the onResponse hook below.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: init.bodyLimitBytes,
      forceCloseConnections: true,
      return503OnClosing: true,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
      clientErrorHandler: answerClientError,
    })
    let url: string | undefined
    let port: number | undefined

    // First, so that its hooks cover every route below and the storage routes' context.
    app.register(fastifyCors, corsOptions)

    // Bodies stay raw bytes: the signature covers sha256 of exactly what was sent.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched'
      components.metrics?.gatewayRequests.inc({
        method: request.method,
        route,
        status: String(reply.statusCode),
      })
      logger.debug(
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request',
      )
    })

    app.setNotFoundHandler((request, reply) => {
      sendError(reply, 404, 'not-found', `No route ${request.method} ${request.url.split('?')[0]}.`)
    })

    app.setErrorHandler((error, request, reply) => {
      if (error instanceof ProviderRequestError || error instanceof StorageRequestError)
        return sendError(reply, error.status, error.code, error.shortMessage, error.extra)
      if (error instanceof GatewayAuthError) return sendError(reply, 401, error.code, error.shortMessage)
      const fastifyError = error as { statusCode?: number; code?: string; message?: string }
      const status = fastifyError.statusCode
      if (status !== undefined && status >= 400 && status < 500) {
        const code =
          fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? 'body-too-large'
            : fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
              ? 'unsupported-media-type'
              : 'bad-request'
        return sendError(reply, status, code, fastifyError.message ?? 'Bad request.')
      }
      if (isChainUnavailable(error)) {
        logger.warn({ err: error, url: request.url }, 'the chain did not answer')
        return sendError(
          reply,
          503,
          'chain-unavailable',
          'The provider cannot reach its chain node right now; try again.',
        )
      }
      logger.error({ err: error, method: request.method, url: request.url }, 'gateway request failed')
      return sendError(reply, 500, 'internal', 'The provider failed to handle the request.')
    })

    // ---- public ----

    app.get('/v1/health', async (_request, reply) => {
      const lastSyncAt = components.chainService.lastSyncAt
      const ok = lastSyncAt !== undefined && Date.now() - lastSyncAt < init.staleSyncMs
      const info = components.info()
      reply.code(ok ? 200 : 503)
      return {
        ok,
        provider: chain.address,
        version: providerVersion,
        chainId,
        region: info.region,
        ...(info.ingressUrl !== undefined ? { ingressUrl: info.ingressUrl } : {}),
        block: components.chainService.lastHead?.number.toString() ?? null,
        lastSyncAgeMs: lastSyncAt === undefined ? null : Date.now() - lastSyncAt,
      }
    })

    app.get('/v1/capacity', async () => {
      const total = {
        cpuMillis: components.capacity.cpuMillis,
        memoryMiB: components.capacity.memoryMiB,
        storageMiB: components.capacity.storageMiB,
        gpus: components.capacity.gpus,
      }
      const reserved = store.reserved()
      return {
        total,
        reserved,
        available: subtractResources(total, reserved),
        ...(components.capacity.gpuModel !== undefined ? { gpuModel: components.capacity.gpuModel } : {}),
      }
    })

    app.get('/metrics', async (_request, reply) => {
      const metrics = components.metrics
      if (!metrics) return sendError(reply, 404, 'not-found', 'Metrics are off.')
      metrics.leasesActive.set(store.liveLeases().length)
      const reserved = store.reserved()
      for (const resource of ['cpuMillis', 'memoryMiB', 'storageMiB', 'gpus'] as const) {
        metrics.capacity.set({ resource, kind: 'total' }, components.capacity[resource])
        metrics.capacity.set({ resource, kind: 'reserved' }, reserved[resource])
      }
      reply.type(metrics.registry.contentType)
      return await metrics.registry.metrics()
    })

    // ---- tenant (signed) ----

    /** Verifies the signature, refuses replays, checks the tenant; returns the lease id. */
    async function authenticate(request: FastifyRequest): Promise<{ leaseId: bigint; signer: Address }> {
      const body = Buffer.isBuffer(request.body) ? request.body : undefined
      const verified = await verifyGatewayRequest({
        headers: request.headers,
        method: request.method,
        path: request.url,
        body,
        chainId,
        market,
        recoverAddress: recoverSigner,
        ...(init.maxSkewSeconds !== undefined ? { maxSkewSeconds: init.maxSkewSeconds } : {}),
      })
      // The tenant check comes before the nonce is spent: a signature that is valid but not the
      // tenant's (403) or for a lease not held here (404) leaves no row in the nonce table.
      const leaseId = parseLeaseIdParam((request.params as { leaseId?: unknown }).leaseId)
      await leases.authorize(leaseId, verified.signer)
      if (!store.useNonce(verified.signer, verified.nonce, verified.expiry)) {
        throw new ProviderRequestError(
          401,
          'replayed',
          `Nonce ${verified.nonce} of ${verified.signer} was already used.`,
        )
      }
      return { leaseId, signer: verified.signer }
    }

    app.put('/v1/leases/:leaseId/manifest', async (request, reply) => {
      const { leaseId } = await authenticate(request)
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
        throw new ProviderRequestError(400, 'invalid-json', 'Expected a JSON body { manifest, modules? }.')
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(request.body.toString('utf8'))
      } catch {
        throw new ProviderRequestError(400, 'invalid-json', 'The body is not valid JSON.')
      }
      const accepted = await leases.submitManifest(leaseId, parsed)
      reply.code(202)
      return accepted
    })

    app.get('/v1/leases/:leaseId', async (request) => {
      const { leaseId } = await authenticate(request)
      return await leases.status(leaseId)
    })

    app.get('/v1/leases/:leaseId/logs', async (request, reply) => {
      const { leaseId } = await authenticate(request)
      const query = request.query as Record<string, unknown>
      const service = optionalText(query.service, 'service')
      const follow = parseFlag(query.follow, 'follow')
      const tail = optionalInteger(query.tail, 'tail', 0, 1_000_000)
      const controller = new AbortController()
      reply.raw.on('close', () => controller.abort())
      const iterator = await leases.logs(leaseId, {
        service,
        follow,
        tail,
        signal: controller.signal,
      })
      const lines = (async function* () {
        try {
          for (;;) {
            const { done, value } = await iterator.next()
            if (done || controller.signal.aborted) return
            yield `${value}\n`
          }
        } finally {
          await iterator.return?.()
        }
      })()
      reply.type('text/plain; charset=utf-8')
      reply.header('cache-control', 'no-store')
      return reply.send(Readable.from(lines))
    })

    app.get('/v1/leases/:leaseId/results', async (request) => {
      const { leaseId } = await authenticate(request)
      const service = optionalText((request.query as Record<string, unknown>).service, 'service')
      return { leaseId: leaseId.toString(), files: await leases.results(leaseId, service) }
    })

    app.get('/v1/leases/:leaseId/results/*', async (request, reply) => {
      const { leaseId } = await authenticate(request)
      const name = (request.params as { '*'?: unknown })['*']
      if (typeof name !== 'string' || name.length === 0 || name.length > 4096) {
        throw new ProviderRequestError(400, 'bad-request', 'Expected a result file name after /results/.')
      }
      const service = optionalText((request.query as Record<string, unknown>).service, 'service')
      const { handle, result } = await leases.openResult(leaseId, name, service)
      reply.header('content-type', 'application/octet-stream')
      reply.header('content-length', String(result.size))
      reply.header('x-stoa-sha256', result.sha256)
      reply.header('x-stoa-service', result.service)
      return reply.send(handle.createReadStream())
    })

    if (components.storageRoutes) app.register(components.storageRoutes)

    return {
      app,
      get url() {
        return url
      },
      get port() {
        return port
      },
      async start() {
        await app.listen({ host: init.host, port: init.port })
        const address = app.server.address() as AddressInfo
        port = address.port
        const host = init.host === '0.0.0.0' || init.host === '::' ? '127.0.0.1' : init.host
        url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
        logger.info({ url }, 'gateway listening')
      },
      async stop() {
        await app.close()
      },
    }
  }
}

function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error: { code, message, ...(extra ?? {}) } })
}

/** A request Node's parser refused (bad method, header overflow...): a JSON error, then close. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request']
  const body = JSON.stringify({
    error: {
      code: 'bad-request',
      message: `The request could not be parsed (${error.code ?? 'malformed'}).`,
    },
  })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

function parseLeaseIdParam(value: unknown): bigint {
  if (typeof value !== 'string' || !/^\d{1,78}$/.test(value)) {
    throw new ProviderRequestError(400, 'invalid-lease-id', 'Expected a lease id: a decimal integer.')
  }
  const leaseId = BigInt(value)
  if (leaseId === 0n || leaseId > MAX_UINT256) {
    throw new ProviderRequestError(400, 'invalid-lease-id', 'Expected a lease id between 1 and 2^256 - 1.')
  }
  return leaseId
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) {
    throw new ProviderRequestError(400, 'invalid-query', `Expected ?${name}= once, with a short name.`)
  }
  return value
}

function parseFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false
  if (value === '1' || value === 'true' || value === '') return true
  if (value === '0' || value === 'false') return false
  throw new ProviderRequestError(400, 'invalid-query', `Expected ?${name}=1 or ?${name}=0.`)
}

function optionalInteger(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ProviderRequestError(
      400,
      'invalid-query',
      `Expected ?${name}= to be an integer from ${min} to ${max}.`,
    )
  }
  return Number(value)
}

/** Whether an error (or its cause) is a failure to reach the chain node. */
function isChainUnavailable(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; current && depth < 8; depth++) {
    const name = (current as { name?: unknown }).name
    if (
      name === 'HttpRequestError' ||
      name === 'TimeoutError' ||
      name === 'WebSocketRequestError' ||
      name === 'SocketClosedError'
    ) {
      return true
    }
    current = (current as { cause?: unknown }).cause
  }
  return false
}
