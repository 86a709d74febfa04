import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { parseDeployment, type StoaDeployment } from '@stoa/protocol'
import { DEVNET_MNEMONIC, type DevnetAccount } from '@stoa/sdk/devnet'
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem'
import { DeploymentFileNotFoundError } from './errors.ts'

/** Where `stoa devnet` writes its deployment and where the other commands look, relative to the cwd. */
export const DEFAULT_DEPLOYMENT_FILE = '.stoa/devnet/deployment.json'

export type DeploymentFileAccount = {
  address: Address
  role: DevnetAccount['role']
  index: number
  /** A well-known anvil test key (public mnemonic): never use it on a real chain. */
  testPrivateKey: Hex
}

/**
 * The JSON `stoa devnet` writes: a `StoaDeployment` (what every command needs) plus when and by
 * whom it was deployed and the named test accounts. Private keys appear only for the anvil test
 * accounts, whose mnemonic is public, and are marked as such.
 */
export type DeploymentFile = StoaDeployment & {
  network: 'devnet'
  deployedAt: string
  deployer: Address
  blockNumber: string
  accounts: Record<string, DeploymentFileAccount>
  testKeys: { mnemonic: string; warning: string }
}

export const TEST_KEYS_WARNING =
  'These are the well-known anvil test keys from a public mnemonic. Anyone can spend from them: use them on a local devnet only, never on a real chain.'

export function deploymentFileOf(
  deployment: StoaDeployment & { deployedAt: string; deployer: Address; blockNumber: bigint | string },
  accounts: readonly DevnetAccount[],
): DeploymentFile {
  return {
    network: 'devnet',
    chainId: deployment.chainId,
    rpcUrl: deployment.rpcUrl,
    contracts: deployment.contracts,
    deployedAt: deployment.deployedAt,
    deployer: deployment.deployer,
    blockNumber: deployment.blockNumber.toString(),
    accounts: Object.fromEntries(
      accounts.map((account) => [
        account.name,
        {
          address: account.address,
          role: account.role,
          index: account.index,
          testPrivateKey: account.privateKey,
        },
      ]),
    ),
    testKeys: { mnemonic: DEVNET_MNEMONIC, warning: TEST_KEYS_WARNING },
  }
}

/** Writes the file atomically (temp file, then rename), creating its folder. */
export async function writeDeploymentFile(path: string, file: DeploymentFile): Promise<void> {
  const target = resolve(path)
  await mkdir(dirname(target), { recursive: true })
  const temporary = `${target}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
  await rename(temporary, target)
}

export type LoadedDeployment = {
  path: string
  deployment: StoaDeployment
  /** Named test accounts recorded by `stoa devnet` (empty for other deployment files). */
  accounts: Record<string, { address: Address; testPrivateKey: Hex | undefined }>
  raw: Record<string, unknown>
}

/** Reads and validates a deployment file (`InvalidDeploymentError` names a bad field). */
export async function readDeploymentFile(path: string): Promise<LoadedDeployment> {
  const target = resolve(path)
  let text: string
  try {
    text = await readFile(target, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DeploymentFileNotFoundError(target)
    throw error
  }
  const deployment = parseDeployment(text)
  const raw = JSON.parse(text) as Record<string, unknown>
  const accounts: LoadedDeployment['accounts'] = {}
  const recorded = raw.accounts
  if (recorded && typeof recorded === 'object' && !Array.isArray(recorded)) {
    for (const [name, value] of Object.entries(recorded as Record<string, unknown>)) {
      const entry = value as { address?: unknown; testPrivateKey?: unknown }
      if (typeof entry?.address !== 'string' || !isAddress(entry.address, { strict: false })) continue
      const key = entry.testPrivateKey
      accounts[name] = {
        address: getAddress(entry.address),
        testPrivateKey: typeof key === 'string' && isHex(key) && key.length === 66 ? key : undefined,
      }
    }
  }
  return { path: target, deployment, accounts, raw }
}

/** Like `readDeploymentFile`, but undefined when the file does not exist. */
export async function readDeploymentFileIfExists(path: string): Promise<LoadedDeployment | undefined> {
  try {
    return await readDeploymentFile(path)
  } catch (error) {
    if (error instanceof DeploymentFileNotFoundError) return undefined
    throw error
  }
}
