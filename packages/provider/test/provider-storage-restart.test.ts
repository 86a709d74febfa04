// Crash safety of the shard store: a daemon killed with SIGKILL in the middle of an upload, then a
// new daemon on the same data directory. The held shard is still served, the cut upload resumes
// from the bytes that were fsync'd, and no half shard is addressable.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { merkleRoot } from '@stoa/storage'
import { bytesToHex, type Hex } from 'viem'
import {
  type Devnet,
  type GatewayTarget,
  startDaemon,
  startDevnet,
  stopAllDaemons,
  testConfig,
  waitFor,
} from './daemon-fixture.ts'
import { storageFetch, uploadShard } from './provider-storage-helpers.ts'

let devnet: Devnet
let child: ChildProcess | undefined
const cleanup: string[] = []

before(async () => {
  devnet = await startDevnet({ providers: 1 })
})
after(async () => {
  child?.kill('SIGKILL')
  await stopAllDaemons()
  await devnet?.stop()
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true })
})

async function startChild(configFile: string): Promise<GatewayTarget> {
  const spawned = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'daemon-child.ts'), configFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child = spawned
  let stderr = ''
  spawned.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    spawned.stdout?.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(out.split('\n')[0] as string)
    })
    spawned.once('exit', (code) =>
      reject(new Error(`the daemon exited with ${code}: ${stderr.slice(-2000)}`)),
    )
  })
  const ready = JSON.parse(line) as { gatewayUrl: string }
  return { gatewayUrl: ready.gatewayUrl, config: { chain: { deployment: devnet.deployment } } }
}

test('kill -9 mid-upload: held shards stay, the upload resumes from its fsync’d bytes', async () => {
  const key = devnet.providerKeys[0] as Hex
  const dataDir = await mkdtemp(path.join(tmpdir(), 'stoa-storage-restart-'))
  cleanup.push(dataDir)
  const configFile = `${dataDir}.json`
  cleanup.push(configFile)
  const overrides = { storage: { capacityBytes: 256 * 1024 * 1024 }, bidding: { enabled: false } }
  await writeFile(configFile, JSON.stringify(testConfig(devnet, key, dataDir, overrides)))
  const first = await startChild(configFile)

  const held = randomBytes(100 * 1024)
  const { root: heldRoot } = await uploadShard(first, devnet.alice.account, held)

  // 40 MiB, of which 33 MiB are sent before the process dies (progress is fsync'd every 32 MiB).
  const big = randomBytes(40 * 1024 * 1024)
  const created = await storageFetch(first, devnet.alice.account, 'POST', '/v1/storage/uploads', {
    json: { size: big.length, erasureIndex: 1 },
  })
  const { uploadId } = (await created.json()) as { uploadId: string }
  const sent = 33 * 1024 * 1024
  let offset = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= sent) return new Promise(() => {}) // hang: the connection stays open
      const end = Math.min(offset + 1024 * 1024, sent)
      controller.enqueue(big.subarray(offset, end))
      offset = end
    },
  })
  const cut = storageFetch(first, devnet.alice.account, 'PUT', `/v1/storage/uploads/${uploadId}`, {
    bytes: stream,
  }).catch((error: unknown) => error)
  await waitFor(
    async () => {
      const progress = await storageFetch(
        first,
        devnet.alice.account,
        'GET',
        `/v1/storage/uploads/${uploadId}`,
      )
      return ((await progress.json()) as { received: number }).received >= 32 * 1024 * 1024
    },
    { what: 'the first 32 MiB fsync’d', timeoutMs: 30_000, intervalMs: 200 },
  )
  child?.kill('SIGKILL')
  await new Promise((resolve) => child?.once('exit', resolve))
  await cut

  const second = await startDaemon(devnet, key, { dataDir, overrides })
  const whole = await storageFetch(second, devnet.alice.account, 'GET', `/v1/storage/shards/${heldRoot}`)
  assert.equal(whole.status, 200)
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(held))

  const progress = await storageFetch(second, devnet.alice.account, 'GET', `/v1/storage/uploads/${uploadId}`)
  const { received, state } = (await progress.json()) as { received: number; state: string }
  assert.equal(state, 'uploading')
  assert.ok(received >= 32 * 1024 * 1024 && received <= sent, `received ${received}`)
  const part = await stat(path.join(dataDir, 'shards', 'tmp', `${uploadId}.part`))
  assert.equal(part.size, received, 'the part file is cut back to what was recorded')
  const addressable = (await readdir(path.join(dataDir, 'shards'))).filter((name) => name.endsWith('.data'))
  assert.deepEqual(addressable, [`${heldRoot}.data`], 'no half shard is addressable')

  const rest = await storageFetch(
    second,
    devnet.alice.account,
    'PUT',
    `/v1/storage/uploads/${uploadId}?offset=${received}`,
    {
      bytes: big.subarray(received),
    },
  )
  assert.equal(rest.status, 200, await rest.clone().text())
  assert.equal(((await rest.json()) as { root: Hex }).root, bytesToHex(merkleRoot(big)))
})
