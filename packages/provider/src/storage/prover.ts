import { bytesToHex, type Hex } from 'viem'
import type { ProviderChain } from '../chain/client.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { StorageDealsChain } from './chain.ts'
import { buildShardProof } from './proof.ts'
import type { DealShardRow, ShardStore } from './shard-store.ts'

export type ProverComponents = {
  chain: Pick<ProviderChain, 'write'>
  deals: Pick<StorageDealsChain, 'challengeOf' | 'submitProofs'>
  shards: ShardStore
  logger?: Logger
  metrics?: ProviderMetrics
}

export type DueProof = {
  dealId: bigint
  shardIndex: number
  period: number
  leafIndex: number
  leaf: Hex
  siblings: Hex[]
}

export type ProverReport = {
  /** Proofs accepted on chain in this pass. */
  sent: DueProof[]
  /** Slots due whose proof could not be built (file missing or corrupted) or whose transaction failed. */
  failed: { dealId: bigint; shardIndex: number; period: number; reason: string }[]
}

export type Prover = {
  /** One pass at head `block`; concurrent calls share the pass in progress. */
  run(block: bigint): Promise<ProverReport>
}

/**
 * The period whose proving window is open at `block` and still open one block later (the block a
 * transaction sent now lands in), or undefined. Period `p` has its window at
 * `[w_p, w_p + windowBlocks)`, `w_p = startBlock + (p + 1) * periodBlocks - windowBlocks`.
 */
export function duePeriod(
  slot: Pick<DealShardRow, 'startBlock' | 'periodBlocks' | 'windowBlocks' | 'periods'>,
  block: bigint,
): number | undefined {
  const periodBlocks = BigInt(slot.periodBlocks)
  const windowBlocks = BigInt(slot.windowBlocks)
  if (periodBlocks === 0n || block < slot.startBlock) return undefined
  const p = (block - slot.startBlock + windowBlocks) / periodBlocks - 1n
  if (p < 0n || p >= BigInt(slot.periods)) return undefined
  const windowStart = slot.startBlock + (p + 1n) * periodBlocks - windowBlocks
  if (block < windowStart || block + 1n >= windowStart + windowBlocks) return undefined
  return Number(p)
}

/**
 * The prover: at each new head, for every Active deal slot this provider fills whose window for the
 * current period is open and that has no proof for it yet, reads the challenge (`challengeOf`),
 * builds the proof from the shard's files, and sends every due proof in ONE `submitProofs` through
 * the chain write queue. If the batch fails, each proof is tried on its own, so one bad slot does
 * not cost the others their period.
 */
export function prover(components: ProverComponents): Prover {
  const { shards, deals, chain } = components
  const logger = components.logger ?? silentLogger
  let running: Promise<ProverReport> | undefined
  /** Slot-periods already reported as unprovable (logged once each). */
  const reported = new Set<string>()

  async function pass(block: bigint): Promise<ProverReport> {
    const report: ProverReport = { sent: [], failed: [] }
    const due: DueProof[] = []
    for (const slot of shards.dealShardsInState('active')) {
      const period = duePeriod(slot, block)
      if (period === undefined || slot.lastProofPeriod >= period) continue
      const key = `${slot.dealId}:${slot.shardIndex}:${period}`
      const fail = (reason: string, error?: unknown) => {
        report.failed.push({ dealId: slot.dealId, shardIndex: slot.shardIndex, period, reason })
        if (reported.has(key)) return
        reported.add(key)
        components.metrics?.storageProofs.inc({ result: 'failed' })
        logger.error(
          { err: error, dealId: slot.dealId, shardIndex: slot.shardIndex, period, root: slot.root },
          `cannot prove a shard: ${reason}`,
        )
      }
      const shard = shards.getShard(slot.root)
      if (!shard || !(await shards.hasData(slot.root))) {
        fail('the shard file is missing')
        continue
      }
      try {
        const leafIndex = Number(await deals.challengeOf(slot.dealId, slot.shardIndex, period))
        const proof = await buildShardProof(shards, shard, leafIndex)
        due.push({
          dealId: slot.dealId,
          shardIndex: slot.shardIndex,
          period,
          leafIndex,
          leaf: bytesToHex(proof.leaf),
          siblings: proof.siblings.map((sibling) => bytesToHex(sibling)),
        })
      } catch (error) {
        fail('the proof could not be built', error)
      }
    }
    if (due.length === 0) return report

    const send = async (batch: DueProof[]) => {
      const { hash } = await chain.write('submitProofs', () => deals.submitProofs(batch))
      for (const proof of batch) shards.setLastProof(proof.dealId, proof.shardIndex, proof.period)
      components.metrics?.storageProofs.inc({ result: 'sent' }, batch.length)
      report.sent.push(...batch)
      logger.info(
        { hash, proofs: batch.map((p) => `${p.dealId}/${p.shardIndex}@${p.period}`) },
        'storage proofs submitted',
      )
    }
    try {
      await send(due)
    } catch (error) {
      logger.warn({ err: error, proofs: due.length }, 'submitProofs failed')
      if (due.length === 1) {
        const [proof] = due as [DueProof]
        components.metrics?.storageProofs.inc({ result: 'failed' })
        report.failed.push({ ...proof, reason: (error as Error).message.split('\n')[0] ?? 'failed' })
        return report
      }
      for (const proof of due) {
        try {
          await send([proof])
        } catch (single) {
          components.metrics?.storageProofs.inc({ result: 'failed' })
          report.failed.push({ ...proof, reason: (single as Error).message.split('\n')[0] ?? 'failed' })
          logger.error(
            { err: single, dealId: proof.dealId, shardIndex: proof.shardIndex },
            'a storage proof failed',
          )
        }
      }
    }
    return report
  }

  return {
    run(block) {
      if (running) return running
      running = pass(block).finally(() => {
        running = undefined
      })
      return running
    },
  }
}
