import { creditsAbi, formatOraclePrice, priceOracleAbi, type StoaContractErrorType } from '@stoa/protocol'
import { getBlock } from 'viem/actions'
import { readStoaContract } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetOraclePriceParameters = {
  blockNumber?: bigint | undefined
}

export type GetOraclePriceReturnType = {
  roundId: bigint
  /** STOA/USD with 8 decimals. */
  answer: bigint
  /** The same as a decimal string of USD per STOA. */
  usdPerStoa: string
  /** Block time of the update (seconds). */
  updatedAt: bigint
  /** Seconds since the update, at the block read. */
  age: bigint
  /** The oldest price `Credits` accepts for buy and redeem (seconds). */
  maxPriceAge: bigint
  /** Whether `buyCredits` and `redeemCredits` would accept the price now. */
  usable: boolean
}

export type GetOraclePriceErrorType = StoaContractErrorType

/** Reads the STOA/USD price and whether it is fresh enough for Credits to use. */
export async function getOraclePrice(
  client: StoaActionClient,
  parameters: GetOraclePriceParameters = {},
): Promise<GetOraclePriceReturnType> {
  const { blockNumber } = parameters
  const { priceOracle, credits } = client.deployment.contracts
  const [round, maxPriceAge, block] = await Promise.all([
    readStoaContract(client, {
      address: priceOracle,
      abi: priceOracleAbi,
      functionName: 'latestRoundData',
      args: [],
      blockNumber,
    }),
    readStoaContract(client, {
      address: credits,
      abi: creditsAbi,
      functionName: 'maxPriceAge',
      args: [],
      blockNumber,
    }),
    blockNumber === undefined ? getBlock(client, { blockTag: 'latest' }) : getBlock(client, { blockNumber }),
  ])
  const [roundId, answer, , updatedAt] = round
  const age = block.timestamp > updatedAt ? block.timestamp - updatedAt : 0n
  return {
    roundId,
    answer,
    usdPerStoa: formatOraclePrice(answer),
    updatedAt,
    age,
    maxPriceAge: BigInt(maxPriceAge),
    usable: answer > 0n && age <= BigInt(maxPriceAge),
  }
}
