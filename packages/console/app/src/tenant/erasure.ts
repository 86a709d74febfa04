import { addScaledRow, invertMatrix, parityMatrix } from '@stoa/storage/browser'

/**
 * Reed-Solomon decoding for the object index, in the browser: rebuilds the k data pieces of one
 * segment from any k of its pieces with @stoa/storage's own matrices (its browser entry: no
 * node: modules, no WASM kernel; plain byte loops are enough for an index of a few KiB).
 */
export function decodeDataPieces(k: number, pieces: ReadonlyMap<number, Uint8Array>): Uint8Array[] {
  const chosen = [...pieces.keys()].sort((a, b) => a - b).slice(0, k)
  if (chosen.length < k) throw new RangeError(`need ${k} pieces, have ${chosen.length}`)
  if (chosen.every((index, position) => index === position))
    return chosen.map((index) => pieces.get(index) as Uint8Array)
  const parity = parityMatrix(k, Math.max(...chosen) - k + 1)
  const generator = chosen.map((index) => {
    if (index >= k) return parity[index - k] as Uint8Array
    const row = new Uint8Array(k)
    row[index] = 1
    return row
  })
  const decoder = invertMatrix(generator)
  const size = pieces.get(chosen[0] as number)?.length ?? 0
  return decoder.map((row) => {
    const output = new Uint8Array(size)
    row.forEach((coefficient, s) => {
      if (coefficient !== 0) addScaledRow(output, pieces.get(chosen[s] as number) as Uint8Array, coefficient)
    })
    return output
  })
}
