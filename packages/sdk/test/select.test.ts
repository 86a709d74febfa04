import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidParameterError, usdPerHourToPricePerSecond } from '@stoa/protocol'
import type { Address } from 'viem'
import { type BidderInfo, bidScoreWeights, selectBid } from '../src/index.ts'

const A: Address = '0x00000000000000000000000000000000000000aa'
const B: Address = '0x00000000000000000000000000000000000000bb'
const C: Address = '0x00000000000000000000000000000000000000cc'
const D: Address = '0x00000000000000000000000000000000000000dd'
const price = (usdPerHour: string) => usdPerHourToPricePerSecond(usdPerHour)
const bid = (provider: Address, usdPerHour: string, blockNumber = 10n, logIndex = 0) => ({
  provider,
  pricePerSecond: price(usdPerHour),
  round: 0,
  blockNumber,
  logIndex,
  transactionHash: `0x${'00'.repeat(32)}` as const,
})
const record = (region: string, completed: number, faults: number, active = true): BidderInfo => ({
  region: region as BidderInfo['region'],
  active,
  stats: { leasesCompleted: BigInt(completed), faults: BigInt(faults) },
})

describe('selectBid', () => {
  test('weights are documented and sum to 100, price dominant', () => {
    assert.deepEqual(bidScoreWeights, { price: 60, reliability: 20, latency: 10, region: 10 })
    assert.ok(bidScoreWeights.price > bidScoreWeights.reliability + bidScoreWeights.latency)
  })

  test('fixed inputs give fixed scores, parts and reasons', () => {
    const { best, ranking, excluded } = selectBid([bid(A, '0.20'), bid(B, '0.25'), bid(C, '0.40')], {
      providers: new Map([
        [A, record('eu-west', 0, 0)],
        [B, record('eu-central', 18, 0)],
        [C, record('eu-west', 50, 0)],
      ]),
      latencies: new Map([
        [A, 25],
        [B, 100],
        [C, 10],
      ]),
      regions: ['eu-west', 'eu-central'],
    })
    assert.equal(excluded.length, 0)
    assert.deepEqual(
      ranking.map((entry) => [entry.provider, entry.score, entry.parts]),
      [
        // A: cheapest (60), new (20 × 1/2), 25 ms ≤ 50 (10), first preference (10).
        [A, 90, { price: 60, reliability: 10, latency: 10, region: 10 }],
        // B: 0.25 → 60 × 0.8 = 48, 20 × 19/20 = 19, 100 ms → 5, second of two preferences → 5.
        [B, 77, { price: 48, reliability: 19, latency: 5, region: 5 }],
        // C: 0.40 → 30, 20 × 51/52 = 19.615, 10, 10.
        [C, 69.615, { price: 30, reliability: 19.615, latency: 10, region: 10 }],
      ],
    )
    assert.equal(best?.provider, A)
    assert.deepEqual(best?.reasons, [
      'price $0.2/h (cheapest): 60.0 of 60 points',
      'reliability 0 completed, 0 faults (new provider): 10.0 of 20 points',
      'latency 25 ms: 10.0 of 10 points',
      'region eu-west (preference 1 of 2): 10.0 of 10 points',
    ])
    assert.equal(ranking[1]?.reasons[0], 'price $0.25/h (1.25× the cheapest): 48.0 of 60 points')
  })

  test('a slightly dearer provider with a clean record beats a cheap one that keeps failing', () => {
    const { best, ranking } = selectBid([bid(A, '0.10'), bid(B, '0.11')], {
      providers: { [A]: record('us-east', 2, 30), [B]: record('us-east', 40, 0) },
    })
    // A: 60 + 20 × 3/34 = 61.8 (+5 latency unmeasured); B: 60 × 10/11 = 54.5 + 19.5 (+5).
    assert.equal(best?.provider, B)
    assert.ok((ranking[0]?.score ?? 0) > (ranking[1]?.score ?? 0))
    assert.match(ranking[1]?.reasons[2] ?? '', /^latency not measured: 5\.0 of 10 points$/)
  })

  test('a much cheaper bid still wins over a better record (price dominates)', () => {
    const { best } = selectBid([bid(A, '0.10'), bid(B, '0.30')], {
      providers: { [A]: record('us-east', 0, 0), [B]: record('us-east', 1000, 0) },
    })
    assert.equal(best?.provider, A)
  })

  test('inactive providers, missing records and unreachable gateways are excluded with reasons', () => {
    const { best, ranking, excluded } = selectBid(
      [bid(A, '0.05'), bid(B, '0.06'), bid(C, '0.07'), bid(D, '0.50')],
      {
        providers: new Map([
          [A, record('eu-west', 5, 0, false)],
          [C, record('eu-west', 5, 0)],
          [D, record('eu-west', 0, 0)],
        ]),
        latencies: new Map<Address, number | null>([
          [C, null],
          [D, 40],
        ]),
      },
    )
    assert.equal(best?.provider, D)
    assert.deepEqual(
      ranking.map((entry) => entry.provider),
      [D],
    )
    assert.deepEqual(
      excluded.map(({ provider, reason }) => [provider, reason]),
      [
        [A, 'provider not active (jailed or unstaked)'],
        [B, 'no provider record'],
        [C, 'gateway did not answer GET /v1/health'],
      ],
    )
  })

  test('equal scores: lower price, then the earlier bid, then the lower address wins', () => {
    const providers = {
      [A]: record('eu-west', 0, 0),
      [B]: record('eu-west', 0, 0),
      [C]: record('eu-west', 0, 0),
    }
    const tie = selectBid([bid(C, '0.20', 12n, 0), bid(B, '0.20', 11n, 3), bid(A, '0.20', 11n, 3)], {
      providers,
    })
    assert.deepEqual(
      tie.ranking.map((entry) => entry.provider),
      [A, B, C],
    )
    // The same inputs in another order give the same ranking.
    const shuffled = selectBid([bid(A, '0.20', 11n, 3), bid(C, '0.20', 12n, 0), bid(B, '0.20', 11n, 3)], {
      providers,
    })
    assert.deepEqual(
      shuffled.ranking.map((entry) => entry.provider),
      [A, B, C],
    )
  })

  test('addresses match in any case; custom weights apply', () => {
    const { best } = selectBid([bid(A, '0.10'), bid(B, '0.20')], {
      providers: new Map([
        [A.toUpperCase().replace('0X', '0x') as Address, record('eu-west', 0, 0)],
        [B, record('us-east', 0, 0)],
      ]),
      regions: ['us-east'],
      weights: { price: 1, region: 50 },
    })
    assert.equal(best?.provider, B)
  })

  test('no usable bid: best is undefined', () => {
    assert.deepEqual(selectBid([], { providers: {} }), { best: undefined, ranking: [], excluded: [] })
  })

  test('bad input names the field', () => {
    assert.throws(
      () => selectBid([bid(A, '0.1')], { providers: {}, weights: { price: -1 } }),
      (error: unknown) =>
        error instanceof InvalidParameterError && error.shortMessage.includes('weights.price'),
    )
    assert.throws(
      () => selectBid([bid(A, '0.1')], { providers: {}, regions: ['mars-north' as never] }),
      (error: unknown) => error instanceof InvalidParameterError && error.shortMessage.includes('regions[0]'),
    )
  })
})
