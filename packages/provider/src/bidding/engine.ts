import {
  bytes32ToText,
  leaseIdOf,
  maskAllowsRegion,
  pricePerSecondToUsdPerHour,
  type RegionName,
  regionCode,
  StoaContractError,
} from '@stoa/protocol'
import { acceptBestBid, bid, getLease, getOrder, type OrderRecord, restartBidding } from '@stoa/sdk'
import { isAddressEqual, zeroHash } from 'viem'
import type { Capacity } from '../capacity.ts'
import type { ProviderChain } from '../chain/client.ts'
import { type ChainHead, chainTimeOf } from '../chain/sync.ts'
import { PricingScriptError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import { fits, type Resources, shortfall, subtractResources } from '../resources.ts'
import type { OrderRow, StateStore } from '../state/store.ts'
import { bidPrice, type Pricer } from './pricing.ts'

export type SkipReason =
  | 'region'
  | 'gpu-model'
  | 'capacity'
  | 'price'
  | 'declined'
  | 'pricing-error'
  | 'excluded'
  | 'inactive'

export type BidDecision =
  | { bid: true; pricePerSecond: bigint; cost: bigint }
  | { bid: false; reason: SkipReason; detail: string }

export type BidEngineInit = {
  /** Added on top of the cost price (0.1 = +10%), capped at the order's maximum. */
  margin: number
  /** Seconds past the bid deadline a bid keeps its reservation (acceptance has no deadline). */
  holdSeconds: number
  /** Accept our best bid / restart empty rounds on auto-reopen orders. */
  autoReopen: boolean
}

export type BidEngineComponents = {
  chain: ProviderChain
  store: StateStore
  pricer: Pricer
  /** Total capacity (reservations are subtracted from it). */
  capacity: Capacity
  /** This provider's registry id and region, known after registration. */
  identity: () => { providerId: number; region: RegionName; attributes: Record<string, string> }
  logger?: Logger
  metrics?: ProviderMetrics
}

export type BidEngine = {
  /** One pass over the open orders at the chain time `head` gives (the chain service calls it after each sync). */
  run(head: ChainHead): Promise<void>
  /** Whether and at what price this provider would bid on an order now. */
  evaluate(order: OrderRow, onchain: OrderRecord): Promise<BidDecision>
  /** The last decision per order and round (`"<orderId>:<round>"`), for logs and tests. */
  readonly decisions: ReadonlyMap<string, BidDecision | { bid: 'placed' | 'failed'; detail: string }>
  /** Releases reservations of bids that lost, expired or whose order moved on. */
  releaseStaleReservations(now: number): bigint[]
}

/**
 * The bid engine: for every open order in its bid window it checks placement (the region mask and
 * a GPU model), free capacity (total minus reservations, which never overcommit: reserved before
 * the bid is sent, released when the bid loses or expires), prices it with the configured strategy
 * and bids when the price is within the order's maximum. On auto-reopen orders whose window closed
 * it calls `acceptBestBid` when it holds the best bid, and `restartBidding` (then bids) when the
 * round got no usable bid, so a workload moves with nobody online.
 */
export function bidEngine(init: BidEngineInit): (components: BidEngineComponents) => BidEngine {
  return (components) => {
    const { chain, store } = components
    const logger = components.logger ?? silentLogger
    const decisions = new Map<string, BidDecision | { bid: 'placed' | 'failed'; detail: string }>()
    /** Orders and rounds this provider may not bid on (it held the previous lease). */
    const excluded = new Map<bigint, { round: number; excluded: boolean }>()
    /** Last auto-reopen attempt per order and round, so a failing call is not repeated every pass. */
    const attempts = new Map<string, number>()
    /** Bids being sent by this process (a 'pending' bid not in here was interrupted by a crash). */
    const inFlight = new Set<string>()
    let activeThisPass: boolean | undefined
    let lastHead: ChainHead = { number: 0n, timestamp: 0, seenAt: Date.now() }

    const key = (orderId: bigint, round: number) => `${orderId}:${round}`

    function note(order: OrderRow, round: number, decision: BidDecision): void {
      const id = key(order.orderId, round)
      const previous = decisions.get(id)
      if (previous && 'reason' in previous && !decision.bid && previous.reason === decision.reason) return
      decisions.set(id, decision)
      if (!decision.bid) {
        components.metrics?.bids.inc({ result: `skipped-${decision.reason}` })
        logger.info(
          { orderId: order.orderId, round, reason: decision.reason, detail: decision.detail },
          'not bidding',
        )
      }
    }

    async function isExcluded(order: OrderRow, onchain: OrderRecord): Promise<boolean> {
      if (onchain.round === 0) return false
      const cached = excluded.get(order.orderId)
      if (cached && cached.round === onchain.round) return cached.excluded
      // The contract refuses the provider of the order's last lease, in the round after it and in
      // rounds restarted since (see contracts-spec, restartBidding).
      const previousRound = onchain.round - 1 - onchain.restartsSinceLease
      let result = false
      if (previousRound >= 0) {
        const lease = await getLease(chain.client, { leaseId: leaseIdOf(order.orderId, previousRound) })
        result = lease !== null && isAddressEqual(lease.provider, chain.address)
      }
      excluded.set(order.orderId, { round: onchain.round, excluded: result })
      return result
    }

    async function evaluate(order: OrderRow, onchain: OrderRecord): Promise<BidDecision> {
      const identity = components.identity()
      const myRegion = regionCode(identity.region)
      if (!maskAllowsRegion(order.regionMask, myRegion)) {
        return {
          bid: false,
          reason: 'region',
          detail: `region ${identity.region} is not in the order's mask ${order.regionMask}`,
        }
      }
      if (order.resources.gpus > 0 && order.gpuModel !== zeroHash) {
        const wanted = bytes32ToText(order.gpuModel) ?? order.gpuModel
        const mine = components.capacity.gpuModel ?? identity.attributes['gpu.model']
        if (mine === undefined || mine.toLowerCase() !== wanted.toLowerCase()) {
          return {
            bid: false,
            reason: 'gpu-model',
            detail: `the order wants ${wanted} GPUs, this provider has ${mine ?? 'none'}`,
          }
        }
      }
      if (await isExcluded(order, onchain)) {
        return { bid: false, reason: 'excluded', detail: 'this provider held the order’s previous lease' }
      }
      activeThisPass ??= await chain.isActive(chain.address)
      if (!activeThisPass) {
        return {
          bid: false,
          reason: 'inactive',
          detail: 'the provider is not active in the registry (stake or jail)',
        }
      }
      const own = store.getReservation(order.orderId)
      const reserved = store.reserved()
      const available = subtractResources(
        components.capacity,
        own ? subtractResources(reserved, own.resources) : reserved,
      )
      if (!fits(order.resources, available)) {
        return {
          bid: false,
          reason: 'capacity',
          detail: `short of ${shortfall(order.resources, available).join(', ')} (wants ${describe(order.resources)}, free ${describe(available)})`,
        }
      }
      let cost: bigint | undefined
      try {
        cost = await components.pricer({
          order: { ...order, round: onchain.round, bidDeadline: onchain.bidDeadline },
          resources: order.resources,
          provider: { address: chain.address, region: identity.region },
        })
      } catch (error) {
        if (error instanceof PricingScriptError) {
          return { bid: false, reason: 'pricing-error', detail: error.shortMessage }
        }
        throw error
      }
      if (cost === undefined)
        return { bid: false, reason: 'declined', detail: 'the pricing strategy declined the order' }
      const price = bidPrice(cost, init.margin, onchain.maxPricePerSecond)
      if (price === undefined) {
        return {
          bid: false,
          reason: 'price',
          detail: `costs $${pricePerSecondToUsdPerHour(cost)}/h, above the order's maximum $${pricePerSecondToUsdPerHour(onchain.maxPricePerSecond)}/h`,
        }
      }
      return { bid: true, pricePerSecond: price, cost }
    }

    async function maybeBid(order: OrderRow, onchain: OrderRecord): Promise<void> {
      const round = onchain.round
      let existing = store.getBid(order.orderId, round)
      if (existing?.status === 'pending' && !inFlight.has(key(order.orderId, round))) {
        // Recorded by a process that stopped before the transaction's outcome: ask the chain.
        const { providerId } = components.identity()
        const onChainBid = await chain.getBid(order.orderId, providerId)
        const landed = onChainBid.price > 0n && onChainBid.round === round
        store.putBid({
          orderId: order.orderId,
          round,
          pricePerSecond: landed ? onChainBid.price : existing.pricePerSecond,
          status: landed ? 'placed' : 'failed',
          ...(landed ? {} : { error: 'error: interrupted before the transaction was sent' }),
        })
        existing = store.getBid(order.orderId, round)
      }
      if (existing && existing.status !== 'failed') return
      if (existing?.status === 'failed' && existing.error?.startsWith('revert:')) return
      const decision = await evaluate(order, onchain)
      note(order, round, decision)
      if (!decision.bid) return
      const { providerId } = components.identity()
      const onChainBid = await chain.getBid(order.orderId, providerId)
      if (onChainBid.price > 0n && onChainBid.round === round) {
        // Sent by an earlier process that crashed before recording it.
        store.putBid({ orderId: order.orderId, round, pricePerSecond: onChainBid.price, status: 'placed' })
        store.reserve(
          {
            orderId: order.orderId,
            round,
            kind: 'bid',
            leaseId: undefined,
            resources: order.resources,
            bidDeadline: onchain.bidDeadline,
          },
          components.capacity,
        )
        return
      }
      const reservation = {
        orderId: order.orderId,
        round,
        kind: 'bid' as const,
        leaseId: undefined,
        resources: order.resources,
        bidDeadline: onchain.bidDeadline,
      }
      if (!store.reserve(reservation, components.capacity)) {
        note(order, round, { bid: false, reason: 'capacity', detail: 'reserved by another order meanwhile' })
        return
      }
      store.putBid({
        orderId: order.orderId,
        round,
        pricePerSecond: decision.pricePerSecond,
        status: 'pending',
      })
      inFlight.add(key(order.orderId, round))
      try {
        const placed = await chain.write('bid', () =>
          bid(chain.client, { orderId: order.orderId, pricePerSecond: decision.pricePerSecond }),
        )
        store.putBid({
          orderId: order.orderId,
          round,
          pricePerSecond: placed.pricePerSecond,
          status: 'placed',
          txHash: placed.hash,
        })
        decisions.set(key(order.orderId, round), {
          bid: 'placed',
          detail: pricePerSecondToUsdPerHour(placed.pricePerSecond),
        })
        components.metrics?.bids.inc({ result: 'placed' })
        logger.info(
          {
            orderId: order.orderId,
            round,
            pricePerSecond: placed.pricePerSecond,
            usdPerHour: pricePerSecondToUsdPerHour(placed.pricePerSecond),
            resources: order.resources,
            tx: placed.hash,
          },
          'bid placed',
        )
      } catch (error) {
        store.release(order.orderId)
        // A contract error (the window closed, the order moved on) is final for this round; anything
        // else (out of gas after another bid landed first, a dropped connection) is tried again.
        const reverted = error instanceof StoaContractError && error.errorName !== undefined
        const message =
          error instanceof Error
            ? ((error as { shortMessage?: string }).shortMessage ?? error.message)
            : String(error)
        store.putBid({
          orderId: order.orderId,
          round,
          pricePerSecond: decision.pricePerSecond,
          status: 'failed',
          error: `${reverted ? 'revert' : 'error'}: ${message}`,
        })
        decisions.set(key(order.orderId, round), { bid: 'failed', detail: message })
        components.metrics?.bids.inc({ result: 'failed' })
        logger.warn({ orderId: order.orderId, round, err: error }, 'bid failed')
      } finally {
        inFlight.delete(key(order.orderId, round))
      }
    }

    /**
     * acceptBestBid / restartBidding through the SDK (simulated first); when the node's simulation
     * says the window is still open although the chain's clock has passed it (an idle automine chain
     * whose latest block is older than the deadline), sent without simulation.
     */
    async function afterDeadline(
      action: 'acceptBestBid' | 'restartBidding',
      orderId: bigint,
      bidDeadline: number,
    ): Promise<{ hash: `0x${string}` }> {
      try {
        return await chain.write<{ hash: `0x${string}` }>(action, () =>
          action === 'acceptBestBid'
            ? acceptBestBid(chain.client, { orderId })
            : restartBidding(chain.client, { orderId }),
        )
      } catch (error) {
        const early = error instanceof StoaContractError && error.errorName === 'MarketBidWindowStillOpen'
        if (!early || chainTimeOf(lastHead) <= bidDeadline) throw error
        return await chain.write(action, () => chain.sendAfterDeadline(action, orderId))
      }
    }

    /**
     * Limits auto-reopen calls to one per order, round and action every 2 s (a call that is too early
     * by the chain's clock fails in simulation, which costs no gas).
     */
    function mayAttempt(action: string, orderId: bigint, round: number): boolean {
      const id = `${action}:${orderId}:${round}`
      const last = attempts.get(id)
      if (last !== undefined && Date.now() - last < 2_000) return false
      attempts.set(id, Date.now())
      return true
    }

    async function handleClosedWindow(order: OrderRow, onchain: OrderRecord): Promise<void> {
      const { providerId } = components.identity()
      if (onchain.bestBidProvider === providerId) {
        if (!mayAttempt('accept', order.orderId, onchain.round)) return
        try {
          const accepted = await afterDeadline('acceptBestBid', order.orderId, onchain.bidDeadline)
          components.metrics?.autoReopenActions.inc({ action: 'acceptBestBid', result: 'ok' })
          logger.info(
            { orderId: order.orderId, round: onchain.round, tx: accepted.hash },
            'accepted our best bid on an auto-reopen order',
          )
        } catch (error) {
          components.metrics?.autoReopenActions.inc({ action: 'acceptBestBid', result: 'failed' })
          logger.warn({ orderId: order.orderId, err: error }, 'acceptBestBid failed')
        }
        return
      }
      let stuck = onchain.bidCount === 0
      if (!stuck && onchain.bestBidProvider !== 0) {
        const best = await chain.providerAddress(onchain.bestBidProvider)
        stuck = !(await chain.isActive(best))
      }
      if (!stuck) return
      const decision = await evaluate(order, onchain)
      note(order, onchain.round, decision)
      if (!decision.bid || !mayAttempt('restart', order.orderId, onchain.round)) return
      try {
        const restarted = await afterDeadline('restartBidding', order.orderId, onchain.bidDeadline)
        components.metrics?.autoReopenActions.inc({ action: 'restartBidding', result: 'ok' })
        logger.info(
          { orderId: order.orderId, tx: restarted.hash },
          'restarted bidding on a stalled auto-reopen order',
        )
      } catch (error) {
        components.metrics?.autoReopenActions.inc({ action: 'restartBidding', result: 'failed' })
        logger.debug(
          { orderId: order.orderId, err: error },
          'restartBidding failed (another party may have restarted it)',
        )
      }
      const fresh = await getOrder(chain.client, { orderId: order.orderId })
      if (fresh?.state !== 'Open') return
      if (chainTimeOf(lastHead) <= fresh.bidDeadline) {
        await maybeBid({ ...order, round: fresh.round, bidDeadline: fresh.bidDeadline }, fresh)
      }
    }

    function releaseStaleReservations(now: number): bigint[] {
      const released: bigint[] = []
      const drop = (orderId: bigint, why: string) => {
        if (store.release(orderId)) {
          released.push(orderId)
          logger.info({ orderId, why }, 'released reservation')
        }
      }
      for (const reservation of store.reservations()) {
        if (reservation.kind === 'lease') {
          const lease = reservation.leaseId === undefined ? undefined : store.getLease(reservation.leaseId)
          if (!lease || lease.status === 'closed') drop(reservation.orderId, 'lease ended')
          continue
        }
        const order = store.getOrder(reservation.orderId)
        if (!order || order.state === 'Closed') drop(reservation.orderId, 'order closed')
        else if (order.state === 'Leased') {
          const ours = store.getLease(leaseIdOf(reservation.orderId, reservation.round))
          if (!ours) drop(reservation.orderId, 'bid lost: another provider got the lease')
        } else if (order.round !== reservation.round) drop(reservation.orderId, 'a new bidding round started')
        else if (now > reservation.bidDeadline + init.holdSeconds)
          drop(reservation.orderId, 'bid not accepted in time')
      }
      return released
    }

    async function run(head: ChainHead): Promise<void> {
      activeThisPass = undefined
      lastHead = head
      const now = chainTimeOf(head)
      releaseStaleReservations(now)
      const open = store.ordersInState('Open')
      forgetClosedOrders(new Set(open.map((order) => order.orderId.toString())))
      for (const order of open) {
        // A window that closed on an order nobody re-opens needs nothing more from us: an acceptance
        // or a new round arrives as an event and updates the state.
        if (now > order.bidDeadline && !(order.autoReopen && init.autoReopen)) continue
        try {
          const onchain = await getOrder(chain.client, { orderId: order.orderId })
          if (onchain?.state !== 'Open') {
            store.setOrderState(order.orderId, onchain?.state === 'Leased' ? 'Leased' : 'Closed')
            continue
          }
          if (onchain.round !== order.round || onchain.bidDeadline !== order.bidDeadline) {
            store.updateOrderRound(order.orderId, {
              state: 'Open',
              round: onchain.round,
              bidDeadline: onchain.bidDeadline,
            })
          }
          const current: OrderRow = { ...order, round: onchain.round, bidDeadline: onchain.bidDeadline }
          if (now <= onchain.bidDeadline) await maybeBid(current, onchain)
          else if (current.autoReopen && init.autoReopen) await handleClosedWindow(current, onchain)
        } catch (error) {
          logger.warn({ orderId: order.orderId, err: error }, 'could not handle an open order this pass')
        }
      }
    }

    /** Drops what the engine remembers about orders that are no longer open (bounded memory). */
    function forgetClosedOrders(open: ReadonlySet<string>): void {
      for (const id of decisions.keys()) if (!open.has(id.split(':')[0] as string)) decisions.delete(id)
      for (const id of attempts.keys()) if (!open.has(id.split(':')[1] as string)) attempts.delete(id)
      for (const orderId of excluded.keys()) if (!open.has(orderId.toString())) excluded.delete(orderId)
    }

    return { run, evaluate, decisions, releaseStaleReservations }
  }
}

function describe(resources: Resources): string {
  return `${resources.cpuMillis}m cpu, ${resources.memoryMiB} MiB memory, ${resources.storageMiB} MiB storage, ${resources.gpus} gpu`
}
