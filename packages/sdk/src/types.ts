import type { StoaDeployment } from '@stoa/protocol'
import type { Account, Address, Chain, Client, Hash, TransactionReceipt, Transport } from 'viem'

/**
 * What every Stoa action takes: a viem client (any transport, with or without a chain and an
 * account) that carries the deployment it talks to. `createStoaClient` makes one; a viem client
 * you already have becomes one with `client.extend(() => ({ deployment }))`.
 */
export type StoaActionClient = Client<Transport, Chain | undefined, Account | undefined> & {
  readonly deployment: StoaDeployment
}

/** Options of every action that sends a transaction. */
export type WriteParameters = {
  /** The sender; defaults to the client's account. An address means a JSON-RPC (node-held) account. */
  account?: Account | Address | undefined
}

/** What every write returns: the mined transaction. */
export type WriteReturnType = {
  hash: Hash
  receipt: TransactionReceipt
}

/**
 * A step of a multi-transaction action, Helia-style (`type` names the step, `detail` carries its
 * data), so a CLI can turn them into progress lines.
 */
export type ProgressEvent<type extends string, detail = undefined> = { type: type; detail: detail }

export type ProgressOptions<event extends ProgressEvent<string, unknown>> = {
  onProgress?: ((event: event) => void) | undefined
}

/** Progress of an ERC-20 approval that a multi-step action sends before its main transaction. */
export type ApproveProgressEvent =
  | ProgressEvent<'approve:skipped', { spender: Address; allowance: bigint; amount: bigint }>
  | ProgressEvent<'approve:sent', { spender: Address; amount: bigint; hash: Hash }>
  | ProgressEvent<'approve:confirmed', { spender: Address; amount: bigint; hash: Hash }>

/** Progress of an action's main transaction. */
export type TransactionProgressEvent =
  | ProgressEvent<'transaction:sent', { functionName: string; hash: Hash }>
  | ProgressEvent<'transaction:confirmed', { functionName: string; hash: Hash; blockNumber: bigint }>
