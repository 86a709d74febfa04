/**
 * The read side shared by getObject, the index and repair: per segment, verified pieces from the
 * fastest `k` providers of a deal (k started, a hedged backup when one lags, the rest cancelled), a
 * provider serving bad bytes dropped and another used, then the missing pieces rebuilt.
 *
 * getObject reads unchecked pieces (`fetchSegment`) and lets AES-GCM authenticate them: only when
 * a segment fails to decrypt are its pieces checked one by one (`checkSegment`), the providers of
 * bad ones dropped and the segment read again, checked (`readSegment`). Repair and the index,
 * which re-upload or trust pieces without decrypting them, check every piece as it arrives.
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
  /**
   * Segment `s`'s pieces at the erasure indices in `wanted` (rebuilt when not fetched), each
   * checked as it arrives. `have`: pieces of the segment already checked, not fetched again.
   */
  readSegment(
    segment: number,
    wanted: readonly number[],
    signal?: AbortSignal | undefined,
    have?: ReadonlyMap<number, Uint8Array> | undefined,
  ): Promise<Map<number, Uint8Array>>
  /**
   * `k` pieces of segment `s` by erasure index, from the fastest providers, NOT checked: for a
   * caller that authenticates what it decodes from them (AES-GCM does) and calls `checkSegment`
   * when that fails. Saves a sha256 pass over every byte read.
   */
  fetchSegment(segment: number, signal?: AbortSignal | undefined): Promise<Map<number, Uint8Array>>
  /**
   * The pieces of `pieces` (from `fetchSegment`) that check out; the providers of the others are
   * dropped, so they are not read from again.
   */
  checkSegment(
    segment: number,
    pieces: ReadonlyMap<number, Uint8Array>,
    signal?: AbortSignal | undefined,
  ): Promise<Map<number, Uint8Array>>
  /** Providers dropped, with why. */
  dropped(): { provider: Address; reason: string }[]
  bytesFetched(): number
  /**
   * Hands back pieces from `fetchSegment` the caller is done with: their buffers are reused by
   * the next fetches (fewer large allocations, so fewer full garbage collections). Nothing may
   * read them afterwards.
   */
  release(pieces: Iterable<Uint8Array>): void
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
   * The sha256 a piece must have, when the caller knows it (an older object record's
   * `pieceHashes`): the piece is then checked with one sha256, and its provider's piece roots are
   * not fetched. Otherwise a piece is checked against its Merkle piece root from its provider,
   * itself checked against the on-chain shard root.
   */
  pieceHash?: ((segment: number, erasureIndex: number) => Uint8Array | undefined) | undefined
  /**
   * Makes the buffers unchecked pieces are read into (default `Buffer.allocUnsafe`): getObject
   * reads into memory its decrypting thread shares (createPlaintextFileWriter's `allocate`).
   */
  allocate?: ((size: number) => Uint8Array) | undefined
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

  const badPiece = (source: Source, expected: string) =>
    new StorageResponseError({
      provider: source.shard.provider,
      method: 'GET',
      url: `${source.storage?.url}/v1/storage/shards/${source.shard.root}`,
      expected,
    })

  /** Why `bytes` are not piece `s` of `source`'s shard, or undefined when they are. */
  const mismatch = (
    source: Source,
    s: number,
    bytes: Uint8Array,
    expected: Uint8Array,
    known: boolean,
    actual: Uint8Array,
  ): StorageResponseError | undefined => {
    const piece = pieces[s] as PieceRange
    if (bytes.length === piece.length && sameBytes(actual, expected)) return undefined
    return badPiece(
      source,
      known
        ? `piece ${s} with the recorded sha256 ${bytesToHex(expected)}`
        : `piece ${s} matching its piece root ${bytesToHex(expected)}`,
    )
  }

  // Piece buffers handed back by `release`, by length, for `fetchPiece` to read into. Only whole
  // buffers this reader allocated (`owned`) are taken back, each once (`spareSet`).
  const spare = new Map<number, ArrayBufferLike[]>()
  const spareSet = new Set<ArrayBufferLike>()
  const owned = new WeakSet<ArrayBufferLike>()
  const maxSpare = 3 * deal.k + 2
  const bufferFor = (size: number): Uint8Array => {
    const reused = spare.get(size)?.pop()
    if (reused) {
      spareSet.delete(reused)
      return new Uint8Array(reused)
    }
    // Not zeroed: the body fills it, and only the bytes that arrived are ever read.
    const fresh = parameters.allocate?.(size) ?? Buffer.allocUnsafe(size)
    if (fresh.byteOffset === 0 && fresh.byteLength === fresh.buffer.byteLength) owned.add(fresh.buffer)
    return fresh
  }

  /** Piece `s` from `source`; with `check`, hashed as it arrives and compared with what it must be. */
  const fetchPiece = async (
    source: Source,
    s: number,
    signal: AbortSignal,
    check: boolean,
  ): Promise<Uint8Array> => {
    const piece = pieces[s] as PieceRange
    const known = check ? parameters.pieceHash?.(s, source.shard.erasureIndex) : undefined
    const roots = check && !known ? await rootsOf(source, signal) : undefined
    const startedAt = performance.now()
    // Hashed as it arrives, while the provider sends the rest (any chunking gives the same digest).
    const hash = known ? createHash('sha256') : undefined
    const tree = check && !known ? createMerkleBuilder() : undefined
    const bytes = await (source.storage as StorageClient).getShard({
      root: source.shard.root,
      start: piece.offset,
      end: piece.offset + piece.length,
      signal,
      onChunk: hash || tree ? (chunk) => (hash ? hash.update(chunk) : tree?.update(chunk)) : undefined,
      into: check ? undefined : (size) => (size === piece.length ? bufferFor(size) : undefined),
    })
    if (check) {
      const expected = known ?? (roots?.[s] as Uint8Array)
      const actual = hash ? new Uint8Array(hash.digest()) : (tree as MerkleBuilder).finish().root
      const bad = mismatch(source, s, bytes, expected, known !== undefined, actual)
      if (bad) throw bad
    } else if (bytes.length !== piece.length) {
      throw badPiece(source, `piece ${s} of ${piece.length} bytes`)
    }
    fetched += bytes.length
    const ms = Math.max(1, performance.now() - startedAt)
    source.speed = source.speed * 0.5 + (bytes.length / ms) * 0.5
    return bytes
  }

  /** Checks a piece fetched unchecked, whole. */
  const checkPiece = async (
    source: Source,
    s: number,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<StorageResponseError | undefined> => {
    const known = parameters.pieceHash?.(s, source.shard.erasureIndex)
    if (known) {
      const actual = new Uint8Array(createHash('sha256').update(bytes).digest())
      return mismatch(source, s, bytes, known, true, actual)
    }
    const roots = await rootsOf(source, signal)
    const tree = createMerkleBuilder()
    tree.update(bytes)
    return mismatch(source, s, bytes, roots[s] as Uint8Array, false, tree.finish().root)
  }

  /** At least `k` pieces of segment `s` by erasure index: `have`, then the fastest providers'. */
  const gather = async (
    s: number,
    signal: AbortSignal | undefined,
    check: boolean,
    have: ReadonlyMap<number, Uint8Array> | undefined,
  ): Promise<Map<number, Uint8Array>> => {
    const k = deal.k
    const got = new Map<number, Uint8Array>(have)
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
    let hedged = 0
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
        if (got.size > (have?.size ?? 0) && hedgeTimer === undefined && extra > 0) {
          const delay = Math.max(20, (performance.now() - startedAt) / 2)
          const hedge = () => {
            hedged += extra
            // Again after as long, while pieces are still missing (cleared once k arrived).
            hedgeTimer = setTimeout(hedge, delay)
            pump()
          }
          hedgeTimer = setTimeout(hedge, delay)
        }
        while (running.size < k - got.size + hedged) {
          const source = next()
          if (!source) break
          running.add(source)
          fetchPiece(source, s, requestSignal, check).then(
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
              // Cut because k pieces arrived first: no fault, but it was slower this time, so it
              // ranks a little lower for the next segment (a stalled one is not picked first again).
              if (controller.signal.aborted) {
                source.speed *= 0.5
                return
              }
              // A provider that failed or timed out ranks last for later segments too (its
              // measured speed comes back as it serves again). Bad bytes drop a provider, even
              // when they come after k good pieces.
              if (isTransientStorageFailure(error)) {
                skipped.add(source)
                source.speed = 0
              } else drop(source, describe(error))
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
    return got
  }

  return {
    pieces,
    dropped: () =>
      sources.filter((s) => s.bad).map((s) => ({ provider: s.shard.provider, reason: s.bad as string })),
    bytesFetched: () => fetched,

    release(released) {
      for (const bytes of released) {
        const buffer = bytes.buffer
        if (spareSet.size >= maxSpare) return
        if (!owned.has(buffer) || spareSet.has(buffer)) continue
        if (bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength) continue
        const list = spare.get(bytes.byteLength) ?? []
        list.push(buffer)
        spare.set(bytes.byteLength, list)
        spareSet.add(buffer)
      }
    },

    async readSegment(s, wanted, signal, have) {
      const got = await gather(s, signal, true, have)
      const total = codeWidthOf([...wanted, ...got.keys()], deal.k)
      const fetchedPieces = Array.from({ length: total }, (_, index) => got.get(index))
      const rebuilt = rebuildPieces({ k: deal.k, total, pieces: fetchedPieces, wanted })
      return new Map(wanted.map((index, i) => [index, rebuilt[i] as Uint8Array]))
    },

    fetchSegment: (s, signal) => gather(s, signal, false, undefined),

    async checkSegment(s, fetchedPieces, signal) {
      const good = new Map<number, Uint8Array>()
      for (const [erasureIndex, bytes] of fetchedPieces) {
        const source = sources.find((candidate) => candidate.shard.erasureIndex === erasureIndex)
        if (!source || source.bad) continue
        let bad: unknown
        try {
          bad = await checkPiece(source, s, bytes, signal)
        } catch (error) {
          if (signal?.aborted) throw error
          // Its piece roots did not come (a transient failure): the piece is not kept, the provider
          // is; a reply that is not roots of the on-chain root drops it.
          if (!isTransientStorageFailure(error)) drop(source, describe(error))
          continue
        }
        if (bad) drop(source, describe(bad))
        else good.set(erasureIndex, bytes)
      }
      return good
    },
  }
}

function describe(error: unknown): string {
  const short = (error as { shortMessage?: unknown })?.shortMessage
  if (typeof short === 'string') return short
  return error instanceof Error ? error.message : String(error)
}
