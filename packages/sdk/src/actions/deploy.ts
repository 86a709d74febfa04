import {
  BaseError,
  type InvalidParameterErrorType,
  type ManifestOrderResources,
  type ManifestValidationErrorType,
  manifestOrderParameters,
  parseCredits,
  type RegionName,
  type StoaContractErrorType,
} from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import type { GatewayClient } from '../gateway/client.ts'
import type { GatewayRequestErrorType } from '../gateway/errors.ts'
import {
  collectBids,
  describeFailure,
  faultEvidence,
  isTransientGatewayFailure,
  loadManifest,
  type ManifestFileErrorType,
  type ManifestInput,
  type Placement,
  placeOnBestBid,
  readyTarget,
  sendManifest,
  serviceUrls,
} from '../gateway/placement.ts'
import { formatLeaseId } from '../gateway/resolve.ts'
import { gatewayClientFor, gatewaySignerOf } from '../gateway/signer.ts'
import type { GatewayLeaseState, GatewayLeaseStatus, GatewayResultFile } from '../gateway/types.ts'
import type {
  ProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
} from '../types.ts'
import { cancelOrder } from './cancelOrder.ts'
import { createOrder } from './createOrder.ts'
import type { BidRecord } from './getBids.ts'
import { getOrder } from './getOrder.ts'
import { reportFault } from './reportFault.ts'
import type { RankedBid, SelectBidReturnType } from './selectBid.ts'
import {
  type LeaseFailedErrorType,
  type WaitForLeaseProgressEvent,
  WaitForLeaseTimeoutError,
  type WaitForLeaseTimeoutErrorType,
  waitForLease,
} from './waitForLease.ts'
import {
  type WatchLeaseParameters,
  type WatchLeaseProgressEvent,
  type WatchLeaseReturnType,
  watchLease,
} from './watchLease.ts'

export type NoBidsErrorType = NoBidsError & { name: 'NoBidsError' }

/** No provider bid (or no bid could be accepted) in the bid window; the order was cancelled and refunded. */
export class NoBidsError extends BaseError {
  readonly orderId: bigint
  readonly refund: bigint | undefined
  constructor(parameters: {
    orderId: bigint
    bids: number
    refund: bigint | undefined
    excluded?: SelectBidReturnType['excluded'] | undefined
  }) {
    const { orderId, bids, refund, excluded = [] } = parameters
    super(
      bids === 0
        ? `No provider bid on order ${orderId} within its bid window.`
        : `None of the ${bids} bids on order ${orderId} could be accepted.`,
      {
        name: 'NoBidsError',
        metaMessages: [
          ...excluded.map(({ provider, reason }) => `${provider}: ${reason}`),
          refund === undefined
            ? `Cancel the order to get the deposit back: \`stoa close ${orderId}\`.`
            : 'The order was cancelled and its deposit refunded.',
          'Are providers running, with capacity for these resources, in the allowed regions, at or under the maximum price? A longer --bid-window gives them more time.',
        ],
      },
    )
    this.orderId = orderId
    this.refund = refund
  }
}

export type DeployFailedErrorType = DeployFailedError & { name: 'DeployFailedError' }

/** The manifest could not be started on any provider tried; `cause` says why for the last one. */
export class DeployFailedError extends BaseError {
  readonly orderId: bigint
  readonly leaseId: bigint | undefined
  constructor(parameters: {
    orderId: bigint
    leaseId: bigint | undefined
    attempts: number
    cause: unknown
  }) {
    const { orderId, leaseId, attempts, cause } = parameters
    super(
      `Deploying order ${orderId} failed after ${attempts} provider${attempts === 1 ? '' : 's'}: ${describeFailure(cause)}.`,
      {
        name: 'DeployFailedError',
        cause,
        metaMessages:
          leaseId === undefined
            ? []
            : [
                `Lease ${formatLeaseId(leaseId)} may still hold escrow: \`stoa status ${orderId}\`, \`stoa close ${orderId}\`.`,
              ],
      },
    )
    this.orderId = orderId
    this.leaseId = leaseId
  }
}

export type DeployProgressEvent =
  | ProgressEvent<
      'deploy:manifest-parsed',
      { manifestHash: Hex; services: string[]; resources: ManifestOrderResources; deposit: bigint }
    >
  | ProgressEvent<
      'deploy:order-created',
      { orderId: bigint; bidDeadline: number; deposit: bigint; maxPricePerSecond: bigint; manifestHash: Hex }
    >
  | ProgressEvent<'deploy:bid', BidRecord>
  | ProgressEvent<'deploy:bids-closed', { orderId: bigint; bids: number }>
  | ProgressEvent<'deploy:ranked', SelectBidReturnType>
  | ProgressEvent<'deploy:accept-failed', { provider: Address; error: unknown }>
  | ProgressEvent<
      'deploy:accepted',
      {
        orderId: bigint
        leaseId: bigint
        provider: Address
        pricePerSecond: bigint
        gatewayUrl: string | undefined
        acceptedByTenant: boolean
      }
    >
  | ProgressEvent<'deploy:manifest-sent', { leaseId: bigint; gatewayUrl: string }>
  | ProgressEvent<'deploy:status', GatewayLeaseStatus>
  | ProgressEvent<'deploy:running', { leaseId: bigint; services: DeployedService[] }>
  | ProgressEvent<'deploy:exited', { leaseId: bigint; services: DeployedService[] }>
  | ProgressEvent<'deploy:failover', { leaseId: bigint; provider: Address; reason: string }>
  | ProgressEvent<'deploy:cancelled', { orderId: bigint; refund: bigint }>
  | TransactionProgressEvent
  | WaitForLeaseProgressEvent
  | WatchLeaseProgressEvent

export type DeployParameters = WriteParameters &
  ProgressOptions<DeployProgressEvent> & {
    /** The manifest: `{ path: 'app.yaml' }`, `{ yaml, baseDir }`, or what `parseManifest` returned. */
    manifest: ManifestInput
    /** Seconds providers have to bid (default 3); deploy waits the whole window, then picks. */
    bidWindowSeconds?: number | undefined
    /** Escrow this many USD instead of the manifest's `deposit` / `duration` × max price. */
    depositUsd?: string | undefined
    /** Escrow this many credits (6 decimals) instead of the manifest's. */
    deposit?: bigint | undefined
    /** Where providers may fetch the manifest (default none: it is sent to the winner's gateway). */
    manifestUri?: string | undefined
    /** After a fault or a provider close, reopen the order for bids (default true: failover needs it). */
    autoReopen?: boolean | undefined
    /**
     * Regions in order of preference when ranking bids (most wanted first). Default none: the
     * manifest's placement regions only say where the workload may run (bids from elsewhere never
     * come), not which of them is better.
     */
    regions?: readonly (RegionName | number)[] | undefined
    /** Time limit of each gateway round trip measured while ranking (default 1 500 ms). */
    latencyTimeoutMs?: number | undefined
    /** Wait until the services run / the jobs exit (default true). */
    wait?: boolean | undefined
    /** Give up waiting after this many ms (default: 120 000 for services, no limit for jobs). */
    timeoutMs?: number | undefined
    /** How long the winner's gateway has to take the manifest, retries included (default 15 000 ms). */
    manifestTimeoutMs?: number | undefined
    /** Providers to try when the winner cannot take the manifest (unreachable, times out); default 2. */
    maxAttempts?: number | undefined
    /** Lines of each job's log to return (default 100). */
    logsTail?: number | undefined
    /** Keep watching and failing over after the deploy, until `signal` aborts (see `watchLease`). */
    watch?:
      | boolean
      | Omit<WatchLeaseParameters, 'orderId' | 'manifest' | 'signal' | 'onProgress' | 'account'>
      | undefined
    signal?: AbortSignal | undefined
  }

export type DeployedService = {
  name: string
  kind: 'job' | 'service'
  status: string
  exitCode?: number
  /** Where an HTTP service is reachable through the provider's ingress. */
  url?: string
}

export type DeployedJob = {
  name: string
  status: string
  exitCode: number | undefined
  /** The last `logsTail` lines the job printed. */
  logs: string[]
}

export type DeployReturnType = {
  orderId: bigint
  leaseId: bigint
  /** `orderId/round`. */
  leaseLabel: string
  provider: Address
  providerId: number | undefined
  gatewayUrl: string | undefined
  pricePerSecond: bigint
  manifestHash: Hex
  deposit: bigint
  /** The lease's state on its provider when deploy returned (`running`, `exited`, `failed`…). */
  status: GatewayLeaseState | undefined
  services: DeployedService[]
  /** Jobs' exit codes and log tails, once they exited. */
  jobs: DeployedJob[]
  /** Files the jobs wrote to /results (name, size, sha256). */
  results: GatewayResultFile[]
  /** The bids as ranked at the (last) acceptance, best first. */
  ranking: RankedBid[]
  /** Providers tried. */
  attempts: number
  timings: { totalMs: number; orderMs: number; biddingMs: number; acceptMs: number; startMs: number }
  /** With `watch`: what the watcher did until `signal` aborted. */
  watch?: WatchLeaseReturnType
}

export type DeployErrorType =
  | ManifestValidationErrorType
  | ManifestFileErrorType
  | NoBidsErrorType
  | DeployFailedErrorType
  | LeaseFailedErrorType
  | WaitForLeaseTimeoutErrorType
  | GatewayRequestErrorType
  | StoaContractErrorType
  | InvalidParameterErrorType

/**
 * Deploys a manifest: parses it, opens an order for its resources (placement regions, max price
 * and deposit from the manifest), waits out the bid window collecting bids, ranks them
 * (`selectBid`) and accepts the best, sends the manifest (and its WASI modules) to the winner's
 * gateway, and waits until the services run or the jobs exit. Returns the lease, the services'
 * ingress URLs and, for jobs, exit codes, log tails and result files.
 *
 * When the winner cannot take the manifest (unreachable, timing out, erroring), the tenant reports
 * the fault (no slash), the order reopens and the next round's best bid gets it, up to
 * `maxAttempts`. A workload that fails on its own (`LeaseFailedError`) is not retried elsewhere.
 * Aborting while the order waits for a provider cancels it (refund); a running lease is left
 * running (close it with `closeLease`).
 *
 * @example
 * const { services } = await deploy(client, {
 *   manifest: { path: 'examples/web-service.yaml' },
 *   onProgress: (event) => console.error(event.type),
 * })
 * console.log(services[0]?.url)
 */
export async function deploy(
  client: StoaActionClient,
  parameters: DeployParameters,
): Promise<DeployReturnType> {
  const { signal, onProgress } = parameters
  const startedAt = performance.now()
  const parsed = await loadManifest(parameters.manifest)
  const order = manifestOrderParameters(parsed.manifest)
  const deposit =
    parameters.deposit ??
    (parameters.depositUsd === undefined ? order.deposit : parseCredits(parameters.depositUsd))
  onProgress?.({
    type: 'deploy:manifest-parsed',
    detail: {
      manifestHash: parsed.hash,
      services: Object.keys(parsed.manifest.services),
      resources: order.resources,
      deposit,
    },
  })
  signal?.throwIfAborted()

  const bidWindowSeconds = parameters.bidWindowSeconds ?? 3
  const account = parameters.account
  const created = await createOrder(client, {
    resources: order.resources,
    regions: order.regions,
    maxPricePerSecond: order.maxPricePerSecond,
    deposit,
    bidWindowSeconds,
    manifestHash: parsed.hash,
    manifestUri: parameters.manifestUri,
    autoReopen: parameters.autoReopen ?? true,
    ...(account === undefined ? {} : { account }),
    onProgress,
  })
  const { orderId } = created
  onProgress?.({
    type: 'deploy:order-created',
    detail: {
      orderId,
      bidDeadline: created.bidDeadline,
      deposit: created.deposit,
      maxPricePerSecond: created.maxPricePerSecond,
      manifestHash: parsed.hash,
    },
  })
  const orderMs = performance.now() - startedAt

  const maxAttempts = Math.max(1, parameters.maxAttempts ?? 2)
  const target = readyTarget(parsed.manifest)
  let bidDeadline = created.bidDeadline
  let placement: (Placement & { ranking: RankedBid[] }) | undefined
  let gateway: GatewayClient | undefined
  let status: GatewayLeaseStatus | undefined
  let attempts = 0
  let biddingMs = 0
  let acceptMs = 0
  let startMs = 0
  try {
    while (true) {
      attempts++
      const biddingStarted = performance.now()
      const bids = await collectBids(client, {
        orderId,
        bidDeadline,
        bidWindowSeconds,
        fromBlock: created.receipt.blockNumber,
        signal,
        onBid: (bid) => onProgress?.({ type: 'deploy:bid', detail: bid }),
      })
      onProgress?.({ type: 'deploy:bids-closed', detail: { orderId, bids: bids.length } })
      biddingMs += performance.now() - biddingStarted

      const acceptStarted = performance.now()
      let excluded: SelectBidReturnType['excluded'] = []
      placement =
        bids.length === 0
          ? undefined
          : await placeOnBestBid(client, {
              orderId,
              bids,
              regions: parameters.regions,
              latencyTimeoutMs: parameters.latencyTimeoutMs,
              account,
              signal,
              onRanked: (ranked) => {
                excluded = ranked.excluded
                onProgress?.({ type: 'deploy:ranked', detail: ranked })
              },
              onAcceptFailed: (detail) => onProgress?.({ type: 'deploy:accept-failed', detail }),
              onTransaction: onProgress,
            })
      acceptMs += performance.now() - acceptStarted
      if (!placement) {
        const refund = await cancelQuietly(client, orderId, account)
        if (refund !== undefined) onProgress?.({ type: 'deploy:cancelled', detail: { orderId, refund } })
        throw new NoBidsError({ orderId, bids: bids.length, refund, excluded })
      }
      const { leaseId, provider, gatewayUrl } = placement
      onProgress?.({
        type: 'deploy:accepted',
        detail: {
          orderId,
          leaseId,
          provider,
          pricePerSecond: placement.pricePerSecond,
          gatewayUrl,
          acceptedByTenant: placement.acceptedByTenant,
        },
      })

      const startStarted = performance.now()
      try {
        if (!gatewayUrl) throw new BaseError(`Provider ${provider} has no gateway URL on record.`)
        gateway = gatewayClientFor(client, gatewayUrl, {
          account: gatewaySignerOf(client, account ?? client.account),
        })
        await sendManifest(gateway, { leaseId, parsed, signal, timeoutMs: parameters.manifestTimeoutMs })
        onProgress?.({ type: 'deploy:manifest-sent', detail: { leaseId, gatewayUrl } })
        if (parameters.wait !== false) {
          status = await waitForLease(client, {
            leaseId,
            gateway,
            until: target,
            timeoutMs: parameters.timeoutMs,
            signal,
            onProgress: (event) => {
              if (event.type === 'lease:status') onProgress?.({ type: 'deploy:status', detail: event.detail })
              else onProgress?.(event)
            },
          })
        }
        startMs += performance.now() - startStarted
        break
      } catch (error) {
        startMs += performance.now() - startStarted
        if (signal?.aborted) throw error
        const retryable = isTransientGatewayFailure(error) || error instanceof WaitForLeaseTimeoutError
        if (!retryable || attempts >= maxAttempts) {
          if (!retryable) throw error
          throw new DeployFailedError({ orderId, leaseId, attempts, cause: error })
        }
        const reason = describeFailure(error)
        onProgress?.({ type: 'deploy:failover', detail: { leaseId, provider, reason } })
        const reported = await reportFault(client, {
          leaseId,
          evidence: faultEvidence(`deploy: ${reason}`),
          ...(account === undefined ? {} : { account }),
          onProgress,
        })
        if (!reported.reopened) throw new DeployFailedError({ orderId, leaseId, attempts, cause: error })
        bidDeadline = reported.reopened.bidDeadline
      }
    }
  } catch (error) {
    // Interrupted while the order waits for a provider (first round, or after a failover): nobody
    // runs anything for it, so cancel it and refund.
    if (signal?.aborted && (await getOrder(client, { orderId }).catch(() => null))?.state === 'Open') {
      const refund = await cancelQuietly(client, orderId, account)
      if (refund !== undefined) onProgress?.({ type: 'deploy:cancelled', detail: { orderId, refund } })
    }
    throw error
  }

  const { leaseId, provider, gatewayUrl } = placement
  const ingressUrl = gateway
    ? await gateway.health({ signal }).then(
        (health) => health.ingressUrl,
        () => undefined,
      )
    : undefined
  const urls = serviceUrls(parsed.manifest, status, leaseId, ingressUrl)
  const services: DeployedService[] = Object.entries(parsed.manifest.services).map(([name, service]) => {
    const reported = status?.services.find((entry) => entry.name === name)
    const deployed: DeployedService = {
      name,
      kind: service.kind,
      status: reported?.status ?? status?.status ?? 'unknown',
    }
    if (reported?.exitCode !== undefined) deployed.exitCode = reported.exitCode
    const url = urls.get(name)
    if (url !== undefined) deployed.url = url
    return deployed
  })

  const jobs: DeployedJob[] = []
  let results: GatewayResultFile[] = []
  const exited = status !== undefined && (status.status === 'exited' || status.status === 'failed')
  if (gateway && exited) {
    const tail = parameters.logsTail ?? 100
    for (const service of services.filter((entry) => entry.kind === 'job')) {
      const logs: string[] = []
      try {
        for await (const line of gateway.logs({ leaseId, service: service.name, tail, signal }))
          logs.push(line)
      } catch (error) {
        if (signal?.aborted) throw error
      }
      jobs.push({
        name: service.name,
        status: service.status,
        exitCode: service.exitCode,
        logs: logs.slice(-tail),
      })
    }
    results = await gateway.results({ leaseId, signal }).catch((error: unknown) => {
      if (signal?.aborted) throw error
      return []
    })
  }
  if (status) {
    onProgress?.({
      type: target === 'running' && status.status === 'running' ? 'deploy:running' : 'deploy:exited',
      detail: { leaseId, services },
    })
  }

  const result: DeployReturnType = {
    orderId,
    leaseId,
    leaseLabel: formatLeaseId(leaseId),
    provider,
    providerId: placement.providerRecord?.id,
    gatewayUrl,
    pricePerSecond: placement.pricePerSecond,
    manifestHash: parsed.hash,
    deposit: created.deposit,
    status: status?.status,
    services,
    jobs,
    results,
    ranking: placement.ranking,
    attempts,
    timings: {
      totalMs: round(performance.now() - startedAt),
      orderMs: round(orderMs),
      biddingMs: round(biddingMs),
      acceptMs: round(acceptMs),
      startMs: round(startMs),
    },
  }
  if (parameters.watch) {
    result.watch = await watchLease(client, {
      ...(typeof parameters.watch === 'object' ? parameters.watch : {}),
      orderId,
      manifest: parsed,
      ...(account === undefined ? {} : { account }),
      signal,
      onProgress,
    })
  }
  return result
}

/** Cancels an open order, returning the refund; undefined when it could not be cancelled (leased meanwhile, closed). */
async function cancelQuietly(
  client: StoaActionClient,
  orderId: bigint,
  account: DeployParameters['account'],
): Promise<bigint | undefined> {
  try {
    const { refund } = await cancelOrder(client, { orderId, ...(account === undefined ? {} : { account }) })
    return refund
  } catch {
    return undefined
  }
}

function round(ms: number): number {
  return Math.round(ms)
}
