import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AnvilExitedError, AnvilNotFoundError, AnvilStartTimeoutError } from './errors.ts'

/** Chain id anvil uses unless told otherwise; also the devnet's default. */
export const DEVNET_CHAIN_ID = 31337

export type StartAnvilParameters = {
  /** Port to listen on. Left out: anvil binds port 0 and the kernel picks a free one. */
  port?: number
  /** Host to listen on (default 127.0.0.1). */
  host?: string
  /**
   * anvil `--state`: the chain is loaded from this file when it exists and dumped to it when
   * anvil exits after SIGTERM/SIGINT (so call `stop()`, not SIGKILL, to keep the chain).
   */
  stateFile?: string
  /** Also dump the state every this many seconds (anvil `--state-interval`), so a crash loses little. */
  stateIntervalSeconds?: number
  chainId?: number
  /** Seconds between blocks (anvil `--block-time`). Left out: a block per transaction (automine). */
  blockTime?: number
  /** Extra command-line arguments for anvil. */
  args?: readonly string[]
  /** How long to wait for the RPC to answer (default 30 s; loading a large state takes a while). */
  timeoutMs?: number
  /** Aborting before the RPC answers stops anvil and rejects; aborting later stops anvil. */
  signal?: AbortSignal
  /** Every line anvil writes (stdout and stderr), for a verbose log. */
  onLog?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Path of the anvil executable; default: the one npm installed (see `resolveAnvilBinary`). */
  binary?: string
}

export type AnvilInstance = {
  rpcUrl: string
  port: number
  host: string
  chainId: number
  process: ChildProcess
  /** Milliseconds from spawn until `eth_chainId` answered. */
  startupMs: number
  /** SIGTERM, then wait for exit (anvil dumps `--state` first). SIGKILL after `timeoutMs` (default 15 s). */
  stop(options?: { timeoutMs?: number }): Promise<void>
  /** Resolves when anvil exits, however that happens. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Recent output lines, for error messages. */
  recentOutput(): string[]
}

export type StartAnvilReturnType = AnvilInstance
export type StartAnvilErrorType = AnvilNotFoundError | AnvilExitedError | AnvilStartTimeoutError

const OUTPUT_LINES_KEPT = 40
const LISTENING_LINE = /Listening on ([^\s]+):(\d+)/

/**
 * Spawns a local anvil chain and resolves once its JSON-RPC answers `eth_chainId`.
 *
 * The process is killed when the current Node process exits, so a crashed caller leaves no
 * anvil behind; call `stop()` for a clean shutdown (and a state dump).
 */
export async function startAnvil(params: StartAnvilParameters = {}): Promise<StartAnvilReturnType> {
  const host = params.host ?? '127.0.0.1'
  const chainId = params.chainId ?? DEVNET_CHAIN_ID
  const timeoutMs = params.timeoutMs ?? 30_000
  const binary = params.binary ?? resolveAnvilBinary()
  params.signal?.throwIfAborted()

  const args = ['--host', host, '--port', String(params.port ?? 0), '--chain-id', String(chainId)]
  if (params.stateFile !== undefined) {
    await mkdir(dirname(resolve(params.stateFile)), { recursive: true })
    args.push('--state', params.stateFile)
    if (params.stateIntervalSeconds !== undefined) {
      args.push('--state-interval', String(params.stateIntervalSeconds))
    }
  }
  if (params.blockTime !== undefined) args.push('--block-time', String(params.blockTime))
  if (params.args) args.push(...params.args)

  const startedAt = performance.now()
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const remember = (line: string, stream: 'stdout' | 'stderr') => {
    output.push(stream === 'stderr' ? `[stderr] ${line}` : line)
    if (output.length > OUTPUT_LINES_KEPT) output.shift()
    params.onLog?.(line, stream)
  }

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }))
  })
  const killOnParentExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', killOnParentExit)
  void exited.then(() => process.off('exit', killOnParentExit))

  // Both pipes are drained for the whole life of the process: anvil logs every request, and an
  // unread pipe would fill up and block it.
  let onListening: ((host: string, port: number) => void) | undefined
  forEachLine(child.stdout, (line) => {
    remember(line, 'stdout')
    const match = LISTENING_LINE.exec(line)
    if (match?.[1] !== undefined && match[2] !== undefined) onListening?.(match[1], Number(match[2]))
  })
  forEachLine(child.stderr, (line) => remember(line, 'stderr'))

  const stop = async (options: { timeoutMs?: number } = {}): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000)
    try {
      await exited
    } finally {
      clearTimeout(timer)
    }
  }

  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(
        () => reject(new AnvilStartTimeoutError({ timeoutMs, binary, args, output: [...output] })),
        timeoutMs,
      )
      const onAbort = () => reject(params.signal?.reason ?? new Error('aborted'))
      params.signal?.addEventListener('abort', onAbort, { once: true })
      const cleanup = () => {
        clearTimeout(timer)
        params.signal?.removeEventListener('abort', onAbort)
      }
      child.once('error', (error) => {
        cleanup()
        reject(new AnvilExitedError({ binary, args, code: null, output: [...output], cause: error }))
      })
      void exited.then(({ code, signal }) => {
        cleanup()
        reject(new AnvilExitedError({ binary, args, code, signal, output: [...output] }))
      })
      onListening = (_host, listeningPort) => {
        waitForRpc(`http://${formatHost(host)}:${listeningPort}`, chainId, exited).then(
          () => {
            cleanup()
            resolvePort(listeningPort)
          },
          (error: unknown) => {
            cleanup()
            reject(error)
          },
        )
      }
    })
    const rpcUrl = `http://${formatHost(host)}:${port}`
    const instance: AnvilInstance = {
      rpcUrl,
      port,
      host,
      chainId,
      process: child,
      startupMs: performance.now() - startedAt,
      stop,
      exited,
      recentOutput: () => [...output],
    }
    if (params.signal?.aborted) void stop()
    else params.signal?.addEventListener('abort', () => void stop(), { once: true })
    return instance
  } catch (error) {
    await stop({ timeoutMs: 2_000 })
    throw error
  }
}

/**
 * The anvil executable npm installed: the platform package's native binary when present
 * (no Node wrapper in between, so signals reach anvil itself), else `node_modules/.bin/anvil`
 * found by walking up from this file. `STOA_ANVIL_BIN` overrides both.
 */
export function resolveAnvilBinary(): string {
  const override = process.env.STOA_ANVIL_BIN
  if (override) return override
  const platform = process.platform === 'win32' ? 'win32' : process.platform
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  const require = createRequire(import.meta.url)
  try {
    return require.resolve(`@foundry-rs/anvil-${platform}-${arch}/bin/${exe}`)
  } catch {
    // Not installed for this platform under that name: fall back to the npm wrapper.
  }
  const searched: string[] = []
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'node_modules', '.bin', exe)
    searched.push(candidate)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  throw new AnvilNotFoundError({ searched })
}

/** A TCP port that was free a moment ago (bound to port 0, then released). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

async function waitForRpc(rpcUrl: string, expectedChainId: number, exited: Promise<unknown>): Promise<void> {
  let done = false
  void exited.then(() => {
    done = true
  })
  for (let attempt = 0; !done; attempt++) {
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      const body = (await response.json()) as { result?: string }
      if (body.result !== undefined) {
        if (Number(body.result) !== expectedChainId) {
          throw new Error(`anvil answered chain id ${Number(body.result)}, expected ${expectedChainId}`)
        }
        return
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('anvil answered')) throw error
      // Not accepting connections yet.
    }
    await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 200)))
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

function forEachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return
  let pending = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    pending += chunk
    let newline = pending.indexOf('\n')
    while (newline !== -1) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''))
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
    }
  })
  stream.on('end', () => {
    if (pending) onLine(pending)
    pending = ''
  })
}
