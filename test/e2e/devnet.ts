/**
 * End-to-end fixture: a devnet the way `stoa devnet` runs it (real anvil, the contracts deployed, the
 * named accounts funded) plus real provider daemons as child processes (`stoa provider start`, each in
 * its own process group), as bench/compute.ts starts them. Docker containers are labelled with the
 * devnet's namespace so that `stop()` removes exactly this devnet's ones.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { pbkdf2Sync } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createStoaClient, type StoaClient } from '@stoa/sdk'
import { DEVNET_MNEMONIC, type DevnetAccountName, devnetAccount, fundDevnetAccounts } from '@stoa/sdk/devnet'
import { createPublicClient, createTestClient, http, toHex } from 'viem'
import { HDKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { prepareDocker } from '../../packages/cli/src/devnet/demo.ts'
import {
  type DevnetProviders,
  repositoryRoot,
  startDevnetProviders,
} from '../../packages/cli/src/devnet/providers.ts'
import { runDevnet } from '../../packages/cli/src/devnet/run-devnet.ts'

export { repositoryRoot }

const execFileAsync = promisify(execFile)

export const skipDocker = process.env.STOA_SKIP_DOCKER === '1'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`)
    await sleep(intervalMs)
  }
}

export type E2eDevnet = Awaited<ReturnType<typeof startE2eDevnet>>

/** Fails with a clear message when Docker (or the stoa/busybox:1 image) is not there. */
export async function requireDocker(): Promise<void> {
  const docker = await prepareDocker()
  if (!docker.ok)
    throw new Error(
      `This end-to-end test needs a running Docker engine and the stoa/busybox:1 image (${docker.reason}). Start one (\`dockerd &\` as root; CI does it in .ci/run), or set STOA_SKIP_DOCKER=1 to skip it on purpose.`,
    )
}

export async function startE2eDevnet(options: { providers: number; namespace: string; docker: boolean }) {
  const dir = await mkdtemp(join(tmpdir(), 'stoa-e2e-'))
  const deploymentFile = join(dir, 'deployment.json')
  let devnet: Awaited<ReturnType<typeof runDevnet>> | undefined
  let providers: DevnetProviders | undefined
  const stop = async () => {
    await providers?.stop(5_000).catch(() => undefined)
    await devnet?.stop().catch(() => undefined)
    await removeContainers(options.namespace)
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
  try {
    devnet = await runDevnet({ deploymentFile })
    providers = await startDevnetProviders({
      count: options.providers,
      dir,
      deploymentFile,
      docker: options.docker,
      namespace: options.namespace,
      timeoutMs: 120_000,
    })
  } catch (error) {
    await stop()
    throw error
  }
  const deployment = devnet.deployment
  const clientOf = (name: DevnetAccountName): StoaClient =>
    createStoaClient({
      deployment,
      account: privateKeyToAccount(devnetAccount(name).privateKey),
      pollingInterval: 100,
    })
  const anvilPid = devnet.anvil.process.pid
  return {
    dir,
    devnet,
    deployment,
    providers: providers.providers,
    anvilPid,
    clientOf,
    stop,
    /** This devnet's containers for a lease (ids). */
    containersOf: (leaseId: bigint) => containers(options.namespace, leaseId),
    /** Every container of this devnet (ids). */
    allContainers: () => containers(options.namespace),
  }
}

async function containers(namespace: string, leaseId?: bigint): Promise<string[]> {
  const filter = ['--filter', 'label=stoa.provider']
  if (leaseId !== undefined) filter.push('--filter', `label=stoa.lease=${leaseId}`)
  const { stdout } = await execFileAsync('docker', [
    'ps',
    '-a',
    ...filter,
    '--format',
    '{{.ID}} {{.Label "stoa.provider"}}',
  ])
  return stdout
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter(([, owner]) => owner?.endsWith(`-${namespace}`))
    .map(([id]) => id as string)
}

async function removeContainers(namespace: string): Promise<void> {
  try {
    const ids = await containers(namespace)
    if (ids.length > 0) await execFileAsync('docker', ['rm', '-f', ...ids])
  } catch {
    // No Docker: nothing to remove.
  }
}

/** Whether a process (group, with a negative pid) still exists. */
/** The last `lines` lines of a log file, for an error message (CI shows the error, not the file). */
export async function logTail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(
    (error: unknown) => `(cannot read ${file}: ${String(error)})`,
  )
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

// ---------------------------------------------------------------------------------------------
// Storage devnet: more provider daemons than the named devnet accounts, in several regions, with
// the storage role on (docs/storage-spec.md). Used by test/e2e/storage*.test.ts; needs no Docker.

/** Where the storage devnet's providers are (one region each, seven regions). */
const STORAGE_PROFILES = [
  { region: 'eu-west', latitude: 53.35, longitude: -6.26 },
  { region: 'us-east', latitude: 38.9, longitude: -77.04 },
  { region: 'ap-south', latitude: 19.08, longitude: 72.88 },
  { region: 'eu-central', latitude: 50.11, longitude: 8.68 },
  { region: 'us-west', latitude: 37.77, longitude: -122.42 },
  { region: 'sa-east', latitude: -23.55, longitude: -46.63 },
  { region: 'ap-northeast', latitude: 35.68, longitude: 139.69 },
] as const

export type StorageDevnetProvider = {
  name: string
  address: `0x${string}`
  region: string
  gatewayUrl: string
  dataDir: string
  logFile: string
  pid: number
  /** SIGKILL to the provider's process group (a crash, no goodbye); resolves once it exited. */
  kill(): Promise<void>
  /** SIGSTOP to the process group: the daemon stops dead, its sockets stay open and unanswered. */
  pause(): void
  /** SIGCONT: it runs on from where it stopped. */
  resume(): void
  alive(): boolean
}

/** anvil's default mnemonic accounts 3, 4, 5 (the named providers), then 7, 8, … (past the watcher). */
function storageProviderKey(index: number): `0x${string}` {
  if (index < 3) return devnetAccount(`provider${index + 1}` as DevnetAccountName).privateKey
  const seed = pbkdf2Sync(DEVNET_MNEMONIC.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512')
  const key = HDKey.fromMasterSeed(seed)
    .derive("m/44'/60'/0'/0")
    .deriveChild(index + 4).privateKey
  if (!key) throw new Error('no key')
  return toHex(key)
}

/**
 * A devnet (anvil, contracts, funded accounts) and `providers` storage provider daemons as child
 * processes, each in its own process group, region and data dir, with the storage role on.
 */
export async function startStorageDevnet(options: { providers: number; capacityBytes?: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'stoa-e2e-storage-'))
  const deploymentFile = join(dir, 'deployment.json')
  const children: ChildProcess[] = []
  let devnet: Awaited<ReturnType<typeof runDevnet>> | undefined
  const killAll = () => {
    for (const child of children) killGroup(child)
  }
  process.on('exit', killAll)
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child)))
    process.off('exit', killAll)
    await devnet?.stop().catch(() => undefined)
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
  try {
    devnet = await runDevnet({ deploymentFile })
    const rpcUrl = devnet.anvil.rpcUrl
    const test = createTestClient({ mode: 'anvil', transport: http(rpcUrl) })
    const keys = Array.from({ length: options.providers }, (_, i) => storageProviderKey(i))
    // The extra providers: ETH from anvil, STOA to stake and credits from the devnet faucet.
    const extra = keys.slice(3).map((privateKey, i) => ({
      name: `provider${i + 4}` as DevnetAccountName,
      role: 'provider' as const,
      index: i + 7,
      address: privateKeyToAddress(privateKey),
      privateKey,
    }))
    for (const account of extra) await test.setBalance({ address: account.address, value: 10n ** 22n })
    if (extra.length > 0) await fundDevnetAccounts({ rpcUrl, deployment: devnet.deployment, accounts: extra })
    const providers = await Promise.all(
      keys.map(async (key, index): Promise<StorageDevnetProvider> => {
        const profile = STORAGE_PROFILES[index % STORAGE_PROFILES.length] as (typeof STORAGE_PROFILES)[number]
        const name = `storage${index + 1}`
        const dataDir = join(dir, 'providers', name)
        await mkdir(dataDir, { recursive: true })
        const configFile = join(dataDir, 'provider.json')
        const config = {
          key,
          chain: { deployment: deploymentFile, pollingIntervalMs: 250, reconcileIntervalMs: 2_000 },
          dataDir,
          // Port 0: the daemon listens on a free port and reports it in its ready line. A port
          // found free here first could be taken (by another daemon's outbound connection, say)
          // before the daemon listens on it.
          gateway: { host: '127.0.0.1', port: 0 },
          ingress: { host: '127.0.0.1', port: 0 },
          region: profile.region,
          location: { latitude: profile.latitude, longitude: profile.longitude },
          pricing: { usdPerHour: { cpu: '0.020', memoryGiB: '0.004', storageGiB: '0.0001' } },
          stake: '1000',
          runtimes: { docker: { enabled: false } },
          storage: {
            capacityBytes: options.capacityBytes ?? 4 * 1024 ** 3,
            // Asks that differ a little, so placement has something to rank.
            askPricePerByteSecond: String(771_600 + index * 10_000),
          },
        }
        await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`)
        const logFile = join(dir, `${name}.log`)
        const log = createWriteStream(logFile, { flags: 'w' })
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(repositoryRoot, 'packages/cli/src/bin.ts'),
            'provider',
            'start',
            '--config',
            configFile,
            '--json-logs',
          ],
          { cwd: repositoryRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
        )
        children.push(child)
        child.stderr?.pipe(log, { end: false })
        const ready = await new Promise<{ address: string; gatewayUrl: string }>((resolveReady, reject) => {
          let buffer = ''
          const timer = setTimeout(
            () =>
              void logTail(logFile).then((tail) =>
                reject(new Error(`${name} not ready in 120 s; the end of its log:\n${tail}`)),
              ),
            120_000,
          )
          child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
            log.write(chunk)
            buffer += chunk
            for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
              const line = buffer.slice(0, newline)
              buffer = buffer.slice(newline + 1)
              if (line.includes('"provider:ready"')) {
                clearTimeout(timer)
                resolveReady(JSON.parse(line) as { address: string; gatewayUrl: string })
              }
            }
          })
          child.once('exit', (code, signal) => {
            clearTimeout(timer)
            void logTail(logFile).then((tail) =>
              reject(
                new Error(
                  `${name} exited (${code ?? signal}) before it was ready; the end of its log:\n${tail}`,
                ),
              ),
            )
          })
        })
        return {
          name,
          address: ready.address as `0x${string}`,
          region: profile.region,
          gatewayUrl: ready.gatewayUrl,
          dataDir,
          logFile,
          pid: child.pid as number,
          kill: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return
            const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()))
            killGroup(child, 'SIGKILL')
            await exited
          },
          pause: () => killGroup(child, 'SIGSTOP'),
          resume: () => killGroup(child, 'SIGCONT'),
          alive: () => child.exitCode === null && child.signalCode === null,
        }
      }),
    )
    const deployment = devnet.deployment
    const clientOf = (name: DevnetAccountName): StoaClient =>
      createStoaClient({
        deployment,
        account: privateKeyToAccount(devnetAccount(name).privateKey),
        pollingInterval: 100,
      })
    return {
      dir,
      devnet,
      deployment,
      providers,
      clientOf,
      stop,
      /** Mines `blocks` blocks at once. */
      mine: (blocks: number) => test.mine({ blocks }),
      /** Turns anvil's automine (a block per transaction) on or off; off, blocks come from `mine`. */
      automine: (enabled: boolean) => test.setAutomine(enabled),
      blockNumber: () => createPublicClient({ transport: http(rpcUrl) }).getBlockNumber(),
    }
  } catch (error) {
    await stop()
    throw error
  }
}

export type StorageDevnet = Awaited<ReturnType<typeof startStorageDevnet>>

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Gone already.
  }
}

async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()))
  killGroup(child, 'SIGTERM')
  const late = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
  await exited
  clearTimeout(late)
}
