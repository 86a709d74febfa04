// The provider daemon against a real anvil and the real contracts: registration and stake at start,
// the bid engine (placement, capacity, price, no overcommit), the external pricing script, and the
// auto-reopen duties (restartBidding on a round with no bid, acceptBestBid on our best bid).
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { formatStoa, parseStoa, regionName, usdPerHourToPricePerSecond } from '@stoa/protocol'
import { createOrder, getBids, getLease, getOrder, getProvider } from '@stoa/sdk'
import { sha256, stringToHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { BidDecision } from '../src/index.ts'
import {
  type Devnet,
  startDaemon,
  startDevnet,
  stopAllDaemons,
  type TestDaemon,
  waitFor,
} from './daemon-fixture.ts'

let devnet: Devnet
let daemon: TestDaemon
let scratch: string

before(async () => {
  devnet = await startDevnet({ providers: 3 })
  scratch = await mkdtemp(path.join(tmpdir(), 'stoa-bidding-'))
})
after(async () => {
  await stopAllDaemons()
  await devnet?.stop()
  await rm(scratch, { recursive: true, force: true })
})

let counter = 0
function order(
  overrides: {
    cpuMillis?: number
    memoryMiB?: number
    regions?: string[]
    maxUsdPerHour?: string
    autoReopen?: boolean
    bidWindowSeconds?: number
  } = {},
) {
  counter++
  return createOrder(devnet.alice, {
    resources: { cpuMillis: overrides.cpuMillis ?? 1000, memoryMiB: overrides.memoryMiB ?? 1024 },
    regions: overrides.regions ?? ['eu-west', 'eu-central'],
    maxUsdPerHour: overrides.maxUsdPerHour ?? '0.50',
    depositUsd: '5',
    bidWindowSeconds: overrides.bidWindowSeconds ?? 120,
    manifestHash: sha256(stringToHex(`order ${counter}`)),
    ...(overrides.autoReopen !== undefined ? { autoReopen: overrides.autoReopen } : {}),
  })
}

function decision(target: TestDaemon, orderId: bigint, round = 0) {
  return target.services.bidding.decisions.get(`${orderId}:${round}`) as
    | BidDecision
    | { bid: 'placed' | 'failed'; detail: string }
    | undefined
}

describe('registration', () => {
  test('registers the provider on chain with its gateway, region, capacity and stake', async () => {
    const key = devnet.providerKeys[0] as `0x${string}`
    daemon = await startDaemon(devnet, key, { overrides: { stake: '1500' } })
    assert.deepEqual(daemon.registration.actions, ['registered'])
    const record = await getProvider(devnet.alice, { provider: privateKeyToAccount(key).address })
    assert.ok(record)
    assert.equal(record.gatewayUrl, daemon.gatewayUrl)
    assert.equal(regionName(record.region), 'eu-west')
    assert.deepEqual(record.capacity, { cpuMillis: 4000, memoryMiB: 8192, storageGiB: 64, gpus: 0 })
    assert.deepEqual(
      record.attributes.map(({ key: name, value }) => [name, value]),
      [['tier', 'test']],
    )
    assert.equal(formatStoa(record.stake), '1500')
    assert.equal(record.location.latitude, 48.85)
    assert.equal(record.active, true)
    // The gateway answers at the registered URL.
    const health = (await (await fetch(`${record.gatewayUrl}/v1/health`)).json()) as Record<string, unknown>
    assert.equal(health.ok, true)
    assert.equal(health.provider, record.address)
  })

  test('a restart with a new stake and gateway updates the record and tops the stake up', async () => {
    const { dataDir } = daemon
    await daemon.stop()
    daemon = await startDaemon(devnet, devnet.providerKeys[0] as `0x${string}`, {
      dataDir,
      overrides: { stake: '2000' },
    })
    assert.deepEqual(daemon.registration.actions, ['updated', 'staked'])
    const record = await getProvider(devnet.alice, { provider: daemon.address })
    assert.equal(record?.gatewayUrl, daemon.gatewayUrl)
    assert.equal(record?.stake, parseStoa('2000'))
  })
})

describe('bid engine', () => {
  test('bids on an order that fits, at the linear price', async () => {
    const created = await order({ cpuMillis: 1000, memoryMiB: 1024 })
    await waitFor(() => decision(daemon, created.orderId)?.bid === 'placed', { what: 'a bid' })
    const bids = await getBids(devnet.alice, { orderId: created.orderId })
    assert.equal(bids.length, 1)
    assert.equal(bids[0]?.provider, daemon.address)
    // 1 core × $0.01 + 1 GiB × $0.005 = $0.015/h, rounded up to 1e-12 USD/s.
    assert.equal(bids[0]?.pricePerSecond, usdPerHourToPricePerSecond('0.015', { rounding: 'up' }))
    const capacity = (await (await fetch(`${daemon.gatewayUrl}/v1/capacity`)).json()) as {
      reserved: { cpuMillis: number }
      available: { cpuMillis: number }
    }
    assert.equal(capacity.reserved.cpuMillis, 1000)
    assert.equal(capacity.available.cpuMillis, 3000)
  })

  test('refuses an order outside its regions, above its capacity or below its price', async () => {
    const elsewhere = await order({ regions: ['us-east'] })
    const tooBig = await order({ cpuMillis: 8000 })
    const tooCheap = await order({ maxUsdPerHour: '0.001' })
    const reasons = await waitFor(() => {
      const all = [elsewhere, tooBig, tooCheap].map((o) => decision(daemon, o.orderId))
      return all.every((d) => d && 'reason' in d)
        ? all.map((d) => (d as { reason: string }).reason)
        : undefined
    })
    assert.deepEqual(reasons, ['region', 'capacity', 'price'])
    for (const refused of [elsewhere, tooBig, tooCheap]) {
      assert.deepEqual(await getBids(devnet.alice, { orderId: refused.orderId }), [])
    }
  })

  test('never overcommits: of two orders that each fit alone, it bids on one', async () => {
    // 1000m are reserved by the first order; 3000m are free.
    const first = await order({ cpuMillis: 2500, memoryMiB: 512 })
    const second = await order({ cpuMillis: 2500, memoryMiB: 512 })
    await waitFor(() => decision(daemon, first.orderId)?.bid === 'placed' && decision(daemon, second.orderId))
    const secondDecision = decision(daemon, second.orderId)
    assert.ok(secondDecision && 'reason' in secondDecision)
    assert.equal(secondDecision.reason, 'capacity')
    assert.deepEqual(await getBids(devnet.alice, { orderId: second.orderId }), [])
    const reserved = daemon.components.store.reserved()
    assert.equal(reserved.cpuMillis, 3500)
    assert.ok(reserved.cpuMillis <= daemon.components.capacity.cpuMillis)
  })
})

describe('external pricing script', () => {
  test('bids the price the script prints, given the order as JSON on stdin', async (t) => {
    const seen = path.join(scratch, 'request.json')
    const script = path.join(scratch, 'price.sh')
    // One request per line: a fresh daemon also prices the orders earlier tests left open.
    await writeFile(script, `#!/bin/sh\ncat >> ${seen}\necho >> ${seen}\necho 0.02\n`)
    await chmod(script, 0o755)
    const scripted = await startDaemon(devnet, devnet.providerKeys[1] as `0x${string}`, {
      overrides: {
        pricing: { script: { path: script, timeoutMs: 5000 } },
        // Room for every order left open above, so which of them it bids on first cannot matter.
        capacity: { cpuMillis: 64_000, memoryMiB: 65_536 },
      },
    })
    t.after(() => scripted.stop())
    const created = await order({ cpuMillis: 500, memoryMiB: 256 })
    // `{ bid: true }` is the evaluation while the transaction is on its way; wait for its outcome.
    const outcome = await waitFor(
      () => {
        const d = decision(scripted, created.orderId)
        return d && d.bid !== true ? d : undefined
      },
      { what: 'a scripted decision' },
    )
    assert.equal(
      outcome.bid,
      'placed',
      `decision: ${JSON.stringify(outcome, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    )
    const bids = await getBids(devnet.alice, { orderId: created.orderId })
    const mine = bids.find((b) => b.provider === scripted.address)
    assert.equal(mine?.pricePerSecond, usdPerHourToPricePerSecond('0.02', { rounding: 'up' }))
    const requests = (await readFile(seen, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(
        (line) =>
          JSON.parse(line) as {
            order: { orderId: string; resources: unknown }
            provider: { region: string }
          },
      )
    const request = requests.find((r) => r.order.orderId === created.orderId.toString())
    assert.ok(request, 'the script saw the order')
    assert.equal(request.order.orderId, created.orderId.toString())
    assert.deepEqual(request.order.resources, { cpuMillis: 500, memoryMiB: 256, storageMiB: 0, gpus: 0 })
    assert.equal(request.provider.region, 'eu-west')
  })

  test('a script past its timeout is killed and no bid is placed', async (t) => {
    const script = path.join(scratch, 'slow.sh')
    await writeFile(script, '#!/bin/sh\nsleep 5\necho 0.01\n')
    await chmod(script, 0o755)
    const slow = await startDaemon(devnet, devnet.providerKeys[2] as `0x${string}`, {
      overrides: { pricing: { script: { path: script, timeoutMs: 200 } } },
    })
    t.after(() => slow.stop())
    const created = await order({ cpuMillis: 500, memoryMiB: 256 })
    const result = await waitFor(() => decision(slow, created.orderId), { what: 'a decision' })
    assert.ok('reason' in result)
    assert.equal(result.reason, 'pricing-error')
    assert.match(result.detail, /200 ms/)
    const bids = await getBids(devnet.alice, { orderId: created.orderId })
    assert.equal(
      bids.find((b) => b.provider === slow.address),
      undefined,
    )
  })
})

describe('auto-reopen orders', () => {
  test('restarts bidding on a round that got no bid, bids, then accepts its best bid after the window', async () => {
    const { dataDir } = daemon
    await daemon.stop()
    const created = await order({ autoReopen: true, bidWindowSeconds: 5, cpuMillis: 250, memoryMiB: 128 })
    await devnet.warp(10)
    // Earlier tests' bids hold all 4 cores until their windows close: offer more.
    daemon = await startDaemon(devnet, devnet.providerKeys[0] as `0x${string}`, {
      dataDir,
      overrides: { capacity: { cpuMillis: 16_000 } },
    })
    const restarted = await waitFor(
      async () => {
        const current = await getOrder(devnet.alice, { orderId: created.orderId })
        return current && current.round >= 1 && current.bidCount === 1 ? current : undefined
      },
      { what: 'restartBidding and a bid' },
    )
    const providerId = (await getProvider(devnet.alice, { provider: daemon.address }))?.id
    assert.equal(restarted.bestBidProvider, providerId)
    await devnet.warp(10)
    const leased = await waitFor(
      async () => {
        const current = await getOrder(devnet.alice, { orderId: created.orderId })
        return current?.state === 'Leased' ? current : undefined
      },
      { what: 'acceptBestBid' },
    )
    const lease = await getLease(devnet.alice, { leaseId: leased.leaseId as bigint })
    assert.equal(lease?.provider, daemon.address)
    // The lease manager knows it and waits for its manifest.
    await waitFor(
      () => daemon.components.store.getLease(leased.leaseId as bigint)?.status === 'waiting-manifest',
    )
  })
})
