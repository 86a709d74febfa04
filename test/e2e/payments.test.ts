/**
 * End to end, payments: a devnet with a real provider daemon (a child process running Docker
 * workloads), a service deployed with the SDK, then settle / close / run out of escrow, checked against
 * the chain to the credit unit and against what the provider really runs (Docker containers, ingress).
 * Needs Docker and the stoa/busybox:1 image; without them it FAILS, saying so. STOA_SKIP_DOCKER=1
 * skips it on purpose. Run: node --import tsx --test test/e2e/payments.test.ts
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { marketAbi } from '@stoa/protocol'
import {
  closeLease,
  deploy,
  getCreditBalance,
  getLease,
  getOrder,
  type StoaActionClient,
  settle,
} from '@stoa/sdk'
import { createTestClient, http } from 'viem'
import { getContractEvents } from 'viem/actions'
import {
  alive,
  type E2eDevnet,
  eventually,
  repositoryRoot,
  requireDocker,
  skipDocker,
  sleep,
  startE2eDevnet,
} from './devnet.ts'

const NAMESPACE = `pa${process.pid % 1000}`
const yaml = (body: string) => ({ yaml: body, baseDir: repositoryRoot })

// One provider (eu-west is provider1); busybox httpd behind the provider's ingress.
const WEB = yaml(`version: "1"
services:
  web:
    image: stoa/busybox:1
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    expose:
      - port: 8080
        http: true
    resources: { cpu: 0.1, memory: 16Mi, storage: 1Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "0.10" }
`)
// The smallest deposit the market takes (60 s at the highest price allowed): a couple of minutes at the
// provider's price, which the test skips by moving the chain's clock.
const SHORT = yaml(`version: "1"
services:
  sleeper:
    image: stoa/busybox:1
    kind: service
    command: ["sleep", "3600"]
    resources: { cpu: 0.5, memory: 16Mi, storage: 1Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.02" }
deposit: { usd: "0.0004" }
`)

/** What the provider withdrew from a lease so far (withdrawals zero the lease's `earned`). */
async function withdrawn(client: StoaActionClient, leaseId: bigint): Promise<bigint> {
  const logs = await getContractEvents(client, {
    address: client.deployment.contracts.market,
    abi: marketAbi,
    eventName: 'EarningsWithdrawn',
    fromBlock: 0n,
    toBlock: 'latest',
    strict: true,
  })
  return logs.filter((log) => log.args.leaseId === leaseId).reduce((sum, log) => sum + log.args.amount, 0n)
}

describe('payments end to end (devnet, real provider daemon)', {
  skip: skipDocker ? 'STOA_SKIP_DOCKER=1' : false,
  timeout: 600_000,
}, () => {
  let net: E2eDevnet | undefined

  before(async () => {
    await requireDocker()
    net = await startE2eDevnet({ providers: 1, namespace: NAMESPACE, docker: true })
  })

  after(async () => {
    await net?.stop()
    if (net) {
      assert.equal(net.anvilPid !== undefined && alive(net.anvilPid), false, 'anvil left running')
      for (const provider of net.providers) assert.equal(alive(-provider.pid), false, `${provider.name} left`)
      assert.deepEqual(await net.allContainers(), [], 'containers left behind')
    }
  })

  it('settles exactly what accrued, refunds the rest at close, and the provider tears the workload down', async () => {
    const devnet = net as E2eDevnet
    const alice = devnet.clientOf('alice')
    const watcher = devnet.clientOf('watcher')
    const deployed = await deploy(alice, { manifest: WEB, bidWindowSeconds: 1, timeoutMs: 120_000 })
    const { leaseId, orderId, deposit } = deployed
    assert.equal(deployed.status, 'running')
    const url = deployed.services[0]?.url
    assert.ok(url, 'the service has an ingress URL')
    assert.match(await (await fetch(url)).text(), /Hello from a Stoa provider/)
    assert.equal((await devnet.containersOf(leaseId)).length, 1, 'one container runs the lease')

    await sleep(4_000)
    // Anyone may settle: the watcher account does, not the tenant nor the provider.
    const settled = await settle(watcher, { leaseId })
    assert.equal(settled.closed, undefined)
    const lease = await getLease(alice, { leaseId })
    assert.ok(lease)
    assert.equal(lease.state, 'Active')
    assert.ok(lease.settledAt > lease.startedAt, 'some block time passed')
    const expected = (lease.pricePerSecond * BigInt(lease.settledAt - lease.startedAt)) / 1_000_000n
    assert.ok(expected > 0n, `something accrued (price ${lease.pricePerSecond})`)
    // The provider's own settle/withdraw loop may have run meanwhile: earned + withdrawn is what it got.
    assert.equal(lease.earned + (await withdrawn(alice, leaseId)), expected)
    const order = await getOrder(alice, { orderId })
    assert.ok(order)
    assert.equal(order.escrow + expected, deposit, 'escrow + earnings == deposit')

    // Close as the tenant: the credits come back to the credit unit.
    const before = (await getCreditBalance(alice)).balance
    const closed = await closeLease(alice, { leaseId })
    assert.equal(closed.closed?.reason, 'TenantClosed')
    const afterClose = (await getCreditBalance(alice)).balance
    assert.equal(afterClose - before, closed.refund, 'the balance rises by the refund')
    const final = await getLease(alice, { leaseId })
    assert.ok(final)
    assert.equal(final.state, 'Closed')
    const finalExpected = (final.pricePerSecond * BigInt(final.settledAt - final.startedAt)) / 1_000_000n
    assert.equal(final.earned + (await withdrawn(alice, leaseId)), finalExpected)
    assert.equal(closed.refund + finalExpected, deposit, 'refund + earnings == deposit')
    assert.equal((await getOrder(alice, { orderId }))?.escrow, 0n)

    // The provider notices the close and removes the workload: no container, no answer at the URL.
    await eventually(
      'the container of the closed lease is removed',
      async () => ((await devnet.containersOf(leaseId)).length === 0 ? true : undefined),
      60_000,
    )
    await eventually(
      'the ingress stops serving the closed lease',
      async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined)
        return response?.ok ? undefined : true
      },
      60_000,
    )
  })

  it('closes an order whose escrow runs out with InsufficientFunds, and the provider removes it', async () => {
    const devnet = net as E2eDevnet
    const alice = devnet.clientOf('alice')
    const bob = devnet.clientOf('bob')
    const chain = createTestClient({ mode: 'anvil', transport: http(devnet.devnet.anvil.rpcUrl) })
    const deployed = await deploy(alice, { manifest: SHORT, bidWindowSeconds: 1, timeoutMs: 120_000 })
    const { leaseId, orderId, deposit } = deployed
    assert.equal((await devnet.containersOf(leaseId)).length, 1, 'one container runs the lease')
    // Move the chain's clock past the end of the deposit, then wait until what is owed covers it all.
    await chain.increaseTime({ seconds: 600 })
    await eventually(
      'the escrow runs out',
      async () => {
        await chain.mine({ blocks: 1 })
        const lease = await getLease(alice, { leaseId })
        if (lease?.state !== 'Active') return true
        return lease.pending.escrowAfter === 0n ? true : undefined
      },
      120_000,
      500,
    )
    let lease = await getLease(alice, { leaseId })
    if (lease?.state === 'Active') {
      // Anyone can settle: bob, a stranger to the order.
      const settled = await settle(bob, { leaseId })
      assert.equal(settled.closed?.reason, 'InsufficientFunds')
      assert.equal(settled.escrowLeft, 0n)
      lease = await getLease(alice, { leaseId })
    }
    assert.ok(lease)
    assert.equal(lease.state, 'Closed')
    assert.equal(lease.closeReason, 'InsufficientFunds')
    assert.equal(lease.earned + (await withdrawn(alice, leaseId)), deposit, 'the provider got all of it')
    const order = await getOrder(alice, { orderId })
    assert.equal(order?.escrow, 0n)
    assert.notEqual(order?.state, 'Open')
    await eventually(
      'the provider removes the workload of the exhausted lease',
      async () => ((await devnet.containersOf(leaseId)).length === 0 ? true : undefined),
      60_000,
    )
  })
})
