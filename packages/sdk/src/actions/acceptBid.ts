import { type InvalidParameterErrorType, marketAbi, type StoaContractErrorType } from '@stoa/protocol'
import type { Address } from 'viem'
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

export type AcceptBidParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    orderId: bigint
    /** The provider whose bid (in the current round) to accept. */
    provider: Address
  }

export type AcceptBidReturnType = WriteReturnType & {
  leaseId: bigint
  provider: Address
  pricePerSecond: bigint
}

export type AcceptBidErrorType = StoaContractErrorType | InvalidParameterErrorType

/** Accepts a provider's bid as the order's tenant: the lease starts now and escrow streams per second. */
export async function acceptBid(
  client: StoaActionClient,
  parameters: AcceptBidParameters,
): Promise<AcceptBidReturnType> {
  const account = resolveAccount(client, parameters.account, 'acceptBid')
  const market = client.deployment.contracts.market
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'acceptBid',
    args: [positive(parameters.orderId, 'orderId'), parameters.provider],
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
