import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  CREDITS_DECIMALS,
  creditsForDuration,
  creditsToStoa,
  divideRounding,
  formatCredits,
  formatOraclePrice,
  formatStoa,
  InvalidAmountError,
  PRICE_SCALE,
  parseCredits,
  parseOraclePrice,
  parseStoa,
  pricePerSecondToUsdPerHour,
  stoaToCredits,
  usdPerHourToPricePerSecond,
} from '../src/index.ts'

/** A small deterministic PRNG (mulberry32), so property loops are reproducible. */
function random(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** A bigint with up to `digits` decimal digits. */
  const bigint = (digits: number) => {
    const length = 1 + Math.floor(next() * digits)
    let text = ''
    for (let i = 0; i < length; i++) text += Math.floor(next() * 10)
    return BigInt(text)
  }
  return { next, bigint }
}

describe('credits', () => {
  test('parses decimal USD strings exactly', () => {
    assert.equal(parseCredits('12.5'), 12_500_000n)
    assert.equal(parseCredits('0.000001'), 1n)
    assert.equal(parseCredits('1'), 1_000_000n)
    assert.equal(parseCredits('.25'), 250_000n)
    assert.equal(parseCredits('3.'), 3_000_000n)
    assert.equal(parseCredits(' 7 '), 7_000_000n)
    assert.equal(parseCredits('-2.5'), -2_500_000n)
    assert.equal(parseCredits('-0'), 0n)
    assert.equal(parseCredits('1.5000000000'), 1_500_000n, 'trailing zeros past 6 decimals are exact')
  })

  test('rejects what is not an exact amount, naming the value', () => {
    for (const bad of ['', '.', '-', 'abc', '1e6', '1,5', '+1', '0x10', '1.0000001', '1..2', 'NaN']) {
      assert.throws(
        () => parseCredits(bad),
        (error: unknown) =>
          error instanceof InvalidAmountError &&
          error.name === 'InvalidAmountError' &&
          error.shortMessage.includes(`"${bad}"`) &&
          error.shortMessage.includes('6 digits'),
        `parseCredits(${JSON.stringify(bad)})`,
      )
    }
  })

  test('formats the shortest exact string', () => {
    assert.equal(formatCredits(12_500_000n), '12.5')
    assert.equal(formatCredits(1n), '0.000001')
    assert.equal(formatCredits(0n), '0')
    assert.equal(formatCredits(-1_230_000n), '-1.23')
    assert.equal(formatCredits(10n ** 20n), '100000000000000')
  })

  test('format then parse is the identity (property loop)', () => {
    const rng = random(1)
    for (let i = 0; i < 2_000; i++) {
      const amount = rng.bigint(30) * (rng.next() < 0.2 ? -1n : 1n)
      assert.equal(parseCredits(formatCredits(amount)), amount)
    }
  })

  test('parse then format is the identity on canonical strings (property loop)', () => {
    const rng = random(2)
    for (let i = 0; i < 2_000; i++) {
      const whole = rng.bigint(12).toString()
      const fraction = rng
        .bigint(CREDITS_DECIMALS)
        .toString()
        .padStart(CREDITS_DECIMALS, '0')
        .replace(/0+$/, '')
      const text = fraction ? `${whole}.${fraction}` : whole
      assert.equal(formatCredits(parseCredits(text)), text)
    }
  })
})

describe('STOA and oracle prices', () => {
  test('STOA has 18 decimals', () => {
    assert.equal(parseStoa('1'), 10n ** 18n)
    assert.equal(parseStoa('0.000000000000000001'), 1n)
    assert.equal(formatStoa(1_500_000_000_000_000_000n), '1.5')
    assert.throws(() => parseStoa('0.0000000000000000001'), InvalidAmountError)
  })

  test('the oracle answer has 8 decimals', () => {
    assert.equal(parseOraclePrice('0.25'), 25_000_000n)
    assert.equal(formatOraclePrice(123_456_789n), '1.23456789')
  })

  test('STOA → credits floors like Credits.buy, credits → STOA is the least STOA that buys them', () => {
    // 1 STOA at $0.25 buys 0.25 USD of credits.
    assert.equal(stoaToCredits(10n ** 18n, 25_000_000n), 250_000n)
    assert.equal(creditsToStoa(250_000n, 25_000_000n), 10n ** 18n)
    const rng = random(3)
    for (let i = 0; i < 2_000; i++) {
      const price = 1n + rng.bigint(12)
      const credits = rng.bigint(15)
      const stoa = creditsToStoa(credits, price)
      assert.ok(stoaToCredits(stoa, price) >= credits, 'buys at least the credits asked for')
      if (stoa > 0n) assert.ok(stoaToCredits(stoa - 1n, price) < credits, 'one wei less would not')
    }
    assert.throws(() => stoaToCredits(1n, 0n), RangeError)
  })
})

describe('compute prices', () => {
  test('USD per hour → 1e-12 USD per second, as the contracts spec says', () => {
    assert.equal(PRICE_SCALE, 1_000_000n)
    assert.equal(usdPerHourToPricePerSecond('0.001'), 277_778n) // 277_777.7…
    assert.equal(usdPerHourToPricePerSecond('3.6'), 1_000_000_000n)
    assert.equal(usdPerHourToPricePerSecond('0.25'), 69_444_444n) // 69_444_444.4…
    assert.equal(usdPerHourToPricePerSecond('0.25', { rounding: 'up' }), 69_444_445n)
    assert.equal(usdPerHourToPricePerSecond('0.001', { rounding: 'down' }), 277_777n)
    assert.equal(usdPerHourToPricePerSecond('0'), 0n)
    assert.throws(() => usdPerHourToPricePerSecond('-1'), InvalidAmountError)
    assert.throws(() => usdPerHourToPricePerSecond('1/2'), InvalidAmountError)
  })

  test('price → USD per hour is exact', () => {
    assert.equal(pricePerSecondToUsdPerHour(277_778n), '0.0010000008')
    assert.equal(pricePerSecondToUsdPerHour(1_000_000_000n), '3.6')
    assert.equal(pricePerSecondToUsdPerHour(1n), '0.0000000036')
  })

  test('round trips: price → USD/h → price is the identity for every rounding (property loop)', () => {
    const rng = random(4)
    for (let i = 0; i < 2_000; i++) {
      const price = rng.bigint(19)
      const usdPerHour = pricePerSecondToUsdPerHour(price)
      for (const rounding of ['down', 'up', 'nearest'] as const) {
        assert.equal(usdPerHourToPricePerSecond(usdPerHour, { rounding }), price)
      }
    }
  })

  test('rounding brackets the exact value (property loop)', () => {
    const rng = random(5)
    for (let i = 0; i < 2_000; i++) {
      const cents = rng.bigint(8)
      const usd = formatCredits(cents * 10_000n) // whole cents
      const exactTimes3600 = cents * 10n ** 10n // usd × 1e12, to compare with price × 3600
      const down = usdPerHourToPricePerSecond(usd, { rounding: 'down' })
      const up = usdPerHourToPricePerSecond(usd, { rounding: 'up' })
      const nearest = usdPerHourToPricePerSecond(usd)
      assert.ok(down * 3600n <= exactTimes3600 && exactTimes3600 < (down + 1n) * 3600n)
      assert.ok(up - down <= 1n && up * 3600n >= exactTimes3600)
      assert.ok(nearest === down || nearest === up)
      const distance = (price: bigint) =>
        (price * 3600n - exactTimes3600 < 0n ? -1n : 1n) * (price * 3600n - exactTimes3600)
      assert.ok(distance(nearest) <= distance(down) && distance(nearest) <= distance(up))
    }
  })

  test('creditsForDuration floors like lease accrual, or rounds up to size a deposit', () => {
    assert.equal(creditsForDuration(277_778n, 3600n), 1_000n) // 1000.0008 credit units
    assert.equal(creditsForDuration(277_778n, 3600n, { rounding: 'up' }), 1_001n)
    assert.equal(creditsForDuration(1_000_000n, 60n), 60n)
  })

  test('divideRounding rounds halves away from zero and refuses a zero denominator', () => {
    assert.equal(divideRounding(5n, 2n, 'nearest'), 3n)
    assert.equal(divideRounding(-5n, 2n, 'nearest'), -3n)
    assert.equal(divideRounding(-5n, 2n, 'down'), -2n)
    assert.equal(divideRounding(-5n, 2n, 'up'), -3n)
    assert.equal(divideRounding(4n, 2n, 'up'), 2n)
    assert.throws(() => divideRounding(1n, 0n, 'down'), RangeError)
  })
})
