import { addScaledRow, invertMatrix, multiplyMatrices } from './matrix.ts'

/** The most products one pass computes; the WASM kernel has one entry point per count 0..4. */
export const MAX_PASS_PRODUCTS = 4

/**
 * One pass over the sources. It computes `rows.length` outputs as products (output `targets[r]`
 * = Σ rows[r][i] · source i) and, optionally, one output by XOR alone: the XOR of the first
 * `xor.sources` sources and of the first `xor.products` products of this pass.
 */
export type CodingPass = {
  rows: Uint8Array[]
  targets: number[]
  xor: { target: number; sources: number; products: number } | undefined
}

/** How to compute some shards from others: which shards to read (in order), and the passes. */
export type CodingPlan = {
  sources: number[]
  passes: CodingPass[]
}

/**
 * Plans how to compute the shards `targets` (missing ones, sorted) from the shards marked
 * `present`, for the code with parity rows `parity` (see `parityMatrix`). The caller has checked
 * that at least k shards are present.
 *
 * Sources: every present data shard, then parity 0, then the other parities, k in all. With R
 * the data sources, Q the parity sources and M the missing data shards (|Q| = |M|), the parity
 * equations restricted to Q give P_Q = A · D_M + B · D_R with A = P[Q][M] (invertible, the code
 * being MDS) and B = P[Q][R], so D_M = A⁻¹ · P_Q + A⁻¹B · D_R. A parity target j is
 * P[j][M] · D_M + P[j][R] · D_R. Every target is thus one row of coefficients over the sources,
 * and the work is inverting |M| × |M|, never k × k.
 *
 * Parity 0 is the XOR of the data, which gives one output per plan for the price of XORs:
 * - parity 0 as a target, with every missing data shard rebuilt in the same pass: P0 = XOR of
 *   the data sources and of those products (when no data is missing, that is plain encoding);
 * - parity 0 as a source, with every missing data shard wanted: the last one is P0 XOR the data
 *   sources XOR the other rebuilt ones.
 */
export function planCoding(
  k: number,
  parity: readonly Uint8Array[],
  present: readonly boolean[],
  targets: readonly number[],
): CodingPlan {
  const m = parity.length
  const dataSources: number[] = []
  const missingData: number[] = []
  for (let i = 0; i < k; i++) (present[i] ? dataSources : missingData).push(i)
  const paritySources: number[] = []
  for (let j = 0; j < m && paritySources.length < missingData.length; j++) {
    if (present[k + j]) paritySources.push(k + j)
  }
  if (paritySources.length < missingData.length) throw new RangeError('planCoding needs k present shards')
  const sources = [...dataSources, ...paritySources]
  const r = dataSources.length

  // D_M = A⁻¹ · P_Q + A⁻¹B · D_R: row t of `missingRows` gives data shard missingData[t] over the sources.
  const parityRowOf = (shard: number) => parity[shard - k] as Uint8Array
  const aInverse = invertMatrix(
    paritySources.map((q) => Uint8Array.from(missingData, (i) => parityRowOf(q)[i] as number)),
  )
  const aInverseB = multiplyMatrices(
    aInverse,
    paritySources.map((q) => Uint8Array.from(dataSources, (i) => parityRowOf(q)[i] as number)),
  )
  const missingRows = missingData.map((_, t) => {
    const row = new Uint8Array(k)
    row.set(aInverseB[t] as Uint8Array, 0)
    row.set(aInverse[t] as Uint8Array, r)
    return row
  })

  const rowOf = (target: number): Uint8Array => {
    if (target < k) return missingRows[missingData.indexOf(target)] as Uint8Array
    const p = parityRowOf(target)
    const row = new Uint8Array(k)
    dataSources.forEach((i, s) => {
      row[s] = p[i] as number
    })
    missingData.forEach((i, t) => {
      addScaledRow(row, missingRows[t] as Uint8Array, p[i] as number)
    })
    return row
  }

  const remaining = [...targets]
  const passes: CodingPass[] = []
  const allMissingWanted = missingData.every((i) => targets.includes(i))
  const parityZero = k
  // The shortcuts hold only while parity 0 is the plain XOR of the data (as parityMatrix makes it).
  const parityZeroIsXor = parity[0]?.every((coefficient) => coefficient === 1) ?? false
  if (
    parityZeroIsXor &&
    remaining.includes(parityZero) &&
    allMissingWanted &&
    missingData.length <= MAX_PASS_PRODUCTS
  ) {
    // P0 = XOR(data sources) ^ XOR(rebuilt data), the rebuilt data being this pass's first products
    take(remaining, parityZero)
    for (const i of missingData) take(remaining, i)
    passes.push({
      rows: missingData.map(rowOf),
      targets: [...missingData],
      xor: { target: parityZero, sources: r, products: missingData.length },
    })
  } else if (parityZeroIsXor && sources.includes(parityZero) && missingData.length > 0 && allMissingWanted) {
    if (missingData.length - 1 <= MAX_PASS_PRODUCTS) {
      // last missing = P0 ^ XOR(data sources) ^ XOR(the other rebuilt data); P0 is source r
      const last = missingData[missingData.length - 1] as number
      const others = missingData.slice(0, -1)
      for (const i of missingData) take(remaining, i)
      passes.push({
        rows: others.map(rowOf),
        targets: others,
        xor: { target: last, sources: r + 1, products: others.length },
      })
    }
  }
  // Fill the first pass, then more passes, with plain products.
  let current = passes[0]
  for (const target of remaining) {
    if (current === undefined || current.rows.length === MAX_PASS_PRODUCTS) {
      current = { rows: [], targets: [], xor: undefined }
      passes.push(current)
    }
    current.rows.push(rowOf(target))
    current.targets.push(target)
  }
  return { sources, passes }
}

function take(list: number[], value: number): void {
  const index = list.indexOf(value)
  if (index >= 0) list.splice(index, 1)
}
