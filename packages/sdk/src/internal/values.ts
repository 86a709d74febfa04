import {
  InvalidParameterError,
  parseCredits,
  type Rounding,
  textToBytes32,
  usdPerHourToPricePerSecond,
} from '@stoa/protocol'
import { type Hex, isHex, size } from 'viem'

/** Checks an integer field against an unsigned width, naming the field when it does not fit. */
export function uint(value: number | bigint | undefined, bits: number, field: string): bigint {
  const max = (1n << BigInt(bits)) - 1n
  const expected = `an integer from 0 to ${max}`
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new InvalidParameterError(field, expected, value)
  if (typeof value !== 'number' && typeof value !== 'bigint')
    throw new InvalidParameterError(field, expected, value)
  const big = BigInt(value)
  if (big < 0n || big > max) throw new InvalidParameterError(field, expected, value)
  return big
}

/** `uint` for widths that fit a JS number (≤ 48 bits), as viem encodes them. */
export function smallUint(value: number | bigint | undefined, bits: number, field: string): number {
  return Number(uint(value, bits, field))
}

/** A positive amount, naming the field otherwise. */
export function positive(value: bigint | undefined, field: string, bits = 256): bigint {
  const checked = uint(value, bits, field)
  if (checked === 0n) throw new InvalidParameterError(field, 'an amount greater than zero', value)
  return checked
}

/**
 * A bytes32 from either 32 bytes of hex or a short text (UTF-8, at most 32 bytes, right-padded
 * with zeros, as Solidity's `bytes32("A100")`).
 */
export function bytes32(value: string, field: string): Hex {
  if (typeof value === 'string' && isHex(value) && size(value) === 32) return value
  const encoded = typeof value === 'string' ? textToBytes32(value) : undefined
  if (!encoded) throw new InvalidParameterError(field, '32 bytes of hex or a text of at most 32 bytes', value)
  return encoded
}

/** Degrees → the registry's fixed point (degrees × 1e5), rounded to the nearest unit. */
export function degreesE5(degrees: number, field: string, limit: number): number {
  if (!Number.isFinite(degrees) || Math.abs(degrees) > limit) {
    throw new InvalidParameterError(field, `degrees from -${limit} to ${limit}`, degrees)
  }
  return Math.round(degrees * 1e5)
}

/** A 32-byte hash given as hex, naming the field otherwise. */
export function hash32(value: string | undefined, field: string): Hex {
  if (typeof value !== 'string' || !isHex(value) || size(value) !== 32) {
    throw new InvalidParameterError(field, '32 bytes of hex (0x followed by 64 hex digits)', value)
  }
  return value
}

/** A credit amount given either in base units or as a decimal USD string; exactly one of the two. */
export function creditAmount(
  units: bigint | undefined,
  usd: string | undefined,
  fields: { units: string; usd: string },
  bits = 64,
): bigint {
  if ((units === undefined) === (usd === undefined)) {
    throw new InvalidParameterError(
      fields.usd,
      `exactly one of \`${fields.usd}\` and \`${fields.units}\``,
      usd ?? units,
    )
  }
  if (usd !== undefined) {
    let parsed: bigint
    try {
      parsed = parseCredits(usd)
    } catch (error) {
      throw new InvalidParameterError(fields.usd, 'a decimal USD amount with at most 6 decimals', usd, {
        cause: error,
      })
    }
    return positive(parsed, fields.usd, bits)
  }
  return positive(units, fields.units, bits)
}

/** A price per second given either in 1e-12 USD/s or as decimal USD per hour; exactly one of the two. */
export function priceAmount(
  pricePerSecond: bigint | undefined,
  usdPerHour: string | undefined,
  fields: { units: string; usd: string },
  rounding: Rounding,
): bigint {
  if ((pricePerSecond === undefined) === (usdPerHour === undefined)) {
    throw new InvalidParameterError(
      fields.usd,
      `exactly one of \`${fields.usd}\` and \`${fields.units}\``,
      usdPerHour ?? pricePerSecond,
    )
  }
  if (usdPerHour !== undefined) {
    let parsed: bigint
    try {
      parsed = usdPerHourToPricePerSecond(usdPerHour, { rounding })
    } catch (error) {
      throw new InvalidParameterError(
        fields.usd,
        'a non-negative decimal number of USD per hour',
        usdPerHour,
        {
          cause: error,
        },
      )
    }
    if (parsed === 0n) {
      throw new InvalidParameterError(
        fields.usd,
        'a price of at least 1e-12 USD per second ($0.0000000036/h)',
        usdPerHour,
      )
    }
    return uint(parsed, 64, fields.usd)
  }
  return positive(pricePerSecond, fields.units, 64)
}
