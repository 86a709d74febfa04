// A storage deal from acceptance to end against a real anvil, the real StorageDeals contract and a
// real daemon: the deal names the uploaded shard (in-deal), the daemon's proof lands in period 0's
// window, a deleted shard file means no proof in period 1 (markMissed succeeds, the slot is lost),
// and the deal's end removes the shard and frees its capacity.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { storageDealsAbi } from '@stoa/protocol'
import type { Address, Hex } from 'viem'
import { getBlock, readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { storageDealsAddress } from '../src/storage/routes.ts'
import {
  type Devnet,
  startDaemon,
  startDevnet,
  stopAllDaemons,
  type TestDaemon,
  waitFor,
} from './daemon-fixture.ts'
import { storageFetch, uploadShard } from './provider-storage-helpers.ts'

const abi = storageDealsAbi
const SHARD_ACTIVE = 1
const SHARD_LOST = 2

let devnet: Devnet
let provider: TestDaemon
let storageDeals: Address | undefined

before(async () => {
  devnet = await startDevnet({ providers: 1 })
  provider = await startDaemon(devnet, devnet.providerKeys[0] as Hex, {
    overrides: { storage: { capacityBytes: 16 * 1024 * 1024 }, bidding: { enabled: false } },
  })
  storageDeals = storageDealsAddress(provider.components.chain)
})
after(async () => {
  await stopAllDaemons()
  await devnet?.stop()
})

async function send(
  functionName: 'createDeal' | 'markMissed' | 'settle',
  args: readonly unknown[],
  as = devnet.alice,
) {
  const hash = await writeContract(as, {
    address: storageDeals as Address,
    abi,
    functionName,
    args,
    account: as.account,
    chain: as.chain,
  } as Parameters<typeof writeContract>[1])
  const receipt = await waitForTransactionReceipt(as, { hash })
  assert.equal(receipt.status, 'success')
  return receipt
}

async function mineTo(block: bigint): Promise<void> {
  const head = await devnet.chain.getBlockNumber({ cacheTime: 0 })
  if (block > head) await devnet.chain.mine({ blocks: Number(block - head) })
}

test('a deal: proof in the window, no proof without the file (markMissed), cleanup at the end', async () => {
  assert.ok(storageDeals, 'the devnet deploys StorageDeals')
  const address = storageDeals
  const storage = provider.services.storage
  assert.ok(storage)
  const data = randomBytes(300 * 1024 + 7)
  const { root } = await uploadShard(provider, devnet.alice.account, data, 0)

  const read = <result>(functionName: string, args: readonly unknown[] = []) =>
    readContract(devnet.alice, { address, abi, functionName, args } as Parameters<
      typeof readContract
    >[1]) as Promise<result>
  const dealId = await read<bigint>('nextDealId')
  const periodBlocks = await read<number>('periodBlocks')
  const windowBlocks = await read<number>('windowBlocks')
  const now = Number((await getBlock(devnet.alice)).timestamp)
  const terms = {
    pricePerByteSecond: 1_000_000_000_000n,
    periods: 2,
    deadline: BigInt(now + 600),
  }
  const accepted = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/acceptances', {
    json: {
      owner: devnet.alice.account.address,
      dealId: dealId.toString(),
      shardIndex: 0,
      root,
      size: data.length,
      erasureIndex: 0,
      pricePerByteSecond: terms.pricePerByteSecond.toString(),
      periodBlocks,
      periods: terms.periods,
      deadline: Number(terms.deadline),
    },
  })
  assert.equal(accepted.status, 200, await accepted.clone().text())
  const { signature } = (await accepted.json()) as { signature: Hex }

  const receipt = await send('createDeal', [
    { k: 1, pieceSize: 1024, ...terms },
    [{ provider: provider.address, root, size: BigInt(data.length), erasureIndex: 0 }],
    [signature],
  ])
  const startBlock = receipt.blockNumber
  await waitFor(() => storage.shards.getShard(root)?.state === 'in-deal', { what: 'the shard in a deal' })
  assert.equal(storage.shards.getDealShard(dealId, 0)?.state, 'active')
  assert.equal(storage.shards.getShard(root)?.expiresAt, undefined)

  // Period 0: its window opens at startBlock + periodBlocks - windowBlocks.
  const window0 = startBlock + BigInt(periodBlocks - windowBlocks)
  await mineTo(window0)
  await waitFor(async () => (await read<{ nextPeriod: number }>('getShard', [dealId, 0])).nextPeriod === 1, {
    what: 'the proof of period 0',
    timeoutMs: 20_000,
  })
  const proven = await read<{ state: number; unpaidPeriods: number }>('getShard', [dealId, 0])
  assert.equal(proven.state, SHARD_ACTIVE)
  assert.equal(proven.unpaidPeriods, 1)
  const metrics = await (await fetch(`${provider.gatewayUrl}/metrics`)).text()
  assert.match(metrics, /stoa_provider_storage_proofs_total\{result="sent"\} 1/)

  // Period 1 without the file: no proof; once the window closed anyone may mark it missed.
  await rm(storage.shards.dataPath(root))
  const window1 = startBlock + BigInt(2 * periodBlocks - windowBlocks)
  await mineTo(window1)
  await waitFor(() => provider.logs.some((line) => String(line.msg).includes('cannot prove a shard')), {
    what: 'the prover noticing the missing file',
  })
  await mineTo(window1 + BigInt(windowBlocks))
  const stillUnproven = await read<{ nextPeriod: number }>('getShard', [dealId, 0])
  assert.equal(stillUnproven.nextPeriod, 1)
  await send('markMissed', [dealId, 0, 1], devnet.bob)
  assert.equal((await read<{ state: number }>('getShard', [dealId, 0])).state, SHARD_LOST)
  await waitFor(() => storage.shards.getDealShard(dealId, 0)?.state === 'lost', {
    what: 'the slot marked lost',
  })

  // The last window closed: settle ends the deal, and the daemon deletes the shard.
  await send('settle', [dealId])
  await waitFor(() => storage.shards.getShard(root) === undefined, {
    what: 'the shard deleted after the deal',
  })
  assert.equal(storage.shards.getDealShard(dealId, 0)?.state, 'ended')
  assert.equal(storage.shards.usage().held, 0)
  assert.equal(await storage.shards.hasData(root), false)
})
