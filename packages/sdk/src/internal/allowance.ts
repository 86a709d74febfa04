import { BaseError, formatStoa, stoaTokenAbi } from '@stoa/protocol'
import type { Account, Address } from 'viem'
import type { ApproveProgressEvent, StoaActionClient } from '../types.ts'
import { accountAddress, readStoaContract, writeStoaContract } from './write.ts'

/** The account holds less STOA than the operation needs; nothing was sent. */
export class InsufficientStoaError extends BaseError {
  readonly balance: bigint
  readonly needed: bigint
  constructor({ account, balance, needed }: { account: Address; balance: bigint; needed: bigint }) {
    super(`${account} holds ${formatStoa(balance)} STOA but ${formatStoa(needed)} STOA is needed.`, {
      name: 'InsufficientStoaError',
      metaMessages: ['Nothing was sent: no approval and no purchase.'],
    })
    this.balance = balance
    this.needed = needed
  }
}

/**
 * Makes sure `spender` may pull `amount` STOA from the account: approves exactly `amount` when the
 * allowance is short (never an unlimited approval), otherwise does nothing.
 */
export async function ensureStoaAllowance(
  client: StoaActionClient,
  parameters: {
    account: Account | Address
    spender: Address
    amount: bigint
    onProgress?: ((event: ApproveProgressEvent) => void) | undefined
  },
): Promise<void> {
  const { account, spender, amount, onProgress } = parameters
  const token = client.deployment.contracts.stoaToken
  const owner = accountAddress(account)
  const [balance, allowance] = await Promise.all([
    readStoaContract(client, { address: token, abi: stoaTokenAbi, functionName: 'balanceOf', args: [owner] }),
    readStoaContract(client, {
      address: token,
      abi: stoaTokenAbi,
      functionName: 'allowance',
      args: [owner, spender],
    }),
  ])
  // Checked before approving, so a purchase that cannot succeed leaves no approval behind.
  if (balance < amount) throw new InsufficientStoaError({ account: owner, balance, needed: amount })
  if (allowance >= amount) {
    onProgress?.({ type: 'approve:skipped', detail: { spender, allowance, amount } })
    return
  }
  const { hash } = await writeStoaContract(client, {
    address: token,
    abi: stoaTokenAbi,
    functionName: 'approve',
    args: [spender, amount],
    account,
    onSent: (sent) => onProgress?.({ type: 'approve:sent', detail: { spender, amount, hash: sent } }),
  })
  onProgress?.({ type: 'approve:confirmed', detail: { spender, amount, hash } })
}
