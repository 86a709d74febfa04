import { InvalidParameterError, type InvalidParameterErrorType } from '@stoa/protocol'
import {
  NotEnoughShardsError,
  type NotEnoughShardsErrorType,
  ShardSizeMismatchError,
  type ShardSizeMismatchErrorType,
} from './errors.ts'
import { parityMatrix } from './matrix.ts'
import { type CodingPlan, planCoding } from './plan.ts'
import { runPlanScalar } from './scalar.ts'
import { loadWasmKernel, type WasmKernelName } from './wasm.ts'

/** The most shards a code over GF(2^8) can have: k + m ≤ 256. */
export const MAX_SHARDS = 256

/** Which kernel computes: the WASM SIMD one (default where the engine has SIMD) or plain TypeScript. */
export type ErasureImplementation = 'wasm' | 'scalar'

export type ErasureKernelName = WasmKernelName | 'scalar'

export type CreateErasureCoderParameters = {
  /** Data shards: any k of the n = k + m shards rebuild everything. */
  k: number
  /** Parity shards: up to m lost shards (data or parity) are recoverable. */
  m: number
  /** Defaults to 'wasm' where the engine has WebAssembly SIMD, else 'scalar'. */
  implementation?: ErasureImplementation | undefined
}

export type ErasureCoder = {
  readonly k: number
  readonly m: number
  /** The kernel in use: 'wasm-relaxed-simd', 'wasm-simd' or 'scalar'. */
  readonly kernel: ErasureKernelName
  /**
   * The m parity shards of k equally long data shards (the data is not changed). They are
   * written into `parity` when given (m buffers as long as the data shards, returned), else into
   * new buffers: reusing buffers saves allocating (and the OS zeroing) m fresh ones per call.
   */
  encode(dataShards: readonly Uint8Array[], parity?: readonly Uint8Array[]): Uint8Array[]
  /**
   * Fills the missing (undefined) entries of the n shards in place, data and parity alike, from
   * any k present ones; the rebuilt shards are byte for byte the ones encode made. With `wanted`,
   * rebuilds only those indices (present ones are left alone). A shard is rebuilt into
   * `buffers[i]` when given (as long as the other shards; it then becomes shards[i]), else into a
   * new buffer. Throws before changing anything when fewer than k shards are present.
   */
  reconstruct(
    shards: (Uint8Array | undefined)[],
    wanted?: readonly number[],
    buffers?: readonly (Uint8Array | undefined)[],
  ): void
}

export type CreateErasureCoderReturnType = ErasureCoder
export type CreateErasureCoderErrorType = InvalidParameterErrorType
export type EncodeErrorType = InvalidParameterErrorType | ShardSizeMismatchErrorType
export type ReconstructErrorType =
  | InvalidParameterErrorType
  | ShardSizeMismatchErrorType
  | NotEnoughShardsErrorType

/** How many plans for recent erasure patterns a coder keeps (a repairer sees the same few often). */
const PLAN_CACHE_SIZE = 32

/**
 * A systematic Reed-Solomon coder over GF(2^8) for k data and m parity shards (k + m ≤ 256):
 * shards 0..k-1 are the data as given, k..k+m-1 the parity. Synchronous; the WASM kernel works
 * through a fixed-size buffer, so memory does not grow with the shard size.
 *
 * ```ts
 * const coder = createErasureCoder({ k: 4, m: 2 })
 * const parity = coder.encode(data) // data: four equally long Uint8Arrays
 * const shards = [undefined, data[1], undefined, data[3], ...parity]
 * coder.reconstruct(shards) // shards[0] and shards[2] are the data again
 * ```
 */
export function createErasureCoder(parameters: CreateErasureCoderParameters): CreateErasureCoderReturnType {
  const { k, m, implementation } = parameters
  if (!Number.isInteger(k) || k < 1 || k >= MAX_SHARDS) {
    throw new InvalidParameterError('k', `an integer from 1 to ${MAX_SHARDS - 1}`, k)
  }
  if (!Number.isInteger(m) || m < 1 || k + m > MAX_SHARDS) {
    throw new InvalidParameterError('m', `an integer from 1 to ${MAX_SHARDS - k} (k + m ≤ ${MAX_SHARDS})`, m)
  }
  if (implementation !== undefined && implementation !== 'wasm' && implementation !== 'scalar') {
    throw new InvalidParameterError('implementation', "'wasm' or 'scalar'", implementation)
  }
  const wasm = implementation === 'scalar' ? null : loadWasmKernel()
  if (implementation === 'wasm' && wasm === null) {
    throw new InvalidParameterError(
      'implementation',
      "'scalar' (this engine has no WebAssembly SIMD)",
      'wasm',
    )
  }
  const kernel: ErasureKernelName = wasm?.name ?? 'scalar'
  const run = (plan: CodingPlan, shards: readonly (Uint8Array | undefined)[], size: number) => {
    if (wasm) wasm.run(plan, shards, size)
    else runPlanScalar(plan, shards)
  }

  const n = k + m
  const parityRows = parityMatrix(k, m)
  const allData = Array.from({ length: n }, (_, i) => i < k)
  const parityIndices = Array.from({ length: m }, (_, j) => k + j)
  const encodePlan = planCoding(k, parityRows, allData, parityIndices)
  const plans = new Map<string, CodingPlan>()

  function encode(dataShards: readonly Uint8Array[], parity?: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(dataShards) || dataShards.length !== k) {
      throw new InvalidParameterError('dataShards', `an array of ${k} Uint8Array shards`, dataShards)
    }
    const size = commonSize(dataShards, 'dataShards')
    let outputs: Uint8Array[]
    if (parity === undefined) {
      outputs = Array.from({ length: m }, () => new Uint8Array(size))
    } else {
      if (!Array.isArray(parity) || parity.length !== m) {
        throw new InvalidParameterError('parity', `an array of ${m} Uint8Array buffers`, parity)
      }
      checkBuffers(parity, 'parity', size, dataShards)
      outputs = [...parity]
    }
    run(encodePlan, [...dataShards, ...outputs], size)
    return outputs
  }

  function reconstruct(
    shards: (Uint8Array | undefined)[],
    wanted?: readonly number[],
    buffers?: readonly (Uint8Array | undefined)[],
  ): void {
    if (!Array.isArray(shards) || shards.length !== n) {
      throw new InvalidParameterError(
        'shards',
        `an array of ${n} entries (a Uint8Array, or undefined when missing)`,
        shards,
      )
    }
    const size = commonSize(shards, 'shards')
    if (wanted !== undefined) {
      if (!Array.isArray(wanted))
        throw new InvalidParameterError('wanted', 'an array of shard indices', wanted)
      wanted.forEach((index, i) => {
        if (!Number.isInteger(index) || index < 0 || index >= n) {
          throw new InvalidParameterError(`wanted[${i}]`, `a shard index from 0 to ${n - 1}`, index)
        }
      })
    }
    const present = shards.map((shard) => shard !== undefined)
    const targets: number[] = []
    for (let i = 0; i < n; i++) {
      if (!present[i] && (wanted === undefined || wanted.includes(i))) targets.push(i)
    }
    if (targets.length === 0) return
    const available = present.filter(Boolean).length
    if (available < k) throw new NotEnoughShardsError({ available, needed: k, total: n })
    if (buffers !== undefined) {
      if (!Array.isArray(buffers) || buffers.length !== n) {
        throw new InvalidParameterError(
          'buffers',
          `an array of ${n} entries (a Uint8Array, or undefined)`,
          buffers,
        )
      }
      // only the buffers of shards being rebuilt matter
      checkBuffers(
        buffers.map((buffer, i) => (targets.includes(i) ? buffer : undefined)),
        'buffers',
        size,
        shards,
      )
    }

    const key = `${present.map(Number).join('')}:${targets.join(',')}`
    let plan = plans.get(key)
    if (plan === undefined) {
      plan = planCoding(k, parityRows, present, targets)
      if (plans.size >= PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value as string)
      plans.set(key, plan)
    }
    for (const target of targets) shards[target] = buffers?.[target] ?? new Uint8Array(size)
    run(plan, shards, size)
  }

  return { k, m, kernel, encode, reconstruct }
}

/**
 * Output buffers must be Uint8Arrays of the shards' size that share no byte with each other or
 * with the `inputs` (overlapping memory would be read after being overwritten).
 */
function checkBuffers(
  buffers: readonly (Uint8Array | undefined)[],
  field: string,
  size: number,
  inputs: readonly (Uint8Array | undefined)[],
): void {
  buffers.forEach((buffer, i) => {
    if (buffer === undefined && field === 'buffers') return
    if (!(buffer instanceof Uint8Array) || buffer.length !== size) {
      throw new InvalidParameterError(`${field}[${i}]`, `a Uint8Array of ${size} bytes`, buffer)
    }
    const clash = [...inputs, ...buffers.slice(0, i)].some(
      (other) => other !== undefined && overlaps(buffer, other),
    )
    if (clash && size > 0) {
      throw new InvalidParameterError(
        `${field}[${i}]`,
        'a buffer sharing no memory with the shards or the other buffers',
        buffer,
      )
    }
  })
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  )
}

/** The length every present shard shares (0 when none is present); throws on anything else. */
function commonSize(shards: readonly (Uint8Array | undefined)[], field: string): number {
  let size: number | undefined
  for (let i = 0; i < shards.length; i++) {
    const shard = shards[i]
    if (shard === undefined && field === 'shards') continue
    if (!(shard instanceof Uint8Array)) {
      throw new InvalidParameterError(
        `${field}[${i}]`,
        field === 'shards' ? 'a Uint8Array, or undefined when missing' : 'a Uint8Array',
        shard,
      )
    }
    if (size === undefined) size = shard.length
    else if (shard.length !== size) {
      throw new ShardSizeMismatchError({ index: i, size: shard.length, expected: size })
    }
  }
  return size ?? 0
}
