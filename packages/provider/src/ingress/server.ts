import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { ProviderRequestError } from '../errors.ts'
import type { LeaseManager } from '../leases/manager.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'

export type IngressInit = {
  host: string
  port: number
  /** How long to wait for a service to accept the connection, ms. */
  connectTimeoutMs?: number
}

export type IngressComponents = {
  leases: Pick<LeaseManager, 'serviceTarget' | 'probe'>
  logger?: Logger
  metrics?: ProviderMetrics
}

export type Ingress = {
  start(): Promise<void>
  stop(): Promise<void>
  readonly url: string | undefined
  readonly port: number | undefined
}

// Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/**
 * The ingress: an HTTP reverse proxy on its own port, the only way into a service container.
 * `/l/<leaseId>/<service>/<path>` goes to the service's exposed HTTP port at the container's
 * address on the internal network (`runtime.serviceAddress`), with the prefix stripped and bodies
 * streamed both ways. `/l/<leaseId>/` answers the lease's health for probes (200 healthy, 503 not).
 * Errors are JSON: 404 for an unknown lease or service, 502 when the service is down.
 */
export function ingress(init: IngressInit): (components: IngressComponents) => Ingress {
  return (components) => {
    const logger = (components.logger ?? silentLogger).child({ service: 'ingress' })
    const sockets = new Set<Socket>()
    let url: string | undefined
    let port: number | undefined

    const count = (status: number) => components.metrics?.ingressRequests.inc({ status: String(status) })

    function sendJson(response: ServerResponse, status: number, body: unknown): void {
      count(status)
      if (response.headersSent) {
        response.destroy()
        return
      }
      const text = JSON.stringify(body)
      response.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      })
      response.end(text)
    }

    function sendError(response: ServerResponse, error: ProviderRequestError): void {
      sendJson(response, error.status, { error: { code: error.code, message: error.shortMessage } })
    }

    async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
      const target = request.url ?? '/'
      const queryAt = target.indexOf('?')
      const pathname = queryAt === -1 ? target : target.slice(0, queryAt)
      const search = queryAt === -1 ? '' : target.slice(queryAt)
      const match = /^\/l\/(\d{1,78})(?:\/([a-z][a-z0-9-]{0,31}))?(\/.*)?$/.exec(pathname)
      if (!match) {
        throw new ProviderRequestError(404, 'not-found', 'Expected /l/<leaseId>/<service>/<path>.')
      }
      const leaseId = BigInt(match[1] as string)
      const service = match[2]
      const rest = match[3]
      if (service === undefined) {
        if (rest !== undefined && rest !== '/')
          throw new ProviderRequestError(404, 'not-found', 'Expected /l/<leaseId>/<service>/<path>.')
        const { healthy, lease } = await components.leases.probe(leaseId)
        sendJson(response, healthy ? 200 : 503, {
          healthy,
          leaseId: lease.leaseId,
          status: lease.status,
          services: lease.services,
        })
        return
      }
      if (rest === undefined) {
        // Relative links of the service resolve under its prefix only with a trailing slash.
        count(308)
        response.writeHead(308, { location: `/l/${leaseId}/${service}/${search}` })
        response.end()
        return
      }
      const address = await components.leases.serviceTarget(leaseId, service)
      const colon = address.lastIndexOf(':')
      const host = address.slice(0, colon)
      const targetPort = Number(address.slice(colon + 1))
      await proxy(request, response, {
        host,
        port: targetPort,
        path: `${rest}${search}`,
        prefix: `/l/${leaseId}/${service}`,
      })
    }

    function proxy(
      request: IncomingMessage,
      response: ServerResponse,
      target: { host: string; port: number; path: string; prefix: string },
    ): Promise<void> {
      return new Promise((resolve) => {
        const headers: OutgoingHttpHeaders = {}
        for (const [name, value] of Object.entries(request.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue
          headers[name] = value
        }
        const forwardedFor = request.headers['x-forwarded-for']
        const client = request.socket.remoteAddress ?? ''
        headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${client}` : client
        headers['x-forwarded-host'] = request.headers.host ?? ''
        headers['x-forwarded-proto'] = 'http'
        headers['x-forwarded-prefix'] = target.prefix
        const upstream = http.request({
          host: target.host,
          port: target.port,
          method: request.method,
          path: target.path,
          headers,
          timeout: init.connectTimeoutMs ?? 5_000,
        })
        upstream.on('timeout', () => upstream.destroy(new Error('the service did not answer in time')))
        upstream.on('response', (answer) => {
          const outgoing: OutgoingHttpHeaders = {}
          for (const [name, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) outgoing[name] = value
          }
          count(answer.statusCode ?? 502)
          response.writeHead(answer.statusCode ?? 502, outgoing)
          answer.pipe(response)
          answer.on('end', () => resolve())
          answer.on('error', () => {
            response.destroy()
            resolve()
          })
        })
        upstream.on('error', (error) => {
          logger.debug({ err: error, target: `${target.host}:${target.port}` }, 'service unreachable')
          sendError(
            response,
            new ProviderRequestError(502, 'service-unavailable', 'The service did not answer.'),
          )
          resolve()
        })
        response.on('close', () => {
          if (!response.writableFinished) upstream.destroy()
        })
        request.pipe(upstream)
      })
    }

    const server = http.createServer((request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (error instanceof ProviderRequestError) return sendError(response, error)
        logger.error({ err: error, url: request.url }, 'ingress request failed')
        sendError(
          response,
          new ProviderRequestError(502, 'service-unavailable', 'The ingress could not reach the service.'),
        )
      })
    })
    server.on('connection', (socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    server.on('clientError', (_error, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      else socket.destroy()
    })

    return {
      get url() {
        return url
      },
      get port() {
        return port
      },
      async start() {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen(init.port, init.host, () => {
            server.off('error', reject)
            resolve()
          })
        })
        port = (server.address() as AddressInfo).port
        const host = init.host === '0.0.0.0' || init.host === '::' ? '127.0.0.1' : init.host
        url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
        logger.info({ url }, 'ingress listening')
      },
      async stop() {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const socket of sockets) socket.destroy()
        await closed
      },
    }
  }
}
