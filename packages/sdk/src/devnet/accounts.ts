import { pbkdf2Sync } from 'node:crypto'
import { type Address, type Hex, toHex } from 'viem'
import { HDKey, privateKeyToAddress } from 'viem/accounts'

/**
 * anvil's default mnemonic. Its keys are public knowledge: anything sent to them on a real chain
 * is taken at once. They exist for local devnets and tests only.
 */
export const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk'

export type DevnetRole = 'deployer' | 'tenant' | 'provider' | 'watcher'

/** The named devnet accounts and their index under `DEVNET_MNEMONIC` (m/44'/60'/0'/0/index). */
export const devnetAccountSpecs = [
  { name: 'deployer', role: 'deployer', index: 0 },
  { name: 'alice', role: 'tenant', index: 1 },
  { name: 'bob', role: 'tenant', index: 2 },
  { name: 'provider1', role: 'provider', index: 3 },
  { name: 'provider2', role: 'provider', index: 4 },
  { name: 'provider3', role: 'provider', index: 5 },
  { name: 'watcher', role: 'watcher', index: 6 },
] as const satisfies readonly { name: string; role: DevnetRole; index: number }[]

export type DevnetAccountName = (typeof devnetAccountSpecs)[number]['name']

export type DevnetAccount = {
  name: DevnetAccountName
  role: DevnetRole
  index: number
  address: Address
  /** A well-known anvil test key (derived from `DEVNET_MNEMONIC`): never use it on a real chain. */
  privateKey: Hex
}

let cached: readonly DevnetAccount[] | undefined

/** The named devnet accounts, derived from anvil's default mnemonic (so anvil pre-funds them with ETH). */
export function devnetAccounts(): readonly DevnetAccount[] {
  // BIP-39 seed computed once, natively (viem's mnemonicToAccount redoes the 2048-round PBKDF2 in
  // JavaScript for every account: ~30 ms each).
  const seed = pbkdf2Sync(DEVNET_MNEMONIC.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512')
  const parent = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0")
  cached ??= devnetAccountSpecs.map(({ name, role, index }) => {
    const key = parent.deriveChild(index).privateKey
    if (!key) throw new Error(`devnet account ${name}: the HD key has no private key`)
    const privateKey = toHex(key)
    return { name, role, index, address: privateKeyToAddress(privateKey), privateKey }
  })
  return cached
}

/** One named devnet account. */
export function devnetAccount(name: DevnetAccountName): DevnetAccount {
  const account = devnetAccounts().find((candidate) => candidate.name === name)
  if (!account) throw new Error(`unknown devnet account ${name}`)
  return account
}

export function isDevnetAccountName(value: string): value is DevnetAccountName {
  return devnetAccountSpecs.some(({ name }) => name === value)
}
