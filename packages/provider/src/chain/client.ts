import { marketAbi, providerRegistryAbi, StoaContractError, type StoaDeployment } from '@stoa/protocol'
import { createStoaClient, type StoaClient } from '@stoa/sdk'
import type { Address, Hex, TransactionReceipt } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getBlock, readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import type { Logger } from '../logger.ts'
import { nodeHttpTransport } from './transport.ts'

/**
 * The provider's view of the chain: a Stoa client signing with the operator key, reads the SDK
 * has no action for, and a write queue. Every transaction goes through `write`, one at a time, so
 * concurrent services (bid engine, settler, lease manager) never race for the account's nonce.
 */
export type ProviderChain = {
  client: StoaClient & { account: { address: Address } }
  address: Address
  deployment: StoaDeployment
  /** Runs `send` after every earlier write has finished (success or not). */
  write<result>(label: string, send: () => Promise<result>): Promise<result>
  /** The latest block: its number and timestamp (chain time, seconds). */
  head(): Promise<{ number: bigint; timestamp: number }>
  /** The bid a provider (by registry id) placed on an order: price 0 when none. */
  getBid(orderId: bigint, providerId: number): Promise<{ price: bigint; round: number }>
  minStake(): Promise<bigint>
  isActive(provider: Address): Promise<boolean>
  providerAddress(providerId: number): Promise<Address>
  /**
   * Sends a Market call for an order whose bid window has just closed, without simulating it first
   * (a fixed gas limit, no estimate). A node simulates against its latest block; on a chain that
   * mines only when transactions come (anvil's automine) that block can be older than the deadline,
   * so the simulation fails while a block mined now would not. Use inside `write`.
   */
  sendAfterDeadline(
    functionName: 'acceptBestBid' | 'restartBidding',
    orderId: bigint,
  ): Promise<{ hash: Hex; receipt: TransactionReceipt }>
}

const GAS_AFTER_DEADLINE = { acceptBestBid: 400_000n, restartBidding: 200_000n } as const

export type CreateProviderChainParameters = {
  deployment: StoaDeployment
  key: Hex
  pollingIntervalMs: number
  logger?: Logger | undefined
}

export function createProviderChain(parameters: CreateProviderChainParameters): ProviderChain {
  const account = privateKeyToAccount(parameters.key)
  const client = createStoaClient({
    deployment: parameters.deployment,
    account,
    pollingInterval: parameters.pollingIntervalMs,
    // A ws:// node keeps viem's WebSocket transport (createStoaClient's default for it).
    ...(parameters.deployment.rpcUrl.startsWith('http')
      ? { transport: nodeHttpTransport(parameters.deployment.rpcUrl) }
      : {}),
  }) as StoaClient & { account: { address: Address } }
  const { market, providerRegistry } = client.deployment.contracts
  let queue: Promise<unknown> = Promise.resolve()

  return {
    client,
    address: account.address,
    deployment: client.deployment,
    write(label, send) {
      const run = queue.then(
        () => send(),
        () => send(),
      )
      queue = run.catch((error: unknown) => {
        parameters.logger?.debug({ err: error, write: label }, 'transaction failed')
      })
      return run
    },
    async head() {
      const block = await getBlock(client, { blockTag: 'latest' })
      return { number: block.number, timestamp: Number(block.timestamp) }
    },
    async getBid(orderId, providerId) {
      const bid = await readContract(client, {
        address: market,
        abi: marketAbi,
        functionName: 'getBid',
        args: [orderId, providerId],
      })
      return { price: bid.price, round: bid.round }
    },
    async minStake() {
      return await readContract(client, {
        address: providerRegistry,
        abi: providerRegistryAbi,
        functionName: 'minStake',
        args: [],
      })
    },
    async isActive(provider) {
      return await readContract(client, {
        address: providerRegistry,
        abi: providerRegistryAbi,
        functionName: 'isActive',
        args: [provider],
      })
    },
    async sendAfterDeadline(functionName, orderId) {
      const hash = await writeContract(client, {
        address: market,
        abi: marketAbi,
        functionName,
        args: [orderId],
        account,
        chain: client.chain,
        gas: GAS_AFTER_DEADLINE[functionName],
      })
      const receipt = await waitForTransactionReceipt(client, { hash })
      if (receipt.status === 'reverted') {
        throw new StoaContractError({
          contractAddress: market,
          functionName,
          transactionHash: hash,
          shortMessage: `The ${functionName} transaction for order ${orderId} reverted on chain.`,
        })
      }
      return { hash, receipt }
    },
    async providerAddress(providerId) {
      return await readContract(client, {
        address: providerRegistry,
        abi: providerRegistryAbi,
        functionName: 'providerAddress',
        args: [providerId],
      })
    },
  }
}
