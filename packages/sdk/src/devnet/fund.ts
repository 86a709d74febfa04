import {
  creditsAbi,
  marketAbi,
  parseCredits,
  parseStoa,
  type StoaDeployment,
  stoaTokenAbi,
} from '@stoa/protocol'
import {
  type Address,
  createPublicClient,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  stringToHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { ProgressEvent, ProgressOptions } from '../types.ts'
import { type DevnetAccount, type DevnetRole, devnetAccount, devnetAccounts } from './accounts.ts'
import type { DevnetError } from './errors.ts'
import { CALL_GAS_LIMIT, createTransactionPipeline } from './transactions.ts'

export type DevnetFunding = { stoa: bigint; credits: bigint }

/** What each role gets: providers need STOA to stake, tenants credits to pay. */
export const DEVNET_FUNDING: Record<DevnetRole, DevnetFunding> = {
  deployer: { stoa: parseStoa('10000'), credits: parseCredits('1000') },
  tenant: { stoa: parseStoa('10000'), credits: parseCredits('1000') },
  provider: { stoa: parseStoa('100000'), credits: parseCredits('100') },
  watcher: { stoa: parseStoa('10000'), credits: parseCredits('100') },
}

export type FundDevnetAccountsProgressEvent =
  | ProgressEvent<'fund:sent', { step: string; hash: Hex }>
  | ProgressEvent<'fund:confirmed', { transactions: number }>

export type FundDevnetAccountsParameters = ProgressOptions<FundDevnetAccountsProgressEvent> & {
  rpcUrl: string
  deployment: Pick<StoaDeployment, 'contracts'>
  /** Owner of the contracts and credits issuer; default: the devnet deployer (anvil account 0). */
  deployerKey?: Hex
  /** Which accounts; default: all named devnet accounts. */
  accounts?: readonly DevnetAccount[]
  /** Per-role amounts; default `DEVNET_FUNDING`. */
  funding?: Partial<Record<DevnetRole, DevnetFunding>>
  signal?: AbortSignal
}

export type DevnetAccountBalance = {
  name: DevnetAccount['name']
  role: DevnetRole
  address: Address
  /** STOA held (18 decimals). */
  stoa: bigint
  /** Credits held (6 decimals). */
  credits: bigint
}

export type FundDevnetAccountsReturnType = {
  accounts: DevnetAccountBalance[]
  transactions: number
  durationMs: number
}

export type FundDevnetAccountsErrorType = DevnetError

/**
 * Gives every named devnet account STOA (the deployer is a STOA minter only while this runs) and
 * issued credits, and registers the watcher account with `Market.setWatcher`. Returns the balances
 * read back from the chain.
 */
export async function fundDevnetAccounts(
  parameters: FundDevnetAccountsParameters,
): Promise<FundDevnetAccountsReturnType> {
  const startedAt = performance.now()
  const { rpcUrl, signal, onProgress } = parameters
  const { stoaToken, credits, market } = parameters.deployment.contracts
  const accounts = parameters.accounts ?? devnetAccounts()
  const deployer = privateKeyToAccount(parameters.deployerKey ?? devnetAccount('deployer').privateKey)
  const client = createPublicClient({ transport: http(rpcUrl, { batch: true }), pollingInterval: 20 })
  const chainId = await client.getChainId()
  const pipeline = await createTransactionPipeline({ client, account: deployer, chainId })

  const send = async (step: string, to: Address, data: Hex) => {
    signal?.throwIfAborted()
    const hash = await pipeline.send(step, { to, data, gas: CALL_GAS_LIMIT })
    onProgress?.({ type: 'fund:sent', detail: { step, hash } })
  }

  await send(
    'stoaToken.setMinter(deployer, true)',
    stoaToken,
    encodeFunctionData({ abi: stoaTokenAbi, functionName: 'setMinter', args: [deployer.address, true] }),
  )
  for (const account of accounts) {
    const funding = parameters.funding?.[account.role] ?? DEVNET_FUNDING[account.role]
    if (funding.stoa > 0n) {
      await send(
        `stoaToken.mint(${account.name})`,
        stoaToken,
        encodeFunctionData({
          abi: stoaTokenAbi,
          functionName: 'mint',
          args: [account.address, funding.stoa],
        }),
      )
    }
    if (funding.credits > 0n) {
      await send(
        `credits.issue(${account.name})`,
        credits,
        encodeFunctionData({
          abi: creditsAbi,
          functionName: 'issue',
          args: [
            account.address,
            funding.credits,
            keccak256(stringToHex(`stoa-devnet-faucet:${account.name}`)),
          ],
        }),
      )
    }
    if (account.role === 'watcher') {
      await send(
        `market.setWatcher(${account.name})`,
        market,
        encodeFunctionData({ abi: marketAbi, functionName: 'setWatcher', args: [account.address, true] }),
      )
    }
  }
  await send(
    'stoaToken.setMinter(deployer, false)',
    stoaToken,
    encodeFunctionData({ abi: stoaTokenAbi, functionName: 'setMinter', args: [deployer.address, false] }),
  )
  const receipts = await pipeline.confirmAll(signal ? { signal } : {})
  onProgress?.({ type: 'fund:confirmed', detail: { transactions: receipts.length } })

  const balances = await readDevnetBalances({ rpcUrl, deployment: parameters.deployment, accounts })
  return { accounts: balances, transactions: receipts.length, durationMs: performance.now() - startedAt }
}

/** STOA and credit balances of the named devnet accounts (or `accounts`), read in one batch. */
export async function readDevnetBalances(parameters: {
  rpcUrl: string
  deployment: Pick<StoaDeployment, 'contracts'>
  accounts?: readonly Pick<DevnetAccount, 'name' | 'role' | 'address'>[]
}): Promise<DevnetAccountBalance[]> {
  const client = createPublicClient({ transport: http(parameters.rpcUrl, { batch: true }) })
  const { stoaToken, credits } = parameters.deployment.contracts
  const accounts = parameters.accounts ?? devnetAccounts()
  return await Promise.all(
    accounts.map(async ({ name, role, address }) => {
      const [stoa, creditBalance] = await Promise.all([
        client.readContract({
          address: stoaToken,
          abi: stoaTokenAbi,
          functionName: 'balanceOf',
          args: [address],
        }),
        client.readContract({
          address: credits,
          abi: creditsAbi,
          functionName: 'balanceOf',
          args: [address],
        }),
      ])
      return { name, role, address, stoa, credits: creditBalance }
    }),
  )
}
