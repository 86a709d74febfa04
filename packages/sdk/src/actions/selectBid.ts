import {
  InvalidParameterError,
  type InvalidParameterErrorType,
  pricePerSecondToUsdPerHour,
  type RegionName,
  regions as regionTable,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address } from 'viem'
import { measureGatewayLatency } from '../gateway/latency.ts'
import type { StoaActionClient } from '../types.ts'
import type { BidRecord } from './getBids.ts'
import { getProvider, type ProviderRecord } from './getProvider.ts'

/**
 * Points each part of a bid's score is worth at most. Price dominates: the cheapest bid gets all
 * its price points, a bid at twice that price half of them, so a price gap outweighs everything
 * but a large gap in reliability.
 */
export const bidScoreWeights = {
  /** `price × cheapest / price`. */
  price: 60,
  /**
   * `reliability × (leasesCompleted + 1) / (leasesCompleted + faults + 2)`: a Laplace-smoothed
   * success rate, so a new provider starts at half and a long clean record nears all of it.
   */
  reliability: 20,
  /**
   * `latency × min(1, latencyReferenceMs / roundTripMs)`: full points up to the reference round
   * trip (50 ms), half at twice it. A latency not measured scores half.
   */
  latency: 10,
  /**
   * `region × (1 − index / preferred.length)` for the provider's region at `index` in the
   * preference list; 0 outside it. With no preference every bid scores 0 here.
   */
  region: 10,
} as const

export type BidScoreWeights = { [part in keyof typeof bidScoreWeights]: number }

/** What `selectBid` needs to know about a bidder: its on-chain record (`getProvider`) or the same fields. */
export type BidderInfo = {
  /** Region code (or name) from the registry. */
  region: number | RegionName
  /** Registered, staked, not jailed: only an active provider's bid can be accepted. */
  active?: boolean | undefined
  stats: { leasesCompleted: bigint; faults: bigint; leasesWon?: bigint | undefined }
}

/** Lookup by address (any case): a Map or a plain record. */
export type ByAddress<value> = ReadonlyMap<Address, value> | Readonly<Record<Address, value>>

export type SelectBidParameters = {
  /** Each bidder's record; a bid whose provider is missing here is excluded. */
  providers: ByAddress<BidderInfo>
  /**
   * Measured `GET /v1/health` round trips in ms; `null` means the gateway did not answer (the bid
   * is excluded: the manifest could not be delivered). A provider left out scores half the latency points.
   */
  latencies?: ByAddress<number | null> | undefined
  /** Regions in order of preference (most wanted first). */
  regions?: readonly (RegionName | number)[] | undefined
  /** Replace some weights (points per part). */
  weights?: Partial<BidScoreWeights> | undefined
  /** The round trip that still earns all latency points, in ms (default 50). */
  latencyReferenceMs?: number | undefined
}

export type RankedBid = {
  bid: Pick<BidRecord, 'provider' | 'pricePerSecond'> & Partial<BidRecord>
  provider: Address
  /** Sum of the parts, 0 to the sum of the weights (100 by default). */
  score: number
  parts: { price: number; reliability: number; latency: number; region: number }
  /** One line per part, saying why it scored what it did. */
  reasons: string[]
}

export type SelectBidReturnType = {
  /** The bid to accept: `ranking[0]`, undefined when no bid is usable. */
  best: RankedBid | undefined
  /** Usable bids, best first. Ties go to the lower price, then the earlier bid, then the lower address. */
  ranking: RankedBid[]
  /** Bids that cannot be accepted, with why. */
  excluded: { bid: RankedBid['bid']; provider: Address; reason: string }[]
}

export type SelectBidErrorType = InvalidParameterErrorType

/**
 * Ranks bids by score and picks the best: price (dominant), the provider's track record
 * (`leasesCompleted` against `faults`), the measured round trip to its gateway, and the region
 * preference (see `bidScoreWeights`). Deterministic: the same inputs always give the same
 * ranking. Excludes bids from inactive providers, providers with no record and gateways that did
 * not answer.
 *
 * @example
 * const bids = await getBids(client, { orderId })
 * const providers = new Map(await Promise.all(bids.map(async (b) => [b.provider, await getProvider(client, { provider: b.provider })])))
 * const { best, ranking } = selectBid(bids, { providers, regions: ['eu-west'] })
 */
export function selectBid(
  bids: readonly RankedBid['bid'][],
  parameters: SelectBidParameters,
): SelectBidReturnType {
  const weights = { ...bidScoreWeights, ...parameters.weights }
  for (const [part, value] of Object.entries(weights)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidParameterError(`weights.${part}`, 'a non-negative number of points', value)
    }
  }
  const latencyReferenceMs = parameters.latencyReferenceMs ?? 50
  if (!(latencyReferenceMs > 0)) {
    throw new InvalidParameterError('latencyReferenceMs', 'a positive number of ms', latencyReferenceMs)
  }
  const preference = (parameters.regions ?? []).map((region, index) =>
    regionCodeOf(region, `regions[${index}]`),
  )
  const providers = lookup(parameters.providers)
  const latencies = lookup(parameters.latencies)

  const excluded: SelectBidReturnType['excluded'] = []
  const usable: { bid: RankedBid['bid']; info: BidderInfo; latency: number | undefined }[] = []
  for (const bid of bids) {
    if (typeof bid.pricePerSecond !== 'bigint' || bid.pricePerSecond <= 0n) {
      throw new InvalidParameterError('bids[].pricePerSecond', 'a positive bigint', bid.pricePerSecond)
    }
    const info = providers(bid.provider)
    const latency = latencies(bid.provider)
    if (!info) excluded.push({ bid, provider: bid.provider, reason: 'no provider record' })
    else if (info.active === false)
      excluded.push({ bid, provider: bid.provider, reason: 'provider not active (jailed or unstaked)' })
    else if (latency === null)
      excluded.push({ bid, provider: bid.provider, reason: 'gateway did not answer GET /v1/health' })
    else usable.push({ bid, info, latency })
  }
  if (usable.length === 0) return { best: undefined, ranking: [], excluded }

  let cheapest = usable[0]?.bid.pricePerSecond ?? 1n
  for (const { bid } of usable) if (bid.pricePerSecond < cheapest) cheapest = bid.pricePerSecond
  const ranking = usable.map(({ bid, info, latency }): RankedBid => {
    const reasons: string[] = []
    // Six decimals of the ratio are plenty to order prices; bigint keeps it exact before that.
    const priceRatio = Number((cheapest * 1_000_000n) / bid.pricePerSecond) / 1_000_000
    const price = weights.price * priceRatio
    reasons.push(
      `price ${usdPerHour(bid.pricePerSecond)}/h${priceRatio === 1 ? ' (cheapest)' : ` (${(1 / priceRatio).toFixed(2)}× the cheapest)`}: ${points(price, weights.price)}`,
    )

    const completed = info.stats.leasesCompleted
    const faults = info.stats.faults
    const successRate = Number(((completed + 1n) * 1_000_000n) / (completed + faults + 2n)) / 1_000_000
    const reliability = weights.reliability * successRate
    reasons.push(
      `reliability ${completed} completed, ${faults} faults${completed + faults === 0n ? ' (new provider)' : ''}: ${points(reliability, weights.reliability)}`,
    )

    const latencyPoints =
      latency === undefined
        ? weights.latency / 2
        : weights.latency * Math.min(1, latencyReferenceMs / Math.max(latency, Number.EPSILON))
    reasons.push(
      `${latency === undefined ? 'latency not measured' : `latency ${latency} ms`}: ${points(latencyPoints, weights.latency)}`,
    )

    const code = regionCodeOf(info.region, 'providers[].region')
    const rank = preference.indexOf(code)
    const regionPoints = rank === -1 ? 0 : weights.region * (1 - rank / preference.length)
    const name = regionTable[code]?.name ?? `region ${code}`
    reasons.push(
      preference.length === 0
        ? `region ${name} (no preference): ${points(0, weights.region)}`
        : rank === -1
          ? `region ${name} (not preferred): ${points(0, weights.region)}`
          : `region ${name} (preference ${rank + 1} of ${preference.length}): ${points(regionPoints, weights.region)}`,
    )

    const parts = {
      price: round(price),
      reliability: round(reliability),
      latency: round(latencyPoints),
      region: round(regionPoints),
    }
    return {
      bid,
      provider: bid.provider,
      score: round(parts.price + parts.reliability + parts.latency + parts.region),
      parts,
      reasons,
    }
  })
  ranking.sort(
    (a, b) =>
      b.score - a.score ||
      compare(a.bid.pricePerSecond, b.bid.pricePerSecond) ||
      compare(a.bid.blockNumber ?? 0n, b.bid.blockNumber ?? 0n) ||
      (a.bid.logIndex ?? 0) - (b.bid.logIndex ?? 0) ||
      (a.provider.toLowerCase() < b.provider.toLowerCase() ? -1 : 1),
  )
  return { best: ranking[0], ranking, excluded }
}

export type RankBidsParameters = Omit<SelectBidParameters, 'providers' | 'latencies'> & {
  bids: readonly BidRecord[]
  /** Time limit of each gateway round trip, in ms (default 1 500). */
  latencyTimeoutMs?: number | undefined
  /** Skip the latency probes (every bid then scores half the latency points). */
  measureLatency?: boolean | undefined
  signal?: AbortSignal | undefined
}

export type RankBidsReturnType = SelectBidReturnType & {
  /** Every bidder's on-chain record (null: not registered). */
  providers: Map<Address, ProviderRecord | null>
  latencies: Map<Address, number | null>
}

export type RankBidsErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * `selectBid` with its inputs gathered: reads every bidder's record from the registry and times a
 * `GET /v1/health` round trip to its gateway (in parallel, each bounded by `latencyTimeoutMs`).
 */
export async function rankBids(
  client: StoaActionClient,
  parameters: RankBidsParameters,
): Promise<RankBidsReturnType> {
  const { bids, signal } = parameters
  const addresses = [...new Set(bids.map((bid) => bid.provider))]
  const records = await Promise.all(addresses.map((provider) => getProvider(client, { provider })))
  const providers = new Map(addresses.map((address, index) => [address, records[index] ?? null]))
  const latencies = new Map<Address, number | null>()
  if (parameters.measureLatency !== false) {
    const measured = await Promise.all(
      addresses.map((address) => {
        const url = providers.get(address)?.gatewayUrl
        return url
          ? measureGatewayLatency({ url, timeoutMs: parameters.latencyTimeoutMs ?? 1_500, signal })
          : null
      }),
    )
    addresses.forEach((address, index) => {
      latencies.set(address, measured[index] ?? null)
    })
  }
  const known = new Map<Address, BidderInfo>()
  for (const [address, record] of providers) if (record) known.set(address, record)
  const selected = selectBid(bids, {
    providers: known,
    ...(parameters.measureLatency === false ? {} : { latencies }),
    regions: parameters.regions,
    weights: parameters.weights,
    latencyReferenceMs: parameters.latencyReferenceMs,
  })
  return { ...selected, providers, latencies }
}

function lookup<value>(table: ByAddress<value> | undefined): (address: Address) => value | undefined {
  if (table === undefined) return () => undefined
  const entries: [string, value][] =
    table instanceof Map ? [...table.entries()] : Object.entries(table as Record<string, value>)
  const byLower = new Map(entries.map(([address, value]) => [address.toLowerCase(), value]))
  return (address) => byLower.get(address.toLowerCase())
}

function regionCodeOf(region: number | string, field: string): number {
  if (typeof region === 'number' && Number.isInteger(region) && region >= 0 && region <= 65_535) return region
  if (typeof region === 'string') {
    const found = regionTable.find((entry) => entry.name === region)
    if (found) return found.code
  }
  throw new InvalidParameterError(field, 'a region name (eu-west) or code', region)
}

function usdPerHour(pricePerSecond: bigint): string {
  // Six significant digits: the 1e-12 USD/s grid makes $0.25/h read back as $0.2499999984.
  return `$${Number(Number(pricePerSecondToUsdPerHour(pricePerSecond)).toPrecision(6))}`
}

function points(value: number, of: number): string {
  return `${value.toFixed(1)} of ${of} points`
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}
