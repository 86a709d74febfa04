import type { StoaContractErrorType } from '@stoa/protocol'
import type { DecodeIndexErrorType, ObjectRecord } from '@stoa/storage'
import { ObjectNotFoundError, type ObjectNotFoundErrorType } from '../storage/errors.ts'
import { loadObjectIndex, saveObjectIndex } from '../storage/objectIndex.ts'
import type { ProgressOptions, StoaActionClient, TransactionProgressEvent } from '../types.ts'

export type RemoveObjectParameters = ProgressOptions<TransactionProgressEvent> & {
  name: string
  masterKey: Uint8Array
  signal?: AbortSignal | undefined
}

export type RemoveObjectReturnType = {
  removed: ObjectRecord
  /** The new index deal. */
  indexDealId: bigint
}

export type RemoveObjectErrorType = ObjectNotFoundErrorType | DecodeIndexErrorType | StoaContractErrorType

/**
 * Drops an object from the index (a new index deal, pointed to by `setIndex`). Its deal is left
 * to run out: StorageDeals v1 has no early cancel, so the escrow keeps paying the providers.
 */
export async function removeObject(
  client: StoaActionClient,
  parameters: RemoveObjectParameters,
): Promise<RemoveObjectReturnType> {
  const { masterKey, signal, name } = parameters
  const { index } = await loadObjectIndex(client, { masterKey, signal })
  const removed = index.objects.find((object) => object.name === name)
  if (!removed) throw new ObjectNotFoundError(name)
  index.objects = index.objects.filter((object) => object !== removed)
  const { dealId } = await saveObjectIndex(client, {
    masterKey,
    index,
    signal,
    onTransaction: parameters.onProgress,
  })
  return { removed, indexDealId: dealId }
}
