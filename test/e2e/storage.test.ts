/**
 * End to end, storage: a devnet with seven real provider daemons (child processes, seven regions,
 * the storage role on), objects stored and read back with the SDK, checked byte for byte.
 *
 * - round trips of 0 B, 1 B, 1 MiB + 1 B and 256 MiB + 1 B (five segments: the reader reuses the
 *   piece buffers of decrypted segments for later ones);
 * - 4-of-6: the object reads back with any two of its six providers stopped: each of the 15
 *   pairs in turn is frozen with SIGSTOP (it holds its connections and answers nothing, so the
 *   reader's hedged requests must go around it) and resumed after; one real pair is killed with
 *   SIGKILL at the end of the file;
 * - a provider serving corrupted bytes (its shard file changed on disk) is caught and bypassed;
 * - a provider whose shard file is deleted misses its proof, `markMissed` slashes it, `repairDeal`
 *   brings the deal back to n Active shards, and the object still reads bit-exact;
 * - the contract rejects a forged proof;
 * - `listObjects` / `getObject` from a fresh client with only the key.
 * Needs no Docker. Run: node --import tsx --test test/e2e/storage.test.ts
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { providerRegistryAbi, storageDealsAbi } from '@stoa/protocol'
import {
  challengeOf,
  createStoaClient,
  currentPeriod,
  DecryptionFailedError,
  findDealsToRepair,
  getDeal,
  getMasterKey,
  getObject,
  listObjects,
  markMissed,
  type ObjectRecord,
  putObject,
  repairDeal,
  type StoaClient,
} from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { proofLength } from '@stoa/storage'
import type { Account, Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readContract, simulateContract } from 'viem/actions'
import { type StorageDevnet, type StorageDevnetProvider, sleep, startStorageDevnet } from './devnet.ts'

const MiB = 1024 * 1024

const storageDealsOf = (client: StoaClient) =>
  (client.deployment.contracts as { storageDeals?: Address }).storageDeals as Address

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

async function sha256File(path: string): Promise<string> {
  return sha256(await readFile(path))
}

describe('storage end to end (devnet, 7 real provider daemons)', { timeout: 900_000 }, () => {
  let net: StorageDevnet
  let alice: StoaClient
  let masterKey: Uint8Array
  const records = new Map<string, ObjectRecord>()
  const files = new Map<string, string>()
  const figures: string[] = []

  before(async () => {
    net = await startStorageDevnet({ providers: 7 }).catch((error: unknown) => {
      // Printed here too: the reporter puts a hook's error at the suite's end, far below.
      console.error('the storage devnet did not start:', error)
      throw error
    })
    alice = net.clientOf('alice')
    masterKey = await getMasterKey(alice)
  })

  after(async () => {
    for (const line of figures) console.log(line)
    await net?.stop()
  })

  const providerOf = (address: Address) => {
    const provider = net.providers.find((p) => p.address.toLowerCase() === address.toLowerCase())
    assert.ok(provider, `provider ${address} is one of the devnet's`)
    return provider
  }

  async function store(
    name: string,
    size: number,
    diagnostic?: (message: string) => void,
    excludeProviders?: readonly Address[],
  ): Promise<ObjectRecord> {
    const path = join(net.dir, name)
    // Random content, written in 8 MiB pieces so the test itself stays small in memory.
    const handle = await open(path, 'w')
    for (let at = 0; at < size; at += 8 * MiB) await handle.write(randomBytes(Math.min(8 * MiB, size - at)))
    await handle.close()
    files.set(name, path)
    const startedAt = performance.now()
    let uploadPhase = ''
    const record = await putObject(alice, {
      source: path,
      name,
      masterKey,
      excludeProviders,
      onProgress: (event) => {
        if (event.type === 'storage:shard-failed')
          diagnostic?.(
            `put ${name}: shard upload to ${event.detail.provider} failed: ${String(event.detail.error)}`,
          )
        if (event.type === 'storage:uploaded')
          uploadPhase = `; shards uploaded in ${event.detail.ms} ms (${event.detail.mbPerSecond.toFixed(1)} MB/s of the object)`
      },
    })
    const ms = performance.now() - startedAt
    const line = `put ${name}: ${size} B in ${Math.round(ms)} ms (${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s)${uploadPhase}`
    figures.push(line)
    diagnostic?.(line)
    records.set(name, record)
    assert.equal(record.size, size)
    assert.equal(Buffer.from(record.sha256).toString('hex'), await sha256File(path))
    return record
  }

  async function readBack(
    name: string,
    options: { excludeProviders?: Address[]; client?: StoaClient; extraRequests?: number } = {},
  ) {
    const out = join(net.dir, `${name}.out`)
    const result = await getObject(options.client ?? alice, {
      name,
      masterKey,
      output: out,
      ...(options.excludeProviders ? { excludeProviders: options.excludeProviders } : {}),
      ...(options.extraRequests === undefined ? {} : { extraRequests: options.extraRequests }),
    })
    assert.equal(
      await sha256File(out),
      await sha256File(files.get(name) as string),
      `${name} reads back bit-exact`,
    )
    await rm(out, { force: true })
    return result
  }

  it('round-trips 0 B, 1 B, 1 MiB + 1 B and 256 MiB + 1 B bit-exact, shards spread over regions', async (t) => {
    for (const [name, size] of [
      ['empty.bin', 0],
      ['one.bin', 1],
      ['mib.bin', MiB + 1],
      ['big.bin', 256 * MiB + 1],
    ] as const) {
      const record = await store(name, size, (line) => t.diagnostic(line))
      const deal = await getDeal(alice, { dealId: record.dealId })
      assert.equal(deal.shardCount, 6)
      assert.equal(deal.k, 4)
      assert.equal(deal.shards.filter((s) => s.state === 'Active').length, 6)
      assert.equal(new Set(deal.shards.map((s) => s.provider)).size, 6, 'six distinct providers')
      assert.equal(new Set(deal.shards.map((s) => providerOf(s.provider).region)).size, 6, 'six regions')
      // Several full segments: the later ones are read into the piece buffers of earlier ones.
      if (name === 'big.bin') assert.ok(record.segments.length >= 5, `${record.segments.length} segments`)
      // getObject's own time (the index read included), not the test's hashing of the files.
      const { ms } = await readBack(name)
      const line = `get ${name}: ${size} B in ${Math.round(ms)} ms (${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s)`
      figures.push(line)
      t.diagnostic(line)
    }
  })

  it('catches a provider serving corrupted bytes and reads from another', async () => {
    const record = records.get('mib.bin') as ObjectRecord
    const deal = await getDeal(alice, { dealId: record.dealId })
    // The deal's shards are the first n of `total` uploads to finish, so which erasure indices it
    // holds varies: the data shards (index < k) and parity shards are taken in the deal's order,
    // the order the reader ranks equally fast providers in.
    const dataShards = deal.shards.filter((s) => s.erasureIndex < deal.k)
    const parityShards = deal.shards.filter((s) => s.erasureIndex >= deal.k)
    assert.ok(dataShards.length >= deal.k - 1 && parityShards.length >= 2, 'a data shard short at most')
    /** Flips a byte of the shard's file on its provider's disk (again: flips it back). */
    const flip = async (shard: (typeof deal.shards)[number]) => {
      const file = join(providerOf(shard.provider).dataDir, 'shards', `${shard.root}.data`)
      const handle = await open(file, 'r+')
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, 5000)
      await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, 5000)
      await handle.close()
    }
    const droppedOne = (result: { dropped: { provider: Address }[] }, provider: Address) =>
      result.dropped.some((d) => d.provider.toLowerCase() === provider.toLowerCase())

    // A data shard: the reader asks those first. Exactly k requests, data shards first: the
    // corrupted piece is always fetched (with a spare request it may lose the race and be cut).
    // It fails AES-GCM, the pieces are checked, its provider dropped and another one read.
    const data = dataShards[0] as (typeof deal.shards)[number]
    await flip(data)
    const result = await readBack('mib.bin', { extraRequests: 0 })
    assert.ok(droppedOne(result, data.provider), 'the corrupting data provider was dropped')
    assert.equal(result.dropped.length, 1, 'only the corrupting provider was dropped')
    await flip(data)

    // A parity shard, read because only k - 1 data shards' providers are asked (the others are
    // skipped): the rebuilt data fails to decrypt, and the bad parity piece is found the same way.
    const parity = parityShards[0] as (typeof deal.shards)[number]
    await flip(parity)
    const skipped = dataShards.slice(deal.k - 1).map((s) => s.provider)
    const viaParity = await readBack('mib.bin', { extraRequests: 0, excludeProviders: skipped })
    assert.ok(droppedOne(viaParity, parity.provider), 'the corrupting parity provider was dropped')
    assert.equal(viaParity.dropped.length, 1, 'only the corrupting provider was dropped')
    await flip(parity)

    // A wrong key: every piece checks out, so the decryption error is the answer, not a re-read.
    const wrongKey = getObject(alice, {
      record,
      masterKey: new Uint8Array(32).fill(7),
      output: join(net.dir, 'wrong-key.out'),
    })
    await assert.rejects(wrongKey, DecryptionFailedError)
    await rm(join(net.dir, 'wrong-key.out'), { force: true })
  })

  it('a deleted shard misses its proof, markMissed slashes, repairDeal restores n Active shards', async (t) => {
    // The cheapest provider stays out of the deal, so it is free to take the lost shard: a repair
    // must find a provider asking no more than the deal's price (the highest ask among its six).
    const spare = net.providers[0] as (typeof net.providers)[number]
    const record = await store('repair.bin', 3 * MiB + 7, undefined, [spare.address])
    let deal = await getDeal(alice, { dealId: record.dealId })
    const victim = deal.shards[0] as (typeof deal.shards)[number]
    const provider = providerOf(victim.provider)
    await rm(join(provider.dataDir, 'shards', `${victim.root}.data`), { force: true })
    await rm(join(provider.dataDir, 'shards', `${victim.root}.tree`), { force: true })

    // Through period 0's window as a chain with block times would go: automine off, one block a
    // second, so the providers' proofs share blocks (with automine every proof transaction is a
    // block of its own, and six providers' proofs alone would close a 10-block window).
    const windowStart = deal.startBlock + BigInt(deal.periodBlocks - deal.windowBlocks)
    const windowEnd = deal.startBlock + BigInt(deal.periodBlocks)
    const now = await net.blockNumber()
    if (now < windowStart) await net.mine(Number(windowStart - now))
    const provenBy = async () =>
      (await getDeal(alice, { dealId: record.dealId })).shards.filter(
        (s) => s.shardIndex !== 0 && s.nextPeriod >= 1,
      ).length
    const waitStarted = performance.now()
    await net.automine(false)
    try {
      while ((await net.blockNumber()) < windowEnd && (await provenBy()) < 5) {
        await sleep(1_000)
        await net.mine(1)
      }
    } finally {
      await net.automine(true)
    }
    const proven = await provenBy()
    t.diagnostic(
      `period 0: ${proven} of the 5 other shards proven (waited ${Math.round(performance.now() - waitStarted)} ms)`,
    )
    if (proven < 5) {
      // Why a provider did not prove: its log lines about this deal's period 0.
      const late = (await getDeal(alice, { dealId: record.dealId })).shards.filter(
        (s) => s.shardIndex !== 0 && s.nextPeriod < 1,
      )
      for (const shard of late) {
        const p = providerOf(shard.provider)
        const lines = (await readFile(p.logFile, 'utf8'))
          .split('\n')
          .filter((line) => /"level":[4-6]0|proofs/.test(line))
        t.diagnostic(`shard ${shard.shardIndex} of deal ${record.dealId} on ${p.name}:`)
        for (const line of lines.slice(0, 6)) t.diagnostic(`  ${line.slice(0, 1500)}`)
      }
    }
    assert.equal(proven, 5, 'the five providers that hold their shard prove period 0')
    const afterWindow = await net.blockNumber()
    if (afterWindow <= windowEnd) await net.mine(Number(windowEnd - afterWindow) + 1)

    const registry = alice.deployment.contracts.providerRegistry
    const stakeBefore = await readContract(alice, {
      address: registry,
      abi: providerRegistryAbi,
      functionName: 'stakeOf',
      args: [victim.provider],
    })
    const watcher = net.clientOf('watcher')
    await markMissed(watcher, { dealId: record.dealId, shardIndex: 0, period: 0 })
    const stakeAfter = await readContract(alice, {
      address: registry,
      abi: providerRegistryAbi,
      functionName: 'stakeOf',
      args: [victim.provider],
    })
    assert.ok(stakeAfter < stakeBefore, 'the provider was slashed')
    deal = await getDeal(alice, { dealId: record.dealId })
    assert.equal(deal.shards[0]?.state, 'Lost')

    const due = await findDealsToRepair(alice, { owner: (alice.account as Account).address })
    assert.ok(
      due.some((d) => d.dealId === record.dealId),
      'the deal is due for repair',
    )
    const repaired = await repairDeal(alice, { dealId: record.dealId })
    assert.equal(repaired.replaced.length, 1)
    deal = await getDeal(alice, { dealId: record.dealId })
    assert.equal(deal.shards.filter((s) => s.state === 'Active').length, 6)
    assert.notEqual(deal.shards[0]?.provider.toLowerCase(), victim.provider.toLowerCase())
    // The new holder alone with three others still rebuilds the object.
    const others = deal.shards.filter((s) => s.shardIndex !== 0).map((s) => s.provider)
    await readBack('repair.bin', { excludeProviders: others.slice(0, 2) })
  })

  it('rejects a forged proof', async () => {
    const record = records.get('repair.bin') as ObjectRecord
    // Automine off: the providers' own proofs wait in the mempool, so the shard stays provable for
    // the period and only the proof itself can be wrong.
    await net.automine(false)
    try {
      let deal = await getDeal(alice, { dealId: record.dealId })
      let period = await currentPeriod(alice, { dealId: record.dealId })
      let shard = deal.shards.find((s) => s.state === 'Active' && s.nextPeriod === period)
      if (!shard) period++
      const windowStart = deal.startBlock + BigInt((period + 1) * deal.periodBlocks - deal.windowBlocks)
      const now = await net.blockNumber()
      if (now < windowStart) await net.mine(Number(windowStart - now))
      deal = await getDeal(alice, { dealId: record.dealId })
      shard = deal.shards.find((s) => s.state === 'Active' && s.nextPeriod === period)
      assert.ok(shard, `a shard can prove period ${period}`)
      const leafIndex = Number(
        await challengeOf(alice, { dealId: record.dealId, shardIndex: shard.shardIndex, period }),
      )
      // The challenged leaf's place, with as many siblings as a real proof: only the bytes are forged.
      const siblings = Array.from(
        { length: proofLength(leafIndex, shard.leafCount) },
        () => `0x${randomBytes(32).toString('hex')}` as const,
      )
      await assert.rejects(
        simulateContract(alice, {
          address: storageDealsOf(alice),
          abi: storageDealsAbi,
          functionName: 'submitProof',
          args: [record.dealId, shard.shardIndex, period, `0x${randomBytes(1024).toString('hex')}`, siblings],
          account: alice.account as Account,
        }),
        (error: Error) => /StorageDealsInvalidProof/.test(`${error.message}`),
      )
    } finally {
      await net.automine(true)
    }
  })

  it('lists and reads objects from a fresh client with only the key', async () => {
    const fresh = createStoaClient({
      deployment: net.deployment,
      account: privateKeyToAccount(devnetAccount('alice').privateKey),
    })
    const key = await getMasterKey(fresh)
    assert.deepEqual(Buffer.from(key), Buffer.from(masterKey))
    const names = (await listObjects(fresh, { masterKey: key })).map((o) => o.name).sort()
    assert.deepEqual(names, ['big.bin', 'empty.bin', 'mib.bin', 'one.bin', 'repair.bin'])
    await readBack('one.bin', { client: fresh })
    await readBack('repair.bin', { client: fresh })
  })

  // Late in the file: a frozen provider's prover falls behind, which the proof and repair test
  // above counts on not happening.
  it('4-of-6: reads bit-exact with any two of the six providers stopped (all 15 pairs, SIGSTOP)', async (t) => {
    const record = records.get('mib.bin') as ObjectRecord
    const deal = await getDeal(alice, { dealId: record.dealId })
    const holders = deal.shards.map((s) => providerOf(s.provider))
    const times: number[] = []
    for (let a = 0; a < holders.length; a++) {
      for (let b = a + 1; b < holders.length; b++) {
        const pair = [holders[a], holders[b]] as StorageDevnetProvider[]
        for (const provider of pair) provider.pause()
        try {
          const startedAt = performance.now()
          await readBack('mib.bin')
          times.push(Math.round(performance.now() - startedAt))
        } finally {
          for (const provider of pair) provider.resume()
        }
      }
    }
    assert.equal(times.length, 15)
    const line = `get mib.bin with two providers stopped, ms per pair: ${times.join(', ')}`
    figures.push(line)
    t.diagnostic(line)
  })

  it('reads bit-exact with two real providers of the deal stopped (SIGKILL)', async () => {
    const record = records.get('repair.bin') as ObjectRecord
    const deal = await getDeal(alice, { dealId: record.dealId })
    const stopped = deal.shards.slice(4).map((s) => providerOf(s.provider))
    await Promise.all(stopped.map((p) => p.kill()))
    assert.ok(stopped.every((p) => !p.alive()))
    await readBack('repair.bin')
    await writeFile(join(net.dir, 'done'), 'ok')
  })
})
