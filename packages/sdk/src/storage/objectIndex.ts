/**
 * The object index (spec section 6): the account's object records, encrypted under a key derived
 * from the master key and stored as a deal of its own that `StorageDeals.setIndex` points to.
 */
import { decodeIndex, encodeIndex, type ObjectIndex, type ObjectRecord } from '@stoa/storage'
import type { Address } from 'viem'
import { getIndexDeal } from '../actions/getIndexDeal.ts'
import { setIndex } from '../actions/setIndex.ts'
import type { StoaActionClient, TransactionProgressEvent } from '../types.ts'
import { readDeal } from './deals.ts'
import { createShardReader } from './download.ts'
import { selectStorageProviders } from './placement.ts'
import { defaultSchedule, openDeal, uploadShards } from './upload.ts'

export type { ObjectIndex, ObjectRecord }

/** Reads and opens the account's index; empty when none was set. */
export async function loadObjectIndex(
  client: StoaActionClient,
  parameters: { masterKey: Uint8Array; owner?: Address | undefined; signal?: AbortSignal | undefined },
): Promise<{ dealId: bigint | undefined; index: ObjectIndex }> {
  const dealId = await getIndexDeal(client, { owner: parameters.owner })
  if (dealId === undefined) return { dealId, index: { version: 1, objects: [] } }
  const deal = await readDeal(client, dealId)
  const reader = await createShardReader(client, { deal })
  // The index is one segment: its k data pieces (fetched or rebuilt) are the blob.
  const data = Array.from({ length: deal.k }, (_, i) => i)
  const pieces = await reader.readSegment(0, data, parameters.signal)
  const objects = decodeIndex(
    { pieces: data.map((i) => pieces.get(i)), k: deal.k, total: deal.k },
    parameters.masterKey,
  )
  return { dealId, index: { version: 1, objects } }
}

export type SaveObjectIndexParameters = {
  masterKey: Uint8Array
  index: ObjectIndex
  k?: number | undefined
  n?: number | undefined
  periods?: number | undefined
  signal?: AbortSignal | undefined
  onTransaction?: ((event: TransactionProgressEvent) => void) | undefined
}

/** Writes the index as a new deal and points `setIndex` at it; the old index deal runs out. */
export async function saveObjectIndex(
  client: StoaActionClient,
  parameters: SaveObjectIndexParameters,
): Promise<{ dealId: bigint }> {
  const { signal } = parameters
  const k = parameters.k ?? 4
  const n = parameters.n ?? 6
  const { selected } = await selectStorageProviders(client, { count: n + 1, min: n, signal })
  const { pieceSize, pieces } = encodeIndex(parameters.index.objects, parameters.masterKey, {
    k,
    total: selected.length,
  })
  const { shards } = await uploadShards(client, {
    source: { segmentCount: 1, shardSize: pieceSize, pieceSize, segment: async () => pieces },
    slots: selected.map((provider, erasureIndex) => ({ provider, erasureIndex })),
    keep: n,
    signal,
  })
  const schedule = await defaultSchedule(client, parameters.periods ?? 24)
  const { dealId } = await openDeal(client, {
    shards,
    k,
    pieceSize,
    schedule,
    signal,
    onTransaction: parameters.onTransaction,
  })
  await setIndex(client, { dealId, onProgress: parameters.onTransaction })
  return { dealId }
}
