import { bytes32ToText, type CloseReason, closeReasonName, parseLeaseId } from '@stoa/protocol'
import { type Address, getAddress, type Hex, zeroAddress } from 'viem'
import { usd, usdPerHour } from '../format.ts'
import type { ChainEvents, ChainSnapshot, DealsEvent, MarketEvent } from './indexer.ts'

/**
 * Views derived from the contracts' events alone (pure functions of a snapshot). Where the state
 * a page shows is not in any event (a provider's stake after a slash of its unbonding part, a
 * lease's accrual since its last settle), the page reads the contract as well.
 */

/** Where an event sits on chain, and when. */
export type EventPlace = {
  blockNumber: bigint
  logIndex: number
  transactionHash: Hex
  time: number | undefined
}

function placeOf(
  event: { blockNumber: bigint; logIndex: number; transactionHash: Hex },
  times: ReadonlyMap<bigint, number>,
): EventPlace {
  return {
    blockNumber: event.blockNumber,
    logIndex: event.logIndex,
    transactionHash: event.transactionHash,
    time: times.get(event.blockNumber),
  }
}

// ---------------------------------------------------------------------------------------------
// Market
// ---------------------------------------------------------------------------------------------

export type OrderResourcesView = {
  cpuMillis: number
  memoryMiB: number
  storageMiB: number
  gpus: number
  gpuModel: string | undefined
}

export type BidView = EventPlace & {
  orderId: bigint
  provider: Address
  round: number
  pricePerSecond: bigint
}

export type LeaseView = EventPlace & {
  leaseId: bigint
  orderId: bigint
  round: number
  provider: Address
  pricePerSecond: bigint
  /** Credits booked to the provider by settles seen so far (the close's settle included). */
  settled: bigint
  state: 'Active' | 'Closed'
  closed: (EventPlace & { reason: CloseReason; refund: bigint; note: string }) | undefined
}

export type OrderView = EventPlace & {
  orderId: bigint
  tenant: Address
  resources: OrderResourcesView
  regionMask: number
  maxPricePerSecond: bigint
  deposit: bigint
  bidDeadline: number
  manifestHash: Hex
  manifestUri: string
  autoReopen: boolean
  /** As the events tell it (a lease that ran out of escrow stays Active until someone settles it). */
  state: 'Open' | 'Leased' | 'Closed'
  round: number
  bids: BidView[]
  leases: LeaseView[]
}

export type TimelineKind =
  | 'created'
  | 'bid'
  | 'lease'
  | 'settled'
  | 'topup'
  | 'fault'
  | 'closed'
  | 'reopened'
  | 'restarted'
  | 'withdrawn'

export type TimelineEvent = EventPlace & {
  kind: TimelineKind
  text: string
  provider?: Address | undefined
  /** Credits the event moved (settles, withdrawals), for summaries. */
  amount?: bigint | undefined
  /** A summary of this many events (runs of settles and withdrawals), ending at `last`. */
  count?: number | undefined
  last?: EventPlace | undefined
}

export type MarketModel = {
  orders: OrderView[]
  orderById: ReadonlyMap<bigint, OrderView>
  leases: LeaseView[]
  leaseById: ReadonlyMap<bigint, LeaseView>
  bids: BidView[]
}

export function deriveMarket(events: ChainEvents['market'], times: ReadonlyMap<bigint, number>): MarketModel {
  const orderById = new Map<bigint, OrderView>()
  const leaseById = new Map<bigint, LeaseView>()
  const bids: BidView[] = []
  for (const event of events) {
    switch (event.eventName) {
      case 'OrderCreated': {
        const { args } = event
        orderById.set(args.orderId, {
          ...placeOf(event, times),
          orderId: args.orderId,
          tenant: getAddress(args.tenant),
          resources: {
            cpuMillis: args.resources.cpuMillis,
            memoryMiB: args.resources.memoryMiB,
            storageMiB: args.resources.storageMiB,
            gpus: args.resources.gpus,
            gpuModel: textOf(args.resources.gpuModel),
          },
          regionMask: args.regionMask,
          maxPricePerSecond: args.maxPricePerSecond,
          deposit: args.deposit,
          bidDeadline: args.bidDeadline,
          manifestHash: args.manifestHash,
          manifestUri: args.manifestUri,
          autoReopen: args.autoReopen,
          state: 'Open',
          round: 0,
          bids: [],
          leases: [],
        })
        break
      }
      case 'BidPlaced': {
        const bid: BidView = {
          ...placeOf(event, times),
          orderId: event.args.orderId,
          provider: getAddress(event.args.provider),
          round: event.args.round,
          pricePerSecond: event.args.price,
        }
        bids.push(bid)
        orderById.get(bid.orderId)?.bids.push(bid)
        break
      }
      case 'LeaseCreated': {
        const { leaseId, orderId, provider, pricePerSecond } = event.args
        const lease: LeaseView = {
          ...placeOf(event, times),
          leaseId,
          orderId,
          round: parseLeaseId(leaseId).round,
          provider: getAddress(provider),
          pricePerSecond,
          settled: 0n,
          state: 'Active',
          closed: undefined,
        }
        leaseById.set(leaseId, lease)
        const order = orderById.get(orderId)
        if (order) {
          order.leases.push(lease)
          order.state = 'Leased'
        }
        break
      }
      case 'LeaseSettled': {
        const lease = leaseById.get(event.args.leaseId)
        if (lease) lease.settled += event.args.amount
        break
      }
      case 'LeaseClosed': {
        const lease = leaseById.get(event.args.leaseId)
        if (lease) {
          lease.settled += event.args.settled
          lease.state = 'Closed'
          lease.closed = {
            ...placeOf(event, times),
            reason: safeCloseReason(event.args.reason),
            refund: event.args.refund,
            note: textOf(event.args.note) ?? '',
          }
        }
        // Closed unless an OrderReopened follows in the same transaction.
        const order = orderById.get(event.args.orderId)
        if (order) order.state = 'Closed'
        break
      }
      case 'OrderReopened':
      case 'BiddingRestarted': {
        const order = orderById.get(event.args.orderId)
        if (order) {
          order.state = 'Open'
          order.round = event.args.round
        }
        break
      }
      case 'OrderClosed': {
        const order = orderById.get(event.args.orderId)
        if (order) order.state = 'Closed'
        break
      }
      default:
        break
    }
  }
  const orders = [...orderById.values()].sort((a, b) => compareBigint(b.orderId, a.orderId))
  const leases = [...leaseById.values()].sort(
    (a, b) => compareBigint(b.blockNumber, a.blockNumber) || b.logIndex - a.logIndex,
  )
  return { orders, orderById, leases, leaseById, bids }
}

/** Everything that happened to one order, oldest first. */
export function orderTimeline(
  orderId: bigint,
  events: ChainEvents['market'],
  times: ReadonlyMap<bigint, number>,
): TimelineEvent[] {
  const leaseIds = new Set<bigint>()
  const timeline: TimelineEvent[] = []
  const add = (event: MarketEvent, kind: TimelineKind, text: string, provider?: Address, amount?: bigint) =>
    timeline.push({ ...placeOf(event, times), kind, text, provider, amount })
  for (const event of events) {
    switch (event.eventName) {
      case 'OrderCreated': {
        const { args } = event
        if (args.orderId === orderId) {
          add(
            event,
            'created',
            `Order created: deposit ${usd(args.deposit)}, up to ${usdPerHour(args.maxPricePerSecond)}`,
          )
        }
        break
      }
      case 'BidPlaced': {
        const { args } = event
        if (args.orderId === orderId) {
          add(
            event,
            'bid',
            `Bid of ${usdPerHour(args.price)} in round ${args.round}`,
            getAddress(args.provider),
          )
        }
        break
      }
      case 'LeaseCreated': {
        const { args } = event
        if (args.orderId === orderId) {
          leaseIds.add(args.leaseId)
          const text = `Lease ${formatLease(args.leaseId)} at ${usdPerHour(args.pricePerSecond)}`
          add(event, 'lease', text, getAddress(args.provider))
        }
        break
      }
      case 'LeaseSettled': {
        const { args } = event
        if (leaseIds.has(args.leaseId)) {
          const text = `Lease ${formatLease(args.leaseId)} settled: ${usd(args.amount)} to the provider, ${usd(args.escrowLeft)} left`
          add(event, 'settled', text, undefined, args.amount)
        }
        break
      }
      case 'OrderToppedUp': {
        const { args } = event
        if (args.orderId === orderId)
          add(event, 'topup', `Escrow topped up by ${usd(args.amount)} to ${usd(args.escrow)}`)
        break
      }
      case 'FaultReported': {
        const { args } = event
        if (leaseIds.has(args.leaseId)) {
          const by = args.byTenant ? 'the tenant' : 'a watcher'
          add(event, 'fault', `Fault reported by ${by}${evidenceText(args.evidence)}`)
        }
        break
      }
      case 'FaultConfirmed': {
        const { args } = event
        if (leaseIds.has(args.leaseId)) {
          const text = `Fault confirmed: provider slashed ${formatStoaShort(args.slashed)}`
          add(event, 'fault', text, getAddress(args.provider))
        }
        break
      }
      case 'LeaseClosed': {
        const { args } = event
        if (args.orderId === orderId) {
          const reason = safeCloseReason(args.reason)
          const text = `Lease ${formatLease(args.leaseId)} closed (${reason}): ${usd(args.settled)} settled, ${usd(args.refund)} refunded`
          add(event, 'closed', text, getAddress(args.provider))
        }
        break
      }
      case 'OrderReopened': {
        const { args } = event
        if (args.orderId === orderId) {
          add(event, 'reopened', `Reopened for bids (round ${args.round}) with ${usd(args.escrow)} in escrow`)
        }
        break
      }
      case 'BiddingRestarted': {
        const { args } = event
        if (args.orderId === orderId) add(event, 'restarted', `Bidding restarted (round ${args.round})`)
        break
      }
      case 'OrderClosed': {
        const { args } = event
        if (args.orderId === orderId) add(event, 'closed', `Order cancelled: ${usd(args.refund)} refunded`)
        break
      }
      case 'EarningsWithdrawn': {
        const { args } = event
        if (leaseIds.has(args.leaseId)) {
          add(
            event,
            'withdrawn',
            `Provider withdrew ${usd(args.amount)}`,
            getAddress(args.provider),
            args.amount,
          )
        }
        break
      }
      default:
        break
    }
  }
  return summarizeSettles(timeline)
}

/**
 * A running lease is settled (and its provider withdraws) every few seconds: a run of more than
 * two of those becomes one `settled` item with the totals, so the timeline stays readable.
 */
function summarizeSettles(timeline: TimelineEvent[]): TimelineEvent[] {
  const result: TimelineEvent[] = []
  let run: TimelineEvent[] = []
  const flush = () => {
    const first = run[0]
    const last = run[run.length - 1]
    if (run.length <= 2 || !first || !last) result.push(...run)
    else {
      const total = (kind: TimelineKind) =>
        run.filter((item) => item.kind === kind).reduce((sum, item) => sum + (item.amount ?? 0n), 0n)
      const settles = run.filter((item) => item.kind === 'settled').length
      const withdrawn = total('withdrawn')
      result.push({
        ...first,
        kind: 'settled',
        text: `${settles} settles: ${usd(total('settled'))} booked to the provider${withdrawn > 0n ? `, ${usd(withdrawn)} withdrawn` : ''}`,
        provider: undefined,
        count: run.length,
        last,
      })
    }
    run = []
  }
  for (const item of timeline) {
    if (item.kind === 'settled' || item.kind === 'withdrawn') run.push(item)
    else {
      flush()
      result.push(item)
    }
  }
  flush()
  return result
}

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

export type ShardStatus = 'active' | 'lost' | 'ended'

export type ShardView = {
  dealId: bigint
  shardIndex: number
  provider: Address
  root: Hex
  size: bigint
  erasureIndex: number
  paymentPerPeriod: bigint
  status: ShardStatus
  proofs: number
  missed: number
  lastProvenPeriod: number | undefined
}

export type RepairView = EventPlace & {
  dealId: bigint
  shardIndex: number
  provider: Address
  previousProvider: Address
  fromPeriod: number
}

export type MissView = EventPlace & {
  dealId: bigint
  shardIndex: number
  provider: Address
  period: number
  slashed: bigint
}

export type DealView = EventPlace & {
  dealId: bigint
  owner: Address
  k: number
  shardCount: number
  pieceSize: number
  pricePerByteSecond: bigint
  startBlock: bigint
  periodBlocks: number
  windowBlocks: number
  periods: number
  escrow: bigint
  paid: bigint
  ended: boolean
  shards: ShardView[]
  proofs: number
  missed: MissView[]
  repairs: RepairView[]
  /** The owner's object index points at this deal now; `wasIndex` for an index it replaced. */
  isIndex: boolean
  wasIndex: boolean
}

export type ProofView = EventPlace & { dealId: bigint; shardIndex: number; period: number; provider: Address }

export type StorageModel = {
  deals: DealView[]
  dealById: ReadonlyMap<bigint, DealView>
  proofs: ProofView[]
  misses: MissView[]
  repairs: RepairView[]
}

export function deriveStorage(
  events: ChainEvents['storageDeals'],
  times: ReadonlyMap<bigint, number>,
): StorageModel {
  const dealById = new Map<bigint, DealView>()
  const pendingShards = new Map<bigint, ShardView[]>()
  const proofs: ProofView[] = []
  const misses: MissView[] = []
  const repairs: RepairView[] = []
  const indexOf = new Map<string, bigint>()
  const everIndex = new Set<bigint>()
  const shardOf = (dealId: bigint, shardIndex: number) =>
    dealById.get(dealId)?.shards[shardIndex] ?? pendingShards.get(dealId)?.[shardIndex]
  for (const event of events as readonly DealsEvent[]) {
    switch (event.eventName) {
      case 'ShardAssigned': {
        // Emitted before DealCreated in the same transaction.
        const { dealId, shardIndex, provider, root, size, erasureIndex, paymentPerPeriod } = event.args
        const shards = pendingShards.get(dealId) ?? []
        shards[shardIndex] = {
          dealId,
          shardIndex,
          provider: getAddress(provider),
          root,
          size,
          erasureIndex,
          paymentPerPeriod,
          status: 'active',
          proofs: 0,
          missed: 0,
          lastProvenPeriod: undefined,
        }
        pendingShards.set(dealId, shards)
        break
      }
      case 'DealCreated': {
        const { args } = event
        dealById.set(args.dealId, {
          ...placeOf(event, times),
          dealId: args.dealId,
          owner: getAddress(args.owner),
          k: args.k,
          shardCount: args.shardCount,
          pieceSize: args.pieceSize,
          pricePerByteSecond: args.pricePerByteSecond,
          startBlock: args.startBlock,
          periodBlocks: args.periodBlocks,
          windowBlocks: args.windowBlocks,
          periods: args.periods,
          escrow: args.escrow,
          paid: 0n,
          ended: false,
          shards: pendingShards.get(args.dealId) ?? [],
          proofs: 0,
          missed: [],
          repairs: [],
          isIndex: false,
          wasIndex: false,
        })
        pendingShards.delete(args.dealId)
        break
      }
      case 'ShardProven': {
        const { dealId, shardIndex, period } = event.args
        const shard = shardOf(dealId, shardIndex)
        const deal = dealById.get(dealId)
        if (deal) deal.proofs++
        if (shard) {
          shard.proofs++
          shard.lastProvenPeriod = period
          proofs.push({ ...placeOf(event, times), dealId, shardIndex, period, provider: shard.provider })
        }
        break
      }
      case 'ShardLost': {
        const { dealId, shardIndex, provider, period, slashed } = event.args
        const miss: MissView = {
          ...placeOf(event, times),
          dealId,
          shardIndex,
          provider: getAddress(provider),
          period,
          slashed,
        }
        misses.push(miss)
        dealById.get(dealId)?.missed.push(miss)
        const shard = shardOf(dealId, shardIndex)
        if (shard) {
          shard.status = 'lost'
          shard.missed++
        }
        break
      }
      case 'ShardReplaced': {
        const { dealId, shardIndex, provider, previousProvider, fromPeriod } = event.args
        const repair: RepairView = {
          ...placeOf(event, times),
          dealId,
          shardIndex,
          provider: getAddress(provider),
          previousProvider: getAddress(previousProvider),
          fromPeriod,
        }
        repairs.push(repair)
        dealById.get(dealId)?.repairs.push(repair)
        const shard = shardOf(dealId, shardIndex)
        if (shard) {
          shard.provider = repair.provider
          shard.status = 'active'
        }
        break
      }
      case 'DealSettled': {
        const deal = dealById.get(event.args.dealId)
        if (deal) deal.paid += event.args.paid
        break
      }
      case 'DealEnded': {
        const deal = dealById.get(event.args.dealId)
        if (deal) {
          deal.ended = true
          for (const shard of deal.shards) if (shard.status === 'active') shard.status = 'ended'
        }
        break
      }
      case 'IndexSet': {
        indexOf.set(event.args.account.toLowerCase(), event.args.dealId)
        if (event.args.dealId !== 0n) everIndex.add(event.args.dealId)
        break
      }
      default:
        break
    }
  }
  for (const deal of dealById.values()) {
    deal.wasIndex = everIndex.has(deal.dealId)
    deal.isIndex = indexOf.get(deal.owner.toLowerCase()) === deal.dealId
  }
  const deals = [...dealById.values()].sort((a, b) => compareBigint(b.dealId, a.dealId))
  return { deals, dealById, proofs, misses, repairs }
}

/** Bytes a deal stores: every shard's size (erasure-coded, so about total / k times the data). */
export function dealStoredBytes(deal: DealView): bigint {
  return deal.shards.reduce((sum, shard) => sum + (shard?.size ?? 0n), 0n)
}

// ---------------------------------------------------------------------------------------------
// Economics
// ---------------------------------------------------------------------------------------------

export type SupplyPoint = {
  time: number
  blockNumber: number
  supply: number
  minted: number
  /** Minted by redeeming earned credits (the "mint" of burn-and-mint; issuance excluded). */
  mintedForEarnings: number
  burned: number
  /** STOA burned in this block (0 for a mint-only point). */
  burnedHere: number
}

export type BurnKind = 'credits purchase' | 'slash' | 'other burn'
export type MintKind = 'redemption' | 'issuance'

export type SlashView = EventPlace & {
  provider: Address
  slashed: bigint
  toReporter: bigint
  burned: bigint
  reason: string
}

export type EconomicsModel = {
  points: SupplyPoint[]
  minted: bigint
  burned: bigint
  burnedBy: Record<BurnKind, bigint>
  mintedBy: Record<MintKind, bigint>
  /** Credits (USD, 6 decimals) over time: minted by buy / issue, burned by redeem. */
  creditPoints: { time: number; outstanding: number }[]
  prices: { time: number; usdPerStoa: number; roundId: bigint }[]
  slashes: SlashView[]
}

export function deriveEconomics(
  snapshot: Pick<ChainSnapshot, 'events' | 'blockTimes'>,
  registry: Address,
): EconomicsModel {
  const { events, blockTimes } = snapshot
  const buyTransactions = new Set<Hex>()
  const redeemTransactions = new Set<Hex>()
  for (const event of events.credits) {
    if (event.eventName === 'CreditsBought') buyTransactions.add(event.transactionHash)
    if (event.eventName === 'CreditsRedeemed') redeemTransactions.add(event.transactionHash)
  }
  let minted = 0n
  let burned = 0n
  const burnedBy: Record<BurnKind, bigint> = { 'credits purchase': 0n, slash: 0n, 'other burn': 0n }
  const mintedBy: Record<MintKind, bigint> = { redemption: 0n, issuance: 0n }
  const points: SupplyPoint[] = []
  for (const event of events.stoaToken) {
    if (event.eventName !== 'Transfer') continue
    const { from, to, value } = event.args
    const mint = from === zeroAddress
    const burn = to === zeroAddress
    if (!mint && !burn) continue
    if (mint) {
      minted += value
      mintedBy[redeemTransactions.has(event.transactionHash) ? 'redemption' : 'issuance'] += value
    } else {
      burned += value
      const kind: BurnKind =
        from.toLowerCase() === registry.toLowerCase()
          ? 'slash'
          : buyTransactions.has(event.transactionHash)
            ? 'credits purchase'
            : 'other burn'
      burnedBy[kind] += value
    }
    const time = blockTimes.get(event.blockNumber) ?? 0
    const last = points[points.length - 1]
    const point: SupplyPoint = {
      time,
      blockNumber: Number(event.blockNumber),
      supply: stoa(minted - burned),
      minted: stoa(minted),
      mintedForEarnings: stoa(mintedBy.redemption),
      burned: stoa(burned),
      burnedHere:
        (last?.blockNumber === Number(event.blockNumber) ? last.burnedHere : 0) + (burn ? stoa(value) : 0),
    }
    // One point per block: the chart shows the state after the block.
    if (last?.blockNumber === point.blockNumber) points[points.length - 1] = point
    else points.push(point)
  }

  let outstanding = 0n
  const creditPoints: EconomicsModel['creditPoints'] = []
  for (const event of events.credits) {
    if (event.eventName !== 'Transfer') continue
    const { from, to, value } = event.args
    if (from === zeroAddress) outstanding += value
    else if (to === zeroAddress) outstanding -= value
    else continue
    const time = blockTimes.get(event.blockNumber) ?? 0
    const point = { time, outstanding: Number(outstanding) / 1e6 }
    if (creditPoints[creditPoints.length - 1]?.time === time) creditPoints[creditPoints.length - 1] = point
    else creditPoints.push(point)
  }

  const prices = events.priceOracle.flatMap((event) =>
    event.eventName === 'PriceUpdated'
      ? [
          {
            time: Number(event.args.updatedAt),
            usdPerStoa: Number(event.args.answer) / 1e8,
            roundId: event.args.roundId,
          },
        ]
      : [],
  )

  const slashes = events.providerRegistry.flatMap((event): SlashView[] =>
    event.eventName === 'ProviderSlashed'
      ? [
          {
            ...placeOf(event, blockTimes),
            provider: getAddress(event.args.provider),
            slashed: event.args.slashed,
            toReporter: event.args.toReporter,
            burned: event.args.burned,
            reason: textOf(event.args.reason) ?? event.args.reason,
          },
        ]
      : [],
  )
  slashes.reverse()
  return { points, minted, burned, burnedBy, mintedBy, creditPoints, prices, slashes }
}

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

export type ProviderActivity = {
  address: Address
  registered: (EventPlace & { id: number }) | undefined
  leases: LeaseView[]
  bids: number
  proofs: number
  missed: number
  slashes: SlashView[]
  jailings: (EventPlace & { until: bigint })[]
  /** Faults on its leases reported to the Market (tenant reports and confirmed ones). */
  leaseFaults: (EventPlace & { leaseId: bigint; kind: 'reported' | 'confirmed'; byTenant: boolean })[]
  earnings: EarningsPoint[]
}

export type EarningsPoint = {
  time: number
  /** Cumulative credits booked to it by lease settles (USD). */
  accrued: number
  /** Cumulative credits paid to its balance (lease withdrawals and storage payouts, USD). */
  paid: number
}

/** Addresses of every provider that ever registered, in registration order. */
export function registeredProviders(
  events: ChainEvents['providerRegistry'],
): { address: Address; id: number }[] {
  const seen = new Map<string, { address: Address; id: number }>()
  for (const event of events) {
    if (event.eventName === 'ProviderRegistered') {
      const address = getAddress(event.args.provider)
      seen.set(address.toLowerCase(), { address, id: event.args.id })
    }
  }
  return [...seen.values()]
}

export function providerActivity(
  address: Address,
  snapshot: Pick<ChainSnapshot, 'events' | 'blockTimes'>,
  market: MarketModel,
  storage: StorageModel,
  economics: Pick<EconomicsModel, 'slashes'>,
): ProviderActivity {
  const { events, blockTimes } = snapshot
  const lower = address.toLowerCase()
  const is = (value: string) => value.toLowerCase() === lower
  const leases = market.leases.filter((lease) => is(lease.provider))
  const leaseIds = new Set(leases.map((lease) => lease.leaseId))
  let registered: ProviderActivity['registered']
  const jailings: ProviderActivity['jailings'] = []
  for (const event of events.providerRegistry) {
    if (event.eventName === 'ProviderRegistered' && is(event.args.provider))
      registered = { ...placeOf(event, blockTimes), id: event.args.id }
    if (event.eventName === 'ProviderJailed' && is(event.args.provider))
      jailings.push({ ...placeOf(event, blockTimes), until: event.args.until })
  }
  const leaseFaults: ProviderActivity['leaseFaults'] = []
  type Booking = { blockNumber: bigint; logIndex: number; accrued: bigint; paid: bigint }
  const bookings: Booking[] = []
  for (const event of events.market) {
    if (event.eventName === 'FaultReported' && leaseIds.has(event.args.leaseId))
      leaseFaults.push({
        ...placeOf(event, blockTimes),
        leaseId: event.args.leaseId,
        kind: 'reported',
        byTenant: event.args.byTenant,
      })
    if (event.eventName === 'FaultConfirmed' && leaseIds.has(event.args.leaseId))
      leaseFaults.push({
        ...placeOf(event, blockTimes),
        leaseId: event.args.leaseId,
        kind: 'confirmed',
        byTenant: false,
      })
    if (event.eventName === 'LeaseSettled' && leaseIds.has(event.args.leaseId))
      bookings.push({ ...event, accrued: event.args.amount, paid: 0n })
    if (event.eventName === 'LeaseClosed' && leaseIds.has(event.args.leaseId) && event.args.settled > 0n)
      bookings.push({ ...event, accrued: event.args.settled, paid: 0n })
  }
  for (const event of events.credits) {
    if (event.eventName === 'EarningsPaid' && is(event.args.to))
      bookings.push({ ...event, accrued: 0n, paid: event.args.amount })
  }
  // Settles and payouts come from two contracts: put them in chain order before summing.
  bookings.sort((a, b) => compareBigint(a.blockNumber, b.blockNumber) || a.logIndex - b.logIndex)
  const earnings: EarningsPoint[] = []
  let accrued = 0n
  let paid = 0n
  for (const booking of bookings) {
    accrued += booking.accrued
    paid += booking.paid
    const time = blockTimes.get(booking.blockNumber) ?? 0
    const point = { time, accrued: Number(accrued) / 1e6, paid: Number(paid) / 1e6 }
    if (earnings[earnings.length - 1]?.time === time) earnings[earnings.length - 1] = point
    else earnings.push(point)
  }
  return {
    address,
    registered,
    leases,
    bids: market.bids.filter((bid) => is(bid.provider)).length,
    proofs: storage.proofs.filter((proof) => is(proof.provider)).length,
    missed: storage.misses.filter((miss) => is(miss.provider)).length,
    slashes: economics.slashes.filter((slash) => is(slash.provider)),
    jailings,
    leaseFaults,
    earnings,
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** STOA base units as a float, for charts only (tables use exact decimals). */
function stoa(value: bigint): number {
  return Number(value / 10n ** 12n) / 1e6
}

/** The text in a bytes32 field, or undefined when it is empty or not text. */
function textOf(value: Hex): string | undefined {
  return bytes32ToText(value) || undefined
}

function evidenceText(evidence: Hex): string {
  const text = textOf(evidence)
  return text ? `: ${text}` : ''
}

function safeCloseReason(value: number): CloseReason {
  try {
    return closeReasonName(value)
  } catch {
    return 'None'
  }
}

/** STOA base units to 4 decimals, for one-line texts. */
function formatStoaShort(amount: bigint): string {
  return `${Number(amount / 10n ** 14n) / 1e4} STOA`
}

/** `orderId/round`, as the CLI prints a lease. */
export function formatLease(leaseId: bigint): string {
  const { orderId, round } = parseLeaseId(leaseId)
  return `${orderId}/${round}`
}
