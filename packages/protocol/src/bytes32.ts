import { type Hex, hexToBytes, isHex, size, stringToHex } from 'viem'

/**
 * Short texts in `bytes32` fields (attribute keys, GPU models, notes, parameter names) are stored
 * as Solidity's `bytes32("A100")` does: UTF-8, right-padded with zero bytes.
 */

/** A text of at most 32 UTF-8 bytes → bytes32; undefined when it is longer. */
export function textToBytes32(text: string): Hex | undefined {
  const hex = stringToHex(text)
  return size(hex) > 32 ? undefined : stringToHex(text, { size: 32 })
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * A bytes32 → its text when it holds right-padded, printable UTF-8 (`''` for all zeros);
 * undefined when it holds anything else (a hash, binary data).
 */
export function bytes32ToText(value: Hex): string | undefined {
  if (!isHex(value) || size(value) !== 32) return undefined
  const bytes = hexToBytes(value)
  let end = bytes.length
  while (end > 0 && bytes[end - 1] === 0) end--
  const content = bytes.subarray(0, end)
  if (content.includes(0)) return undefined
  try {
    const text = decoder.decode(content)
    return /\p{Cc}/u.test(text) ? undefined : text
  } catch {
    return undefined
  }
}

/**
 * Orders two strings by UTF-16 code unit, as `<` does: the same on every machine, and unlike
 * `localeCompare` it loads no ICU collation data (about 3 MB of a daemon's memory). For ids,
 * addresses and names that sort the same either way.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
