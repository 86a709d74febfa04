import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createStoaClient, getMasterKey, getObject, putObject } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { privateKeyToAccount } from 'viem/accounts'
import type { DeploymentFile } from '../deployment-file.ts'

export type StorageDemoSummary =
  | {
      name: string
      size: number
      sha256: string
      dealId: string
      k: number
      n: number
      providers: number
      put: { ms: number; mbPerSecond: number }
      get: { ms: number; mbPerSecond: number }
      identical: boolean
      commands: string[]
      ms: number
    }
  | { error: string }

/** The demo file: 8 MiB, so the transfer rates mean something and the run stays short. */
export const STORAGE_DEMO_BYTES = 8 * 1024 * 1024

/**
 * Stores a generated 8 MiB file as alice (4-of-6), reads it back into another file, and compares
 * the sha256 of both. A failure is reported, not thrown.
 */
export async function runStorageDemo(options: {
  deployment: DeploymentFile
  /** The devnet folder: the files go to DIR/storage-demo. */
  dir: string
  deploymentArg: string
  signal?: AbortSignal | undefined
}): Promise<StorageDemoSummary> {
  const startedAt = performance.now()
  const folder = join(options.dir, 'storage-demo')
  const source = join(folder, 'demo-8MiB.bin')
  const fetched = join(folder, 'demo-8MiB.fetched.bin')
  try {
    await mkdir(folder, { recursive: true })
    await rm(fetched, { force: true })
    await writeFile(source, randomBytes(STORAGE_DEMO_BYTES))
    const client = createStoaClient({
      deployment: options.deployment,
      account: privateKeyToAccount(devnetAccount('alice').privateKey),
      pollingInterval: 100,
    })
    const masterKey = await getMasterKey(client)
    const name = `demo-${Date.now().toString(36)}.bin`
    const signal = options.signal ? { signal: options.signal } : {}
    const putStartedAt = performance.now()
    const record = await putObject(client, { source, name, k: 4, n: 6, masterKey, ...signal })
    const putMs = performance.now() - putStartedAt
    const getStartedAt = performance.now()
    await getObject(client, { name, masterKey, output: fetched, ...signal })
    const getMs = performance.now() - getStartedAt
    const [sourceDigest, fetchedDigest] = await Promise.all([sha256File(source), sha256File(fetched)])
    const rateOf = (ms: number) => Math.round((STORAGE_DEMO_BYTES / 1e6 / (ms / 1000)) * 10) / 10
    return {
      name,
      size: STORAGE_DEMO_BYTES,
      sha256: sourceDigest,
      dealId: String(record.dealId),
      k: record.k,
      n: record.n,
      providers: record.shards.length,
      put: { ms: Math.round(putMs), mbPerSecond: rateOf(putMs) },
      get: { ms: Math.round(getMs), mbPerSecond: rateOf(getMs) },
      identical: sourceDigest === fetchedDigest,
      commands: [
        `npm run stoa -- ls --key alice${options.deploymentArg}`,
        `npm run stoa -- get ${name} -o /tmp/${name} --key alice${options.deploymentArg}`,
        `npm run stoa -- deals --key alice${options.deploymentArg}`,
      ],
      ms: Math.round(performance.now() - startedAt),
    }
  } catch (error) {
    return { error: firstLine(error) }
  } finally {
    await rm(fetched, { force: true }).catch(() => undefined)
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return `0x${hash.digest('hex')}`
}

function firstLine(error: unknown): string {
  const message =
    (error as { shortMessage?: unknown }).shortMessage ?? (error as Error).message ?? String(error)
  return String(message).split('\n')[0] ?? ''
}
