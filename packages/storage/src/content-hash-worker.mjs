// @ts-check
// The worker thread of `createContentHasher` (src/content-hash.ts): one sha256 over the bytes the
// calling thread copies into a shared ring of slots, taken in the order the slots are posted.
//
// Plain JavaScript, loaded by path as src/piece-root-worker.mjs is (bundles of the SDK find it
// through the package's name).
//
// workerData: { ring: SharedArrayBuffer, slotSize }. Messages in: { slot, length } (the bytes at
// `slot * slotSize`), or { digest: true }. Out: { ready: true } once listening, { free: slot } once
// a slot's bytes are hashed, { digest: ArrayBuffer } (32 bytes; the hash then starts again).
import { createHash } from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const { ring, slotSize } = /** @type {{ ring: SharedArrayBuffer, slotSize: number }} */ (workerData)
const bytes = new Uint8Array(ring)
let hash = createHash('sha256')

port.on('message', (/** @type {{ slot: number, length: number } | { digest: true }} */ message) => {
  if ('digest' in message) {
    const digest = new Uint8Array(hash.digest())
    hash = createHash('sha256')
    port.postMessage({ digest: digest.buffer }, [digest.buffer])
    return
  }
  const at = message.slot * slotSize
  hash.update(bytes.subarray(at, at + message.length))
  port.postMessage({ free: message.slot })
})
port.postMessage({ ready: true })
