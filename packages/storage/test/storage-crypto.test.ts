import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { InvalidParameterError } from '@stoa/protocol'
import { privateKeyToAccount } from 'viem/accounts'
import {
  choosePieceSize,
  DecryptionFailedError,
  decryptIndexBlob,
  decryptSegment,
  deriveMasterKey,
  encryptIndexBlob,
  encryptSegment,
  MalformedIndexError,
  masterKeyMessage,
  objectThresholds,
  planSegments,
  segmentAt,
  unwrapSegmentKey,
  WRAPPED_KEY_SIZE,
  wrapSegmentKey,
} from '../src/index.ts'

const MiB = 1024 * 1024
const objectId = new Uint8Array(randomBytes(32))
const masterKey = deriveMasterKey({ secret: 'correct horse battery staple' })

describe('layout', () => {
  test('piece size: largest power of two with k * P <= 32 MiB', () => {
    assert.equal(choosePieceSize(4), 8 * MiB)
    assert.equal(choosePieceSize(10), 2 * MiB)
    assert.equal(choosePieceSize(1), 32 * MiB)
    assert.equal(choosePieceSize(256), 128 * 1024)
    assert.throws(() => choosePieceSize(0), InvalidParameterError)
  })

  test('segment plans', () => {
    const empty = planSegments({ size: 0, k: 4 })
    assert.equal(empty.segmentCount, 1)
    assert.deepEqual(empty.last, {
      index: 0,
      plainOffset: 0,
      plainSize: 0,
      cipherSize: 16,
      paddedSize: 2048,
      pieceSize: 512,
    })
    assert.equal(empty.shardSize, 512)
    const full = 32 * MiB - 16
    const exact = planSegments({ size: 2 * full, k: 4 })
    assert.equal(exact.segmentCount, 2)
    assert.equal(exact.last.pieceSize, 8 * MiB)
    assert.equal(exact.shardSize, 16 * MiB)
    const plan = planSegments({ size: 2n * BigInt(full) + 5n, k: 4 })
    assert.equal(plan.segmentCount, 3)
    assert.deepEqual(plan.last, {
      index: 2,
      plainOffset: 2 * full,
      plainSize: 5,
      cipherSize: 21,
      paddedSize: 2048,
      pieceSize: 512,
    })
    assert.equal(plan.shardSize, 16 * MiB + 512)
    assert.equal(segmentAt(plan, 1).plainOffset, full)
    assert.throws(() => segmentAt(plan, 3), InvalidParameterError)
    assert.throws(() => planSegments({ size: 1, k: 4, pieceSize: 3000 }), InvalidParameterError)
    assert.throws(() => planSegments({ size: -1, k: 4 }), InvalidParameterError)
    assert.equal(planSegments({ size: 10_000, k: 3, pieceSize: 1024 }).segmentCount, 4)
  })

  test('object thresholds: defaults and validation', () => {
    assert.deepEqual(objectThresholds({ k: 4, n: 6 }), {
      k: 4,
      n: 6,
      total: 8,
      repairThreshold: 5,
      parity: 4,
    })
    assert.deepEqual(objectThresholds({ k: 4, n: 6, providers: 7 }), {
      k: 4,
      n: 6,
      total: 7,
      repairThreshold: 5,
      parity: 3,
    })
    assert.equal(objectThresholds({ k: 4, n: 5 }).repairThreshold, 5)
    assert.equal(objectThresholds({ k: 250, n: 255 }).total, 256)
    const bad = [
      { k: 0, n: 6 },
      { k: 4, n: 3 },
      { k: 4, n: 6, total: 5 },
      { k: 4, n: 6, total: 257 },
      { k: 4, n: 6, repairThreshold: 3 },
      { k: 4, n: 6, repairThreshold: 7 },
      { k: 4, n: 6, providers: 5 },
      { k: 4, n: 6, providers: 6, total: 7 },
    ]
    for (const parameters of bad) assert.throws(() => objectThresholds(parameters), InvalidParameterError)
    try {
      objectThresholds({ k: 4, n: 6, total: 5 })
    } catch (error) {
      assert.ok(error instanceof InvalidParameterError)
      assert.equal(error.field, 'total')
    }
  })
})

describe('crypto', () => {
  test('master key: from a signature of the fixed text (deterministic) or a secret', async () => {
    const account = privateKeyToAccount(`0x${'11'.repeat(32)}`)
    const signature = await account.signMessage({ message: masterKeyMessage })
    const key = deriveMasterKey({ signature })
    assert.equal(key.length, 32)
    assert.deepEqual(
      deriveMasterKey({ signature: await account.signMessage({ message: masterKeyMessage }) }),
      key,
    )
    assert.notDeepEqual(deriveMasterKey({ secret: 'correct horse battery staple' }), key)
    assert.equal(masterKeyMessage, 'Stoa storage master key v1')
    assert.throws(() => deriveMasterKey({ signature: '0x1234' }), InvalidParameterError)
    assert.throws(() => deriveMasterKey({ secret: 'short' }), InvalidParameterError)
  })

  test('segment round trip, wrong key, tampering, swapped segments', () => {
    const plaintext = new Uint8Array(randomBytes(10_000))
    const sealed = encryptSegment({ plaintext, objectId, segmentIndex: 3 })
    assert.equal(sealed.ciphertext.length, plaintext.length + 16)
    const open = { objectId, segmentIndex: 3, key: sealed.key, nonce: sealed.nonce }
    assert.deepEqual(decryptSegment({ ...open, ciphertext: sealed.ciphertext }), plaintext)

    const wrongKey = new Uint8Array(randomBytes(32))
    assert.throws(
      () => decryptSegment({ ...open, key: wrongKey, ciphertext: sealed.ciphertext }),
      DecryptionFailedError,
    )
    for (const at of [0, 5000, plaintext.length + 3]) {
      const tampered = sealed.ciphertext.slice()
      tampered[at] = (tampered[at] as number) ^ 1
      assert.throws(() => decryptSegment({ ...open, ciphertext: tampered }), DecryptionFailedError)
    }
    // The same bytes at another place (segment or object) do not decrypt.
    assert.throws(
      () => decryptSegment({ ...open, segmentIndex: 4, ciphertext: sealed.ciphertext }),
      (error) => {
        assert.ok(error instanceof DecryptionFailedError)
        assert.equal(error.name, 'DecryptionFailedError')
        assert.equal(error.segmentIndex, 4)
        return true
      },
    )
    const otherObject = new Uint8Array(randomBytes(32))
    assert.throws(
      () => decryptSegment({ ...open, objectId: otherObject, ciphertext: sealed.ciphertext }),
      DecryptionFailedError,
    )
    const empty = encryptSegment({ plaintext: new Uint8Array(0), objectId, segmentIndex: 0 })
    assert.equal(
      decryptSegment({
        objectId,
        segmentIndex: 0,
        key: empty.key,
        nonce: empty.nonce,
        ciphertext: empty.ciphertext,
      }).length,
      0,
    )
  })

  test('segment keys wrap to 60 bytes and unwrap only under the same master key', () => {
    const key = new Uint8Array(randomBytes(32))
    const wrapped = wrapSegmentKey(key, masterKey)
    assert.equal(wrapped.length, WRAPPED_KEY_SIZE)
    assert.equal(WRAPPED_KEY_SIZE, 60)
    assert.deepEqual(unwrapSegmentKey(wrapped, masterKey), key)
    const other = deriveMasterKey({ secret: 'another secret of sixteen bytes' })
    assert.throws(
      () => unwrapSegmentKey(wrapped, other, 7),
      (error) => {
        assert.ok(error instanceof DecryptionFailedError)
        assert.equal(error.what, 'segment key')
        return true
      },
    )
    const tampered = wrapped.slice()
    tampered[20] = (tampered[20] as number) ^ 1
    assert.throws(() => unwrapSegmentKey(tampered, masterKey), DecryptionFailedError)
  })

  test('index blob framing and encryption', () => {
    const plaintext = new TextEncoder().encode('{"version":1,"objects":[]}')
    const frame = encryptIndexBlob(plaintext, masterKey)
    assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4)
    assert.equal(frame.length, 4 + 12 + plaintext.length + 16)
    const padded = new Uint8Array(4096)
    padded.set(frame)
    assert.deepEqual(decryptIndexBlob(padded, masterKey), plaintext)
    assert.throws(
      () => decryptIndexBlob(padded, deriveMasterKey({ secret: 'another secret of sixteen bytes' })),
      DecryptionFailedError,
    )
    const tampered = padded.slice()
    tampered[20] = (tampered[20] as number) ^ 1
    assert.throws(() => decryptIndexBlob(tampered, masterKey), DecryptionFailedError)
    assert.throws(() => decryptIndexBlob(new Uint8Array(4096), masterKey), MalformedIndexError)
    assert.throws(() => decryptIndexBlob(Uint8Array.of(0, 0, 1), masterKey), MalformedIndexError)
  })

  test('AES-256-GCM throughput on 64 MiB (reported, not asserted)', () => {
    const plaintext = new Uint8Array(64 * MiB)
    const started = performance.now()
    encryptSegment({ plaintext, objectId, segmentIndex: 0 })
    const seconds = (performance.now() - started) / 1000
    console.log(`aes-256-gcm: ${(64 / seconds).toFixed(0)} MiB/s on 64 MiB`)
  })
})
