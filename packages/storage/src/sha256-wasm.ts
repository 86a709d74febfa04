import { hash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { storageAssetPath } from './assets.ts'

/**
 * Batches of the two SHA-256 messages the shard Merkle trees hash (src/merkle.ts):
 * `sha256(0x00 || leaf512)` and `sha256(0x01 || left32 || right32)`. The WASM kernel
 * (assembly/sha256-kernel.ts, committed as build/sha256-kernel.wasm) hashes four messages at once
 * in the lanes of 128-bit SIMD vectors; where the engine has no WebAssembly SIMD, each message is
 * one `crypto.hash` call, as the trees were built before the kernel.
 */

/** Which implementation hashes the batches. */
export type Sha256BatchName = 'wasm-simd' | 'node-crypto'

export type Sha256Batch = {
  name: Sha256BatchName
  /**
   * Writes `sha256(0x00 || leaf)` for each 512-byte leaf of `leaves` (whose length must be a
   * multiple of 512) to `out`, 32 bytes each, from `outOffset` on.
   */
  hashLeaves(leaves: Uint8Array, out: Uint8Array, outOffset?: number): void
  /**
   * Writes `sha256(0x01 || left || right)` for each 64-byte pair of 32-byte nodes of `nodes`
   * (whose length must be a multiple of 64) to `out`, 32 bytes each, from `outOffset` on.
   */
  hashPairs(nodes: Uint8Array, out: Uint8Array, outOffset?: number): void
}

const LEAF_BYTES = 512
const PAIR_BYTES = 64
const DIGEST_BYTES = 32

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
  hashLeaves: (inPtr: number, count: number, outPtr: number) => void
  hashPairs: (inPtr: number, count: number, outPtr: number) => void
}

/**
 * Input bytes per kernel call: messages are copied into WASM memory this much at a time, which
 * bounds the module's memory (under half a MiB) whatever the callers pass, and keeps the input in
 * a core's L2 cache between the copy and the hashing.
 */
const INPUT_BYTES = 256 * 1024

/** A plain view of part of `bytes` (`subarray` of a Node Buffer would build a Buffer, which costs more). */
function view(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length)
}

function checkBatch(bytes: Uint8Array, messageBytes: number, out: Uint8Array, outOffset: number): number {
  if (!(bytes instanceof Uint8Array) || bytes.length % messageBytes !== 0) {
    throw new RangeError(`expected a Uint8Array whose length is a multiple of ${messageBytes}`)
  }
  const count = bytes.length / messageBytes
  if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + count * DIGEST_BYTES > out.length) {
    throw new RangeError(`expected room for ${count} digests in the output from offset ${outOffset}`)
  }
  return count
}

const leafMessage = new Uint8Array(1 + LEAF_BYTES)
const pairMessage = Uint8Array.of(1, ...new Uint8Array(PAIR_BYTES))

/** One leaf hash by node:crypto: the per-call cost makes it the slow path, but the exact one. */
function nodeHashLeaf(leaf: Uint8Array, out: Uint8Array, outOffset: number): void {
  leafMessage.set(leaf, 1)
  out.set(hash('sha256', leafMessage, 'buffer'), outOffset)
}

let nodeBatch: Sha256Batch | undefined

/** The batch functions by one `crypto.hash` call per message (what runs without WebAssembly SIMD). */
export function nodeSha256Batch(): Sha256Batch {
  nodeBatch ??= {
    name: 'node-crypto',
    hashLeaves(leaves, out, outOffset = 0) {
      const count = checkBatch(leaves, LEAF_BYTES, out, outOffset)
      for (let i = 0; i < count; i++) {
        nodeHashLeaf(view(leaves, i * LEAF_BYTES, LEAF_BYTES), out, outOffset + i * DIGEST_BYTES)
      }
    },
    hashPairs(nodes, out, outOffset = 0) {
      const count = checkBatch(nodes, PAIR_BYTES, out, outOffset)
      for (let i = 0; i < count; i++) {
        pairMessage.set(view(nodes, i * PAIR_BYTES, PAIR_BYTES), 1)
        out.set(hash('sha256', pairMessage, 'buffer'), outOffset + i * DIGEST_BYTES)
      }
    },
  }
  return nodeBatch
}

let wasmModule: object | null | undefined
let wasmBatch: Sha256Batch | null | undefined

/**
 * The compiled kernel (a `WebAssembly.Module`, which worker threads can be given), or null where the
 * engine has no WebAssembly SIMD. Compiled once.
 */
export function wasmSha256Module(): object | null {
  if (wasmModule !== undefined) return wasmModule
  wasmModule = null
  if (webAssembly === undefined) return wasmModule
  // Found through the package's name, so that a bundle (the built provider daemon) finds it too.
  const bytes = readFileSync(storageAssetPath('sha256-kernel.wasm'))
  // An engine without SIMD does not validate the module (it uses v128 throughout).
  if (!webAssembly.validate(bytes)) return wasmModule
  wasmModule = new webAssembly.Module(bytes)
  return wasmModule
}

/** The WASM kernel's batch functions, or null where the engine has no WebAssembly SIMD. Loaded once. */
export function wasmSha256Batch(): Sha256Batch | null {
  if (wasmBatch !== undefined) return wasmBatch
  const module = wasmSha256Module()
  wasmBatch =
    module === null
      ? null
      : createWasmBatch(
          new (webAssembly as WebAssemblyApi).Instance(module, {}).exports as unknown as KernelExports,
        )
  return wasmBatch
}

/** Whether the WASM kernel runs here (WebAssembly with SIMD). */
export function hasWasmSha256(): boolean {
  return wasmSha256Batch() !== null
}

/** The fastest batch functions this engine has: the WASM kernel, else node:crypto. */
export function loadSha256Batch(): Sha256Batch {
  return wasmSha256Batch() ?? nodeSha256Batch()
}

function createWasmBatch(exports: KernelExports): Sha256Batch {
  const { memory } = exports
  // The kernel reads one byte before the first message (then replaces it by the prefix), so the
  // input starts a little after the base.
  const inputAt = exports.scratchBase() + 64
  const outputAt = inputAt + INPUT_BYTES
  const end = outputAt + INPUT_BYTES / 2
  const missing = end - memory.buffer.byteLength
  if (missing > 0) memory.grow(Math.ceil(missing / 65536))
  const heap = new Uint8Array(memory.buffer)

  function run(
    kernel: (inPtr: number, count: number, outPtr: number) => void,
    messageBytes: number,
    input: Uint8Array,
    count: number,
    out: Uint8Array,
    outOffset: number,
  ): void {
    const perCall = INPUT_BYTES / messageBytes
    for (let done = 0; done < count; done += perCall) {
      const n = Math.min(perCall, count - done)
      heap.set(view(input, done * messageBytes, n * messageBytes), inputAt)
      kernel(inputAt, n, outputAt)
      out.set(heap.subarray(outputAt, outputAt + n * DIGEST_BYTES), outOffset + done * DIGEST_BYTES)
    }
  }

  return {
    name: 'wasm-simd',
    hashLeaves(leaves, out, outOffset = 0) {
      const count = checkBatch(leaves, LEAF_BYTES, out, outOffset)
      // The kernel hashes four leaves in the time of four, however many of its lanes are in use:
      // a last lone leaf costs less by node:crypto.
      const lone = count % 4 === 1 ? 1 : 0
      run(exports.hashLeaves, LEAF_BYTES, leaves, count - lone, out, outOffset)
      if (lone) {
        nodeHashLeaf(
          view(leaves, (count - 1) * LEAF_BYTES, LEAF_BYTES),
          out,
          outOffset + (count - 1) * DIGEST_BYTES,
        )
      }
    },
    hashPairs(nodes, out, outOffset = 0) {
      const count = checkBatch(nodes, PAIR_BYTES, out, outOffset)
      run(exports.hashPairs, PAIR_BYTES, nodes, count, out, outOffset)
    },
  }
}
