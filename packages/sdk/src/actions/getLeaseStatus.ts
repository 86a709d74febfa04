import {
  BaseError,
  InvalidParameterError,
  type InvalidParameterErrorType,
  leaseIdOf,
  parseLeaseId,
  type StoaContractErrorType,
} from '@stoa/protocol'
import {
  formatLeaseId,
  LeaseNotFoundError,
  type LeaseNotFoundErrorType,
  orderLeases,
} from '../gateway/resolve.ts'
import { gatewayClientFor } from '../gateway/signer.ts'
import type { GatewayLeaseStatus } from '../gateway/types.ts'
import type { StoaActionClient } from '../types.ts'
import { getLease, type LeaseRecord } from './getLease.ts'
import { getOrder, type OrderRecord } from './getOrder.ts'
import { getProvider, type ProviderRecord } from './getProvider.ts'

export type OrderNotFoundErrorType = OrderNotFoundError & { name: 'OrderNotFoundError' }

/** No order with that id on chain. */
export class OrderNotFoundError extends BaseError {
  readonly orderId: bigint
  constructor(orderId: bigint) {
    super(`Order ${orderId} does not exist.`, {
      name: 'OrderNotFoundError',
      metaMessages: ['`stoa ls` lists your orders and their leases.'],
    })
    this.orderId = orderId
  }
}

/**
 * An order id or a lease id, as people type them: `7` (an order: ids below 2^32), `30064771073`
 * (a lease: `(orderId << 32) | round`), `7/1` (order 7, round 1) or hex.
 */
export type LeaseReference = string | bigint | number

export type ParsedLeaseReference =
  | { kind: 'order'; orderId: bigint }
  | { kind: 'lease'; leaseId: bigint; orderId: bigint; round: number }

const ROUND_BITS = 32n

/** Tells an order id from a lease id (see `LeaseReference`); throws `InvalidParameterError` for anything else. */
export function parseLeaseReference(reference: LeaseReference, field = 'id'): ParsedLeaseReference {
  let value: bigint | undefined
  if (typeof reference === 'bigint') value = reference
  else if (typeof reference === 'number' && Number.isSafeInteger(reference)) value = BigInt(reference)
  else if (typeof reference === 'string') {
    const text = reference.trim()
    const pair = /^(\d{1,20})\/(\d{1,10})$/.exec(text)
    if (pair) {
      const orderId = BigInt(pair[1] as string)
      const round = Number(pair[2])
      if (orderId > 0n && round <= 0xffff_ffff) {
        return { kind: 'lease', leaseId: leaseIdOf(orderId, round), orderId, round }
      }
    } else if (/^(\d{1,78}|0x[0-9a-fA-F]{1,64})$/.test(text)) {
      value = BigInt(text)
    }
  }
  if (value === undefined || value <= 0n || value >= 1n << 256n) {
    throw new InvalidParameterError(
      field,
      'an order id (7), a lease id (30064771073) or order/round (7/1)',
      reference,
    )
  }
  if (value < 1n << ROUND_BITS) return { kind: 'order', orderId: value }
  const { orderId, round } = parseLeaseId(value)
  return { kind: 'lease', leaseId: value, orderId, round }
}

export type ResolvedLeaseReference = {
  orderId: bigint
  order: OrderRecord
  /** The lease named, or for an order its current lease, else its latest one; undefined when it never had one. */
  leaseId: bigint | undefined
}

/** Reads the order a reference names and picks its lease (see `ResolvedLeaseReference`). */
export async function resolveLeaseReference(
  client: StoaActionClient,
  reference: LeaseReference,
): Promise<ResolvedLeaseReference> {
  const parsed = parseLeaseReference(reference)
  const order = await getOrder(client, { orderId: parsed.orderId })
  if (!order) throw new OrderNotFoundError(parsed.orderId)
  if (parsed.kind === 'lease') return { orderId: parsed.orderId, order, leaseId: parsed.leaseId }
  if (order.leaseId !== undefined) return { orderId: parsed.orderId, order, leaseId: order.leaseId }
  const leases = await orderLeases(client, { orderId: parsed.orderId })
  return { orderId: parsed.orderId, order, leaseId: leases.at(-1)?.leaseId }
}

export type GetLeaseStatusParameters = {
  /** An order id or a lease id (see `LeaseReference`). */
  id: LeaseReference
  /** Ask the provider's gateway too (signed by the client's account; default true while the lease is active). */
  gateway?: boolean | undefined
  /** Time limit of the gateway request in ms (default 5 000). */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

export type GetLeaseStatusReturnType = {
  orderId: bigint
  order: OrderRecord
  /** Undefined when the order never had a lease. */
  leaseId: bigint | undefined
  /** `orderId/round`. */
  leaseLabel: string | undefined
  lease: LeaseRecord | null
  provider: ProviderRecord | null
  gatewayUrl: string | undefined
  /** How the provider runs the lease, when asked and it answered. */
  gateway: GatewayLeaseStatus | undefined
  /** Why the gateway was not asked or did not answer (the chain state is still there). */
  gatewayError: { name: string; message: string } | undefined
}

export type GetLeaseStatusErrorType =
  | StoaContractErrorType
  | InvalidParameterErrorType
  | OrderNotFoundErrorType
  | LeaseNotFoundErrorType

/**
 * The state of an order and its lease on chain (escrow, price, provider, close reason), plus how
 * the provider runs it according to its gateway (`GET /v1/leases/:id`, signed). A gateway that
 * cannot be asked or does not answer is reported in `gatewayError`, not thrown.
 */
export async function getLeaseStatus(
  client: StoaActionClient,
  parameters: GetLeaseStatusParameters,
): Promise<GetLeaseStatusReturnType> {
  const { orderId, order, leaseId } = await resolveLeaseReference(client, parameters.id)
  const lease = leaseId === undefined ? null : await getLease(client, { leaseId })
  if (leaseId !== undefined && parseLeaseReference(parameters.id).kind === 'lease' && !lease) {
    throw new LeaseNotFoundError({ leaseId })
  }
  const provider = lease ? await getProvider(client, { provider: lease.provider }) : null
  const gatewayUrl = provider?.gatewayUrl || undefined
  let gateway: GatewayLeaseStatus | undefined
  let gatewayError: GetLeaseStatusReturnType['gatewayError']
  const ask = parameters.gateway ?? lease?.state === 'Active'
  if (ask && lease && leaseId !== undefined) {
    if (!gatewayUrl) {
      gatewayError = { name: 'NoGatewayError', message: 'The provider has no gateway URL on record.' }
    } else if (!client.account) {
      gatewayError = {
        name: 'GatewaySignerRequiredError',
        message: "Asking the gateway needs the tenant's key (the request is signed).",
      }
    } else {
      try {
        gateway = await gatewayClientFor(client, gatewayUrl, {
          timeoutMs: parameters.timeoutMs ?? 5_000,
        }).leaseStatus({ leaseId, signal: parameters.signal })
      } catch (error) {
        if (parameters.signal?.aborted) throw error
        gatewayError = {
          name: (error as Error).name,
          message: (error as { shortMessage?: string }).shortMessage ?? (error as Error).message,
        }
      }
    }
  }
  return {
    orderId,
    order,
    leaseId,
    leaseLabel: leaseId === undefined ? undefined : formatLeaseId(leaseId),
    lease,
    provider,
    gatewayUrl,
    gateway,
    gatewayError,
  }
}
