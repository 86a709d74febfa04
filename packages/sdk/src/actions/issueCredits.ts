import { creditsAbi, type InvalidParameterErrorType, type StoaContractErrorType } from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { eventArgs } from '../internal/logs.ts'
import { bytes32, positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type IssueCreditsParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    /** Who receives the credits. */
    to: Address
    /** Credits (6 decimals), > 0. */
    amount: bigint
    /** The off-chain payment this issue answers: 32 bytes of hex, or a text of at most 32 bytes. */
    paymentRef: string
  }

export type IssueCreditsReturnType = WriteReturnType & { to: Address; amount: bigint; paymentRef: Hex }

export type IssueCreditsErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Issues credits against a fiat payment. Only an issuer (a fiat on-ramp the owner named) may;
 * anyone else gets `CreditsUnauthorizedIssuer`. Issued credits pay for work but are not redeemable.
 */
export async function issueCredits(
  client: StoaActionClient,
  parameters: IssueCreditsParameters,
): Promise<IssueCreditsReturnType> {
  const account = resolveAccount(client, parameters.account, 'issueCredits')
  const address = client.deployment.contracts.credits
  const amount = positive(parameters.amount, 'amount')
  const paymentRef = bytes32(parameters.paymentRef, 'paymentRef')
  const result = await writeStoaContract(client, {
    address,
    abi: creditsAbi,
    functionName: 'issue',
    args: [parameters.to, amount, paymentRef],
    account,
    onProgress: parameters.onProgress,
  })
  const issued = eventArgs(result.receipt, creditsAbi, address, 'CreditsIssued')
  return { ...result, to: issued.to, amount: issued.amount, paymentRef: issued.paymentRef }
}
