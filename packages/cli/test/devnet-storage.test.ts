/**
 * `stoa devnet --providers 6` as a user runs it: six storage providers, the storage demo (an 8 MiB
 * file stored 4-of-6 and read back bit for bit), and a chain that keeps mining while idle so that
 * proving windows advance.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type DevnetProcess, startDevnetProcess, stopDevnetProcess } from './helpers.ts'

type StorageSummary = {
  providers: { name: string; region: string; storage: { capacityBytes: number } | null }[]
  accounts: { name: string }[]
  storageDemo:
    | {
        size: number
        k: number
        n: number
        providers: number
        identical: boolean
        put: { mbPerSecond: number }
        get: { mbPerSecond: number }
      }
    | { error: string }
    | { skipped: string }
    | null
}

let scratch: string
let devnet: DevnetProcess | undefined

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stoa-cli-devnet-storage-'))
})

after(async () => {
  devnet?.kill()
  await rm(scratch, { recursive: true, force: true })
})

async function blockNumber(rpcUrl: string): Promise<number> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
  })
  return Number(((await response.json()) as { result: string }).result)
}

describe('stoa devnet --json --providers 6', () => {
  test('six storage providers, the storage demo reads its file back bit for bit, blocks keep coming', async () => {
    devnet = await startDevnetProcess(
      ['--deployment', join(scratch, 'deployment.json'), '--providers', '6'],
      240_000,
    )
    const summary = devnet.summary as unknown as StorageSummary
    assert.equal(summary.providers.length, 6)
    for (const provider of summary.providers) {
      assert.equal(provider.storage?.capacityBytes, 2 * 1024 ** 3, `${provider.name} offers 2 GiB`)
    }
    assert.deepEqual(
      summary.accounts.map((account) => account.name).filter((name) => name.startsWith('provider')),
      ['provider1', 'provider2', 'provider3', 'provider4', 'provider5', 'provider6'],
    )
    const demo = summary.storageDemo
    assert.ok(demo && !('error' in demo) && !('skipped' in demo), JSON.stringify(demo))
    assert.equal(demo.size, 8 * 1024 * 1024)
    assert.equal(demo.identical, true)
    assert.deepEqual([demo.k, demo.n, demo.providers], [4, 6, 6])
    assert.ok(demo.put.mbPerSecond > 0 && demo.get.mbPerSecond > 0)

    // Nothing is sent now, yet the background miner moves the chain on.
    const first = await blockNumber(devnet.summary.rpcUrl)
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    assert.ok((await blockNumber(devnet.summary.rpcUrl)) >= first + 2, 'blocks are mined while idle')

    const exit = await stopDevnetProcess(devnet, 'SIGINT', 20_000)
    assert.equal(exit.code, 0)
  })
})
