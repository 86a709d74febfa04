// Failover end to end on a real anvil: provider A runs an auto-reopen order whose manifest is published
// with the order (data: URI); a daemon with the watcher role probes A's gateway and the lease at A's
// ingress, reports the fault when A goes away; the order reopens, provider B bids (A may not), accepts
// its best bid after the window and runs the workload from the URI, with nobody online for the tenant.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { getBids, getLease, getOrder, getProvider } from '@stoa/sdk'
import type { LeaseView } from '../src/index.ts'
import {
  type Devnet,
  manifestOf,
  orderFor,
  signedFetch,
  startDaemon,
  startDevnet,
  stopAllDaemons,
  submissionBody,
  type TestDaemon,
  waitFor,
} from './daemon-fixture.ts'

let devnet: Devnet

before(async () => {
  devnet = await startDevnet({ providers: 2 })
})
after(async () => {
  await stopAllDaemons()
  await devnet?.stop()
})

async function statusAt(daemon: TestDaemon, leaseId: bigint): Promise<LeaseView | undefined> {
  const response = await signedFetch(daemon, devnet.alice.account, 'GET', `/v1/leases/${leaseId}`)
  return response.status === 200 ? ((await response.json()) as LeaseView) : undefined
}

test('a watcher reports a provider that went away; the order moves to another provider and runs there', async (t) => {
  const a = await startDaemon(devnet, devnet.providerKeys[0] as `0x${string}`, {
    overrides: { pricing: { usdPerHour: { cpu: '0.001', memoryGiB: '0.001' } } },
  })
  const b = await startDaemon(devnet, devnet.providerKeys[1] as `0x${string}`, {
    overrides: {
      pricing: { usdPerHour: { cpu: '0.01', memoryGiB: '0.01' } },
      watcher: {
        enabled: true,
        key: devnet.watcherKey,
        probeIntervalMs: 200,
        probeTimeoutMs: 500,
        failuresBeforeReport: 3,
      },
    },
  })
  const parsed = await manifestOf(`
version: "1"
services:
  worker:
    wasm: workloads/testdata/build/spin.wasm
    kind: service
    resources: { cpu: 0.5, memory: 16Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "2" }
`)
  const uri = `data:application/json;base64,${Buffer.from(submissionBody(parsed.manifest, parsed.modules)).toString('base64')}`
  const { orderId } = await orderFor(devnet.alice, parsed.manifest, {
    bidWindowSeconds: 30,
    manifestUri: uri,
    autoReopen: true,
  })
  // The window closes only once both bids are on chain (the chain's clock is moved past it), so a
  // slow machine cannot leave A's lower bid out of round 0.
  const bidders = async (round: number) =>
    (await getBids(devnet.alice, { orderId, round })).map((bid) => bid.provider).sort()
  await waitFor(async () => (await bidders(0)).length === 2, { what: 'both bids in round 0' })
  await devnet.warp(31)

  // A bid lowest; once the window closed A accepted its own best bid and fetched the manifest.
  const first = await waitFor(
    async () => {
      const order = await getOrder(devnet.alice, { orderId })
      return order?.state === 'Leased' ? (order.leaseId as bigint) : undefined
    },
    { what: 'the first lease', timeoutMs: 20_000 },
  )
  assert.equal((await getLease(devnet.alice, { leaseId: first }))?.provider, a.address)
  await waitFor(async () => (await statusAt(a, first))?.status === 'running', { what: 'the workload on A' })
  // The watcher sees it healthy.
  const watched = await waitFor(
    () => {
      const entry = b.services.watcher?.watched.get(first)
      return entry?.lastProbe?.ok ? entry : undefined
    },
    { what: 'a healthy probe' },
  )
  assert.equal(watched.failures, 0)

  const stakeBefore = (await getProvider(devnet.alice, { provider: a.address }))?.stake ?? 0n
  await a.stop()
  const stoppedAt = Date.now()

  const closed = await waitFor(
    async () => {
      const lease = await getLease(devnet.alice, { leaseId: first })
      return lease?.state === 'Closed' ? lease : undefined
    },
    { what: 'the fault report', timeoutMs: 20_000 },
  )
  const reportedAt = Date.now()
  assert.equal(closed.closeReason, 'FaultConfirmed')
  const stakeAfter = (await getProvider(devnet.alice, { provider: a.address }))?.stake ?? 0n
  assert.ok(stakeAfter < stakeBefore, 'the faulty provider was slashed')

  // Round 1 (A is stopped and excluded): B's bid, then the window is closed the same way.
  await waitFor(async () => (await bidders(1)).length === 1, {
    what: "B's bid in round 1",
    timeoutMs: 20_000,
  })
  await devnet.warp(31)
  const second = await waitFor(
    async () => {
      const order = await getOrder(devnet.alice, { orderId })
      return order?.state === 'Leased' && order.round > 0 ? (order.leaseId as bigint) : undefined
    },
    { what: 'the order to move', timeoutMs: 30_000 },
  )
  assert.equal((await getLease(devnet.alice, { leaseId: second }))?.provider, b.address)
  await waitFor(async () => (await statusAt(b, second))?.status === 'running', { what: 'the workload on B' })
  const runningAt = Date.now()
  // A (stopped, and excluded anyway) did not bid in the new round: only B did.
  const round1 = await getBids(devnet.alice, { orderId, round: 1 })
  assert.deepEqual(
    round1.map((bid) => bid.provider),
    [b.address],
  )
  t.diagnostic(
    `failover: A stopped → fault confirmed ${reportedAt - stoppedAt} ms (3 probes at 200 ms), → running on B ${runningAt - reportedAt} ms (the bid window closed by moving the chain clock once B had bid)`,
  )
})
