import { parseDeployment, type StoaDeployment } from '@stoa/protocol'
import {
  type Account,
  type Address,
  type Chain,
  type Client,
  createClient,
  defineChain,
  http,
  type Transport,
  webSocket,
} from 'viem'
import { parseAccount } from 'viem/accounts'
import { type StoaActions, stoaActions } from './decorator.ts'

export type CreateStoaClientParameters = {
  /** Where Stoa lives; checked with `parseDeployment` (a bad field throws `InvalidDeploymentError`). */
  deployment: StoaDeployment
  /** Signs writes: a local account (`privateKeyToAccount`) or an address the node holds (anvil's). */
  account?: Account | Address | undefined
  /** Default: `http(deployment.rpcUrl)` (or `webSocket` for a ws:// URL). */
  transport?: Transport | undefined
  /** How often to poll for receipts and blocks, in ms (default 500: devnets mine at once). */
  pollingInterval?: number | undefined
}

export type StoaClient = Client<Transport, Chain, Account | undefined> & {
  readonly deployment: StoaDeployment
} & StoaActions

/** A viem chain for a deployment, for clients built by hand. */
export function stoaChain(deployment: StoaDeployment): Chain {
  return defineChain({
    id: deployment.chainId,
    name: `Stoa (chain ${deployment.chainId})`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpcUrl] } },
  })
}

/**
 * A viem client bound to a Stoa deployment, with every action as a method.
 *
 * @example
 * const stoa = createStoaClient({ deployment, account: privateKeyToAccount(key) })
 * await stoa.buyCredits({ credits: parseCredits('10') })
 */
export function createStoaClient(parameters: CreateStoaClientParameters): StoaClient {
  const deployment = parseDeployment(parameters.deployment)
  const transport =
    parameters.transport ??
    (deployment.rpcUrl.startsWith('ws') ? webSocket(deployment.rpcUrl) : http(deployment.rpcUrl))
  const client = createClient({
    chain: stoaChain(deployment),
    transport,
    ...(parameters.account === undefined ? {} : { account: parseAccount(parameters.account) }),
    pollingInterval: parameters.pollingInterval ?? 500,
    name: 'Stoa Client',
    key: 'stoa',
  })
  return client.extend(() => ({ deployment })).extend(stoaActions)
}
