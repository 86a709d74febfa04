/**
 * End-to-end fixture: a devnet the way `stoa devnet` runs it (real anvil, the contracts deployed, the
 * named accounts funded) plus real provider daemons as child processes (`stoa provider start`, each in
 * its own process group), as bench/compute.ts starts them. Docker containers are labelled with the
 * devnet's namespace so that `stop()` removes exactly this devnet's ones.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createStoaClient, type StoaClient } from '@stoa/sdk'
import { type DevnetAccountName, devnetAccount } from '@stoa/sdk/devnet'
import { privateKeyToAccount } from 'viem/accounts'
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
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
