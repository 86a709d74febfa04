import {
  type CloseReason,
  closeReasonName,
  creditsAbi,
  type InvalidParameterErrorType,
  type LeaseState,
  leaseStateName,
  marketAbi,
  type OrderState,
  parseLeaseId,
  type RegionName,
  regionsFromMask,
  type StoaContractErrorType,
} from '@stoa/protocol'
import { type Address, type Hash, type Hex, isAddressEqual } from 'viem'
import { getContractEvents } from 'viem/actions'
import { formatLeaseId } from '../gateway/resolve.ts'
import { readStoaContract, subjectAddress } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'
import { getOrder } from './getOrder.ts'

export type ListLeasesParameters = {
  /** Whose orders; default the client's account. */
  tenant?: Address | undefined
  /** Where the log search starts (default: the first block; a public chain may need a later one). */
  fromBlock?: bigint | undefined
}

export type LeaseSummary = {
  leaseId: bigint
  /** `orderId/round`. */
  label: string
  round: number
  provider: Address
  pricePerSecond: bigint
  state: LeaseState
  /** `None` while active. */
  closeReason: CloseReason
  startedAt: number
  /** Settled credits the provider has not withdrawn yet. */
  earned: bigint
}

export type OrderSummary = {
  orderId: bigint
  state: OrderState
  /** The current round (+1 at every reopen or restart). */
  round: number
  /** Credits still held for the order. */
  escrow: bigint
  deposit: bigint
  maxPricePerSecond: bigint
  /** Allowed regions; empty: any. */
  regions: RegionName[]
  resources: { cpuMillis: number; memoryMiB: number; storageMiB: number; gpus: number }
  manifestHash: Hex
  manifestUri: string
  autoReopen: boolean
  createdAtBlock: bigint
  transactionHash: Hash
  /** The active lease, if any. */
  leaseId: bigint | undefined
  /** Every lease the order had, oldest first. */
  leases: LeaseSummary[]
}

/** Newest order first. */
export type ListLeasesReturnType = OrderSummary[]

export type ListLeasesErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * A tenant's orders and their leases, from the chain's logs: the credits `Transfer`s from the
 * tenant to the Market (one per deposit, indexed) narrow the blocks to search for `OrderCreated`
 * (whose tenant is not indexed), then each order's state and `LeaseCreated` history are read.
 */
export async function listLeases(
  client: StoaActionClient,
  parameters: ListLeasesParameters = {},
): Promise<ListLeasesReturnType> {
  const tenant = subjectAddress(client, parameters.tenant, 'tenant')
  const { market, credits } = client.deployment.contracts
  const fromBlock = parameters.fromBlock ?? 0n
  const deposits = await getContractEvents(client, {
    address: credits,
    abi: creditsAbi,
    eventName: 'Transfer',
    args: { from: tenant, to: market },
    fromBlock,
    toBlock: 'latest',
    strict: true,
  })
  if (deposits.length === 0) return []
  const blocks = deposits.map((log) => log.blockNumber).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const transactions = new Set(deposits.map((log) => log.transactionHash))
  const created = (
    await getContractEvents(client, {
      address: market,
      abi: marketAbi,
      eventName: 'OrderCreated',
      fromBlock: blocks[0],
      toBlock: blocks.at(-1),
      strict: true,
    })
  ).filter((log) => transactions.has(log.transactionHash) && isAddressEqual(log.args.tenant, tenant))
  if (created.length === 0) return []

  const orderIds = created.map((log) => log.args.orderId)
  const [orders, leaseLogs] = await Promise.all([
    Promise.all(orderIds.map((orderId) => getOrder(client, { orderId }))),
    getContractEvents(client, {
      address: market,
      abi: marketAbi,
      eventName: 'LeaseCreated',
      args: { orderId: orderIds },
      fromBlock: created[0]?.blockNumber ?? fromBlock,
      toBlock: 'latest',
      strict: true,
    }),
  ])
  const leases = await Promise.all(
    leaseLogs.map((log) =>
      readStoaContract(client, {
        address: market,
        abi: marketAbi,
        functionName: 'getLease',
        args: [log.args.leaseId],
      }),
    ),
  )
  const leasesByOrder = new Map<bigint, LeaseSummary[]>()
  leaseLogs.forEach((log, index) => {
    const lease = leases[index]
    if (!lease) return
    const { orderId, round } = parseLeaseId(log.args.leaseId)
    const list = leasesByOrder.get(orderId) ?? []
    list.push({
      leaseId: log.args.leaseId,
      label: formatLeaseId(log.args.leaseId),
      round,
      provider: log.args.provider,
      pricePerSecond: log.args.pricePerSecond,
      state: leaseStateName(lease.state),
      closeReason: closeReasonName(lease.reason),
      startedAt: lease.startedAt,
      earned: lease.earned,
    })
    leasesByOrder.set(orderId, list)
  })

  const summaries: OrderSummary[] = []
  created.forEach((log, index) => {
    const order = orders[index]
    if (!order) return
    const { resources } = log.args
    summaries.push({
      orderId: order.orderId,
      state: order.state,
      round: order.round,
      escrow: order.escrow,
      deposit: log.args.deposit,
      maxPricePerSecond: order.maxPricePerSecond,
      regions: order.regionMask === 0 ? [] : regionsFromMask(order.regionMask),
      resources: {
        cpuMillis: resources.cpuMillis,
        memoryMiB: resources.memoryMiB,
        storageMiB: resources.storageMiB,
        gpus: resources.gpus,
      },
      manifestHash: order.manifestHash,
      manifestUri: log.args.manifestUri,
      autoReopen: order.autoReopen,
      createdAtBlock: log.blockNumber,
      transactionHash: log.transactionHash,
      leaseId: order.leaseId,
      leases: (leasesByOrder.get(order.orderId) ?? []).sort((a, b) => a.round - b.round),
    })
  })
  return summaries.sort((a, b) => (a.orderId > b.orderId ? -1 : 1))
}
