import { BaseError } from '@stoa/protocol'
import { HttpRequestError, BaseError as ViemBaseError } from 'viem'

export type CliErrorParameters = {
  name: string
  hint?: string
  metaMessages?: string[]
  cause?: unknown
}

/** A mistake the user can fix (a missing file, a bad flag value): printed as message plus hint. */
export class CliError extends BaseError {
  readonly hint: string | undefined
  constructor(shortMessage: string, parameters: CliErrorParameters) {
    super(shortMessage, {
      name: parameters.name,
      metaMessages: parameters.metaMessages,
      cause: parameters.cause,
    })
    this.hint = parameters.hint
  }
}

export class DeploymentFileNotFoundError extends CliError {
  constructor(path: string) {
    super(`No deployment file at ${path}.`, {
      name: 'DeploymentFileNotFoundError',
      hint: 'Start a devnet first (`npm start`, or `stoa devnet` in another terminal), or pass --deployment FILE.',
    })
  }
}

export class MissingKeyError extends CliError {
  constructor(action: string) {
    super(`${action} needs a private key to sign with.`, {
      name: 'MissingKeyError',
      hint: 'Pass --key 0x… (or a devnet account name such as alice), or set STOA_PRIVATE_KEY.',
    })
  }
}

export class InvalidOptionError extends CliError {
  constructor(option: string, expected: string, received: string | undefined, hint?: string) {
    super(
      `${option} must be ${expected}${received === undefined ? '' : `, got ${JSON.stringify(received)}`}.`,
      {
        name: 'InvalidOptionError',
        ...(hint === undefined ? {} : { hint }),
      },
    )
  }
}

export class DevnetStateMismatchError extends CliError {
  constructor(stateDir: string, missing: readonly { name: string; address: string }[], cause?: unknown) {
    super(`The saved chain in ${stateDir} has no contracts at the addresses its deployment.json records.`, {
      name: 'DevnetStateMismatchError',
      metaMessages: missing.map(({ name, address }) => `missing: ${name} at ${address}`),
      hint: `The devnet probably stopped before it saved the chain. Delete ${stateDir} to start over.`,
      cause,
    })
  }
}

/** Hints for errors from lower layers, by error name (first match along the cause chain wins). */
const hintsByName: Record<string, string> = {
  HttpRequestError: 'Is the chain running? `stoa devnet` starts one; --rpc URL points at another.',
  TimeoutError: 'The RPC did not answer in time. Is the chain running and reachable?',
  InvalidDeploymentError: 'The deployment file is not one `stoa devnet` wrote. Pass --deployment FILE.',
  InsufficientFundsError:
    'The account has too little ETH for gas. On a devnet use one of the named test accounts.',
  AnvilExitedError:
    'anvil stopped while starting: if the port is taken, choose another --port or leave it out.',
  AnvilNotFoundError: 'Run `npm install` in the repository root.',
  AccountRequiredError: 'Pass --key 0x… (or a devnet account name such as alice), or set STOA_PRIVATE_KEY.',
  ContractFunctionZeroDataError:
    'No contract answered at that address: the deployment file may belong to another chain (was the devnet restarted without --state?).',
}

export type FormatErrorOptions = { verbose: boolean }

/**
 * Renders an error for a terminal: the one-line `shortMessage`, the context lines a Stoa error
 * carries, and a hint. `verbose` adds details, every cause and the innermost stack.
 */
export function formatError(error: unknown, options: FormatErrorOptions): string {
  const lines: string[] = []
  const short = shortMessageOf(error)
  lines.push(`Error: ${short}`)
  if (error instanceof BaseError && error.metaMessages?.length) {
    for (const meta of error.metaMessages) lines.push(`  ${meta}`)
  }
  if (error instanceof ViemBaseError && options.verbose && error.metaMessages?.length) {
    for (const meta of error.metaMessages) lines.push(`  ${meta.trim()}`)
  }
  const hint = hintFor(error)
  if (hint) lines.push(`Hint: ${hint}`)

  if (options.verbose) {
    const details = (error as { details?: unknown }).details
    if (typeof details === 'string' && details && details !== short) lines.push(`Details: ${details}`)
    let cause = (error as { cause?: unknown }).cause
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      lines.push(`Caused by: ${nameOf(cause)}: ${shortMessageOf(cause)}`)
      cause = (cause as { cause?: unknown } | null)?.cause
    }
    const innermost = innermostError(error)
    if (innermost?.stack) lines.push('', innermost.stack)
  } else if (!(error instanceof BaseError) && !(error instanceof ViemBaseError)) {
    lines.push('Run with --verbose for the stack trace (this looks like a bug: please report it).')
  } else if ((error as { cause?: unknown }).cause !== undefined) {
    lines.push('Run with --verbose for details.')
  }
  return lines.join('\n')
}

function shortMessageOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const short = (error as { shortMessage?: unknown }).shortMessage
    if (typeof short === 'string' && short) return short
    const message = (error as { message?: unknown }).message
    if (typeof message === 'string') return message.split('\n')[0] ?? message
  }
  return String(error)
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}

function hintFor(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 10; depth++) {
    if (current instanceof CliError && current.hint) return current.hint
    if (current instanceof HttpRequestError) {
      return `Is the chain at ${current.url} running? \`stoa devnet\` starts one; --rpc URL points at another.`
    }
    const name = (current as { name?: unknown }).name
    if (typeof name === 'string' && hintsByName[name]) return hintsByName[name]
    const code = (current as { code?: unknown }).code
    if (code === 'ECONNREFUSED') return hintsByName.HttpRequestError
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function innermostError(error: unknown): Error | undefined {
  let current: unknown = error
  let last: Error | undefined
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    last = current
    current = current.cause
  }
  return last
}
