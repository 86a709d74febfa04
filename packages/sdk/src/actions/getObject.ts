import { createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import {
  InvalidParameterError,
  type InvalidParameterErrorType,
  type StoaContractErrorType,
} from '@stoa/protocol'
import {
  ContentHashMismatchError,
  createPlaintextFileWriter,
  DecryptionFailedError,
  type DecryptionFailedErrorType,
  decodeObject,
  type ObjectRecord,
  pieceHashOf,
  type SegmentPieces,
  type SegmentRecord,
} from '@stoa/storage'
import type { Address } from 'viem'
import { readDeal } from '../storage/deals.ts'
import { createShardReader } from '../storage/download.ts'
import {
  type NotEnoughStorageProvidersErrorType,
  ObjectIntegrityError,
  type ObjectIntegrityErrorType,
  ObjectNotFoundError,
  type ObjectNotFoundErrorType,
  type StorageRequestErrorType,
} from '../storage/errors.ts'
import { loadObjectIndex } from '../storage/objectIndex.ts'
import { codeWidthOf } from '../storage/pieces.ts'
import type { ProgressEvent, ProgressOptions, StoaActionClient } from '../types.ts'

/**
 * Segments downloading at once (the one being decoded included). Two keep every provider's stream
 * busy: three fetched no faster in bench/storage.ts (1 GiB, 4-of-6) and peaked 40 MB higher.
 */
const DOWNLOAD_AHEAD = 2

/**
 * Objects from this size on are decrypted into their file on a worker thread: below it, starting
 * the thread (tens of ms) costs more than the garbage collections it saves.
 */
const THREADED_WRITE_BYTES = 16 * 1024 * 1024

export type GetObjectProgressEvent =
  | ProgressEvent<'storage:record', { record: ObjectRecord }>
  | ProgressEvent<'storage:download', { bytes: number; totalBytes: number; mbPerSecond: number }>
  | ProgressEvent<'storage:provider-dropped', { provider: Address; reason: string }>
  | ProgressEvent<'storage:done', { record: ObjectRecord; ms: number; mbPerSecond: number }>

export type GetObjectParameters = ProgressOptions<GetObjectProgressEvent> & {
  /** The object's name in the index, or its record (then the index is not read). */
  name?: string | undefined
  record?: ObjectRecord | undefined
  masterKey: Uint8Array
  /** A file path (created or truncated) or a stream (not ended). */
  output: string | Writable
  /** Providers not to read from. */
  excludeProviders?: readonly Address[] | undefined
  /** Backup requests per segment beyond the k needed, started when a piece lags (once the first piece arrived, after half as long again), the slowest cut once k arrived (default 1). */
  extraRequests?: number | undefined
  /**
   * Also hash the plaintext with sha256 and compare it with the record's (default false): a
   * second check of what AES-GCM already authenticates, segment by segment, at about 0.65 s of CPU
   * per GiB (`stoa get --verify`).
   */
  verifyContentHash?: boolean | undefined
  signal?: AbortSignal | undefined
}

export type GetObjectReturnType = {
  record: ObjectRecord
  ms: number
  mbPerSecond: number
  /** Ciphertext bytes fetched from providers. */
  bytesFetched: number
  /** Providers dropped on the way (bad bytes, refused). */
  dropped: { provider: Address; reason: string }[]
}

export type GetObjectErrorType =
  | InvalidParameterErrorType
  | ObjectNotFoundErrorType
  | ObjectIntegrityErrorType
  | DecryptionFailedErrorType
  | NotEnoughStorageProvidersErrorType
  | StorageRequestErrorType
  | StoaContractErrorType

/**
 * Reads a stored object back: its deal from the chain, then per segment the fastest `k` pieces
 * (k requests, a backup one when a piece lags, the slowest cut), decoded, decrypted and written in
 * order. AES-GCM authenticates every segment; a segment that fails to decrypt has its pieces
 * checked against their Merkle piece roots (themselves checked against the on-chain root; older
 * records: against the sha256 they keep for each), the providers of bad ones are dropped and the
 * segment is read again from others. Each segment's key is its own and its additional data binds it
 * to the object and its place, so what decrypts is what was stored, in order; `verifyContentHash`
 * adds a sha256 of the whole plaintext, compared with the record's at the end.
 *
 * @example
 * await getObject(client, { name: 'photo.jpg', masterKey, output: 'photo.jpg' })
 */
export async function getObject(
  client: StoaActionClient,
  parameters: GetObjectParameters,
): Promise<GetObjectReturnType> {
  const { signal, onProgress, masterKey } = parameters
  const startedAt = performance.now()
  const { extraRequests } = parameters
  if (extraRequests !== undefined && (!Number.isInteger(extraRequests) || extraRequests < 0))
    throw new InvalidParameterError('extraRequests', 'a non-negative integer', extraRequests)
  let record = parameters.record
  if (!record) {
    const name = parameters.name
    if (typeof name !== 'string')
      throw new InvalidParameterError('name', 'an object name (or a record)', name)
    const { index } = await loadObjectIndex(client, { masterKey, signal })
    record = index.objects.find((object) => object.name === name)
    if (!record) throw new ObjectNotFoundError(name)
  }
  onProgress?.({ type: 'storage:record', detail: { record } })
  const deal = await readDeal(client, record.dealId)
  // A file of an object from THREADED_WRITE_BYTES on is written by a worker thread that decrypts
  // the pieces in place (createPlaintextFileWriter); a stream, a small object, or a read that also
  // hashes the content, on this thread.
  const file =
    typeof parameters.output === 'string' &&
    parameters.verifyContentHash !== true &&
    record.size >= THREADED_WRITE_BYTES
      ? await openPlaintextFile(parameters.output)
      : undefined
  try {
    const reader = await createShardReader(client, {
      deal,
      excludeProviders: parameters.excludeProviders,
      extraRequests,
      onDropped: (detail) => onProgress?.({ type: 'storage:provider-dropped', detail }),
      pieceHash: (segment, erasureIndex) => {
        const segmentRecord = record.segments[segment]
        return segmentRecord && pieceHashOf(segmentRecord, erasureIndex)
      },
      allocate: file?.writer.allocate,
    })
    const object = record
    // Pieces are decoded with the width the object was coded with (its erasure indices < total).
    const total = codeWidthOf([object.total - 1, ...deal.shards.map((shard) => shard.erasureIndex)], deal.k)
    const data = Array.from({ length: deal.k }, (_, i) => i)
    // Pieces are read unchecked: AES-GCM authenticates each segment's ciphertext, so bytes a
    // provider changed fail to decrypt. Only then are the segment's pieces checked one by one
    // (`checkSegment`), the providers of bad ones dropped and the segment read again.
    const read = (s: number) => {
      const pending = reader.fetchSegment(s, signal)
      pending.catch(() => {})
      return pending
    }
    const retrySegment = async (s: number, pieces: readonly (Uint8Array | undefined)[]) => {
      const fetched = new Map<number, Uint8Array>()
      for (const [index, piece] of pieces.entries()) if (piece) fetched.set(index, piece)
      const good = await reader.checkSegment(s, fetched, signal)
      // Every piece is what was stored: the record or the key is wrong, and reading again won't help.
      if (good.size === fetched.size) return undefined
      const rebuilt = await reader.readSegment(s, data, signal, good)
      return Array.from({ length: total }, (_, i) => rebuilt.get(i))
    }
    // The next segments download while one is decrypted and written: a window of DOWNLOAD_AHEAD
    // segments keeps every provider's stream busy (memory: about one segment more than that).
    const ahead: ReturnType<typeof read>[] = []
    let requested = 0
    const fill = () => {
      while (requested < object.segments.length && ahead.length < DOWNLOAD_AHEAD)
        ahead.push(read(requested++))
    }
    let written = 0
    const progress = (bytes: number) => {
      written += bytes
      const seconds = (performance.now() - startedAt) / 1000
      onProgress?.({
        type: 'storage:download',
        detail: {
          bytes: written,
          totalBytes: object.size,
          mbPerSecond: seconds > 0 ? written / 1e6 / seconds : 0,
        },
      })
    }

    if (file) {
      const { writer } = file
      let position = 0
      const writeSegment = async (s: number, pieces: Map<number, Uint8Array>, at: number) => {
        const segment = {
          segmentIndex: s,
          record: object.segments[s] as SegmentRecord,
          objectId: object.objectId,
          masterKey,
          k: object.k,
          total,
          position: at,
        }
        const fetched = Array.from({ length: total }, (_, i) => pieces.get(i))
        try {
          let bytes: number
          try {
            bytes = await writer.writeSegment({ ...segment, pieces: fetched })
          } catch (error) {
            if (!(error instanceof DecryptionFailedError)) throw error
            const other = await retrySegment(s, fetched)
            if (other === undefined) throw error
            signal?.throwIfAborted()
            bytes = await writer.writeSegment({ ...segment, pieces: other })
          }
          progress(bytes)
        } finally {
          // Written (or given up): its pieces' buffers can take the next pieces.
          reader.release(pieces.values())
        }
      }
      // One segment is written while the next DOWNLOAD_AHEAD download.
      let previous: Promise<void> = Promise.resolve()
      fill()
      try {
        for (let s = 0; s < object.segments.length; s++) {
          const pieces = await (ahead.shift() as ReturnType<typeof read>)
          await previous
          signal?.throwIfAborted()
          fill()
          previous = writeSegment(s, pieces, position)
          previous.catch(() => {})
          position += (object.segments[s] as SegmentRecord).plainSize
        }
        await previous
      } catch (error) {
        await previous.catch(() => {})
        throw error
      }
      if (written !== object.size) {
        throw new InvalidParameterError(
          'record',
          `a record whose segments hold its ${object.size} bytes`,
          `${written} bytes`,
        )
      }
      await file.close()
    } else {
      async function* segments(): AsyncGenerator<SegmentPieces> {
        fill()
        for (let s = 0; s < object.segments.length; s++) {
          const pieces = await (ahead.shift() as ReturnType<typeof read>)
          fill()
          yield { segmentIndex: s, pieces: Array.from({ length: total }, (_, i) => pieces.get(i)) }
          // decodeObject asks for the next segment only once this one is decrypted (into buffers
          // of its own) and its parts handed on: its pieces' buffers can take the next pieces.
          reader.release(pieces.values())
        }
      }
      const sink = openSink(parameters.output)
      try {
        for await (const plaintext of decodeObject({
          object: { ...object, total },
          masterKey,
          segments: segments(),
          retrySegment,
          verifyContentHash: parameters.verifyContentHash === true,
          signal,
        })) {
          await sink.write(plaintext, signal)
          progress(plaintext.length)
        }
        await sink.close()
      } catch (error) {
        await sink.close().catch(() => {})
        if (error instanceof ContentHashMismatchError) {
          throw new ObjectIntegrityError({
            name: object.name,
            expected: error.expected,
            actual: error.actual,
            cause: error,
          })
        }
        throw error
      }
    }
    const ms = Math.round(performance.now() - startedAt)
    const mbPerSecond = ms > 0 ? record.size / 1e6 / (ms / 1000) : 0
    onProgress?.({ type: 'storage:done', detail: { record, ms, mbPerSecond } })
    return { record, ms, mbPerSecond, bytesFetched: reader.bytesFetched(), dropped: reader.dropped() }
  } finally {
    await file?.close()
  }
}

/**
 * `path` opened for writing (created or truncated), with a plaintext writer on it; undefined when
 * the writer's thread could not start (then the caller writes through a stream on this thread).
 */
async function openPlaintextFile(path: string) {
  const handle = await open(path, 'w')
  const writer = createPlaintextFileWriter({ fd: handle.fd })
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await writer.close()
      await handle.close()
    })()
    return closing
  }
  if (!(await writer.ready())) {
    await close()
    return undefined
  }
  return { writer, close }
}

type Sink = {
  write(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void>
  close(): Promise<void>
}

function openSink(output: string | Writable): Sink {
  const ownStream = typeof output === 'string'
  const stream: Writable = typeof output === 'string' ? createWriteStream(output) : output
  let failure: unknown
  const onError = (error: unknown) => {
    failure = error
  }
  stream.on('error', onError)
  return {
    async write(bytes, signal) {
      if (failure) throw failure
      if (!stream.write(bytes)) {
        await new Promise<void>((resolve, reject) => {
          const done = () => {
            stream.off('drain', done)
            stream.off('error', fail)
            signal?.removeEventListener('abort', abort)
            resolve()
          }
          const fail = (error: unknown) => reject(error)
          const abort = () => reject(signal?.reason)
          stream.once('drain', done)
          stream.once('error', fail)
          signal?.addEventListener('abort', abort, { once: true })
        })
      }
      if (failure) throw failure
    },
    async close() {
      stream.off('error', onError)
      if (!ownStream) return
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject)
        stream.end(() => resolve())
      })
    },
  }
}
