import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { storageAssetPath } from './assets.ts'
import { ContentHasherFailedError } from './errors.ts'

/**
 * The sha256 of an object's plaintext, taken on a worker thread. A download's one thread reads six
 * sockets, decrypts and writes; hashing every byte there as well (about 0.5 s per GiB) made it the
 * bottleneck, while on a worker it runs beside the rest. The calling thread only copies bytes into
 * a small shared ring (a memcpy into memory already mapped, no allocation).
 */
export type ContentHasher = {
  /** Whether a worker thread hashes (false: the calling thread does, as `createHash` would). */
  readonly threaded: boolean
  /**
   * Adds `bytes`. Resolves once they are copied, so the caller may reuse them at once. Calls are
   * taken in order, awaited or not.
   */
  update(bytes: Uint8Array): Promise<void>
  /** The sha256 of all bytes added; the hasher is closed after it. */
  digest(): Promise<Uint8Array>
  /** Stops the worker (a digest not yet given rejects). Safe to call twice. */
  close(): void
}

export type CreateContentHasherParameters = {
  /** Hash on a worker thread (default true). False: on the calling thread. */
  thread?: boolean | undefined
  /** Bytes per ring slot (default 1 MiB) and slots (default 8). */
  slotSize?: number | undefined
  slots?: number | undefined
}

/**
 * A content hasher (see `ContentHasher`). With a thread, bytes are copied into a ring of
 * `slots` x `slotSize` bytes shared with the worker (src/content-hash-worker.mjs); a slot is used
 * again once the worker has hashed it, so `update` waits only when the worker is a whole ring
 * behind. When the worker cannot start, the calling thread hashes instead; a worker that stops
 * after taking bytes fails the digest (`ContentHasherFailedError`), since what it hashed is gone.
 */
export function createContentHasher(parameters: CreateContentHasherParameters = {}): ContentHasher {
  const slotSize = parameters.slotSize ?? 1024 * 1024
  const slots = parameters.slots ?? 8
  const here = createHash('sha256')
  let worker: Worker | undefined
  let ringBytes: Uint8Array | undefined
  if (parameters.thread !== false) {
    try {
      const ring = new SharedArrayBuffer(slotSize * slots)
      worker = new Worker(join(storageAssetPath('..'), 'src', 'content-hash-worker.mjs'), {
        workerData: { ring, slotSize },
      })
      ringBytes = new Uint8Array(ring)
    } catch {
      worker = undefined
    }
  }
  const free = Array.from({ length: slots }, (_, slot) => slot)
  let wakeSlot: (() => void) | undefined
  let digestReply: { resolve: (digest: Uint8Array) => void; reject: (error: unknown) => void } | undefined
  let failure: Error | undefined
  let closed = false
  let started = false
  let resolveReady: (usable: boolean) => void = () => {}
  const ready = new Promise<boolean>((resolve) => {
    resolveReady = resolve
  })
  if (!worker) resolveReady(false)

  const fail = (cause: unknown) => {
    if (failure) return
    failure = new ContentHasherFailedError({ cause })
    resolveReady(false)
    wakeSlot?.()
    digestReply?.reject(failure)
  }
  if (worker) {
    const thread = worker
    thread.on('message', (message: { ready?: true; free?: number; digest?: ArrayBuffer }) => {
      if (message.ready) resolveReady(true)
      else if (message.free !== undefined) {
        free.push(message.free)
        const wake = wakeSlot
        wakeSlot = undefined
        wake?.()
        // Idle: the worker no longer keeps the process alive.
        if (free.length === slots && !digestReply) thread.unref()
      } else if (message.digest) {
        const reply = digestReply
        digestReply = undefined
        reply?.resolve(new Uint8Array(message.digest))
      }
    })
    thread.on('error', fail)
    thread.on('exit', (code) => {
      if (!closed) fail(new Error(`the hashing thread exited with code ${code}`))
    })
    // Referenced only while it holds bytes or a reply is awaited, so an idle or unused hasher
    // never keeps the process alive (after the listeners: adding a 'message' one references it).
    thread.unref()
  }

  /** `ready`, with the worker referenced meanwhile (its start is awaited). */
  const whenReady = async (): Promise<boolean> => {
    worker?.ref()
    const usable = await ready
    if (free.length === slots && !digestReply) worker?.unref()
    return usable
  }

  const takeSlot = async (): Promise<number> => {
    for (;;) {
      if (failure) throw failure
      const slot = free.shift()
      if (slot !== undefined) return slot
      await new Promise<void>((resolve) => {
        wakeSlot = resolve
      })
    }
  }

  // Whether the worker took bytes: until then a worker that failed to start loses nothing.
  let useWorker: boolean | undefined
  const add = async (bytes: Uint8Array) => {
    if (closed) throw new ContentHasherFailedError({ cause: new Error('the hasher is closed') })
    useWorker ??= await whenReady()
    if (!useWorker) {
      if (failure && started) throw failure
      here.update(bytes)
      return
    }
    const thread = worker as Worker
    const ring = ringBytes as Uint8Array
    for (let at = 0; at < bytes.length; at += slotSize) {
      const slot = await takeSlot()
      const part = bytes.subarray(at, Math.min(at + slotSize, bytes.length))
      ring.set(part, slot * slotSize)
      started = true
      thread.ref()
      thread.postMessage({ slot, length: part.length })
    }
  }

  let tail: Promise<void> = Promise.resolve()
  const close = () => {
    if (closed) return
    closed = true
    digestReply?.reject(new ContentHasherFailedError({ cause: new Error('the hasher was closed') }))
    digestReply = undefined
    if (worker) void worker.terminate().catch(() => {})
  }

  return {
    get threaded() {
      return worker !== undefined && useWorker !== false && !failure
    },
    update(bytes) {
      const added = tail.then(() => add(bytes))
      tail = added.catch(() => {})
      return added
    },
    async digest() {
      await tail
      if (closed) throw new ContentHasherFailedError({ cause: new Error('the hasher is closed') })
      try {
        useWorker ??= await whenReady()
        if (!useWorker) {
          if (failure && started) throw failure
          return new Uint8Array(here.digest())
        }
        if (failure) throw failure
        const thread = worker as Worker
        const digest = new Promise<Uint8Array>((resolve, reject) => {
          digestReply = { resolve, reject }
        })
        thread.ref()
        thread.postMessage({ digest: true })
        return await digest
      } finally {
        close()
      }
    },
    close,
  }
}
