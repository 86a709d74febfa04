import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { creditAmount, positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type TopUpParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { orderId: bigint } & (
    | {
        /** Credits to add (6 decimals). */
        amount: bigint
        amountUsd?: undefined
      }
    | {
        /** Credits to add, decimal USD (`'5'`). */
        amountUsd: string
        amount?: undefined
      }
  )

export type TopUpReturnType = WriteReturnType & {
  amount: bigint
  /** The order's escrow afterwards. */
  escrow: bigint
}

export type TopUpErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Adds credits to an open or leased order's escrow (settling its lease first). Anyone may top up. */
export async function topUp(client: StoaActionClient, parameters: TopUpParameters): Promise<TopUpReturnType> {
  const account = resolveAccount(client, parameters.account, 'topUp')
  const market = client.deployment.contracts.market
  const amount = creditAmount(parameters.amount, parameters.amountUsd, { units: 'amount', usd: 'amountUsd' })
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'topUp',
    args: [positive(parameters.orderId, 'orderId'), amount],
    account,
    onProgress: parameters.onProgress,
  })
  const toppedUp = eventArgs(result.receipt, marketAbi, market, 'OrderToppedUp')
  return { ...result, amount: toppedUp.amount, escrow: toppedUp.escrow }
}
