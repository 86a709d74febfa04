import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createPieceRootHasher, LEAF_SIZE, merkleRoot, PieceRootHasherClosedError } from '../src/index.ts'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('createPieceRootHasher (worker threads)', () => {
  it('gives merkleRoot for trees of every shape: 1 to 40 leaves, odd levels, big pieces', async () => {
    const hasher = createPieceRootHasher({ threads: 2 })
    try {
      assert.equal(hasher.threads, 2)
      const pieces = [
        ...Array.from({ length: 40 }, (_, i) => randomBytes((i + 1) * LEAF_SIZE)),
        randomBytes(16384 * LEAF_SIZE),
        randomBytes(1000 * LEAF_SIZE + LEAF_SIZE),
      ]
      // All at once: they queue, two per worker at a time.
      const roots = await Promise.all(pieces.map((piece) => hasher.root(piece)))
      for (const [i, piece] of pieces.entries()) {
        assert.equal(
          hex(roots[i] as Uint8Array),
          hex(merkleRoot(piece)),
          `piece ${i} (${piece.length} bytes)`,
        )
      }
    } finally {
      await hasher.close()
    }
  })

  it('hashes pieces that are not whole leaves (or empty) on the calling thread, by the same rules', async () => {
    const hasher = createPieceRootHasher({ threads: 1 })
    try {
      for (const piece of [new Uint8Array(0), randomBytes(1), randomBytes(LEAF_SIZE + 7)]) {
        assert.equal(hex(await hasher.root(piece)), hex(merkleRoot(piece)))
      }
    } finally {
      await hasher.close()
    }
  })

  it('reuses its copy buffers: many pieces through one worker give the right roots', async () => {
    const hasher = createPieceRootHasher({ threads: 1 })
    try {
      const piece = randomBytes(64 * LEAF_SIZE)
      for (let round = 0; round < 20; round++) {
        piece[round] = (piece[round] as number) ^ 0xff
        assert.equal(hex(await hasher.root(piece)), hex(merkleRoot(piece)), `round ${round}`)
      }
    } finally {
      await hasher.close()
    }
  })

  it('rejects roots still queued at close with PieceRootHasherClosedError, and hashes here after', async () => {
    const hasher = createPieceRootHasher({ threads: 1 })
    const pending = Array.from({ length: 6 }, () => hasher.root(randomBytes(4096 * LEAF_SIZE)))
    const settling = Promise.allSettled(pending)
    await hasher.close()
    const settled = await settling
    const rejected = settled.filter((result) => result.status === 'rejected')
    assert.ok(rejected.length > 0, 'some roots were still queued')
    for (const result of rejected) assert.ok(result.reason instanceof PieceRootHasherClosedError)
    assert.equal(hasher.threads, 0)
    const piece = randomBytes(8 * LEAF_SIZE)
    assert.equal(hex(await hasher.root(piece)), hex(merkleRoot(piece)))
  })

  it('does not keep the process alive while idle', async () => {
    // No close(): the test runner would hang at the end if an idle worker held the event loop.
    const hasher = createPieceRootHasher({ threads: 1 })
    const piece = randomBytes(LEAF_SIZE * 3)
    assert.equal(hex(await hasher.root(piece)), hex(merkleRoot(piece)))
  })
})
