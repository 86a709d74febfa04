// @ts-check
// The worker thread of `createPieceRootHasher` (src/piece-roots.ts): the Merkle root of each piece
// posted to it, by the tree rules of src/merkle.ts (sha256, 512-byte leaves, `0x00 || leaf`,
// `0x01 || left || right`, an odd node out at the end of a level promoted unchanged).
//
// Plain JavaScript, loaded by path: bundles of the SDK (the CLI, the provider daemon) find it
// through the package's name, as they find the WASM kernels, and it needs no TypeScript loader.
// It takes the compiled SHA-256 kernel (build/sha256-kernel.wasm) as a WebAssembly.Module in
// `workerData.kernel`, or null where the engine has no WebAssembly SIMD: then each message is one
// `crypto.hash` call, as in src/sha256-wasm.ts. test/piece-roots.test.ts checks its roots against
// `merkleRoot` for trees of every shape.
//
// Messages in: { id, buffer: ArrayBuffer, length } with `length` a positive multiple of 512 (the
// buffer transferred). Out: { id, root: ArrayBuffer (32 bytes), buffer } (the buffer transferred
// back for reuse), or { id, error, buffer }.
import { hash } from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'

const LEAF = 512
const PAIR = 64
const NODE = 32
/** Input bytes per kernel call, as src/sha256-wasm.ts copies them into WASM memory. */
const INPUT = 256 * 1024

/** @typedef {(inPtr: number, count: number, outPtr: number) => void} Kernel */

/**
 * @returns {{ leaves(input: Uint8Array, count: number, out: Uint8Array): void,
 *             pairs(input: Uint8Array, count: number, out: Uint8Array): void }}
 */
function loadBatch() {
  const module = workerData?.kernel
  if (module) {
    const exports =
      /** @type {{ memory: WebAssembly.Memory, scratchBase(): number, hashLeaves: Kernel, hashPairs: Kernel }} */ (
        new WebAssembly.Instance(module, {}).exports
      )
    // The kernel reads one byte before the first message (then writes the prefix there).
    const inputAt = exports.scratchBase() + 64
    const outputAt = inputAt + INPUT
    const missing = outputAt + INPUT / 2 - exports.memory.buffer.byteLength
    if (missing > 0) exports.memory.grow(Math.ceil(missing / 65536))
    const heap = new Uint8Array(exports.memory.buffer)
    /** @param {Kernel} kernel @param {number} size */
    const run =
      (kernel, size) =>
      (/** @type {Uint8Array} */ input, /** @type {number} */ count, /** @type {Uint8Array} */ out) => {
        const perCall = INPUT / size
        for (let done = 0; done < count; done += perCall) {
          const n = Math.min(perCall, count - done)
          heap.set(input.subarray(done * size, (done + n) * size), inputAt)
          kernel(inputAt, n, outputAt)
          out.set(heap.subarray(outputAt, outputAt + n * NODE), done * NODE)
        }
      }
    return { leaves: run(exports.hashLeaves, LEAF), pairs: run(exports.hashPairs, PAIR) }
  }
  /** @param {number} prefix @param {number} size */
  const one = (prefix, size) => {
    const message = new Uint8Array(1 + size)
    message[0] = prefix
    return (/** @type {Uint8Array} */ input, /** @type {number} */ count, /** @type {Uint8Array} */ out) => {
      for (let i = 0; i < count; i++) {
        message.set(input.subarray(i * size, (i + 1) * size), 1)
        out.set(hash('sha256', message, 'buffer'), i * NODE)
      }
    }
  }
  return { leaves: one(0, LEAF), pairs: one(1, PAIR) }
}

const batch = loadBatch()
/** @type {Uint8Array | undefined} */
let level

/** @param {Uint8Array} bytes */
function rootOf(bytes) {
  let count = bytes.length / LEAF
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`a piece of ${bytes.length} bytes`)
  if (level === undefined || level.length < count * NODE) level = new Uint8Array(count * NODE)
  batch.leaves(bytes, count, level)
  // Each level in place: a pair's parent lands at or below the pair itself.
  while (count > 1) {
    const pairs = Math.floor(count / 2)
    batch.pairs(level.subarray(0, pairs * PAIR), pairs, level)
    if (count % 2 === 1) level.copyWithin(pairs * NODE, (count - 1) * NODE, count * NODE)
    count = Math.ceil(count / 2)
  }
  return level.slice(0, NODE).buffer
}

const port = parentPort
if (port === null) throw new Error('piece-root-worker.mjs runs as a worker thread')
port.on('message', (/** @type {{ id: number, buffer: ArrayBuffer, length: number }} */ job) => {
  try {
    const root = rootOf(new Uint8Array(job.buffer, 0, job.length))
    port.postMessage({ id: job.id, root, buffer: job.buffer }, [root, job.buffer])
  } catch (error) {
    port.postMessage({ id: job.id, error: String(error), buffer: job.buffer }, [job.buffer])
  }
})
