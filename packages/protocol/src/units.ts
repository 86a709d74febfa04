import { BaseError } from './errors/base.ts'

/**
 * Units used by the settlement contracts, and exact conversions between them.
 *
 * - Credits are USD with 6 decimals: 1 credit unit = 1e-6 USD.
 * - STOA has 18 decimals.
 * - The oracle quotes STOA/USD with 8 decimals (Chainlink style).
 * - Compute prices (`pricePerSecond`) are in 1e-12 USD per second: `PRICE_SCALE` price units make
 *   one credit unit, so a $0.001/h workload is still expressible (277_778).
 *
 * All math is on bigints. Where a result is not exact, the function says how it rounds and, where
 * both directions make sense, takes a `rounding` option.
 */

export const CREDITS_DECIMALS = 6
export const STOA_DECIMALS = 18
export const ORACLE_DECIMALS = 8
/** Price units (1e-12 USD/s) per credit unit (1e-6 USD). */
export const PRICE_SCALE = 1_000_000n
export const SECONDS_PER_HOUR = 3600n

/** `down` rounds toward zero, `up` away from zero, `nearest` to the nearest value (halves away from zero). */
export type Rounding = 'down' | 'up' | 'nearest'

export type InvalidAmountErrorType = InvalidAmountError & { name: 'InvalidAmountError' }
export class InvalidAmountError extends BaseError {
  constructor(value: string, expected: string) {
    super(`"${value}" is not a valid amount: expected ${expected}.`, { name: 'InvalidAmountError' })
  }
}

const DECIMAL = /^(-)?(\d*)(?:\.(\d*))?$/

type Decimal = { negative: boolean; digits: bigint; scale: number }

/** Splits a decimal string into an integer and a power-of-ten scale, exactly. */
function parseDecimal(value: string, expected: string): Decimal {
  const match = DECIMAL.exec(value.trim())
  const whole = match?.[2] ?? ''
  const fraction = match?.[3] ?? ''
  if (!match || (whole === '' && fraction === '')) throw new InvalidAmountError(value, expected)
  const digits = BigInt(`${whole}${fraction}` || '0')
  return { negative: match[1] === '-' && digits !== 0n, digits, scale: fraction.length }
}

/** Divides exactly, then rounds the quotient as asked. `denominator` must be positive. */
export function divideRounding(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  if (denominator <= 0n) throw new RangeError('divideRounding: the denominator must be positive')
  const negative = numerator < 0n
  const magnitude = negative ? -numerator : numerator
  let quotient = magnitude / denominator
  const remainder = magnitude % denominator
  if (remainder !== 0n) {
    if (rounding === 'up' || (rounding === 'nearest' && remainder * 2n >= denominator)) quotient += 1n
  }
  return negative ? -quotient : quotient
}

/**
 * Parses a decimal string into an integer amount with `decimals` places. Rejects more fractional
 * digits than the unit holds instead of silently dropping them (an amount is money).
 */
export function parseUnitsExact(value: string, decimals: number, unitName = 'the unit'): bigint {
  const expected = `a decimal number with at most ${decimals} digits after the point (${unitName})`
  const { negative, digits, scale } = parseDecimal(value, expected)
  if (scale > decimals) {
    // Trailing zeros beyond the unit's precision are harmless ("1.5000000" credits).
    const excess = 10n ** BigInt(scale - decimals)
    if (digits % excess !== 0n) throw new InvalidAmountError(value, expected)
    return (negative ? -1n : 1n) * (digits / excess)
  }
  return (negative ? -1n : 1n) * digits * 10n ** BigInt(decimals - scale)
}

/** Formats an integer amount with `decimals` places as the shortest exact decimal string. */
export function formatUnitsExact(amount: bigint, decimals: number): string {
  const negative = amount < 0n
  const magnitude = (negative ? -amount : amount).toString().padStart(decimals + 1, '0')
  const whole = magnitude.slice(0, magnitude.length - decimals)
  const fraction = magnitude.slice(magnitude.length - decimals).replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
}

/** `'12.5'` USD → `12_500_000n` credit units. Throws `InvalidAmountError` past 6 decimals. */
export function parseCredits(usd: string): bigint {
  return parseUnitsExact(usd, CREDITS_DECIMALS, 'USD credits')
}

/** `12_500_000n` credit units → `'12.5'` (USD, exact). */
export function formatCredits(credits: bigint): string {
  return formatUnitsExact(credits, CREDITS_DECIMALS)
}

/** `'1.5'` STOA → `1_500_000_000_000_000_000n`. Throws `InvalidAmountError` past 18 decimals. */
export function parseStoa(stoa: string): bigint {
  return parseUnitsExact(stoa, STOA_DECIMALS, 'STOA')
}

/** STOA base units → decimal STOA string (exact). */
export function formatStoa(amount: bigint): string {
  return formatUnitsExact(amount, STOA_DECIMALS)
}

/** `'0.25'` USD per STOA → the oracle's 8-decimal answer (`25_000_000n`). */
export function parseOraclePrice(usdPerStoa: string): bigint {
  return parseUnitsExact(usdPerStoa, ORACLE_DECIMALS, 'USD per STOA with 8 decimals')
}

/** The oracle's 8-decimal answer → USD per STOA (exact). */
export function formatOraclePrice(answer: bigint): string {
  return formatUnitsExact(answer, ORACLE_DECIMALS)
}

/**
 * USD per hour (decimal string, any precision) → `pricePerSecond` in 1e-12 USD/s.
 *
 * One hour is 3600 seconds, so the exact value is `usdPerHour × 1e12 / 3600`, which is rarely an
 * integer. Rounds to `nearest` by default (`'0.001'` → 277_778, as the contracts spec says). A
 * tenant's maximum price should round `down` (it then never exceeds what they said per hour);
 * `createOrder` does that.
 */
export function usdPerHourToPricePerSecond(
  usdPerHour: string,
  options: { rounding?: Rounding } = {},
): bigint {
  const expected = 'a non-negative decimal number of USD per hour'
  const { negative, digits, scale } = parseDecimal(usdPerHour, expected)
  if (negative) throw new InvalidAmountError(usdPerHour, expected)
  return divideRounding(
    digits * 10n ** 12n,
    10n ** BigInt(scale) * SECONDS_PER_HOUR,
    options.rounding ?? 'nearest',
  )
}

/**
 * `pricePerSecond` (1e-12 USD/s) → USD per hour as an exact decimal string (at most 12 decimals;
 * `price × 3600` is an integer number of 1e-12 USD, so nothing is rounded). Converting the result
 * back with `usdPerHourToPricePerSecond` gives the same price, whatever the rounding.
 */
export function pricePerSecondToUsdPerHour(pricePerSecond: bigint): string {
  return formatUnitsExact(pricePerSecond * SECONDS_PER_HOUR, 12)
}

/**
 * Credits a lease at `pricePerSecond` accrues over `seconds`. The contract floors each settlement and
 * carries the remainder (`dust`) to the next, so over a lease's life the total paid is the floor of
 * the exact amount; round `up` to size a deposit that surely covers the time.
 */
export function creditsForDuration(
  pricePerSecond: bigint,
  seconds: bigint,
  options: { rounding?: Rounding } = {},
): bigint {
  return divideRounding(pricePerSecond * seconds, PRICE_SCALE, options.rounding ?? 'down')
}

// STOA (18) × price (8) / 10^(18 + 8 − 6) = credits (6).
const STOA_CREDITS_SCALE = 10n ** BigInt(STOA_DECIMALS + ORACLE_DECIMALS - CREDITS_DECIMALS)

/** Credits that `Credits.buy` mints for `stoaAmount` at oracle price `answer` (floors, as the contract). */
export function stoaToCredits(stoaAmount: bigint, answer: bigint): bigint {
  if (answer <= 0n) throw new RangeError('stoaToCredits: the oracle price must be positive')
  return (stoaAmount * answer) / STOA_CREDITS_SCALE
}

/**
 * STOA to burn so that `Credits.buy` mints at least `credits` at oracle price `answer` (rounds up:
 * the smallest such amount).
 */
export function creditsToStoa(credits: bigint, answer: bigint): bigint {
  if (answer <= 0n) throw new RangeError('creditsToStoa: the oracle price must be positive')
  return divideRounding(credits * STOA_CREDITS_SCALE, answer, 'up')
}

/** STOA that `Credits.redeem` mints for `credits` after the fee (floors, as the contract). */
export function redeemedStoa(credits: bigint, answer: bigint, redeemFeeBps: bigint): bigint {
  if (answer <= 0n) throw new RangeError('redeemedStoa: the oracle price must be positive')
  const fee = (credits * redeemFeeBps) / 10_000n
  return ((credits - fee) * STOA_CREDITS_SCALE) / answer
}
