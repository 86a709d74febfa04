import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findFreePort } from '@stoa/sdk/devnet'
import type { ProviderReadyLine } from '../commands/provider-start.ts'
import { ensureProviderDaemonBuilt, providerDaemonEnv, providerDaemonNodeFlags } from '../provider-build.ts'
import { devnetProviderAccount } from './accounts.ts'

/** The repository root (this file is packages/cli/src/devnet/providers.ts). */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')

/** The devnet's providers: where each is and what it charges (USD per hour per core / GiB). */
const PROFILES = [
  { region: 'eu-west', latitude: 53.35, longitude: -6.26, cpu: '0.020', memoryGiB: '0.004' },
  { region: 'us-east', latitude: 38.9, longitude: -77.04, cpu: '0.015', memoryGiB: '0.003' },
  { region: 'ap-south', latitude: 19.08, longitude: 72.88, cpu: '0.010', memoryGiB: '0.002' },
  { region: 'eu-central', latitude: 50.11, longitude: 8.68, cpu: '0.018', memoryGiB: '0.004' },
  { region: 'us-west', latitude: 37.77, longitude: -122.42, cpu: '0.016', memoryGiB: '0.003' },
  { region: 'ap-northeast', latitude: 35.68, longitude: 139.69, cpu: '0.014', memoryGiB: '0.003' },
  { region: 'sa-east', latitude: -23.55, longitude: -46.63, cpu: '0.012', memoryGiB: '0.002' },
  { region: 'eu-north', latitude: 59.33, longitude: 18.07, cpu: '0.017', memoryGiB: '0.003' },
  { region: 'oc-east', latitude: -33.87, longitude: 151.21, cpu: '0.019', memoryGiB: '0.004' },
  { region: 'ca-central', latitude: 43.65, longitude: -79.38, cpu: '0.015', memoryGiB: '0.003' },
] as const

/** Storage every devnet provider offers: 2 GiB at about USD 2 per TB-month (spec section 3). */
export const DEVNET_STORAGE = { capacityBytes: 2 * 1024 ** 3, askPricePerByteSecond: '771600' } as const

export type DevnetProviderSummary = ProviderReadyLine & {
  name: string
  pid: number
  logFile: string
  configFile: string
  health: unknown
  readyMs: number
  pricing: { cpu: string; memoryGiB: string }
  storage: { capacityBytes: number } | null
}

export type DevnetProviders = {
  providers: DevnetProviderSummary[]
  /** SIGTERM to each provider's process group, SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>
}

export type StartDevnetProvidersOptions = {
  count: number
  /** Data dirs, configs and logs go under DIR/providers. */
  dir: string
  deploymentFile: string
  /** Run image services (Docker reachable and the image built). */
  docker: boolean
  /** Keeps two devnets on one Docker engine apart (≤ 5 of a-z0-9). */
  namespace: string
  signal?: AbortSignal | undefined
  timeoutMs?: number
  /** Offer storage (default true: DEVNET_STORAGE's capacity and price). */
  storage?: boolean
  /** Extra flags for `stoa provider start` (e.g. `--repairer`). */
  extraArgs?: readonly string[]
}

/**
 * Starts `count` provider daemons as child processes (`stoa provider start`), each in its own process
 * group with its own data dir, config file and log file, and waits until each is registered on chain
 * (its ready line) and its gateway's /v1/health answers.
 */
export async function startDevnetProviders(options: StartDevnetProvidersOptions): Promise<DevnetProviders> {
  const count = Math.min(options.count, PROFILES.length)
  // Each daemon runs the built `stoa provider start` (plain node, no TypeScript loader), as a
  // provider's machine would; built here when a source changed since the last build.
  const daemon = await ensureProviderDaemonBuilt()
  const children: ChildProcess[] = []
  const exitHook = () => {
    for (const child of children) killGroup(child, 'SIGKILL')
  }
  process.on('exit', exitHook)
  let stopped: Promise<void> | undefined
  const stop = (graceMs = 5_000) => {
    stopped ??= (async () => {
      await Promise.all(children.map((child) => stopChild(child, graceMs)))
      process.off('exit', exitHook)
    })()
    return stopped
  }
  try {
    // Two ports per provider, all different: free ports asked for at once can come back twice.
    const ports = await distinctFreePorts(count * 2)
    const providers = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const profile = PROFILES[index] as (typeof PROFILES)[number]
        const name = `provider${index + 1}`
        const account = devnetProviderAccount(index + 1)
        const dataDir = resolve(options.dir, 'providers', name)
        await mkdir(dataDir, { recursive: true })
        const gatewayPort = ports[index * 2] as number
        const ingressPort = ports[index * 2 + 1] as number
        const configFile = join(dataDir, 'provider.json')
        const config = {
          key: account.privateKey,
          chain: {
            deployment: resolve(options.deploymentFile),
            pollingIntervalMs: 250,
            reconcileIntervalMs: 2_000,
          },
          dataDir,
          gateway: { host: '127.0.0.1', port: gatewayPort },
          ingress: { host: '127.0.0.1', port: ingressPort },
          region: profile.region,
          location: { latitude: profile.latitude, longitude: profile.longitude },
          pricing: { usdPerHour: { cpu: profile.cpu, memoryGiB: profile.memoryGiB, storageGiB: '0.0001' } },
          stake: '1000',
          runtimes: {
            docker: options.docker
              ? { enabled: 'auto', namespace: options.namespace, hostFirewall: 'none' }
              : { enabled: false },
          },
          leases: { reconcileIntervalMs: 1_000, settleIntervalMs: 30_000 },
          ...(options.storage === false
            ? {}
            : {
                storage: {
                  enabled: true,
                  capacityBytes: DEVNET_STORAGE.capacityBytes,
                  askPricePerByteSecond: DEVNET_STORAGE.askPricePerByteSecond,
                },
              }),
        }
        await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`)
        const logFile = resolve(options.dir, `${name}.log`)
        const log = createWriteStream(logFile, { flags: 'w' })
        const startedAt = performance.now()
        const child = spawn(
          process.execPath,
          [
            ...providerDaemonNodeFlags,
            daemon,
            'provider',
            'start',
            '--config',
            configFile,
            '--json-logs',
            ...(options.extraArgs ?? []),
          ],
          {
            cwd: repositoryRoot,
            detached: true,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, ...providerDaemonEnv },
          },
        )
        children.push(child)
        child.stderr?.pipe(log, { end: false })
        const ready = await readyLine(child, log, options.timeoutMs ?? 60_000, options.signal, logFile)
        const health = await waitForHealth(ready.gatewayUrl, options.signal)
        return {
          ...ready,
          name,
          pid: child.pid as number,
          logFile,
          configFile,
          health,
          readyMs: Math.round(performance.now() - startedAt),
          pricing: { cpu: profile.cpu, memoryGiB: profile.memoryGiB },
          storage: options.storage === false ? null : { capacityBytes: DEVNET_STORAGE.capacityBytes },
        }
      }),
    )
    return { providers, stop }
  } catch (error) {
    await stop(1_000)
    throw error
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  for (let attempt = 0; ports.size < count && attempt < count * 10; attempt++) ports.add(await findFreePort())
  if (ports.size < count) throw new Error(`could not find ${count} free ports`)
  return [...ports]
}

function readyLine(
  child: ChildProcess,
  log: NodeJS.WritableStream,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  logFile: string,
): Promise<ProviderReadyLine> {
  return new Promise((resolveReady, reject) => {
    let buffer = ''
    let done = false
    const finish = (error: Error | undefined, ready?: ProviderReadyLine) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (error) reject(error)
      else resolveReady(ready as ProviderReadyLine)
    }
    const timer = setTimeout(
      () => finish(new Error(`a devnet provider was not ready within ${timeoutMs} ms (see ${logFile})`)),
      timeoutMs,
    )
    const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
    signal?.addEventListener('abort', onAbort, { once: true })
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      log.write(chunk)
      if (done) return
      buffer += chunk
      let newline = buffer.indexOf('\n')
      while (newline !== -1) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.includes('"provider:ready"')) {
          try {
            finish(undefined, JSON.parse(line) as ProviderReadyLine)
          } catch {
            // Not the ready line after all.
          }
        }
        newline = buffer.indexOf('\n')
      }
    })
    child.once('exit', (code, exitSignal) =>
      finish(
        new Error(`a devnet provider exited (${code ?? exitSignal}) before it was ready (see ${logFile})`),
      ),
    )
  })
}

async function waitForHealth(gatewayUrl: string, signal: AbortSignal | undefined): Promise<unknown> {
  const url = `${gatewayUrl.replace(/\/$/, '')}/v1/health`
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted()
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (response.ok) return await response.json()
    } catch (error) {
      if (attempt >= 100) throw error
    }
    if (attempt >= 100) throw new Error(`${url} did not answer ok`)
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()))
  killGroup(child, 'SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolveLate) => {
    timer = setTimeout(() => resolveLate('late'), graceMs)
  })
  if ((await Promise.race([exited, late])) === 'late') {
    killGroup(child, 'SIGKILL')
    await exited
  }
  clearTimeout(timer)
}
