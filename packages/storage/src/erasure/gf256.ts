/**
 * Arithmetic in GF(2^8) with the reduction polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), the
 * field most Reed-Solomon storage codes use (ISA-L, klauspost/reedsolomon, Backblaze). Addition is
 * XOR; multiplication goes through log/exp tables with generator 2.
 */

/** The reduction polynomial, with the x^8 term. */
export const GF_POLYNOMIAL = 0x11d

/** exp[i] = 2^i for i in 0..509, doubled so that exp[log a + log b] needs no modulo. */
const exp = new Uint8Array(510)
/** log[a] for a in 1..255; log[0] is unused. */
const log = new Uint8Array(256)

{
  let value = 1
  for (let power = 0; power < 255; power++) {
    exp[power] = value
    exp[power + 255] = value
    log[value] = power
    value <<= 1
    if (value & 0x100) value ^= GF_POLYNOMIAL
  }
}

/** a · b in GF(2^8). */
export function gfMultiply(a: number, b: number): number {
  if (a === 0 || b === 0) return 0
  return exp[(log[a] as number) + (log[b] as number)] as number
}

/** The multiplicative inverse of a (a ≠ 0). */
export function gfInverse(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)')
  return exp[255 - (log[a] as number)] as number
}

/** a / b in GF(2^8) (b ≠ 0). */
export function gfDivide(a: number, b: number): number {
  return gfMultiply(a, gfInverse(b))
}

/** A row of 256 products c · x for x = 0..255: the scalar kernel looks products up here. */
export function gfMultiplyRow(c: number): Uint8Array {
  const row = new Uint8Array(256)
  if (c === 0) return row
  const logC = log[c] as number
  for (let x = 1; x < 256; x++) row[x] = exp[logC + (log[x] as number)] as number
  return row
}

/**
 * Writes the two 16-byte nibble tables of c at `offset`: first c · x for x = 0..15 (the low
 * nibble), then c · (x << 4) (the high nibble). c · b = low[b & 15] ^ high[b >> 4], which the SIMD
 * kernel computes 16 bytes at a time with two swizzles.
 */
export function writeNibbleTables(c: number, target: Uint8Array, offset: number): void {
  for (let x = 0; x < 16; x++) {
    target[offset + x] = gfMultiply(c, x)
    target[offset + 16 + x] = gfMultiply(c, x << 4)
  }
}
