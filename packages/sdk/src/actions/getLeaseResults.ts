import type { InvalidParameterErrorType, StoaContractErrorType } from '@stoa/protocol'
import type { GatewayRequestErrorType } from '../gateway/errors.ts'
import {
  LeaseNotFoundError,
  type LeaseNotFoundErrorType,
  ProviderGatewayMissingError,
  type ProviderGatewayMissingErrorType,
  resolveLeaseGateway,
} from '../gateway/resolve.ts'
import { gatewayClientFor } from '../gateway/signer.ts'
import type { GatewayResultFile } from '../gateway/types.ts'
import type { StoaActionClient } from '../types.ts'
import { type LeaseReference, type OrderNotFoundErrorType, resolveLeaseReference } from './getLeaseStatus.ts'

export type GetLeaseResultsParameters = {
  /** A lease id, or an order id for its current (else latest) lease. */
  id: LeaseReference
  /** Also fetch every file's bytes (checked against its sha256). Default false: the list only. */
  withContent?: boolean | undefined
  /** Time limit of each gateway request in ms (default 30 000). */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

export type GetLeaseResultsReturnType = {
  leaseId: bigint
  files: (GatewayResultFile & { bytes?: Uint8Array })[]
}

export type GetLeaseResultsErrorType =
  | GatewayRequestErrorType
  | LeaseNotFoundErrorType
  | OrderNotFoundErrorType
  | ProviderGatewayMissingErrorType
  | StoaContractErrorType
  | InvalidParameterErrorType

/**
 * The files a lease's jobs wrote to /results (name, size, sha256), from its provider's gateway;
 * with `withContent`, their bytes too, each checked against its digest.
 */
export async function getLeaseResults(
  client: StoaActionClient,
  parameters: GetLeaseResultsParameters,
): Promise<GetLeaseResultsReturnType> {
  const { leaseId, orderId } = await resolveLeaseReference(client, parameters.id)
  if (leaseId === undefined) throw new LeaseNotFoundError({ orderId })
  const { gatewayUrl } = await resolveLeaseGateway(client, { leaseId })
  if (!gatewayUrl) throw new ProviderGatewayMissingError(leaseId)
  const gateway = gatewayClientFor(client, gatewayUrl, { timeoutMs: parameters.timeoutMs ?? 30_000 })
  const { signal } = parameters
  const files: GetLeaseResultsReturnType['files'] = await gateway.results({ leaseId, signal })
  if (parameters.withContent) {
    for (const file of files) {
      file.bytes = await gateway.resultFile({
        leaseId,
        name: file.name,
        service: file.service,
        sha256: file.sha256,
        signal,
      })
    }
  }
  return { leaseId, files }
}
