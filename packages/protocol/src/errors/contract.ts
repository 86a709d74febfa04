import {
  type Address,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hash,
  type Hex,
  BaseError as ViemBaseError,
} from 'viem'
import { stoaErrorsAbi } from '../generated/abis.ts'
import { BaseError } from './base.ts'
import { describeContractError } from './messages.ts'

export type StoaContractErrorType = StoaContractError & { name: 'StoaContractError' }

/**
 * A Stoa contract call reverted. `shortMessage` says why in words (from the error table),
 * `errorName` and `args` are the decoded custom error (`'Error'` for a `require` reason string,
 * `'Panic'` for a panic, undefined when the revert carried nothing decodable), `cause` is viem's error.
 */
export class StoaContractError extends BaseError {
  errorName: string | undefined
  args: readonly unknown[]
  contractAddress: Address | undefined
  functionName: string | undefined
  /** Set when the transaction was mined and reverted (rather than failing in simulation). */
  transactionHash: Hash | undefined

  constructor(parameters: {
    errorName?: string | undefined
    args?: readonly unknown[] | undefined
    contractAddress?: Address | undefined
    functionName?: string | undefined
    transactionHash?: Hash | undefined
    shortMessage?: string | undefined
    cause?: unknown
  }) {
    const { errorName, contractAddress, functionName, transactionHash } = parameters
    const args = parameters.args ?? []
    const described = errorName === undefined ? undefined : describeContractError(errorName, args)
    const call = functionName
      ? `${functionName}(…)${contractAddress ? ` on ${contractAddress}` : ''}`
      : undefined
    super(
      parameters.shortMessage ?? described?.message ?? `The contract call${call ? ` ${call}` : ''} reverted.`,
      {
        name: 'StoaContractError',
        cause: parameters.cause,
        metaMessages: [
          ...(described?.hint ? [described.hint] : []),
          ...(errorName && errorName !== 'Error' && errorName !== 'Panic'
            ? [`Contract error: ${errorName}(${args.map(formatArg).join(', ')})`]
            : []),
          ...(call ? [`Call: ${call}`] : []),
          ...(transactionHash ? [`Transaction: ${transactionHash}`] : []),
        ],
        docsPath: errorName && described ? `packages/protocol/README.md#errors` : undefined,
      },
    )
    this.errorName = errorName
    this.args = args
    this.contractAddress = contractAddress
    this.functionName = functionName
    this.transactionHash = transactionHash
  }
}

/**
 * Turns a viem error from a contract call or simulation into a `StoaContractError` when it is a
 * revert (decoding errors of every Stoa contract, also those bubbled up from a contract the callee
 * called). Returns undefined for anything else (network errors, bad arguments), which callers
 * rethrow as is.
 */
export function toStoaContractError(
  error: unknown,
  context: { contractAddress?: Address; functionName?: string } = {},
): StoaContractError | undefined {
  if (error instanceof StoaContractError) return error
  if (!(error instanceof ViemBaseError)) return undefined
  const reverted = error.walk((inner) => inner instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined
  const decoded = reverted.data ?? decodeStoaRevert(reverted.raw)
  return new StoaContractError({
    errorName: decoded?.errorName,
    args: decoded?.args ?? [],
    contractAddress: context.contractAddress,
    functionName: context.functionName,
    shortMessage: decoded
      ? undefined
      : reverted.reason
        ? `The contract reverted: ${reverted.reason}.`
        : undefined,
    cause: error,
  })
}

/** Decodes revert data with the errors of every Stoa contract; undefined when unknown. */
export function decodeStoaRevert(
  data: Hex | undefined,
): { errorName: string; args: readonly unknown[] } | undefined {
  if (!data || data === '0x') return undefined
  try {
    const { errorName, args } = decodeErrorResult({ abi: stoaErrorsAbi, data })
    return { errorName, args: args ?? [] }
  } catch {
    return undefined
  }
}

function formatArg(value: unknown): string {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string') return value
  return JSON.stringify(value, (_key, inner) => (typeof inner === 'bigint' ? inner.toString() : inner))
}
