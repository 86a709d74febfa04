import type { StoaContractErrorType } from '@stoa/protocol'
import type { DecodeIndexErrorType, ObjectRecord } from '@stoa/storage'
import type { Address } from 'viem'
import type { NotEnoughStorageProvidersErrorType, StorageRequestErrorType } from '../storage/errors.ts'
import { loadObjectIndex } from '../storage/objectIndex.ts'
import type { StoaActionClient } from '../types.ts'

export type ListObjectsParameters = {
  masterKey: Uint8Array
  /** Whose index (default the client's account); only its owner's key opens it. */
  owner?: Address | undefined
  signal?: AbortSignal | undefined
}

export type ListObjectsReturnType = ObjectRecord[]

export type ListObjectsErrorType =
  | StoaContractErrorType
  | DecodeIndexErrorType
  | NotEnoughStorageProvidersErrorType
  | StorageRequestErrorType

/** The objects in the account's encrypted index (read from the index deal: works on a fresh machine). */
export async function listObjects(
  client: StoaActionClient,
  parameters: ListObjectsParameters,
): Promise<ListObjectsReturnType> {
  const { index } = await loadObjectIndex(client, parameters)
  return index.objects
}
