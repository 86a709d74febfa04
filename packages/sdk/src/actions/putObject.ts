import { createHash, randomBytes } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import {
  InvalidParameterError,
  type InvalidParameterErrorType,
  type RegionName,
  type StoaContractErrorType,
} from '@stoa/protocol'
import {
  encodeSegment,
  type ObjectRecord,
  objectThresholds,
  planSegments,
  randomSegmentSecrets,
  type SegmentRecord,
  segmentAt,
  wrapSegmentKey,
} from '@stoa/storage'
import { type Address, type Hex, hexToBytes } from 'viem'
import type {
  NotEnoughStorageProvidersErrorType,
  ShardRootMismatchErrorType,
  StorageRequestErrorType,
} from '../storage/errors.ts'
import { loadObjectIndex, saveObjectIndex } from '../storage/objectIndex.ts'
import { selectStorageProviders } from '../storage/placement.ts'
import { defaultSchedule, openDeal, type UploadProgress, uploadShards } from '../storage/upload.ts'
import type { ProgressEvent, ProgressOptions, StoaActionClient, TransactionProgressEvent } from '../types.ts'

export type PutObjectProgressEvent =
  | ProgressEvent<
      'storage:plan',
      {
        name: string
        size: number
        k: number
        n: number
        total: number
        pieceSize: number
        segments: number
        shardSize: number
        providers: { address: Address; region: string | undefined; askPricePerByteSecond: bigint }[]
      }
    >
  | ProgressEvent<'storage:upload', UploadProgress>
  | ProgressEvent<'storage:shard-failed', { provider: Address; error: unknown }>
  | ProgressEvent<
      'storage:uploaded',
      {
        shards: { provider: Address; erasureIndex: number; root: Hex; ms: number }[]
        ms: number
        mbPerSecond: number
      }
    >
  | ProgressEvent<'storage:deal', { dealId: bigint; pricePerByteSecond: bigint; periods: number }>
  | ProgressEvent<'storage:index', { dealId: bigint; objects: number }>
  | ProgressEvent<'storage:done', { record: ObjectRecord; ms: number }>
  | TransactionProgressEvent

export type PutObjectParameters = ProgressOptions<PutObjectProgressEvent> & {
  /** A file path (streamed, never read whole) or the bytes. */
  source: string | Uint8Array
  /** The name in the object index (a second put of a name replaces the record). */
  name: string
  /** Data shards (default 4). */
  k?: number | undefined
  /** Shards the deal keeps (default 6). */
  n?: number | undefined
  /** Shards uploaded; the first `n` to finish are kept (default `min(n + 2, providers)`). */
  total?: number | undefined
  /** Only providers in these regions. */
  regions?: readonly RegionName[] | undefined
  /** Proving periods the deal runs and pays for (default 24). */
  periods?: number | undefined
  /** From `getMasterKey`. */
  masterKey: Uint8Array
  /** Providers not to use. */
  excludeProviders?: readonly Address[] | undefined
  signal?: AbortSignal | undefined
}

export type PutObjectReturnType = ObjectRecord

export type PutObjectErrorType =
  | InvalidParameterErrorType
  | NotEnoughStorageProvidersErrorType
  | ShardRootMismatchErrorType
  | StorageRequestErrorType
  | StoaContractErrorType

/**
 * Stores a file: encrypts it segment by segment under fresh keys (wrapped with the master key),
 * erasure codes each segment into `total` pieces, streams each shard to its own provider (spread
 * over regions) with one or two segments in memory, keeps the first `n` that finish, checks each
 * provider's root against its own, opens the deal with the providers' acceptances, and records
 * the object in the encrypted object index.
 *
 * @example
 * const masterKey = await getMasterKey(client)
 * const record = await putObject(client, { source: 'photo.jpg', name: 'photo.jpg', masterKey })
 */
export async function putObject(
  client: StoaActionClient,
  parameters: PutObjectParameters,
): Promise<PutObjectReturnType> {
  const { signal, onProgress, masterKey, name } = parameters
  const startedAt = performance.now()
  // Checks k, n and total (1 <= k <= n <= total <= 256) before anything is read or sent.
  const { k, n } = objectThresholds({ k: parameters.k ?? 4, n: parameters.n ?? 6, total: parameters.total })
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidParameterError('name', 'a non-empty name', name)
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== 32)
    throw new InvalidParameterError('masterKey', '32 bytes (getMasterKey)', masterKey)

  const input = await openSource(parameters.source)
  try {
    const size = input.size
    const plan = planSegments({ size, k })
    const { selected } = await selectStorageProviders(client, {
      count: parameters.total ?? n + 2,
      min: n,
      regions: parameters.regions,
      exclude: parameters.excludeProviders,
      minFree: plan.shardSize,
      signal,
    })
    const total = selected.length
    const objectId = new Uint8Array(randomBytes(32))
    // Each segment's fresh key is kept only wrapped under the master key: a retry re-derives the
    // same pieces from the plaintext and this record (`encodeSegment`), so the same roots.
    const segments: SegmentRecord[] = Array.from({ length: plan.segmentCount }, (_, index) => {
      const { key, nonce } = randomSegmentSecrets()
      const record = {
        plainSize: segmentAt(plan, index).plainSize,
        nonce,
        wrappedKey: wrapSegmentKey(key, masterKey),
      }
      key.fill(0)
      return record
    })
    onProgress?.({
      type: 'storage:plan',
      detail: {
        name,
        size,
        k,
        n,
        total,
        pieceSize: plan.pieceSize,
        segments: plan.segmentCount,
        shardSize: plan.shardSize,
        providers: selected.map((p) => ({
          address: p.address,
          region: p.regionName,
          askPricePerByteSecond: p.askPricePerByteSecond,
        })),
      },
    })

    // The content hash is taken as the segments are first encoded, in order; a re-derivation of an
    // earlier segment (a retry) does not count twice.
    const contentHash = createHash('sha256')
    let hashedSegments = 0
    // Segments are made one at a time: the plaintext is read into the input's one reusable buffer
    // (valid until the next read) and encrypted out of it into the pieces before the next read.
    let making: Promise<unknown> = Promise.resolve()
    const make = async (index: number): Promise<Uint8Array[]> => {
      const layout = segmentAt(plan, index)
      const plaintext = await input.read(layout.plainOffset, layout.plainSize)
      if (index === hashedSegments) {
        contentHash.update(plaintext)
        hashedSegments++
      }
      const record = segments[index] as SegmentRecord
      const pieces = encodeSegment({ plaintext, segmentIndex: index, record, objectId, masterKey, k, total })
      return pieces
    }
    const segment = (index: number): Promise<Uint8Array[]> => {
      const made = making.then(() => make(index))
      making = made.catch(() => {})
      return made
    }

    const uploadStarted = performance.now()
    const { shards } = await uploadShards(client, {
      source: {
        segmentCount: plan.segmentCount,
        shardSize: plan.shardSize,
        pieceSize: plan.pieceSize,
        segment,
      },
      slots: selected.map((provider, erasureIndex) => ({ provider, erasureIndex })),
      keep: n,
      signal,
      onProgress: (detail) => onProgress?.({ type: 'storage:upload', detail }),
      onShardFailed: (detail) => onProgress?.({ type: 'storage:shard-failed', detail }),
    })
    const uploadMs = performance.now() - uploadStarted
    // Segments no shard asked for in order (none, normally) are hashed now, after any segment
    // still being made (the read buffer is shared).
    await making
    for (let index = hashedSegments; index < plan.segmentCount; index++) {
      const layout = segmentAt(plan, index)
      contentHash.update(await input.read(layout.plainOffset, layout.plainSize))
    }
    onProgress?.({
      type: 'storage:uploaded',
      detail: {
        shards: shards.map(({ provider, erasureIndex, root, ms }) => ({ provider, erasureIndex, root, ms })),
        ms: Math.round(uploadMs),
        mbPerSecond: uploadMs > 0 ? size / 1e6 / (uploadMs / 1000) : 0,
      },
    })

    const schedule = await defaultSchedule(client, parameters.periods ?? 24)
    const { dealId, pricePerByteSecond } = await openDeal(client, {
      shards,
      k,
      pieceSize: plan.pieceSize,
      schedule,
      signal,
      onTransaction: onProgress,
    })
    onProgress?.({ type: 'storage:deal', detail: { dealId, pricePerByteSecond, periods: schedule.periods } })

    const record: ObjectRecord = {
      name,
      size,
      sha256: new Uint8Array(contentHash.digest()),
      objectId,
      k,
      n,
      total,
      pieceSize: plan.pieceSize,
      segments,
      dealId,
      // `openDeal` gives the deal's shards in this order: shard i is `shards[i]`.
      shards: shards.map(({ provider, erasureIndex, root }, shardIndex) => ({
        shardIndex,
        erasureIndex,
        root: hexToBytes(root),
        provider,
      })),
      createdAt: Math.floor(Date.now() / 1000),
    }
    const { index } = await loadObjectIndex(client, { masterKey, signal })
    index.objects = [...index.objects.filter((object) => object.name !== name), record]
    const saved = await saveObjectIndex(client, { masterKey, index, signal, onTransaction: onProgress })
    onProgress?.({ type: 'storage:index', detail: { dealId: saved.dealId, objects: index.objects.length } })
    onProgress?.({ type: 'storage:done', detail: { record, ms: Math.round(performance.now() - startedAt) } })
    return record
  } finally {
    await input.close()
  }
}

type Input = {
  size: number
  /** The bytes at `offset`; from a file, a view of one reusable buffer, valid until the next read. */
  read(offset: number, length: number): Promise<Uint8Array>
  close(): Promise<void>
}

async function openSource(source: string | Uint8Array): Promise<Input> {
  if (source instanceof Uint8Array) {
    return {
      size: source.length,
      read: async (offset, length) => source.subarray(offset, offset + length),
      close: async () => {},
    }
  }
  if (typeof source !== 'string') throw new InvalidParameterError('source', 'a file path or bytes', source)
  const info = await stat(source)
  const handle = await open(source, 'r')
  let reusable = new Uint8Array(0)
  return {
    size: info.size,
    async read(offset, length) {
      // One buffer for every segment (they are read one at a time), not a fresh one each.
      if (reusable.length < length) reusable = new Uint8Array(length)
      const buffer = reusable.subarray(0, length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done)
        if (bytesRead === 0)
          throw new InvalidParameterError('source', `a file that stays ${info.size} bytes long`, source)
        done += bytesRead
      }
      return buffer
    },
    close: () => handle.close(),
  }
}
