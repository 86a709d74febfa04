import * as secp256k1 from 'tiny-secp256k1'
import { type Address, getAddress, type Hex, hexToBytes, keccak256 } from 'viem'

/**
 * The address that signed a 32-byte `hash` with a 65-byte `r || s || v` signature (v 27/28 or 0/1),
 * recovered by libsecp256k1 (Bitcoin Core's library, compiled to WebAssembly: `tiny-secp256k1`).
 * A gateway recovers the signer of every request it serves, a storage read one per piece: 0.32 ms
 * a recovery here against 2.7 ms for the pure-JavaScript noble-curves that viem uses. What it
 * recovers is the same (packages/provider/test/recover.test.ts checks it against viem's).
 * Throws on a signature that recovers to no key.
 */
export function recoverSigner(hash: Hex, signature: Hex): Address {
  const bytes = hexToBytes(signature)
  if (bytes.length !== 65) throw new Error('a signature is 65 bytes')
  const v = bytes[64] as number
  const recoveryId = v >= 27 ? v - 27 : v
  if (recoveryId !== 0 && recoveryId !== 1) throw new Error(`recovery id ${v} is not 27 or 28`)
  const publicKey = secp256k1.recover(hexToBytes(hash), bytes.subarray(0, 64), recoveryId, false)
  if (!publicKey) throw new Error('the signature recovers to no public key')
  return getAddress(`0x${keccak256(publicKey.subarray(1), 'hex').slice(-40)}`)
}
