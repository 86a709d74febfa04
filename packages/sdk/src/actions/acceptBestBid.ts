import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { positive } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
} from '../types.ts'
import type { AcceptBidReturnType } from './acceptBid.ts'

export type AcceptBestBidParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & { orderId: bigint }

export type AcceptBestBidReturnType = AcceptBidReturnType

export type AcceptBestBidErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Accepts the lowest bid of an auto-reopen order once its bid window has closed. Anyone may call it:
 * this is how a reopened order gets a new provider while its tenant is offline.
 */
export async function acceptBestBid(
  client: StoaActionClient,
  parameters: AcceptBestBidParameters,
): Promise<AcceptBestBidReturnType> {
  const account = resolveAccount(client, parameters.account, 'acceptBestBid')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'acceptBestBid',
    args: [positive(parameters.orderId, 'orderId')],
    account,
    onProgress: parameters.onProgress,
  })
  const created = eventArgs(result.receipt, marketAbi, market, 'LeaseCreated')
  return {
    ...result,
    leaseId: created.leaseId,
    provider: created.provider,
    pricePerSecond: created.pricePerSecond,
  }
}
