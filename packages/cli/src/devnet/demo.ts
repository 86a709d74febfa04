import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createStoaClient, type DeployReturnType, deploy, formatLeaseId } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { privateKeyToAccount } from 'viem/accounts'
import type { DeploymentFile } from '../deployment-file.ts'
import { type DevnetProviderSummary, repositoryRoot } from './providers.ts'

const execFileAsync = promisify(execFile)

export const DEMO_IMAGE = 'stoa/busybox:1'

/**
 * Builds `stoa/busybox:1` (workloads/busybox/build-image.sh, a no-op when up to date) when the
 * Docker engine answers. Returns why not otherwise.
 */
export async function prepareDocker(): Promise<
  { ok: true; imageId: string } | { ok: false; reason: string }
> {
  try {
    await execFileAsync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 })
  } catch (error) {
    return { ok: false, reason: `Docker is not reachable (${firstLine(error)})` }
  }
  try {
    const { stdout } = await execFileAsync(
      'bash',
      [join(repositoryRoot, 'workloads/busybox/build-image.sh')],
      {
        timeout: 120_000,
      },
    )
    return { ok: true, imageId: stdout.trim() }
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim()
    return { ok: false, reason: `building ${DEMO_IMAGE} failed (${stderr || firstLine(error)})` }
  }
}

export type DemoRender = {
  example: string
  leaseId: string
  provider: string
  results: {
    service: string | undefined
    name: string
    size: number
    sha256: string
    path: string | undefined
  }[]
  logsCommand: string
  ms: number
}

export type DemoService = {
  example: string
  leaseId: string
  provider: string
  url: string
  curl: string
  status: number | undefined
  ms: number
}

export type DemoSummary = {
  render: DemoRender | { error: string }
  service: DemoService | { error: string } | { skipped: string }
  ms: number
}

/**
 * Deploys examples/render-job.yaml (WASM) and, with Docker, examples/web-service.yaml as alice,
 * through the SDK's deploy action. A failure of one is reported, not thrown.
 */
export async function runDemo(options: {
  deployment: DeploymentFile
  providers: DevnetProviderSummary[]
  docker: boolean
  dockerNote?: string | undefined
  deploymentArg: string
  signal?: AbortSignal | undefined
  onStep?: (text: string) => void
}): Promise<DemoSummary> {
  const startedAt = performance.now()
  const client = createStoaClient({
    deployment: options.deployment,
    account: privateKeyToAccount(devnetAccount('alice').privateKey),
    pollingInterval: 100,
  })
  const common = { bidWindowSeconds: 2, ...(options.signal ? { signal: options.signal } : {}) }
  const providerName = (result: DeployReturnType) =>
    options.providers.find((provider) => provider.address.toLowerCase() === result.provider.toLowerCase())
      ?.name ?? result.provider

  const renderTask = async (): Promise<DemoRender | { error: string }> => {
    const began = performance.now()
    try {
      const result = await deploy(client, {
        ...common,
        manifest: { path: join(repositoryRoot, 'examples/render-job.yaml') },
      })
      const leaseId = formatLeaseId(result.leaseId)
      const provider = options.providers.find(
        (candidate) => candidate.address.toLowerCase() === result.provider.toLowerCase(),
      )
      const results = await Promise.all(
        result.results.map(async (file) => ({
          service: (file as { service?: string }).service,
          name: file.name,
          size: file.size,
          sha256: file.sha256,
          path: provider ? await findResult(provider.dataDir, file.name) : undefined,
        })),
      )
      options.onStep?.(`render job on ${providerName(result)} (lease ${leaseId})`)
      return {
        example: 'examples/render-job.yaml',
        leaseId,
        provider: providerName(result),
        results,
        logsCommand: `npm run stoa -- logs ${leaseId} --key alice${options.deploymentArg}`,
        ms: Math.round(performance.now() - began),
      }
    } catch (error) {
      return { error: firstLine(error) }
    }
  }

  const serviceTask = async (): Promise<DemoService | { error: string } | { skipped: string }> => {
    if (!options.docker) return { skipped: options.dockerNote ?? 'Docker is not reachable' }
    const began = performance.now()
    try {
      const result = await deploy(client, {
        ...common,
        manifest: { path: join(repositoryRoot, 'examples/web-service.yaml') },
      })
      const leaseId = formatLeaseId(result.leaseId)
      const url = result.services.flatMap((service) => serviceUrlsOf(service))[0] ?? ''
      let status: number | undefined
      if (url) {
        try {
          status = (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status
        } catch {
          status = undefined
        }
      }
      options.onStep?.(`web service on ${providerName(result)} (lease ${leaseId})`)
      return {
        example: 'examples/web-service.yaml',
        leaseId,
        provider: providerName(result),
        url,
        curl: `curl ${url}`,
        status,
        ms: Math.round(performance.now() - began),
      }
    } catch (error) {
      return { error: firstLine(error) }
    }
  }

  // One account, one nonce sequence: the two deploys go one after the other.
  const render = await renderTask()
  const service = await serviceTask()
  return { render, service, ms: Math.round(performance.now() - startedAt) }
}

function serviceUrlsOf(service: unknown): string[] {
  const value = service as { url?: unknown; urls?: unknown }
  if (typeof value.url === 'string') return [value.url]
  if (Array.isArray(value.urls)) return value.urls.filter((url): url is string => typeof url === 'string')
  return []
}

/** `DATA/results/<workload>/<name>` on the provider that ran the job (the devnet's providers are local). */
async function findResult(dataDir: string, name: string): Promise<string | undefined> {
  const root = join(dataDir, 'results')
  try {
    const workloads = await readdir(root)
    for (const workload of workloads) {
      const files = await readdir(join(root, workload)).catch(() => [] as string[])
      if (files.includes(name)) return join(root, workload, name)
    }
  } catch {
    // No results folder.
  }
  return undefined
}

function firstLine(error: unknown): string {
  const message =
    (error as { shortMessage?: unknown }).shortMessage ?? (error as Error).message ?? String(error)
  return String(message).split('\n')[0] ?? ''
}
