// The prover against a fake StorageDeals that applies the contract's rules (a proof only for the
// shard's nextPeriod, only inside its window, a batch all or nothing) with a block counter: other
// providers' transactions and the devnet's background miner are blocks mined between the prover's
// reads and its transaction. Real shard files, real SQLite; the assertions are on the report, the
// logs and the metrics, never on timing. A fake, because a block landing exactly between the
// prover's simulation and its send cannot be produced on demand with anvil; the real contract and
// a real proof landing on chain are covered by provider-storage-deals.test.ts.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, beforeEach, test } from 'node:test'
import type { Hex } from 'viem'
import {
  createLogger,
  createProviderMetrics,
  openStateStore,
  type ShardStore,
  shardStore,
} from '../src/index.ts'
import type { ProofInput } from '../src/storage/chain.ts'
import { prover } from '../src/storage/prover.ts'

const uploader = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const dirs: string[] = []
let shards: ShardStore
let root: Hex

/** A fresh shard store holding one shard (each test's slots all name it). */
beforeEach(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stoa-prover-'))
  dirs.push(dir)
  shards = shardStore({ dir, capacityBytes: 64 * 1024 * 1024, uploadTtlSeconds: 3600 })({
    store: openStateStore({ filename: ':memory:' }),
  })
  await shards.recover()
  const data = randomBytes(40 * 1024 + 3)
  const upload = shards.createUpload({ uploader, size: data.length, erasureIndex: 0 })
  const result = await shards.writeUpload({
    uploadId: upload.uploadId,
    signer: uploader,
    offset: 0,
    body: data,
  })
  assert.ok(result.complete && result.root)
  root = result.root
})
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

class ContractError extends Error {
  data: { errorName: string; args: unknown[] }
  constructor(errorName: string, args: unknown[]) {
    super(`${errorName}(${args.join(', ')})`)
    this.data = { errorName, args }
  }
}

type Deal = { startBlock: bigint; periodBlocks: number; windowBlocks: number; periods: number }

/** A fake chain: `head` is the latest block; a transaction lands in `head + 1 + minedBefore()`. */
function fakeChain(dealsById: Map<bigint, Deal>) {
  const state = {
    head: 0n,
    /** Blocks other transactions (or the background miner) make before the next transaction lands. */
    minedBeforeNext: [] as number[],
    nextPeriod: new Map<string, number>(),
    sent: [] as string[][],
    simulated: 0,
    pendingChallenges: 0,
  }
  const check = (proof: ProofInput, block: bigint) => {
    const deal = dealsById.get(proof.dealId) as Deal
    const key = `${proof.dealId}/${proof.shardIndex}`
    const next = state.nextPeriod.get(key) ?? 0
    if (proof.period !== next)
      throw new ContractError('StorageDealsPeriodNotNext', [
        proof.dealId,
        proof.shardIndex,
        proof.period,
        next,
      ])
    const start =
      deal.startBlock + BigInt(proof.period + 1) * BigInt(deal.periodBlocks) - BigInt(deal.windowBlocks)
    const end = start + BigInt(deal.windowBlocks)
    if (block < start || block >= end)
      throw new ContractError('StorageDealsOutsideWindow', [proof.dealId, proof.period, start, end])
  }
  const chain = {
    write: <result>(_label: string, send: () => Promise<result>) => send(),
    head: async () => ({ number: state.head, timestamp: 0 }),
  }
  const deals = {
    async challengeOf(dealId: bigint, _shardIndex: number, period: number, options?: { pending?: boolean }) {
      const deal = dealsById.get(dealId) as Deal
      const seed =
        deal.startBlock + BigInt(period + 1) * BigInt(deal.periodBlocks) - BigInt(deal.windowBlocks) - 1n
      const at = options?.pending ? state.head + 1n : state.head
      if (options?.pending) state.pendingChallenges++
      if (seed >= at) throw new ContractError('StorageDealsChallengeUnavailable', [dealId, period, seed])
      return 3n
    },
    async simulateProofs(proofs: readonly ProofInput[]) {
      state.simulated++
      for (const proof of proofs) check(proof, state.head + 1n)
    },
    async submitProofs(proofs: readonly ProofInput[]) {
      state.head += BigInt(state.minedBeforeNext.shift() ?? 0) + 1n
      state.sent.push(proofs.map((p) => `${p.dealId}/${p.shardIndex}@${p.period}`))
      for (const proof of proofs) check(proof, state.head)
      for (const proof of proofs)
        state.nextPeriod.set(`${proof.dealId}/${proof.shardIndex}`, proof.period + 1)
      return { hash: '0x01' as Hex, receipt: {} as never }
    },
  }
  return { state, chain, deals }
}

function harness(deals: Map<bigint, Deal>) {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = []
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) })
  const metrics = createProviderMetrics({ processMetrics: false })
  const fake = fakeChain(deals)
  const p = prover({ chain: fake.chain, deals: fake.deals, shards, logger, metrics })
  const count = async (result: string) =>
    (await metrics.storageProofs.get()).values.find((v) => v.labels.result === result)?.value ?? 0
  return { ...fake, prover: p, lines, count }
}

async function addSlot(dealId: bigint, deal: Deal, lastProofPeriod = -1) {
  await shards.putDealShard({
    dealId,
    shardIndex: 0,
    root,
    size: shards.getShard(root)?.size ?? 0,
    owner: uploader,
    state: 'active',
    ...deal,
    lastProofPeriod,
  })
}

test('the prover sends as soon as the window opens (the block before it), never later', async () => {
  const deal = { startBlock: 100n, periodBlocks: 20, windowBlocks: 10, periods: 2 }
  await addSlot(1n, deal)
  const h = harness(new Map([[1n, deal]]))
  h.state.head = 108n
  assert.deepEqual((await h.prover.run(108n)).sent, [], 'a transaction sent at 108 lands before the window')
  assert.equal(h.state.sent.length, 0)
  h.state.head = 109n
  const report = await h.prover.run(109n)
  assert.deepEqual(h.state.sent, [['1/0@0']], 'sent at 109, landing in 110, the first block of the window')
  assert.equal(report.sent.length, 1)
  assert.equal(h.state.pendingChallenges, 1, 'the challenge was read as of the next block')
  assert.equal(await h.count('sent'), 1)
  assert.equal(shards.getDealShard(1n, 0)?.lastProofPeriod, 0)
})

test('at the window edge: a batch simulation drops a proof that would revert; after a revert only open windows are retried', async () => {
  // Deal 2's window is [110, 120), deal 3's is [115, 125).
  const deal2 = { startBlock: 100n, periodBlocks: 20, windowBlocks: 10, periods: 2 }
  const deal3 = { startBlock: 105n, periodBlocks: 20, windowBlocks: 10, periods: 2 }
  const deal4 = { startBlock: 100n, periodBlocks: 20, windowBlocks: 10, periods: 2 }
  await addSlot(2n, deal2)
  await addSlot(3n, deal3)
  await addSlot(4n, deal4)
  const h = harness(
    new Map([
      [2n, deal2],
      [3n, deal3],
      [4n, deal4],
    ]),
  )
  // Deal 4's shard already proved period 0 on chain (this database lags): its simulation fails.
  h.state.nextPeriod.set('4/0', 1)
  // Head 118: all three are due; the batch goes out, but two other transactions are mined first, so
  // it lands in 121 (past deal 2's window) and reverts as a whole.
  h.state.head = 118n
  h.state.minedBeforeNext = [2]
  const report = await h.prover.run(118n)
  assert.deepEqual(h.state.sent, [['2/0@0', '3/0@0'], ['3/0@0']], 'deal 4 dropped; deal 2 not retried')
  assert.deepEqual(
    report.sent.map((p) => p.dealId),
    [3n],
  )
  assert.deepEqual(report.failed.map((f) => f.dealId).sort(), [2n, 4n])
  const dropped = h.lines.filter((l) => l.msg === 'a storage proof was not sent')
  assert.ok(
    dropped.some((l) => l.proof === '4/0@0' && String(l.reason).includes('StorageDealsPeriodNotNext')),
  )
  assert.ok(dropped.some((l) => l.proof === '2/0@0' && String(l.reason).includes('window closed')))
  const reverted = h.lines.filter((l) => l.msg === 'submitProofs failed')
  assert.equal(reverted.length, 1)
  assert.match(String(reverted[0]?.reason), /StorageDealsOutsideWindow/)
  assert.equal(await h.count('sent'), 1)
  assert.equal(await h.count('failed'), 2)
})

test('a missed period is skipped and logged once; no later period is ever sent', async () => {
  const deal = { startBlock: 100n, periodBlocks: 20, windowBlocks: 10, periods: 3 }
  await addSlot(5n, deal)
  const h = harness(new Map([[5n, deal]]))
  // Period 0's window [110, 120) passed without a proof; the prover runs on every block after it,
  // through period 1's window [130, 140) and period 2's.
  for (let block = 119n; block <= 165n; block++) {
    h.state.head = block
    const report = await h.prover.run(block)
    assert.deepEqual(report.sent, [])
    assert.deepEqual(report.missed, [{ dealId: 5n, shardIndex: 0, period: 0 }])
  }
  assert.deepEqual(h.state.sent, [], 'no proof sent for any period')
  assert.equal(h.state.simulated, 0)
  const missed = h.lines.filter((l) => String(l.msg).includes('missed period'))
  assert.equal(missed.length, 1)
  assert.equal(missed[0]?.msg, 'missed period 0; the shard will be marked lost')
  assert.equal(missed[0]?.level, 40, 'warn')
  assert.equal(
    h.lines.filter((l) => l.level >= 40 && l !== missed[0]).length,
    0,
    'no other warnings or errors',
  )
  assert.equal(await h.count('missed'), 1)
  assert.equal(await h.count('failed'), 0)
  // The slot stays until ShardLost or DealEnded arrives.
  assert.equal(shards.getDealShard(5n, 0)?.state, 'active')
})
