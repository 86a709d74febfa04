import { BaseError, type InvalidParameterErrorType, type StoaContractErrorType } from '@stoa/protocol'
import type { GatewayClient } from '../gateway/client.ts'
import { GatewayError, type GatewayRequestErrorType } from '../gateway/errors.ts'
import {
  formatLeaseId,
  type LeaseNotFoundErrorType,
  ProviderGatewayMissingError,
  type ProviderGatewayMissingErrorType,
  resolveLeaseGateway,
} from '../gateway/resolve.ts'
import { gatewayClientFor } from '../gateway/signer.ts'
import { sleep } from '../gateway/sleep.ts'
import type { GatewayLeaseStatus } from '../gateway/types.ts'
import type { ProgressEvent, ProgressOptions, StoaActionClient } from '../types.ts'

export type LeaseFailedErrorType = LeaseFailedError & { name: 'LeaseFailedError' }

/** The provider reports the lease `failed` (a service could not start or died) or `closed`. */
export class LeaseFailedError extends BaseError {
  readonly leaseId: bigint
  readonly status: GatewayLeaseStatus
  constructor(status: GatewayLeaseStatus) {
    super(`Lease ${formatLeaseId(status.leaseId)} is ${status.status} on its provider.`, {
      name: 'LeaseFailedError',
      metaMessages: [
        ...status.services.map(
          (service) =>
            `${service.name} (${service.kind}): ${service.status}${service.exitCode === undefined ? '' : `, exit code ${service.exitCode}`}${service.reason ? `, ${service.reason}` : ''}${service.message ? `: ${service.message}` : ''}`,
        ),
        '`stoa logs ID` shows what the workload printed.',
      ],
    })
    this.leaseId = status.leaseId
    this.status = status
  }
}

export type WaitForLeaseTimeoutErrorType = WaitForLeaseTimeoutError & { name: 'WaitForLeaseTimeoutError' }

/** The lease did not reach the awaited state in time. */
export class WaitForLeaseTimeoutError extends BaseError {
  readonly leaseId: bigint
  readonly last: GatewayLeaseStatus | undefined
  constructor(parameters: {
    leaseId: bigint
    until: string
    timeoutMs: number
    last: GatewayLeaseStatus | undefined
    lastError: unknown
  }) {
    const { leaseId, until, timeoutMs, last, lastError } = parameters
    super(
      `Lease ${formatLeaseId(leaseId)} was not ${until} after ${Math.round(timeoutMs / 1000)} s (last status: ${last?.status ?? 'none'}).`,
      {
        name: 'WaitForLeaseTimeoutError',
        ...(lastError === undefined ? {} : { cause: lastError }),
        metaMessages: [
          ...(last?.services.map((service) => `${service.name}: ${service.status}`) ?? []),
          'The lease keeps running and paying: `stoa status ID` to look again, `stoa close ID` to stop it.',
        ],
      },
    )
    this.leaseId = leaseId
    this.last = last
  }
}

/** What to wait for: `running` (every service up), `exited` (every job done), `ready` (whichever the lease's services need). */
export type WaitForLeaseUntil = 'ready' | 'running' | 'exited'

export type WaitForLeaseProgressEvent =
  | ProgressEvent<'lease:status', GatewayLeaseStatus>
  | ProgressEvent<'lease:poll-failed', { leaseId: bigint; error: unknown }>

export type WaitForLeaseParameters = ProgressOptions<WaitForLeaseProgressEvent> & {
  leaseId: bigint
  /** The gateway to ask; default: the one the lease's provider registered on chain. */
  gateway?: GatewayClient | string | undefined
  /** Default `ready`. */
  until?: WaitForLeaseUntil | undefined
  /**
   * Give up after this many ms (`WaitForLeaseTimeoutError`). Default: 120 000 while waiting for
   * services to run; no limit for jobs to exit (they take as long as they take: use `signal`).
   */
  timeoutMs?: number | undefined
  /** Between status requests (default 250 ms; the first ones come sooner: 20, 40, 80, 160 ms). */
  pollIntervalMs?: number | undefined
  /** Time limit of each status request (default 5 000 ms). */
  requestTimeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

export type WaitForLeaseReturnType = GatewayLeaseStatus

export type WaitForLeaseErrorType =
  | LeaseFailedErrorType
  | WaitForLeaseTimeoutErrorType
  | LeaseNotFoundErrorType
  | ProviderGatewayMissingErrorType
  | GatewayRequestErrorType
  | StoaContractErrorType
  | InvalidParameterErrorType

/**
 * Polls the provider's lease status (signed `GET /v1/leases/:id`) until the lease runs (services)
 * or has exited (jobs). Transient trouble (no answer, 404 before the provider has caught up with
 * the chain, 5xx) is retried until the time limit; 400, 401 and 403 are thrown at once. A lease
 * the provider reports `closed`, or `failed` while services are awaited, throws `LeaseFailedError`;
 * a failed job is returned (its exit code and logs are the answer).
 */
export async function waitForLease(
  client: StoaActionClient,
  parameters: WaitForLeaseParameters,
): Promise<WaitForLeaseReturnType> {
  const { leaseId, signal, onProgress } = parameters
  const until = parameters.until ?? 'ready'
  const pollIntervalMs = parameters.pollIntervalMs ?? 250
  const requestTimeoutMs = parameters.requestTimeoutMs ?? 5_000
  let gateway: GatewayClient
  if (typeof parameters.gateway === 'object') gateway = parameters.gateway
  else {
    let url = parameters.gateway
    if (url === undefined) {
      const resolved = await resolveLeaseGateway(client, { leaseId })
      url = resolved.gatewayUrl
      if (!url) throw new ProviderGatewayMissingError(leaseId)
    }
    gateway = gatewayClientFor(client, url)
  }

  const started = Date.now()
  // Polls quickly at first (a WASM job starts and ends within tens of ms of its manifest) and backs
  // off to `pollIntervalMs`: 20, 40, 80, 160 ms, then the interval.
  let nextDelayMs = Math.min(20, pollIntervalMs)
  let last: GatewayLeaseStatus | undefined
  let lastKey = ''
  let lastError: unknown
  while (true) {
    signal?.throwIfAborted()
    try {
      const status = await gateway.leaseStatus({ leaseId, signal, timeoutMs: requestTimeoutMs })
      lastError = undefined
      const key = JSON.stringify(status, (_, value) => (typeof value === 'bigint' ? value.toString() : value))
      if (key !== lastKey) {
        lastKey = key
        onProgress?.({ type: 'lease:status', detail: status })
      }
      last = status
      const outcome = leaseReadiness(status, until)
      if (outcome === 'done') return status
      if (outcome === 'failed') throw new LeaseFailedError(status)
    } catch (error) {
      if (signal?.aborted || error instanceof LeaseFailedError) throw error
      if (error instanceof GatewayError && [400, 401, 403].includes(error.status)) throw error
      lastError = error
      onProgress?.({ type: 'lease:poll-failed', detail: { leaseId, error } })
    }
    const target = awaitedState(last, until)
    const timeoutMs = parameters.timeoutMs ?? (target === 'exited' ? undefined : 120_000)
    if (timeoutMs !== undefined && Date.now() - started >= timeoutMs) {
      throw new WaitForLeaseTimeoutError({ leaseId, until: target ?? until, timeoutMs, last, lastError })
    }
    await sleep(nextDelayMs, signal)
    nextDelayMs = Math.min(nextDelayMs * 2, pollIntervalMs)
  }
}

/** The state `until` stands for, given what the lease runs (undefined: not known yet). */
function awaitedState(
  status: GatewayLeaseStatus | undefined,
  until: WaitForLeaseUntil,
): 'running' | 'exited' | undefined {
  if (until !== 'ready') return until
  if (!status || status.services.length === 0) return undefined
  return status.services.some((service) => service.kind === 'service') ? 'running' : 'exited'
}

/** Whether a status ends the wait: `done`, `failed` (throw) or `pending`. */
export function leaseReadiness(
  status: GatewayLeaseStatus,
  until: WaitForLeaseUntil,
): 'done' | 'failed' | 'pending' {
  if (status.status === 'closed') return 'failed'
  const target = awaitedState(status, until)
  if (status.status === 'failed') return target === 'exited' ? 'done' : 'failed'
  if (target === 'exited') return status.status === 'exited' ? 'done' : 'pending'
  if (target === 'running') {
    // A lease whose workloads all ended has nothing left to wait for.
    if (status.status === 'exited') return 'done'
    const services = status.services.filter((service) => service.kind === 'service')
    return status.status === 'running' && services.every((service) => service.status === 'running')
      ? 'done'
      : 'pending'
  }
  return 'pending'
}
