import { BaseError, marketAbi, parseLeaseId } from '@stoa/protocol'
import type { Address } from 'viem'
import { getContractEvents } from 'viem/actions'
import { getLease, type LeaseRecord } from '../actions/getLease.ts'
import { getProvider, type ProviderRecord } from '../actions/getProvider.ts'
import type { StoaActionClient } from '../types.ts'

export type LeaseNotFoundErrorType = LeaseNotFoundError & { name: 'LeaseNotFoundError' }

/** No lease with that id on chain (or the order never had one). */
export class LeaseNotFoundError extends BaseError {
  readonly leaseId: bigint | undefined
  readonly orderId: bigint | undefined
  constructor(parameters: { leaseId?: bigint | undefined; orderId?: bigint | undefined }) {
    const { leaseId, orderId } = parameters
    super(
      leaseId !== undefined
        ? `Lease ${formatLeaseId(leaseId)} (${leaseId}) does not exist.`
        : `Order ${orderId} has no lease yet.`,
      {
        name: 'LeaseNotFoundError',
        metaMessages: ['`stoa ls` lists your orders and their leases.'],
      },
    )
    this.leaseId = leaseId
    this.orderId = orderId
  }
}

export type ProviderGatewayMissingErrorType = ProviderGatewayMissingError & {
  name: 'ProviderGatewayMissingError'
}

/** The lease's provider has no gateway URL on record, so nothing can be sent to it. */
export class ProviderGatewayMissingError extends BaseError {
  readonly leaseId: bigint
  constructor(leaseId: bigint) {
    super(`The provider of lease ${formatLeaseId(leaseId)} has no gateway URL on record.`, {
      name: 'ProviderGatewayMissingError',
    })
    this.leaseId = leaseId
  }
}

/** A lease id for people: `<orderId>/<round>` (lease ids are `(orderId << 32) | round`). */
export function formatLeaseId(leaseId: bigint): string {
  const { orderId, round } = parseLeaseId(leaseId)
  return `${orderId}/${round}`
}

/** The leases of an order, oldest first, from its `LeaseCreated` logs. */
export async function orderLeases(
  client: StoaActionClient,
  parameters: { orderId: bigint; fromBlock?: bigint | undefined },
): Promise<{ leaseId: bigint; provider: Address; pricePerSecond: bigint; blockNumber: bigint }[]> {
  const logs = await getContractEvents(client, {
    address: client.deployment.contracts.market,
    abi: marketAbi,
    eventName: 'LeaseCreated',
    args: { orderId: parameters.orderId },
    fromBlock: parameters.fromBlock ?? 0n,
    toBlock: 'latest',
    strict: true,
  })
  return logs
    .map((log) => ({
      leaseId: log.args.leaseId,
      provider: log.args.provider,
      pricePerSecond: log.args.pricePerSecond,
      blockNumber: log.blockNumber,
    }))
    .sort((a, b) => (a.leaseId < b.leaseId ? -1 : a.leaseId > b.leaseId ? 1 : 0))
}

export type LeaseGateway = {
  lease: LeaseRecord
  provider: ProviderRecord | null
  /** The gateway the lease's provider registered; undefined when the provider has no record. */
  gatewayUrl: string | undefined
}

/** A lease, its provider's record and the provider's gateway URL, from the chain. */
export async function resolveLeaseGateway(
  client: StoaActionClient,
  parameters: { leaseId: bigint },
): Promise<LeaseGateway> {
  const lease = await getLease(client, { leaseId: parameters.leaseId })
  if (!lease) throw new LeaseNotFoundError({ leaseId: parameters.leaseId })
  const provider = await getProvider(client, { provider: lease.provider })
  return { lease, provider, gatewayUrl: provider?.gatewayUrl || undefined }
}
