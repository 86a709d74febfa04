import { hash } from 'node:crypto'
import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'

/**
 * Merkle trees over shards (docs/storage-spec.md section 2): sha256, 512-byte leaves,
 * `leaf = sha256(0x00 || leaf)`, `node = sha256(0x01 || left || right)`, an odd node out at the end
 * of a level promoted unchanged.
 */

/** Bytes per leaf; the last leaf of a shard is zero-padded to this size. */
export const LEAF_SIZE = 512

/** Bytes per hash (a leaf hash, a node, a root). */
export const NODE_SIZE = 32

// One-shot `crypto.hash` over a prefixed scratch buffer costs one native call per hash, about
// twice as fast as `createHash().update().update().digest()` for small leaves (see the README).
const leafScratch = Buffer.alloc(1 + LEAF_SIZE)
const nodeScratch = Buffer.alloc(1 + 2 * NODE_SIZE)
nodeScratch[0] = 1

function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer')
}

/** Leaf hash of a full `LEAF_SIZE` leaf lying anywhere (no copy of the caller's buffer is kept). */
function hashFullLeaf(leaf: Uint8Array): Buffer {
  leafScratch.set(leaf, 1)
  return sha256(leafScratch)
}

function hashPair(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch.set(left, 1)
  nodeScratch.set(right, 1 + NODE_SIZE)
  return sha256(nodeScratch)
}

function view(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export type LeafCountOfErrorType = InvalidParameterErrorType

/** Leaves of a shard of `size` bytes: `max(1, ceil(size / LEAF_SIZE))` (an empty shard is one zero leaf). */
export function leafCountOf(size: number | bigint): number {
  if (typeof size === 'bigint') {
    if (size < 0n || size > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InvalidParameterError('size', 'a byte count from 0 to 2^53 - 1', size)
    }
    size = Number(size)
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new InvalidParameterError('size', 'a byte count from 0 to 2^53 - 1', size)
  }
  return Math.max(1, Math.ceil(size / LEAF_SIZE))
}

export type HashLeafErrorType = InvalidParameterErrorType

/** `sha256(0x00 || leaf)`, the leaf zero-padded to `LEAF_SIZE` bytes first (a shard's short last leaf). */
export function hashLeaf(leaf: Uint8Array): Uint8Array {
  if (!(leaf instanceof Uint8Array) || leaf.length > LEAF_SIZE) {
    throw new InvalidParameterError('leaf', `at most ${LEAF_SIZE} bytes`, leaf)
  }
  if (leaf.length < LEAF_SIZE) leafScratch.fill(0, 1 + leaf.length)
  return view(hashFullLeaf(leaf))
}

export type HashNodeErrorType = InvalidParameterErrorType

/** `sha256(0x01 || left || right)`. */
export function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!(left instanceof Uint8Array) || left.length !== NODE_SIZE) {
    throw new InvalidParameterError('left', `a ${NODE_SIZE}-byte hash`, left)
  }
  if (!(right instanceof Uint8Array) || right.length !== NODE_SIZE) {
    throw new InvalidParameterError('right', `a ${NODE_SIZE}-byte hash`, right)
  }
  return view(hashPair(left, right))
}

/** Nodes at `level` of a tree of `leafCount` leaves: `ceil(leafCount / 2^level)`. */
export function nodeCountAt(leafCount: number, level: number): number {
  return Math.ceil(leafCount / 2 ** level)
}

/** The level of the root of a tree of `leafCount` leaves: `ceil(log2(leafCount))` (0 for one leaf). */
export function treeHeight(leafCount: number): number {
  let height = 0
  while (2 ** height < leafCount) height++
  return height
}

export type CreateMerkleBuilderParameters = {
  /** Keep every node of every level `>= keepLevelsFrom` (a provider keeps 6 and up); none when absent. */
  keepLevelsFrom?: number | undefined
}

export type MerkleTree = {
  root: Uint8Array
  /** Bytes fed in. */
  size: number
  leafCount: number
  /** Level → all its nodes, 32 bytes each, concatenated (only the kept levels; up to the root's level). */
  levels: Map<number, Uint8Array>
}

export type MerkleBuilder = {
  /** Feeds the next bytes of the shard (any chunking gives the same tree). */
  update(chunk: Uint8Array): void
  /** Ends the shard and returns its tree; the builder cannot be used after. */
  finish(): MerkleTree
}

export type CreateMerkleBuilderReturnType = MerkleBuilder
export type CreateMerkleBuilderErrorType = InvalidParameterErrorType

/** A growable run of 32-byte nodes. */
class NodeList {
  bytes = new Uint8Array(NODE_SIZE * 64)
  length = 0
  push(node: Uint8Array): void {
    if (this.length + NODE_SIZE > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2)
      grown.set(this.bytes)
      this.bytes = grown
    }
    this.bytes.set(node, this.length)
    this.length += NODE_SIZE
  }
  take(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

/**
 * Builds a shard's tree as its bytes stream by: memory is one partial leaf, one pending node per
 * level (O(log n)), and the kept levels.
 *
 * ```ts
 * const builder = createMerkleBuilder({ keepLevelsFrom: 6 })
 * for await (const chunk of shard) builder.update(chunk)
 * const { root, leafCount, levels } = builder.finish()
 * ```
 */
export function createMerkleBuilder(
  parameters: CreateMerkleBuilderParameters = {},
): CreateMerkleBuilderReturnType {
  const keepFrom = parameters.keepLevelsFrom ?? Number.POSITIVE_INFINITY
  if (
    keepFrom !== Number.POSITIVE_INFINITY &&
    (!Number.isInteger(keepFrom) || keepFrom < 0 || keepFrom > 64)
  ) {
    throw new InvalidParameterError('keepLevelsFrom', 'an integer from 0 to 64', keepFrom)
  }
  // pending[l]: the left node of an unfinished pair at level l.
  const pending: (Buffer | undefined)[] = []
  const kept: NodeList[] = []
  const partial = new Uint8Array(LEAF_SIZE)
  let partialLength = 0
  let size = 0
  let leaves = 0
  let finished = false

  const keep = (level: number, node: Uint8Array) => {
    if (level < keepFrom) return
    let list = kept[level]
    if (list === undefined) {
      list = new NodeList()
      kept[level] = list
    }
    list.push(node)
  }

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
      node = hashPair(left, node)
      level++
      keep(level, node)
    }
  }

  const update = (chunk: Uint8Array) => {
    if (finished)
      throw new InvalidParameterError('builder', 'a builder that has not finished', 'a finished one')
    if (!(chunk instanceof Uint8Array)) throw new InvalidParameterError('chunk', 'a Uint8Array', chunk)
    size += chunk.length
    let offset = 0
    if (partialLength > 0) {
      const taken = Math.min(LEAF_SIZE - partialLength, chunk.length)
      partial.set(chunk.subarray(0, taken), partialLength)
      partialLength += taken
      offset = taken
      if (partialLength < LEAF_SIZE) return
      addLeafHash(hashFullLeaf(partial))
      partialLength = 0
    }
    // Whole leaves hash straight from the caller's buffer.
    while (chunk.length - offset >= LEAF_SIZE) {
      addLeafHash(hashFullLeaf(chunk.subarray(offset, offset + LEAF_SIZE)))
      offset += LEAF_SIZE
    }
    if (offset < chunk.length) {
      partial.set(chunk.subarray(offset), 0)
      partialLength = chunk.length - offset
    }
  }

  const finish = (): MerkleTree => {
    if (finished)
      throw new InvalidParameterError('builder', 'a builder that has not finished', 'a finished one')
    finished = true
    if (partialLength > 0 || leaves === 0) {
      partial.fill(0, partialLength)
      addLeafHash(hashFullLeaf(partial))
    }
    const height = treeHeight(leaves)
    // Close the tree from the bottom: `carry` is the last node of level `level` when the pairs
    // below ended with an odd node out (promoted unchanged) or a pair that was just completed.
    let carry: Buffer | undefined
    for (let level = 0; level < height; level++) {
      const left = pending[level]
      if (carry !== undefined) {
        keep(level, carry)
        carry = left === undefined ? carry : hashPair(left, carry)
      } else if (left !== undefined) {
        carry = left
      }
    }
    // With a power-of-two leaf count the root is the pending node at the top; otherwise the carry.
    const root = carry ?? pending[height]
    if (root === undefined) throw new Error('unreachable: a finished tree has a root')
    if (carry !== undefined) keep(height, carry)
    const levels = new Map<number, Uint8Array>()
    for (let level = 0; level <= height; level++) {
      const list = kept[level]
      if (list !== undefined) levels.set(level, list.take())
    }
    return { root: Uint8Array.from(root), size, leafCount: leaves, levels }
  }

  return { update, finish }
}

/** The root of `data` taken as one whole shard. */
export function merkleRoot(data: Uint8Array): Uint8Array {
  const builder = createMerkleBuilder()
  builder.update(data)
  return builder.finish().root
}

export type RootFromLevelErrorType = InvalidParameterErrorType

/**
 * The root from all nodes of one level (32 bytes each, concatenated) of a tree of `leafCount`
 * leaves, by the same pairing and promote rule: from the piece roots (level `pieceLevel(P)`),
 * the shard root.
 */
export function rootFromLevel(nodes: Uint8Array, level: number, leafCount: number): Uint8Array {
  checkLeafCount(leafCount)
  if (!Number.isInteger(level) || level < 0 || level > treeHeight(leafCount)) {
    throw new InvalidParameterError('level', `an integer from 0 to ${treeHeight(leafCount)}`, level)
  }
  const count = nodeCountAt(leafCount, level)
  if (!(nodes instanceof Uint8Array) || nodes.length !== count * NODE_SIZE) {
    throw new InvalidParameterError(
      'nodes',
      `${count} nodes of ${NODE_SIZE} bytes (${count * NODE_SIZE} bytes)`,
      nodes,
    )
  }
  let current = nodes
  let currentCount = count
  while (currentCount > 1) {
    const nextCount = Math.ceil(currentCount / 2)
    const next = new Uint8Array(nextCount * NODE_SIZE)
    for (let j = 0; j < nextCount; j++) {
      const left = current.subarray(2 * j * NODE_SIZE, (2 * j + 1) * NODE_SIZE)
      if (2 * j + 1 < currentCount) {
        next.set(
          hashPair(left, current.subarray((2 * j + 1) * NODE_SIZE, (2 * j + 2) * NODE_SIZE)),
          j * NODE_SIZE,
        )
      } else {
        next.set(left, j * NODE_SIZE)
      }
    }
    current = next
    currentCount = nextCount
  }
  return current.slice(0, NODE_SIZE)
}

function checkLeafCount(leafCount: number): void {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) {
    throw new InvalidParameterError('leafCount', 'an integer of at least 1', leafCount)
  }
}

export type ProofSiblingsErrorType = InvalidParameterErrorType

/**
 * The siblings of leaf `leafIndex` from bottom to top, skipping the levels where its ancestor is
 * promoted (it has no sibling). `nodeAt(level, index)` gives a node of the tree: for a provider,
 * from its kept levels, and from rebuilt subtrees below them.
 */
export function proofSiblings(
  leafIndex: number,
  leafCount: number,
  nodeAt: (level: number, index: number) => Uint8Array,
): Uint8Array[] {
  checkLeafCount(leafCount)
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= leafCount) {
    throw new InvalidParameterError('leafIndex', `an integer from 0 to ${leafCount - 1}`, leafIndex)
  }
  const siblings: Uint8Array[] = []
  let index = leafIndex
  let count = leafCount
  for (let level = 0; count > 1; level++) {
    const sibling = siblingOf(index)
    if (sibling < count) siblings.push(nodeAt(level, sibling))
    index = Math.floor(index / 2)
    count = Math.ceil(count / 2)
  }
  return siblings
}

// Indices may pass 2^31 (a 4 TiB shard), so no bitwise operators on them.
function siblingOf(index: number): number {
  return index % 2 === 0 ? index + 1 : index - 1
}

/** How many siblings a proof for `leafIndex` carries (levels where its ancestor is promoted have none). */
export function proofLength(leafIndex: number, leafCount: number): number {
  let length = 0
  let index = leafIndex
  let count = leafCount
  while (count > 1) {
    if (siblingOf(index) < count) length++
    index = Math.floor(index / 2)
    count = Math.ceil(count / 2)
  }
  return length
}

export type VerifyProofParameters = {
  root: Uint8Array
  leafCount: number
  leafIndex: number
  /** The whole leaf, `LEAF_SIZE` bytes (a short last leaf zero-padded, as the shard's tree has it). */
  leaf: Uint8Array
  siblings: readonly Uint8Array[]
}

/**
 * Whether `leaf` is leaf `leafIndex` of the tree of `leafCount` leaves with `root`. Never throws:
 * malformed input (a leaf that is not `LEAF_SIZE` bytes, an index out of range, the wrong number of
 * siblings, a sibling that is not 32 bytes) is simply not a valid proof.
 */
export function verifyProof(parameters: VerifyProofParameters): boolean {
  const { root, leafCount, leafIndex, leaf, siblings } = parameters
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) return false
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= leafCount) return false
  if (!(leaf instanceof Uint8Array) || leaf.length !== LEAF_SIZE) return false
  if (!(root instanceof Uint8Array) || root.length !== NODE_SIZE) return false
  if (!Array.isArray(siblings) || siblings.length !== proofLength(leafIndex, leafCount)) return false
  let node: Uint8Array = hashFullLeaf(leaf)
  let index = leafIndex
  let count = leafCount
  let used = 0
  while (count > 1) {
    if (siblingOf(index) < count) {
      const sibling = siblings[used++]
      if (!(sibling instanceof Uint8Array) || sibling.length !== NODE_SIZE) return false
      node = index % 2 === 1 ? hashPair(sibling, node) : hashPair(node, sibling)
    }
    index = Math.floor(index / 2)
    count = Math.ceil(count / 2)
  }
  return Buffer.compare(node, root) === 0
}

export type PieceLevelErrorType = InvalidParameterErrorType

/** The tree level at which a piece of `pieceSize` bytes is one node: `log2(pieceSize / LEAF_SIZE)`. */
export function pieceLevel(pieceSize: number): number {
  if (!Number.isSafeInteger(pieceSize) || pieceSize < LEAF_SIZE || !Number.isInteger(Math.log2(pieceSize))) {
    throw new InvalidParameterError('pieceSize', `a power of two of at least ${LEAF_SIZE}`, pieceSize)
  }
  return Math.log2(pieceSize / LEAF_SIZE)
}
