import { hash } from 'node:crypto'
import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import { loadSha256Batch, type Sha256Batch } from './sha256-wasm.ts'

/**
 * Merkle trees over shards (docs/storage-spec.md section 2): sha256, 512-byte leaves,
 * `leaf = sha256(0x00 || leaf)`, `node = sha256(0x01 || left || right)`, an odd node out at the end
 * of a level promoted unchanged.
 */

/** Bytes per leaf; the last leaf of a shard is zero-padded to this size. */
export const LEAF_SIZE = 512

/** Bytes per hash (a leaf hash, a node, a root). */
export const NODE_SIZE = 32

// Single hashes (`hashLeaf`, `hashNode`, proofs, the last nodes of a tree) are one-shot
// `crypto.hash` calls over a prefixed scratch buffer, about twice as fast as
// `createHash().update().update().digest()` for small leaves. Trees hash whole runs of leaves and
// of node pairs through `Sha256Batch` (src/sha256-wasm.ts): a native call costs about 1.4 µs
// whatever it hashes, which capped tree building near 180 MB/s; the WASM kernel hashes four
// messages at once and needs one call per batch (see the README).
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
  push(nodes: Uint8Array): void {
    if (this.length + nodes.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + nodes.length))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
    }
    this.bytes.set(nodes, this.length)
    this.length += nodes.length
  }
  take(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

/**
 * Leaves per batch: a chunk's whole leaves are hashed this many at a time (256 KiB, one kernel
 * call), and their hashes combined up the levels of the tree before the next batch.
 */
const BATCH_LEAVES = 512

/**
 * The batch implementation and two node buffers for the levels of one batch, each with a free
 * 32-byte slot in front for the pending left node of that level. Shared by every builder: an
 * `update` runs to its end before another can start.
 */
type BatchScratch = { batch: Sha256Batch; levels: [Uint8Array, Uint8Array] }
let batchScratch: BatchScratch | undefined

function getBatchScratch(): BatchScratch {
  batchScratch ??= {
    batch: loadSha256Batch(),
    levels: [new Uint8Array((BATCH_LEAVES + 1) * NODE_SIZE), new Uint8Array((BATCH_LEAVES + 1) * NODE_SIZE)],
  }
  return batchScratch
}

/**
 * Bytes a builder gathers from small chunks before hashing them (64 leaves): a batch costs about
 * as much for one leaf as for four, and the walk up the levels after it has a fixed cost, so
 * small chunks are hashed in runs of this size. Allocated when the first chunk leaves bytes over.
 */
const STAGE_BYTES = 64 * LEAF_SIZE

/** A plain view of part of `bytes` (`subarray` of a Node Buffer would build a Buffer, which costs more). */
function bytesAt(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length)
}

/**
 * Builds a shard's tree as its bytes stream by: memory is up to 32 KiB of bytes gathered from
 * small chunks, one pending node per level (O(log n)), and the kept levels.
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
  const { batch, levels: scratchLevels } = getBatchScratch()
  // pending[l]: the left node of an unfinished pair at level l.
  const pending: (Uint8Array | undefined)[] = []
  const kept: NodeList[] = []
  // Bytes not hashed yet: a leaf started by the end of a chunk, or small chunks gathered.
  let stage: Uint8Array | undefined
  let stagedLength = 0
  let size = 0
  let leaves = 0
  let finished = false

  /** Records `nodes` (32 bytes each, in order) as the next nodes of `level` when it is kept. */
  const keep = (level: number, nodes: Uint8Array) => {
    if (level < keepFrom) return
    let list = kept[level]
    if (list === undefined) {
      list = new NodeList()
      kept[level] = list
    }
    list.push(nodes)
  }

  /**
   * Adds the next `count` leaf hashes, which lie in the first scratch level from byte NODE_SIZE on,
   * and combines them up the tree: at each level the pending left node (if any) goes into the free
   * slot in front, every complete pair is hashed in one batch into the other scratch level, and an
   * odd node out at the end becomes that level's pending node. The same pairs as adding the
   * leaves one by one, so the same nodes in the same order.
   */
  const addLeafHashes = (count: number) => {
    leaves += count
    let [nodes, parents] = scratchLevels
    let n = count
    for (let level = 0; n > 0; level++) {
      keep(level, nodes.subarray(NODE_SIZE, NODE_SIZE + n * NODE_SIZE))
      let from = NODE_SIZE
      const left = pending[level]
      if (left !== undefined) {
        nodes.set(left, 0)
        from = 0
        n++
        pending[level] = undefined
      }
      const pairs = Math.floor(n / 2)
      if (n % 2 === 1) {
        const last = from + 2 * pairs * NODE_SIZE
        pending[level] = nodes.slice(last, last + NODE_SIZE)
      }
      if (pairs > 0) batch.hashPairs(nodes.subarray(from, from + 2 * pairs * NODE_SIZE), parents, NODE_SIZE)
      ;[nodes, parents] = [parents, nodes]
      n = pairs
    }
  }

  /** Hashes the `count` whole leaves at the start of `bytes` and adds them, a batch at a time. */
  const addLeaves = (bytes: Uint8Array, count: number) => {
    for (let done = 0; done < count; done += BATCH_LEAVES) {
      const n = Math.min(BATCH_LEAVES, count - done)
      batch.hashLeaves(bytesAt(bytes, done * LEAF_SIZE, n * LEAF_SIZE), scratchLevels[0], NODE_SIZE)
      addLeafHashes(n)
    }
  }

  const update = (chunk: Uint8Array) => {
    if (finished)
      throw new InvalidParameterError('builder', 'a builder that has not finished', 'a finished one')
    if (!(chunk instanceof Uint8Array)) throw new InvalidParameterError('chunk', 'a Uint8Array', chunk)
    size += chunk.length
    let offset = 0
    if (stage !== undefined && stagedLength > 0) {
      // Top the staged bytes up: from a small chunk to a full stage, else only to the end of the
      // leaf they began.
      const goal = chunk.length < STAGE_BYTES ? STAGE_BYTES : Math.ceil(stagedLength / LEAF_SIZE) * LEAF_SIZE
      offset = Math.min(goal - stagedLength, chunk.length)
      stage.set(bytesAt(chunk, 0, offset), stagedLength)
      stagedLength += offset
      if (stagedLength < goal) return
      addLeaves(stage, stagedLength / LEAF_SIZE)
      stagedLength = 0
    }
    // A large chunk's whole leaves hash straight from the caller's buffer; the rest is staged.
    if (chunk.length - offset >= STAGE_BYTES) {
      const count = Math.floor((chunk.length - offset) / LEAF_SIZE)
      addLeaves(bytesAt(chunk, offset, count * LEAF_SIZE), count)
      offset += count * LEAF_SIZE
    }
    if (offset < chunk.length) {
      stage ??= new Uint8Array(STAGE_BYTES)
      stage.set(bytesAt(chunk, offset, chunk.length - offset), 0)
      stagedLength = chunk.length - offset
    }
  }

  const finish = (): MerkleTree => {
    if (finished)
      throw new InvalidParameterError('builder', 'a builder that has not finished', 'a finished one')
    finished = true
    if (stagedLength > 0 || leaves === 0) {
      // The staged leaves, the last one zero-padded (an empty shard is one zero leaf).
      const count = Math.max(1, Math.ceil(stagedLength / LEAF_SIZE))
      const last = stage ?? new Uint8Array(LEAF_SIZE)
      last.fill(0, stagedLength, count * LEAF_SIZE)
      addLeaves(last, count)
    }
    const height = treeHeight(leaves)
    // Close the tree from the bottom: `carry` is the last node of level `level` when the pairs
    // below ended with an odd node out (promoted unchanged) or a pair that was just completed.
    let carry: Uint8Array | undefined
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
  const { batch } = getBatchScratch()
  let current = nodes
  let currentCount = count
  while (currentCount > 1) {
    // Complete pairs in one batch; an odd node out at the end is promoted unchanged.
    const pairs = Math.floor(currentCount / 2)
    const next = new Uint8Array(Math.ceil(currentCount / 2) * NODE_SIZE)
    batch.hashPairs(bytesAt(current, 0, 2 * pairs * NODE_SIZE), next)
    if (currentCount % 2 === 1)
      next.set(bytesAt(current, 2 * pairs * NODE_SIZE, NODE_SIZE), pairs * NODE_SIZE)
    current = next
    currentCount = Math.ceil(currentCount / 2)
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
