import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { storageAssetPath } from './assets.ts'
import { segmentAad } from './crypto.ts'
import { type DecodeSegmentParameters, prepareSegment } from './decode.ts'
import { DecryptionFailedError, PlaintextWriterFailedError } from './errors.ts'

/**
 * Decrypts an object's segments into a file on a worker thread (src/plaintext-file-worker.mjs),
 * reading the ciphertext in place from piece buffers it shares with the calling thread.
 *
 * Why: Node's decipher returns every plaintext byte in a new buffer, 1 GiB of allocations per GiB
 * read. On the thread that runs the SDK (a heap of tens of MiB: viem, the clients) that memory made
 * V8 run a full garbage collection every segment or so, about 0.6 s per GiB; the worker's heap is a
 * few hundred KiB, so there those collections cost next to nothing. Decrypting and writing also
 * run beside the network reads instead of between them.
 *
 * Only `writeSegment` decrypts; taking the data pieces, rebuilding missing ones and unwrapping the
 * key happen on the calling thread (prepareSegment, as decodeSegment does).
 */
export type PlaintextFileWriter = {
  /**
   * Whether the worker started (false: it could not, and `writeSegment` would fail; decode on the
   * calling thread instead). Nothing is written before this resolves true.
   */
  ready(): Promise<boolean>
  /**
   * A buffer of `size` bytes in memory shared with the worker, which then reads pieces held in it
   * without a copy (read pieces into these). Other pieces are copied to the worker.
   */
  allocate(size: number): Uint8Array
  /**
   * Decrypts one segment from its pieces and writes its plaintext at `position` of the file;
   * resolves with the bytes written. Rejects with `DecryptionFailedError` when the pieces do not
   * authenticate (nothing of the segment is written), or with the file's error. Calls queue in
   * order; the pieces must not change until it settles.
   */
  writeSegment(parameters: WriteSegmentParameters): Promise<number>
  /** Stops the worker (writes not yet done reject). The file descriptor stays open. */
  close(): Promise<void>
}

export type WriteSegmentParameters = DecodeSegmentParameters & {
  /** Where the segment's plaintext starts in the file. */
  position: number
}

export type CreatePlaintextFileWriterParameters = {
  /** A file descriptor open for writing (positioned writes: `pwritev`). */
  fd: number
}

type Reply =
  | { ready: true }
  | { seq: number; written: number }
  | { seq: number; error: { message: string; code?: string; authentication: boolean } }

export function createPlaintextFileWriter(
  parameters: CreatePlaintextFileWriterParameters,
): PlaintextFileWriter {
  let worker: Worker | undefined
  try {
    worker = new Worker(join(storageAssetPath('..'), 'src', 'plaintext-file-worker.mjs'), {
      workerData: { fd: parameters.fd },
    })
  } catch {
    worker = undefined
  }
  let failure: Error | undefined
  let closed = false
  let resolveReady: (usable: boolean) => void = () => {}
  const ready = new Promise<boolean>((resolve) => {
    resolveReady = resolve
  })
  if (!worker) resolveReady(false)
  const pending = new Map<
    number,
    { resolve: (written: number) => void; reject: (error: unknown) => void; segmentIndex: number }
  >()
  let nextSeq = 0
  // Shared piece buffers the worker knows, by their memory.
  const registered = new WeakMap<SharedArrayBuffer, number>()
  let nextBuffer = 0

  const fail = (cause: unknown) => {
    if (failure) return
    failure = new PlaintextWriterFailedError({ cause })
    resolveReady(false)
    for (const { reject } of pending.values()) reject(failure)
    pending.clear()
  }
  if (worker) {
    const thread = worker
    thread.on('message', (message: Reply) => {
      if ('ready' in message) {
        resolveReady(true)
        return
      }
      const job = pending.get(message.seq)
      if (!job) return
      pending.delete(message.seq)
      // Idle: the worker no longer keeps the process alive.
      if (pending.size === 0) thread.unref()
      if ('written' in message) job.resolve(message.written)
      else if (message.error.authentication) {
        job.reject(
          new DecryptionFailedError({
            what: 'segment',
            segmentIndex: job.segmentIndex,
            cause: new Error(message.error.message),
          }),
        )
      } else {
        job.reject(Object.assign(new Error(message.error.message), { code: message.error.code }))
      }
    })
    thread.on('error', fail)
    thread.on('exit', (code) => {
      if (!closed) fail(new Error(`the decrypting thread exited with code ${code}`))
    })
    // Referenced only while a segment is on it (after the listeners: adding one references it).
    thread.unref()
  }

  /** `ready`, with the worker referenced meanwhile (its start is awaited). */
  const whenReady = async (): Promise<boolean> => {
    worker?.ref()
    const usable = await ready
    if (pending.size === 0) worker?.unref()
    return usable
  }

  return {
    ready: whenReady,

    allocate(size) {
      const shared = new SharedArrayBuffer(size)
      if (worker && !failure) {
        const id = nextBuffer++
        registered.set(shared, id)
        worker.postMessage({ buffer: id, shared })
      }
      return new Uint8Array(shared)
    },

    async writeSegment(segment) {
      if (closed) throw new PlaintextWriterFailedError({ cause: new Error('the writer is closed') })
      if (!(await whenReady()) || !worker || failure) {
        throw failure ?? new PlaintextWriterFailedError({ cause: new Error('the worker did not start') })
      }
      const { data, pieceSize, plainSize, tag, key } = prepareSegment(segment)
      try {
        // The ciphertext is the first plainSize bytes of the data pieces, in order.
        const spans = []
        for (const [i, piece] of data.entries()) {
          const end = Math.min(pieceSize, plainSize - i * pieceSize)
          if (end <= 0) break
          const id =
            piece.buffer instanceof SharedArrayBuffer && piece.byteOffset === 0
              ? registered.get(piece.buffer)
              : undefined
          spans.push(id === undefined ? { bytes: piece.slice(0, end) } : { buffer: id, end })
        }
        const seq = nextSeq++
        const written = new Promise<number>((resolve, reject) => {
          pending.set(seq, { resolve, reject, segmentIndex: segment.segmentIndex })
        })
        worker.ref()
        worker.postMessage({
          seq,
          key,
          nonce: segment.record.nonce,
          aad: segmentAad(segment.objectId, segment.segmentIndex),
          tag,
          spans,
          position: segment.position,
        })
        return await written
      } finally {
        key.fill(0)
      }
    },

    async close() {
      if (closed) return
      closed = true
      fail(new Error('the writer was closed'))
      if (worker) await worker.terminate().catch(() => {})
    },
  }
}
