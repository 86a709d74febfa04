import { type CloseReason, closeReasonName, marketAbi, parseLeaseId } from '@stoa/protocol'
import { getOrder } from '@stoa/sdk'
import { type Address, type Hex, isAddressEqual } from 'viem'
import { getContractEvents, watchContractEvent } from 'viem/actions'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { OrderRow, StateStore } from '../state/store.ts'
import type { ProviderChain } from './client.ts'

export type LeaseCreatedEvent = { leaseId: bigint; orderId: bigint; round: number; pricePerSecond: bigint }
export type LeaseClosedEvent = { leaseId: bigint; orderId: bigint; reason: CloseReason; note: Hex }
/**
 * The latest block, and the wall-clock ms when this daemon first saw it. On a chain that mines only
 * when there are transactions (anvil's automine) the latest block can be old: `chainTimeOf` turns
 * the pair into an estimate of the time the next block would carry.
 */
export type ChainHead = { number: bigint; timestamp: number; seenAt: number }

/** Estimated chain time now (seconds): the head's timestamp plus the time since it was first seen. */
export function chainTimeOf(head: ChainHead, now = Date.now()): number {
  return head.timestamp + Math.max(0, Math.floor((now - head.seenAt) / 1000))
}

/** What other services do with what the chain service learns; each hook runs after a sync, in order. */
export type ChainListener = {
  /** A lease of this provider appeared (also for leases found by a rescan after a restart). */
  onLeaseCreated?(event: LeaseCreatedEvent): Promise<void> | void
  /** A lease of this provider closed. */
  onLeaseClosed?(event: LeaseClosedEvent): Promise<void> | void
  /** After every sync, with the head it synced to. */
  onSynced?(head: ChainHead): Promise<void> | void
}

export type ChainServiceInit = {
  /** First block to scan on an empty database. */
  fromBlock: bigint
  /** Largest block range per getLogs call. */
  logChunkBlocks: number
  /** Period of the reconcile loop (a sync even when no event arrived), ms. */
  reconcileIntervalMs: number
  /** Subscribe to Market events (viem watchContractEvent) for a sync as soon as something happens. */
  watchEvents?: boolean
}

export type ChainServiceComponents = {
  chain: ProviderChain
  store: StateStore
  logger?: Logger
  metrics?: ProviderMetrics
}

export type ChainService = {
  start(): Promise<void>
  stop(): Promise<void>
  /** Scans new Market logs into the state and runs the listeners. Concurrent calls share one pass. */
  sync(): Promise<ChainHead>
  subscribe(listener: ChainListener): void
  /** The order as its OrderCreated log says, from the state or from the chain (null: no such order). */
  loadOrder(orderId: bigint): Promise<OrderRow | null>
  /** The head of the last completed sync. */
  readonly lastHead: ChainHead | undefined
  /** Wall-clock ms of the last completed sync. */
  readonly lastSyncAt: number | undefined
}

const CURSOR = 'market'

/** The Market events the subscription listens to; each triggers a sync (which reads every log). */
export const watchedMarketEvents = [
  'OrderCreated',
  'OrderReopened',
  'BiddingRestarted',
  'LeaseCreated',
  'LeaseClosed',
] as const
const watchedAbi = marketAbi.filter(
  (item) => item.type === 'event' && (watchedMarketEvents as readonly string[]).includes(item.name),
)

/**
 * Follows the Market: at start it scans every log since its cursor (so a restarted daemon catches
 * up on what happened while it was down), then subscribes to events with viem's
 * `watchContractEvent` and also syncs every `reconcileIntervalMs`, because events get missed
 * (a dropped filter, an RPC restart). Each sync reads the logs of the new blocks, updates orders,
 * bids and leases in the state, and calls the listeners: the lease manager and the bid engine.
 */
export function chainService(init: ChainServiceInit): (components: ChainServiceComponents) => ChainService {
  return (components) => {
    const { chain, store } = components
    const logger = components.logger ?? silentLogger
    const listeners: ChainListener[] = []
    let running: Promise<ChainHead> | undefined
    let again = false
    let timer: NodeJS.Timeout | undefined
    let unwatch: (() => void) | undefined
    let stopped = true
    let lastHead: ChainHead | undefined
    let lastSyncAt: number | undefined

    async function fetchOrderCreated(orderId: bigint): Promise<OrderRow | null> {
      const logs = await getContractEvents(chain.client, {
        address: chain.deployment.contracts.market,
        abi: marketAbi,
        eventName: 'OrderCreated',
        args: { orderId },
        fromBlock: 0n,
        toBlock: 'latest',
        strict: true,
      })
      const [log] = logs
      if (!log) return null
      const current = await getOrder(chain.client, { orderId })
      const row: OrderRow = {
        ...orderFromLog(log.args, log.blockNumber),
        ...(current
          ? {
              state: current.state === 'None' ? 'Closed' : (current.state as OrderRow['state']),
              round: current.round,
              bidDeadline: current.bidDeadline,
            }
          : {}),
      }
      store.insertOrder(row)
      return store.getOrder(orderId) ?? row
    }

    async function pass(): Promise<ChainHead> {
      const latest = await chain.head()
      const head: ChainHead = {
        ...latest,
        seenAt: lastHead?.number === latest.number ? lastHead.seenAt : Date.now(),
      }
      const cursor = store.getCursor(CURSOR)
      let from = cursor === undefined ? init.fromBlock : cursor + 1n
      const created = new Map<bigint, LeaseCreatedEvent>()
      const closed = new Map<bigint, LeaseClosedEvent>()
      const me = chain.address
      while (from <= head.number) {
        const to =
          from + BigInt(init.logChunkBlocks) - 1n < head.number
            ? from + BigInt(init.logChunkBlocks) - 1n
            : head.number
        const logs = await getContractEvents(chain.client, {
          address: chain.deployment.contracts.market,
          abi: marketAbi,
          fromBlock: from,
          toBlock: to,
          strict: true,
        })
        for (const log of logs) {
          switch (log.eventName) {
            case 'OrderCreated': {
              store.insertOrder(orderFromLog(log.args, log.blockNumber))
              break
            }
            case 'OrderReopened':
            case 'BiddingRestarted': {
              const { orderId, round, bidDeadline } = log.args
              if (!store.getOrder(orderId)) await fetchOrderCreated(orderId)
              store.updateOrderRound(orderId, { state: 'Open', round, bidDeadline })
              break
            }
            case 'OrderClosed': {
              store.setOrderState(log.args.orderId, 'Closed')
              break
            }
            case 'BidPlaced': {
              const { orderId, provider, round, price } = log.args
              if (isAddressEqual(provider, me) && store.getBid(orderId, round)?.status !== 'placed') {
                store.putBid({
                  orderId,
                  round,
                  pricePerSecond: price,
                  status: 'placed',
                  txHash: log.transactionHash,
                })
              }
              break
            }
            case 'LeaseCreated': {
              const { leaseId, orderId, provider, pricePerSecond } = log.args
              store.setOrderState(orderId, 'Leased')
              if (!isAddressEqual(provider, me)) break
              let order = store.getOrder(orderId) ?? null
              if (!order) order = await fetchOrderCreated(orderId)
              const { round } = parseLeaseId(leaseId)
              store.insertLease({
                leaseId,
                orderId,
                round,
                tenant: order?.tenant ?? ('0x0000000000000000000000000000000000000000' as Address),
                manifestHash: order?.manifestHash ?? ('0x' as Hex),
                pricePerSecond,
                seenAt: Date.now(),
              })
              created.set(leaseId, { leaseId, orderId, round, pricePerSecond })
              closed.delete(leaseId)
              break
            }
            case 'LeaseClosed': {
              const { leaseId, orderId, provider, reason, note } = log.args
              store.setOrderState(orderId, 'Closed')
              if (!isAddressEqual(provider, me)) break
              closed.set(leaseId, { leaseId, orderId, reason: closeReasonName(reason), note })
              created.delete(leaseId)
              break
            }
            default:
              break
          }
        }
        store.setCursor(CURSOR, to)
        from = to + 1n
      }
      components.metrics?.chainHead.set(Number(head.number))
      components.metrics?.chainSyncs.inc()
      for (const event of created.values()) {
        for (const listener of listeners)
          await callListener(() => listener.onLeaseCreated?.(event), 'onLeaseCreated')
      }
      for (const event of closed.values()) {
        for (const listener of listeners)
          await callListener(() => listener.onLeaseClosed?.(event), 'onLeaseClosed')
      }
      lastHead = head
      lastSyncAt = Date.now()
      for (const listener of listeners) await callListener(() => listener.onSynced?.(head), 'onSynced')
      return head
    }

    async function callListener(call: () => Promise<void> | void, name: string): Promise<void> {
      try {
        await call()
      } catch (error) {
        logger.error({ err: error, listener: name }, 'a chain listener failed')
      }
    }

    function sync(): Promise<ChainHead> {
      if (running) {
        again = true
        return running
      }
      running = (async () => {
        try {
          let head = await pass()
          while (again && !stopped) {
            again = false
            head = await pass()
          }
          return head
        } finally {
          running = undefined
        }
      })()
      return running
    }

    function schedule(): void {
      if (stopped) return
      timer = setTimeout(() => {
        sync()
          .catch((error: unknown) => logger.warn({ err: error }, 'chain sync failed; retrying'))
          .finally(schedule)
      }, init.reconcileIntervalMs)
      timer.unref?.()
    }

    return {
      get lastHead() {
        return lastHead
      },
      get lastSyncAt() {
        return lastSyncAt
      },
      subscribe(listener) {
        listeners.push(listener)
      },
      sync,
      async loadOrder(orderId) {
        return store.getOrder(orderId) ?? (await fetchOrderCreated(orderId))
      },
      async start() {
        stopped = false
        await sync()
        if (init.watchEvents !== false) {
          unwatch = watchContractEvent(chain.client, {
            address: chain.deployment.contracts.market,
            abi: watchedAbi,
            onLogs: () => {
              sync().catch((error: unknown) =>
                logger.warn({ err: error }, 'chain sync after an event failed'),
              )
            },
            onError: (error) =>
              logger.debug({ err: error }, 'event subscription error (the reconcile loop covers it)'),
          })
        }
        schedule()
      },
      async stop() {
        stopped = true
        if (timer) clearTimeout(timer)
        unwatch?.()
        unwatch = undefined
        await running?.catch(() => {})
      },
    }
  }
}

type OrderCreatedArgs = {
  orderId: bigint
  tenant: Address
  resources: { cpuMillis: number; memoryMiB: number; storageMiB: number; gpus: number; gpuModel: Hex }
  regionMask: number
  maxPricePerSecond: bigint
  deposit: bigint
  bidDeadline: number
  manifestHash: Hex
  manifestUri: string
  autoReopen: boolean
}

function orderFromLog(args: OrderCreatedArgs, blockNumber: bigint): OrderRow {
  return {
    orderId: args.orderId,
    tenant: args.tenant,
    resources: {
      cpuMillis: args.resources.cpuMillis,
      memoryMiB: args.resources.memoryMiB,
      storageMiB: args.resources.storageMiB,
      gpus: args.resources.gpus,
    },
    gpuModel: args.resources.gpuModel,
    regionMask: args.regionMask,
    maxPricePerSecond: args.maxPricePerSecond,
    deposit: args.deposit,
    manifestHash: args.manifestHash,
    manifestUri: args.manifestUri,
    autoReopen: args.autoReopen,
    state: 'Open',
    round: 0,
    bidDeadline: args.bidDeadline,
    createdBlock: blockNumber,
  }
}
