import { type Address, getAddress, isAddress } from 'viem'
import { BaseError } from './errors/base.ts'
import { describeValue } from './errors/parameter.ts'

/** The contract names of a Stoa deployment, in deployment order. */
export const stoaContractNames = [
  'stoaToken',
  'priceOracle',
  'credits',
  'providerRegistry',
  'market',
  'storageDeals',
] as const
export type StoaContractName = (typeof stoaContractNames)[number]

/**
 * Where a Stoa deployment lives: the chain, an RPC endpoint, and the address of every contract.
 * `stoa devnet` writes one as JSON; `parseDeployment` reads it back.
 */
export type StoaDeployment = {
  chainId: number
  rpcUrl: string
  contracts: { [name in StoaContractName]: Address }
}

export type InvalidDeploymentErrorType = InvalidDeploymentError & { name: 'InvalidDeploymentError' }
export class InvalidDeploymentError extends BaseError {
  /** The path of the bad field, e.g. `contracts.market`. */
  field: string
  constructor(field: string, expected: string, received: unknown, cause?: unknown) {
    super(`Invalid deployment: \`${field}\` must be ${expected}, got ${describeValue(received)}.`, {
      name: 'InvalidDeploymentError',
      cause,
    })
    this.field = field
  }
}

/**
 * Validates a deployment (an object, or its JSON text) and returns it with checksummed addresses.
 * Throws `InvalidDeploymentError` naming the first bad field. Unknown extra fields are dropped.
 */
export function parseDeployment(json: unknown): StoaDeployment {
  let value = json
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json)
    } catch (error) {
      throw new InvalidDeploymentError(
        '(root)',
        'JSON text',
        json.length > 40 ? `${json.slice(0, 40)}…` : json,
        error,
      )
    }
  }
  if (!isRecord(value)) throw new InvalidDeploymentError('(root)', 'an object', value)
  const { chainId, rpcUrl, contracts } = value
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InvalidDeploymentError('chainId', 'a positive integer', chainId)
  }
  if (typeof rpcUrl !== 'string' || !isRpcUrl(rpcUrl)) {
    throw new InvalidDeploymentError('rpcUrl', 'an http(s):// or ws(s):// URL', rpcUrl)
  }
  if (!isRecord(contracts)) throw new InvalidDeploymentError('contracts', 'an object of addresses', contracts)
  const addresses = {} as Record<StoaContractName, Address>
  for (const name of stoaContractNames) {
    const address = contracts[name]
    if (typeof address !== 'string' || !isAddress(address, { strict: false })) {
      throw new InvalidDeploymentError(`contracts.${name}`, 'a 20-byte hex address (0x…)', address)
    }
    addresses[name] = getAddress(address)
  }
  return { chainId, rpcUrl, contracts: addresses }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isRpcUrl(value: string): boolean {
  try {
    return ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(value).protocol)
  } catch {
    return false
  }
}
