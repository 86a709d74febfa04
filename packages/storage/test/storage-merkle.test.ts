import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { InvalidParameterError } from '@stoa/protocol'
import fc from 'fast-check'
import {
  createMerkleBuilder,
  hashLeaf,
  hashNode,
  LEAF_SIZE,
  leafCountOf,
  merkleRoot,
  nodeCountAt,
  pieceLevel,
  proofSiblings,
  rootFromLevel,
  verifyProof,
} from '../src/index.ts'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

/** Patterned bytes: byte i is i mod 251 (a prime, so leaves differ). */
function pattern(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i + seed) % 251
  return bytes
}

/** The spec's tree, level by level, written independently of the streaming builder. */
function referenceLevels(data: Uint8Array): Uint8Array[][] {
  const sha = (...parts: Uint8Array[]) => {
    const h = createHash('sha256')
    for (const part of parts) h.update(part)
    return new Uint8Array(h.digest())
  }
  const leafCount = Math.max(1, Math.ceil(data.length / LEAF_SIZE))
  const leaves: Uint8Array[] = []
  for (let i = 0; i < leafCount; i++) {
    const leaf = new Uint8Array(LEAF_SIZE)
    leaf.set(data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE))
    leaves.push(sha(Uint8Array.of(0), leaf))
  }
  const levels = [leaves]
  for (let level = leaves; level.length > 1; ) {
    const next: Uint8Array[] = []
    for (let j = 0; j < level.length; j += 2) {
      const right = level[j + 1]
      next.push(right ? sha(Uint8Array.of(1), level[j] as Uint8Array, right) : (level[j] as Uint8Array))
    }
    levels.push(next)
    level = next
  }
  return levels
}

function paddedLeaf(data: Uint8Array, index: number): Uint8Array {
  const leaf = new Uint8Array(LEAF_SIZE)
  leaf.set(data.subarray(index * LEAF_SIZE, (index + 1) * LEAF_SIZE))
  return leaf
}

describe('Merkle tree', () => {
  test('known vectors (computed with Python hashlib)', () => {
    assert.equal(
      hex(merkleRoot(new Uint8Array(0))),
      '8ae7498b01f40e9d2a04df8a8a91cc0b180eb9eb64b78129f59a6d6ab547816b',
    )
    assert.equal(
      hex(hashLeaf(new Uint8Array(LEAF_SIZE))),
      '8ae7498b01f40e9d2a04df8a8a91cc0b180eb9eb64b78129f59a6d6ab547816b',
    )
    assert.equal(
      hex(hashLeaf(new TextEncoder().encode('abc'))),
      '12901e4a260a1af36770a50bc07c15d2ef4694f77534b132017121ddcb884d59',
    )
    assert.equal(
      hex(merkleRoot(pattern(3 * 512 + 5))),
      '8b7afa08c04402ac6bb7cf02d456a1621243b03eb18c566e732449daf9eeb33b',
    )
    assert.equal(
      hex(merkleRoot(pattern(5 * 512))),
      '97fac08c9593b236b1609bc815b36b639b842068511bf2573498ba37d652007e',
    )
    const leaf = pattern(LEAF_SIZE)
    assert.equal(hex(merkleRoot(leaf)), hex(hashLeaf(leaf)))
    const a = hashLeaf(pattern(10))
    const b = hashLeaf(pattern(20))
    assert.equal(
      hex(hashNode(a, b)),
      hex(createHash('sha256').update(Uint8Array.of(1)).update(a).update(b).digest()),
    )
  })

  test('leafCountOf and pieceLevel', () => {
    assert.equal(leafCountOf(0), 1)
    assert.equal(leafCountOf(1), 1)
    assert.equal(LEAF_SIZE, 512)
    assert.equal(leafCountOf(512), 1)
    assert.equal(leafCountOf(513), 2)
    assert.equal(leafCountOf(1024), 2)
    assert.equal(leafCountOf(2 ** 30), 2 ** 21)
    assert.equal(leafCountOf(2n ** 40n), 2 ** 31)
    assert.throws(() => leafCountOf(-1), InvalidParameterError)
    assert.throws(() => leafCountOf(1.5), InvalidParameterError)
    assert.equal(pieceLevel(512), 0)
    assert.equal(pieceLevel(1024), 1)
    assert.equal(pieceLevel(16 * 1024 * 1024), 15)
    assert.throws(() => pieceLevel(256), InvalidParameterError)
    assert.throws(() => pieceLevel(3072), InvalidParameterError)
    assert.throws(() => hashLeaf(new Uint8Array(LEAF_SIZE + 1)), InvalidParameterError)
  })

  test('every leaf of trees of 1..70 leaves has a proof that verifies; changed ones do not', () => {
    for (let leafCount = 1; leafCount <= 70; leafCount++) {
      // A short last leaf, except for every third size.
      const size = leafCount * LEAF_SIZE - (leafCount % 3 === 0 ? 0 : 100)
      const data = pattern(size, leafCount)
      const levels = referenceLevels(data)
      const builder = createMerkleBuilder({ keepLevelsFrom: 0 })
      builder.update(data)
      const tree = builder.finish()
      const root = levels.at(-1)?.[0] as Uint8Array
      assert.equal(hex(tree.root), hex(root), `root of ${leafCount} leaves`)
      assert.equal(tree.leafCount, leafCount)
      const nodeAt = (level: number, index: number) => levels[level]?.[index] as Uint8Array
      for (let leafIndex = 0; leafIndex < leafCount; leafIndex++) {
        const leaf = paddedLeaf(data, leafIndex)
        const siblings = proofSiblings(leafIndex, leafCount, nodeAt)
        assert.ok(verifyProof({ root, leafCount, leafIndex, leaf, siblings }), `${leafIndex} of ${leafCount}`)
        // The kept levels give the same siblings.
        const fromKept = proofSiblings(leafIndex, leafCount, (level, index) =>
          (tree.levels.get(level) as Uint8Array).subarray(index * 32, index * 32 + 32),
        )
        assert.deepEqual(fromKept.map(hex), siblings.map(hex))

        const flipped = leaf.slice()
        flipped[leafIndex % LEAF_SIZE] = (flipped[leafIndex % LEAF_SIZE] as number) ^ 1
        assert.ok(!verifyProof({ root, leafCount, leafIndex, leaf: flipped, siblings }))
        if (leafCount > 1) {
          assert.ok(!verifyProof({ root, leafCount, leafIndex: (leafIndex + 1) % leafCount, leaf, siblings }))
          const badSiblings = siblings.map((s) => s.slice())
          const badSibling = badSiblings[0] as Uint8Array
          badSibling[0] = (badSibling[0] as number) ^ 0x80
          assert.ok(!verifyProof({ root, leafCount, leafIndex, leaf, siblings: badSiblings }))
          assert.ok(!verifyProof({ root, leafCount, leafIndex, leaf, siblings: siblings.slice(1) }))
        }
        assert.ok(!verifyProof({ root, leafCount, leafIndex, leaf, siblings: [...siblings, root] }))
        assert.ok(!verifyProof({ root, leafCount, leafIndex: leafCount, leaf, siblings }))
        const short = leaf.subarray(0, LEAF_SIZE - 1)
        assert.ok(!verifyProof({ root, leafCount, leafIndex, leaf: short, siblings }))
      }
    }
  })

  test('the streaming builder equals the one-shot root for any chunking (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 * LEAF_SIZE }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 8 }),
        (size, cuts, keepFrom) => {
          const data = pattern(size, cuts.length)
          const builder = createMerkleBuilder({ keepLevelsFrom: keepFrom })
          let offset = 0
          for (let i = 0; offset < size; i++) {
            const length = cuts[i % cuts.length] as number
            builder.update(data.subarray(offset, offset + length))
            offset += length
          }
          const tree = builder.finish()
          const levels = referenceLevels(data)
          assert.equal(hex(tree.root), hex(merkleRoot(data)))
          assert.equal(hex(tree.root), hex(levels.at(-1)?.[0] as Uint8Array))
          assert.equal(tree.size, size)
          // Kept levels: exactly levels keepFrom..top, every node of each.
          for (const [level, nodes] of levels.entries()) {
            const kept = tree.levels.get(level)
            if (level < keepFrom) {
              assert.equal(kept, undefined)
              continue
            }
            assert.equal(kept?.length, nodeCountAt(tree.leafCount, level) * 32)
            assert.equal(hex(kept as Uint8Array), nodes.map(hex).join(''))
            assert.equal(hex(rootFromLevel(kept as Uint8Array, level, tree.leafCount)), hex(tree.root))
          }
          assert.equal(tree.levels.size, Math.max(0, levels.length - keepFrom))
        },
      ),
      { seed: 20261121, numRuns: 200 },
    )
  })

  test('rootFromLevel checks its input', () => {
    assert.throws(() => rootFromLevel(new Uint8Array(64), 0, 3), InvalidParameterError)
    assert.throws(() => rootFromLevel(new Uint8Array(32), 5, 3), InvalidParameterError)
  })

  test('piece roots: a piece of P bytes at a multiple of P is one node at pieceLevel(P)', () => {
    const pieceSize = 4 * LEAF_SIZE
    const data = pattern(5 * pieceSize + 2 * LEAF_SIZE)
    const builder = createMerkleBuilder({ keepLevelsFrom: pieceLevel(pieceSize) })
    builder.update(data)
    const tree = builder.finish()
    const nodes = tree.levels.get(pieceLevel(pieceSize)) as Uint8Array
    assert.equal(nodes.length / 32, 6)
    for (let j = 0; j < 6; j++) {
      assert.equal(
        hex(nodes.subarray(j * 32, j * 32 + 32)),
        hex(merkleRoot(data.subarray(j * pieceSize, (j + 1) * pieceSize))),
      )
    }
  })

  test('a finished builder refuses more input', () => {
    const builder = createMerkleBuilder()
    builder.finish()
    assert.throws(() => builder.update(new Uint8Array(1)), InvalidParameterError)
    assert.throws(() => builder.finish(), InvalidParameterError)
  })

  test('throughput on 64 MiB (reported, not asserted)', () => {
    const data = pattern(64 * 1024 * 1024)
    const started = performance.now()
    const builder = createMerkleBuilder({ keepLevelsFrom: 6 })
    for (let offset = 0; offset < data.length; offset += 1 << 20)
      builder.update(data.subarray(offset, offset + (1 << 20)))
    builder.finish()
    const seconds = (performance.now() - started) / 1000
    console.log(`merkle: ${(64 / seconds).toFixed(0)} MiB/s on 64 MiB`)
  })
})
