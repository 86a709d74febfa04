// Crash safety: a daemon killed with SIGKILL in the middle of its work, then a new instance on the
// same data directory. It keeps its state (leases, bids, used nonces), restarts the lease that is
// still active, removes the workloads of a lease the tenant closed meanwhile and orphans nobody
// claims, and goes on bidding.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { parseLeaseId } from '@stoa/protocol'
import { acceptBid, closeLease, createOrder, getBids, getLease } from '@stoa/sdk'
import { sha256, stringToHex } from 'viem'
import { type LeaseView, loadDockerRuntime } from '../src/index.ts'
import { createWasmRuntime } from '../src/runtime/index.ts'
import {
  type Devnet,
  dockerWithBusybox,
  type GatewayTarget,
  manifestOf,
  orderFor,
  readFile,
  signedFetch,
  startDaemon,
  startDevnet,
  stopAllDaemons,
  submissionBody,
  testConfig,
  waitFor,
  workloadsDir,
} from './daemon-fixture.ts'

let devnet: Devnet
let child: ChildProcess | undefined
const cleanup: string[] = []
const hasDocker = dockerWithBusybox()

before(async () => {
  devnet = await startDevnet({ providers: 1 })
})
after(async () => {
  child?.kill('SIGKILL')
  await stopAllDaemons()
  await devnet?.stop()
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true })
})

const spinYaml = (name: string) => `
version: "1"
services:
  ${name}:
    wasm: workloads/testdata/build/spin.wasm
    resources: { cpu: 0.5, memory: 16Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`
const webYaml = `
version: "1"
services:
  web:
    image: stoa/busybox:1
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    expose: [{ port: 8080, http: true }]
    resources: { cpu: 0.25, memory: 32Mi, storage: 8Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`

async function startChild(configFile: string): Promise<GatewayTarget & { address: string }> {
  const process_ = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'daemon-child.ts'), configFile],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  child = process_
  let stderr = ''
  process_.stderr?.on('data', (chunk) => {
    stderr += chunk
    if (process.env.STOA_TEST_LOG) process.stderr.write(chunk)
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    process_.stdout?.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(out.split('\n')[0] as string)
    })
    process_.once('exit', (code) =>
      reject(new Error(`the daemon exited with ${code}: ${stderr.slice(-2000)}`)),
    )
  })
  const ready = JSON.parse(line) as { gatewayUrl: string; address: string }
  return {
    gatewayUrl: ready.gatewayUrl,
    address: ready.address,
    config: { chain: { deployment: devnet.deployment } },
  }
}

async function leaseVia(target: { address: string }, yaml: string) {
  const parsed = await manifestOf(yaml)
  const { orderId } = await orderFor(devnet.alice, parsed.manifest, { bidWindowSeconds: 120 })
  await waitFor(
    async () => (await getBids(devnet.alice, { orderId })).some((b) => b.provider === target.address),
    {
      what: `a bid on ${orderId}`,
    },
  )
  const { leaseId } = await acceptBid(devnet.alice, { orderId, provider: target.address as `0x${string}` })
  return { ...parsed, orderId, leaseId }
}

async function statusOf(target: GatewayTarget, leaseId: bigint): Promise<LeaseView> {
  const response = await signedFetch(target, devnet.alice.account, 'GET', `/v1/leases/${leaseId}`)
  assert.equal(response.status, 200, await response.clone().text())
  return (await response.json()) as LeaseView
}

test('after kill -9 a new daemon on the same data directory keeps its state, removes orphans and goes on', async () => {
  const key = devnet.providerKeys[0] as `0x${string}`
  const dataDir = await mkdtemp(path.join(tmpdir(), 'stoa-restart-'))
  cleanup.push(dataDir)
  const configFile = path.join(dataDir, '..', `${path.basename(dataDir)}.json`)
  cleanup.push(configFile)
  await writeFile(configFile, JSON.stringify(testConfig(devnet, key, dataDir)))
  const first = await startChild(configFile)

  // A lease that stays active across the crash, and one the tenant closes while the daemon is down.
  const kept = await leaseVia(first, spinYaml('spin'))
  const closed = await leaseVia(first, hasDocker ? webYaml : spinYaml('other'))
  for (const lease of [kept, closed]) {
    const put = await signedFetch(
      first,
      devnet.alice.account,
      'PUT',
      `/v1/leases/${lease.leaseId}/manifest`,
      {
        body: submissionBody(lease.manifest, lease.modules),
      },
    )
    assert.equal(put.status, 202)
    await waitFor(async () => (await statusOf(first, lease.leaseId)).status === 'running', {
      what: `lease ${lease.leaseId} running`,
      timeoutMs: 30_000,
    })
  }
  const usedNonce = 99_999n
  const once = await signedFetch(first, devnet.alice.account, 'GET', `/v1/leases/${kept.leaseId}`, {
    nonce: usedNonce,
  })
  assert.equal(once.status, 200)

  child?.kill('SIGKILL')
  await new Promise((resolve) => child?.once('exit', resolve))

  // While it is down: the tenant closes one lease, a new order comes, and workloads nobody owns appear.
  await closeLease(devnet.alice, { leaseId: closed.leaseId })
  const later = await createOrder(devnet.alice, {
    resources: { cpuMillis: 500, memoryMiB: 256 },
    regions: ['eu-west'],
    maxUsdPerHour: '0.10',
    depositUsd: '1',
    bidWindowSeconds: 120,
    manifestHash: sha256(stringToHex('after the crash')),
  })
  const ghostLease = (77n << 32n) | 0n
  const strayWasm = createWasmRuntime({ dataDir })
  await strayWasm.start({
    id: `lease-${ghostLease}-ghost`,
    leaseId: ghostLease,
    service: 'ghost',
    kind: 'job',
    wasm: new Uint8Array(await readFile(path.join(workloadsDir, 'testdata/build/hello.wasm'))),
    limits: { cpuMillis: 100, memoryMiB: 16, storageMiB: 1, pids: 0, timeoutSec: 0 },
  })
  await strayWasm.close()
  const dockerGhost = (88n << 32n) | 0n
  if (hasDocker) {
    const createDockerRuntime = await loadDockerRuntime()
    const strayDocker = createDockerRuntime({ dataDir, providerId: first.address.toLowerCase() })
    await strayDocker.start({
      id: `lease-${dockerGhost}-ghost`,
      leaseId: dockerGhost,
      service: 'ghost',
      kind: 'job',
      image: 'stoa/busybox:1',
      command: ['sleep', '300'],
      limits: { cpuMillis: 100, memoryMiB: 16, storageMiB: 1, pids: 16, timeoutSec: 0 },
    })
    await strayDocker.close()
  }

  const second = await startDaemon(devnet, key, { dataDir })
  const startup = second.logs.find((entry) => entry.msg === 'start-up reconcile') as
    | { report: { orphansRemoved: { id: string }[]; leasesClosed: string[] } }
    | undefined
  assert.ok(startup, 'the start-up reconcile reported what it removed')
  const orphanIds = startup.report.orphansRemoved.map((orphan) => orphan.id).sort()
  assert.deepEqual(
    orphanIds,
    [...(hasDocker ? [`lease-${dockerGhost}-ghost`] : []), `lease-${ghostLease}-ghost`].sort(),
  )
  assert.deepEqual(startup.report.leasesClosed, [closed.leaseId.toString()])

  // The closed lease's workload is gone, its reservation released.
  const listed = [
    ...((await second.components.runtimes.wasm?.list()) ?? []),
    ...((await second.components.runtimes.docker?.list()) ?? []),
  ]
  assert.deepEqual(
    listed.map((w) => w.id),
    [`lease-${kept.leaseId}-spin`],
  )
  assert.equal(second.components.store.getLease(closed.leaseId)?.status, 'closed')
  assert.equal(second.components.store.getReservation(closed.orderId), undefined)
  assert.equal(second.components.store.getReservation(kept.orderId)?.kind, 'lease')

  // The kept lease runs again (its worker died with the old process).
  const restarted = await waitFor(
    async () => {
      const status = await statusOf(second, kept.leaseId)
      return status.status === 'running' ? status : undefined
    },
    { what: 'the kept lease to run again' },
  )
  assert.equal(restarted.services[0]?.status, 'running')
  assert.equal((await getLease(devnet.alice, { leaseId: kept.leaseId }))?.state, 'Active')

  // A nonce used before the crash is still refused.
  const replay = await signedFetch(second, devnet.alice.account, 'GET', `/v1/leases/${kept.leaseId}`, {
    nonce: usedNonce,
  })
  assert.equal(replay.status, 401)
  assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'replayed')

  // Bids from before the crash are still known, and it bids on the order created while it was down.
  assert.equal(
    second.components.store.getBid(kept.orderId, parseLeaseId(kept.leaseId).round)?.status,
    'placed',
  )
  await waitFor(
    async () =>
      (await getBids(devnet.alice, { orderId: later.orderId })).some((b) => b.provider === second.address),
    {
      what: 'a bid on the order created while the daemon was down',
    },
  )

  await closeLease(devnet.alice, { leaseId: kept.leaseId })
  await waitFor(
    async () =>
      !((await second.components.runtimes.wasm?.list()) ?? []).some((w) => w.leaseId === kept.leaseId),
  )
})

test('a lost database is rebuilt from the chain and the disk: the lease, its workload and its reservation', async () => {
  const key = devnet.providerKeys[0] as `0x${string}`
  const first = await startDaemon(devnet, key)
  const lease = await leaseVia(first, spinYaml('keep'))
  const put = await signedFetch(first, devnet.alice.account, 'PUT', `/v1/leases/${lease.leaseId}/manifest`, {
    body: submissionBody(lease.manifest, lease.modules),
  })
  assert.equal(put.status, 202)
  await waitFor(async () => (await statusOf(first, lease.leaseId)).status === 'running', {
    what: 'the lease running',
  })
  const { dataDir } = first
  await first.stop()
  for (const suffix of ['', '-wal', '-shm'])
    await rm(path.join(dataDir, `state.db${suffix}`), { force: true })

  const second = await startDaemon(devnet, key, { dataDir })
  const restored = await waitFor(
    async () => {
      const status = await statusOf(second, lease.leaseId)
      return status.status === 'running' ? status : undefined
    },
    { what: 'the lease rebuilt and running' },
  )
  assert.deepEqual(
    restored.services.map((s) => [s.name, s.status]),
    [['keep', 'running']],
  )
  assert.equal(second.components.store.getReservation(lease.orderId)?.kind, 'lease')
  assert.equal(second.components.store.getLease(lease.leaseId)?.status, 'running')
  await closeLease(devnet.alice, { leaseId: lease.leaseId })
  await waitFor(
    async () =>
      !((await second.components.runtimes.wasm?.list()) ?? []).some((w) => w.leaseId === lease.leaseId),
  )
  await second.stop()
})
