/**
 * Provider accounts beyond the SDK's named three: storage needs at least n + 1 = 7 providers for a
 * 4-of-6 deal with a spare for repairs. provider4, provider5… are anvil mnemonic accounts 7, 8…
 * (anvil is started with enough accounts to give them ETH); they get the provider role's funding.
 */
import { pbkdf2Sync } from 'node:crypto'
import { DEVNET_MNEMONIC, type DevnetAccount, devnetAccounts, isDevnetAccountName } from '@stoa/sdk/devnet'
import { toHex } from 'viem'
import { HDKey, privateKeyToAddress } from 'viem/accounts'

/** The most providers a devnet starts (mnemonic accounts up to 6 + 10 - 3 = 13). */
export const MAX_DEVNET_PROVIDERS = 10

/** anvil `--accounts`: enough pre-funded mnemonic accounts for every devnet provider. */
export const DEVNET_ANVIL_ACCOUNTS = 7 + MAX_DEVNET_PROVIDERS - 3

let seedParent: HDKey | undefined

/** `providerN` (1-based): the SDK's account when it names one, else mnemonic account 6 + (N - 3). */
export function devnetProviderAccount(number: number): DevnetAccount {
  const name = `provider${number}`
  if (isDevnetAccountName(name)) {
    const known = devnetAccounts().find((account) => account.name === name)
    if (known) return known
  }
  seedParent ??= HDKey.fromMasterSeed(
    pbkdf2Sync(DEVNET_MNEMONIC.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512'),
  ).derive("m/44'/60'/0'/0")
  const index = 6 + (number - 3)
  const key = seedParent.deriveChild(index).privateKey
  if (!key) throw new Error(`devnet account ${name}: the HD key has no private key`)
  const privateKey = toHex(key)
  // The SDK types names as its own list; these extra providers extend it at run time.
  return {
    name: name as DevnetAccount['name'],
    role: 'provider',
    index,
    address: privateKeyToAddress(privateKey),
    privateKey,
  }
}

/** The SDK's named accounts plus provider4…providerN when `providers` > 3. */
export function devnetAccountsWithProviders(providers: number): DevnetAccount[] {
  const accounts = [...devnetAccounts()]
  for (let number = 4; number <= providers; number++) {
    if (!accounts.some((account) => account.name === `provider${number}`))
      accounts.push(devnetProviderAccount(number))
  }
  return accounts
}
