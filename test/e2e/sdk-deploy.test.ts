/**
 * `deploy`, `watchLease` and the lease reads against a real anvil and real provider daemons
 * (`createProviderDaemon` from packages/provider: bid engine, gateway, ingress, WASM and Docker
 * runtimes), two of them at different prices in different regions.
 *
 * The Docker test needs a running engine and the `stoa/busybox:1` image
 * (`workloads/busybox/build-image.sh`); without them it FAILS, saying so. STOA_SKIP_DOCKER=1 skips
 * it on purpose.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { formatCredits, leaseIdOf, parseStoa } from '@stoa/protocol'
import { createProviderDaemon, type ProviderDaemon } from '@stoa/provider'
import {
  closeLease,
  type DeployProgressEvent,
  deploy,
  getCreditBalance,
  getLease,
  getLeaseLogs,
  getLeaseResults,
  getLeaseStatus,
  listLeases,
  NoBidsError,
  type WatchLeaseProgressEvent,
  waitForLease,
  watchLease,
} from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import Fastify from 'fastify'
import { type Address, sha256 } from 'viem'
import { type Devnet, startDevnet } from '../../packages/sdk/test/devnet.ts'

const repositoryRoot = resolve(import.meta.dirname, '../..')
const skipDocker = process.env.STOA_SKIP_DOCKER === '1'

let devnet: Devnet
const daemons = new Map<string, ProviderDaemon>()
const dataDirs: string[] = []

async function startProvider(name: 'provider1' | 'provider2', region: string, cpuUsdPerHour: string) {
  const dataDir = await mkdtemp(join(tmpdir(), `stoa-sdk-deploy-${name}-`))
  dataDirs.push(dataDir)
  const daemon = createProviderDaemon({
    key: devnetAccount(name).privateKey,
    chain: { deployment: devnet.deployment, pollingIntervalMs: 100, reconcileIntervalMs: 300 },
    dataDir,
    gateway: { host: '127.0.0.1', port: 0 },
    ingress: { host: '127.0.0.1', port: 0 },
    region,
    pricing: { usdPerHour: { cpu: cpuUsdPerHour, memoryGiB: '0.01' } },
    stake: '1000',
    capacity: { cpuMillis: 4_000, memoryMiB: 8_192, storageMiB: 20_480 },
    leases: { reconcileIntervalMs: 300 },
    log: { level: 'silent' },
  })
  await daemon.start()
  daemons.set(name, daemon)
  return daemon
}

before(async () => {
  devnet = await startDevnet()
  // provider1 is the cheaper one; both may run anywhere.
  await startProvider('provider1', 'eu-west', '0.02')
  await startProvider('provider2', 'eu-central', '0.03')
})

after(async () => {
  for (const daemon of daemons.values()) if (daemon.started) await daemon.stop()
  await devnet?.stop()
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true })
})

const manifestOf = (services: string, extra = '') => ({
  yaml: `version: "1"
services:
${services}
placement: { maxUsdPerHour: "0.10"${extra} }
duration: 1h
`,
  baseDir: repositoryRoot,
})

const helloJob = manifestOf(`  hello:
    wasm: workloads/testdata/build/hello.wasm
    resources: { cpu: 0.1, memory: 16Mi }`)

describe('deploy', () => {
  let orderId: bigint
  let leaseId: bigint

  test('a WASM job: bids collected and ranked, the cheapest provider wins, exit code, logs and results come back', async () => {
    const events: DeployProgressEvent[] = []
    const provider1 = daemons.get('provider1')?.address as Address
    const result = await deploy(devnet.alice, {
      manifest: helloJob,
      // Both daemons bid within a few hundred ms; a roomy window keeps a loaded machine from missing one.
      bidWindowSeconds: 6,
      onProgress: (event) => events.push(event),
    })
    orderId = result.orderId
    leaseId = result.leaseId
    assert.equal(result.leaseId, leaseIdOf(result.orderId, 0))
    assert.equal(result.leaseLabel, `${result.orderId}/0`)
    assert.equal(result.provider, provider1)
    assert.equal(result.gatewayUrl, daemons.get('provider1')?.gatewayUrl)
    assert.equal(result.status, 'exited')
    assert.equal(result.attempts, 1)
    assert.deepEqual(
      result.ranking.map((entry) => entry.provider),
      [provider1, daemons.get('provider2')?.address],
    )
    assert.equal(result.ranking[0]?.parts.price, 60)
    assert.deepEqual(result.services, [{ name: 'hello', kind: 'job', status: 'exited', exitCode: 0 }])
    assert.equal(result.jobs.length, 1)
    assert.equal(result.jobs[0]?.exitCode, 0)
    assert.ok(
      result.jobs[0]?.logs.some((line) => line.startsWith('hello from wasm')),
      result.jobs[0]?.logs.join('\n'),
    )
    assert.deepEqual(
      result.results.map((file) => file.name),
      ['hello.txt'],
    )

    const types = events.map((event) => event.type)
    const order = [
      'deploy:manifest-parsed',
      'deploy:order-created',
      'deploy:bid',
      'deploy:bids-closed',
      'deploy:ranked',
      'deploy:accepted',
      'deploy:manifest-sent',
      'deploy:status',
      'deploy:exited',
    ]
    const positions = order.map((type) => types.indexOf(type as DeployProgressEvent['type']))
    assert.ok(
      positions.every(
        (position, index) => position >= 0 && (index === 0 || position > (positions[index - 1] ?? 0)),
      ),
      types.join(' '),
    )
    assert.equal(types.filter((type) => type === 'deploy:bid').length, 2)
    // The bid window is waited out; the rest is fast on a devnet.
    assert.ok(result.timings.startMs < 5_000, JSON.stringify(result.timings))
  })

  test('getLeaseResults fetches the result bytes, checked against their digest', async () => {
    const { files } = await getLeaseResults(devnet.alice, { id: orderId, withContent: true })
    assert.equal(files.length, 1)
    const [file] = files
    assert.ok(file?.bytes)
    assert.equal(sha256(file.bytes), file.sha256)
    assert.equal(file.size, file.bytes.length)
  })

  test('getLeaseLogs streams the lines by order id or lease id', async () => {
    const byOrder: string[] = []
    for await (const line of getLeaseLogs(devnet.alice, { id: orderId })) byOrder.push(line)
    const byLease: string[] = []
    for await (const line of getLeaseLogs(devnet.alice, { id: `${orderId}/0`, tail: 1 })) byLease.push(line)
    assert.ok(byOrder.length >= 2)
    assert.deepEqual(byLease, byOrder.slice(-1))
  })

  test('getLeaseStatus combines the chain and the gateway; waitForLease returns at once for an exited job', async () => {
    const status = await getLeaseStatus(devnet.alice, { id: orderId })
    assert.equal(status.leaseId, leaseId)
    assert.equal(status.order.state, 'Leased')
    assert.equal(status.lease?.state, 'Active')
    assert.equal(status.provider?.address, daemons.get('provider1')?.address)
    assert.equal(status.gateway?.status, 'exited')
    assert.equal(status.gatewayError, undefined)
    const waited = await waitForLease(devnet.alice, { leaseId })
    assert.equal(waited.status, 'exited')
    // Someone else's key is refused by the provider: reported, not thrown.
    const asBob = await getLeaseStatus(devnet.bob, { id: leaseId })
    assert.equal(asBob.gateway, undefined)
    assert.match(asBob.gatewayError?.message ?? '', /403/)
  })

  test('listLeases shows the order with its lease; closing refunds the rest of the escrow', async () => {
    const before = await getCreditBalance(devnet.alice)
    const orders = await listLeases(devnet.alice)
    const listed = orders.find((order) => order.orderId === orderId)
    assert.ok(listed)
    assert.equal(listed.state, 'Leased')
    assert.deepEqual(
      listed.leases.map((lease) => [lease.leaseId, lease.state, lease.provider]),
      [[leaseId, 'Active', daemons.get('provider1')?.address]],
    )
    assert.deepEqual(await listLeases(devnet.bob), [])
    const { refund } = await closeLease(devnet.alice, { leaseId })
    const afterClose = await getCreditBalance(devnet.alice)
    assert.equal(afterClose.balance, before.balance + refund)
    assert.ok(refund > 0n, formatCredits(refund))
  })

  test('no provider serves the region: NoBidsError, and the order is cancelled and refunded', async () => {
    const before = await getCreditBalance(devnet.alice)
    const events: string[] = []
    await assert.rejects(
      deploy(devnet.alice, {
        manifest: manifestOf(
          `  hello:
    wasm: workloads/testdata/build/hello.wasm
    resources: { cpu: 0.1, memory: 16Mi }`,
          ', regions: [ap-south]',
        ),
        bidWindowSeconds: 1,
        onProgress: (event) => events.push(event.type),
      }),
      (error: unknown) => error instanceof NoBidsError && error.refund !== undefined && error.refund > 0n,
    )
    assert.ok(events.includes('deploy:cancelled'))
    assert.equal((await getCreditBalance(devnet.alice)).balance, before.balance)
  })

  test("the winner's gateway refuses the manifest: fault reported, the order re-bids, the next provider runs it", async () => {
    // provider3 bids lowest but its gateway (a fault injector: healthy, yet every manifest gets a
    // 503) never takes the manifest.
    const faulty = Fastify()
    faulty.get('/v1/health', async () => ({
      ok: true,
      provider: devnet.provider3.account.address,
      version: '0',
      chainId: 31337,
    }))
    faulty.put('/v1/leases/:leaseId/manifest', async (_request, reply) =>
      reply.code(503).send({ error: { code: 'overloaded', message: 'No room right now.' } }),
    )
    await faulty.listen({ host: '127.0.0.1', port: 0 })
    try {
      const faultyUrl = `http://127.0.0.1:${(faulty.server.address() as AddressInfo).port}`
      await devnet.provider3.registerProvider({
        gatewayUrl: faultyUrl,
        region: 'eu-west',
        capacity: { cpuMillis: 1_000, memoryMiB: 1_024, storageGiB: 1 },
        stake: parseStoa('1000'),
      })
      const events: DeployProgressEvent[] = []
      const result = await deploy(devnet.alice, {
        manifest: helloJob,
        bidWindowSeconds: 2,
        manifestTimeoutMs: 500,
        onProgress: (event) => {
          events.push(event)
          if (event.type === 'deploy:order-created') {
            void devnet.provider3.bid({ orderId: event.detail.orderId, usdPerHour: '0.00001' })
          }
        },
      })
      assert.equal(result.attempts, 2)
      assert.equal(result.leaseId, leaseIdOf(result.orderId, 1))
      // Whichever daemon's bid was in by then (the failed provider may not bid on the next round).
      assert.ok([...daemons.values()].some((daemon) => daemon.address === result.provider))
      assert.equal(result.status, 'exited')
      const failover = events.find((event) => event.type === 'deploy:failover')
      assert.deepEqual(failover?.detail, {
        leaseId: leaseIdOf(result.orderId, 0),
        provider: devnet.provider3.account.address,
        reason: 'gateway 503 overloaded',
      })
      const first = await getLease(devnet.alice, { leaseId: leaseIdOf(result.orderId, 0) })
      assert.equal(first?.closeReason, 'FaultReportedByTenant')
      await closeLease(devnet.alice, { leaseId: result.leaseId })
    } finally {
      await faulty.close()
    }
  })

  test('aborting while bids are collected cancels the order', async () => {
    const controller = new AbortController()
    const before = await getCreditBalance(devnet.alice)
    const pending = deploy(devnet.alice, {
      manifest: helloJob,
      bidWindowSeconds: 5,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'deploy:order-created')
          setTimeout(() => controller.abort(new Error('changed my mind')), 100)
      },
    })
    await assert.rejects(pending, { message: 'changed my mind' })
    assert.equal((await getCreditBalance(devnet.alice)).balance, before.balance)
  })
})

describe('deploy a Docker HTTP service', { skip: skipDocker ? 'STOA_SKIP_DOCKER=1' : false }, () => {
  test('its URL on the provider ingress answers', async () => {
    const withDocker = [...daemons.values()].filter(
      (daemon) => daemon.components.runtimes.docker !== undefined,
    )
    if (withDocker.length === 0) {
      assert.fail(
        'This test needs a running Docker engine with the stoa/busybox:1 image (workloads/busybox/build-image.sh); set STOA_SKIP_DOCKER=1 to skip it on purpose.',
      )
    }
    const result = await deploy(devnet.alice, {
      manifest: { path: join(repositoryRoot, 'examples/web-service.yaml') },
      bidWindowSeconds: 2,
      // The example asks for eu-west or us-east.
    })
    try {
      assert.equal(result.status, 'running')
      const [web] = result.services
      assert.equal(web?.name, 'web')
      assert.equal(web?.status, 'running')
      const ingressUrl = daemons.get('provider1')?.ingressUrl
      assert.equal(web?.url, `${ingressUrl}/l/${result.leaseId}/web/`)
      const response = await fetch(web?.url as string)
      assert.equal(response.status, 200)
      assert.ok((await response.text()).length > 0)
    } finally {
      await closeLease(devnet.alice, { leaseId: result.leaseId })
    }
  })
})

describe('watchLease', () => {
  test('moves a service to the other provider when its provider dies, and re-sends the manifest', async () => {
    const spin = manifestOf(`  spin:
    wasm: workloads/testdata/build/spin.wasm
    kind: service
    resources: { cpu: 0.1, memory: 16Mi }`)
    const deployed = await deploy(devnet.alice, { manifest: spin, bidWindowSeconds: 2 })
    assert.equal(deployed.status, 'running')
    const first = [...daemons.entries()].find(([, daemon]) => daemon.address === deployed.provider)
    assert.ok(first)
    const [firstName, firstDaemon] = first

    const controller = new AbortController()
    const events: WatchLeaseProgressEvent[] = []
    let resolveRunning: () => void = () => {}
    const runningAgain = new Promise<void>((resolve) => {
      resolveRunning = resolve
    })
    let watching: () => void = () => {}
    const started = new Promise<void>((resolve) => {
      watching = resolve
    })
    const watcher = watchLease(devnet.alice, {
      orderId: deployed.orderId,
      manifest: spin,
      probeIntervalMs: 200,
      probeTimeoutMs: 500,
      failuresBeforeReport: 2,
      signal: controller.signal,
      onProgress: (event) => {
        events.push(event)
        if (event.type === 'watch:watching') watching()
        if (event.type === 'watch:running') resolveRunning()
      },
    })
    await started
    await firstDaemon.stop()
    const killedAt = performance.now()
    await Promise.race([
      runningAgain,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no failover: ${events.map((e) => e.type).join(' ')}`)), 20_000),
      ),
    ])
    const failoverMs = performance.now() - killedAt
    controller.abort()
    const summary = await watcher
    assert.equal(summary.stopped, 'aborted')
    assert.equal(summary.failovers.length, 1)
    const [failover] = summary.failovers
    assert.equal(failover?.fromProvider, deployed.provider)
    assert.notEqual(failover?.provider, deployed.provider)
    assert.equal(failover?.fromLeaseId, deployed.leaseId)
    assert.equal(failover?.leaseId, leaseIdOf(deployed.orderId, 1))
    assert.ok(failoverMs < 10_000, `running elsewhere ${Math.round(failoverMs)} ms after the provider died`)
    console.log(`failover: running elsewhere ${Math.round(failoverMs)} ms after the provider stopped`)
    const types = events.map((event) => event.type)
    for (const type of [
      'watch:probe',
      'watch:fault-reported',
      'watch:accepted',
      'watch:manifest-sent',
      'watch:running',
    ]) {
      assert.ok(types.includes(type as WatchLeaseProgressEvent['type']), `${type} in ${types.join(' ')}`)
    }
    const status = await getLeaseStatus(devnet.alice, { id: deployed.orderId })
    assert.equal(status.leaseId, failover?.leaseId)
    assert.equal(status.gateway?.status, 'running')
    await closeLease(devnet.alice, { leaseId: failover?.leaseId as bigint })
    // Bring the stopped provider back for whatever runs next.
    await firstDaemon.start()
    assert.ok(daemons.get(firstName)?.started)
  })
})
