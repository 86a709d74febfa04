import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { bytesToHex, type Hex, recoverAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { recoverSigner } from '../src/gateway/recover.ts'

describe('recoverSigner (libsecp256k1 in WebAssembly)', () => {
  test('recovers the signer of random digests, as viem does, for v of 27/28 and 0/1', async () => {
    for (let i = 0; i < 40; i++) {
      const account = privateKeyToAccount(generatePrivateKey())
      const hash = bytesToHex(randomBytes(32))
      const signature = await account.sign({ hash })
      assert.equal(recoverSigner(hash, signature), account.address)
      assert.equal(await recoverAddress({ hash, signature }), account.address)
      // The same signature with v as a recovery id (0/1).
      const v = Number.parseInt(signature.slice(130), 16) - 27
      assert.equal(recoverSigner(hash, `${signature.slice(0, 130)}0${v}` as Hex), account.address)
    }
  })

  test('property: for any bytes, the same address as viem or an error where viem has none', async () => {
    let recovered = 0
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.constantFrom(27, 28),
        async (hashBytes, rs, v) => {
          const hash = bytesToHex(hashBytes)
          const signature = `${bytesToHex(rs)}${v.toString(16)}` as Hex
          let expected: string | undefined
          try {
            expected = await recoverAddress({ hash, signature })
          } catch {
            expected = undefined
          }
          let actual: string | undefined
          try {
            actual = recoverSigner(hash, signature)
          } catch {
            actual = undefined
          }
          // Both recover the same key, or ours refuses (viem's noble may return a point for an
          // out-of-range r or s that libsecp256k1 rejects; the gateway refuses those before).
          if (actual !== undefined) {
            recovered++
            assert.equal(actual, expected)
          }
        },
      ),
      { numRuns: 200 },
    )
    // About half of random r values are the x of a curve point: most runs compared an address.
    assert.ok(recovered > 50, `only ${recovered} of 200 random signatures recovered`)
  })

  test('refuses signatures that are not 65 bytes or carry another recovery id', () => {
    const hash = bytesToHex(randomBytes(32))
    assert.throws(() => recoverSigner(hash, bytesToHex(randomBytes(64))), /65 bytes/)
    assert.throws(() => recoverSigner(hash, `${bytesToHex(randomBytes(64))}1d` as Hex), /recovery id 29/)
    // r = 0 recovers to no key.
    assert.throws(() => recoverSigner(hash, `0x${'00'.repeat(32)}${'11'.repeat(32)}1b`))
  })
})
