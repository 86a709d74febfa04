import type { StoaActionClient } from '@stoa/sdk/browser'
import { createContext, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react'
import { asError, type ChainIndexer, type ChainSnapshot } from './chain/indexer.ts'
import {
  deriveEconomics,
  deriveMarket,
  deriveStorage,
  type EconomicsModel,
  type MarketModel,
  type StorageModel,
} from './chain/model.ts'
import type { ConsoleConfig } from './config.ts'

export type ConsoleServices = {
  config: ConsoleConfig
  /** Read-only client (no account) for the SDK's read actions and viem's. */
  client: StoaActionClient
  indexer: ChainIndexer
}

export const ConsoleContext = createContext<ConsoleServices | undefined>(undefined)

export function useConsole(): ConsoleServices {
  const services = useContext(ConsoleContext)
  if (!services) throw new Error('useConsole: no ConsoleContext above this component')
  return services
}

/** The chain as the indexer last saw it; re-renders on every sync that found something new. */
export function useChain(): ChainSnapshot {
  const { indexer } = useConsole()
  return useSyncExternalStore(indexer.subscribe, indexer.getSnapshot)
}

export function useMarket(): MarketModel {
  const chain = useChain()
  return useMemo(
    () => deriveMarket(chain.events.market, chain.blockTimes),
    [chain.events.market, chain.blockTimes],
  )
}

export function useStorage(): StorageModel {
  const chain = useChain()
  return useMemo(
    () => deriveStorage(chain.events.storageDeals, chain.blockTimes),
    [chain.events.storageDeals, chain.blockTimes],
  )
}

export function useEconomics(): EconomicsModel {
  const chain = useChain()
  const { config } = useConsole()
  const registry = config.deployment.contracts.providerRegistry
  return useMemo(
    () => deriveEconomics({ events: chain.events, blockTimes: chain.blockTimes }, registry),
    [chain.events, chain.blockTimes, registry],
  )
}

export type Loaded<value> = {
  data: value | undefined
  error: Error | undefined
  /** True once the first load finished, successfully or not. */
  settled: boolean
}

/**
 * Reads contract state: runs `load` when `key` changes and again whenever `refresh` changes
 * (pass what should trigger a re-read, e.g. the number of relevant events), at most once per
 * `minIntervalMs` and never twice at once (a change during a read queues one more). The last
 * data stays on screen while a re-read runs; a failed re-read keeps it and reports the error.
 * Every rejection is caught here: none reaches the console as unhandled.
 */
export function useLoad<value>(
  key: string,
  load: (signal: AbortSignal) => Promise<value>,
  refresh: unknown,
  minIntervalMs = 1_000,
): Loaded<value> {
  const [state, setState] = useState<Loaded<value> & { key: string }>({
    key,
    data: undefined,
    error: undefined,
    settled: false,
  })
  const loadRef = useRef(load)
  loadRef.current = load
  const scheduleRef = useRef<(() => void) | undefined>(undefined)

  useEffect(() => {
    const controller = new AbortController()
    let running = false
    let dirty = false
    let lastStart = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    const start = () => {
      timer = undefined
      if (controller.signal.aborted) return
      if (running) {
        dirty = true
        return
      }
      running = true
      dirty = false
      lastStart = Date.now()
      loadRef
        .current(controller.signal)
        .then(
          (data) => {
            if (!controller.signal.aborted) setState({ key, data, error: undefined, settled: true })
          },
          (error: unknown) => {
            if (controller.signal.aborted) return
            setState((previous) => ({
              key,
              data: previous.key === key ? previous.data : undefined,
              error: asError(error),
              settled: true,
            }))
          },
        )
        .finally(() => {
          running = false
          if (dirty) schedule()
        })
    }
    const schedule = () => {
      if (timer === undefined) timer = setTimeout(start, Math.max(0, lastStart + minIntervalMs - Date.now()))
    }
    scheduleRef.current = schedule
    schedule()
    return () => {
      controller.abort()
      if (timer !== undefined) clearTimeout(timer)
      scheduleRef.current = undefined
    }
  }, [key, minIntervalMs])

  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` is the trigger itself.
  useEffect(() => {
    scheduleRef.current?.()
  }, [refresh])

  return state.key === key ? state : { data: undefined, error: undefined, settled: false }
}

/** The current unix time, ticking every `intervalMs` (for "3 min ago" and running accruals). */
export function useNow(intervalMs = 1_000): number {
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000))
  useEffect(() => {
    const timer = setInterval(() => setNow(Math.floor(Date.now() / 1000)), intervalMs)
    return () => clearInterval(timer)
  }, [intervalMs])
  return now
}

/** Devnet account names by lower-case address (`provider1`, `alice`), to label addresses. */
export function useAccountNames(): ReadonlyMap<string, string> {
  const { config } = useConsole()
  return useMemo(
    () =>
      new Map((config.devnetAccounts ?? []).map((account) => [account.address.toLowerCase(), account.name])),
    [config.devnetAccounts],
  )
}
