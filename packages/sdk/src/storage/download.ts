/**
 * The read side shared by getObject, the index and repair: per segment, verified pieces from the
 * fastest `k` providers of a deal (k started, a hedged backup when one lags, the rest cancelled), a provider serving bad bytes
 * dropped and another used, then the missing pieces rebuilt.
 */
import { createHash } from 'node:crypto'
import { createMerkleBuilder, type MerkleBuilder, pieceLevel, rebuildPieces } from '@stoa/storage'
import { type Address, bytesToHex, hexToBytes } from 'viem'
import { getProvider } from '../actions/getProvider.ts'
import type { StoaActionClient } from '../types.ts'
import type { DealRecord, ShardRecord } from './deals.ts'
import { isTransientStorageFailure, NotEnoughStorageProvidersError, StorageResponseError } from './errors.ts'
import { type StorageClient, storageClientFor } from './http.ts'
import { codeWidthOf, type PieceRange, pieceRangesOf, sameBytes, shardRootFromPieceRoots } from './pieces.ts'

type Source = {
  shard: ShardRecord
  storage: StorageClient | undefined
  pieceRoots: Promise<Uint8Array[]> | undefined
  /** Dropped for good (bad bytes, no gateway, refused). */
  bad: string | undefined
  /** Bytes per ms, measured (higher first). */
  speed: number
}

export type ShardReader = {
  readonly pieces: PieceRange[]
  /** Segment `s`'s pieces at the erasure indices in `wanted` (rebuilt when not fetched). */
  readSegment(
    segment: number,
    wanted: readonly number[],
    signal?: AbortSignal | undefined,
  ): Promise<Map<number, Uint8Array>>
  /** Providers dropped, with why. */
  dropped(): { provider: Address; reason: string }[]
  bytesFetched(): number
}

export type CreateShardReaderParameters = {
  deal: DealRecord
  /** Providers not to read from (stopped, or known bad). */
  excludeProviders?: readonly Address[] | undefined
  /** Backup requests beyond k, started when a piece lags (hedged), cut once k pieces arrived (default 1). */
  extraRequests?: number | undefined
  timeoutMs?: number | undefined
  onDropped?: ((detail: { provider: Address; reason: string }) => void) | undefined
  /**
   * The sha256 a piece must have, when the caller knows it (an object record's `pieceHashes`):
   * the piece is then checked with one streaming hash, and its provider's piece roots are not
   * fetched. Without it (the index, repair) a piece is checked against its Merkle piece root,
   * itself checked against the on-chain shard root.
   */
  pieceHash?: ((segment: number, erasureIndex: number) => Uint8Array | undefined) | undefined
}

export async function createShardReader(
  client: StoaActionClient,
  parameters: CreateShardReaderParameters,
): Promise<ShardReader> {
  const { deal } = parameters
  const exclude = new Set((parameters.excludeProviders ?? []).map((address) => address.toLowerCase()))
  const shardSize = deal.shards[0]?.size ?? 0
  const pieces = pieceRangesOf(shardSize, deal.pieceSize)
  let fetched = 0
  const chosen = deal.shards.filter(
    (shard) => shard.state === 'Active' && !exclude.has(shard.provider.toLowerCase()),
  )
  const sources: Source[] = await Promise.all(
    chosen.map(async (shard): Promise<Source> => {
      const record = await getProvider(client, { provider: shard.provider }).catch(() => null)
      const url = record?.gatewayUrl
      return {
        shard,
        storage: url
          ? storageClientFor(client, url, { provider: shard.provider, timeoutMs: parameters.timeoutMs })
          : undefined,
        pieceRoots: undefined,
        bad: url ? undefined : 'no gateway URL on record',
        speed: shard.erasureIndex < deal.k ? 1 : 0.5,
      }
    }),
  )
  const drop = (source: Source, reason: string) => {
    if (source.bad) return
    source.bad = reason
    parameters.onDropped?.({ provider: source.shard.provider, reason })
  }
  const rootsOf = (source: Source, signal: AbortSignal | undefined): Promise<Uint8Array[]> => {
    source.pieceRoots ??= (async () => {
      const root = hexToBytes(source.shard.root)
      if (pieces.length === 1) return [root]
      const nodes = await (source.storage as StorageClient).nodes({
        root: source.shard.root,
        level: pieceLevel(deal.pieceSize),
        signal,
      })
      if (
        nodes.length !== pieces.length ||
        !sameBytes(shardRootFromPieceRoots(nodes, deal.pieceSize, shardSize), root)
      ) {
        throw new StorageResponseError({
          provider: source.shard.provider,
          method: 'GET',
          url: `${source.storage?.url}/v1/storage/shards/${source.shard.root}/nodes`,
          expected: 'piece roots that build the on-chain root',
        })
      }
      return nodes
    })()
    source.pieceRoots.catch(() => {
      source.pieceRoots = undefined
    })
    return source.pieceRoots
  }

  const fetchPiece = async (source: Source, s: number, signal: AbortSignal): Promise<Uint8Array> => {
    const piece = pieces[s] as PieceRange
    const known = parameters.pieceHash?.(s, source.shard.erasureIndex)
    const roots = known ? undefined : await rootsOf(source, signal)
    const startedAt = performance.now()
    // Hashed as it arrives, while the provider sends the rest (any chunking gives the same digest).
    const hash = known ? createHash('sha256') : undefined
    const tree = known ? undefined : createMerkleBuilder()
    const bytes = await (source.storage as StorageClient).getShard({
      root: source.shard.root,
      start: piece.offset,
      end: piece.offset + piece.length,
      signal,
      onChunk: (chunk) => (hash ? hash.update(chunk) : tree?.update(chunk)),
    })
    const expected = known ?? (roots?.[s] as Uint8Array)
    const actual = hash ? new Uint8Array(hash.digest()) : (tree as MerkleBuilder).finish().root
    if (bytes.length !== piece.length || !sameBytes(actual, expected)) {
      throw new StorageResponseError({
        provider: source.shard.provider,
        method: 'GET',
        url: `${source.storage?.url}/v1/storage/shards/${source.shard.root}`,
        expected: known
          ? `piece ${s} with the recorded sha256 ${bytesToHex(known)}`
          : `piece ${s} matching its piece root ${bytesToHex(expected)}`,
      })
    }
    fetched += bytes.length
    const ms = Math.max(1, performance.now() - startedAt)
    source.speed = source.speed * 0.5 + (bytes.length / ms) * 0.5
    return bytes
  }

  return {
    pieces,
    dropped: () =>
      sources.filter((s) => s.bad).map((s) => ({ provider: s.shard.provider, reason: s.bad as string })),
    bytesFetched: () => fetched,

    async readSegment(s, wanted, signal) {
      const k = deal.k
      const got = new Map<number, Uint8Array>()
      // Sources that failed transiently on this segment are skipped for it only.
      const skipped = new Set<Source>()
      const controller = new AbortController()
      const requestSignal = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal
      const running = new Set<Source>()
      const extra = parameters.extraRequests ?? 1
      // Hedged requests ("The Tail at Scale"): k requests start at once, and the extra ones only
      // when a piece lags: once the segment's first piece has arrived, a backup starts if the rest
      // take half as long again. On an even set of providers no backup starts, so no provider
      // spends CPU and bandwidth on bytes that would be thrown away; a slow or stalled one is raced.
      // (A failed request is replaced at once, whatever the timer.)
      const startedAt = performance.now()
      let hedged = false
      let hedgeTimer: ReturnType<typeof setTimeout> | undefined
      const next = (): Source | undefined =>
        sources
          .filter(
            (source) =>
              !source.bad &&
              !skipped.has(source) &&
              !running.has(source) &&
              !got.has(source.shard.erasureIndex),
          )
          .sort((a, b) => b.speed - a.speed)[0]
      await new Promise<void>((resolve, reject) => {
        const pump = () => {
          if (got.size >= k) {
            clearTimeout(hedgeTimer)
            controller.abort()
            resolve()
            return
          }
          if (got.size > 0 && hedgeTimer === undefined && extra > 0) {
            hedgeTimer = setTimeout(
              () => {
                hedged = true
                pump()
              },
              Math.max(20, (performance.now() - startedAt) / 2),
            )
          }
          while (running.size < k - got.size + (hedged ? extra : 0)) {
            const source = next()
            if (!source) break
            running.add(source)
            fetchPiece(source, s, requestSignal).then(
              (bytes) => {
                running.delete(source)
                if (got.size < k) got.set(source.shard.erasureIndex, bytes)
                pump()
              },
              (error: unknown) => {
                running.delete(source)
                if (signal?.aborted) {
                  clearTimeout(hedgeTimer)
                  reject(signal.reason)
                  return
                }
                // Cut because k pieces arrived: no fault of the provider's.
                if (controller.signal.aborted) return
                // Bad bytes drop a provider even when they come after k good pieces.
                if (isTransientStorageFailure(error)) skipped.add(source)
                else drop(source, describe(error))
                if (got.size < k) pump()
              },
            )
          }
          if (running.size === 0 && got.size < k) {
            clearTimeout(hedgeTimer)
            reject(
              new NotEnoughStorageProvidersError({
                needed: k,
                available: got.size,
                what: `Reading segment ${s} of deal ${deal.dealId}`,
                reasons: sources.filter((x) => x.bad).map((x) => `${x.shard.provider}: ${x.bad}`),
              }),
            )
          }
        }
        pump()
      })
      const total = codeWidthOf([...wanted, ...got.keys()], k)
      const fetchedPieces = Array.from({ length: total }, (_, index) => got.get(index))
      const rebuilt = rebuildPieces({ k, total, pieces: fetchedPieces, wanted })
      return new Map(wanted.map((index, i) => [index, rebuilt[i] as Uint8Array]))
    },
  }
}

function describe(error: unknown): string {
  const short = (error as { shortMessage?: unknown })?.shortMessage
  if (typeof short === 'string') return short
  return error instanceof Error ? error.message : String(error)
}
