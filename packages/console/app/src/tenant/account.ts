import { BaseError, type GatewayRequestSigner } from '@stoa/protocol'
import type { StoaActionClient } from '@stoa/sdk/browser'
import {
  type Account,
  type Address,
  createClient,
  custom,
  type EIP1193Provider,
  getAddress,
  type Hex,
  http,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { signMessage, signTypedData } from 'viem/actions'
import { consoleChain, POLLING_INTERVAL_MS } from '../chain/client.ts'
import type { ConsoleConfig, DevnetAccountEntry } from '../config.ts'

/**
 * Who the tenant view acts as: a devnet test key (the server lists them on a devnet only: the
 * anvil keys are public), or the browser wallet (`window.ethereum`). Either way the SDK actions
 * get a client with an account, gateway requests an EIP-712 signer.
 */
export type TenantSession = {
  kind: 'devnet' | 'wallet'
  /** `alice`, or `wallet`. */
  label: string
  address: Address
  /** Writes (and their reads) go through this client. */
  client: StoaActionClient & { account: Account }
  /** Signs gateway requests (EIP-712 `GatewayRequest`). */
  signer: GatewayRequestSigner
  /** EIP-191 `personal_sign` (the storage master key is derived from one). */
  signMessage(message: string): Promise<Hex>
}

export function devnetSession(config: ConsoleConfig, entry: DevnetAccountEntry): TenantSession {
  const account = privateKeyToAccount(entry.privateKey)
  const client = createClient({
    chain: consoleChain(config.deployment),
    transport: http(config.rpcUrl, { retryCount: 1 }),
    account,
    pollingInterval: POLLING_INTERVAL_MS / 4,
    name: `Stoa console (${entry.name})`,
  }).extend(() => ({ deployment: config.deployment }))
  return {
    kind: 'devnet',
    label: entry.name,
    address: account.address,
    client,
    signer: account,
    signMessage: (message) => account.signMessage({ message }),
  }
}

/** The injected wallet, if the browser has one. */
export function injectedWallet(): EIP1193Provider | undefined {
  return (globalThis as { ethereum?: EIP1193Provider }).ethereum
}

export type WalletConnectErrorType = WalletConnectError & { name: 'WalletConnectError' }

export class WalletConnectError extends BaseError {
  constructor(message: string, cause?: unknown) {
    super(message, { name: 'WalletConnectError', cause })
  }
}

/** Requests sent to the wallet: accounts, signing, sending; every other call reads the console's RPC. */
const walletMethods = new Set([
  'eth_accounts',
  'eth_requestAccounts',
  'eth_chainId',
  'eth_sendTransaction',
  'eth_signTypedData_v4',
  'personal_sign',
])

/**
 * Asks the wallet for an account and to switch to the deployment's chain (adding it when the
 * wallet does not know it), then builds a session that signs with it.
 */
export async function connectWallet(config: ConsoleConfig, wallet: EIP1193Provider): Promise<TenantSession> {
  let accounts: readonly Address[]
  try {
    accounts = await wallet.request({ method: 'eth_requestAccounts' })
  } catch (error) {
    throw new WalletConnectError('The wallet did not share an account.', error)
  }
  const first = accounts[0]
  if (!first) throw new WalletConnectError('The wallet has no account to share.')
  const address = getAddress(first)
  const chainId = toHex(config.chainId)
  try {
    await wallet.request({ method: 'wallet_switchEthereumChain', params: [{ chainId }] })
  } catch (error) {
    if ((error as { code?: unknown }).code !== 4902) {
      throw new WalletConnectError(`The wallet did not switch to chain ${config.chainId}.`, error)
    }
    try {
      await wallet.request({
        method: 'wallet_addEthereumChain',
        params: [
          {
            chainId,
            chainName: `Stoa (chain ${config.chainId})`,
            nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
            rpcUrls: [config.rpcUrl],
          },
        ],
      })
    } catch (addError) {
      throw new WalletConnectError(`The wallet could not add chain ${config.chainId}.`, addError)
    }
  }
  const chain = consoleChain(config.deployment)
  const rpc = http(config.rpcUrl, { retryCount: 1 })({ chain, retryCount: 1 })
  const transport = custom({
    request: ({ method, params }: { method: string; params?: unknown }) =>
      walletMethods.has(method)
        ? wallet.request({ method, params } as Parameters<EIP1193Provider['request']>[0])
        : rpc.request({ method, params } as Parameters<typeof rpc.request>[0]),
  })
  const client = createClient({
    chain,
    transport,
    account: address,
    pollingInterval: POLLING_INTERVAL_MS / 2,
    name: 'Stoa console (wallet)',
  }).extend(() => ({ deployment: config.deployment }))
  return {
    kind: 'wallet',
    label: 'wallet',
    address,
    client,
    signer: (typedData) => signTypedData(client, { account: address, ...typedData }),
    signMessage: (message) => signMessage(client, { account: address, message }),
  }
}
