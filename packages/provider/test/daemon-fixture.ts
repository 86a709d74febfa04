/**
 * Test fixture for the provider daemon: a fresh anvil with the real contracts, tenants (alice,
 * bob) and the watcher from the devnet accounts, and fresh random provider keys (so containers of
 * concurrent test runs on the same Docker engine never look like each other's orphans), plus
 * helpers to start daemons, create orders from manifests and send signed gateway requests.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  gatewayBodyHash,
  manifestOrderParameters,
  type NormalizedManifest,
  parseManifest,
  parseStoa,
  type StoaDeployment,
  signGatewayRequest,
} from '@stoa/protocol'
import { createOrder, createStoaClient, type StoaClient } from '@stoa/sdk'
import {
  type DevnetAccount,
  deployStoa,
  devnetAccount,
  devnetAccounts,
  fundDevnetAccounts,
  startAnvil,
} from '@stoa/sdk/devnet'
import { createTestClient, type Hex, http, parseEther, publicActions } from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import {
  createLogger,
  createProviderDaemon,
  mergeConfig,
  type ProviderConfigInput,
  type ProviderDaemon,
} from '../src/index.ts'

export const repoRoot = path.resolve(import.meta.dirname, '../../..')
export const workloadsDir = path.join(repoRoot, 'workloads')

type Tenant = StoaClient & { account: PrivateKeyAccount }

export type Devnet = Awaited<ReturnType<typeof startDevnet>>

export async function startDevnet(options: { providers?: number } = {}) {
  const anvil = await startAnvil()
  try {
    const deployed = await deployStoa({
      rpcUrl: anvil.rpcUrl,
      deployerKey: devnetAccount('deployer').privateKey,
    })
    const deployment: StoaDeployment & { blockNumber: string } = {
      chainId: deployed.chainId,
      rpcUrl: deployed.rpcUrl,
      contracts: deployed.contracts,
      blockNumber: deployed.blockNumber.toString(),
    }
    const chain = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).extend(publicActions)
    const providerKeys = Array.from({ length: options.providers ?? 3 }, () => generatePrivateKey())
    const providerAccounts = providerKeys.map((key, index) => {
      const account = privateKeyToAccount(key)
      return {
        name: `test-provider-${index}-${account.address.slice(2, 10)}`,
        role: 'provider',
        index: 100 + index,
        address: account.address,
        privateKey: key,
      } as unknown as DevnetAccount
    })
    for (const account of providerAccounts)
      await chain.setBalance({ address: account.address, value: parseEther('1000') })
    await fundDevnetAccounts({
      rpcUrl: anvil.rpcUrl,
      deployment,
      accounts: [...devnetAccounts(), ...providerAccounts],
    })
    const client = (key: Hex) =>
      createStoaClient({ deployment, account: privateKeyToAccount(key), pollingInterval: 50 }) as Tenant
    return {
      anvil,
      deployment,
      chain,
      providerKeys,
      alice: client(devnetAccount('alice').privateKey),
      bob: client(devnetAccount('bob').privateKey),
      watcherKey: devnetAccount('watcher').privateKey,
      /** Moves the chain's clock forward and mines a block at the new time. */
      async warp(seconds: number) {
        await chain.increaseTime({ seconds })
        await chain.mine({ blocks: 1 })
      },
      async stop() {
        await anvil.stop()
      },
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}

/** A test configuration: fast loops, ephemeral ports, fixed capacity, linear prices. */
export function testConfig(
  devnet: Devnet,
  key: Hex,
  dataDir: string,
  overrides: Record<string, unknown> = {},
): ProviderConfigInput {
  const base: ProviderConfigInput = {
    key,
    dataDir,
    region: 'eu-west',
    location: { latitude: 48.85, longitude: 2.35 },
    attributes: { tier: 'test' },
    stake: '1000',
    chain: { deployment: devnet.deployment, pollingIntervalMs: 50, reconcileIntervalMs: 300 },
    gateway: { host: '127.0.0.1', port: 0 },
    ingress: { host: '127.0.0.1', port: 0 },
    capacity: { cpuMillis: 4000, memoryMiB: 8192, storageMiB: 65_536, gpus: 0 },
    pricing: { usdPerHour: { cpu: '0.01', memoryGiB: '0.005', storageGiB: '0.0001', gpu: '0.5' } },
    runtimes: { docker: { enabled: 'auto' } },
    leases: { reconcileIntervalMs: 300, settleIntervalMs: 3_600_000, manifestTimeoutMs: 600_000 },
    log: { level: process.env.STOA_TEST_LOG ? 'debug' : 'info' },
  }
  return mergeConfig(base, overrides) as ProviderConfigInput
}

export type TestDaemon = ProviderDaemon & { dataDir: string; logs: Record<string, unknown>[] }

const created: { daemon: ProviderDaemon; dataDir: string; keep: boolean; logs: Record<string, unknown>[] }[] =
  []

/** Creates (and starts, unless told not to) a daemon with a fresh or given data directory; logs kept in memory. */
export async function startDaemon(
  devnet: Devnet,
  key: Hex,
  options: { dataDir?: string; overrides?: Record<string, unknown>; start?: boolean } = {},
): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'stoa-provider-')))
  const logs: Record<string, unknown>[] = []
  const logger = createLogger({
    level: process.env.STOA_TEST_LOG ? 'debug' : 'info',
    write: (line) => {
      logs.push(JSON.parse(line) as Record<string, unknown>)
      if (process.env.STOA_TEST_LOG) process.stderr.write(line)
    },
  })
  const daemon = createProviderDaemon(testConfig(devnet, key, dataDir, options.overrides), { logger })
  created.push({ daemon, dataDir, keep: options.dataDir !== undefined, logs })
  if (options.start !== false) await daemon.start()
  return Object.assign(daemon, { dataDir, logs }) as TestDaemon
}

/** Stops every daemon the fixture created and removes the data directories it made. */
export async function stopAllDaemons(): Promise<void> {
  const all = created.splice(0).reverse()
  for (const { daemon } of all) await daemon.stop().catch(() => {})
  for (const { dataDir, keep } of all) if (!keep) await rm(dataDir, { recursive: true, force: true })
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** Parses a manifest written as YAML (wasm paths relative to the repository root). */
export async function manifestOf(yamlText: string) {
  return await parseManifest(yamlText, { baseDir: repoRoot })
}

/** Creates an order for a parsed manifest as `tenant`. */
export async function orderFor(
  tenant: StoaClient,
  manifest: NormalizedManifest,
  options: { bidWindowSeconds?: number; manifestUri?: string; autoReopen?: boolean } = {},
) {
  const parameters = manifestOrderParameters(manifest)
  return await createOrder(tenant, {
    resources: parameters.resources,
    regions: parameters.regions,
    maxPricePerSecond: parameters.maxPricePerSecond,
    deposit: parameters.deposit,
    manifestHash: parameters.manifestHash,
    bidWindowSeconds: options.bidWindowSeconds ?? 60,
    ...(options.manifestUri !== undefined ? { manifestUri: options.manifestUri } : {}),
    ...(options.autoReopen !== undefined ? { autoReopen: options.autoReopen } : {}),
  })
}

/**
 * The last log lines of every daemon still known to the fixture, to explain a timeout in CI: the
 * newest daemon first (usually the one a test just started), each line shortened, since CI shows
 * only the tail of a failure.
 */
function recentLogs(lines = 15): string {
  const parts = [...created].reverse().map(({ daemon, logs }) => {
    const tail = logs.slice(-lines).map((entry) => {
      const { level, time, provider, ...rest } = entry
      const text = JSON.stringify({ t: time, l: level, ...rest })
      return `    ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`
    })
    return `\n  daemon ${daemon.address} (${logs.length} log lines, last ${tail.length}):\n${tail.join('\n')}`
  })
  return parts.join('')
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<value>(
  check: () => Promise<value | undefined | false> | value | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<value> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let last: unknown
  for (;;) {
    try {
      const result = await check()
      if (result !== undefined && result !== false) return result as value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${options.what ?? 'a condition'}${last ? `: ${String(last)}` : ''}${recentLogs()}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50))
  }
}

export type SignedRequestOptions = {
  body?: string | Uint8Array
  /** Sign with these instead of the defaults. */
  nonce?: bigint
  expiry?: number
  /** Sent instead of what was signed (to forge a request). */
  sendPath?: string
  sendBody?: string
  extraHeaders?: Record<string, string>
}

/** What a signed request needs to know about a daemon (in this process or another). */
export type GatewayTarget = { gatewayUrl: string; config: { chain: { deployment: StoaDeployment } } }

/** Sends a gateway request signed by `account` (EIP-712, per the compute spec). */
export async function signedFetch(
  daemon: GatewayTarget,
  account: PrivateKeyAccount,
  method: string,
  requestPath: string,
  options: SignedRequestOptions = {},
): Promise<Response> {
  const { deployment } = daemon.config.chain
  const headers = await signGatewayRequest({
    account,
    chainId: deployment.chainId,
    market: deployment.contracts.market,
    method,
    path: requestPath,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.expiry !== undefined ? { expiry: options.expiry } : {}),
  })
  const body = options.sendBody ?? options.body
  return await fetch(`${daemon.gatewayUrl}${options.sendPath ?? requestPath}`, {
    method,
    headers: {
      ...headers,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.extraHeaders,
    },
    ...(body !== undefined ? { body } : {}),
  })
}

/** The JSON body of a manifest submission (manifest plus its modules in base64). */
export function submissionBody(manifest: NormalizedManifest, modules: ReadonlyMap<Hex, Uint8Array>): string {
  const encoded: Record<string, string> = {}
  for (const [digest, bytes] of modules) encoded[digest] = Buffer.from(bytes).toString('base64')
  return JSON.stringify(Object.keys(encoded).length > 0 ? { manifest, modules: encoded } : { manifest })
}

/** Whether a Docker engine answers and the test image exists (building it when the script can). */
export function dockerWithBusybox(): boolean {
  const ping = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' })
  if (ping.status !== 0) return false
  const image = spawnSync('docker', ['image', 'inspect', 'stoa/busybox:1'], { encoding: 'utf8' })
  if (image.status === 0) return true
  const build = spawnSync('bash', [path.join(workloadsDir, 'busybox/build-image.sh')], { encoding: 'utf8' })
  return build.status === 0
}

export { gatewayBodyHash, parseStoa, readFile }
