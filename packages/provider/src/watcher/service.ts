import { marketAbi, StoaContractError } from '@stoa/protocol'
import { getLease, getProvider, reportFault } from '@stoa/sdk'
import { type Address, isAddressEqual } from 'viem'
import { getContractEvents } from 'viem/actions'
import type { ProviderChain } from '../chain/client.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'

export type WatcherInit = {
  probeIntervalMs: number
  probeTimeoutMs: number
  /** Consecutive failed probes before a fault is reported. */
  failuresBeforeReport: number
  /** Every active lease of other providers, or these lease ids. */
  leases: 'all' | bigint[]
  /** First block to scan for leases. */
  fromBlock: bigint
}

export type WatcherComponents = {
  /** Signs the fault reports: an account registered with `Market.setWatcher`. */
  chain: ProviderChain
  logger?: Logger
  metrics?: ProviderMetrics
}

export type WatchedLease = {
  leaseId: bigint
  provider: Address
  failures: number
  lastProbe: { ok: boolean; reason: string; at: number } | undefined
  reported: boolean
}

export type Watcher = {
  start(): Promise<void>
  stop(): Promise<void>
  /** One round of probes over the watched leases. */
  probeAll(): Promise<void>
  readonly watched: ReadonlyMap<bigint, WatchedLease>
}

/**
 * The watcher role: probes the gateways of the leases it watches (`GET /v1/health` must answer
 * ok, and the lease's ingress `GET /l/<leaseId>/` must say it is healthy there) and, after
 * `failuresBeforeReport` consecutive failures, calls `reportFault` as a registered watcher. At the
 * fault quorum the provider is slashed and an auto-reopen order goes back to bidding.
 */
export function watcher(init: WatcherInit): (components: WatcherComponents) => Watcher {
  return (components) => {
    const { chain } = components
    const logger = (components.logger ?? silentLogger).child({ service: 'watcher' })
    const watched = new Map<bigint, WatchedLease>()
    const gateways = new Map<string, string>()
    let cursor = init.fromBlock
    let timer: NodeJS.Timeout | undefined
    let running: Promise<void> | undefined
    let stopped = true

    /** Learns new leases from LeaseCreated logs (all of them, or the configured ids). */
    async function discover(): Promise<void> {
      if (init.leases !== 'all') {
        for (const leaseId of init.leases) {
          if (watched.has(leaseId)) continue
          const lease = await getLease(chain.client, { leaseId })
          if (lease && lease.state === 'Active') {
            watched.set(leaseId, {
              leaseId,
              provider: lease.provider,
              failures: 0,
              lastProbe: undefined,
              reported: false,
            })
          }
        }
        return
      }
      const head = await chain.head()
      if (cursor > head.number) return
      const logs = await getContractEvents(chain.client, {
        address: chain.deployment.contracts.market,
        abi: marketAbi,
        eventName: 'LeaseCreated',
        fromBlock: cursor,
        toBlock: head.number,
        strict: true,
      })
      cursor = head.number + 1n
      for (const log of logs) {
        const { leaseId, provider } = log.args
        if (isAddressEqual(provider, chain.address)) continue
        watched.set(leaseId, { leaseId, provider, failures: 0, lastProbe: undefined, reported: false })
      }
    }

    async function gatewayOf(provider: Address): Promise<string | undefined> {
      const cached = gateways.get(provider)
      if (cached) return cached
      const record = await getProvider(chain.client, { provider })
      if (!record) return undefined
      gateways.set(provider, record.gatewayUrl)
      return record.gatewayUrl
    }

    async function fetchJson(url: string): Promise<{ status: number; body: unknown }> {
      const response = await fetch(url, { signal: AbortSignal.timeout(init.probeTimeoutMs) })
      const text = await response.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      return { status: response.status, body }
    }

    /** One probe: the provider's gateway health, then the lease's health at its ingress. */
    async function probe(lease: WatchedLease): Promise<{ ok: boolean; reason: string }> {
      const gateway = await gatewayOf(lease.provider)
      if (!gateway) return { ok: false, reason: 'provider-unregistered' }
      let ingressUrl: string | undefined
      try {
        const health = await fetchJson(`${gateway.replace(/\/$/, '')}/v1/health`)
        const body = health.body as { ok?: unknown; ingressUrl?: unknown } | undefined
        if (health.status !== 200 || body?.ok !== true)
          return { ok: false, reason: `health-${health.status}` }
        if (typeof body.ingressUrl === 'string') ingressUrl = body.ingressUrl
      } catch {
        return { ok: false, reason: 'gateway-unreachable' }
      }
      if (ingressUrl === undefined) return { ok: true, reason: 'gateway-ok' }
      try {
        const result = await fetchJson(`${ingressUrl.replace(/\/$/, '')}/l/${lease.leaseId}/`)
        if (result.status !== 200) return { ok: false, reason: `lease-${result.status}` }
        return { ok: true, reason: 'lease-healthy' }
      } catch {
        return { ok: false, reason: 'ingress-unreachable' }
      }
    }

    async function probeAll(): Promise<void> {
      await discover()
      for (const lease of [...watched.values()]) {
        const onchain = await getLease(chain.client, { leaseId: lease.leaseId })
        if (onchain?.state !== 'Active') {
          watched.delete(lease.leaseId)
          continue
        }
        // Reported already: a watcher reports a lease once; others reach the quorum.
        if (lease.reported) continue
        const result = await probe(lease)
        lease.lastProbe = { ...result, at: Date.now() }
        components.metrics?.probes.inc({ result: result.ok ? 'ok' : 'failed' })
        if (result.ok) {
          lease.failures = 0
          continue
        }
        lease.failures++
        logger.info(
          {
            leaseId: lease.leaseId,
            provider: lease.provider,
            reason: result.reason,
            failures: lease.failures,
          },
          'probe failed',
        )
        if (lease.failures < init.failuresBeforeReport) continue
        try {
          const reported = await chain.write('reportFault', () =>
            reportFault(chain.client, {
              leaseId: lease.leaseId,
              evidence: `probe:${result.reason}`.slice(0, 32),
            }),
          )
          lease.reported = true
          components.metrics?.faultReports.inc({ result: 'ok' })
          logger.warn(
            {
              leaseId: lease.leaseId,
              provider: lease.provider,
              reason: result.reason,
              reports: reported.reports,
              slashed: reported.slashed?.amount,
              reopened: reported.reopened !== undefined,
              tx: reported.hash,
            },
            'reported a fault',
          )
        } catch (error) {
          components.metrics?.faultReports.inc({ result: 'failed' })
          logger.warn({ leaseId: lease.leaseId, err: error }, 'reportFault failed')
          // A revert (already reported, lease closed meanwhile) is final; a transport error is retried.
          if (error instanceof StoaContractError) lease.reported = true
        }
      }
    }

    function run(): Promise<void> {
      running ??= probeAll().finally(() => {
        running = undefined
      })
      return running
    }

    function schedule(): void {
      if (stopped) return
      timer = setTimeout(() => {
        run()
          .catch((error: unknown) => logger.warn({ err: error }, 'probe round failed'))
          .finally(schedule)
      }, init.probeIntervalMs)
      timer.unref?.()
    }

    return {
      watched,
      probeAll: run,
      async start() {
        stopped = false
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
