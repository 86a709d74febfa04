import type { StoaDeployment } from '@stoa/protocol'
import type { StoaActionClient } from '@stoa/sdk/browser'
import { type Chain, createClient, defineChain, http, type Transport } from 'viem'
import type { ConsoleConfig } from '../config.ts'

/** How often the app asks the chain for news, in ms. */
export const POLLING_INTERVAL_MS = 1_000

/** A viem chain for the deployment (the SDK's `stoaChain` lives beside its Node-only client). */
export function consoleChain(deployment: StoaDeployment): Chain {
  return defineChain({
    id: deployment.chainId,
    name: `Stoa (chain ${deployment.chainId})`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpcUrl] } },
  })
}

/**
 * The RPC transport: JSON-RPC batching folds the many reads a page makes in one render into one
 * HTTP request (anvil and real nodes both take batches).
 */
export function rpcTransport(config: ConsoleConfig): Transport {
  return http(config.rpcUrl, { batch: { batchSize: 200, wait: 8 }, retryCount: 1, timeout: 15_000 })
}

/** The read-only client every page uses: the SDK's read actions take it as is. */
export function createReadClient(config: ConsoleConfig): StoaActionClient {
  const { deployment } = config
  return createClient({
    chain: consoleChain(deployment),
    transport: rpcTransport(config),
    pollingInterval: POLLING_INTERVAL_MS,
    name: 'Stoa console',
  }).extend(() => ({ deployment }))
}
