import {
  BaseError,
  creditsAbi,
  marketAbi,
  priceOracleAbi,
  providerRegistryAbi,
  type StoaContractName,
  stoaTokenAbi,
  storageDealsAbi,
} from '@stoa/protocol'
import type { StoaActionClient } from '@stoa/sdk/browser'
import { type Abi, type Log, type ParseEventLogsReturnType, parseEventLogs } from 'viem'
import { getBlock, getBlockNumber, getLogs } from 'viem/actions'
import { POLLING_INTERVAL_MS } from './client.ts'

/**
 * The console's view of the chain: every event the six Stoa contracts emitted, decoded, with the
 * time of its block, kept up to date by polling. Pages derive their tables and charts from it
 * (model.ts) and read contract state only for what events do not carry.
 *
 * It reads from block 0: right for a devnet (a few thousand blocks). A public chain would want a
 * start block (the deployment's) and an archive RPC; the deployment file does not say it yet.
 * Reorgs are not handled (anvil does not reorganize); a chain that restarts from a lower block
 * (a devnet restarted without --state) resets the view.
 */

type EventsOf<abi extends Abi> = ParseEventLogsReturnType<abi, undefined, true>[number]

export type TokenEvent = EventsOf<typeof stoaTokenAbi>
export type OracleEvent = EventsOf<typeof priceOracleAbi>
export type CreditsEvent = EventsOf<typeof creditsAbi>
export type RegistryEvent = EventsOf<typeof providerRegistryAbi>
export type MarketEvent = EventsOf<typeof marketAbi>
export type DealsEvent = EventsOf<typeof storageDealsAbi>

export type ChainEvents = {
  stoaToken: readonly TokenEvent[]
  priceOracle: readonly OracleEvent[]
  credits: readonly CreditsEvent[]
  providerRegistry: readonly RegistryEvent[]
  market: readonly MarketEvent[]
  storageDeals: readonly DealsEvent[]
}

export type ChainSnapshot = {
  /** `loading` until the first sync finished; `error` while no sync ever succeeded. */
  status: 'loading' | 'ready' | 'error'
  /** The last sync's failure (cleared by the next success); pages show it. */
  error: Error | undefined
  /** The last block whose events are in `events` (-1 before the first sync). */
  head: bigint
  /** Block time (unix seconds) of `head`. */
  headTime: number | undefined
  events: ChainEvents
  /** Unix seconds of every block that holds an event. */
  blockTimes: ReadonlyMap<bigint, number>
}

export type ChainIndexer = {
  getSnapshot(): ChainSnapshot
  subscribe(listener: () => void): () => void
  start(): void
  stop(): void
}

const abis = {
  stoaToken: stoaTokenAbi,
  priceOracle: priceOracleAbi,
  credits: creditsAbi,
  providerRegistry: providerRegistryAbi,
  market: marketAbi,
  storageDeals: storageDealsAbi,
} as const satisfies Record<StoaContractName, Abi>

const emptyEvents: ChainEvents = {
  stoaToken: [],
  priceOracle: [],
  credits: [],
  providerRegistry: [],
  market: [],
  storageDeals: [],
}

export type CreateChainIndexerParameters = {
  client: StoaActionClient
  /** First block to read (default 0). */
  fromBlock?: bigint | undefined
  /** Blocks per `eth_getLogs` call (default 5 000: public RPCs cap the range). */
  chunkBlocks?: bigint | undefined
  pollIntervalMs?: number | undefined
}

export function createChainIndexer(parameters: CreateChainIndexerParameters): ChainIndexer {
  const { client } = parameters
  const { contracts } = client.deployment
  const fromBlock = parameters.fromBlock ?? 0n
  const chunkBlocks = parameters.chunkBlocks ?? 5_000n
  const pollIntervalMs = parameters.pollIntervalMs ?? POLLING_INTERVAL_MS
  const names = Object.keys(abis) as StoaContractName[]
  const nameByAddress = new Map(names.map((name) => [contracts[name].toLowerCase(), name]))

  let snapshot: ChainSnapshot = {
    status: 'loading',
    error: undefined,
    head: fromBlock - 1n,
    headTime: undefined,
    events: emptyEvents,
    blockTimes: new Map(),
  }
  const listeners = new Set<() => void>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let generation = 0
  /** Failed syncs in a row: one blip (a busy node) is not worth an error on every page. */
  let failures = 0

  const publish = (next: ChainSnapshot) => {
    snapshot = next
    for (const listener of listeners) listener()
  }

  async function sync(current: number): Promise<void> {
    const latest = await getBlockNumber(client, { cacheTime: 0 })
    let base = snapshot
    if (latest < base.head) {
      // The chain went back (a devnet restarted): start over.
      base = { ...base, head: fromBlock - 1n, events: emptyEvents, blockTimes: new Map() }
    }
    if (latest === base.head && base.status === 'ready') return
    const logs: Log[] = []
    for (let start = base.head + 1n; start <= latest; start += chunkBlocks) {
      const end = start + chunkBlocks - 1n < latest ? start + chunkBlocks - 1n : latest
      logs.push(
        ...(await getLogs(client, {
          address: names.map((name) => contracts[name]),
          fromBlock: start,
          toBlock: end,
        })),
      )
    }
    const decoded = decode(logs)
    const blocks = new Set<bigint>([latest])
    for (const log of logs) if (log.blockNumber !== null) blocks.add(log.blockNumber)
    const blockTimes = new Map(base.blockTimes)
    const missing = [...blocks].filter((block) => !blockTimes.has(block))
    const times = await Promise.all(
      missing.map((blockNumber) =>
        getBlock(client, { blockNumber }).then((block) => Number(block.timestamp)),
      ),
    )
    missing.forEach((block, index) => {
      blockTimes.set(block, times[index] ?? 0)
    })
    if (current !== generation) return
    const events = { ...base.events }
    for (const name of names) {
      const added = decoded[name]
      if (added.length > 0)
        (events as Record<StoaContractName, readonly unknown[]>)[name] = [...events[name], ...added]
    }
    publish({
      status: 'ready',
      error: undefined,
      head: latest,
      headTime: blockTimes.get(latest),
      events,
      blockTimes,
    })
  }

  function decode(logs: Log[]): { [name in StoaContractName]: unknown[] } {
    const byContract = Object.fromEntries(names.map((name) => [name, [] as Log[]])) as Record<
      StoaContractName,
      Log[]
    >
    for (const log of logs) {
      const name = nameByAddress.get(log.address.toLowerCase())
      if (name) byContract[name].push(log)
    }
    return Object.fromEntries(
      names.map((name) => [name, parseEventLogs({ abi: abis[name] as Abi, logs: byContract[name] })]),
    ) as { [name in StoaContractName]: unknown[] }
  }

  async function loop(current: number): Promise<void> {
    try {
      await sync(current)
      failures = 0
    } catch (error) {
      if (current !== generation) return
      failures++
      if (snapshot.status !== 'ready' || failures >= 3) {
        publish({
          ...snapshot,
          status: snapshot.status === 'ready' ? 'ready' : 'error',
          error: asError(error),
        })
      }
    }
    if (running && current === generation) timer = setTimeout(() => void loop(current), pollIntervalMs)
  }

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    start() {
      if (running) return
      running = true
      generation++
      void loop(generation)
    },
    stop() {
      running = false
      generation++
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}

/** An error for display: viem's and Stoa's `shortMessage` first. */
export function asError(error: unknown): Error {
  if (error instanceof BaseError) return error
  if (error instanceof Error) {
    const short = (error as { shortMessage?: unknown }).shortMessage
    return typeof short === 'string' && short !== ''
      ? Object.assign(new Error(short), { cause: error })
      : error
  }
  return new Error(String(error))
}

/** The one line to show for an error. */
export function errorText(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage
  const short = (error as { shortMessage?: unknown })?.shortMessage
  if (typeof short === 'string' && short !== '') return short
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}
