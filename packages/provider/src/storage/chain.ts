import { StoaContractError, storageDealsAbi } from '@stoa/protocol'
import { withGasHeadroom } from '@stoa/sdk'
import type { Address, Hex, TransactionReceipt } from 'viem'
import {
  estimateContractGas,
  getContractEvents,
  readContract,
  simulateContract,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions'
import type { ProviderChain } from '../chain/client.ts'

const shardStates = ['None', 'Active', 'Lost', 'Ended'] as const
const dealStates = ['None', 'Active', 'Ended'] as const

export type OnchainDeal = {
  owner: Address
  state: (typeof dealStates)[number]
  startBlock: bigint
  periodBlocks: number
  windowBlocks: number
  periods: number
  shardCount: number
}

export type OnchainShard = {
  provider: Address
  state: (typeof shardStates)[number]
  root: Hex
  size: bigint
  erasureIndex: number
  /** The only period the shard can prove next. */
  nextPeriod: number
}

export type StorageDealsEvent =
  | { kind: 'assigned'; dealId: bigint; shardIndex: number; provider: Address }
  | { kind: 'proven'; dealId: bigint; shardIndex: number; period: number }
  | { kind: 'lost'; dealId: bigint; shardIndex: number; provider: Address }
  | { kind: 'replaced'; dealId: bigint; shardIndex: number; provider: Address; previousProvider: Address }
  | { kind: 'ended'; dealId: bigint }

export type ProofInput = { dealId: bigint; shardIndex: number; period: number; leaf: Hex; siblings: Hex[] }

export type StorageDealsChain = {
  address: Address
  getDeal(dealId: bigint): Promise<OnchainDeal>
  getShard(dealId: bigint, shardIndex: number): Promise<OnchainShard>
  /**
   * The challenge of period `period`. `pending`: read in the context of the next block (the one a
   * transaction sent now lands in), so it is readable from the last block before the window on.
   */
  challengeOf(
    dealId: bigint,
    shardIndex: number,
    period: number,
    options?: { pending?: boolean },
  ): Promise<bigint>
  /**
   * Simulates `submitProofs(proofs)` in the context of the next block (the one a transaction sent
   * now lands in); throws the contract's error when it would revert.
   */
  simulateProofs(proofs: readonly ProofInput[]): Promise<void>
  /** Sends one `submitProofs` (gas estimated first, so an invalid batch throws before it is sent). Use inside `chain.write`. */
  submitProofs(proofs: readonly ProofInput[]): Promise<{ hash: Hex; receipt: TransactionReceipt }>
  /** The events of blocks `[fromBlock, toBlock]`, in order. */
  events(fromBlock: bigint, toBlock: bigint): Promise<StorageDealsEvent[]>
}

/**
 * The part of `StorageDeals` (contracts/src/interfaces/IStorageDeals.sol) the provider uses: the
 * views a prover needs, `submitProofs`, and the events that tell it which slots it fills.
 */
export function storageDealsChain(chain: ProviderChain, address: Address): StorageDealsChain {
  const { client } = chain
  const abi = storageDealsAbi
  return {
    address,
    async getDeal(dealId) {
      const deal = await readContract(client, { address, abi, functionName: 'getDeal', args: [dealId] })
      return {
        owner: deal.owner,
        state: dealStates[deal.state] ?? 'None',
        startBlock: deal.startBlock,
        periodBlocks: deal.periodBlocks,
        windowBlocks: deal.windowBlocks,
        periods: deal.periods,
        shardCount: deal.shardCount,
      }
    },
    async getShard(dealId, shardIndex) {
      const shard = await readContract(client, {
        address,
        abi,
        functionName: 'getShard',
        args: [dealId, shardIndex],
      })
      return {
        provider: shard.provider,
        state: shardStates[shard.state] ?? 'None',
        root: shard.root,
        size: BigInt(shard.size),
        erasureIndex: shard.erasureIndex,
        nextPeriod: shard.nextPeriod,
      }
    },
    async challengeOf(dealId, shardIndex, period, options) {
      return await readContract(client, {
        address,
        abi,
        functionName: 'challengeOf',
        args: [dealId, shardIndex, period],
        ...(options?.pending ? { blockTag: 'pending' as const } : {}),
      })
    },
    async simulateProofs(proofs) {
      await simulateContract(client, {
        address,
        abi,
        functionName: 'submitProofs',
        args: [proofs.map((proof) => ({ ...proof }))],
        account: client.account,
        chain: client.chain,
        blockTag: 'pending',
      })
    },
    async submitProofs(proofs) {
      const call = {
        address,
        abi,
        functionName: 'submitProofs',
        args: [proofs.map((proof) => ({ ...proof }))],
        account: client.account,
        chain: client.chain,
      } as const
      const gas = withGasHeadroom(await estimateContractGas(client, call))
      const hash = await writeContract(client, { ...call, gas })
      const receipt = await waitForTransactionReceipt(client, { hash })
      if (receipt.status === 'reverted') {
        throw new StoaContractError({
          contractAddress: address,
          functionName: 'submitProofs',
          transactionHash: hash,
          shortMessage: `The submitProofs transaction with ${proofs.length} proofs reverted on chain.`,
        })
      }
      return { hash, receipt }
    },
    async events(fromBlock, toBlock) {
      const logs = await getContractEvents(client, { address, abi, fromBlock, toBlock, strict: true })
      const events: StorageDealsEvent[] = []
      for (const log of logs) {
        switch (log.eventName) {
          case 'ShardAssigned':
            events.push({
              kind: 'assigned',
              dealId: log.args.dealId,
              shardIndex: log.args.shardIndex,
              provider: log.args.provider,
            })
            break
          case 'ShardProven':
            events.push({
              kind: 'proven',
              dealId: log.args.dealId,
              shardIndex: log.args.shardIndex,
              period: log.args.period,
            })
            break
          case 'ShardLost':
            events.push({
              kind: 'lost',
              dealId: log.args.dealId,
              shardIndex: log.args.shardIndex,
              provider: log.args.provider,
            })
            break
          case 'ShardReplaced':
            events.push({
              kind: 'replaced',
              dealId: log.args.dealId,
              shardIndex: log.args.shardIndex,
              provider: log.args.provider,
              previousProvider: log.args.previousProvider,
            })
            break
          case 'DealEnded':
            events.push({ kind: 'ended', dealId: log.args.dealId })
            break
          default:
            break
        }
      }
      return events
    },
  }
}
