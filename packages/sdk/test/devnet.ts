/**
 * Test fixture: a fresh anvil with the real contracts deployed and the named devnet accounts
 * funded, plus a Stoa client per account and a viem test client to move time.
 */
import type { StoaDeployment } from '@stoa/protocol'
import { createTestClient, http, publicActions } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { devnetAccount } from '../src/devnet/accounts.ts'
import { startAnvil } from '../src/devnet/anvil.ts'
import { deployStoa } from '../src/devnet/deploy.ts'
import { fundDevnetAccounts } from '../src/devnet/fund.ts'
import { createStoaClient, type StoaClient } from '../src/index.ts'

const names = ['deployer', 'alice', 'bob', 'provider1', 'provider2', 'provider3', 'watcher'] as const
type Name = (typeof names)[number]

export type Devnet = Awaited<ReturnType<typeof startDevnet>>

export async function startDevnet() {
  const anvil = await startAnvil()
  try {
    const deployed = await deployStoa({
      rpcUrl: anvil.rpcUrl,
      deployerKey: devnetAccount('deployer').privateKey,
    })
    const deployment: StoaDeployment = {
      chainId: deployed.chainId,
      rpcUrl: deployed.rpcUrl,
      contracts: deployed.contracts,
    }
    await fundDevnetAccounts({ rpcUrl: anvil.rpcUrl, deployment })
    const clients = Object.fromEntries(
      names.map((name) => [
        name,
        createStoaClient({
          deployment,
          account: privateKeyToAccount(devnetAccount(name).privateKey),
          pollingInterval: 50,
        }),
      ]),
    ) as Record<Name, StoaClient & { account: { address: `0x${string}` } }>
    const chain = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).extend(publicActions)
    return {
      anvil,
      deployment,
      ...clients,
      chain,
      /** Moves the chain's clock forward and mines a block at the new time. */
      async warp(seconds: number) {
        await chain.increaseTime({ seconds })
        await chain.mine({ blocks: 1 })
      },
      async now() {
        return (await chain.getBlock({ blockTag: 'latest' })).timestamp
      },
      async stop() {
        await anvil.stop()
      },
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}
