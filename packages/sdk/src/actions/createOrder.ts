import {
  InvalidParameterError,
  type InvalidParameterErrorType,
  marketAbi,
  type RegionName,
  regionMask,
  type StoaContractErrorType,
  UnknownRegionError,
} from '@stoa/protocol'
import { eventArgs } from '../internal/logs.ts'
import { bytes32, creditAmount, hash32, priceAmount, smallUint } from '../internal/values.ts'
import { resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

/** What a workload needs from one provider. */
export type OrderResources = {
  /** CPU in thousandths of a core (1000 = one core). */
  cpuMillis: number
  memoryMiB: number
  /** Ephemeral disk; default 0. */
  storageMiB?: number | undefined
  /** Default 0. */
  gpus?: number | undefined
  /** A GPU model name of at most 32 bytes (`'A100'`), or 32-byte hex; default none. */
  gpuModel?: string | undefined
}

export type CreateOrderParameters = WriteParameters &
  ProgressOptions<TransactionProgressEvent> & {
    resources: OrderResources
    /** Regions the workload may run in, by name (`'eu-west'`) or code; empty or left out: anywhere. */
    regions?: readonly (RegionName | (string & {}) | number)[] | undefined
    /** Seconds providers have to bid (also the bid window of every reopen). */
    bidWindowSeconds: number
    /** sha256 of the canonical manifest (32 bytes of hex). */
    manifestHash: `0x${string}`
    /** Where providers may fetch the manifest; default empty (the tenant sends it). */
    manifestUri?: string | undefined
    /** After a provider close or a fault, go back to bidding and let anyone accept the best bid. Default false. */
    autoReopen?: boolean | undefined
  } & (
    | {
        /** Highest price per hour to pay, decimal USD (`'0.25'`); rounded down to the 1e-12 USD/s grid. */
        maxUsdPerHour: string
        maxPricePerSecond?: undefined
      }
    | {
        /** Highest price in 1e-12 USD per second. */
        maxPricePerSecond: bigint
        maxUsdPerHour?: undefined
      }
  ) &
  (
    | {
        /** Credits to escrow, decimal USD (`'10'`). */
        depositUsd: string
        deposit?: undefined
      }
    | {
        /** Credits to escrow (6 decimals). */
        deposit: bigint
        depositUsd?: undefined
      }
  )

export type CreateOrderReturnType = WriteReturnType & {
  orderId: bigint
  /** Block time (seconds) until which bids are accepted. */
  bidDeadline: number
  maxPricePerSecond: bigint
  deposit: bigint
  regionMask: number
}

export type CreateOrderErrorType = StoaContractErrorType | InvalidParameterErrorType

/**
 * Opens an order for compute: escrows the deposit from the account's credits and starts the bid
 * window. The order id comes from the `OrderCreated` log.
 *
 * @example
 * const { orderId } = await createOrder(client, {
 *   resources: { cpuMillis: 500, memoryMiB: 512 },
 *   regions: ['eu-west'],
 *   maxUsdPerHour: '0.10',
 *   depositUsd: '5',
 *   bidWindowSeconds: 30,
 *   manifestHash,
 * })
 */
export async function createOrder(
  client: StoaActionClient,
  parameters: CreateOrderParameters,
): Promise<CreateOrderReturnType> {
  const account = resolveAccount(client, parameters.account, 'createOrder')
  const market = client.deployment.contracts.market
  const { resources } = parameters
  if (typeof resources !== 'object' || resources === null) {
    throw new InvalidParameterError('resources', 'an object with cpuMillis and memoryMiB', resources)
  }
  let mask: number
  try {
    mask = regionMask(parameters.regions ?? [])
  } catch (error) {
    if (!(error instanceof UnknownRegionError)) throw error
    throw new InvalidParameterError(
      'regions',
      `region names or codes 0..31 (${error.shortMessage})`,
      parameters.regions,
      {
        cause: error,
      },
    )
  }
  const maxPricePerSecond = priceAmount(
    parameters.maxPricePerSecond,
    parameters.maxUsdPerHour,
    { units: 'maxPricePerSecond', usd: 'maxUsdPerHour' },
    // Rounding down: the tenant never pays more per hour than the figure given.
    'down',
  )
  const deposit = creditAmount(parameters.deposit, parameters.depositUsd, {
    units: 'deposit',
    usd: 'depositUsd',
  })
  const orderParams = {
    resources: {
      cpuMillis: smallUint(resources.cpuMillis, 32, 'resources.cpuMillis'),
      memoryMiB: smallUint(resources.memoryMiB, 32, 'resources.memoryMiB'),
      storageMiB: smallUint(resources.storageMiB ?? 0, 32, 'resources.storageMiB'),
      gpus: smallUint(resources.gpus ?? 0, 16, 'resources.gpus'),
      gpuModel: bytes32(resources.gpuModel ?? '', 'resources.gpuModel'),
    },
    regionMask: mask,
    maxPricePerSecond,
    deposit,
    bidWindow: smallUint(parameters.bidWindowSeconds, 32, 'bidWindowSeconds'),
    manifestHash: hash32(parameters.manifestHash, 'manifestHash'),
    manifestUri: parameters.manifestUri ?? '',
    autoReopen: parameters.autoReopen ?? false,
  }
  if (typeof orderParams.manifestUri !== 'string') {
    throw new InvalidParameterError('manifestUri', 'a string', parameters.manifestUri)
  }
  const result = await writeStoaContract(client, {
    address: market,
    abi: marketAbi,
    functionName: 'createOrder',
    args: [orderParams],
    account,
    onProgress: parameters.onProgress,
  })
  const created = eventArgs(result.receipt, marketAbi, market, 'OrderCreated')
  return {
    ...result,
    orderId: created.orderId,
    bidDeadline: created.bidDeadline,
    maxPricePerSecond: created.maxPricePerSecond,
    deposit: created.deposit,
    regionMask: created.regionMask,
  }
}
