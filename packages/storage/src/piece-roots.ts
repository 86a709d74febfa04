import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { storageAssetPath } from './assets.ts'
import { PieceRootHasherClosedError } from './errors.ts'
import { LEAF_SIZE, merkleRoot } from './merkle.ts'
import { wasmSha256Module } from './sha256-wasm.ts'

/**
 * Merkle roots of pieces, hashed on worker threads. An upload hashes every byte it sends (1.5x the
 * file for 4-of-6), and on the thread that also encrypts, codes and feeds six sockets that work
 * held the sockets back; on a worker it runs beside them.
 */
export type PieceRootHasher = {
  /** Worker threads (0 once the workers failed: roots are then hashed on the calling thread). */
  readonly threads: number
  /**
   * `merkleRoot(piece)`. The piece must not change until the promise settles (it is copied for a
   * worker only when that worker is ready for it). Pieces that are not a whole number of leaves
   * are hashed on the calling thread.
   */
  root(piece: Uint8Array): Promise<Uint8Array>
  /** Stops the workers; roots still pending reject with `PieceRootHasherClosedError`. */
  close(): Promise<void>
}

export type CreatePieceRootHasherParameters = {
  /** Worker threads; default one per core beyond the first, from 1 to 4. */
  threads?: number | undefined
}

type Job = { piece: Uint8Array; resolve: (root: Uint8Array) => void; reject: (error: unknown) => void }
type Reply = { id: number; root?: ArrayBuffer; error?: string; buffer: ArrayBuffer }
type Lane = {
  worker: Worker
  /** Jobs posted to the worker (at most IN_FLIGHT), by id. */
  posted: Map<number, Job>
  /** Buffers back from the worker, for the next copies. */
  buffers: ArrayBuffer[]
}

/** Pieces per worker at a time: one it hashes, one copied and waiting, so it never waits for a copy. */
const IN_FLIGHT = 2

/**
 * Starts `threads` worker threads that compute pieces' Merkle roots (src/piece-root-worker.mjs,
 * with the WASM SHA-256 kernel where the engine has SIMD). Pieces queue here and are copied for a
 * worker two at a time, into buffers that go to the worker and come back (transferred both ways),
 * so memory is two pieces per worker however many are queued. If a worker fails, its pieces and
 * all later ones are hashed on the calling thread: a root is always given.
 */
export function createPieceRootHasher(parameters: CreatePieceRootHasherParameters = {}): PieceRootHasher {
  const threads = parameters.threads ?? Math.max(1, Math.min(4, availableParallelism() - 1))
  const kernel = wasmSha256Module()
  const script = join(storageAssetPath('..'), 'src', 'piece-root-worker.mjs')
  const lanes: Lane[] = []
  const queue: Job[] = []
  let nextId = 0

  const hashHere = (job: Job) => {
    try {
      job.resolve(merkleRoot(job.piece))
    } catch (error) {
      job.reject(error)
    }
  }
  const pump = () => {
    for (;;) {
      const lane = lanes.find((candidate) => candidate.posted.size < IN_FLIGHT)
      if (lane === undefined) break
      const job = queue.shift()
      if (job === undefined) break
      let buffer = lane.buffers.pop()
      if (buffer === undefined || buffer.byteLength < job.piece.length)
        buffer = new ArrayBuffer(job.piece.length)
      new Uint8Array(buffer).set(job.piece)
      const id = nextId++
      lane.posted.set(id, job)
      lane.worker.ref()
      lane.worker.postMessage({ id, buffer, length: job.piece.length }, [buffer])
    }
    if (lanes.length === 0) for (const job of queue.splice(0)) hashHere(job)
  }
  const drop = (lane: Lane) => {
    const index = lanes.indexOf(lane)
    if (index < 0) return
    lanes.splice(index, 1)
    void lane.worker.terminate().catch(() => {})
    for (const job of lane.posted.values()) hashHere(job)
    lane.posted.clear()
    pump()
  }

  for (let i = 0; i < threads; i++) {
    let worker: Worker
    try {
      worker = new Worker(script, { workerData: { kernel } })
    } catch {
      break
    }
    const lane: Lane = { worker, posted: new Map(), buffers: [] }
    worker.on('message', (reply: Reply) => {
      const job = lane.posted.get(reply.id)
      lane.posted.delete(reply.id)
      if (lane.buffers.length < IN_FLIGHT) lane.buffers.push(reply.buffer)
      if (job !== undefined) {
        if (reply.root) job.resolve(new Uint8Array(reply.root))
        else hashHere(job)
      }
      if (lane.posted.size === 0) worker.unref()
      pump()
    })
    worker.on('error', () => drop(lane))
    worker.on('exit', () => drop(lane))
    // An idle worker does not keep the process alive (unreferenced after the listeners: adding a
    // 'message' one references it again).
    worker.unref()
    lanes.push(lane)
  }

  return {
    get threads() {
      return lanes.length
    },
    root(piece) {
      if (lanes.length === 0 || piece.length === 0 || piece.length % LEAF_SIZE !== 0) {
        return Promise.resolve().then(() => merkleRoot(piece))
      }
      return new Promise<Uint8Array>((resolve, reject) => {
        queue.push({ piece, resolve, reject })
        pump()
      })
    },
    async close() {
      const stopping = lanes.splice(0)
      const abandoned = [...queue.splice(0), ...stopping.flatMap((lane) => [...lane.posted.values()])]
      for (const lane of stopping) lane.posted.clear()
      for (const job of abandoned) job.reject(new PieceRootHasherClosedError())
      await Promise.all(stopping.map((lane) => lane.worker.terminate().catch(() => {})))
    },
  }
}
