import { bytesToHex, type Hex } from 'viem'
import type { ProviderChain } from '../chain/client.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { StorageDealsChain } from './chain.ts'
import { buildShardProof } from './proof.ts'
import type { DealShardRow, ShardStore } from './shard-store.ts'

export type ProverComponents = {
  chain: Pick<ProviderChain, 'write' | 'head'>
  deals: Pick<StorageDealsChain, 'challengeOf' | 'simulateProofs' | 'submitProofs'>
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
  /**
   * Slots due whose proof could not be built (file missing or corrupted), whose simulation or
   * transaction failed, or whose window closed before the proof could be sent.
   */
  failed: { dealId: bigint; shardIndex: number; period: number; reason: string }[]
  /** Slots whose `nextPeriod` window closed without a proof: they wait for `markMissed`. */
  missed: { dealId: bigint; shardIndex: number; period: number }[]
}

export type Prover = {
  /** One pass at head `block`; concurrent calls share the pass in progress. */
  run(block: bigint): Promise<ProverReport>
}

type Schedule = Pick<DealShardRow, 'startBlock' | 'periodBlocks' | 'windowBlocks' | 'periods'>

/** The blocks `[start, end)` of period `period`'s window: `start = startBlock + (p + 1) * periodBlocks - windowBlocks`. */
export function proofWindow(slot: Schedule, period: number): { start: bigint; end: bigint } {
  const start = slot.startBlock + BigInt(period + 1) * BigInt(slot.periodBlocks) - BigInt(slot.windowBlocks)
  return { start, end: start + BigInt(slot.windowBlocks) }
}

/**
 * Where the slot's next period (`lastProofPeriod + 1`, the only one the contract accepts) stands at
 * head `block`, for a transaction sent now, which lands in block `block + 1` at the earliest:
 * `due` from the block before the window (the challenge's seed block) to the second-to-last block
 * of the window, `missed` once no block of the window is left, `waiting` before, `done` after the
 * last period.
 */
export function slotStatus(
  slot: Schedule & Pick<DealShardRow, 'lastProofPeriod'>,
  block: bigint,
): { kind: 'waiting' | 'due' | 'missed'; period: number } | { kind: 'done' } {
  const period = slot.lastProofPeriod + 1
  if (BigInt(slot.periodBlocks) === 0n || period >= slot.periods) return { kind: 'done' }
  const window = proofWindow(slot, period)
  const landing = block + 1n
  if (landing < window.start) return { kind: 'waiting', period }
  if (landing >= window.end) return { kind: 'missed', period }
  return { kind: 'due', period }
}

/**
 * The period a proof sent at head `block` is for: the slot's next period, when a transaction sent
 * now lands inside its window; undefined otherwise.
 */
export function duePeriod(
  slot: Schedule & Pick<DealShardRow, 'lastProofPeriod'>,
  block: bigint,
): number | undefined {
  const status = slotStatus(slot, block)
  return status.kind === 'due' ? status.period : undefined
}

/** The contract error's name and arguments when the error carries one, else its first line. */
function reasonOf(error: unknown): string {
  let current = error as
    | { cause?: unknown; data?: { errorName?: string; args?: readonly unknown[] } }
    | undefined
  for (let depth = 0; current && depth < 10; depth++) {
    if (current.data?.errorName) {
      const args = (current.data.args ?? []).map((arg) => String(arg)).join(', ')
      return `${current.data.errorName}(${args})`
    }
    current = current.cause as typeof current
  }
  const text = error as { shortMessage?: string; message?: string } | undefined
  return (text?.shortMessage ?? text?.message ?? String(error)).split('\n')[0] ?? 'failed'
}

const label = (proof: Pick<DueProof, 'dealId' | 'shardIndex' | 'period'>) =>
  `${proof.dealId}/${proof.shardIndex}@${proof.period}`

/**
 * The prover: at each new head, for every Active deal slot this provider fills whose next period's
 * window is open for a transaction sent now (from the block before the window on: it never waits),
 * reads the challenge (`challengeOf`), builds the proof from the shard's files, and sends the due
 * proofs in ONE `submitProofs` through the chain write queue. Inside the queue it re-reads the
 * head, drops proofs whose window has closed, and simulates the batch in the next block's context;
 * a proof that would revert is dropped (the batch is all or nothing). If the transaction still
 * reverts (blocks mined in between), each remaining proof is retried on its own while its window is
 * open. A slot whose next period's window closed without a proof can never prove again (the
 * contract accepts only `nextPeriod`): it is logged once and skipped until ShardLost or DealEnded.
 */
export function prover(components: ProverComponents): Prover {
  const { shards, deals, chain } = components
  const logger = components.logger ?? silentLogger
  let running: Promise<ProverReport> | undefined
  /** Slot-periods already logged as unprovable, failed or missed (logged once each). */
  const reported = new Set<string>()
  const once = (kind: string, proof: Pick<DueProof, 'dealId' | 'shardIndex' | 'period'>) => {
    const key = `${kind}:${proof.dealId}:${proof.shardIndex}:${proof.period}`
    if (reported.has(key)) return false
    reported.add(key)
    return true
  }

  async function pass(block: bigint): Promise<ProverReport> {
    const report: ProverReport = { sent: [], failed: [], missed: [] }
    const due: DueProof[] = []
    const windows = new Map<DueProof, { start: bigint; end: bigint }>()
    for (const slot of shards.dealShardsInState('active')) {
      const status = slotStatus(slot, block)
      if (status.kind === 'done' || status.kind === 'waiting') continue
      const { period } = status
      const at = { dealId: slot.dealId, shardIndex: slot.shardIndex, period }
      if (status.kind === 'missed') {
        report.missed.push(at)
        if (once('missed', at)) {
          components.metrics?.storageProofs.inc({ result: 'missed' })
          logger.warn(
            { dealId: slot.dealId, shardIndex: slot.shardIndex, period, root: slot.root },
            `missed period ${period}; the shard will be marked lost`,
          )
        }
        continue
      }
      const fail = (reason: string, error?: unknown) => {
        report.failed.push({ ...at, reason })
        if (!once('unprovable', at)) return
        components.metrics?.storageProofs.inc({ result: 'failed' })
        logger.error({ err: error, ...at, root: slot.root }, `cannot prove a shard: ${reason}`)
      }
      const shard = shards.getShard(slot.root)
      if (!shard || !(await shards.hasData(slot.root))) {
        fail('the shard file is missing')
        continue
      }
      const window = proofWindow(slot, period)
      try {
        // Before the window the seed block is the head: read the challenge as of the next block.
        const leafIndex = Number(
          await deals.challengeOf(slot.dealId, slot.shardIndex, period, { pending: block < window.start }),
        )
        const proof = await buildShardProof(shards, shard, leafIndex)
        const item: DueProof = {
          ...at,
          leafIndex,
          leaf: bytesToHex(proof.leaf),
          siblings: proof.siblings.map((sibling) => bytesToHex(sibling)),
        }
        due.push(item)
        windows.set(item, window)
      } catch (error) {
        fail('the proof could not be built', error)
      }
    }
    if (due.length === 0) return report

    const failed = (proof: DueProof, reason: string, error?: unknown) => {
      report.failed.push({ dealId: proof.dealId, shardIndex: proof.shardIndex, period: proof.period, reason })
      if (once('failed', proof)) {
        components.metrics?.storageProofs.inc({ result: 'failed' })
        logger.warn({ err: error, proof: label(proof), reason }, 'a storage proof was not sent')
      } else {
        logger.debug({ proof: label(proof), reason }, 'a storage proof was not sent')
      }
    }
    /** Drops the proofs whose window is closed for a transaction sent at head `head`. */
    const stillOpen = (batch: DueProof[], head: bigint) =>
      batch.filter((proof) => {
        const window = windows.get(proof) as { start: bigint; end: bigint }
        if (head + 1n < window.end) return true
        failed(proof, `the window closed before the proof was sent (head ${head}, window end ${window.end})`)
        return false
      })
    /** Keeps the proofs whose simulation passes (the whole batch first, then one by one). */
    const simulated = async (batch: DueProof[]) => {
      try {
        await deals.simulateProofs(batch)
        return batch
      } catch (error) {
        if (batch.length === 1) {
          failed(batch[0] as DueProof, `the simulation failed: ${reasonOf(error)}`, error)
          return []
        }
      }
      const valid: DueProof[] = []
      for (const proof of batch) {
        try {
          await deals.simulateProofs([proof])
          valid.push(proof)
        } catch (error) {
          failed(proof, `the simulation failed: ${reasonOf(error)}`, error)
        }
      }
      return valid
    }
    /** In the write queue: re-reads the head, filters, simulates and sends; the proofs left unsent on a revert. */
    const send = (batch: DueProof[]) =>
      chain.write('submitProofs', async () => {
        const head = (await chain.head()).number
        const valid = await simulated(stillOpen(batch, head))
        if (valid.length === 0) return { unsent: [] as DueProof[] }
        try {
          const { hash } = await deals.submitProofs(valid)
          for (const proof of valid) shards.setLastProof(proof.dealId, proof.shardIndex, proof.period)
          components.metrics?.storageProofs.inc({ result: 'sent' }, valid.length)
          report.sent.push(...valid)
          logger.info({ hash, proofs: valid.map(label) }, 'storage proofs submitted')
          return { unsent: [] as DueProof[] }
        } catch (error) {
          logger.warn(
            { err: error, proofs: valid.map(label), reason: reasonOf(error) },
            'submitProofs failed',
          )
          return { unsent: valid, error }
        }
      })

    const first = await send(due)
    if (first.unsent.length === 1) {
      failed(first.unsent[0] as DueProof, reasonOf(first.error), first.error)
    } else {
      // One by one: each re-reads the head, so a proof whose window closed meanwhile is not sent.
      for (const proof of first.unsent) {
        const single = await send([proof])
        if (single.unsent.length > 0) failed(proof, reasonOf(single.error), single.error)
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
