import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  creditsForDuration,
  formatCredits,
  InvalidParameterError,
  leaseIdOf,
  PRICE_SCALE,
  parseCredits,
  parseStoa,
  regionMask,
  StoaContractError,
  usdPerHourToPricePerSecond,
} from '@stoa/protocol'
import { sha256, stringToHex } from 'viem'
import {
  acceptBid,
  bid,
  closeLease,
  createOrder,
  getBids,
  getLease,
  getOrder,
  reportFault,
  settle,
  topUp,
} from '../src/index.ts'
import { type Devnet, startDevnet } from './devnet.ts'

let devnet: Devnet
const formatUsd = (credits: bigint) => `$${formatCredits(credits)}`
const manifestHash = sha256(stringToHex('services: { web: { image: busybox } }'))

before(async () => {
  devnet = await startDevnet()
  const provider = {
    capacity: { cpuMillis: 8_000, memoryMiB: 16_384, storageGiB: 500 },
    stake: parseStoa('1000'),
  }
  await devnet.provider1.registerProvider({
    ...provider,
    gatewayUrl: 'http://127.0.0.1:8701',
    region: 'eu-west',
  })
  await devnet.provider2.registerProvider({
    ...provider,
    gatewayUrl: 'http://127.0.0.1:8702',
    region: 'eu-central',
  })
  await devnet.provider3.registerProvider({
    ...provider,
    gatewayUrl: 'http://127.0.0.1:8703',
    region: 'us-east',
  })
})
after(async () => {
  await devnet?.stop()
})

const order = {
  resources: { cpuMillis: 1_000, memoryMiB: 1_024, storageMiB: 2_048 },
  regions: ['eu-west', 'eu-central'],
  maxUsdPerHour: '0.36',
  depositUsd: '10',
  bidWindowSeconds: 60,
  manifestHash,
  manifestUri: 'https://example.org/app.json',
} as const

describe('create order → bid → accept → settle → top up → close', () => {
  let orderId: bigint
  let leaseId: bigint
  const price1 = usdPerHourToPricePerSecond('0.25') // 69_444_444 (1e-12 USD/s)
  const price2 = usdPerHourToPricePerSecond('0.30')

  test('createOrder escrows the deposit and returns the id from the log', async () => {
    const { alice } = devnet
    const before = await alice.getCreditBalance()
    const created = await createOrder(alice, order)
    orderId = created.orderId
    assert.equal(orderId, 1n)
    assert.equal(created.deposit, parseCredits('10'))
    assert.equal(created.maxPricePerSecond, 100_000_000n) // $0.36/h = 1e-4 USD/s exactly
    assert.equal(created.regionMask, regionMask(['eu-west', 'eu-central']))
    const minedAt = (await devnet.chain.getBlock({ blockNumber: created.receipt.blockNumber })).timestamp
    assert.equal(BigInt(created.bidDeadline), minedAt + 60n)
    assert.equal(before.balance - (await alice.getCreditBalance()).balance, parseCredits('10'))

    const stored = await getOrder(alice, { orderId })
    assert.ok(stored)
    assert.equal(stored.state, 'Open')
    assert.equal(stored.tenant, alice.account.address)
    assert.equal(stored.escrow, parseCredits('10'))
    assert.deepEqual(stored.regions, ['eu-west', 'eu-central'])
    assert.equal(stored.manifestHash, manifestHash)
    assert.equal(stored.leaseId, undefined)
    assert.equal(await getOrder(alice, { orderId: 999n }), null)
  })

  test('providers bid; bids are listed cheapest first; a provider outside the regions is refused', async () => {
    const second = await bid(devnet.provider2, { orderId, pricePerSecond: price2 })
    assert.equal(second.round, 0)
    const first = await devnet.provider1.bid({ orderId, usdPerHour: '0.25' })
    assert.equal(first.pricePerSecond, price1)
    await assert.rejects(
      devnet.provider3.bid({ orderId, usdPerHour: '0.1' }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'MarketRegionNotAllowed' &&
        error.shortMessage ===
          `Order ${orderId} does not run in region us-east; it allows eu-west, eu-central.`,
    )
    await assert.rejects(
      devnet.provider1.bid({ orderId, usdPerHour: '0.2' }),
      (error: unknown) => error instanceof StoaContractError && error.errorName === 'MarketAlreadyBid',
    )
    const bids = await getBids(devnet.alice, { orderId })
    assert.deepEqual(
      bids.map(({ provider, pricePerSecond, round }) => ({ provider, pricePerSecond, round })),
      [
        { provider: devnet.provider1.account.address, pricePerSecond: price1, round: 0 },
        { provider: devnet.provider2.account.address, pricePerSecond: price2, round: 0 },
      ],
    )
  })

  test('a bid above the maximum price names both prices per hour', async () => {
    const { orderId: other } = await devnet.bob.createOrder({ ...order, maxUsdPerHour: '0.1' })
    await assert.rejects(
      devnet.provider1.bid({ orderId: other, usdPerHour: '0.2' }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'MarketBidAbovePrice' &&
        error.shortMessage ===
          `A bid of $0.2000000016/h is above order ${other}'s maximum of $0.0999999972/h.`,
    )
    // Cancelling the untouched order refunds its whole deposit.
    const before = await devnet.bob.getCreditBalance()
    const cancelled = await devnet.bob.cancelOrder({ orderId: other })
    assert.equal(cancelled.refund, parseCredits('10'))
    assert.equal((await devnet.bob.getCreditBalance()).balance - before.balance, parseCredits('10'))
    assert.equal((await devnet.bob.getOrder({ orderId: other }))?.state, 'Closed')
  })

  test('only the tenant may accept; acceptBid starts the lease', async () => {
    await assert.rejects(
      devnet.bob.acceptBid({ orderId, provider: devnet.provider1.account.address }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'MarketNotTenant' &&
        error.shortMessage === `${devnet.bob.account.address} is not the tenant of order ${orderId}.`,
    )
    const accepted = await acceptBid(devnet.alice, { orderId, provider: devnet.provider1.account.address })
    leaseId = accepted.leaseId
    assert.equal(leaseId, leaseIdOf(orderId, 0))
    assert.equal(accepted.pricePerSecond, price1)
    const lease = await getLease(devnet.alice, { leaseId })
    assert.equal(lease?.state, 'Active')
    assert.equal(lease?.provider, devnet.provider1.account.address)
    assert.equal(lease?.startedAt, lease?.settledAt)
    assert.equal((await devnet.alice.getOrder({ orderId }))?.leaseId, leaseId)
  })

  test('settle after an hour: the provider earned exactly price × seconds', async () => {
    const before = await getLease(devnet.alice, { leaseId })
    assert.ok(before)
    await devnet.warp(3600)
    const pending = await getLease(devnet.alice, { leaseId })
    const waited = (await devnet.now()) - BigInt(before.settledAt)
    assert.equal(
      pending?.pending.owed,
      creditsForDuration(price1, waited),
      'pendingSettlement at the latest block',
    )

    const settled = await settle(devnet.bob, { leaseId }) // anyone may settle
    const lease = await getLease(devnet.alice, { leaseId })
    assert.ok(lease)
    const elapsed = BigInt(lease.settledAt - lease.startedAt)
    // The clock moved 3600 s; the settle block comes at most a few wall-clock seconds later.
    assert.ok(elapsed >= 3600n && elapsed <= 3605n, `settled right after the hour (${elapsed} s)`)
    const exact = price1 * elapsed
    assert.equal(lease.earned, exact / PRICE_SCALE)
    assert.equal(BigInt(lease.dust), exact % PRICE_SCALE, 'the remainder is carried, not lost')
    assert.equal(settled.amount, lease.earned)
    assert.equal(settled.escrowLeft, parseCredits('10') - lease.earned)
    assert.equal(settled.closed, undefined)
    // $0.25/h for an hour is about 25 cents.
    assert.ok(lease.earned >= parseCredits('0.249999') && lease.earned <= parseCredits('0.2504'))
  })

  test('topUp settles first, then adds to the escrow', async () => {
    const { alice } = devnet
    const balanceBefore = (await alice.getCreditBalance()).balance
    await devnet.warp(100)
    const toppedUp = await topUp(alice, { orderId, amountUsd: '2.5' })
    assert.equal(toppedUp.amount, parseCredits('2.5'))
    const lease = await getLease(alice, { leaseId })
    const stored = await getOrder(alice, { orderId })
    assert.ok(lease && stored)
    const elapsed = BigInt(lease.settledAt - lease.startedAt)
    assert.equal(lease.earned, (price1 * elapsed) / PRICE_SCALE, 'settled up to the top-up block')
    assert.equal(stored.escrow, toppedUp.escrow)
    assert.equal(stored.escrow, parseCredits('12.5') - lease.earned)
    assert.equal(balanceBefore - (await alice.getCreditBalance()).balance, parseCredits('2.5'))
  })

  test('closeLease by the tenant settles and refunds the rest of the escrow', async () => {
    const { alice } = devnet
    const balanceBefore = (await alice.getCreditBalance()).balance
    await devnet.warp(60)
    const closed = await closeLease(alice, { leaseId, note: 'done' })
    const lease = await getLease(alice, { leaseId })
    assert.ok(lease)
    assert.equal(lease.state, 'Closed')
    assert.equal(lease.closeReason, 'TenantClosed')
    assert.deepEqual(closed.closed, {
      leaseId,
      reason: 'TenantClosed',
      settled: closed.closed?.settled,
      refund: closed.refund,
    })
    assert.equal(closed.reopened, undefined)
    const elapsed = BigInt(lease.settledAt - lease.startedAt)
    assert.equal(lease.earned, (price1 * elapsed) / PRICE_SCALE)
    assert.equal(closed.refund, parseCredits('12.5') - lease.earned, 'everything not earned comes back')
    assert.equal((await alice.getCreditBalance()).balance - balanceBefore, closed.refund)
    assert.equal((await getOrder(alice, { orderId }))?.state, 'Closed')
    const closingSettle = closed.closed?.settled ?? 0n
    assert.ok(
      closingSettle > 0n && closingSettle <= lease.earned,
      'the closing settle is part of the earnings',
    )
    // A completion is counted when the provider collects the lease (see Market.withdrawEarnings).
    assert.deepEqual((await devnet.provider1.getProvider())?.stats, {
      leasesWon: 1n,
      leasesCompleted: 0n,
      faults: 0n,
    })
    await devnet.provider1.withdrawEarnings({ leaseIds: [leaseId] })
    assert.equal((await getLease(alice, { leaseId }))?.completionCounted, true)
    assert.deepEqual((await devnet.provider1.getProvider())?.stats, {
      leasesWon: 1n,
      leasesCompleted: 1n,
      faults: 0n,
    })
    await assert.rejects(
      alice.settle({ leaseId }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'MarketLeaseNotActive' &&
        error.shortMessage === `Lease ${leaseId} is not active: it is closed.`,
    )
  })
})

describe('failover: a tenant fault report reopens an auto-reopen order', () => {
  test('fault → reopened round → the old provider may not bid → anyone accepts the best bid', async () => {
    const { alice, bob, provider1, provider2, provider3 } = devnet
    const { orderId } = await alice.createOrder({
      ...order,
      regions: [],
      autoReopen: true,
      bidWindowSeconds: 30,
    })
    await provider1.bid({ orderId, usdPerHour: '0.2' })
    const { leaseId } = await alice.acceptBid({ orderId, provider: provider1.account.address })
    await devnet.warp(600)

    const reported = await reportFault(alice, { leaseId, evidence: 'gateway unreachable' })
    assert.equal(reported.closed?.reason, 'FaultReportedByTenant')
    assert.equal(reported.slashed, undefined, 'a tenant report slashes nobody')
    assert.equal(reported.refund, 0n, 'the escrow stays with the reopened order')
    const lease = await alice.getLease({ leaseId })
    assert.ok(lease && reported.reopened)
    const escrowLeft = parseCredits('10') - lease.earned
    assert.equal(reported.reopened.round, 1)
    assert.equal(reported.reopened.escrow, escrowLeft)
    const reopened = await alice.getOrder({ orderId })
    assert.equal(reopened?.state, 'Open')
    assert.equal(reopened?.round, 1)
    assert.equal(reopened?.escrow, escrowLeft)
    assert.equal(reopened?.bidDeadline, reported.reopened.bidDeadline)
    assert.deepEqual(await alice.getBids({ orderId }), [], 'round 0 bids do not count any more')
    assert.equal((await alice.getBids({ orderId, round: 0 })).length, 1)

    await assert.rejects(
      provider1.bid({ orderId, usdPerHour: '0.1' }),
      (error: unknown) => error instanceof StoaContractError && error.errorName === 'MarketPreviousProvider',
    )
    await provider2.bid({ orderId, usdPerHour: '0.3' })
    await provider3.bid({ orderId, usdPerHour: '0.15' })
    await assert.rejects(
      bob.acceptBestBid({ orderId }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'MarketBidWindowStillOpen' &&
        error.shortMessage.startsWith(`Bidding on order ${orderId} is open until `),
    )
    await devnet.warp(31)
    const accepted = await bob.acceptBestBid({ orderId })
    assert.equal(accepted.provider, provider3.account.address)
    assert.equal(accepted.leaseId, leaseIdOf(orderId, 1))
    assert.equal(accepted.pricePerSecond, usdPerHourToPricePerSecond('0.15'))
    assert.equal((await alice.getOrder({ orderId }))?.state, 'Leased')

    // A registered watcher's report reaches the devnet quorum (1): the provider is slashed and the
    // order reopens once more.
    const { watcher } = devnet
    await devnet.warp(60)
    await assert.rejects(
      bob.reportFault({ leaseId: accepted.leaseId }),
      (error: unknown) => error instanceof StoaContractError && error.errorName === 'MarketNotReporter',
    )
    const stakeBefore = (await provider3.getProvider())?.stake ?? 0n
    const confirmed = await watcher.reportFault({
      leaseId: accepted.leaseId,
      evidence: 'probe failed 3 times',
    })
    assert.equal(confirmed.reports, 1)
    assert.equal(confirmed.closed?.reason, 'FaultConfirmed')
    assert.deepEqual(confirmed.slashed, { provider: provider3.account.address, amount: stakeBefore / 10n })
    assert.equal(confirmed.reopened?.round, 2)
    const slashedProvider = await provider3.getProvider()
    assert.equal(slashedProvider?.stake, stakeBefore - stakeBefore / 10n)
    assert.equal(slashedProvider?.faults, 1)
    assert.equal(slashedProvider?.stats.faults, 1n)

    // Round 2 gets no bid before its window closes: a stranger restarts the bidding, the faulty
    // provider stays excluded, and a new bid can win.
    const round2 = await alice.getOrder({ orderId })
    await devnet.warp((round2?.bidWindow ?? 30) + 1)
    await assert.rejects(
      provider2.bid({ orderId, usdPerHour: '0.2' }),
      (error: unknown) => error instanceof StoaContractError && error.errorName === 'MarketBidWindowClosed',
    )
    const restarted = await bob.restartBidding({ orderId })
    assert.equal(restarted.round, 3)
    const restartedOrder = await alice.getOrder({ orderId })
    assert.equal(restartedOrder?.round, 3)
    assert.equal(restartedOrder?.restartsSinceLease, 1)
    assert.equal(restartedOrder?.bidDeadline, restarted.bidDeadline)
    await assert.rejects(
      provider3.bid({ orderId, usdPerHour: '0.1' }),
      (error: unknown) => error instanceof StoaContractError && error.errorName === 'MarketPreviousProvider',
    )
    await provider2.bid({ orderId, usdPerHour: '0.2' })
    await devnet.warp(31)
    const third = await bob.acceptBestBid({ orderId })
    assert.equal(third.provider, provider2.account.address)
    assert.equal(third.leaseId, leaseIdOf(orderId, 3))
  })

  test('a lease whose escrow runs out closes with InsufficientFunds at settle', async () => {
    const { bob, provider2 } = devnet
    const { orderId } = await bob.createOrder({ ...order, maxUsdPerHour: '3.6', depositUsd: '0.06' })
    await provider2.bid({ orderId, usdPerHour: '3.6' }) // 1e-3 USD/s: the deposit lasts 60 s
    const { leaseId } = await bob.acceptBid({ orderId, provider: provider2.account.address })
    await devnet.warp(120)
    const settled = await provider2.settle({ leaseId })
    assert.equal(settled.amount, parseCredits('0.06'))
    assert.equal(settled.escrowLeft, 0n)
    assert.equal(settled.closed?.reason, 'InsufficientFunds')
    assert.equal((await bob.getOrder({ orderId }))?.state, 'Closed')
  })
})

describe('earnings', () => {
  test('withdrawEarnings pays every lease the provider won, then redeemCredits mints STOA', async () => {
    const { provider1 } = devnet
    const leases = (
      await Promise.all(
        [leaseIdOf(1n, 0), leaseIdOf(3n, 0)].map((leaseId) => provider1.getLease({ leaseId })),
      )
    ).map((lease) => lease?.earned ?? 0n)
    const owed = leases.reduce((sum, earned) => sum + earned, 0n)
    assert.ok(owed > 0n)
    const before = await provider1.getCreditBalance()

    // Finds its leases from LeaseCreated logs, skipping those with nothing left to collect (lease 1 was
    // collected when its completion was counted above).
    const withdrawn = await provider1.withdrawEarnings()
    assert.equal(withdrawn.amount, owed)
    assert.deepEqual(
      withdrawn.leases.map(({ leaseId }) => leaseId),
      [leaseIdOf(3n, 0)],
    )
    const afterWithdraw = await provider1.getCreditBalance()
    assert.equal(afterWithdraw.balance - before.balance, owed)
    assert.equal(afterWithdraw.redeemable - before.redeemable, owed)
    assert.equal((await provider1.getLease({ leaseId: leaseIdOf(1n, 0) }))?.earned, 0n)

    await assert.rejects(
      devnet.provider2.withdrawEarnings({ leaseIds: [leaseIdOf(1n, 0)] }),
      (error: unknown) => error instanceof StoaContractError && error.errorName === 'MarketNotLeaseProvider',
    )

    const redeemed = await provider1.redeemCredits({ amount: owed })
    const feeBps = 100n // Credits' default redeem fee
    assert.equal(redeemed.fee, (owed * feeBps) / 10_000n)
    assert.equal(redeemed.stoa, ((owed - redeemed.fee) * 10n ** 20n) / 50_000_000n) // at $0.50 per STOA
    const afterRedeem = await provider1.getCreditBalance()
    assert.equal(afterRedeem.redeemable, afterWithdraw.redeemable - owed)
    await assert.rejects(
      provider1.redeemCredits({ amount: parseCredits('1') }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'CreditsInsufficientRedeemable' &&
        error.shortMessage.includes('only provider earnings are redeemable'),
    )
  })
})

describe('order input and nested contract errors', () => {
  test('bad order input names the field and sends nothing', async () => {
    const cases = [
      [{ ...order, regions: ['eu-wset'] }, 'regions'],
      [{ ...order, maxUsdPerHour: 'cheap' }, 'maxUsdPerHour'],
      [{ ...order, maxUsdPerHour: '0.000000001' }, 'maxUsdPerHour'],
      [{ ...order, depositUsd: '1.0000001' }, 'depositUsd'],
      [{ ...order, manifestHash: '0x1234' }, 'manifestHash'],
      [{ ...order, bidWindowSeconds: 1.5 }, 'bidWindowSeconds'],
      [{ ...order, resources: { cpuMillis: 1_000, memoryMiB: 2 ** 32 } }, 'resources.memoryMiB'],
      [{ ...order, resources: { ...order.resources, gpuModel: 'x'.repeat(40) } }, 'resources.gpuModel'],
    ] as const
    for (const [bad, field] of cases) {
      await assert.rejects(
        devnet.alice.createOrder(bad as Parameters<typeof createOrder>[1]),
        (error: unknown) => error instanceof InvalidParameterError && error.field === field,
        field,
      )
    }
  })

  test('a deposit below the minimum is explained with both amounts', async () => {
    await assert.rejects(
      devnet.alice.createOrder({ ...order, maxUsdPerHour: '36', depositUsd: '0.5' }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'MarketDepositTooLow' &&
        error.shortMessage.startsWith('A deposit of $0.5 is too low: this order needs at least $0.6'),
    )
  })

  test('a Credits error raised inside Market.createOrder is decoded too', async () => {
    const { alice } = devnet
    const { balance } = await alice.getCreditBalance()
    await assert.rejects(
      alice.createOrder({ ...order, depositUsd: undefined, deposit: balance + 1n }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'CreditsInsufficientBalance' &&
        error.functionName === 'createOrder' &&
        error.contractAddress === devnet.deployment.contracts.market &&
        error.shortMessage ===
          `${alice.account.address} has ${formatUsd(balance)} in credits but ${formatUsd(balance + 1n)} are needed.`,
    )
  })
})
