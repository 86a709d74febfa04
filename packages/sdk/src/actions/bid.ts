import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { positive, priceAmount } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type BidParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { orderId: bigint } & (
    | {
        /** Price in 1e-12 USD per second. */
        pricePerSecond: bigint
        usdPerHour?: undefined
      }
    | {
        /** Price per hour, decimal USD; rounded to the nearest 1e-12 USD/s. */
        usdPerHour: string
        pricePerSecond?: undefined
      }
  )

export type BidReturnType = WriteReturnType & { orderId: bigint; round: number; pricePerSecond: bigint }

export type BidErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Bids on an open order as the account's provider (registered, staked, in an allowed region), at
 * most once per round and at most the order's maximum price.
 */
export async function bid(client: StoaActionClient, parameters: BidParameters): Promise<BidReturnType> {
  const account = resolveAccount(client, parameters.account, 'bid')
  const market = client.deployment.contracts.market
  const orderId = positive(parameters.orderId, 'orderId')
  const price = priceAmount(
    parameters.pricePerSecond,
    parameters.usdPerHour,
    { units: 'pricePerSecond', usd: 'usdPerHour' },
    'nearest',
  )
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'bid',
    args: [orderId, price],
    account,
    onProgress: parameters.onProgress,
  })
  const placed = eventArgs(result.receipt, marketAbi, market, 'BidPlaced')
  return { ...result, orderId: placed.orderId, round: placed.round, pricePerSecond: placed.price }
}
