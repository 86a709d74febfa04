import type { GatewayRequestSigner } from '@stoa/protocol'
import type { Account, Address } from 'viem'
import { signTypedData } from 'viem/actions'
import type { StoaActionClient } from '../types.ts'
import { type CreateGatewayClientParameters, createGatewayClient, type GatewayClient } from './client.ts'

/**
 * The gateway signer for a Stoa client's account: a local account signs itself; an address the
 * node holds (anvil's accounts) signs through `eth_signTypedData_v4`.
 */
export function gatewaySignerOf(
  client: StoaActionClient,
  account: Account | Address | undefined = client.account,
): GatewayRequestSigner | undefined {
  if (account === undefined) return undefined
  if (typeof account !== 'string' && account.type === 'local') return account
  return (typedData) => signTypedData(client, { account, ...typedData })
}

/**
 * A gateway client that signs with the Stoa client's account, for the client's chain and Market:
 * `gatewayClientFor(client, provider.gatewayUrl).leaseStatus({ leaseId })`.
 */
export function gatewayClientFor(
  client: StoaActionClient,
  url: string,
  options: Omit<CreateGatewayClientParameters, 'url' | 'chainId' | 'market'> = {},
): GatewayClient {
  return createGatewayClient({
    url,
    chainId: client.deployment.chainId,
    market: client.deployment.contracts.market,
    account: options.account ?? gatewaySignerOf(client),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.expiresInSeconds === undefined ? {} : { expiresInSeconds: options.expiresInSeconds }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  })
}
