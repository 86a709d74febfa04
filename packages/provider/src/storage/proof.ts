import {
  hashLeaf,
  hashNode,
  LEAF_SIZE,
  leafCountOf,
  NODE_SIZE,
  nodeCountAt,
  proofSiblings,
  treeHeight,
  verifyProof,
} from '@stoa/storage'
import { type Hex, hexToBytes } from 'viem'
import { blockOf, KEPT_LEVEL, LEAVES_PER_KEPT_NODE, type ShardStore } from './shard-store.ts'

export type ShardProof = {
  leafIndex: number
  /** The whole leaf, `LEAF_SIZE` bytes (the shard's last leaf zero-padded). */
  leaf: Uint8Array
  /** Siblings from bottom to top (levels where the node is promoted skipped). */
  siblings: Uint8Array[]
}

/**
 * Builds the proof for leaf `leafIndex` of a held shard: reads the block of 64 leaves
 * (`64 * LEAF_SIZE` bytes) around it, rebuilds that block's levels 0 to 5, takes levels 6 and up
 * from the tree file, and checks the proof against the root before returning it (a corrupted file
 * throws instead of sending a proof that would revert).
 */
export async function buildShardProof(
  shards: Pick<ShardStore, 'readData' | 'readTree'>,
  shard: { root: Hex; size: number },
  leafIndex: number,
): Promise<ShardProof> {
  const leafCount = leafCountOf(shard.size)
  const height = treeHeight(leafCount)
  const { block, start, end } = blockOf(leafIndex, shard.size)
  const data = await shards.readData(shard.root, start, end)
  const blockLeaves = Math.ceil((end - start) / LEAF_SIZE)
  if (data.length < Math.min(end, shard.size) - start) {
    throw new Error(`the data file of ${shard.root} is shorter than its ${shard.size} bytes`)
  }

  // Levels 0..min(5, height) of the block, as arrays of nodes indexed from the block's first node.
  const local: Uint8Array[][] = []
  const leaves: Uint8Array[] = []
  for (let i = 0; i < blockLeaves; i++) {
    leaves.push(hashLeaf(data.subarray(i * LEAF_SIZE, Math.min((i + 1) * LEAF_SIZE, data.length))))
  }
  local.push(leaves)
  for (let level = 1; level < Math.min(KEPT_LEVEL, height + 1); level++) {
    const below = local[level - 1] as Uint8Array[]
    const nodes: Uint8Array[] = []
    for (let j = 0; j < below.length; j += 2) {
      const left = below[j] as Uint8Array
      const right = below[j + 1]
      nodes.push(right === undefined ? left : hashNode(left, right))
    }
    local.push(nodes)
  }

  const tree = height >= KEPT_LEVEL ? await shards.readTree(shard.root) : new Uint8Array(0)
  const levelOffsets = new Map<number, number>()
  let offset = 0
  for (let level = KEPT_LEVEL; level <= height; level++) {
    levelOffsets.set(level, offset)
    offset += nodeCountAt(leafCount, level) * NODE_SIZE
  }
  if (tree.length !== offset)
    throw new Error(`the tree file of ${shard.root} has ${tree.length} bytes, not ${offset}`)

  const nodeAt = (level: number, index: number): Uint8Array => {
    if (level < KEPT_LEVEL) {
      const first = (block * LEAVES_PER_KEPT_NODE) / 2 ** level
      const node = local[level]?.[index - first]
      if (!node) throw new Error(`node ${index} of level ${level} is outside block ${block}`)
      return node
    }
    const at = (levelOffsets.get(level) as number) + index * NODE_SIZE
    return tree.subarray(at, at + NODE_SIZE)
  }
  const siblings = proofSiblings(leafIndex, leafCount, nodeAt)
  const within = leafIndex - block * LEAVES_PER_KEPT_NODE
  const leaf = new Uint8Array(LEAF_SIZE)
  leaf.set(data.subarray(within * LEAF_SIZE, Math.min((within + 1) * LEAF_SIZE, data.length)))
  if (!verifyProof({ root: hexToBytes(shard.root), leafCount, leafIndex, leaf, siblings })) {
    throw new Error(
      `the proof for leaf ${leafIndex} of ${shard.root} does not verify: the shard is corrupted`,
    )
  }
  return { leafIndex, leaf, siblings }
}
