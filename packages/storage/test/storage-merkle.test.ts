import assert from 'node:assert/strict'
import { createHash, hash } from 'node:crypto'
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

/**
 * The builder as it was before the batch kernel (one `crypto.hash` per leaf and per node, leaves
 * fed one by one): the oracle for the batched builder, kept levels included.
 */
function perHashBuilder(keepFrom: number) {
  const sha = (prefix: number, ...parts: Uint8Array[]) =>
    hash('sha256', Buffer.concat([Uint8Array.of(prefix), ...parts]), 'buffer')
  const pending: (Buffer | undefined)[] = []
  const kept: Buffer[][] = []
  const keep = (level: number, node: Buffer) => {
    if (level < keepFrom) return
    const nodes = kept[level] ?? []
    nodes.push(node)
    kept[level] = nodes
  }
  let partial = Buffer.alloc(0)
  let size = 0
  let leaves = 0
  const addLeafHash = (leafHash: Buffer) => {
    leaves++
    let node = leafHash
    let level = 0
    keep(0, node)
    for (;;) {
      const left = pending[level]
      if (left === undefined) {
        pending[level] = node
        return
      }
      pending[level] = undefined
      node = sha(1, left, node)
      level++
      keep(level, node)
    }
  }
  return {
    update(chunk: Uint8Array) {
      size += chunk.length
      partial = Buffer.concat([partial, chunk])
      while (partial.length >= LEAF_SIZE) {
        addLeafHash(sha(0, partial.subarray(0, LEAF_SIZE)))
        partial = partial.subarray(LEAF_SIZE)
      }
    },
    finish() {
      if (partial.length > 0 || leaves === 0) {
        addLeafHash(sha(0, Buffer.concat([partial, Buffer.alloc(LEAF_SIZE - partial.length)])))
      }
      let height = 0
      while (2 ** height < leaves) height++
      let carry: Buffer | undefined
      for (let level = 0; level < height; level++) {
        const left = pending[level]
        if (carry !== undefined) {
          keep(level, carry)
          carry = left === undefined ? carry : sha(1, left, carry)
        } else if (left !== undefined) {
          carry = left
        }
      }
      const root = carry ?? (pending[height] as Buffer)
      if (carry !== undefined) keep(height, carry)
      const levels = new Map<number, string>()
      for (let level = 0; level <= height; level++) {
        const nodes = kept[level]
        if (nodes !== undefined) levels.set(level, Buffer.concat(nodes).toString('hex'))
      }
      return { root: root.toString('hex'), size, leafCount: leaves, levels }
    },
  }
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

  test('the batched builder equals the per-hash one: random data, sizes, chunkings (fast-check, fixed seed)', () => {
    // Up to ~3.5 batches of leaves (512 per kernel call) and chunks from one byte to 300 KiB, so
    // that leaves straddle chunks, batches end at every level's odd and even counts, and levels
    // carry pending nodes across chunks.
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 1800 * LEAF_SIZE }),
          fc.integer({ min: 1, max: 1800 }).map((leaves) => leaves * LEAF_SIZE),
        ),
        fc.array(
          fc.oneof(
            fc.integer({ min: 1, max: 3 * LEAF_SIZE }),
            fc.integer({ min: 1, max: 600 }).map((leaves) => leaves * LEAF_SIZE),
            fc.integer({ min: 1, max: 300 * 1024 }),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(undefined)),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (size, cuts, keepFrom, seed) => {
          const data = pattern(size, seed % 251)
          // Sprinkle runs of 0x00 and 0xff over the pattern.
          for (let at = seed % 4096; at < size; at += 5000) data.fill(at % 2 ? 0xff : 0, at, at + 700)
          const builder = createMerkleBuilder({ keepLevelsFrom: keepFrom })
          const oracle = perHashBuilder(keepFrom ?? Number.POSITIVE_INFINITY)
          let offset = 0
          for (let i = 0; offset < size; i++) {
            const piece = data.subarray(offset, offset + (cuts[i % cuts.length] as number))
            builder.update(piece)
            oracle.update(piece)
            offset += piece.length
          }
          const tree = builder.finish()
          const expected = oracle.finish()
          assert.equal(hex(tree.root), expected.root)
          assert.equal(tree.size, expected.size)
          assert.equal(tree.leafCount, expected.leafCount)
          assert.deepEqual(
            new Map([...tree.levels].map(([level, nodes]) => [level, hex(nodes)])),
            expected.levels,
          )
          assert.equal(hex(merkleRoot(data)), expected.root)
          // rootFromLevel (batched too) from every kept level.
          for (const [level, nodes] of tree.levels) {
            assert.equal(hex(rootFromLevel(nodes, level, tree.leafCount)), expected.root)
          }
        },
      ),
      { seed: 20261122, numRuns: 60 },
    )
  })

  test('one byte at a time and one leaf at a time give the one-shot tree', () => {
    const data = pattern(37 * LEAF_SIZE + 300, 5)
    const whole = createMerkleBuilder({ keepLevelsFrom: 0 })
    whole.update(data)
    const expected = whole.finish()
    for (const step of [1, LEAF_SIZE, 3 * LEAF_SIZE - 1]) {
      const builder = createMerkleBuilder({ keepLevelsFrom: 0 })
      for (let offset = 0; offset < data.length; offset += step)
        builder.update(data.subarray(offset, offset + step))
      const tree = builder.finish()
      assert.equal(hex(tree.root), hex(expected.root), `step ${step}`)
      assert.deepEqual(tree.levels, expected.levels, `step ${step}`)
    }
  })

  test('builders fed in turn (shared scratch) do not disturb each other', () => {
    const shards = [pattern(700 * LEAF_SIZE + 9, 1), pattern(1300 * LEAF_SIZE, 2), pattern(3 * LEAF_SIZE, 3)]
    const builders = shards.map(() => createMerkleBuilder({ keepLevelsFrom: 1 }))
    for (let offset = 0; offset < 1300 * LEAF_SIZE; offset += 100_000) {
      shards.forEach((shard, i) => {
        builders[i]?.update(shard.subarray(offset, offset + 100_000))
      })
    }
    shards.forEach((shard, i) => {
      const tree = builders[i]?.finish()
      const levels = referenceLevels(shard)
      assert.equal(hex(tree?.root as Uint8Array), hex(levels.at(-1)?.[0] as Uint8Array))
      assert.equal(hex(tree?.levels.get(1) as Uint8Array), (levels[1] ?? []).map(hex).join(''))
    })
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
