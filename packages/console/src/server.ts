import { stat } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import { BaseError, type StoaDeployment } from '@stoa/protocol'
import Fastify, { type FastifyReply } from 'fastify'
import type { Address, Hex } from 'viem'
import { consoleDistDir } from './build.ts'

/** A devnet test account the console may sign with (the anvil keys of a public mnemonic: devnet only). */
export type ConsoleDevnetAccount = { name: string; address: Address; privateKey: Hex }

/** What `GET /config.json` answers: everything the app needs to read the chain and the gateways. */
export type ConsoleConfig = {
  chainId: number
  rpcUrl: string
  deployment: StoaDeployment
  /** Only for a devnet: the named test accounts, so the tenant view can act as one. */
  devnetAccounts?: ConsoleDevnetAccount[]
}

export type StartConsoleServerParameters = {
  deployment: StoaDeployment
  /** The JSON-RPC URL the browser uses; default the deployment's. */
  rpcUrl?: string | undefined
  /** Default 127.0.0.1. */
  host?: string | undefined
  /** Default 0: a free port. */
  port?: number | undefined
  /** Give these only for a devnet: config.json hands them to any page that asks. */
  devnetAccounts?: readonly ConsoleDevnetAccount[] | undefined
  /** The built app (default packages/console/dist; `ensureConsoleBuilt` makes it). */
  distDir?: string | undefined
}

export type ConsoleServer = {
  /** `http://host:port/` */
  url: string
  port: number
  close(): Promise<void>
}

export type StartConsoleServerReturnType = ConsoleServer

export type StartConsoleServerErrorType = ConsoleNotBuiltError | ConsolePortInUseError

/** The dist folder holds no index.html: `ensureConsoleBuilt` was not run (or failed). */
export class ConsoleNotBuiltError extends BaseError {
  constructor(distDir: string) {
    super(`The console is not built: ${join(distDir, 'index.html')} is missing.`, {
      name: 'ConsoleNotBuiltError',
      metaMessages: ['Build it with ensureConsoleBuilt() (the `stoa console` command does so).'],
    })
  }
}

/** Something else listens on the port asked for. */
export class ConsolePortInUseError extends BaseError {
  constructor(host: string, port: number, cause: unknown) {
    super(`Port ${port} on ${host} is already in use: the console cannot listen there.`, {
      name: 'ConsolePortInUseError',
      cause,
      metaMessages: ['Choose another port, or leave it out for a free one.'],
    })
  }
}

/**
 * The app reads the chain's RPC and the provider gateways (any origin) from the browser; everything
 * else comes from this server. Inline styles are allowed because the charts set style attributes.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' http: https: ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Serves the built console (static files from dist/) and `GET /config.json`, which tells the app
 * which chain and contracts to read. Every response carries the security headers; hashed assets are
 * cached for good, index.html and config.json never. Unknown paths get a JSON 404. The app routes
 * by URL hash, so no path needs to fall back to index.html.
 */
export async function startConsoleServer(
  parameters: StartConsoleServerParameters,
): Promise<StartConsoleServerReturnType> {
  const distDir = parameters.distDir ?? consoleDistDir
  try {
    await stat(join(distDir, 'index.html'))
  } catch {
    throw new ConsoleNotBuiltError(distDir)
  }
  const rpcUrl = parameters.rpcUrl ?? parameters.deployment.rpcUrl
  const config: ConsoleConfig = {
    chainId: parameters.deployment.chainId,
    rpcUrl,
    deployment: { ...parameters.deployment, rpcUrl },
    ...(parameters.devnetAccounts
      ? {
          devnetAccounts: parameters.devnetAccounts.map(({ name, address, privateKey }) => ({
            name,
            address,
            privateKey,
          })),
        }
      : {}),
  }
  const configJson = JSON.stringify(config)

  const app = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: true })

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    reply.header('cross-origin-opener-policy', 'same-origin')
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    if (!reply.hasHeader('cache-control')) {
      const path = request.url.split('?')[0] ?? ''
      reply.header(
        'cache-control',
        // Vite names every asset by its content hash: a changed file is a new URL.
        path.startsWith('/assets/') && reply.statusCode === 200
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      )
    }
    return payload
  })

  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, 'not-found', `No route ${request.method} ${request.url.split('?')[0]}.`)
  })
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(reply, status, 'bad-request', (error as Error).message)
    }
    return sendError(reply, 500, 'internal', 'The console server failed to handle the request.')
  })

  app.get('/config.json', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    reply.type('application/json; charset=utf-8')
    return configJson
  })

  await app.register(fastifyStatic, {
    root: distDir,
    // Files are looked up per request (no list made at start), so a rebuild shows without a restart.
    wildcard: true,
    index: 'index.html',
    dotfiles: 'ignore',
    // Set by the onSend hook instead.
    cacheControl: false,
  })

  const host = parameters.host ?? '127.0.0.1'
  try {
    await app.listen({ host, port: parameters.port ?? 0 })
  } catch (error) {
    await app.close()
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new ConsolePortInUseError(host, parameters.port ?? 0, error)
    throw error
  }
  const { port } = app.server.address() as AddressInfo
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`,
    port,
    close: () => app.close(),
  }
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } })
}
