import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const bin = join(repositoryRoot, 'packages/cli/src/bin.ts')
const cast = join(repositoryRoot, 'node_modules/.bin/cast')

export type RunResult = { code: number | null; stdout: string; stderr: string }

/** Runs `stoa ARGS` to completion, as a user would (`node --import tsx packages/cli/src/bin.ts`). */
export async function stoa(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', bin, ...args], {
      cwd: repositoryRoot,
      env: { ...process.env, STOA_PRIVATE_KEY: '', ...env },
      timeout: 60_000,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string }
    return {
      code: typeof failed.code === 'number' ? failed.code : null,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    }
  }
}

/** `cast ARGS` (Foundry's, from node_modules), trimmed stdout. */
export async function castCall(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(cast, args, { cwd: repositoryRoot, timeout: 30_000 })
  return stdout.trim()
}

/** A `stoa devnet` child process. Started in its own process group so `kill()` also ends its anvil. */
export type DevnetProcess = {
  child: ChildProcess
  /** The first stdout line (the `--json` summary), parsed. */
  summary: DevnetSummaryJson
  stderr(): string
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL to the whole group (the CLI and its anvil): cleanup for tests that fail midway. */
  kill(): void
}

export type DevnetSummaryJson = {
  rpcUrl: string
  chainId: number
  reused: boolean
  contracts: Record<'stoaToken' | 'priceOracle' | 'credits' | 'providerRegistry' | 'market', `0x${string}`>
  oracle: { answer: string; usdPerStoa: string }
  accounts: {
    name: string
    address: `0x${string}`
    stoaUnits: string
    creditUnits: string
    credits: string
  }[]
  deploymentFile: string
  timings: Record<string, number>
}

export async function startDevnetProcess(
  args: readonly string[],
  timeoutMs = 90_000,
): Promise<DevnetProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, 'devnet', '--json', ...args], {
    cwd: repositoryRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  )
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
  }
  const summary = await new Promise<DevnetSummaryJson>((resolveSummary, reject) => {
    const timer = setTimeout(() => {
      kill()
      reject(new Error(`stoa devnet printed no summary within ${timeoutMs} ms.\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const newline = stdout.indexOf('\n')
      if (newline !== -1) {
        clearTimeout(timer)
        try {
          resolveSummary(JSON.parse(stdout.slice(0, newline)) as DevnetSummaryJson)
        } catch (error) {
          kill()
          reject(error)
        }
      }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`stoa devnet exited (${code ?? signal}) before its summary.\nstderr:\n${stderr}`))
    })
  })
  return { child, summary, stderr: () => stderr, exited, kill }
}

/** Sends `signal` and waits for the exit, failing after `timeoutMs`. */
export async function stopDevnetProcess(
  devnet: DevnetProcess,
  signal: NodeJS.Signals = 'SIGINT',
  timeoutMs = 10_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const startedAt = performance.now()
  devnet.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`stoa devnet did not exit within ${timeoutMs} ms of ${signal}`)),
      timeoutMs,
    )
  })
  try {
    const exit = await Promise.race([devnet.exited, timeout])
    return { ...exit, ms: performance.now() - startedAt }
  } finally {
    clearTimeout(timer)
  }
}

/** Whether anything answers JSON-RPC at `rpcUrl`. */
export async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(2_000),
    })
    return response.ok
  } catch {
    return false
  }
}
