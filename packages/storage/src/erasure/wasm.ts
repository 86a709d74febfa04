import { readFileSync } from 'node:fs'
import { storageAssetPath } from '../assets.ts'
import { writeNibbleTables } from './gf256.ts'
import type { CodingPass, CodingPlan } from './plan.ts'

/** Which WASM build runs: relaxed SIMD where the engine has it, else plain SIMD. */
export type WasmKernelName = 'wasm-relaxed-simd' | 'wasm-simd'

type DotProduct = (
  src: number,
  sources: number,
  xorSources: number,
  tables: number,
  dst: number,
  xorDst: number,
  xorProducts: number,
  hornerDst: number,
  unitFirst: number,
  stride: number,
  length: number,
) => void

/**
 * The part of the WebAssembly JS API used here: the project's `lib` (ES2023, no DOM) does not
 * declare it.
 */
type WasmMemory = { readonly buffer: ArrayBuffer; grow(pages: number): number }
type WebAssemblyApi = {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
const webAssembly = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly

type KernelExports = {
  memory: WasmMemory
  scratchBase: () => number
  dotProduct0: DotProduct
  dotProduct1: DotProduct
  dotProduct2: DotProduct
  dotProduct3: DotProduct
  dotProduct4: DotProduct
  hornerProduct0: DotProduct
  hornerProduct1: DotProduct
  hornerProduct2: DotProduct
  hornerProduct3: DotProduct
}

/**
 * Shards go through WASM memory a stripe at a time: a stripe of every source, then every pass's
 * outputs. The stripe is sized so that all slots together stay near this many bytes, which keeps
 * them in a core's L2 cache while the sources are read once per pass; memory therefore depends
 * on the number of shards, never on their size.
 */
const STRIPE_BUDGET = 512 * 1024
const MAX_STRIPE = 64 * 1024
const MIN_STRIPE = 1024
/** Slots are this much longer than a stripe so that they do not all map to the same cache sets. */
const SLOT_PADDING = 64
/** The kernel step: up to four 16-byte vectors. */
const KERNEL_STEP = 64

/** A loaded kernel: one instance, shared by every coder of this thread (calls are synchronous). */
export type WasmKernel = {
  name: WasmKernelName
  run(plan: CodingPlan, shards: readonly (Uint8Array | undefined)[], size: number): void
}

let cached: WasmKernel | null | undefined

/** The WASM kernel, or null when this engine has no WebAssembly SIMD. Loaded once. */
export function loadWasmKernel(): WasmKernel | null {
  if (cached !== undefined) return cached
  cached = null
  if (webAssembly === undefined) return cached
  for (const [name, file] of [
    ['wasm-relaxed-simd', 'erasure-kernel-relaxed.wasm'],
    ['wasm-simd', 'erasure-kernel.wasm'],
  ] as const) {
    const bytes = readFileSync(storageAssetPath(file))
    if (!webAssembly.validate(bytes)) continue
    const instance = new webAssembly.Instance(new webAssembly.Module(bytes), {})
    cached = createKernel(name, instance.exports as unknown as KernelExports)
    break
  }
  return cached
}

/** A pass as the kernel runs it: the Horner row (if any) taken out of the table products. */
type PreparedPass = {
  dotProduct: DotProduct
  /** Table products: their targets, in slot order 0..G-1. */
  productTargets: number[]
  /** Offset of this pass's nibble tables within the plan's table image. */
  tableOffset: number
  xor: { target: number; sources: number; products: number } | undefined
  horner: number | undefined
  unitFirst: number
}

type PreparedPlan = { tables: Uint8Array; passes: PreparedPass[]; slots: number }

/** powersOfTwo[e] = 2^e in GF(2^8). */
const powersOfTwo = Uint8Array.from({ length: 255 }, (_, e) => {
  let value = 1
  for (let i = 0; i < e; i++) value = value & 0x80 ? ((value << 1) ^ 0x11d) & 0xff : value << 1
  return value
})

/** Whether `row` is 2^(n-1), …, 2, 1: the Horner output computes it without tables. */
function isHornerRow(row: Uint8Array): boolean {
  return row.length <= 255 && row.every((coefficient, s) => coefficient === powersOfTwo[row.length - 1 - s])
}

function createKernel(name: WasmKernelName, exports: KernelExports): WasmKernel {
  const { memory } = exports
  const base = exports.scratchBase()
  const dotProducts = [
    exports.dotProduct0,
    exports.dotProduct1,
    exports.dotProduct2,
    exports.dotProduct3,
    exports.dotProduct4,
  ]
  const hornerProducts = [
    exports.hornerProduct0,
    exports.hornerProduct1,
    exports.hornerProduct2,
    exports.hornerProduct3,
  ]
  let heap = new Uint8Array(memory.buffer)
  const prepared = new WeakMap<CodingPlan, PreparedPlan>()

  function preparePass(pass: CodingPass, tableOffset: number): PreparedPass & { rows: Uint8Array[] } {
    // A row the XOR output does not include may go to the Horner output.
    const xorProducts = pass.xor?.products ?? 0
    const hornerIndex = pass.rows.findIndex((row, r) => r >= xorProducts && isHornerRow(row))
    const horner = hornerIndex >= 0 ? (pass.targets[hornerIndex] as number) : undefined
    const rows = pass.rows.filter((_, r) => r !== hornerIndex)
    const productTargets = pass.targets.filter((_, r) => r !== hornerIndex)
    const dotProduct = (horner === undefined ? dotProducts : hornerProducts)[rows.length]
    if (dotProduct === undefined) throw new RangeError(`no kernel for a pass of ${pass.rows.length} products`)
    // Every output starts from source 0 as it is when all its coefficients for source 0 are 1.
    const unitFirst = (rows.length > 0 || horner !== undefined) && rows.every((row) => row[0] === 1) ? 1 : 0
    return { dotProduct, productTargets, tableOffset, xor: pass.xor, horner, unitFirst, rows }
  }

  function prepare(plan: CodingPlan): PreparedPlan {
    let ready = prepared.get(plan)
    if (ready !== undefined) return ready
    const sources = plan.sources.length
    let tableBytes = 0
    const passes = plan.passes.map((pass) => {
      const kernelPass = preparePass(pass, tableBytes)
      tableBytes += sources * kernelPass.rows.length * 32
      return kernelPass
    })
    const tables = new Uint8Array(tableBytes)
    for (const { rows, tableOffset } of passes) {
      for (let s = 0; s < sources; s++) {
        rows.forEach((row, r) => {
          writeNibbleTables(row[s] as number, tables, tableOffset + (s * rows.length + r) * 32)
        })
      }
    }
    const slots = Math.max(
      ...passes.map(
        (pass) => pass.productTargets.length + (pass.xor ? 1 : 0) + (pass.horner === undefined ? 0 : 1),
      ),
    )
    ready = { tables, passes, slots }
    prepared.set(plan, ready)
    return ready
  }

  function ensureMemory(bytes: number): void {
    const missing = bytes - memory.buffer.byteLength
    if (missing > 0) memory.grow(Math.ceil(missing / 65536))
    if (heap.buffer !== memory.buffer) heap = new Uint8Array(memory.buffer)
  }

  function run(plan: CodingPlan, shards: readonly (Uint8Array | undefined)[], size: number): void {
    if (size === 0 || plan.passes.length === 0) return
    const { tables, passes, slots } = prepare(plan)
    const sourceCount = plan.sources.length
    const sources = plan.sources.map((index) => shards[index] as Uint8Array)

    const roundedSize = Math.ceil(size / KERNEL_STEP) * KERNEL_STEP
    const budgetStripe = Math.floor(STRIPE_BUDGET / (sourceCount + slots) / 64) * 64
    const stripe = Math.min(roundedSize, Math.max(MIN_STRIPE, Math.min(MAX_STRIPE, budgetStripe)))
    const slotStride = stripe + SLOT_PADDING
    const tablesAt = base
    const sourcesAt = tablesAt + Math.ceil(tables.length / 64) * 64
    const outputsAt = sourcesAt + sourceCount * slotStride
    ensureMemory(outputsAt + slots * slotStride)
    heap.set(tables, tablesAt)

    for (let offset = 0; offset < size; offset += stripe) {
      const length = Math.min(stripe, size - offset)
      const kernelLength = Math.ceil(length / KERNEL_STEP) * KERNEL_STEP
      for (let s = 0; s < sourceCount; s++) {
        const source = sources[s] as Uint8Array
        // A plain view: `subarray` of a Node Buffer would build a Buffer, which costs more.
        heap.set(
          new Uint8Array(source.buffer, source.byteOffset + offset, length),
          sourcesAt + s * slotStride,
        )
      }
      for (const { dotProduct, productTargets, tableOffset, xor, horner, unitFirst } of passes) {
        const products = productTargets.length
        const xorAt = xor ? outputsAt + products * slotStride : 0
        const hornerAt = horner === undefined ? 0 : outputsAt + (products + (xor ? 1 : 0)) * slotStride
        dotProduct(
          sourcesAt,
          sourceCount,
          xor?.sources ?? 0,
          tablesAt + tableOffset,
          outputsAt,
          xorAt,
          xor?.products ?? 0,
          hornerAt,
          unitFirst,
          slotStride,
          kernelLength,
        )
        for (let r = 0; r < products; r++) {
          const at = outputsAt + r * slotStride
          ;(shards[productTargets[r] as number] as Uint8Array).set(heap.subarray(at, at + length), offset)
        }
        if (xor) (shards[xor.target] as Uint8Array).set(heap.subarray(xorAt, xorAt + length), offset)
        if (horner !== undefined) {
          ;(shards[horner] as Uint8Array).set(heap.subarray(hornerAt, hornerAt + length), offset)
        }
      }
    }
  }

  return { name, run }
}
