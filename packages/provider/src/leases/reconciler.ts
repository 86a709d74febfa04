import { getLease } from '@stoa/sdk'
import { isAddressEqual } from 'viem'
import type { ProviderChain } from '../chain/client.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { Runtime, WorkloadHandle } from '../runtime/types.ts'
import type { StateStore } from '../state/store.ts'
import type { LeaseManager, Runtimes } from './manager.ts'

export type OrphanReport = { id: string; runtime: 'docker' | 'wasm'; leaseId: bigint; service: string }

export type ReconcileReport = {
  /** Workloads whose lease is not active on chain and that no live lease of the state claimed: removed. */
  orphansRemoved: OrphanReport[]
  /** Leases the state had as live that the chain says are over: torn down. */
  leasesClosed: bigint[]
  /** Workloads started again (missing, or killed by a daemon restart). */
  restarted: string[]
  /** Leases closed on chain because no manifest came in time. */
  manifestTimeouts: bigint[]
  /** Closed leases whose files were deleted after the retention period. */
  pruned: bigint[]
}

export type ReconcilerInit = {
  intervalMs: number
  manifestTimeoutMs: number
  resultsRetentionMs: number
}

export type ReconcilerComponents = {
  chain: ProviderChain
  store: StateStore
  runtimes: Runtimes
  leases: LeaseManager
  logger?: Logger
  metrics?: ProviderMetrics
}

export type Reconciler = {
  start(): Promise<void>
  stop(): Promise<void>
  reconcile(): Promise<ReconcileReport>
}

/**
 * The reconciler (at start and every `intervalMs`): compares the workloads every runtime holds
 * (`runtime.list()`) with the leases on chain and tears down every workload whose lease is not
 * active for this provider, so nothing leaks (Akash leaked hundreds of vCPUs by missing this). It
 * also closes leases whose manifest never came, restarts lost workloads of running leases, and
 * deletes the files of leases closed longer than the retention period.
 */
export function reconciler(init: ReconcilerInit): (components: ReconcilerComponents) => Reconciler {
  return (components) => {
    const { chain, store, runtimes, leases } = components
    const logger = components.logger ?? silentLogger
    let timer: NodeJS.Timeout | undefined
    let running: Promise<ReconcileReport> | undefined
    let queued: Promise<ReconcileReport> | undefined
    let stopped = true

    async function pass(): Promise<ReconcileReport> {
      const report: ReconcileReport = {
        orphansRemoved: [],
        leasesClosed: [],
        restarted: [],
        manifestTimeouts: [],
        pruned: [],
      }
      const listed: { runtime: Runtime; handle: WorkloadHandle }[] = []
      for (const runtime of [runtimes.docker, runtimes.wasm]) {
        if (!runtime) continue
        try {
          for (const handle of await runtime.list()) listed.push({ runtime, handle })
        } catch (error) {
          logger.warn(
            { runtime: runtime.kind, err: error },
            'could not list workloads; skipping that runtime this pass',
          )
        }
      }
      const leaseIds = new Set<bigint>([
        ...listed.map(({ handle }) => handle.leaseId),
        ...store.liveLeases().map((l) => l.leaseId),
      ])
      const activeHere = new Map<bigint, { active: boolean; reason: string }>()
      for (const leaseId of leaseIds) {
        const lease = await getLease(chain.client, { leaseId })
        const active =
          lease !== null && lease.state === 'Active' && isAddressEqual(lease.provider, chain.address)
        activeHere.set(leaseId, { active, reason: lease ? lease.closeReason : 'unknown-lease' })
      }

      // Leases the state thinks live but the chain ended (a missed LeaseClosed, or closed while down).
      for (const lease of store.liveLeases()) {
        const state = activeHere.get(lease.leaseId)
        if (state && !state.active) {
          await leases.teardown(lease.leaseId, state.reason)
          report.leasesClosed.push(lease.leaseId)
        }
      }
      const claimed = new Set(store.liveLeases().map((lease) => lease.leaseId))
      // Anything left over whose lease is not active here is an orphan.
      for (const { runtime, handle } of listed) {
        if (activeHere.get(handle.leaseId)?.active) {
          // Active on chain but unknown to the state (a lost database): adopt the lease.
          if (!claimed.has(handle.leaseId)) await leases.adopt(handle.leaseId)
          continue
        }
        // Torn down with its lease just above.
        if (report.leasesClosed.includes(handle.leaseId)) continue
        try {
          await runtime.stop(handle.id)
          report.orphansRemoved.push({
            id: handle.id,
            runtime: handle.runtime,
            leaseId: handle.leaseId,
            service: handle.service,
          })
          components.metrics?.orphansRemoved.inc()
          logger.warn(
            {
              workload: handle.id,
              runtime: handle.runtime,
              leaseId: handle.leaseId,
              reason: activeHere.get(handle.leaseId)?.reason,
            },
            'removed an orphan workload (its lease is not active)',
          )
        } catch (error) {
          logger.warn({ workload: handle.id, err: error }, 'could not remove an orphan workload')
        }
      }

      const now = Date.now()
      for (const lease of store.liveLeases()) {
        if (!activeHere.get(lease.leaseId)?.active) continue
        if (lease.status === 'waiting-manifest' && now - lease.seenAt > init.manifestTimeoutMs) {
          await leases.manifestTimeout(lease.leaseId)
          report.manifestTimeouts.push(lease.leaseId)
        } else if (lease.status === 'running') {
          report.restarted.push(...(await leases.ensureWorkloads(lease.leaseId)))
        } else if (lease.status === 'starting' && !leases.isDeploying(lease.leaseId)) {
          // The daemon stopped in the middle of starting it.
          await leases.deploy(lease.leaseId)
        }
      }

      for (const lease of store.leasesClosedBefore(now - init.resultsRetentionMs)) {
        if (!lease.collected) continue
        await leases.files.remove(
          lease.leaseId,
          lease.workloads.map((w) => w.workloadId),
        )
        store.deleteLease(lease.leaseId)
        report.pruned.push(lease.leaseId)
      }
      store.pruneNonces(Math.floor(now / 1000))
      await updateGauges()
      return report
    }

    async function updateGauges(): Promise<void> {
      const metrics = components.metrics
      if (!metrics) return
      metrics.workloads.reset()
      for (const runtime of [runtimes.docker, runtimes.wasm]) {
        if (!runtime) continue
        const handles = await runtime.list().catch(() => [] as WorkloadHandle[])
        for (const handle of handles) {
          const status = await runtime.status(handle.id).catch(() => ({ state: 'unknown' as const }))
          metrics.workloads.inc({ runtime: runtime.kind, state: status.state })
        }
      }
    }

    function reconcile(): Promise<ReconcileReport> {
      if (running === undefined) {
        running = pass().finally(() => {
          running = undefined
        })
        return running
      }
      // A pass is in flight and may have read the chain before the caller's change: callers get one
      // more pass that starts after it (shared by everyone who asks meanwhile).
      queued ??= running
        .catch(() => undefined)
        .then(() => {
          queued = undefined
          return reconcile()
        })
      return queued
    }

    function schedule(): void {
      if (stopped) return
      timer = setTimeout(() => {
        reconcile()
          .then((report) => {
            if (report.orphansRemoved.length + report.leasesClosed.length + report.restarted.length > 0) {
              logger.info({ report }, 'reconciled workloads with the chain')
            }
          })
          .catch((error: unknown) => logger.warn({ err: error }, 'reconcile failed; retrying'))
          .finally(schedule)
      }, init.intervalMs)
      timer.unref?.()
    }

    return {
      reconcile,
      async start() {
        stopped = false
        const report = await reconcile()
        if (
          report.orphansRemoved.length > 0 ||
          report.leasesClosed.length > 0 ||
          report.restarted.length > 0
        ) {
          logger.info({ report }, 'start-up reconcile')
        }
        schedule()
      },
      async stop() {
        stopped = true
        if (timer) clearTimeout(timer)
        await running?.catch(() => {})
      },
    }
  }
}
