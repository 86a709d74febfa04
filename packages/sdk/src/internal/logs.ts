import { BaseError } from '@stoa/protocol'
import {
  type Abi,
  type Address,
  type ContractEventName,
  type Hash,
  isAddressEqual,
  type ParseEventLogsReturnType,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem'

export type EventNotFoundErrorType = EventNotFoundError & { name: 'EventNotFoundError' }
export class EventNotFoundError extends BaseError {
  constructor(eventName: string, hash: Hash) {
    super(`Transaction ${hash} succeeded but emitted no ${eventName} event.`, {
      name: 'EventNotFoundError',
      metaMessages: ['The deployment addresses may point at other contracts than the SDK expects.'],
    })
  }
}

/** The logs of `eventName` that `address` emitted in a receipt, decoded. */
export function eventLogs<const abi extends Abi, eventName extends ContractEventName<abi>>(
  receipt: TransactionReceipt,
  abi: abi,
  address: Address,
  eventName: eventName,
): ParseEventLogsReturnType<abi, eventName, true> {
  const logs = parseEventLogs({ abi, logs: receipt.logs, eventName: eventName as never, strict: true })
  return logs.filter((log) => isAddressEqual(log.address, address)) as never
}

/** The arguments of the first `eventName` log `address` emitted; throws `EventNotFoundError` if none. */
export function eventArgs<const abi extends Abi, eventName extends ContractEventName<abi>>(
  receipt: TransactionReceipt,
  abi: abi,
  address: Address,
  eventName: eventName,
): ParseEventLogsReturnType<abi, eventName, true>[number]['args'] {
  const [first] = eventLogs(receipt, abi, address, eventName)
  if (!first) throw new EventNotFoundError(String(eventName), receipt.transactionHash)
  return first.args
}
