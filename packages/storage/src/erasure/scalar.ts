import { gfMultiplyRow } from './gf256.ts'
import type { CodingPlan } from './plan.ts'

const multiplyRows: (Uint8Array | undefined)[] = []

/**
 * Runs a coding plan in plain TypeScript, one byte at a time through a 256-entry product row:
 * the reference the WASM kernel is checked against, and the fallback for engines without
 * WebAssembly SIMD. `shards` holds every source and a buffer of `size` bytes for every target.
 */
export function runPlanScalar(plan: CodingPlan, shards: readonly (Uint8Array | undefined)[]): void {
  const sources = plan.sources.map((index) => shards[index] as Uint8Array)
  for (const pass of plan.passes) {
    pass.rows.forEach((row, r) => {
      const output = shards[pass.targets[r] as number] as Uint8Array
      output.fill(0)
      row.forEach((coefficient, s) => {
        multiplyAdd(output, sources[s] as Uint8Array, coefficient)
      })
    })
    if (pass.xor !== undefined) {
      const output = shards[pass.xor.target] as Uint8Array
      output.fill(0)
      for (let s = 0; s < pass.xor.sources; s++) multiplyAdd(output, sources[s] as Uint8Array, 1)
      for (let p = 0; p < pass.xor.products; p++) {
        multiplyAdd(output, shards[pass.targets[p] as number] as Uint8Array, 1)
      }
    }
  }
}

/** output ^= coefficient · source, byte by byte. */
function multiplyAdd(output: Uint8Array, source: Uint8Array, coefficient: number): void {
  const length = output.length
  if (coefficient === 0) return
  if (coefficient === 1) {
    for (let i = 0; i < length; i++) output[i] = (output[i] as number) ^ (source[i] as number)
    return
  }
  let products = multiplyRows[coefficient]
  if (products === undefined) {
    products = gfMultiplyRow(coefficient)
    multiplyRows[coefficient] = products
  }
  for (let i = 0; i < length; i++) {
    output[i] = (output[i] as number) ^ (products[source[i] as number] as number)
  }
}
