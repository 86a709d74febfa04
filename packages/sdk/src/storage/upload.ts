/**
 * The upload engine shared by putObject, the index and repair: streams every shard to its provider
 * at once, segment by segment, with bounded memory, per-shard resume and retry, and a long tail
 * (the first `keep` shards to finish are kept, the rest cut off).
 */
import { storageDealsAbi } from '@stoa/protocol'
import {
  createMerkleBuilder,
  createPieceRootHasher,
  merkleRoot,
  type PieceRootHasher,
  recycleSegmentPieces,
} from '@stoa/storage'
import { type Address, bytesToHex, type Hex } from 'viem'
import { getBlock } from 'viem/actions'
import { createDeal, type DealTerms } from '../actions/createDeal.ts'
import { sleep } from '../gateway/sleep.ts'
import { accountAddress, readStoaContract, resolveAccount } from '../internal/write.ts'
import type { StoaActionClient, TransactionProgressEvent } from '../types.ts'
import { storageDealsAddress } from './deals.ts'
import {
  isTransientStorageFailure,
  NotEnoughStorageProvidersError,
  ShardRootMismatchError,
} from './errors.ts'
import { type StorageClient, storageClientFor } from './http.ts'
import { shardRootFromPieceRoots } from './pieces.ts'
import type { StorageProviderCandidate } from './placement.ts'

/** Where the shards' bytes come from: segment `s` gives one piece per slot (in slot order). */
export type ShardSource = {
  segmentCount: number
  /** Bytes of every shard. */
  shardSize: number
  /** Where segment `s`'s pieces start in a shard (all but the last are `pieceSize` long). */
  pieceSize: number
  /**
   * Deterministic: a second call gives the same bytes (a retry re-derives what it needs). Fresh
   * pieces per call: once every shard sent a segment, pieces `encodeSegment` made are recycled.
   */
  segment(index: number): Promise<Uint8Array[]>
}

export type UploadSlot = {
  provider: StorageProviderCandidate
  erasureIndex: number
  /** The root the shard must have (repair: the on-chain one); else the client computes it. */
  expectedRoot?: Hex | undefined
}

export type UploadedShard = {
  slot: number
  provider: Address
  gatewayUrl: string
  erasureIndex: number
  root: Hex
  size: number
  askPricePerByteSecond: bigint
  /** Upload time in ms and the shard's throughput. */
  ms: number
}

export type UploadProgress = { bytes: number; totalBytes: number; mbPerSecond: number }

const CHUNK = 1024 * 1024
const MAX_ATTEMPTS = 4
/**
 * Uploads of at least this many bytes (all shards together) hash their pieces on worker threads
 * (createPieceRootHasher): below it, starting a worker costs more than it saves.
 */
const WORKER_HASHING_BYTES = 64 * 1024 * 1024

class LongTailCut extends Error {
  constructor() {
    super('enough shards finished before this one')
    this.name = 'LongTailCut'
  }
}

/**
 * Uploads one shard per slot. Resolves once `keep` shards are stored and their roots checked, the
 * others cut; throws `NotEnoughStorageProvidersError` once fewer than `keep` can still finish.
 */
export async function uploadShards(
  client: StoaActionClient,
  parameters: {
    source: ShardSource
    slots: readonly UploadSlot[]
    keep: number
    signal?: AbortSignal | undefined
    timeoutMs?: number | undefined
    onProgress?: ((progress: UploadProgress) => void) | undefined
    onShardFailed?: ((detail: { provider: Address; error: unknown }) => void) | undefined
  },
): Promise<{ shards: UploadedShard[]; failed: { provider: Address; error: unknown }[] }> {
  const { source, slots, keep, signal } = parameters
  const slotCount = slots.length
  const startedAt = performance.now()
  const pieceRoots: (Uint8Array | undefined)[][] = slots.map(() => new Array(source.segmentCount))
  // Piece roots are hashed beside the sending: on worker threads for a large upload, else on this
  // thread as each piece streams.
  const hasher: PieceRootHasher | undefined =
    source.shardSize * slotCount >= WORKER_HASHING_BYTES ? createPieceRootHasher() : undefined
  // Memory stays bounded: one segment's pieces (the window) are held at a time. The window moves
  // on once the `keep` leading shards have all asked for the next segment, which a shard does only
  // after its socket took the last bytes of this one (the request body is pulled, not pushed), so
  // the old pieces are unreferenced before the next are derived. A shard left behind the window
  // re-derives its own piece, one such shard at a time, and keeps only that piece.
  const positions = new Array<number>(slotCount).fill(0)
  const live = new Array<boolean>(slotCount).fill(true)
  let wake: (() => void) | undefined
  let moved = new Promise<void>((resolve) => {
    wake = resolve
  })
  const notify = () => {
    const resolve = wake
    moved = new Promise<void>((next) => {
      wake = next
    })
    resolve?.()
  }
  /** Resolves on the next `notify`, rejects when `slotSignal` aborts; leaves no listener behind. */
  const changed = (slotSignal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(slotSignal.reason)
      slotSignal.addEventListener('abort', onAbort, { once: true })
      void moved.then(() => {
        slotSignal.removeEventListener('abort', onAbort)
        resolve()
      })
    })
  const floor = () => {
    const ahead = positions.filter((_, i) => live[i]).sort((a, b) => b - a)
    return ahead[Math.min(keep, ahead.length) - 1] ?? 0
  }
  let windowIndex = -1
  let windowPieces: Promise<Uint8Array[]> | undefined
  let windowList: Uint8Array[] | undefined
  let laggardTurn: Promise<unknown> = Promise.resolve()
  const laggardPiece = (s: number, slot: number, slotSignal: AbortSignal): Promise<Uint8Array> => {
    const turn = laggardTurn.then(async () => {
      slotSignal.throwIfAborted()
      const piece = (await source.segment(s))[slot] as Uint8Array
      // A data piece is a view of the whole segment: keep a copy of this piece alone.
      return piece.byteLength === piece.buffer.byteLength ? piece : piece.slice()
    })
    laggardTurn = turn.catch(() => {})
    return turn
  }
  const segmentFor = async (s: number, slot: number, slotSignal: AbortSignal): Promise<Uint8Array> => {
    for (;;) {
      slotSignal.throwIfAborted()
      if (s === windowIndex && windowPieces) return (await windowPieces)[slot] as Uint8Array
      if (s < windowIndex) return laggardPiece(s, slot, slotSignal)
      if (floor() >= s) {
        // When no live shard still sends the old pieces, their memory goes to the new ones.
        const old = windowList
        const previous = windowIndex
        if (old && positions.every((position, i) => !live[i] || position > previous)) {
          recycleSegmentPieces(old)
        }
        windowIndex = s
        windowPieces = undefined
        windowList = undefined
        const pieces = source.segment(s)
        pieces.then(
          (list) => {
            if (windowIndex === s) windowList = list
          },
          () => {},
        )
        windowPieces = pieces
        notify()
        continue
      }
      await changed(slotSignal)
    }
  }

  let sentBytes = 0
  let lastReport = 0
  const totalBytes = source.shardSize * keep
  const report = (force = false) => {
    const now = performance.now()
    if (!force && now - lastReport < 100) return
    lastReport = now
    const seconds = (now - startedAt) / 1000
    const bytes = Math.min(sentBytes, totalBytes)
    parameters.onProgress?.({ bytes, totalBytes, mbPerSecond: seconds > 0 ? bytes / 1e6 / seconds : 0 })
  }

  const done: UploadedShard[] = []
  const failed: { provider: Address; error: unknown }[] = []
  const controllers = slots.map(() => new AbortController())
  let settle: (() => void) | undefined
  let reject: ((error: unknown) => void) | undefined
  const finished = new Promise<void>((resolve, rejectFinished) => {
    settle = resolve
    reject = rejectFinished
  })
  const check = () => {
    if (done.length >= keep) {
      for (const [i, controller] of controllers.entries()) {
        if (live[i]) controller.abort(new LongTailCut())
      }
      settle?.()
    } else if (done.length + live.filter(Boolean).length < keep) {
      reject?.(
        new NotEnoughStorageProvidersError({
          needed: keep,
          available: done.length + live.filter(Boolean).length,
          what: 'Uploading shards',
          reasons: failed.map(({ provider, error }) => `${provider}: ${describe(error)}`),
        }),
      )
    }
  }

  const runSlot = async (slot: number) => {
    const { provider, erasureIndex } = slots[slot] as UploadSlot
    const slotSignal = signal
      ? AbortSignal.any([signal, (controllers[slot] as AbortController).signal])
      : (controllers[slot] as AbortController).signal
    const storage: StorageClient = storageClientFor(client, provider.gatewayUrl, {
      provider: provider.address,
      timeoutMs: parameters.timeoutMs,
    })
    const slotStarted = performance.now()
    let uploadId: string | undefined
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          let offset = 0
          if (uploadId === undefined) {
            uploadId = (
              await storage.createUpload({ size: source.shardSize, erasureIndex, signal: slotSignal })
            ).uploadId
          } else {
            offset = (await storage.uploadStatus({ uploadId, signal: slotSignal })).received
          }
          const body = shardBody(slot, offset, slotSignal)
          const result = await storage.putShard({ uploadId, offset, body, signal: slotSignal })
          const ours = bytesToHex(
            shardRootFromPieceRoots(pieceRoots[slot] as Uint8Array[], source.pieceSize, source.shardSize),
          )
          const expected = slots[slot]?.expectedRoot ?? ours
          if (
            result.root !== ours.toLowerCase() ||
            result.root !== expected.toLowerCase() ||
            result.size !== source.shardSize
          ) {
            throw new ShardRootMismatchError({ provider: provider.address, expected, actual: result.root })
          }
          live[slot] = false
          done.push({
            slot,
            provider: provider.address,
            gatewayUrl: provider.gatewayUrl,
            erasureIndex,
            root: result.root,
            size: result.size,
            askPricePerByteSecond: provider.askPricePerByteSecond,
            ms: Math.round(performance.now() - slotStarted),
          })
          notify()
          check()
          return
        } catch (error) {
          if (slotSignal.aborted) throw slotSignal.reason
          if (!isTransientStorageFailure(error) || attempt >= MAX_ATTEMPTS) throw error
          await sleep(200 * attempt, slotSignal)
        }
      }
    } catch (error) {
      live[slot] = false
      notify()
      if (!(error instanceof LongTailCut) && !signal?.aborted) {
        failed.push({ provider: provider.address, error })
        parameters.onShardFailed?.({ provider: provider.address, error })
      }
      check()
    }
  }

  async function* shardBody(
    slot: number,
    offset: number,
    slotSignal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    let s = Math.floor(offset / source.pieceSize)
    let within = offset - s * source.pieceSize
    for (; s < source.segmentCount; s++, within = 0) {
      positions[slot] = s
      notify()
      let piece: Uint8Array | undefined = await segmentFor(s, slot, slotSignal)
      const roots = pieceRoots[slot] as (Uint8Array | undefined)[]
      // A worker hashes the piece while it streams; else it is hashed here as it streams (from its
      // start; else afterwards, whole).
      const hashing = hasher && roots[s] === undefined ? hasher.root(piece) : undefined
      hashing?.catch(() => {})
      const tree = !hasher && within === 0 && roots[s] === undefined ? createMerkleBuilder() : undefined
      for (let at = within; at < piece.length; at += CHUNK) {
        slotSignal.throwIfAborted()
        const chunk = piece.subarray(at, Math.min(at + CHUNK, piece.length))
        tree?.update(chunk)
        sentBytes += chunk.length
        report()
        yield chunk
      }
      // The piece stays this shard's (the window cannot move past it) until its root is known.
      if (hashing) roots[s] = await hashing
      else if (tree) roots[s] = tree.finish().root
      else if (roots[s] === undefined) roots[s] = merkleRoot(piece)
      piece = undefined
    }
    positions[slot] = source.segmentCount
    notify()
  }

  const runs = slots.map((_, slot) => runSlot(slot))
  const abortAll = () => reject?.(signal?.reason)
  signal?.addEventListener('abort', abortAll, { once: true })
  try {
    await finished
  } finally {
    signal?.removeEventListener('abort', abortAll)
    for (const controller of controllers) if (!controller.signal.aborted) controller.abort(new LongTailCut())
    await Promise.allSettled(runs)
    await hasher?.close()
    windowPieces = undefined
    windowList = undefined
  }
  report(true)
  done.sort((a, b) => a.slot - b.slot)
  return { shards: done.slice(0, keep), failed }
}

function describe(error: unknown): string {
  const short = (error as { shortMessage?: unknown })?.shortMessage
  if (typeof short === 'string') return short
  return error instanceof Error ? error.message : String(error)
}

export type DealSchedule = { periodBlocks: number; windowBlocks: number; periods: number }

/** The contract's default schedule (`periodBlocks`, `windowBlocks`), with `periods` given. */
export async function defaultSchedule(
  client: StoaActionClient,
  periods: number,
  overrides: Partial<DealSchedule> = {},
): Promise<DealSchedule> {
  const address = storageDealsAddress(client)
  const [periodBlocks, windowBlocks] = await Promise.all([
    overrides.periodBlocks ??
      readStoaContract(client, { address, abi: storageDealsAbi, functionName: 'periodBlocks', args: [] }),
    overrides.windowBlocks ??
      readStoaContract(client, { address, abi: storageDealsAbi, functionName: 'windowBlocks', args: [] }),
  ])
  return {
    periodBlocks: Number(periodBlocks),
    windowBlocks: Number(windowBlocks),
    periods: overrides.periods ?? periods,
  }
}

/**
 * Asks each uploaded shard's provider for its acceptance of the deal terms (for the id the deal
 * will get) and opens the deal. Retries once when another deal took the id meanwhile.
 */
export async function openDeal(
  client: StoaActionClient,
  parameters: {
    shards: readonly UploadedShard[]
    k: number
    pieceSize: number
    schedule: DealSchedule
    signal?: AbortSignal | undefined
    onTransaction?: ((event: TransactionProgressEvent) => void) | undefined
  },
): Promise<{ dealId: bigint; pricePerByteSecond: bigint; hash: Hex }> {
  const { shards, schedule, signal } = parameters
  const account = resolveAccount(client, undefined, 'putObject')
  const owner = accountAddress(account)
  const address = storageDealsAddress(client)
  // Every provider gets the highest ask among them, so each one's is met.
  let pricePerByteSecond = 0n
  for (const shard of shards)
    if (shard.askPricePerByteSecond > pricePerByteSecond) pricePerByteSecond = shard.askPricePerByteSecond
  for (let attempt = 1; ; attempt++) {
    const [nextDealId, block] = await Promise.all([
      readStoaContract(client, { address, abi: storageDealsAbi, functionName: 'nextDealId', args: [] }),
      getBlock(client, { blockTag: 'latest' }),
    ])
    const dealId = nextDealId
    const deadline = block.timestamp + 3_600n
    const acceptances = await Promise.all(
      shards.map((shard, shardIndex) =>
        storageClientFor(client, shard.gatewayUrl, { provider: shard.provider }).acceptance({
          owner,
          dealId,
          shardIndex,
          root: shard.root,
          size: shard.size,
          erasureIndex: shard.erasureIndex,
          pricePerByteSecond,
          periodBlocks: schedule.periodBlocks,
          periods: schedule.periods,
          deadline,
          signal,
        }),
      ),
    )
    signal?.throwIfAborted()
    try {
      const terms: DealTerms = {
        k: parameters.k,
        pieceSize: parameters.pieceSize,
        pricePerByteSecond,
        periods: schedule.periods,
        deadline,
      }
      const created = await createDeal(client, {
        account,
        terms,
        shards: shards.map(({ provider, root, size, erasureIndex }) => ({
          provider,
          root,
          size,
          erasureIndex,
        })),
        acceptances,
        onProgress: parameters.onTransaction,
      })
      return { dealId: created.dealId || dealId, pricePerByteSecond, hash: created.hash }
    } catch (error) {
      const current = await readStoaContract(client, {
        address,
        abi: storageDealsAbi,
        functionName: 'nextDealId',
        args: [],
      })
      if (attempt >= 2 || current === dealId) throw error
    }
  }
}
