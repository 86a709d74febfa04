import { createStoaClient, type StoaClient } from '@stoa/sdk'
import { type Address, getAddress, isAddress, type LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEFAULT_DEPLOYMENT_FILE, type LoadedDeployment, readDeploymentFile } from './deployment-file.ts'
import { InvalidOptionError, MissingKeyError } from './errors.ts'
import type { CliIo } from './io.ts'

/** Options every chain command takes. */
export type ChainOptions = {
  deployment?: string
  rpc?: string
}

export type KeyOptions = { key?: string }

export type CommandContext = {
  file: LoadedDeployment
  client: StoaClient
  account: LocalAccount | undefined
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/

/**
 * Loads the deployment file (`--deployment`, default `.stoa/devnet/deployment.json`), applies
 * `--rpc`, and builds a Stoa client, with an account when a key was given (`--key` or
 * `STOA_PRIVATE_KEY`; `requireKey` makes it mandatory).
 */
export async function loadContext(
  options: ChainOptions & KeyOptions,
  io: CliIo,
  requireKey?: { action: string },
): Promise<CommandContext> {
  const file = await readDeploymentFile(options.deployment ?? DEFAULT_DEPLOYMENT_FILE)
  if (options.rpc !== undefined && !/^(https?|wss?):\/\//.test(options.rpc)) {
    throw new InvalidOptionError('--rpc', 'an http(s):// or ws(s):// URL', options.rpc)
  }
  const deployment = { ...file.deployment, ...(options.rpc === undefined ? {} : { rpcUrl: options.rpc }) }
  const account = resolveAccount(options.key ?? io.env.STOA_PRIVATE_KEY, file)
  if (requireKey && !account) throw new MissingKeyError(requireKey.action)
  const client = createStoaClient({ deployment, pollingInterval: 100, ...(account ? { account } : {}) })
  return { file, client, account }
}

/** A private key (0x + 64 hex digits) or the name of a devnet test account in the deployment file. */
export function resolveAccount(key: string | undefined, file: LoadedDeployment): LocalAccount | undefined {
  if (key === undefined || key === '') return undefined
  if (PRIVATE_KEY.test(key)) return privateKeyToAccount(key as `0x${string}`)
  const named = file.accounts[key]?.testPrivateKey
  if (named) return privateKeyToAccount(named)
  // Never echo the value: it may be a mistyped private key.
  throw new InvalidOptionError(
    '--key (or STOA_PRIVATE_KEY)',
    `a private key (0x + 64 hex digits) or a devnet account name (${Object.keys(file.accounts).join(', ') || 'none recorded'})`,
    undefined,
  )
}

/** An address (0x…) or a devnet account name recorded in the deployment file. */
export function resolveAddress(value: string, file: LoadedDeployment, field = 'ADDRESS'): Address {
  if (isAddress(value, { strict: false })) return getAddress(value)
  const named = file.accounts[value]?.address
  if (named) return named
  throw new InvalidOptionError(
    field,
    `a 20-byte hex address (0x…) or a devnet account name (${Object.keys(file.accounts).join(', ') || 'none recorded'})`,
    value,
  )
}

/** The devnet name of an address, if the deployment file records one. */
export function accountName(address: Address, file: LoadedDeployment): string | undefined {
  return Object.entries(file.accounts).find(([, account]) => account.address === address)?.[0]
}
