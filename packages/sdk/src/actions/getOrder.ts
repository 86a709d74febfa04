import {
  type InvalidParameterErrorType,
  leaseIdOf,
  marketAbi,
  type OrderState,
  orderStateName,
  type RegionName,
  regionsFromMask,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { positive } from '../internal/values.ts'
import { readStoaContract } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetOrderParameters = { orderId: bigint; blockNumber?: bigint | undefined }

export type OrderRecord = {
  orderId: bigint
  tenant: Address
  state: OrderState
  autoReopen: boolean
  /** 0 at creation, +1 at every reopen. */
  round: number
  /** Bids in the current round. */
  bidCount: number
  /** Provider id of the lowest bid this round (0: none). */
  bestBidProvider: number
  /** Block time (seconds) until which bids are accepted this round. */
  bidDeadline: number
  bidWindow: number
  manifestHash: Hex
  /** Credits held for the order (shared by its leases, one after another). */
  escrow: bigint
  maxPricePerSecond: bigint
  regionMask: number
  /** The regions the mask allows (all of them for mask 0). */
  regions: RegionName[]
  /** Rounds restarted (restartBidding) since the order's last lease. */
  restartsSinceLease: number
  /** The lease of the current round while the order is leased. */
  leaseId: bigint | undefined
}

/** `null` for an order id never created. */
export type GetOrderReturnType = OrderRecord | null

export type GetOrderErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Reads an order. Resources and the manifest URI are not stored: they are in its `OrderCreated` log. */
export async function getOrder(
  client: StoaActionClient,
  parameters: GetOrderParameters,
): Promise<GetOrderReturnType> {
  const orderId = positive(parameters.orderId, 'orderId')
  const order = await readStoaContract(client, {
    address: client.deployment.contracts.market,
    abi: marketAbi,
    functionName: 'getOrder',
    args: [orderId],
    blockNumber: parameters.blockNumber,
  })
  const state = orderStateName(order.state)
  if (state === 'None') return null
  return {
    orderId,
    tenant: order.tenant,
    state,
    autoReopen: order.autoReopen,
    round: order.round,
    bidCount: order.bidCount,
    bestBidProvider: order.bestBidProvider,
    bidDeadline: order.bidDeadline,
    bidWindow: order.bidWindow,
    manifestHash: order.manifestHash,
    escrow: order.escrow,
    maxPricePerSecond: order.maxPricePerSecond,
    regionMask: order.regionMask,
    regions: regionsFromMask(order.regionMask),
    restartsSinceLease: order.restartsSinceLease,
    leaseId: state === 'Leased' ? leaseIdOf(orderId, order.round) : undefined,
  }
}
