// The shard store and the prover's proof building without a chain: real files, real SQLite. Every
// proof verifies against the root the upload computed, for shards of 1 leaf to several 64-leaf
// blocks, at the edges of blocks and at the last (short) leaf; the prover's window arithmetic.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { LEAF_SIZE, leafCountOf, merkleRoot, verifyProof } from '@stoa/storage'
import { bytesToHex, hexToBytes } from 'viem'
import { buildShardProof, duePeriod, openStateStore, type ShardStore, shardStore } from '../src/index.ts'

let dir: string
let shards: ShardStore
const uploader = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stoa-shards-'))
  shards = shardStore({ dir, capacityBytes: 64 * 1024 * 1024, uploadTtlSeconds: 3600 })({
    store: openStateStore({ filename: ':memory:' }),
  })
  await shards.recover()
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function store(data: Uint8Array) {
  const upload = shards.createUpload({ uploader, size: data.length, erasureIndex: 0 })
  const result = await shards.writeUpload({
    uploadId: upload.uploadId,
    signer: uploader,
    offset: 0,
    body: data,
  })
  assert.ok(result.complete)
  assert.equal(result.root, bytesToHex(merkleRoot(data)))
  return result.root
}

test('proofs verify for every shape of tree and every edge leaf', async () => {
  const sizes = [
    1,
    1000,
    LEAF_SIZE,
    5 * LEAF_SIZE + 3,
    64 * LEAF_SIZE,
    65 * LEAF_SIZE - 1,
    64 * LEAF_SIZE * 3 + 5000,
  ]
  for (const size of sizes) {
    const data = randomBytes(size)
    const root = await store(data)
    const leafCount = leafCountOf(size)
    const indices = new Set([0, 1, 62, 63, 64, 65, 127, 128, leafCount - 2, leafCount - 1])
    for (const leafIndex of indices) {
      if (leafIndex < 0 || leafIndex >= leafCount) continue
      const proof = await buildShardProof(shards, { root, size }, leafIndex)
      const expected = new Uint8Array(LEAF_SIZE)
      expected.set(data.subarray(leafIndex * LEAF_SIZE, Math.min((leafIndex + 1) * LEAF_SIZE, size)))
      assert.deepEqual(proof.leaf, expected, `leaf ${leafIndex} of ${size} bytes`)
      assert.ok(
        verifyProof({
          root: hexToBytes(root),
          leafCount,
          leafIndex,
          leaf: proof.leaf,
          siblings: proof.siblings,
        }),
        `proof of leaf ${leafIndex} of a ${size}-byte shard`,
      )
    }
  }
})

test('a corrupted data file gives no proof', async () => {
  const data = randomBytes(70 * LEAF_SIZE)
  const root = await store(data)
  const corrupted = Buffer.from(data)
  corrupted[3 * LEAF_SIZE] = (corrupted[3 * LEAF_SIZE] as number) ^ 1
  await writeFile(shards.dataPath(root), corrupted)
  await assert.rejects(buildShardProof(shards, { root, size: data.length }, 3), /does not verify/)
  // Another block is untouched: its proof still holds.
  await buildShardProof(shards, { root, size: data.length }, 66)
})

test('duePeriod: the next period, from the block before its window while a transaction sent now lands inside it', () => {
  const slot = { startBlock: 100n, periodBlocks: 20, windowBlocks: 10, periods: 2, lastProofPeriod: -1 }
  assert.equal(duePeriod(slot, 108n), undefined)
  assert.equal(duePeriod(slot, 109n), 0, 'a transaction sent now lands in the first block of the window')
  assert.equal(duePeriod(slot, 118n), 0)
  assert.equal(duePeriod(slot, 119n), undefined, 'the next block is past the window')
  assert.equal(duePeriod(slot, 130n), undefined, 'period 0 was not proven: period 1 cannot be')
  assert.equal(duePeriod({ ...slot, lastProofPeriod: 0 }, 130n), 1)
  assert.equal(duePeriod({ ...slot, lastProofPeriod: 1 }, 150n), undefined, 'the deal has two periods')
})
