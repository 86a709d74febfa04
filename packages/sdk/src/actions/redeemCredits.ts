import { creditsAbi, type InvalidParameterErrorType, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { positive, uint } from '../internal/values.ts'
import { readStoaContract, resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type RedeemCreditsParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    /** Redeemable credits to spend (6 decimals), > 0. */
    amount: bigint
    /**
     * Least STOA to accept (reverts `CreditsSlippage` below). Default: the quote at the current
     * price, so a price rise between quote and transaction reverts instead of paying less STOA.
     */
    minStoa?: bigint | undefined
  }

export type RedeemCreditsReturnType = WriteReturnType & {
  /** Credits spent, fee included. */
  amount: bigint
  /** Credits burned as the protocol fee. */
  fee: bigint
  /** STOA minted to the caller (18 decimals). */
  stoa: bigint
}

export type RedeemCreditsErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Turns earned credits into newly minted STOA at the oracle price, less the protocol fee (burned).
 * Only credits received as earnings are redeemable (`CreditsInsufficientRedeemable` otherwise).
 */
export async function redeemCredits(
  client: StoaActionClient,
  parameters: RedeemCreditsParameters,
): Promise<RedeemCreditsReturnType> {
  const account = resolveAccount(client, parameters.account, 'redeemCredits')
  const address = client.deployment.contracts.credits
  const amount = positive(parameters.amount, 'amount')
  const minStoa =
    parameters.minStoa === undefined
      ? (
          await readStoaContract(client, {
            address,
            abi: creditsAbi,
            functionName: 'quoteRedeem',
            args: [amount],
          })
        )[1]
      : uint(parameters.minStoa, 256, 'minStoa')
  const result = await writeStoaContract(client, {
    address,
    abi: creditsAbi,
    functionName: 'redeem',
    args: [amount, minStoa],
    account,
    onProgress: parameters.onProgress,
  })
  const redeemed = eventArgs(result.receipt, creditsAbi, address, 'CreditsRedeemed')
  return { ...result, amount: redeemed.amount, fee: redeemed.fee, stoa: redeemed.stoa }
}
