import type { DealView, MarketModel } from './model.ts'

/**
 * Price history per resource, in USD per hour per unit.
 *
 * Compute: a bid or a lease prices the whole bundle an order asks for (CPU, memory, disk, GPUs
 * together), in 1e-12 USD per second. The contracts keep no split, so a per-resource price is
 * derived: the bundle's USD per hour (`price × 3600 / 1e12`) divided by the bundle's amount of
 * that one resource: per CPU core (`cpuMillis / 1000`), per GiB of memory (`memoryMiB / 1024`),
 * per GPU. That is an *all-in* unit price (the core-hour "with the memory that came with it"):
 * exact for the resource that dominates a bundle, an upper bound for the others. Orders that ask
 * for none of a resource give no point for it.
 *
 * Storage is priced per resource on chain: `pricePerByteSecond` is 1e-18 credits (1e-24 USD)
 * per byte per second, so USD per TiB-hour = `price × 2^40 × 3600 / 1e24`, exact.
 */

export type PriceResource = 'bundle' | 'cpu' | 'memory' | 'gpu' | 'storage'

export const priceResources: { id: PriceResource; label: string; unit: string }[] = [
  { id: 'cpu', label: 'CPU', unit: 'USD per core-hour (all-in)' },
  { id: 'memory', label: 'Memory', unit: 'USD per GiB-hour (all-in)' },
  { id: 'gpu', label: 'GPU', unit: 'USD per GPU-hour (all-in)' },
  { id: 'bundle', label: 'Whole order', unit: 'USD per hour' },
  { id: 'storage', label: 'Storage', unit: 'USD per TiB-hour' },
]

export type PricePoint = {
  time: number
  /** Leases: the accepted price. Bids: every offer (lighter dots). */
  lease?: number | undefined
  bid?: number | undefined
  label: string
}

const TIB = 2 ** 40

export function priceHistory(
  market: MarketModel,
  deals: readonly DealView[],
  resource: PriceResource,
): PricePoint[] {
  const points: PricePoint[] = []
  if (resource === 'storage') {
    for (const deal of deals) {
      if (deal.time === undefined) continue
      points.push({
        time: deal.time,
        lease: (Number(deal.pricePerByteSecond) * TIB * 3600) / 1e24,
        label: `deal ${deal.dealId}`,
      })
    }
  } else {
    const perUnit = (orderId: bigint, pricePerSecond: bigint): number | undefined => {
      const order = market.orderById.get(orderId)
      if (!order) return undefined
      const usdPerHour = (Number(pricePerSecond) * 3600) / 1e12
      const amount =
        resource === 'cpu'
          ? order.resources.cpuMillis / 1000
          : resource === 'memory'
            ? order.resources.memoryMiB / 1024
            : resource === 'gpu'
              ? order.resources.gpus
              : 1
      return amount > 0 ? usdPerHour / amount : undefined
    }
    for (const bid of market.bids) {
      const value = perUnit(bid.orderId, bid.pricePerSecond)
      if (value !== undefined && bid.time !== undefined)
        points.push({ time: bid.time, bid: value, label: `bid on order ${bid.orderId}` })
    }
    for (const lease of market.leases) {
      const value = perUnit(lease.orderId, lease.pricePerSecond)
      if (value !== undefined && lease.time !== undefined)
        points.push({ time: lease.time, lease: value, label: `lease on order ${lease.orderId}` })
    }
  }
  return points.sort((a, b) => a.time - b.time)
}
