/**
 * Market enums and lease ids, mirrored from `IMarket.sol`. The index of each name is its on-chain
 * value; the order must match the Solidity enum.
 */
export const orderStates = ['None', 'Open', 'Leased', 'Closed'] as const
export type OrderState = (typeof orderStates)[number]

export const leaseStates = ['None', 'Active', 'Closed'] as const
export type LeaseState = (typeof leaseStates)[number]

export const closeReasons = [
  'None',
  'TenantClosed',
  'ProviderClosed',
  'InsufficientFunds',
  'FaultReportedByTenant',
  'FaultConfirmed',
] as const
export type CloseReason = (typeof closeReasons)[number]

function enumName<const names extends readonly string[]>(
  names: names,
  value: number,
  what: string,
): names[number] {
  const name = names[value]
  if (name === undefined) throw new RangeError(`${value} is not a ${what} (0..${names.length - 1})`)
  return name
}

export function orderStateName(value: number): OrderState {
  return enumName(orderStates, value, 'Market order state')
}

export function leaseStateName(value: number): LeaseState {
  return enumName(leaseStates, value, 'Market lease state')
}

export function closeReasonName(value: number): CloseReason {
  return enumName(closeReasons, value, 'Market close reason')
}

/** A lease id is `(orderId << 32) | round`: each round of an order has at most one lease. */
export function leaseIdOf(orderId: bigint, round: number): bigint {
  if (orderId < 0n || !Number.isInteger(round) || round < 0 || round > 0xffff_ffff) {
    throw new RangeError(`leaseIdOf: bad order id ${orderId} or round ${round}`)
  }
  return (orderId << 32n) | BigInt(round)
}

/** The order and round a lease id encodes. */
export function parseLeaseId(leaseId: bigint): { orderId: bigint; round: number } {
  if (leaseId < 0n) throw new RangeError(`parseLeaseId: ${leaseId} is negative`)
  return { orderId: leaseId >> 32n, round: Number(leaseId & 0xffff_ffffn) }
}
