import {
  InvalidParameterError,
  type InvalidParameterErrorType,
  type ManifestValidationErrorType,
  type RegionName,
  StoaContractError,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address } from 'viem'
import { getBlock } from 'viem/actions'
import type { GatewayClient } from '../gateway/client.ts'
import {
  collectBids,
  currentPlacement,
  describeFailure,
  faultEvidence,
  loadManifest,
  type ManifestFileErrorType,
  type ManifestInput,
  type Placement,
  placeOnBestBid,
  readyTarget,
  sendManifest,
  serviceUrls,
} from '../gateway/placement.ts'
import { ProviderGatewayMissingError } from '../gateway/resolve.ts'
import { gatewayClientFor, gatewaySignerOf } from '../gateway/signer.ts'
import { sleep } from '../gateway/sleep.ts'
import type {
  ProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
} from '../types.ts'
import type { BidRecord } from './getBids.ts'
import { getOrder, type OrderRecord } from './getOrder.ts'
import { reportFault } from './reportFault.ts'
import { restartBidding } from './restartBidding.ts'
import { LeaseFailedError, waitForLease } from './waitForLease.ts'

export type WatchLeaseProgressEvent =
  | ProgressEvent<
      'watch:watching',
      { orderId: bigint; leaseId: bigint; provider: Address; services: WatchedService[] }
    >
  | ProgressEvent<
      'watch:probe',
      { leaseId: bigint; ok: boolean; reason: string | undefined; failures: number }
    >
  | ProgressEvent<'watch:manifest-resent', { leaseId: bigint; gatewayUrl: string }>
  | ProgressEvent<
      'watch:fault-reported',
      { leaseId: bigint; provider: Address; reason: string; reopened: boolean }
    >
  | ProgressEvent<'watch:bid', BidRecord>
  | ProgressEvent<'watch:no-bids', { orderId: bigint; round: number }>
  | ProgressEvent<
      'watch:accepted',
      { leaseId: bigint; provider: Address; pricePerSecond: bigint; gatewayUrl: string | undefined }
    >
  | ProgressEvent<'watch:manifest-sent', { leaseId: bigint; gatewayUrl: string }>
  | ProgressEvent<'watch:running', Failover>
  | ProgressEvent<'watch:error', { reason: string; error: unknown }>
  | TransactionProgressEvent

export type WatchedService = { name: string; url: string }

/** One move of the workload from a failed provider to a new one. */
export type Failover = {
  fromLeaseId: bigint | undefined
  fromProvider: Address | undefined
  leaseId: bigint
  provider: Address
  reason: string
  /** From the first failed probe (or the lease ending) to running on the new provider. */
  ms: number
  services: WatchedService[]
}

export type WatchLeaseParameters = WriteParameters &
  ProgressOptions<WatchLeaseProgressEvent> & {
    orderId: bigint
    /** The order's manifest, to send to each new provider (its hash must be the order's). */
    manifest: ManifestInput
    /** Between probes (default 1 000 ms). */
    probeIntervalMs?: number | undefined
    /** Time limit of each probe request (default 2 000 ms). */
    probeTimeoutMs?: number | undefined
    /** Consecutive failed probes before the tenant reports a fault (default 3). */
    failuresBeforeReport?: number | undefined
    /** Regions in order of preference when ranking a new round's bids (default none). */
    regions?: readonly (RegionName | number)[] | undefined
    latencyTimeoutMs?: number | undefined
    /** How long a new provider has to get the services running (default 60 000 ms). */
    readyTimeoutMs?: number | undefined
    /** Stops the watcher; it then resolves with what it did. Without one it runs as long as the order. */
    signal?: AbortSignal | undefined
  }

export type WatchLeaseReturnType = {
  orderId: bigint
  /** The lease being watched when it stopped. */
  leaseId: bigint | undefined
  failovers: Failover[]
  probes: number
  /** `aborted` (the signal) or `order-closed` (closed by the tenant, or out of escrow). */
  stopped: 'aborted' | 'order-closed'
}

export type WatchLeaseErrorType =
  | ManifestValidationErrorType
  | ManifestFileErrorType
  | StoaContractErrorType
  | InvalidParameterErrorType

type Watched = Placement & {
  gateway: GatewayClient | undefined
  gatewayUrl: string | undefined
  services: WatchedService[]
}

/** Errors in a row (chain or gateway trouble outside probes) after which the watcher gives up. */
const MAX_CONSECUTIVE_ERRORS = 30

/**
 * Keeps an order's workload running: probes its provider (gateway health, the lease's status,
 * every HTTP service through the ingress) and after `failuresBeforeReport` consecutive failures
 * reports a fault as the tenant: the lease closes without a slash and the auto-reopen order goes
 * back to bidding, without that provider. (A lease of jobs only that ended, however it ended, is
 * not a fault.) It then collects the new round's bids, accepts the
 * best, re-sends the manifest to the new provider and waits until it runs; and so on until
 * `signal` aborts or the order closes. Resolves (does not throw) on abort.
 *
 * @example
 * const controller = new AbortController()
 * process.once('SIGINT', () => controller.abort())
 * const { failovers } = await watchLease(client, { orderId, manifest: { path: 'app.yaml' }, signal: controller.signal })
 */
export async function watchLease(
  client: StoaActionClient,
  parameters: WatchLeaseParameters,
): Promise<WatchLeaseReturnType> {
  const { orderId, signal, onProgress, account } = parameters
  const probeIntervalMs = parameters.probeIntervalMs ?? 1_000
  const probeTimeoutMs = parameters.probeTimeoutMs ?? 2_000
  const failuresBeforeReport = Math.max(1, parameters.failuresBeforeReport ?? 3)
  const asTenant = account === undefined ? {} : { account }
  const parsed = await loadManifest(parameters.manifest)
  const first = await getOrder(client, { orderId })
  if (!first) throw new InvalidParameterError('orderId', 'an existing order', orderId)
  if (first.manifestHash !== parsed.hash) {
    throw new InvalidParameterError(
      'manifest',
      `the manifest of order ${orderId} (hash ${first.manifestHash})`,
      parsed.hash,
    )
  }
  const { regions } = parameters
  /** Jobs end by design: a lease of jobs only that exited or failed is done, not faulty. */
  const jobsOnly = readyTarget(parsed.manifest) === 'exited'

  const failovers: Failover[] = []
  let watched: Watched | undefined
  let failures = 0
  let probes = 0
  let errors = 0
  /** Since when the current workload has been failing, and what was lost, for the failover record. */
  let outage:
    | { since: number; reason: string; leaseId: bigint | undefined; provider: Address | undefined }
    | undefined
  let stopped: WatchLeaseReturnType['stopped'] = 'aborted'

  const place = async (placement: Placement): Promise<Watched> => {
    const gatewayUrl = placement.gatewayUrl
    const gateway = gatewayUrl
      ? gatewayClientFor(client, gatewayUrl, { account: gatewaySignerOf(client, account ?? client.account) })
      : undefined
    const current: Watched = { ...placement, gateway, gatewayUrl, services: [] }
    watched = current
    if (!gateway || !gatewayUrl) throw new ProviderGatewayMissingError(placement.leaseId)
    const before = await gateway
      .leaseStatus({ leaseId: placement.leaseId, signal, timeoutMs: probeTimeoutMs })
      .catch(() => undefined)
    if (!before || before.status === 'waiting-manifest') {
      await sendManifest(gateway, { leaseId: placement.leaseId, parsed, signal })
      onProgress?.({ type: 'watch:manifest-sent', detail: { leaseId: placement.leaseId, gatewayUrl } })
    }
    const status = await waitForLease(client, {
      leaseId: placement.leaseId,
      gateway,
      until: 'running',
      timeoutMs: parameters.readyTimeoutMs ?? 60_000,
      signal,
    }).catch((error: unknown) => {
      // A job that ended badly is the job's outcome, not the provider's fault.
      if (jobsOnly && error instanceof LeaseFailedError && error.status.status === 'failed')
        return error.status
      throw error
    })
    const ingressUrl = await gateway.health({ signal }).then(
      (health) => health.ingressUrl,
      () => undefined,
    )
    current.services = [...serviceUrls(parsed.manifest, status, placement.leaseId, ingressUrl)].map(
      ([name, url]) => ({
        name,
        url,
      }),
    )
    if (outage) {
      const failover: Failover = {
        fromLeaseId: outage.leaseId,
        fromProvider: outage.provider,
        leaseId: placement.leaseId,
        provider: placement.provider,
        reason: outage.reason,
        ms: Math.round(performance.now() - outage.since),
        services: current.services,
      }
      failovers.push(failover)
      onProgress?.({ type: 'watch:running', detail: failover })
      outage = undefined
    } else {
      onProgress?.({
        type: 'watch:watching',
        detail: {
          orderId,
          leaseId: placement.leaseId,
          provider: placement.provider,
          services: current.services,
        },
      })
    }
    return current
  }

  const rebid = async (order: OrderRecord): Promise<Placement | undefined> => {
    const bids = await collectBids(client, {
      orderId,
      bidDeadline: order.bidDeadline,
      bidWindowSeconds: order.bidWindow,
      signal,
      onBid: (bid) => onProgress?.({ type: 'watch:bid', detail: bid }),
    })
    const placement =
      bids.length === 0
        ? undefined
        : await placeOnBestBid(client, {
            orderId,
            bids,
            regions,
            latencyTimeoutMs: parameters.latencyTimeoutMs,
            account,
            signal,
            onTransaction: onProgress,
          })
    if (placement) {
      onProgress?.({
        type: 'watch:accepted',
        detail: {
          leaseId: placement.leaseId,
          provider: placement.provider,
          pricePerSecond: placement.pricePerSecond,
          gatewayUrl: placement.gatewayUrl,
        },
      })
      return placement
    }
    onProgress?.({ type: 'watch:no-bids', detail: { orderId, round: order.round } })
    // The window closed with nothing usable: start a fresh round (the tenant may, any time past the window).
    const latest = await getBlock(client, { blockTag: 'latest' })
    if (Number(latest.timestamp) > order.bidDeadline) {
      await restartBidding(client, { orderId, ...asTenant, onProgress }).catch((error: unknown) => {
        if (!(error instanceof StoaContractError)) throw error
      })
    } else {
      await sleep(1_000, signal)
    }
    return undefined
  }

  const probe = async (current: Watched): Promise<string | undefined> => {
    const { gateway, leaseId } = current
    if (!gateway || !current.gatewayUrl) return 'no gateway URL'
    try {
      const health = await gateway.health({ signal, timeoutMs: probeTimeoutMs })
      if (!health.ok) return 'gateway not ok'
      const status = await gateway.leaseStatus({ leaseId, signal, timeoutMs: probeTimeoutMs })
      if (status.status === 'waiting-manifest') {
        // The provider lost the manifest (a reinstall?): give it again rather than leave.
        await sendManifest(gateway, { leaseId, parsed, signal, timeoutMs: probeTimeoutMs })
        onProgress?.({ type: 'watch:manifest-resent', detail: { leaseId, gatewayUrl: current.gatewayUrl } })
        return undefined
      }
      if (status.status === 'closed') return 'lease closed'
      if (status.status === 'failed' && !jobsOnly) return 'lease failed'
      for (const service of current.services) {
        const response = await fetch(service.url, {
          signal: AbortSignal.any([
            signal ?? new AbortController().signal,
            AbortSignal.timeout(probeTimeoutMs),
          ]),
        })
        await response.body?.cancel().catch(() => {})
        if (response.status >= 500) return `${service.name} answered ${response.status}`
      }
      return undefined
    } catch (error) {
      if (signal?.aborted) throw error
      return describeFailure(error)
    }
  }

  try {
    while (!signal?.aborted) {
      try {
        const order = await getOrder(client, { orderId })
        if (!order || order.state === 'Closed') {
          stopped = 'order-closed'
          break
        }
        if (order.state === 'Open') {
          outage ??= {
            since: performance.now(),
            reason: 'lease ended',
            leaseId: watched?.leaseId,
            provider: watched?.provider,
          }
          const placement = await rebid(order)
          if (placement) {
            failures = 0
            await place(placement).catch((error: unknown) => {
              if (signal?.aborted) throw error
              // The new provider did not take the manifest: fault it at once.
              failures = failuresBeforeReport
              outage ??= {
                since: performance.now(),
                reason: describeFailure(error),
                leaseId: placement.leaseId,
                provider: placement.provider,
              }
              onProgress?.({ type: 'watch:error', detail: { reason: describeFailure(error), error } })
            })
          }
          errors = 0
          continue
        }
        if (!watched || watched.leaseId !== order.leaseId) {
          const placement = await currentPlacement(client, orderId)
          // The order changed between the two reads: look again shortly.
          if (!placement) await sleep(probeIntervalMs, signal)
          if (placement) {
            failures = 0
            await place(placement).catch((error: unknown) => {
              if (signal?.aborted) throw error
              failures = failuresBeforeReport
              outage ??= {
                since: performance.now(),
                reason: describeFailure(error),
                leaseId: placement.leaseId,
                provider: placement.provider,
              }
              onProgress?.({ type: 'watch:error', detail: { reason: describeFailure(error), error } })
            })
          }
          errors = 0
          continue
        }
        if (failures < failuresBeforeReport) {
          const reason = await probe(watched)
          probes++
          failures = reason === undefined ? 0 : failures + 1
          if (reason !== undefined) {
            outage ??= {
              since: performance.now(),
              reason,
              leaseId: watched.leaseId,
              provider: watched.provider,
            }
            outage.reason = reason
          } else {
            outage = undefined
          }
          onProgress?.({
            type: 'watch:probe',
            detail: { leaseId: watched.leaseId, ok: reason === undefined, reason, failures },
          })
        }
        if (failures >= failuresBeforeReport) {
          const reason = outage?.reason ?? 'probes failed'
          failures = 0
          try {
            const reported = await reportFault(client, {
              leaseId: watched.leaseId,
              evidence: faultEvidence(reason),
              ...asTenant,
              onProgress,
            })
            onProgress?.({
              type: 'watch:fault-reported',
              detail: {
                leaseId: watched.leaseId,
                provider: watched.provider,
                reason,
                reopened: reported.reopened !== undefined,
              },
            })
          } catch (error) {
            // The lease may have ended meanwhile (the provider closed it, the escrow ran out): re-read the order.
            if (!(error instanceof StoaContractError)) throw error
          }
          errors = 0
          continue
        }
        errors = 0
        await sleep(probeIntervalMs, signal)
      } catch (error) {
        if (signal?.aborted) break
        errors++
        onProgress?.({ type: 'watch:error', detail: { reason: describeFailure(error), error } })
        if (errors >= MAX_CONSECUTIVE_ERRORS) throw error
        await sleep(probeIntervalMs, signal)
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error
  }
  return {
    orderId,
    leaseId: watched?.leaseId,
    failovers,
    probes,
    stopped: signal?.aborted ? 'aborted' : stopped,
  }
}
