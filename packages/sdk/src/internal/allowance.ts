import { stoaTokenAbi } from '@stoa/protocol'
import type { Account, Address } from 'viem'
import type { ApproveProgressEvent, StoaActionClient } from '../types.ts'
import { accountAddress, readStoaContract, writeStoaContract } from './write.ts'

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
  const allowance = await readStoaContract(client, {
    address: token,
    abi: stoaTokenAbi,
    functionName: 'allowance',
    args: [accountAddress(account), spender],
  })
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
