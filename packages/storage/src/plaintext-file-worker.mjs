// @ts-check
// The worker thread of `createPlaintextFileWriter` (src/plaintext-file.ts): decrypts one segment
// at a time, reading its ciphertext in place from piece buffers shared with the calling thread, and
// writes the plaintext at its place in the output file once the GCM tag checks out.
//
// Plain JavaScript, loaded by path as src/content-hash-worker.mjs is (bundles of the SDK find it
// through the package's name).
//
// workerData: { fd } (a file descriptor open for writing; the calling thread closes it).
// Messages in:
//   { buffer: id, shared: SharedArrayBuffer }   a piece buffer, registered once, read in place later
//   { seq, key, nonce, aad, tag, spans, position }   decrypt the ciphertext the spans give, in order:
//       each { buffer: id, end } (bytes 0..end of a registered buffer) or { bytes: Uint8Array } (a copy)
// Out: { ready: true } once listening; { seq, written } once a segment's plaintext is in the file;
// { seq, error: { message, code, authentication } } when it failed (then nothing of it was written).
import { createDecipheriv } from 'node:crypto'
import { writeSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * Bytes decrypted per decipher call, and so written per write call. Small on purpose; measured on
 * a 2-core VM, 1 GiB downloads: larger writes fill the page cache with large folios, taken from
 * memory the VM's host must first back (system time per GiB written: 0.41 s in 64 KiB writes,
 * 0.94 s in 1 MiB ones, 2.3 s in 4 MiB ones, 1.8 to 4.1 s as one writev of a segment's 1 MiB parts),
 * and 1 MiB decipher outputs are each a fresh mapping (a page fault per 4 KiB). Of 16, 64, 128 and
 * 256 KiB, 128 KiB gave the fewest page faults and the fastest downloads, by a little.
 */
const STEP = 128 * 1024

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const { fd } = /** @type {{ fd: number }} */ (workerData)
/** @type {Map<number, Uint8Array>} */
const buffers = new Map()

/**
 * @typedef {{ buffer: number, end: number } | { bytes: Uint8Array }} Span
 * @typedef {{ seq: number, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, tag: Uint8Array, spans: Span[], position: number }} Job
 */

port.on('message', (/** @type {{ buffer: number, shared: SharedArrayBuffer } | Job} */ message) => {
  if ('shared' in message) {
    buffers.set(message.buffer, new Uint8Array(message.shared))
    return
  }
  const { seq } = message
  /** @type {Buffer[]} */
  const parts = []
  try {
    const decipher = createDecipheriv('aes-256-gcm', message.key, message.nonce)
    decipher.setAuthTag(message.tag)
    decipher.setAAD(message.aad)
    for (const span of message.spans) {
      const bytes = 'bytes' in span ? span.bytes : buffers.get(span.buffer)?.subarray(0, span.end)
      if (!bytes) throw new Error(`no piece buffer ${/** @type {{ buffer: number }} */ (span).buffer}`)
      for (let at = 0; at < bytes.length; at += STEP) {
        const out = decipher.update(bytes.subarray(at, Math.min(at + STEP, bytes.length)))
        if (out.length > 0) parts.push(out)
      }
    }
    const rest = decipher.final()
    if (rest.length > 0) parts.push(rest)
  } catch (error) {
    for (const part of parts) part.fill(0)
    port.postMessage({ seq, error: { message: /** @type {Error} */ (error).message, authentication: true } })
    return
  } finally {
    message.key.fill(0)
  }
  try {
    let position = message.position
    for (const part of parts) {
      // A short write (a full disk) goes on from where it stopped, until it is all written or throws.
      for (let at = 0; at < part.length; ) {
        const written = writeSync(fd, part, at, part.length - at, position)
        if (written === 0) throw Object.assign(new Error('the file took no more bytes'), { code: 'ENOSPC' })
        at += written
        position += written
      }
    }
    port.postMessage({ seq, written: position - message.position })
  } catch (error) {
    const { message: text, code } = /** @type {NodeJS.ErrnoException} */ (error)
    port.postMessage({ seq, error: { message: text, code, authentication: false } })
  }
})
port.postMessage({ ready: true })
