import type { FileHandle } from 'node:fs/promises'
import {
  compareCodeUnits,
  type DecodedManifestSubmission,
  decodeManifestSubmission,
  ManifestValidationError,
  type NormalizedManifest,
  orderResources,
  parseLeaseId,
} from '@stoa/protocol'
import { closeLease, getLease, getOrder } from '@stoa/sdk'
import { type Address, isAddressEqual } from 'viem'
import type { Capacity } from '../capacity.ts'
import type { ProviderChain } from '../chain/client.ts'
import type { ChainService, LeaseClosedEvent, LeaseCreatedEvent } from '../chain/sync.ts'
import { ProviderRequestError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import { fits, shortfall } from '../resources.ts'
import type { DockerRuntime } from '../runtime/docker.ts'
import { WorkloadNotFoundError } from '../runtime/errors.ts'
import { openResultFile } from '../runtime/results.ts'
import type { ResultFile, Runtime, WorkloadHandle, WorkloadSpec, WorkloadStatus } from '../runtime/types.ts'
import type { WasmRuntime } from '../runtime/wasm.ts'
import type { LeaseRow, LeaseWorkload, StateStore } from '../state/store.ts'
import { fetchManifestDocument } from './fetch-manifest.ts'
import { type LeaseFiles, leaseFiles } from './files.ts'

/** The runtimes this daemon runs workloads with (either may be off). */
export type Runtimes = { docker?: DockerRuntime | undefined; wasm?: WasmRuntime | undefined }

export type ServiceView = {
  name: string
  kind: 'job' | 'service'
  runtime: 'docker' | 'wasm'
  status: 'starting' | 'running' | 'exited' | 'failed' | 'stopped'
  exitCode?: number
  /**
   * Why a failed service failed: the workload's own doing (`oom`, `timeout`, `trap`) or the
   * provider's (`start`: it could not be started, `error`, `daemon-restart`, `missing`).
   */
  reason?: 'oom' | 'timeout' | 'trap' | 'error' | 'daemon-restart' | 'start' | 'missing'
  message?: string
  /** The ingress URL of a service with an HTTP port. */
  url?: string
}

export type LeaseView = {
  leaseId: string
  orderId: string
  status: 'waiting-manifest' | 'starting' | 'running' | 'exited' | 'failed' | 'closed'
  manifestHash: string
  pricePerSecond: string
  services: ServiceView[]
  closeReason?: string
}

export type ResultView = { service: string; name: string; size: number; sha256: string }

export type LeaseManagerInit = {
  dataDir: string
  manifestTimeoutMs: number
  /** Wall-clock limit of a job (0: none). */
  jobTimeoutSec: number
  /** PidsLimit of docker workloads. */
  dockerPids: number
  manifestUriMaxBytes: number
  manifestUriTimeoutMs: number
  /** The ingress base URL service links use (known once the ingress listens). */
  ingressUrl: () => string | undefined
}

export type LeaseManagerComponents = {
  chain: ProviderChain
  chainService: Pick<ChainService, 'loadOrder'>
  store: StateStore
  runtimes: Runtimes
  capacity: Capacity
  logger?: Logger
  metrics?: ProviderMetrics
}

export type LeaseManager = ReturnType<ReturnType<typeof leaseManager>>

/**
 * The lease manager: on a lease won by this provider it waits for the manifest (from the gateway,
 * or fetched from the order's public manifest URI when its hash matches), checks it against the
 * order on chain, saves it, and starts every service through its runtime with the manifest's
 * limits. It answers the gateway's lease routes (status, logs, results) and the ingress's lookups,
 * and tears a lease's workloads down when the lease ends. All changes to one lease run one at a
 * time (a per-lease lock).
 */
export function leaseManager(init: LeaseManagerInit) {
  return (components: LeaseManagerComponents) => {
    const { chain, store, runtimes } = components
    const logger = components.logger ?? silentLogger
    const files: LeaseFiles = leaseFiles(init.dataDir)
    const locks = new Map<string, Promise<unknown>>()
    const deploying = new Set<string>()
    const fetching = new Set<string>()
    const background = new Set<Promise<unknown>>()

    function withLock<result>(leaseId: bigint, task: () => Promise<result>): Promise<result> {
      const id = leaseId.toString()
      const previous = locks.get(id) ?? Promise.resolve()
      const run = previous.then(task, task)
      const tail = run.catch(() => {})
      locks.set(id, tail)
      void tail.then(() => {
        if (locks.get(id) === tail) locks.delete(id)
      })
      return run
    }

    function track(task: Promise<unknown>): void {
      background.add(task)
      void task.finally(() => background.delete(task))
    }

    function runtimeOf(kind: 'docker' | 'wasm'): Runtime | undefined {
      return kind === 'docker' ? runtimes.docker : runtimes.wasm
    }

    /**
     * Makes sure the state knows a lease this provider holds on chain: inserts it (waiting for its
     * manifest) and turns the order's bid reservation into a lease reservation. A lease that does not
     * fit any more (its bid reservation had expired and capacity went elsewhere) is closed.
     */
    async function adopt(leaseId: bigint, known?: { pricePerSecond: bigint }): Promise<LeaseRow | undefined> {
      const { orderId, round } = parseLeaseId(leaseId)
      const order = await components.chainService.loadOrder(orderId)
      if (!order) return undefined
      let pricePerSecond = known?.pricePerSecond
      if (pricePerSecond === undefined) {
        const lease = await getLease(chain.client, { leaseId })
        if (!lease || !isAddressEqual(lease.provider, chain.address)) return undefined
        pricePerSecond = lease.pricePerSecond
      }
      const inserted = store.insertLease({
        leaseId,
        orderId,
        round,
        tenant: order.tenant,
        manifestHash: order.manifestHash,
        pricePerSecond,
        seenAt: Date.now(),
      })
      let lease = store.getLease(leaseId)
      if (!lease || lease.status === 'closed') return lease
      if (lease.status === 'waiting-manifest' && lease.manifestAt === undefined) {
        // A manifest saved by an earlier process whose database was lost: the lease runs it again.
        const saved = await files.load(leaseId)
        if (saved) {
          store.updateLease(leaseId, {
            status: 'running',
            manifestAt: Date.now(),
            runningAt: Date.now(),
            workloads: workloadsOf(leaseId, saved.manifest),
          })
          logger.info({ leaseId }, 'lease restored from its saved manifest')
          lease = store.getLease(leaseId) as LeaseRow
        }
      }
      const reservation = store.getReservation(orderId)
      if (reservation?.kind !== 'lease' || reservation.leaseId !== leaseId) {
        const ok = store.reserve(
          {
            orderId,
            round,
            kind: 'lease',
            leaseId,
            resources: order.resources,
            bidDeadline: order.bidDeadline,
          },
          components.capacity,
        )
        if (!ok) {
          logger.warn(
            { leaseId, resources: order.resources },
            'a lease was accepted but no longer fits: closing it',
          )
          track(closeOnChain(leaseId, 'over-capacity'))
          return store.getLease(leaseId)
        }
      }
      if (inserted) {
        components.metrics?.leaseEvents.inc({ event: 'created' })
        logger.info(
          { leaseId, orderId, round, tenant: order.tenant, pricePerSecond },
          'lease won, waiting for its manifest',
        )
      }
      if (
        order.manifestUri !== '' &&
        lease.status === 'waiting-manifest' &&
        !fetching.has(leaseId.toString())
      ) {
        fetching.add(leaseId.toString())
        track(
          fetchFromUri(leaseId, order.manifestUri, order.manifestHash).finally(() =>
            fetching.delete(leaseId.toString()),
          ),
        )
      }
      return lease
    }

    async function fetchFromUri(leaseId: bigint, uri: string, expected: string): Promise<void> {
      try {
        const document = await fetchManifestDocument(uri, {
          maxBytes: init.manifestUriMaxBytes,
          timeoutMs: init.manifestUriTimeoutMs,
        })
        const body =
          typeof document === 'object' && document !== null && 'manifest' in document
            ? document
            : { manifest: document }
        const decoded = decodeManifestSubmission(body)
        if (decoded.hash !== expected) {
          logger.warn(
            { leaseId, uri, hash: decoded.hash, expected },
            'the manifest at the order’s URI does not match its hash; waiting for the tenant',
          )
          return
        }
        await accept(leaseId, decoded, 'manifest-uri')
        logger.info(
          { leaseId, uri: uri.startsWith('data:') ? 'data:…' : uri },
          'manifest fetched from the order’s URI',
        )
      } catch (error) {
        logger.warn({ leaseId, err: error }, 'could not use the order’s manifest URI; waiting for the tenant')
      }
    }

    /** Checks a decoded manifest against the lease and its order, saves it and starts the lease. */
    async function accept(
      leaseId: bigint,
      decoded: DecodedManifestSubmission,
      source: 'gateway' | 'manifest-uri',
    ): Promise<{ leaseId: string; status: LeaseView['status'] }> {
      return await withLock(leaseId, async () => {
        const lease = store.getLease(leaseId)
        if (!lease)
          throw new ProviderRequestError(
            404,
            'lease-not-found',
            `Lease ${leaseId} is not held by this provider.`,
          )
        if (lease.status === 'closed')
          throw new ProviderRequestError(409, 'lease-not-active', `Lease ${leaseId} is closed.`)
        const order = await components.chainService.loadOrder(lease.orderId)
        const expected = order?.manifestHash ?? lease.manifestHash
        if (decoded.hash !== expected) {
          throw new ProviderRequestError(
            409,
            'manifest-hash-mismatch',
            `The manifest's hash ${decoded.hash} (sha256 of its canonical JSON) is not the order's manifestHash ${expected} on chain.`,
            { extra: { expected, actual: decoded.hash } },
          )
        }
        if (lease.status !== 'waiting-manifest') {
          return { leaseId: leaseId.toString(), status: lease.status === 'starting' ? 'starting' : 'running' }
        }
        const chainLease = await getLease(chain.client, { leaseId })
        if (chainLease?.state !== 'Active' || !isAddressEqual(chainLease.provider, chain.address)) {
          throw new ProviderRequestError(409, 'lease-not-active', `Lease ${leaseId} is not active on chain.`)
        }
        const wanted = orderResources(decoded.manifest)
        if (order && !fits({ ...wanted }, order.resources)) {
          throw new ProviderRequestError(
            409,
            'manifest-exceeds-order',
            `The manifest needs more ${shortfall(wanted, order.resources).join(', ')} than the order reserved.`,
            { extra: { manifest: wanted, order: order.resources } },
          )
        }
        const workloads = workloadsOf(leaseId, decoded.manifest)
        const missing = workloads.filter((workload) => !runtimeOf(workload.runtime))
        if (missing.length > 0) {
          throw new ProviderRequestError(
            409,
            'runtime-unavailable',
            `This provider cannot run ${missing.map((w) => `${w.service} (${w.runtime})`).join(', ')}: the runtime is off.`,
          )
        }
        await files.save(leaseId, decoded.manifest, decoded.modules)
        store.updateLease(leaseId, { status: 'starting', manifestAt: Date.now(), workloads })
        components.metrics?.leaseEvents.inc({ event: 'manifest-accepted' })
        logger.info({ leaseId, source, services: workloads.map((w) => w.service) }, 'manifest accepted')
        track(deploy(leaseId))
        return { leaseId: leaseId.toString(), status: 'starting' }
      })
    }

    function workloadsOf(leaseId: bigint, manifest: NormalizedManifest): LeaseWorkload[] {
      return Object.entries(manifest.services)
        .sort(([a], [b]) => compareCodeUnits(a, b))
        .map(([name, service]) => ({
          service: name,
          workloadId: `lease-${leaseId}-${name}`,
          runtime: service.image !== undefined ? 'docker' : 'wasm',
          kind: service.kind,
          httpPort: service.expose.find((entry) => entry.http)?.port,
          startError: undefined,
          final: undefined,
        }))
    }

    function specOf(
      leaseId: bigint,
      workload: LeaseWorkload,
      manifest: NormalizedManifest,
      modules: ReadonlyMap<string, Uint8Array>,
    ): WorkloadSpec {
      const service = manifest.services[workload.service]
      if (!service) throw new Error(`the manifest has no service ${workload.service}`)
      const docker = workload.runtime === 'docker'
      const spec: WorkloadSpec = {
        id: workload.workloadId,
        leaseId,
        service: workload.service,
        kind: service.kind,
        args: service.args,
        env: service.env,
        expose: service.expose,
        resultsDir: files.resultsDir(workload.workloadId),
        limits: {
          cpuMillis: Math.max(1, service.resources.cpuMillis),
          memoryMiB: Math.max(docker ? 6 : 1, service.resources.memoryMiB),
          storageMiB: Math.max(1, service.resources.storageMiB),
          pids: docker ? init.dockerPids : 0,
          timeoutSec: service.kind === 'job' ? init.jobTimeoutSec : 0,
          ...(service.resources.gpus > 0 ? { gpus: service.resources.gpus } : {}),
        },
      }
      if (docker) {
        spec.image = service.image as string
        if (service.command.length > 0) spec.command = service.command
      } else if (service.wasm) {
        const bytes = modules.get(service.wasm.sha256)
        if (!bytes) throw new Error(`module ${service.wasm.sha256} is missing`)
        spec.wasm = bytes
      }
      return spec
    }

    /** Starts the services of a lease that has a saved manifest; records start errors per service. */
    async function deploy(leaseId: bigint): Promise<void> {
      deploying.add(leaseId.toString())
      try {
        await withLock(leaseId, async () => {
          const lease = store.getLease(leaseId)
          // Only a lease still starting: the reconciler may act on a list read before an earlier
          // deploy of this lease finished, and a second start would find the workloads there.
          if (lease?.status !== 'starting') return
          const saved = await files.load(leaseId)
          if (!saved) {
            store.updateLease(leaseId, { error: 'the saved manifest is missing or damaged' })
            return
          }
          const workloads = await Promise.all(
            lease.workloads.map(async (workload): Promise<LeaseWorkload> => {
              const runtime = runtimeOf(workload.runtime)
              if (!runtime) return { ...workload, startError: `the ${workload.runtime} runtime is off` }
              try {
                await runtime.start(specOf(leaseId, workload, saved.manifest, saved.modules))
                return { ...workload, startError: undefined }
              } catch (error) {
                const message = errorMessage(error)
                logger.warn({ leaseId, service: workload.service, err: error }, 'a service failed to start')
                return { ...workload, startError: message }
              }
            }),
          )
          const now = Date.now()
          store.updateLease(leaseId, { status: 'running', runningAt: now, workloads })
          components.metrics?.leaseEvents.inc({ event: 'running' })
          logger.info(
            {
              leaseId,
              services: workloads.map((w) => ({ name: w.service, runtime: w.runtime, error: w.startError })),
              msSinceLeaseSeen: now - lease.seenAt,
              msSinceManifest: now - (lease.manifestAt ?? now),
            },
            'lease started',
          )
        })
      } finally {
        deploying.delete(leaseId.toString())
      }
    }

    /**
     * Brings a running lease's workloads back after a restart: a workload that is missing, or that
     * the WASM runtime reports as killed by a daemon restart, is started again from the saved
     * manifest; a job's final state is recorded once, so it never runs twice.
     */
    async function ensureWorkloads(leaseId: bigint): Promise<string[]> {
      if (deploying.has(leaseId.toString())) return []
      return await withLock(leaseId, async () => {
        const lease = store.getLease(leaseId)
        if (lease?.status !== 'running') return []
        const restarted: string[] = []
        let saved: Awaited<ReturnType<LeaseFiles['load']>> | null = null
        let changed = false
        const workloads: LeaseWorkload[] = []
        for (const workload of lease.workloads) {
          const runtime = runtimeOf(workload.runtime)
          if (!runtime || workload.startError !== undefined || workload.final !== undefined) {
            workloads.push(workload)
            continue
          }
          const status = await runtime.status(workload.workloadId)
          const lost =
            status.state === 'missing' || (status.state === 'failed' && status.reason === 'daemon-restart')
          if (lost) {
            saved ??= (await files.load(leaseId)) ?? null
            if (!saved) {
              workloads.push({ ...workload, startError: 'the saved manifest is missing; cannot restart' })
              changed = true
              continue
            }
            try {
              if (status.state !== 'missing') await runtime.stop(workload.workloadId)
              await runtime.start(specOf(leaseId, workload, saved.manifest, saved.modules))
              restarted.push(workload.workloadId)
              logger.info({ leaseId, service: workload.service, was: status.state }, 'workload restarted')
              workloads.push(workload)
            } catch (error) {
              workloads.push({ ...workload, startError: errorMessage(error) })
              changed = true
            }
            continue
          }
          if (workload.kind === 'job' && (status.state === 'exited' || status.state === 'failed')) {
            workloads.push({
              ...workload,
              final: {
                state: status.state,
                exitCode: status.exitCode,
                message: status.state === 'failed' ? status.message : undefined,
              },
            })
            changed = true
            continue
          }
          workloads.push(workload)
        }
        if (changed) store.updateLease(leaseId, { workloads })
        return restarted
      })
    }

    /** Stops every workload of a lease (those the state knows and any a runtime lists), marks it closed, releases its reservation. */
    async function teardown(leaseId: bigint, reason: string): Promise<string[]> {
      return await withLock(leaseId, async () => {
        const lease = store.getLease(leaseId)
        const ids = new Map<string, Runtime>()
        for (const workload of lease?.workloads ?? []) {
          const runtime = runtimeOf(workload.runtime)
          if (runtime) ids.set(workload.workloadId, runtime)
        }
        for (const runtime of [runtimes.docker, runtimes.wasm]) {
          if (!runtime) continue
          const handles = await runtime.list().catch(() => [] as WorkloadHandle[])
          for (const handle of handles) if (handle.leaseId === leaseId) ids.set(handle.id, runtime)
        }
        for (const [id, runtime] of ids) {
          try {
            await runtime.stop(id)
          } catch (error) {
            logger.warn({ leaseId, workload: id, err: error }, 'could not stop a workload')
          }
        }
        if (lease && lease.status !== 'closed') {
          store.updateLease(leaseId, { status: 'closed', closedAt: Date.now(), closeReason: reason })
          components.metrics?.leaseEvents.inc({ event: 'closed' })
          logger.info({ leaseId, reason, stopped: [...ids.keys()] }, 'lease closed, workloads removed')
        }
        // The order's reservation is this lease's unless a new round already holds a bid on it.
        const reservation = store.getReservation(parseLeaseId(leaseId).orderId)
        if (reservation?.kind === 'lease' && reservation.leaseId === leaseId)
          store.release(reservation.orderId)
        return [...ids.keys()]
      })
    }

    /** Closes the lease on chain as its provider (note: why), then tears it down. */
    async function closeOnChain(leaseId: bigint, note: string): Promise<void> {
      try {
        const closed = await chain.write('closeLease', () => closeLease(chain.client, { leaseId, note }))
        logger.info(
          { leaseId, note, tx: closed.hash, reopened: closed.reopened !== undefined },
          'closed the lease on chain',
        )
        await teardown(leaseId, `ProviderClosed:${note}`)
      } catch (error) {
        const lease = await getLease(chain.client, { leaseId }).catch(() => undefined)
        if (lease && lease.state !== 'Active') await teardown(leaseId, lease.closeReason)
        else logger.warn({ leaseId, note, err: error }, 'could not close the lease on chain')
      }
    }

    async function manifestTimeout(leaseId: bigint): Promise<void> {
      const lease = store.getLease(leaseId)
      if (lease?.status !== 'waiting-manifest') return
      logger.warn(
        { leaseId, waitedMs: Date.now() - lease.seenAt },
        'no manifest arrived in time: closing the lease',
      )
      components.metrics?.leaseEvents.inc({ event: 'manifest-timeout' })
      await closeOnChain(leaseId, 'manifest-timeout')
    }

    // ---- gateway ----

    /**
     * Checks that `signer` is the tenant of the lease's order (403 otherwise) and that this provider
     * holds the lease (404 otherwise); adopts a lease the chain service has not seen yet.
     */
    async function authorize(leaseId: bigint, signer: Address): Promise<LeaseRow> {
      const { orderId } = parseLeaseId(leaseId)
      const notFound = () =>
        new ProviderRequestError(404, 'lease-not-found', `Lease ${leaseId} is not held by this provider.`)
      if (orderId === 0n) throw notFound()
      let tenant = store.getOrder(orderId)?.tenant
      if (tenant === undefined) tenant = (await getOrder(chain.client, { orderId }))?.tenant
      if (tenant === undefined) throw notFound()
      if (!isAddressEqual(tenant, signer)) {
        throw new ProviderRequestError(403, 'not-tenant', `${signer} is not the tenant of lease ${leaseId}.`)
      }
      const known = store.getLease(leaseId)
      if (known) return known
      const chainLease = await getLease(chain.client, { leaseId })
      if (!chainLease || !isAddressEqual(chainLease.provider, chain.address)) throw notFound()
      if (chainLease.state !== 'Active') throw notFound()
      const adopted = await adopt(leaseId, { pricePerSecond: chainLease.pricePerSecond })
      if (!adopted) throw notFound()
      return adopted
    }

    async function submitManifest(
      leaseId: bigint,
      body: unknown,
    ): Promise<{ leaseId: string; status: LeaseView['status'] }> {
      let decoded: DecodedManifestSubmission
      try {
        decoded = decodeManifestSubmission(body)
      } catch (error) {
        if (!(error instanceof ManifestValidationError)) throw error
        throw new ProviderRequestError(400, 'invalid-manifest', error.shortMessage, {
          extra: { issues: error.issues },
        })
      }
      return await accept(leaseId, decoded, 'gateway')
    }

    function serviceStatus(
      lease: LeaseRow,
      workload: LeaseWorkload,
      status: WorkloadStatus | undefined,
    ): ServiceView {
      const view: ServiceView = {
        name: workload.service,
        kind: workload.kind,
        runtime: workload.runtime,
        status: 'starting',
      }
      const ingress = init.ingressUrl()
      if (workload.httpPort !== undefined && ingress !== undefined && lease.status !== 'closed') {
        view.url = `${ingress}/l/${lease.leaseId}/${workload.service}/`
      }
      if (workload.startError !== undefined)
        return { ...view, status: 'failed', message: workload.startError }
      if (status?.state === 'running') return { ...view, status: 'running' }
      if (status?.state === 'exited') return { ...view, status: 'exited', exitCode: status.exitCode }
      if (status?.state === 'failed') {
        return {
          ...view,
          status: 'failed',
          reason: status.reason,
          message: status.message,
          ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
        }
      }
      if (workload.final) {
        return {
          ...view,
          status: workload.final.state,
          ...(workload.final.exitCode !== undefined ? { exitCode: workload.final.exitCode } : {}),
          ...(workload.final.message !== undefined ? { message: workload.final.message } : {}),
        }
      }
      return { ...view, status: lease.status === 'closed' ? 'stopped' : 'starting' }
    }

    async function view(lease: LeaseRow): Promise<LeaseView> {
      const services = await Promise.all(
        lease.workloads.map(async (workload) => {
          const runtime = runtimeOf(workload.runtime)
          const status =
            runtime && lease.status !== 'waiting-manifest'
              ? await runtime.status(workload.workloadId).catch(() => undefined)
              : undefined
          return serviceStatus(lease, workload, status)
        }),
      )
      let status: LeaseView['status']
      if (lease.status === 'closed') status = 'closed'
      else if (lease.status === 'waiting-manifest') status = 'waiting-manifest'
      else if (lease.status === 'starting' || services.some((s) => s.status === 'starting'))
        status = 'starting'
      else if (services.some((s) => s.status === 'running')) status = 'running'
      else if (services.some((s) => s.status === 'failed' || (s.status === 'exited' && s.exitCode !== 0)))
        status = 'failed'
      else status = 'exited'
      return {
        leaseId: lease.leaseId.toString(),
        orderId: lease.orderId.toString(),
        status,
        manifestHash: lease.manifestHash,
        pricePerSecond: lease.pricePerSecond.toString(),
        services,
        ...(lease.closeReason !== undefined ? { closeReason: lease.closeReason } : {}),
      }
    }

    async function status(leaseId: bigint): Promise<LeaseView> {
      const lease = store.getLease(leaseId)
      if (!lease)
        throw new ProviderRequestError(
          404,
          'lease-not-found',
          `Lease ${leaseId} is not held by this provider.`,
        )
      return await view(lease)
    }

    function pickWorkloads(lease: LeaseRow, service: string | undefined, single: boolean): LeaseWorkload[] {
      if (lease.status === 'waiting-manifest') {
        throw new ProviderRequestError(409, 'no-manifest', `Lease ${lease.leaseId} has no manifest yet.`)
      }
      if (service !== undefined) {
        const found = lease.workloads.find((workload) => workload.service === service)
        if (!found) {
          throw new ProviderRequestError(
            404,
            'service-not-found',
            `Lease ${lease.leaseId} has no service "${service}".`,
          )
        }
        return [found]
      }
      if (single && lease.workloads.length !== 1) {
        throw new ProviderRequestError(
          400,
          'service-required',
          `Lease ${lease.leaseId} runs ${lease.workloads.length} services; name one with ?service= (${lease.workloads.map((w) => w.service).join(', ')}).`,
        )
      }
      return lease.workloads
    }

    function leaseOrThrow(leaseId: bigint): LeaseRow {
      const lease = store.getLease(leaseId)
      if (!lease)
        throw new ProviderRequestError(
          404,
          'lease-not-found',
          `Lease ${leaseId} is not held by this provider.`,
        )
      return lease
    }

    /** A service's log lines; throws before the first line when there is nothing to read. */
    async function logs(
      leaseId: bigint,
      options: {
        service?: string | undefined
        follow?: boolean
        tail?: number | undefined
        signal?: AbortSignal
      },
    ): Promise<AsyncIterator<string>> {
      const lease = leaseOrThrow(leaseId)
      const [workload] = pickWorkloads(lease, options.service, true) as [LeaseWorkload]
      const runtime = runtimeOf(workload.runtime)
      const notFound = () =>
        new ProviderRequestError(
          404,
          'service-not-found',
          `No logs for service "${workload.service}" (not started, or removed).`,
        )
      if (!runtime) throw notFound()
      const iterator = runtime
        .logs(workload.workloadId, {
          follow: options.follow ?? false,
          ...(options.tail !== undefined ? { tail: options.tail } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        })
        [Symbol.asyncIterator]()
      let first: IteratorResult<string>
      try {
        first = await iterator.next()
      } catch (error) {
        if (error instanceof WorkloadNotFoundError) throw notFound()
        throw error
      }
      let primed = false
      return {
        next: async () => {
          if (!primed) {
            primed = true
            return first
          }
          return await iterator.next()
        },
        return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
      }
    }

    async function listResults(
      workloads: LeaseWorkload[],
    ): Promise<(ResultView & { file: ResultFile; workload: LeaseWorkload })[]> {
      const all: (ResultView & { file: ResultFile; workload: LeaseWorkload })[] = []
      for (const workload of workloads) {
        const runtime = runtimeOf(workload.runtime)
        let found: ResultFile[] = []
        try {
          found = runtime ? await runtime.results(workload.workloadId) : []
        } catch (error) {
          if (!(error instanceof WorkloadNotFoundError)) throw error
        }
        for (const file of found) {
          all.push({
            service: workload.service,
            name: file.name,
            size: file.size,
            sha256: file.sha256,
            file,
            workload,
          })
        }
      }
      return all
    }

    async function results(leaseId: bigint, service?: string): Promise<ResultView[]> {
      const lease = leaseOrThrow(leaseId)
      const found = await listResults(pickWorkloads(lease, service, false))
      return found.map(({ service: name, name: file, size, sha256 }) => ({
        service: name,
        name: file,
        size,
        sha256,
      }))
    }

    async function openResult(
      leaseId: bigint,
      name: string,
      service?: string,
    ): Promise<{ handle: FileHandle; result: ResultView }> {
      const lease = leaseOrThrow(leaseId)
      const matches = (await listResults(pickWorkloads(lease, service, false))).filter(
        (entry) => entry.name === name,
      )
      if (matches.length === 0) {
        throw new ProviderRequestError(
          404,
          'result-not-found',
          `Lease ${leaseId} has no result file "${name}".`,
        )
      }
      if (matches.length > 1) {
        throw new ProviderRequestError(
          400,
          'service-required',
          `Several services wrote "${name}" (${matches.map((m) => m.service).join(', ')}); name one with ?service=.`,
        )
      }
      const [match] = matches as [(typeof matches)[number]]
      let handle: FileHandle
      try {
        handle = await openResultFile(files.resultsDir(match.workload.workloadId), name)
      } catch (error) {
        throw new ProviderRequestError(404, 'result-not-found', `Result file "${name}" cannot be read.`, {
          cause: error,
        })
      }
      return {
        handle,
        result: { service: match.service, name: match.name, size: match.size, sha256: match.sha256 },
      }
    }

    // ---- ingress ----

    /** `ip:port` of a lease's HTTP service for the ingress. */
    async function serviceTarget(leaseId: bigint, service: string): Promise<string> {
      const lease = store.getLease(leaseId)
      if (!lease || lease.status === 'closed') {
        throw new ProviderRequestError(
          404,
          'lease-not-found',
          `Lease ${leaseId} is not running on this provider.`,
        )
      }
      const workload = lease.workloads.find((w) => w.service === service)
      if (!workload)
        throw new ProviderRequestError(
          404,
          'service-not-found',
          `Lease ${leaseId} has no service "${service}".`,
        )
      if (workload.httpPort === undefined || workload.runtime !== 'docker' || !runtimes.docker) {
        throw new ProviderRequestError(404, 'no-http-port', `Service "${service}" exposes no HTTP port.`)
      }
      try {
        return await runtimes.docker.serviceAddress(workload.workloadId, workload.httpPort)
      } catch (error) {
        throw new ProviderRequestError(
          502,
          'service-unavailable',
          `Service "${service}" of lease ${leaseId} is not running.`,
          {
            cause: error,
          },
        )
      }
    }

    /** A lease's health for probes (the watcher role): known, active, and no workload failed. */
    async function probe(leaseId: bigint): Promise<{ healthy: boolean; lease: LeaseView }> {
      const lease = store.getLease(leaseId)
      if (!lease || lease.status === 'closed') {
        throw new ProviderRequestError(
          404,
          'lease-not-found',
          `Lease ${leaseId} is not running on this provider.`,
        )
      }
      const leaseView = await view(lease)
      const healthy = leaseView.services.every(
        (s) =>
          s.status === 'running' || s.status === 'starting' || (s.status === 'exited' && s.exitCode === 0),
      )
      return { healthy, lease: leaseView }
    }

    // ---- chain listener ----

    async function onLeaseCreated(event: LeaseCreatedEvent): Promise<void> {
      const lease = await adopt(event.leaseId, { pricePerSecond: event.pricePerSecond })
      if (lease?.status === 'closed') return
    }

    async function onLeaseClosed(event: LeaseClosedEvent): Promise<void> {
      await teardown(event.leaseId, event.reason)
    }

    return {
      adopt,
      authorize,
      submitManifest,
      status,
      logs,
      results,
      openResult,
      serviceTarget,
      probe,
      ensureWorkloads,
      deploy,
      teardown,
      closeOnChain,
      manifestTimeout,
      onLeaseCreated,
      onLeaseClosed,
      files,
      isDeploying: (leaseId: bigint) => deploying.has(leaseId.toString()),
      /** Waits for background work (manifest fetches, deploys) to finish. */
      async idle(): Promise<void> {
        while (background.size > 0) await Promise.allSettled([...background])
      },
    }
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return (error as { shortMessage?: string }).shortMessage ?? error.message
  return String(error)
}
