import {
  BaseError,
  manifestOrderParameters,
  type NormalizedManifest,
  type ParseManifestReturnType,
  parseManifest,
  StoaContractError,
} from '@stoa/protocol'
import {
  acceptBid,
  type BidRecord,
  cancelOrder,
  createGatewayClient,
  createOrder,
  GatewayError,
  type GatewayLeaseStatus,
  GatewayTimeoutError,
  GatewayUnreachableError,
  getBids,
  getLease,
  getOrder,
  getProvider,
  rankBids,
  waitForLease,
} from '@stoa/sdk/browser'
import type { Address } from 'viem'
import { getBlock } from 'viem/actions'
import { formatLease } from '../chain/model.ts'
import { usd, usdPerHour } from '../format.ts'
import type { TenantSession } from './account.ts'

/**
 * Deploying from the page, composed of the SDK's browser-safe steps (its `deploy` action is not
 * one: it can read manifests from disk). The same path as `stoa deploy`: parse and normalize the
 * manifest, open an order, wait out the bid window, rank the bids (`rankBids`: price, track record,
 * gateway round trip) and accept the best the chain takes, send the manifest and its WASI modules
 * to the winner's gateway, and wait until the services run or the jobs exit.
 */

export type DeployStep = { text: string; tone?: 'good' | 'bad' | undefined }

export type DeployFromPageParameters = {
  session: TenantSession
  yaml: string
  /** WASI modules by file name: a manifest's `wasm:` path is looked up by its last segment. */
  modules: ReadonlyMap<string, Uint8Array>
  bidWindowSeconds?: number | undefined
  signal?: AbortSignal | undefined
  onStep: (step: DeployStep) => void
  /** How to name a provider in the steps (default: its short address). */
  nameOf?: ((address: Address) => string) | undefined
}

export type DeployFromPageReturnType = {
  orderId: bigint
  leaseId: bigint
  provider: Address
  status: GatewayLeaseStatus | undefined
}

export type NoBidsFromPageErrorType = NoBidsFromPageError & { name: 'NoBidsFromPageError' }

export class NoBidsFromPageError extends BaseError {
  constructor(orderId: bigint, bids: number) {
    super(
      bids === 0
        ? `No provider bid on order ${orderId} in its bid window; the order was cancelled and refunded.`
        : `None of the ${bids} bids on order ${orderId} could be accepted; the order was cancelled and refunded.`,
      {
        name: 'NoBidsFromPageError',
        metaMessages: [
          'Are providers running, with room for these resources, in these regions, under this price?',
        ],
      },
    )
  }
}

/** Parses the manifest with the modules the page holds (no disk in a browser). */
export async function parseManifestFromPage(
  yaml: string,
  modules: ReadonlyMap<string, Uint8Array>,
): Promise<ParseManifestReturnType> {
  return parseManifest(yaml, {
    baseDir: '.',
    source: 'manifest',
    readFile: (path) => {
      const name = path.split('/').pop() ?? path
      const bytes = modules.get(name)
      if (!bytes) {
        throw new Error(
          `no module named ${name} on this page: add it with "Add WASM modules" (offered: ${[...modules.keys()].join(', ') || 'none'})`,
        )
      }
      return bytes
    },
  })
}

export async function deployFromPage(
  parameters: DeployFromPageParameters,
): Promise<DeployFromPageReturnType> {
  const { session, signal, onStep } = parameters
  const nameOf = parameters.nameOf ?? ((address: Address) => `${address.slice(0, 10)}…`)
  const { client } = session
  const bidWindowSeconds = parameters.bidWindowSeconds ?? 3
  const parsed = await parseManifestFromPage(parameters.yaml, parameters.modules)
  const order = manifestOrderParameters(parsed.manifest)
  onStep({
    text: `Manifest ${parsed.hash.slice(0, 10)}…: ${Object.keys(parsed.manifest.services).join(', ')}; up to ${usdPerHour(order.maxPricePerSecond)}, deposit ${usd(order.deposit)}`,
  })
  signal?.throwIfAborted()

  const created = await createOrder(client, {
    resources: order.resources,
    regions: order.regions,
    maxPricePerSecond: order.maxPricePerSecond,
    deposit: order.deposit,
    bidWindowSeconds,
    manifestHash: parsed.hash,
    autoReopen: true,
  })
  const { orderId } = created
  onStep({ text: `Order #${orderId} created; providers have ${bidWindowSeconds} s to bid` })

  const bids = await collectBids(session, {
    orderId,
    bidDeadline: created.bidDeadline,
    bidWindowSeconds,
    fromBlock: created.receipt.blockNumber,
    signal,
    onBid: (bid) => onStep({ text: `Bid from ${nameOf(bid.provider)} at ${usdPerHour(bid.pricePerSecond)}` }),
  })
  const placement = bids.length === 0 ? undefined : await placeOnBestBid(session, orderId, bids, signal)
  if (!placement) {
    await cancelOrder(client, { orderId }).catch(() => undefined)
    throw new NoBidsFromPageError(orderId, bids.length)
  }
  const { leaseId, provider, gatewayUrl } = placement
  onStep({ text: `Lease ${formatLease(leaseId)} with ${nameOf(provider)}`, tone: 'good' })

  if (!gatewayUrl) throw new BaseError(`Provider ${provider} has no gateway URL on record.`)
  const gateway = createGatewayClient({
    url: gatewayUrl,
    account: session.signer,
    chainId: client.deployment.chainId,
    market: client.deployment.contracts.market,
  })
  await sendManifest(() =>
    gateway.putManifest({ leaseId, manifest: parsed.manifest, modules: parsed.modules, signal }),
  )
  onStep({ text: `Manifest sent to ${gatewayUrl}` })
  const status = await waitForLease(client, {
    leaseId,
    gateway,
    until: readyTarget(parsed.manifest),
    timeoutMs: 120_000,
    signal,
    onProgress: (event) => {
      if (event.type === 'lease:status') onStep({ text: `Provider reports: ${event.detail.status}` })
    },
  })
  onStep({
    text: `Lease ${formatLease(leaseId)} is ${status.status}`,
    tone: status.status === 'failed' ? 'bad' : 'good',
  })
  return { orderId, leaseId, provider, status }
}

function readyTarget(manifest: NormalizedManifest): 'running' | 'exited' {
  return Object.values(manifest.services).some((service) => service.kind === 'service') ? 'running' : 'exited'
}

/**
 * Waits out the bid window in block time (the chain's clock decides when bids stop), stopping a
 * little early once bids are in: on an auto-reopen order a bidder may `acceptBestBid` right after
 * the deadline, and the tenant wants to pick by its own score first.
 */
async function collectBids(
  session: TenantSession,
  parameters: {
    orderId: bigint
    bidDeadline: number
    bidWindowSeconds: number
    fromBlock: bigint
    signal: AbortSignal | undefined
    onBid: (bid: BidRecord) => void
  },
): Promise<BidRecord[]> {
  const { client } = session
  const latest = await getBlock(client, { blockTag: 'latest' })
  const windowMs = Math.min(
    Math.max(0, (parameters.bidDeadline - Number(latest.timestamp)) * 1000),
    parameters.bidWindowSeconds * 1000,
  )
  const started = Date.now()
  const cutoff = started + Math.max(0, windowMs - 300)
  const lastCall = started + windowMs + 2_000
  const seen = new Set<string>()
  while (true) {
    parameters.signal?.throwIfAborted()
    const bids = await getBids(client, { orderId: parameters.orderId, fromBlock: parameters.fromBlock })
    for (const bid of bids) {
      const key = `${bid.round}:${bid.provider}`
      if (!seen.has(key)) {
        seen.add(key)
        parameters.onBid(bid)
      }
    }
    const now = Date.now()
    if ((now >= cutoff && bids.length > 0) || now >= lastCall) return bids
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(250, Math.max(0, (bids.length > 0 ? cutoff : lastCall) - now))),
    )
  }
}

type Placement = { leaseId: bigint; provider: Address; gatewayUrl: string | undefined }

/** Accepts the best-ranked bid the chain takes; adopts the lease when someone accepted first. */
async function placeOnBestBid(
  session: TenantSession,
  orderId: bigint,
  bids: BidRecord[],
  signal: AbortSignal | undefined,
): Promise<Placement | undefined> {
  const { client } = session
  const ranked = await rankBids(client, { bids, signal })
  for (const candidate of ranked.ranking) {
    signal?.throwIfAborted()
    try {
      const accepted = await acceptBid(client, { orderId, provider: candidate.provider })
      const record = ranked.providers.get(candidate.provider)
      return {
        leaseId: accepted.leaseId,
        provider: accepted.provider,
        gatewayUrl: record?.gatewayUrl || undefined,
      }
    } catch (error) {
      if (!(error instanceof StoaContractError)) throw error
      const adopted = await currentPlacement(session, orderId)
      if (adopted) return adopted
    }
  }
  return undefined
}

async function currentPlacement(session: TenantSession, orderId: bigint): Promise<Placement | undefined> {
  const { client } = session
  const order = await getOrder(client, { orderId })
  if (order?.state !== 'Leased' || order.leaseId === undefined) return undefined
  const lease = await getLease(client, { leaseId: order.leaseId })
  if (!lease) return undefined
  const record = await getProvider(client, { provider: lease.provider })
  return { leaseId: order.leaseId, provider: lease.provider, gatewayUrl: record?.gatewayUrl || undefined }
}

/**
 * `PUT /v1/leases/:id/manifest`, retried for up to 15 s while the failure may pass (the provider
 * has not seen the lease on chain yet). A 409 means it holds the manifest already.
 */
async function sendManifest(put: () => Promise<unknown>): Promise<void> {
  const endAt = Date.now() + 15_000
  while (true) {
    try {
      await put()
      return
    } catch (error) {
      if (error instanceof GatewayError && error.status === 409) return
      const transient =
        error instanceof GatewayUnreachableError ||
        error instanceof GatewayTimeoutError ||
        (error instanceof GatewayError &&
          (error.status >= 500 || [404, 408, 425, 429].includes(error.status)))
      if (!transient || Date.now() >= endAt) throw error
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
