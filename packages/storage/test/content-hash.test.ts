import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { ContentHasherFailedError, createContentHasher } from '../src/index.ts'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const SLOT = 64 * 1024

describe('createContentHasher (a worker thread and a shared ring)', () => {
  // Parts of every size around the slot size, more than the ring holds, in one buffer the caller
  // overwrites as soon as each update resolves (as a download reuses its buffers).
  const sizes = [0, 1, SLOT - 1, SLOT, SLOT + 1, 3 * SLOT + 7, 9 * SLOT, 17, 2 * SLOT]

  for (const thread of [true, false]) {
    it(`gives createHash's sha256, the caller reusing its buffer at once (thread: ${thread})`, async () => {
      const hasher = createContentHasher({ thread, slotSize: SLOT, slots: 4 })
      const expected = createHash('sha256')
      const buffer = Buffer.alloc(9 * SLOT)
      for (const size of sizes) {
        const part = buffer.subarray(0, size)
        randomBytes(size).copy(part)
        expected.update(part)
        await hasher.update(part)
        part.fill(0xee)
      }
      assert.equal(hasher.threaded, thread)
      assert.equal(hex(await hasher.digest()), expected.digest('hex'))
    })
  }

  it('takes updates in the order they were called, awaited or not', async () => {
    const hasher = createContentHasher({ slotSize: SLOT, slots: 2 })
    const parts = sizes.map((size) => randomBytes(size))
    const updates = parts.map((part) => hasher.update(part))
    const expected = createHash('sha256')
    for (const part of parts) expected.update(part)
    await Promise.all(updates)
    assert.equal(hex(await hasher.digest()), expected.digest('hex'))
    assert.equal(hex(await createContentHasher().digest()), createHash('sha256').digest('hex'))
  })

  it('refuses updates and a digest after close, with ContentHasherFailedError', async () => {
    const hasher = createContentHasher({ slotSize: SLOT })
    await hasher.update(randomBytes(10))
    hasher.close()
    hasher.close()
    await assert.rejects(hasher.update(randomBytes(10)), ContentHasherFailedError)
    await assert.rejects(hasher.digest(), ContentHasherFailedError)
  })

  it('does not hold the event loop while idle, or unused', async () => {
    // No close() or digest: the test runner would hang at the end if an idle worker held the loop.
    const hasher = createContentHasher({ slotSize: SLOT })
    await hasher.update(randomBytes(3 * SLOT))
    createContentHasher({ slotSize: SLOT })
  })
})
