import { mkdir } from 'node:fs/promises'
import type { Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type BidEngine, bidEngine } from './bidding/engine.ts'
import { createPricer, type Pricer } from './bidding/pricing.ts'
import { type Capacity, detectCapacity, resolveCapacity } from './capacity.ts'
import { createProviderChain, type ProviderChain } from './chain/client.ts'
import { type EnsureRegistrationReturnType, ensureRegistration } from './chain/registration.ts'
import { type ChainService, chainService } from './chain/sync.ts'
import { type ProviderConfig, type ProviderConfigInput, parseProviderConfig } from './config.ts'
import { DaemonStateError } from './errors.ts'
import { type Gateway, gateway } from './gateway/server.ts'
import { type Ingress, ingress } from './ingress/server.ts'
import { type LeaseManager, leaseManager, type Runtimes } from './leases/manager.ts'
import { type Reconciler, reconciler } from './leases/reconciler.ts'
import { type Settler, settler } from './leases/settler.ts'
import { loadDockerRuntime } from './load-docker.ts'
import { createLogger, type Logger } from './logger.ts'
import { createProviderMetrics, type ProviderMetrics } from './metrics.ts'
import { createWasmRuntime } from './runtime/wasm.ts'
import { openStateStore, type StateStore } from './state/store.ts'
import { type StorageService, storageService } from './storage/service.ts'
import { type Watcher, watcher } from './watcher/service.ts'

/**
 * What the daemon's services are built from. Any of them may be passed in (a test can give its own
 * runtime or logger and run the rest for real); the rest are built from the configuration at start.
 */
export type ProviderComponents = {
  logger: Logger
  store: StateStore
  metrics: ProviderMetrics
  chain: ProviderChain
  runtimes: Runtimes
  pricer: Pricer
  /** Total capacity offered (detected, then overridden by the configuration). */
  capacity: Capacity
  /** The account the watcher role reports faults with (default: the provider's). */
  watcherChain: ProviderChain
}

export type ProviderServices = {
  chain: ChainService
  bidding: BidEngine
  leases: LeaseManager
  reconciler: Reconciler
  settler: Settler
  gateway: Gateway
  ingress: Ingress | undefined
  watcher: Watcher | undefined
  /** The storage role (shards, acceptances, proofs); undefined when `storage.enabled` is false. */
  storage: StorageService | undefined
}

export type ProviderDaemon = {
  readonly config: ProviderConfig
  /** Builds the components, listens, registers on chain, catches up with the chain, starts every service. */
  start(): Promise<void>
  /** Stops every service (workloads keep running; a WASM job in progress is resumed at the next start). */
  stop(): Promise<void>
  readonly started: boolean
  /** The provider's operator address. */
  readonly address: Address
  /** Only after start. */
  readonly components: ProviderComponents
  readonly services: ProviderServices
  readonly registration: EnsureRegistrationReturnType
  /** The gateway URL registered on chain. */
  readonly gatewayUrl: string
  /** The ingress base URL (undefined when the ingress is off). */
  readonly ingressUrl: string | undefined
}

/**
 * The provider daemon: one process, a set of services with start/stop built from components
 * (chain service, bid engine, lease manager, reconciler, settler, gateway, ingress, watcher).
 *
 * @example
 * const daemon = createProviderDaemon(await loadProviderConfig({ file: 'provider.yaml' }))
 * await daemon.start()
 * process.on('SIGTERM', () => void daemon.stop())
 */
export function createProviderDaemon(
  config: ProviderConfig | ProviderConfigInput,
  given: Partial<ProviderComponents> = {},
): ProviderDaemon {
  const resolved: ProviderConfig = isResolved(config) ? config : parseProviderConfig(config)
  let components: ProviderComponents | undefined
  let services: ProviderServices | undefined
  let registration: EnsureRegistrationReturnType | undefined
  let gatewayUrl: string | undefined
  let ingressUrl: string | undefined
  let state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new'
  const stopSteps: (() => Promise<void> | void)[] = []
  const chainForAddress = given.chain

  const need = <value>(value: value | undefined, what: string): value => {
    if (value === undefined) throw new DaemonStateError(`The provider daemon has no ${what} before start().`)
    return value
  }

  async function build(): Promise<ProviderComponents> {
    const logger = given.logger ?? createLogger({ level: resolved.log.level })
    await mkdir(resolved.dataDir, { recursive: true })
    const store = given.store ?? openStateStore({ dataDir: resolved.dataDir })
    if (!given.store) stopSteps.push(() => store.close())
    const metrics = given.metrics ?? createProviderMetrics()
    const chain =
      given.chain ??
      createProviderChain({
        deployment: resolved.chain.deployment,
        key: resolved.key,
        pollingIntervalMs: resolved.chain.pollingIntervalMs,
        logger,
      })
    // A database made for another chain, market or key describes nothing here: start it over.
    const identity =
      `${resolved.chain.deployment.chainId}:${resolved.chain.deployment.contracts.market}:${chain.address}`.toLowerCase()
    const previous = store.getMeta('identity')
    if (previous !== undefined && previous !== identity) {
      logger.warn(
        { previous, now: identity },
        'the state database belongs to another chain, market or key: resetting it',
      )
      store.resetChainState()
    }
    store.setMeta('identity', identity)
    let capacity = given.capacity
    if (!capacity) {
      const detected = await detectCapacity({ dataDir: resolved.dataDir })
      capacity = resolveCapacity(detected, resolved.capacity)
      logger.info({ detected: detected.sources, capacity }, 'capacity')
    }
    let runtimes = given.runtimes
    if (!runtimes) {
      runtimes = {}
      if (resolved.runtimes.wasm.enabled) runtimes.wasm = createWasmRuntime({ dataDir: resolved.dataDir })
      const dockerConfig = resolved.runtimes.docker
      if (dockerConfig.enabled !== false) {
        // Loaded only when used: the Docker client and its dependencies weigh ~25 MB.
        const [createDockerRuntime, { default: Docker }] = await Promise.all([
          loadDockerRuntime(),
          import('dockerode'),
        ])
        const docker = createDockerRuntime({
          dataDir: resolved.dataDir,
          providerId: `${chain.address.toLowerCase()}${dockerConfig.namespace ? `-${dockerConfig.namespace}` : ''}`,
          hostFirewall: dockerConfig.hostFirewall,
          gpu: dockerConfig.gpu,
          ...(dockerConfig.socketPath ? { docker: new Docker({ socketPath: dockerConfig.socketPath }) } : {}),
          ...(dockerConfig.network ? { networkName: dockerConfig.network } : {}),
        })
        try {
          await docker.ping()
          runtimes.docker = docker
        } catch (error) {
          if (dockerConfig.enabled === true) throw error
          logger.warn(
            { err: error },
            'Docker is not reachable: the docker runtime is off (image services are refused)',
          )
        }
      }
      const built = runtimes
      stopSteps.push(async () => {
        await built.wasm?.close()
        await built.docker?.close()
      })
    }
    const watcherChain =
      given.watcherChain ??
      (resolved.watcher.key !== undefined && resolved.watcher.key.toLowerCase() !== resolved.key.toLowerCase()
        ? createProviderChain({
            deployment: resolved.chain.deployment,
            key: resolved.watcher.key,
            pollingIntervalMs: resolved.chain.pollingIntervalMs,
            logger,
          })
        : chain)
    return {
      logger: logger.child({ provider: chain.address }),
      store,
      metrics,
      chain,
      runtimes,
      pricer: given.pricer ?? createPricer(resolved.pricing),
      capacity,
      watcherChain,
    }
  }

  async function start(): Promise<void> {
    if (state !== 'new' && state !== 'stopped')
      throw new DaemonStateError(`The provider daemon is ${state}; start() needs a stopped daemon.`)
    state = 'starting'
    try {
      components = await build()
      const built = components
      const { logger, store, chain, metrics, capacity, runtimes } = built
      let providerId = 0

      const chainSvc = chainService({
        fromBlock: resolved.chain.fromBlock,
        logChunkBlocks: resolved.chain.logChunkBlocks,
        reconcileIntervalMs: resolved.chain.reconcileIntervalMs,
      })({ chain, store, logger: logger.child({ service: 'chain' }), metrics })
      const leases = leaseManager({
        dataDir: resolved.dataDir,
        manifestTimeoutMs: resolved.leases.manifestTimeoutMs,
        jobTimeoutSec: resolved.leases.jobTimeoutSec,
        dockerPids: resolved.runtimes.docker.pids,
        manifestUriMaxBytes: resolved.leases.manifestUriMaxBytes,
        manifestUriTimeoutMs: resolved.leases.manifestUriTimeoutMs,
        ingressUrl: () => ingressUrl,
      })({
        chain,
        chainService: chainSvc,
        store,
        runtimes,
        capacity,
        logger: logger.child({ service: 'leases' }),
        metrics,
      })
      const storageSvc = resolved.storage.enabled
        ? storageService({
            dir: resolved.storage.dir,
            capacityBytes: resolved.storage.capacityBytes ?? capacity.storageMiB * 1024 * 1024,
            askPricePerByteSecond: resolved.storage.askPricePerByteSecond,
            uploadTtlSeconds: resolved.storage.uploadTtlSeconds,
            fromBlock: resolved.chain.fromBlock,
            logChunkBlocks: resolved.chain.logChunkBlocks,
          })({
            chain,
            chainService: chainSvc,
            store,
            signer: privateKeyToAccount(resolved.key),
            logger: logger.child({ service: 'storage' }),
            metrics,
          })
        : undefined
      const gatewaySvc = gateway({
        host: resolved.gateway.host,
        port: resolved.gateway.port,
        bodyLimitBytes: resolved.gateway.bodyLimitBytes,
        staleSyncMs: Math.max(30_000, resolved.chain.reconcileIntervalMs * 5),
      })({
        chain,
        chainService: chainSvc,
        store,
        leases,
        capacity,
        info: () => ({ region: resolved.region, ingressUrl }),
        logger,
        metrics,
        storageRoutes: storageSvc?.routes,
      })
      const ingressSvc = resolved.ingress.enabled
        ? ingress({ host: resolved.ingress.host, port: resolved.ingress.port })({ leases, logger, metrics })
        : undefined
      const bidding = bidEngine({
        margin: resolved.bidMargin,
        holdSeconds: resolved.bidding.holdSeconds,
        autoReopen: resolved.bidding.autoReopen,
      })({
        chain,
        store,
        pricer: built.pricer,
        capacity,
        identity: () => ({ providerId, region: resolved.region, attributes: resolved.attributes }),
        logger: logger.child({ service: 'bidding' }),
        metrics,
      })
      const reconcilerSvc = reconciler({
        intervalMs: resolved.leases.reconcileIntervalMs,
        manifestTimeoutMs: resolved.leases.manifestTimeoutMs,
        resultsRetentionMs: resolved.leases.resultsRetentionMs,
      })({ chain, store, runtimes, leases, logger: logger.child({ service: 'reconciler' }), metrics })
      const settlerSvc = settler({
        intervalMs: resolved.leases.settleIntervalMs,
        withdraw: resolved.leases.withdraw,
      })({
        chain,
        store,
        leases,
        logger: logger.child({ service: 'settler' }),
        metrics,
      })
      const watcherSvc = resolved.watcher.enabled
        ? watcher({
            probeIntervalMs: resolved.watcher.probeIntervalMs,
            probeTimeoutMs: resolved.watcher.probeTimeoutMs,
            failuresBeforeReport: resolved.watcher.failuresBeforeReport,
            leases: resolved.watcher.leases,
            fromBlock: resolved.chain.fromBlock,
          })({ chain: built.watcherChain, logger, metrics })
        : undefined
      services = {
        chain: chainSvc,
        bidding,
        leases,
        reconciler: reconcilerSvc,
        settler: settlerSvc,
        gateway: gatewaySvc,
        ingress: ingressSvc,
        watcher: watcherSvc,
        storage: storageSvc,
      }

      // Shards first (a restart cuts unfinished uploads back to what was fsync'd), then listen:
      // the URLs registered on chain are those actually bound.
      if (storageSvc) {
        await storageSvc.start()
        stopSteps.push(() => storageSvc.stop())
      }
      await gatewaySvc.start()
      stopSteps.push(() => gatewaySvc.stop())
      if (ingressSvc) {
        await ingressSvc.start()
        stopSteps.push(() => ingressSvc.stop())
      }
      gatewayUrl = resolved.gateway.publicUrl ?? (gatewaySvc.url as string)
      ingressUrl = ingressSvc
        ? (resolved.ingress.publicUrl ?? siblingUrl(gatewayUrl, ingressSvc.port as number))
        : undefined

      registration = await ensureRegistration(
        chain,
        {
          gatewayUrl,
          region: resolved.region,
          location: resolved.location,
          capacity: {
            cpuMillis: capacity.cpuMillis,
            memoryMiB: capacity.memoryMiB,
            storageGiB: Math.floor(capacity.storageMiB / 1024),
            gpus: capacity.gpus,
          },
          attributes: {
            ...(capacity.gpuModel !== undefined && capacity.gpus > 0
              ? { 'gpu.model': capacity.gpuModel }
              : {}),
            ...resolved.attributes,
          },
          stake: resolved.stake,
        },
        logger,
      )
      providerId = registration.providerId

      chainSvc.subscribe({
        onLeaseCreated: (event) => leases.onLeaseCreated(event),
        onLeaseClosed: (event) => leases.onLeaseClosed(event),
        onSynced: async (head) => {
          if (resolved.bidding.enabled) await bidding.run(head)
        },
      })
      if (storageSvc) chainSvc.subscribe({ onSynced: (head) => storageSvc.onSynced(head) })
      // Workloads first (orphans of leases that ended while the daemon was down), then the chain.
      const report = await reconcilerSvc.reconcile()
      if (report.orphansRemoved.length + report.leasesClosed.length > 0)
        logger.info({ report }, 'start-up reconcile')
      await chainSvc.start()
      stopSteps.push(() => chainSvc.stop())
      await reconcilerSvc.start()
      stopSteps.push(() => reconcilerSvc.stop())
      await settlerSvc.start()
      stopSteps.push(() => settlerSvc.stop())
      if (watcherSvc) {
        await watcherSvc.start()
        stopSteps.push(() => watcherSvc.stop())
      }
      stopSteps.push(() => leases.idle())
      state = 'started'
      logger.info(
        {
          providerId,
          gatewayUrl,
          ingressUrl,
          region: resolved.region,
          runtimes: Object.keys(runtimes).filter((k) => runtimes[k as keyof Runtimes]),
        },
        'provider daemon started',
      )
    } catch (error) {
      state = 'stopping'
      await runStopSteps()
      state = 'stopped'
      throw error
    }
  }

  async function runStopSteps(): Promise<void> {
    while (stopSteps.length > 0) {
      const step = stopSteps.pop() as () => Promise<void> | void
      try {
        await step()
      } catch (error) {
        components?.logger.warn({ err: error }, 'a service failed to stop cleanly')
      }
    }
  }

  async function stop(): Promise<void> {
    if (state !== 'started') return
    state = 'stopping'
    components?.logger.info('stopping the provider daemon')
    await runStopSteps()
    state = 'stopped'
  }

  return {
    config: resolved,
    start,
    stop,
    get started() {
      return state === 'started'
    },
    get address() {
      return (
        components?.chain ??
        chainForAddress ??
        createProviderChain({
          deployment: resolved.chain.deployment,
          key: resolved.key,
          pollingIntervalMs: resolved.chain.pollingIntervalMs,
        })
      ).address
    },
    get components() {
      return need(components, 'components')
    },
    get services() {
      return need(services, 'services')
    },
    get registration() {
      return need(registration, 'registration')
    },
    get gatewayUrl() {
      return need(gatewayUrl, 'gateway URL')
    },
    get ingressUrl() {
      return ingressUrl
    },
  }
}

function isResolved(config: ProviderConfig | ProviderConfigInput): config is ProviderConfig {
  return typeof (config as ProviderConfig).stake === 'bigint'
}

/** The gateway URL with another port: where the ingress is reached when no public URL is set. */
function siblingUrl(gatewayUrl: string, port: number): string {
  const url = new URL(gatewayUrl)
  url.port = String(port)
  url.pathname = ''
  url.search = ''
  return url.toString().replace(/\/$/, '')
}
