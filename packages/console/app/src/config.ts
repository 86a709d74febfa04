import { BaseError, parseDeployment, type StoaDeployment } from '@stoa/protocol'
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem'

/** A devnet test account the tenant view may sign with (the anvil keys are public). */
export type DevnetAccountEntry = { name: string; address: Address; privateKey: Hex }

/**
 * What the server tells the app at `GET /config.json`: the chain, the RPC the browser talks to,
 * the deployment, and on a devnet only, the test accounts.
 */
export type ConsoleConfig = {
  chainId: number
  rpcUrl: string
  deployment: StoaDeployment
  devnetAccounts: DevnetAccountEntry[] | undefined
}

export type ConsoleConfigErrorType = ConsoleConfigError & { name: 'ConsoleConfigError' }

/** `/config.json` could not be read or does not say what the app needs. */
export class ConsoleConfigError extends BaseError {
  constructor(message: string, options: { cause?: unknown; details?: string } = {}) {
    super(message, {
      name: 'ConsoleConfigError',
      cause: options.cause,
      metaMessages: [
        'The console reads /config.json from the server that serves it (`stoa devnet` or `stoa console --rpc URL --deployment FILE`).',
      ],
      ...(options.details === undefined ? {} : { details: options.details }),
    })
  }
}

/** Fetches and checks `config.json` beside the page. */
export async function loadConfig(signal?: AbortSignal): Promise<ConsoleConfig> {
  let response: Response
  try {
    response = await fetch('./config.json', { cache: 'no-store', ...(signal ? { signal } : {}) })
  } catch (error) {
    throw new ConsoleConfigError('Could not reach the console server for /config.json.', { cause: error })
  }
  if (!response.ok) {
    throw new ConsoleConfigError(`The console server answered /config.json with HTTP ${response.status}.`)
  }
  let json: unknown
  try {
    json = await response.json()
  } catch (error) {
    throw new ConsoleConfigError('/config.json is not JSON.', { cause: error })
  }
  return parseConsoleConfig(json)
}

/** Checks a config object; throws `ConsoleConfigError` naming the first bad field. */
export function parseConsoleConfig(json: unknown): ConsoleConfig {
  if (typeof json !== 'object' || json === null)
    throw new ConsoleConfigError('/config.json is not an object.')
  const value = json as Record<string, unknown>
  let deployment: StoaDeployment
  try {
    deployment = parseDeployment(value.deployment)
  } catch (error) {
    throw new ConsoleConfigError(
      `/config.json: ${error instanceof BaseError ? error.shortMessage : String(error)}`,
      {
        cause: error,
      },
    )
  }
  const chainId = value.chainId ?? deployment.chainId
  if (typeof chainId !== 'number' || chainId !== deployment.chainId) {
    throw new ConsoleConfigError(
      `/config.json: \`chainId\` must be the deployment's chain ${deployment.chainId}, got ${String(chainId)}.`,
    )
  }
  const rpcUrl = value.rpcUrl ?? deployment.rpcUrl
  if (typeof rpcUrl !== 'string' || !/^https?:\/\//.test(rpcUrl)) {
    throw new ConsoleConfigError(
      `/config.json: \`rpcUrl\` must be an http(s):// URL the browser can reach, got ${String(rpcUrl)}.`,
    )
  }
  return {
    chainId,
    rpcUrl,
    deployment: { ...deployment, rpcUrl },
    devnetAccounts: parseDevnetAccounts(value.devnetAccounts),
  }
}

function parseDevnetAccounts(value: unknown): DevnetAccountEntry[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw new ConsoleConfigError('/config.json: `devnetAccounts` must be a list.')
  return value.map((entry: unknown, index) => {
    const record = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>
    const { name, address, privateKey } = record
    if (
      typeof name !== 'string' ||
      typeof address !== 'string' ||
      !isAddress(address, { strict: false }) ||
      typeof privateKey !== 'string' ||
      !isHex(privateKey) ||
      privateKey.length !== 66
    ) {
      throw new ConsoleConfigError(
        `/config.json: \`devnetAccounts[${index}]\` must be { name, address, privateKey (32 bytes of hex) }.`,
      )
    }
    return { name, address: getAddress(address), privateKey: privateKey as Hex }
  })
}
