/**
 * A deal's view of its shards, on top of `@stoa/storage`: a deal records only a shard's size and
 * `P`, so the piece ranges and the shard root from piece roots are worked out from those two.
 * The layout, the trees and the hashing themselves are the library's.
 */
import { leafCountOf, NODE_SIZE, pieceLevel, rootFromLevel } from '@stoa/storage'

export type PieceRange = { offset: number; length: number }

/**
 * Where segment `s`'s piece lies in a shard of `shardSize` bytes cut at `pieceSize` (P): every
 * piece but the last is P bytes, the last what is left (an empty shard has none, but one piece).
 */
export function pieceRangesOf(shardSize: number, pieceSize: number): PieceRange[] {
  const count = Math.max(1, Math.ceil(shardSize / pieceSize))
  return Array.from({ length: count }, (_, s) => ({
    offset: s * pieceSize,
    length: Math.min(pieceSize, shardSize - s * pieceSize),
  }))
}

/**
 * The shard's root from the roots of its pieces (its nodes at level `log2(P / 1024)`). A shard of
 * one piece shorter than P has no node at that level: its one piece root is the root.
 */
export function shardRootFromPieceRoots(
  pieceRoots: readonly Uint8Array[],
  pieceSize: number,
  shardSize: number,
): Uint8Array {
  if (pieceRoots.length === 1) return pieceRoots[0] as Uint8Array
  const nodes = new Uint8Array(pieceRoots.length * NODE_SIZE)
  for (const [j, root] of pieceRoots.entries()) nodes.set(root, j * NODE_SIZE)
  return rootFromLevel(nodes, pieceLevel(pieceSize), leafCountOf(shardSize))
}

/** Whether two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/**
 * The `total` to decode a deal's pieces with: its highest erasure index + 1 (the code's parity
 * rows do not depend on how many there are, so any `total` above the indices in use gives the same
 * pieces).
 */
export function codeWidthOf(erasureIndices: Iterable<number>, k: number): number {
  let top = k - 1
  for (const index of erasureIndices) if (index > top) top = index
  return Math.max(top + 1, k)
}
