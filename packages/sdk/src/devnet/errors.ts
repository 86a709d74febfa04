import { BaseError } from '@stoa/protocol'

export type DevnetErrorOptions = {
  name: string
  details?: string
  metaMessages?: string[]
  cause?: unknown
}

/** Base of the devnet errors (Stoa's `BaseError`: `shortMessage`, meta lines, details, cause). */
export class DevnetError extends BaseError {
  constructor(shortMessage: string, options: DevnetErrorOptions) {
    super(shortMessage, options)
  }
}

function outputLines(output: readonly string[]): string[] {
  return output.length ? ['anvil output (last lines):', ...output.map((line) => `  ${line}`)] : []
}

export class AnvilNotFoundError extends DevnetError {
  constructor({ searched }: { searched: readonly string[] }) {
    super('The anvil executable could not be found.', {
      name: 'AnvilNotFoundError',
      metaMessages: [
        'Run `npm install` in the repository (anvil comes from @foundry-rs/anvil), or set STOA_ANVIL_BIN.',
        'Looked in:',
        ...searched.map((path) => `  ${path}`),
      ],
    })
  }
}

export class AnvilExitedError extends DevnetError {
  readonly code: number | null
  constructor(params: {
    binary: string
    args: readonly string[]
    code: number | null
    signal?: NodeJS.Signals | null
    output: readonly string[]
    cause?: unknown
  }) {
    const how = params.signal ? `signal ${params.signal}` : `exit code ${params.code ?? 'unknown'}`
    super(
      params.cause
        ? `anvil could not be started: ${(params.cause as Error).message}`
        : `anvil exited before its RPC answered (${how}).`,
      {
        name: 'AnvilExitedError',
        metaMessages: [`Command: ${params.binary} ${params.args.join(' ')}`, ...outputLines(params.output)],
        cause: params.cause,
      },
    )
    this.code = params.code
  }
}

export class AnvilStartTimeoutError extends DevnetError {
  constructor(params: {
    timeoutMs: number
    binary: string
    args: readonly string[]
    output: readonly string[]
  }) {
    super(`anvil did not answer eth_chainId within ${params.timeoutMs} ms.`, {
      name: 'AnvilStartTimeoutError',
      metaMessages: [`Command: ${params.binary} ${params.args.join(' ')}`, ...outputLines(params.output)],
    })
  }
}

export class DeploymentTransactionFailedError extends DevnetError {
  constructor(params: { step: string; hash: string; details?: string }) {
    super(`Devnet deployment step "${params.step}" failed (transaction ${params.hash} reverted).`, {
      name: 'DeploymentTransactionFailedError',
      ...(params.details === undefined ? {} : { details: params.details }),
    })
  }
}

export class DeploymentNotFoundError extends DevnetError {
  readonly missing: readonly { name: string; address: string }[]
  constructor(params: { rpcUrl: string; missing: readonly { name: string; address: string }[] }) {
    super(
      `No contract code at ${params.missing.length} recorded deployment address(es) on ${params.rpcUrl}.`,
      {
        name: 'DeploymentNotFoundError',
        metaMessages: params.missing.map(({ name, address }) => `  ${name}: ${address}`),
      },
    )
    this.missing = params.missing
  }
}

export class DeploymentAddressMismatchError extends DevnetError {
  constructor(params: { name: string; expected: string; received: string | null }) {
    super(`${params.name} was deployed at ${params.received ?? 'no address'}, expected ${params.expected}.`, {
      name: 'DeploymentAddressMismatchError',
      metaMessages: ['Something else sent transactions from the deployer key during the deployment.'],
    })
  }
}
