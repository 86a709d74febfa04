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
import type { StoaActionClient } from '../types.ts'
import { type LeaseReference, type OrderNotFoundErrorType, resolveLeaseReference } from './getLeaseStatus.ts'

export type GetLeaseLogsParameters = {
  /** A lease id, or an order id for its current (else latest) lease. */
  id: LeaseReference
  /**
   * One service's lines only. Left out on a lease with several services, every service's lines come,
   * each prefixed with `<service> | ` (one after another, or interleaved as they arrive with `follow`).
   */
  service?: string | undefined
  /** Keep streaming until the workload ends, the provider closes the stream or `signal` aborts. */
  follow?: boolean | undefined
  /** Only the last N lines so far (of each service). */
  tail?: number | undefined
  /** Time limit until the gateway answers, in ms (default 10 000); a followed stream then runs on. */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

/** Log lines, without their newline, as the provider sends them. */
export type GetLeaseLogsReturnType = AsyncIterable<string>

export type GetLeaseLogsErrorType =
  | GatewayRequestErrorType
  | LeaseNotFoundErrorType
  | OrderNotFoundErrorType
  | ProviderGatewayMissingErrorType
  | StoaContractErrorType
  | InvalidParameterErrorType

/**
 * A lease's log lines from its provider's gateway (signed `GET /v1/leases/:id/logs`), found
 * through the chain: lease → provider → registered gateway URL. Errors surface at the first
 * iteration; breaking out of the loop ends the stream.
 *
 * @example
 * for await (const line of getLeaseLogs(client, { id: orderId, follow: true, signal })) console.log(line)
 */
export async function* getLeaseLogs(
  client: StoaActionClient,
  parameters: GetLeaseLogsParameters,
): AsyncGenerator<string, void, undefined> {
  const { leaseId, orderId } = await resolveLeaseReference(client, parameters.id)
  if (leaseId === undefined) throw new LeaseNotFoundError({ orderId })
  const { gatewayUrl } = await resolveLeaseGateway(client, { leaseId })
  if (!gatewayUrl) throw new ProviderGatewayMissingError(leaseId)
  const gateway = gatewayClientFor(client, gatewayUrl)
  const { follow, tail, timeoutMs, signal } = parameters
  if (parameters.service === undefined) {
    const { services } = await gateway.leaseStatus({ leaseId, signal, timeoutMs })
    if (services.length > 1) {
      // Stops every service's stream when the caller stops reading (or on an error).
      const stop = new AbortController()
      const streamSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
      const streams = services.map((service) =>
        prefixed(
          service.name,
          gateway.logs({ leaseId, service: service.name, follow, tail, timeoutMs, signal: streamSignal }),
        ),
      )
      try {
        if (follow) yield* interleave(streams)
        else for (const stream of streams) yield* stream
      } finally {
        stop.abort()
      }
      return
    }
  }
  yield* gateway.logs({ leaseId, service: parameters.service, follow, tail, timeoutMs, signal })
}

async function* prefixed(name: string, lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield `${name} | ${line}`
}

/** Lines of several streams as each arrives. The caller aborts the streams' signal when it stops. */
async function* interleave(streams: AsyncIterable<string>[]): AsyncGenerator<string> {
  type Pulled = { index: number; result?: IteratorResult<string>; error?: unknown }
  const iterators = streams.map((stream) => stream[Symbol.asyncIterator]())
  const pending = new Map<number, Promise<Pulled>>()
  const pull = (index: number) => {
    const iterator = iterators[index]
    if (!iterator) return
    pending.set(
      index,
      iterator.next().then(
        (result) => ({ index, result }),
        (error: unknown) => ({ index, error }),
      ),
    )
  }
  iterators.forEach((_, index) => {
    pull(index)
  })
  while (pending.size > 0) {
    const { index, result, error } = await Promise.race(pending.values())
    pending.delete(index)
    if (error !== undefined) throw error
    if (!result || result.done) continue
    yield result.value
    pull(index)
  }
}
