import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import { MAX_SHARDS } from './erasure/coder.ts'
import { LEAF_SIZE } from './merkle.ts'

/**
 * How an object is cut up (docs/storage-spec.md section 1): segments of `k * P` bytes of
 * ciphertext, each coded into `total` pieces of `P` bytes; the last segment shorter.
 */

/**
 * The most ciphertext one segment holds: `k * P <= 32 MiB`. A segment's pieces and parity are
 * what an upload or a download holds in memory (4-of-6: 48 MiB), so this bounds both.
 */
export const MAX_SEGMENT_SIZE = 32 * 1024 * 1024

/** AES-GCM's tag, appended to every segment's ciphertext. */
export const GCM_TAG_SIZE = 16

export type ChoosePieceSizeErrorType = InvalidParameterErrorType

/** The largest power of two `P >= LEAF_SIZE` with `k * P <= 32 MiB` (k = 4: 8 MiB; k = 10: 2 MiB). */
export function choosePieceSize(k: number): number {
  checkK(k)
  let pieceSize = LEAF_SIZE
  while (k * pieceSize * 2 <= MAX_SEGMENT_SIZE) pieceSize *= 2
  return pieceSize
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_SHARDS) {
    throw new InvalidParameterError('k', `an integer from 1 to ${MAX_SHARDS}`, k)
  }
}

export type SegmentLayout = {
  index: number
  /** Where the segment's plaintext starts in the file. */
  plainOffset: number
  plainSize: number
  /** `plainSize + 16`. */
  cipherSize: number
  /** The ciphertext zero-padded to `k * pieceSize` bytes. */
  paddedSize: number
  /** Bytes of each of its `total` pieces: `paddedSize / k` (P for all but the last segment). */
  pieceSize: number
}

export type SegmentPlan = {
  /** Plaintext bytes of the object. */
  size: number
  k: number
  /** P: the piece size of every segment but the last. */
  pieceSize: number
  segmentCount: number
  /** Plaintext per full segment: `k * P - 16`. */
  segmentPlainSize: number
  /** The last segment (also the only one of a small object). */
  last: SegmentLayout
  /** Bytes of every shard: `(segmentCount - 1) * P + last.pieceSize`. */
  shardSize: number
}

export type PlanSegmentsParameters = {
  /** Plaintext bytes of the object. */
  size: number | bigint
  k: number
  /** P; defaults to `choosePieceSize(k)`. A power of two from `LEAF_SIZE` with `k * P <= 32 MiB` (tests use small ones). */
  pieceSize?: number | undefined
}

export type PlanSegmentsReturnType = SegmentPlan
export type PlanSegmentsErrorType = InvalidParameterErrorType

/** The segments of an object of `size` bytes coded `k`-of-n with pieces of `pieceSize` bytes. */
export function planSegments(parameters: PlanSegmentsParameters): PlanSegmentsReturnType {
  const { k } = parameters
  checkK(k)
  const size = typeof parameters.size === 'bigint' ? Number(parameters.size) : parameters.size
  if (!Number.isSafeInteger(size) || size < 0 || BigInt(size) !== BigInt(parameters.size)) {
    throw new InvalidParameterError('size', 'a byte count from 0 to 2^53 - 1', parameters.size)
  }
  const pieceSize = parameters.pieceSize ?? choosePieceSize(k)
  if (
    !Number.isSafeInteger(pieceSize) ||
    pieceSize < LEAF_SIZE ||
    !Number.isInteger(Math.log2(pieceSize)) ||
    k * pieceSize > MAX_SEGMENT_SIZE
  ) {
    throw new InvalidParameterError(
      'pieceSize',
      `a power of two from ${LEAF_SIZE} to ${MAX_SEGMENT_SIZE / k} (k * pieceSize <= 32 MiB)`,
      pieceSize,
    )
  }
  const segmentPlainSize = k * pieceSize - GCM_TAG_SIZE
  const segmentCount = Math.max(1, Math.ceil(size / segmentPlainSize))
  const lastPlain = size - (segmentCount - 1) * segmentPlainSize
  const last = lastSegment(segmentCount - 1, (segmentCount - 1) * segmentPlainSize, lastPlain, k)
  return {
    size,
    k,
    pieceSize,
    segmentCount,
    segmentPlainSize,
    last,
    shardSize: (segmentCount - 1) * pieceSize + last.pieceSize,
  }
}

function lastSegment(index: number, plainOffset: number, plainSize: number, k: number): SegmentLayout {
  const cipherSize = plainSize + GCM_TAG_SIZE
  const stripe = k * LEAF_SIZE
  const paddedSize = Math.ceil(cipherSize / stripe) * stripe
  return { index, plainOffset, plainSize, cipherSize, paddedSize, pieceSize: paddedSize / k }
}

export type SegmentAtErrorType = InvalidParameterErrorType

/** Segment `index` of a plan. */
export function segmentAt(plan: SegmentPlan, index: number): SegmentLayout {
  if (!Number.isInteger(index) || index < 0 || index >= plan.segmentCount) {
    throw new InvalidParameterError('segmentIndex', `an integer from 0 to ${plan.segmentCount - 1}`, index)
  }
  if (index === plan.segmentCount - 1) return plan.last
  const cipherSize = plan.k * plan.pieceSize
  return {
    index,
    plainOffset: index * plan.segmentPlainSize,
    plainSize: plan.segmentPlainSize,
    cipherSize,
    paddedSize: cipherSize,
    pieceSize: plan.pieceSize,
  }
}

export type ObjectThresholdsParameters = {
  /** Data shards: any k rebuild the object. */
  k: number
  /** Shards the deal keeps. */
  n: number
  /** Shards encoded and uploaded (the first n to finish are kept); default `min(n + 2, providers, 256)`. */
  total?: number | undefined
  /** Providers available, which caps the default `total`. */
  providers?: number | undefined
  /** Repair when healthy shards are `<= repairThreshold`; default `min(max(k + 1, n - 1), n)`. */
  repairThreshold?: number | undefined
}

export type ObjectThresholds = {
  k: number
  n: number
  total: number
  repairThreshold: number
  /** Parity pieces per segment: `total - k`. */
  parity: number
}

export type ObjectThresholdsReturnType = ObjectThresholds
export type ObjectThresholdsErrorType = InvalidParameterErrorType

/**
 * Checks an object's redundancy settings and fills in the defaults:
 * `1 <= k <= repairThreshold <= n <= total <= 256`.
 */
export function objectThresholds(parameters: ObjectThresholdsParameters): ObjectThresholdsReturnType {
  const { k, n, providers } = parameters
  checkK(k)
  if (!Number.isInteger(n) || n < k || n > MAX_SHARDS) {
    throw new InvalidParameterError('n', `an integer from k = ${k} to ${MAX_SHARDS}`, n)
  }
  if (providers !== undefined && (!Number.isInteger(providers) || providers < n)) {
    throw new InvalidParameterError(
      'providers',
      `at least n = ${n} providers (one per kept shard)`,
      providers,
    )
  }
  const total = parameters.total ?? Math.min(n + 2, providers ?? MAX_SHARDS, MAX_SHARDS)
  if (!Number.isInteger(total) || total < n || total > Math.min(MAX_SHARDS, providers ?? MAX_SHARDS)) {
    const most = Math.min(MAX_SHARDS, providers ?? MAX_SHARDS)
    throw new InvalidParameterError('total', `an integer from n = ${n} to ${most}`, total)
  }
  const repairThreshold = parameters.repairThreshold ?? Math.min(Math.max(k + 1, n - 1), n)
  if (!Number.isInteger(repairThreshold) || repairThreshold < k || repairThreshold > n) {
    throw new InvalidParameterError(
      'repairThreshold',
      `an integer from k = ${k} to n = ${n}`,
      repairThreshold,
    )
  }
  return { k, n, total, repairThreshold, parity: total - k }
}
