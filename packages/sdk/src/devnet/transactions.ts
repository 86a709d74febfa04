import { decodeStoaRevert, describeContractError } from '@stoa/protocol'
import type { Address, Hex, LocalAccount, PublicClient, TransactionReceipt } from 'viem'
import { DeploymentTransactionFailedError } from './errors.ts'

/** Gas limit for setter and mint calls; they use well under 200k, and anvil charges only what is used. */
export const CALL_GAS_LIMIT = 500_000n

type QueuedTransaction = { step: string; hash: Hex; to: Address | undefined; data: Hex }

export type TransactionPipeline = {
  /** Signs with the next nonce and sends; does not wait for the receipt. */
  send(step: string, tx: { to?: Address; data: Hex; gas: bigint }): Promise<Hex>
  /** The nonce the next `send` uses. */
  readonly nextNonce: number
  /** Waits for every sent transaction and throws `DeploymentTransactionFailedError` on the first revert. */
  confirmAll(options?: { signal?: AbortSignal }): Promise<TransactionReceipt[]>
}

/**
 * Sends a run of transactions from one key back to back with explicit nonces, fees and gas limits,
 * so nothing waits for a receipt or re-estimates between them: on anvil (automine) a dozen
 * transactions land in a few milliseconds. A revert is replayed and decoded with the Stoa errors.
 */
export async function createTransactionPipeline(params: {
  client: PublicClient
  account: LocalAccount
  chainId: number
}): Promise<TransactionPipeline> {
  const { client, account, chainId } = params
  const [startNonce, fees] = await Promise.all([
    client.getTransactionCount({ address: account.address, blockTag: 'pending' }),
    client.estimateFeesPerGas(),
  ])
  let nonce = startNonce
  const queued: QueuedTransaction[] = []

  return {
    get nextNonce() {
      return nonce
    },
    async send(step, tx) {
      const serializedTransaction = await account.signTransaction({
        type: 'eip1559',
        chainId,
        nonce: nonce++,
        gas: tx.gas,
        // Twice the estimate: a run of full blocks (interval mining) raises the base fee as it goes.
        maxFeePerGas: fees.maxFeePerGas * 2n,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        ...(tx.to === undefined ? {} : { to: tx.to }),
        data: tx.data,
        value: 0n,
      })
      const hash = await client.sendRawTransaction({ serializedTransaction })
      queued.push({ step, hash, to: tx.to, data: tx.data })
      return hash
    },
    async confirmAll(options = {}) {
      const last = queued.at(-1)
      if (!last) return []
      // Same sender, consecutive nonces: once the last one is mined, all of them are.
      await client.waitForTransactionReceipt({ hash: last.hash, pollingInterval: 20, retryCount: 1_000 })
      options.signal?.throwIfAborted()
      const receipts = await Promise.all(queued.map(({ hash }) => client.getTransactionReceipt({ hash })))
      for (const [index, receipt] of receipts.entries()) {
        const tx = queued[index]
        if (tx && receipt.status !== 'success') {
          const reason = await revertReason(client, account.address, tx, receipt.blockNumber)
          throw new DeploymentTransactionFailedError({
            step: tx.step,
            hash: tx.hash,
            ...(reason === undefined ? {} : { details: reason }),
          })
        }
      }
      queued.length = 0
      return receipts
    },
  }
}

/** Replays a reverted transaction on the state before its block and describes the error. */
async function revertReason(
  client: PublicClient,
  from: Address,
  tx: QueuedTransaction,
  blockNumber: bigint,
): Promise<string | undefined> {
  try {
    await client.call({
      account: from,
      ...(tx.to === undefined ? {} : { to: tx.to }),
      data: tx.data,
      blockNumber: blockNumber > 0n ? blockNumber - 1n : blockNumber,
    })
    return 'the replay succeeded; the transaction probably ran out of gas'
  } catch (error) {
    const data = findRevertData(error)
    const decoded = decodeStoaRevert(data)
    if (decoded) {
      const { message } = describeContractError(decoded.errorName, decoded.args)
      return `${message} (${decoded.errorName})`
    }
    if (data) return `revert data ${data}`
    return error instanceof Error ? error.message.split('\n')[0] : String(error)
  }
}

function findRevertData(error: unknown): Hex | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 10; depth++) {
    if (typeof current === 'object' && 'data' in current) {
      const data = (current as { data: unknown }).data
      if (typeof data === 'string' && data.startsWith('0x') && data.length >= 10) return data as Hex
    }
    current =
      typeof current === 'object' && 'cause' in current ? (current as { cause: unknown }).cause : undefined
  }
  return undefined
}
