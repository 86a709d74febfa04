/**
 * The steps `deploy` and `watchLease` share to put a manifest on a provider: wait out a bid window
 * while collecting bids, rank them and accept the best, hand the manifest to the winner's gateway.
 */
import {
  BaseError,
  type NormalizedManifest,
  type ParseManifestReturnType,
  parseManifest,
  type RegionName,
  StoaContractError,
} from '@stoa/protocol'
import type { Account, Address, Hex } from 'viem'
import { getBlock } from 'viem/actions'
import { acceptBid } from '../actions/acceptBid.ts'
import { type BidRecord, getBids } from '../actions/getBids.ts'
import { getLease } from '../actions/getLease.ts'
import { getOrder } from '../actions/getOrder.ts'
import { getProvider, type ProviderRecord } from '../actions/getProvider.ts'
import { type RankedBid, rankBids, type SelectBidReturnType } from '../actions/selectBid.ts'
import type { StoaActionClient, TransactionProgressEvent } from '../types.ts'
import type { GatewayClient } from './client.ts'
import { GatewayError, GatewayTimeoutError, GatewayUnreachableError } from './errors.ts'
import { sleep } from './sleep.ts'
import type { GatewayLeaseStatus } from './types.ts'

/** A manifest to deploy: a file, YAML text, or one `parseManifest` already read. */
export type ManifestInput =
  | { path: string; yaml?: undefined }
  | { yaml: string; baseDir?: string | undefined; source?: string | undefined; path?: undefined }
  | ParseManifestReturnType

/** Parses the manifest (reading the file and its WASI modules); `ManifestValidationError` names every bad field. */
export async function loadManifest(input: ManifestInput): Promise<ParseManifestReturnType> {
  if ('manifest' in input && 'hash' in input) return input
  if (input.path !== undefined) {
    const [{ readFile }, { dirname, resolve, basename }] = await Promise.all([
      import('node:fs/promises'),
      import('node:path'),
    ])
    const path = resolve(input.path)
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      throw new ManifestFileError(path, error)
    })
    return parseManifest(text, { baseDir: dirname(path), source: basename(path) })
  }
  return parseManifest(input.yaml, {
    ...(input.baseDir === undefined ? {} : { baseDir: input.baseDir }),
    ...(input.source === undefined ? {} : { source: input.source }),
  })
}

export type ManifestFileErrorType = ManifestFileError & { name: 'ManifestFileError' }

/** The manifest file could not be read. */
export class ManifestFileError extends BaseError {
  readonly path: string
  constructor(path: string, cause: unknown) {
    const code = (cause as { code?: unknown })?.code
    super(code === 'ENOENT' ? `No manifest file at ${path}.` : `Could not read the manifest file ${path}.`, {
      name: 'ManifestFileError',
      cause,
    })
    this.path = path
  }
}

/** `running` when the manifest has a long-running service, `exited` when it has jobs only. */
export function readyTarget(manifest: NormalizedManifest): 'running' | 'exited' {
  return Object.values(manifest.services).some((service) => service.kind === 'service') ? 'running' : 'exited'
}

/**
 * Waits out an order's bid window, reporting each new bid, and returns the round's bids, cheapest
 * first. It stops `earlyMs` (default 300) before the deadline could have passed in block time: on
 * an auto-reopen order anyone (the best bidder's daemon, typically) may `acceptBestBid` once it
 * has, and the tenant wants to pick by its own score first. With no bid by then it waits on until
 * `graceMs` (default 1 000) past the deadline, for late ones.
 */
export async function collectBids(
  client: StoaActionClient,
  parameters: {
    orderId: bigint
    bidDeadline: number
    /** Seconds the window lasts at most (caps a wait computed from a stale block). */
    bidWindowSeconds: number
    fromBlock?: bigint | undefined
    earlyMs?: number | undefined
    graceMs?: number | undefined
    pollIntervalMs?: number | undefined
    signal?: AbortSignal | undefined
    onBid?: ((bid: BidRecord) => void) | undefined
  },
): Promise<BidRecord[]> {
  const { orderId, signal } = parameters
  const pollIntervalMs = parameters.pollIntervalMs ?? 200
  // Block time, not this machine's clock, decides when bids stop. The latest block was mined at
  // or before now, so `now + (deadline - its timestamp)` is at or before the deadline's last second.
  const latest = await getBlock(client, { blockTag: 'latest' })
  const windowMs = Math.min(
    Math.max(0, (parameters.bidDeadline - Number(latest.timestamp)) * 1000),
    parameters.bidWindowSeconds * 1000,
  )
  const started = Date.now()
  const cutoff = started + Math.max(0, windowMs - (parameters.earlyMs ?? 300))
  const lastCall = started + windowMs + 1000 + (parameters.graceMs ?? 1_000)
  const seen = new Set<string>()
  while (true) {
    signal?.throwIfAborted()
    const bids = await getBids(client, { orderId, fromBlock: parameters.fromBlock })
    for (const bid of bids) {
      const key = `${bid.round}:${bid.provider}`
      if (!seen.has(key)) {
        seen.add(key)
        parameters.onBid?.(bid)
      }
    }
    const now = Date.now()
    if ((now >= cutoff && bids.length > 0) || now >= lastCall) return bids
    await sleep(Math.min(pollIntervalMs, (bids.length > 0 ? cutoff : lastCall) - now), signal)
  }
}

export type Placement = {
  leaseId: bigint
  provider: Address
  providerRecord: ProviderRecord | null
  gatewayUrl: string | undefined
  pricePerSecond: bigint
  /** False when someone else accepted (`acceptBestBid` on an auto-reopen order) before the tenant. */
  acceptedByTenant: boolean
}

/**
 * Ranks the bids (`rankBids`: price, track record, gateway round trip, region) and accepts the
 * best one that the chain takes; a bid that fails (the provider was jailed meanwhile) passes to
 * the next. When the order got leased by someone else meanwhile (`acceptBestBid`), that lease is
 * adopted. Undefined when no bid could be accepted.
 */
export async function placeOnBestBid(
  client: StoaActionClient,
  parameters: {
    orderId: bigint
    bids: readonly BidRecord[]
    regions?: readonly (RegionName | number)[] | undefined
    latencyTimeoutMs?: number | undefined
    account?: Account | Address | undefined
    signal?: AbortSignal | undefined
    onRanked?: ((ranked: SelectBidReturnType) => void) | undefined
    onAcceptFailed?: ((detail: { provider: Address; error: unknown }) => void) | undefined
    onTransaction?: ((event: TransactionProgressEvent) => void) | undefined
  },
): Promise<(Placement & { ranking: RankedBid[] }) | undefined> {
  const { orderId, signal } = parameters
  const ranked = await rankBids(client, {
    bids: parameters.bids,
    regions: parameters.regions,
    latencyTimeoutMs: parameters.latencyTimeoutMs,
    signal,
  })
  parameters.onRanked?.(ranked)
  for (const candidate of ranked.ranking) {
    signal?.throwIfAborted()
    try {
      const accepted = await acceptBid(client, {
        orderId,
        provider: candidate.provider,
        ...(parameters.account === undefined ? {} : { account: parameters.account }),
        onProgress: parameters.onTransaction,
      })
      const record = ranked.providers.get(candidate.provider) ?? null
      return {
        leaseId: accepted.leaseId,
        provider: accepted.provider,
        providerRecord: record,
        gatewayUrl: record?.gatewayUrl || undefined,
        pricePerSecond: accepted.pricePerSecond,
        acceptedByTenant: true,
        ranking: ranked.ranking,
      }
    } catch (error) {
      if (!(error instanceof StoaContractError)) throw error
      const adopted = await currentPlacement(client, orderId)
      if (adopted) return { ...adopted, ranking: ranked.ranking }
      parameters.onAcceptFailed?.({ provider: candidate.provider, error })
    }
  }
  return undefined
}

/** The order's active lease as a placement, if it is leased. */
export async function currentPlacement(
  client: StoaActionClient,
  orderId: bigint,
): Promise<Placement | undefined> {
  const order = await getOrder(client, { orderId })
  if (order?.state !== 'Leased' || order.leaseId === undefined) return undefined
  const lease = await getLease(client, { leaseId: order.leaseId })
  if (!lease) return undefined
  const record = await getProvider(client, { provider: lease.provider })
  return {
    leaseId: order.leaseId,
    provider: lease.provider,
    providerRecord: record,
    gatewayUrl: record?.gatewayUrl || undefined,
    pricePerSecond: lease.pricePerSecond,
    acceptedByTenant: false,
  }
}

/** Whether a failure to reach or use a gateway may pass with time (worth retrying, or a failover). */
export function isTransientGatewayFailure(error: unknown): boolean {
  if (error instanceof GatewayUnreachableError || error instanceof GatewayTimeoutError) return true
  if (error instanceof GatewayError)
    return error.status >= 500 || [404, 408, 409, 425, 429].includes(error.status)
  return false
}

/**
 * `PUT /v1/leases/:id/manifest`, retried while the failure may pass (the provider has not seen
 * the lease on chain yet, a restart, a timeout) for up to `timeoutMs` (default 15 000). A 409 (the
 * provider has the manifest already) counts as sent.
 */
export async function sendManifest(
  gateway: GatewayClient,
  parameters: {
    leaseId: bigint
    parsed: { manifest: NormalizedManifest; modules: ReadonlyMap<Hex, Uint8Array> }
    timeoutMs?: number | undefined
    retryIntervalMs?: number | undefined
    signal?: AbortSignal | undefined
  },
): Promise<void> {
  const { leaseId, parsed, signal } = parameters
  const endAt = Date.now() + (parameters.timeoutMs ?? 15_000)
  while (true) {
    try {
      await gateway.putManifest({ leaseId, manifest: parsed.manifest, modules: parsed.modules, signal })
      return
    } catch (error) {
      // 409: the provider holds this lease's manifest already (a retry after a lost answer); the
      // status wait that follows tells whether it runs.
      if (error instanceof GatewayError && error.status === 409) return
      if (signal?.aborted || !isTransientGatewayFailure(error) || Date.now() >= endAt) throw error
    }
    await sleep(parameters.retryIntervalMs ?? 250, signal)
  }
}

/**
 * Where each HTTP service is reachable: the URL the provider reports for it, else
 * `<ingressUrl>/l/<leaseId>/<service>/` from the ingress base the gateway advertises.
 */
export function serviceUrls(
  manifest: NormalizedManifest,
  status: GatewayLeaseStatus | undefined,
  leaseId: bigint,
  ingressUrl: string | undefined,
): Map<string, string> {
  const urls = new Map<string, string>()
  for (const [name, service] of Object.entries(manifest.services)) {
    if (service.kind !== 'service' || !service.expose.some((port) => port.http)) continue
    const reported = status?.services.find((entry) => entry.name === name)?.url
    if (reported) urls.set(name, reported)
    else if (ingressUrl) urls.set(name, `${ingressUrl}/l/${leaseId}/${name}/`)
  }
  return urls
}

/** A short reason (at most 32 bytes) to record on chain as fault evidence. */
export function faultEvidence(reason: string): string {
  const ascii = reason.replace(/[^\x20-\x7e]/g, '?')
  return ascii.length <= 32 ? ascii : `${ascii.slice(0, 31)}~`
}

/** One line for an error, for progress events and evidence. */
export function describeFailure(error: unknown): string {
  if (error instanceof GatewayUnreachableError) return 'gateway unreachable'
  if (error instanceof GatewayTimeoutError) return 'gateway timeout'
  if (error instanceof GatewayError) return `gateway ${error.status} ${error.code}`
  const short = (error as { shortMessage?: unknown })?.shortMessage
  if (typeof short === 'string') return short
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}
