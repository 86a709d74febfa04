import { creditsAbi, type StoaContractErrorType } from '@stoa/protocol'
import type { Address } from 'viem'
import { readStoaContract, subjectAddress } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetCreditBalanceParameters = {
  /** Whose balance; defaults to the client's account. */
  account?: Address | undefined
  blockNumber?: bigint | undefined
}

export type GetCreditBalanceReturnType = {
  /** All credits held (6 decimals). */
  balance: bigint
  /** The part earned as a provider, which `redeemCredits` turns into STOA (≤ balance). */
  redeemable: bigint
}

export type GetCreditBalanceErrorType = StoaContractErrorType

/** Reads an account's credit balance and its redeemable part. */
export async function getCreditBalance(
  client: StoaActionClient,
  parameters: GetCreditBalanceParameters = {},
): Promise<GetCreditBalanceReturnType> {
  const owner = subjectAddress(client, parameters.account)
  const address = client.deployment.contracts.credits
  const { blockNumber } = parameters
  const [balance, redeemable] = await Promise.all([
    readStoaContract(client, {
      address,
      abi: creditsAbi,
      functionName: 'balanceOf',
      args: [owner],
      blockNumber,
    }),
    readStoaContract(client, {
      address,
      abi: creditsAbi,
      functionName: 'redeemableOf',
      args: [owner],
      blockNumber,
    }),
  ])
  return { balance, redeemable }
}
