// The storage routes of the gateway (docs/storage-spec.md section 4) against a real anvil, the real
// contracts, a real daemon, real SQLite and real HTTP: a signed upload (resumed), whole and ranged
// reads, tree levels, the signature matrix, capacity, acceptances, and a restart keeping shards.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createMerkleBuilder, leafCountOf, merkleRoot, treeHeight } from '@stoa/storage'
import { bytesToHex, type Hex, recoverTypedDataAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { shardAcceptanceTypedData } from '../src/storage/acceptance.ts'
import { storageDealsAddress } from '../src/storage/routes.ts'
import { type Devnet, startDaemon, startDevnet, stopAllDaemons, type TestDaemon } from './daemon-fixture.ts'
import { errorOf, storageFetch, uploadShard } from './provider-storage-helpers.ts'

const CAPACITY = 1024 * 1024
let devnet: Devnet
let provider: TestDaemon

before(async () => {
  devnet = await startDevnet({ providers: 1 })
  provider = await startDaemon(devnet, devnet.providerKeys[0] as Hex, {
    overrides: { storage: { capacityBytes: CAPACITY }, bidding: { enabled: false } },
  })
})
after(async () => {
  await stopAllDaemons()
  await devnet?.stop()
})

describe('uploads and reads', () => {
  // 200 KiB and a bit: a last leaf that is not full, and levels 6 and up with more than one node.
  const data = randomBytes(200 * 1024 + 123)
  let uploadId: string
  let root: Hex

  test('GET /v1/storage/info is public', async () => {
    const response = await fetch(`${provider.gatewayUrl}/v1/storage/info`)
    assert.equal(response.status, 200)
    const info = (await response.json()) as Record<string, unknown>
    assert.equal(info.capacity, CAPACITY)
    assert.equal(info.askPricePerByteSecond, '771600')
    assert.equal(info.free, CAPACITY)
  })

  test('an upload resumed after a cut gets the shard root; progress counts bytes received', async () => {
    const created = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: data.length, erasureIndex: 2 },
    })
    assert.equal(created.status, 201, await created.clone().text())
    const body = (await created.json()) as { uploadId: string; maxBytes: number }
    uploadId = body.uploadId
    assert.equal(body.maxBytes, data.length)
    const info = (await (await fetch(`${provider.gatewayUrl}/v1/storage/info`)).json()) as { free: number }
    assert.equal(info.free, CAPACITY - data.length, 'the upload reserves its size')

    const first = await storageFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/storage/uploads/${uploadId}`,
      {
        bytes: data.subarray(0, 70_000),
      },
    )
    assert.equal(first.status, 202, await first.clone().text())
    assert.deepEqual(await first.json(), { received: 70_000, size: data.length })

    const progress = await storageFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/storage/uploads/${uploadId}`,
    )
    assert.equal(progress.status, 200)
    assert.equal(((await progress.json()) as { received: number }).received, 70_000)

    const ahead = await storageFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/storage/uploads/${uploadId}?offset=80000`,
      { bytes: data.subarray(80_000) },
    )
    assert.deepEqual([ahead.status, (await errorOf(ahead)).code], [409, 'offset-mismatch'])

    // Resume a little before the end of what arrived (the client re-sends an overlap).
    const rest = await storageFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/storage/uploads/${uploadId}?offset=65536`,
      { bytes: data.subarray(65_536) },
    )
    assert.equal(rest.status, 200, await rest.clone().text())
    const done = (await rest.json()) as { root: Hex; size: number }
    root = done.root
    assert.equal(root, bytesToHex(merkleRoot(data)))
    assert.equal(done.size, data.length)
    const files = await readdir(path.join(provider.dataDir, 'shards'))
    assert.ok(files.includes(`${root}.data`) && files.includes(`${root}.tree`))
    assert.equal(provider.services.storage?.shards.getShard(root)?.state, 'held')

    const again = await storageFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/storage/uploads/${uploadId}`,
      {
        bytes: data,
      },
    )
    assert.deepEqual([again.status, (await errorOf(again)).code], [409, 'upload-complete'])
  })

  test('the uploader reads the shard whole and by range', async () => {
    const whole = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`)
    assert.equal(whole.status, 200)
    assert.equal(whole.headers.get('content-length'), String(data.length))
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data))

    const ranged = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`, {
      headers: { range: 'bytes=1000-66535' },
    })
    assert.equal(ranged.status, 206)
    assert.equal(ranged.headers.get('content-range'), `bytes 1000-66535/${data.length}`)
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1000, 66_536)))

    const suffix = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`, {
      headers: { range: 'bytes=-100' },
    })
    assert.equal(suffix.status, 206)
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(data.length - 100)))

    const outside = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`, {
      headers: { range: `bytes=${data.length}-` },
    })
    assert.deepEqual([outside.status, (await errorOf(outside)).code], [416, 'range-not-satisfiable'])
    assert.equal(outside.headers.get('content-range'), `bytes */${data.length}`)

    const unknown = await storageFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/storage/shards/0x${'ab'.repeat(32)}`,
    )
    assert.deepEqual([unknown.status, (await errorOf(unknown)).code], [404, 'shard-not-found'])

    // Shard bytes are written straight to the response (sendData): the CORS and Stoa headers still
    // go out, reads side by side each get their own bytes, and a reader that hangs up mid-body
    // leaves the next reads whole.
    assert.equal(whole.headers.get('access-control-allow-origin'), '*')
    assert.equal(whole.headers.get('x-stoa-root'), root)
    const cut = new AbortController()
    const cutRead = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`, {
      signal: cut.signal,
    })
    const reader = cutRead.body?.getReader()
    await reader?.read()
    cut.abort()
    const ranges = [
      [0, 99_999],
      [50_000, data.length - 1],
      [7, 7],
      [123_456, 150_000],
    ] as const
    const reads = await Promise.all(
      ranges.map(async ([start, end]) => {
        const response = await storageFetch(
          provider,
          devnet.alice.account,
          'GET',
          `/v1/storage/shards/${root}`,
          {
            headers: { range: `bytes=${start}-${end}` },
          },
        )
        return Buffer.from(await response.arrayBuffer())
      }),
    )
    for (const [i, [start, end]] of ranges.entries()) {
      assert.ok(reads[i]?.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`)
    }
  })

  test('tree levels: 6 and up from the kept tree, lower ones rebuilt for a small shard', async () => {
    const builder = createMerkleBuilder({ keepLevelsFrom: 0 })
    builder.update(data)
    const tree = builder.finish()
    for (const level of [0, 3, 6, 7, 8]) {
      const response = await storageFetch(
        provider,
        devnet.alice.account,
        'GET',
        `/v1/storage/shards/${root}/nodes?level=${level}`,
      )
      assert.equal(response.status, 200, await response.clone().text())
      const nodes = Buffer.from(await response.arrayBuffer())
      assert.ok(nodes.equals(Buffer.from(tree.levels.get(level) as Uint8Array)), `level ${level}`)
    }
    // The level above the root (401 leaves of 512 bytes: the root is at level 9).
    const aboveRoot = treeHeight(leafCountOf(data.length)) + 1
    const above = await storageFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/storage/shards/${root}/nodes?level=${aboveRoot}`,
    )
    assert.deepEqual([above.status, (await errorOf(above)).code], [400, 'invalid-query'])
  })

  test('an active provider (a repairer) may read; another account may not', async () => {
    const asProvider = privateKeyToAccount(devnet.providerKeys[0] as Hex)
    const read = await storageFetch(provider, asProvider, 'GET', `/v1/storage/shards/${root}`, {
      headers: { range: 'bytes=0-9' },
    })
    assert.equal(read.status, 206)
    const bob = await storageFetch(provider, devnet.bob.account, 'GET', `/v1/storage/shards/${root}`)
    assert.deepEqual([bob.status, (await errorOf(bob)).code], [403, 'not-allowed'])
    const bobProgress = await storageFetch(
      provider,
      devnet.bob.account,
      'GET',
      `/v1/storage/uploads/${uploadId}`,
    )
    assert.deepEqual([bobProgress.status, (await errorOf(bobProgress)).code], [403, 'not-uploader'])
  })

  test('unsigned, tampered and replayed requests get 401, and change nothing', async () => {
    const before = provider.services.storage?.shards.usage()
    const unsigned = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: 10, erasureIndex: 0 },
      unsigned: true,
    })
    assert.deepEqual([unsigned.status, (await errorOf(unsigned)).code], [401, 'missing-signature'])
    const tampered = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: 10, erasureIndex: 0 },
      sendJson: { size: 500_000, erasureIndex: 0 },
    })
    assert.deepEqual([tampered.status, (await errorOf(tampered)).code], [401, 'bad-signature'])
    const nonce = 777n
    const first = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`, {
      nonce,
      headers: { range: 'bytes=0-0' },
    })
    assert.equal(first.status, 206)
    await first.arrayBuffer()
    const replayed = await storageFetch(provider, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`, {
      nonce,
      headers: { range: 'bytes=0-0' },
    })
    assert.deepEqual([replayed.status, (await errorOf(replayed)).code], [401, 'replayed'])
    const unsignedRead = await storageFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/storage/shards/${root}`,
      {
        unsigned: true,
      },
    )
    assert.equal(unsignedRead.status, 401)
    assert.deepEqual(provider.services.storage?.shards.usage(), before)
  })

  test('bad input: 400 naming the field; a body longer than the upload 413', async () => {
    const badSize = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: -1, erasureIndex: 0 },
    })
    const error = await errorOf(badSize)
    assert.deepEqual([error.status, error.code], [400, 'invalid-body'])
    assert.match(error.message, /`size`/)
    const badIndex = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: 10, erasureIndex: 256 },
    })
    assert.match((await errorOf(badIndex)).message, /`erasureIndex`/)
    const created = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: 1000, erasureIndex: 0 },
    })
    const { uploadId: small } = (await created.json()) as { uploadId: string }
    const tooLong = await storageFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/storage/uploads/${small}`,
      {
        bytes: randomBytes(1001),
      },
    )
    assert.deepEqual([tooLong.status, (await errorOf(tooLong)).code], [413, 'body-exceeds-size'])
    // Only an octet-stream body is streamed to disk; any other is read into memory, so it stays small.
    const notStreamed = await fetch(`${provider.gatewayUrl}/v1/storage/uploads/${small}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(100 * 1024),
    })
    assert.deepEqual([notStreamed.status, (await errorOf(notStreamed)).code], [413, 'body-too-large'])
  })

  test('an upload that does not fit the free capacity gets 507', async () => {
    const storage = provider.services.storage
    assert.ok(storage)
    const { free } = storage.shards.usage()
    const full = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: free + 1, erasureIndex: 0 },
    })
    const error = await errorOf(full)
    assert.deepEqual([error.status, error.code], [507, 'insufficient-storage'])
    const fits = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: free, erasureIndex: 0 },
    })
    assert.equal(fits.status, 201)
    const again = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/uploads', {
      json: { size: 1, erasureIndex: 0 },
    })
    assert.equal(again.status, 507)
  })

  describe('acceptances', () => {
    const terms = () => ({
      owner: devnet.alice.account.address,
      dealId: '1',
      shardIndex: 0,
      root,
      size: data.length,
      erasureIndex: 2,
      pricePerByteSecond: '800000',
      periodBlocks: 100,
      periods: 3,
      deadline: Math.floor(Date.now() / 1000) + 600,
    })

    test('a signed acceptance recovers to the provider; a low price, a wrong size or root is refused', async () => {
      const storageDeals = storageDealsAddress(provider.components.chain) as Hex
      assert.ok(storageDeals, 'the devnet deploys StorageDeals')
      const response = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/acceptances', {
        json: terms(),
      })
      assert.equal(response.status, 200, await response.clone().text())
      const { signature } = (await response.json()) as { signature: Hex }
      const message = terms()
      const signer = await recoverTypedDataAddress({
        ...shardAcceptanceTypedData(devnet.deployment.chainId, storageDeals, {
          owner: message.owner,
          dealId: 1n,
          shardIndex: 0,
          root,
          size: BigInt(data.length),
          erasureIndex: 2,
          pricePerByteSecond: 800_000n,
          periodBlocks: 100,
          periods: 3,
          deadline: BigInt(message.deadline),
        }),
        signature,
      })
      assert.equal(signer, provider.address)

      const cheap = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/acceptances', {
        json: { ...terms(), pricePerByteSecond: '1000' },
      })
      const cheapError = (await cheap.json()) as { error: { code: string; askPricePerByteSecond: string } }
      assert.equal(cheap.status, 402)
      assert.deepEqual(cheapError.error.code, 'price-below-ask')
      assert.equal(cheapError.error.askPricePerByteSecond, '771600')
      const wrongSize = await storageFetch(
        provider,
        devnet.alice.account,
        'POST',
        '/v1/storage/acceptances',
        {
          json: { ...terms(), size: 5 },
        },
      )
      assert.deepEqual([wrongSize.status, (await errorOf(wrongSize)).code], [409, 'size-mismatch'])
      const wrongIndex = await storageFetch(
        provider,
        devnet.alice.account,
        'POST',
        '/v1/storage/acceptances',
        {
          json: { ...terms(), erasureIndex: 1 },
        },
      )
      assert.deepEqual([wrongIndex.status, (await errorOf(wrongIndex)).code], [409, 'erasure-index-mismatch'])
      const unknown = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/acceptances', {
        json: { ...terms(), root: `0x${'cd'.repeat(32)}` },
      })
      assert.deepEqual([unknown.status, (await errorOf(unknown)).code], [409, 'shard-not-held'])
      const late = await storageFetch(provider, devnet.alice.account, 'POST', '/v1/storage/acceptances', {
        json: { ...terms(), deadline: 1000 },
      })
      assert.deepEqual([late.status, (await errorOf(late)).code], [400, 'deadline-passed'])
    })
  })

  test('a restart keeps held shards, resumes uploads and removes what no row names', async () => {
    const storage = provider.services.storage
    assert.ok(storage)
    // Debris a crash could leave: a part file no upload names, a shard file no row names.
    const partial = randomBytes(5000)
    await provider.stop()
    const shardsDir = path.join(provider.dataDir, 'shards')
    await writeFile(path.join(shardsDir, 'tmp', `${'0'.repeat(32)}.part`), partial)
    await writeFile(path.join(shardsDir, `0x${'ef'.repeat(32)}.data`), partial)
    const restarted = await startDaemon(devnet, devnet.providerKeys[0] as Hex, {
      dataDir: provider.dataDir,
      overrides: { storage: { capacityBytes: CAPACITY }, bidding: { enabled: false } },
    })
    provider = restarted
    const files = await readdir(shardsDir)
    assert.ok(!files.includes(`0x${'ef'.repeat(32)}.data`))
    assert.deepEqual(await readdir(path.join(shardsDir, 'tmp')), [])
    const whole = await storageFetch(restarted, devnet.alice.account, 'GET', `/v1/storage/shards/${root}`)
    assert.equal(whole.status, 200)
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data))
  })
})

describe('another upload of the same bytes', () => {
  test('is stored once', async () => {
    const bytes = randomBytes(3000)
    const before = provider.services.storage?.shards.usage()
    assert.ok(before)
    // Make room: the capacity test left a reservation.
    await provider.services.storage?.shards.sweep(Number.MAX_SAFE_INTEGER)
    const first = await uploadShard(provider, devnet.alice.account, bytes)
    const second = await uploadShard(provider, devnet.bob.account, bytes)
    assert.equal(first.root, second.root)
    assert.equal(provider.services.storage?.shards.usage().held, 3000)
  })
})
