import type { Address, LocalAccount } from 'viem'
import { isAddressEqual } from 'viem'
import type { ProviderChain } from '../chain/client.ts'
import type { ChainHead } from '../chain/sync.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { StateStore } from '../state/store.ts'
import { type StorageDealsChain, storageDealsChain } from './chain.ts'
import { type Prover, type ProverReport, prover } from './prover.ts'
import { storageDealsAddress, storageRoutes } from './routes.ts'
import { type DealShardState, type ShardStore, shardStore } from './shard-store.ts'

export type StorageServiceInit = {
  /** The shard directory. */
  dir: string
  capacityBytes: number
  askPricePerByteSecond: bigint
  uploadTtlSeconds: number
  /** First block to scan for StorageDeals events on an empty database. */
  fromBlock: bigint
  logChunkBlocks: number
  /** Period of the expiry sweep, ms (default 30 s). */
  sweepIntervalMs?: number | undefined
  maxSkewSeconds?: number | undefined
}

export type StorageServiceComponents = {
  chain: ProviderChain
  chainService: { readonly lastHead: ChainHead | undefined }
  store: StateStore
  /** The provider's key (acceptances are signed with it). */
  signer: Pick<LocalAccount, 'signTypedData'>
  logger?: Logger
  metrics?: ProviderMetrics
}

export type StorageService = {
  readonly shards: ShardStore
  /** The gateway's storage routes (a Fastify plugin). */
  readonly routes: ReturnType<typeof storageRoutes>
  /** The StorageDeals contract, when the deployment has one. */
  readonly deals: StorageDealsChain | undefined
  readonly prover: Prover | undefined
  /** Recovers the shard directory after a restart, starts the expiry sweep. */
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * After each chain sync: reads new StorageDeals events into the deal slots (deleting shards whose
   * deals ended), then starts a prover pass (not awaited: a proof transaction must not hold up the
   * chain service; `lastProverPass` has it).
   */
  onSynced(head: ChainHead): Promise<void>
  /** The prover pass started by the last `onSynced`. */
  readonly lastProverPass: Promise<ProverReport> | undefined
}

const CURSOR = 'storage-deals'
/** A shard an acceptance names is kept this long past the acceptance's deadline. */
const ACCEPTANCE_GRACE_SECONDS = 600
/** Acceptance deadlines further ahead are refused. */
const MAX_ACCEPTANCE_SECONDS = 7 * 24 * 3600

/**
 * The storage provider role: the shard store, the gateway's storage routes, the StorageDeals event
 * sync and the prover, with a lifecycle.
 */
export function storageService(
  init: StorageServiceInit,
): (components: StorageServiceComponents) => StorageService {
  return (components) => {
    const { chain, store } = components
    const logger = components.logger ?? silentLogger
    const shards = shardStore({
      dir: init.dir,
      capacityBytes: init.capacityBytes,
      uploadTtlSeconds: init.uploadTtlSeconds,
    })({ store, logger })
    const address = storageDealsAddress(chain)
    const deals = address !== undefined ? storageDealsChain(chain, address) : undefined
    const proverSvc = deals
      ? prover({
          chain,
          deals,
          shards,
          logger,
          ...(components.metrics ? { metrics: components.metrics } : {}),
        })
      : undefined
    const routes = storageRoutes(
      {
        askPricePerByteSecond: init.askPricePerByteSecond,
        maxSkewSeconds: init.maxSkewSeconds,
        acceptanceGraceSeconds: ACCEPTANCE_GRACE_SECONDS,
        maxAcceptanceSeconds: MAX_ACCEPTANCE_SECONDS,
      },
      { chain, chainService: components.chainService, store, shards, signer: components.signer },
    )
    let timer: NodeJS.Timeout | undefined
    let lastProverPass: Promise<ProverReport> | undefined
    let sweeping: Promise<unknown> | undefined
    let stopped = true

    const slotState = (state: string, provider: Address): DealShardState =>
      !isAddressEqual(provider, chain.address)
        ? 'replaced'
        : state === 'Active'
          ? 'active'
          : state === 'Lost'
            ? 'lost'
            : 'ended'

    /** Records a slot this provider was given, from the contract's current view of it. */
    async function loadSlot(
      dealsChain: StorageDealsChain,
      dealId: bigint,
      shardIndex: number,
    ): Promise<void> {
      const [deal, shard] = await Promise.all([
        dealsChain.getDeal(dealId),
        dealsChain.getShard(dealId, shardIndex),
      ])
      const state: DealShardState = deal.state === 'Ended' ? 'ended' : slotState(shard.state, shard.provider)
      await shards.putDealShard({
        dealId,
        shardIndex,
        root: shard.root,
        size: Number(shard.size),
        owner: deal.owner,
        state,
        startBlock: deal.startBlock,
        periodBlocks: deal.periodBlocks,
        windowBlocks: deal.windowBlocks,
        periods: deal.periods,
        lastProofPeriod: shard.nextPeriod - 1,
      })
      if (state === 'active' && !shards.getShard(shard.root)) {
        logger.error(
          { dealId, shardIndex, root: shard.root },
          'a deal names a shard this provider does not hold',
        )
      } else {
        logger.info({ dealId, shardIndex, root: shard.root, state }, 'deal slot recorded')
      }
    }

    async function syncEvents(dealsChain: StorageDealsChain, head: ChainHead): Promise<void> {
      const cursor = store.getCursor(CURSOR)
      let from = cursor === undefined ? init.fromBlock : cursor + 1n
      const me = chain.address
      while (from <= head.number) {
        const step = BigInt(init.logChunkBlocks) - 1n
        const to = from + step < head.number ? from + step : head.number
        for (const event of await dealsChain.events(from, to)) {
          switch (event.kind) {
            case 'assigned':
              if (isAddressEqual(event.provider, me))
                await loadSlot(dealsChain, event.dealId, event.shardIndex)
              break
            case 'replaced':
              if (isAddressEqual(event.provider, me))
                await loadSlot(dealsChain, event.dealId, event.shardIndex)
              else if (isAddressEqual(event.previousProvider, me))
                await shards.setDealShardState(event.dealId, event.shardIndex, 'replaced')
              break
            case 'lost':
              if (isAddressEqual(event.provider, me)) {
                logger.warn(
                  { dealId: event.dealId, shardIndex: event.shardIndex },
                  'a shard of this provider was marked lost',
                )
                await shards.setDealShardState(event.dealId, event.shardIndex, 'lost')
              }
              break
            case 'proven':
              shards.setLastProof(event.dealId, event.shardIndex, event.period)
              break
            case 'ended':
              for (const slot of shards.dealShardsOfDeal(event.dealId)) {
                if (slot.state !== 'replaced')
                  await shards.setDealShardState(slot.dealId, slot.shardIndex, 'ended')
              }
              break
          }
        }
        store.setCursor(CURSOR, to)
        from = to + 1n
      }
    }

    function updateGauges(): void {
      const usage = shards.usage()
      components.metrics?.storageBytes.set({ kind: 'capacity' }, usage.capacity)
      components.metrics?.storageBytes.set({ kind: 'held' }, usage.held)
      components.metrics?.storageBytes.set({ kind: 'reserved' }, usage.reserved)
    }

    function sweep(): Promise<unknown> {
      sweeping ??= shards
        .sweep()
        .catch((error: unknown) => logger.warn({ err: error }, 'storage expiry sweep failed'))
        .finally(() => {
          sweeping = undefined
          updateGauges()
        })
      return sweeping
    }

    return {
      shards,
      routes,
      deals,
      prover: proverSvc,
      get lastProverPass() {
        return lastProverPass
      },
      async start() {
        await shards.recover()
        await shards.sweep()
        updateGauges()
        const every = init.sweepIntervalMs ?? 30_000
        stopped = false
        const schedule = () => {
          if (stopped) return
          timer = setTimeout(() => {
            void sweep().finally(schedule)
          }, every)
          timer.unref?.()
        }
        schedule()
        if (!deals)
          logger.warn('the deployment has no StorageDeals contract: storage deals and proofs are off')
      },
      async stop() {
        stopped = true
        if (timer) clearTimeout(timer)
        timer = undefined
        await sweeping
        await lastProverPass?.catch(() => {})
      },
      async onSynced(head) {
        if (!deals || !proverSvc) return
        await syncEvents(deals, head)
        lastProverPass = proverSvc.run(head.number)
        lastProverPass.catch((error: unknown) => logger.error({ err: error }, 'the prover pass failed'))
      },
    }
  }
}
