import { gfInverse, gfMultiply } from './gf256.ts'

/**
 * The parity rows P (m rows of k coefficients) of the systematic generator [I; P]: shard i < k is
 * data shard i, shard k + j is parity j = Σ P[j][i] · data[i].
 *
 * P is a Cauchy matrix, C[j][i] = 1 / (x_j + y_i) over distinct field elements (k + m ≤ 256 of
 * them), with its rows and columns scaled. Every square submatrix of a Cauchy matrix is
 * invertible, and scaling rows and columns by nonzero constants keeps that, so any k rows of
 * [I; P] are invertible: the code is MDS, any k of the n shards rebuild the rest. (A Vandermonde
 * matrix stacked under I is not MDS in general; it needs the V · V_top⁻¹ step. Cauchy is MDS as
 * it stands, whatever the points.)
 *
 * The points and scales are chosen so that the first two rows are cheap to compute:
 * - row 0 is all ones (x_0 = 0, columns scaled by y_i): parity 0 is the XOR of the data;
 * - row 1 is 2^(k-1), …, 4, 2, 1 (x_1 = 1, and y_i = u_i / (1 + u_i) so that
 *   (x_0 + y_i) / (x_1 + y_i) = u_i = 2^(k-i), row scaled by 1/2): parity 1 is Horner's rule,
 *   Q = (…((D_0 · 2 + D_1) · 2 + D_2)…) · 2 + D_{k-1}, a multiply-by-2 and an XOR per shard. For
 *   m = 2 this is RAID-6's P and Q, with the data in reverse order;
 * - rows j ≥ 2 take the smallest unused elements as x_j and are scaled so that column 0 is all
 *   ones: data shard 0 enters them as itself.
 */
export function parityMatrix(k: number, m: number): Uint8Array[] {
  const rows: Uint8Array[] = [new Uint8Array(k).fill(1)]
  if (m === 1) return rows
  // u_i = 2^(k-i) for i < k ≤ 254: exponents 1..254, so u_i ≠ 1 and the y_i are distinct and ∉ {0, 1}.
  const y = Array.from({ length: k }, (_, i) => {
    const u = gfPower2(k - i)
    return gfMultiply(u, gfInverse(1 ^ u))
  })
  const halve = gfInverse(2)
  rows.push(Uint8Array.from(y, (yi) => gfMultiply(halve, gfMultiply(yi, gfInverse(1 ^ yi)))))
  const used = new Set([0, 1, ...y])
  let x = 2
  for (let j = 2; j < m; j++) {
    while (used.has(x)) x++
    used.add(x)
    // P[j][i] = C[j][i] · y_i · (x_j + y_0) / y_0, so that P[j][0] = 1
    const rowScale = gfMultiply(x ^ (y[0] as number), gfInverse(y[0] as number))
    const xj = x
    rows.push(Uint8Array.from(y, (yi) => gfMultiply(gfMultiply(gfInverse(xj ^ yi), yi), rowScale)))
  }
  return rows
}

/** 2^e in GF(2^8). */
function gfPower2(exponent: number): number {
  let value = 1
  for (let e = 0; e < exponent; e++) value = gfMultiply(value, 2)
  return value
}

/** The inverse of a square matrix over GF(2^8) by Gauss-Jordan elimination; throws when singular. */
export function invertMatrix(matrix: readonly Uint8Array[]): Uint8Array[] {
  const size = matrix.length
  const work = matrix.map((row) => {
    if (row.length !== size) throw new RangeError('invertMatrix needs a square matrix')
    return Uint8Array.from(row)
  })
  const inverse = Array.from({ length: size }, (_, r) => {
    const row = new Uint8Array(size)
    row[r] = 1
    return row
  })
  for (let column = 0; column < size; column++) {
    let pivot = column
    while (pivot < size && (work[pivot] as Uint8Array)[column] === 0) pivot++
    if (pivot === size) throw new RangeError('the matrix is singular')
    if (pivot !== column) {
      swap(work, pivot, column)
      swap(inverse, pivot, column)
    }
    const pivotRow = work[column] as Uint8Array
    const pivotInverse = inverse[column] as Uint8Array
    const scale = gfInverse(pivotRow[column] as number)
    scaleRow(pivotRow, scale)
    scaleRow(pivotInverse, scale)
    for (let r = 0; r < size; r++) {
      const row = work[r] as Uint8Array
      const factor = row[column] as number
      if (r === column || factor === 0) continue
      addScaledRow(row, pivotRow, factor)
      addScaledRow(inverse[r] as Uint8Array, pivotInverse, factor)
    }
  }
  return inverse
}

/** a × b for an r × s matrix a and an s × t matrix b. */
export function multiplyMatrices(a: readonly Uint8Array[], b: readonly Uint8Array[]): Uint8Array[] {
  const columns = b[0]?.length ?? 0
  return a.map((row) => {
    const product = new Uint8Array(columns)
    row.forEach((coefficient, s) => {
      if (coefficient !== 0) addScaledRow(product, b[s] as Uint8Array, coefficient)
    })
    return product
  })
}

/** target += factor · source, element by element. */
export function addScaledRow(target: Uint8Array, source: Uint8Array, factor: number): void {
  for (let i = 0; i < target.length; i++) {
    target[i] = (target[i] as number) ^ gfMultiply(factor, source[i] as number)
  }
}

function scaleRow(row: Uint8Array, factor: number): void {
  for (let i = 0; i < row.length; i++) row[i] = gfMultiply(factor, row[i] as number)
}

function swap(rows: Uint8Array[], a: number, b: number): void {
  const saved = rows[a] as Uint8Array
  rows[a] = rows[b] as Uint8Array
  rows[b] = saved
}
