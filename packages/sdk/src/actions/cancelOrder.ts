import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

export type CancelOrderParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { orderId: bigint }

export type CancelOrderReturnType = WriteReturnType & {
  /** Credits returned to the tenant. */
  refund: bigint
}

export type CancelOrderErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Cancels an open (not leased) order as its tenant and refunds the whole escrow. */
export async function cancelOrder(
  client: StoaActionClient,
  parameters: CancelOrderParameters,
): Promise<CancelOrderReturnType> {
  const account = resolveAccount(client, parameters.account, 'cancelOrder')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'cancelOrder',
    args: [positive(parameters.orderId, 'orderId')],
    account,
    onProgress: parameters.onProgress,
  })
  const closed = eventArgs(result.receipt, marketAbi, market, 'OrderClosed')
  return { ...result, refund: closed.refund }
}
