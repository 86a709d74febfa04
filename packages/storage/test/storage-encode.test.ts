import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import {
  ContentHashMismatchError,
  createShardTreeBuilders,
  DecryptionFailedError,
  decodeIndex,
  decodeObject,
  decodeSegment,
  deriveMasterKey,
  type EncodedSegment,
  encodeIndex,
  encodeObject,
  encodeSegment,
  LEAF_SIZE,
  merkleRoot,
  NotEnoughShardsError,
  type ObjectRecord,
  parseObjectIndex,
  pieceHashOf,
  rebuildPieces,
  type SegmentRecord,
  SourceSizeMismatchError,
  serializeObjectIndex,
} from '../src/index.ts'

const KiB = 1024
const MiB = 1024 * KiB
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const masterKey = deriveMasterKey({ secret: 'correct horse battery staple' })

/**
 * Deterministic bytes, `size` of them in chunks: a 1 MiB block of sha256 output (counter mode over
 * `seed`), each chunk a rotation of it stamped with its number, so no two chunks are equal.
 */
function* deterministic(size: number, seed: string, chunkSize = 1 * MiB + 7): Generator<Uint8Array> {
  const block = new Uint8Array(2 * MiB)
  for (let i = 0; i < MiB / 32; i++) block.set(createHash('sha256').update(`${seed}/${i}`).digest(), i * 32)
  block.copyWithin(MiB, 0, MiB)
  let produced = 0
  for (let n = 0; produced < size; n++) {
    const length = Math.min(chunkSize, size - produced)
    const chunk = new Uint8Array(length)
    const offset = (n * 4099) % MiB
    for (let filled = 0; filled < length; filled += MiB) {
      chunk.set(block.subarray(offset, offset + Math.min(MiB, length - filled)), filled)
    }
    new DataView(chunk.buffer).setUint32(0, n)
    produced += length
    yield chunk
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

type Encoded = { segments: EncodedSegment[]; record: ObjectRecord }

async function encodeAll(data: Uint8Array, k: number, total: number, pieceSize?: number): Promise<Encoded> {
  const objectId = new Uint8Array(randomBytes(32))
  const chunks = Array.from({ length: Math.ceil(data.length / 3001) }, (_, i) =>
    data.subarray(i * 3001, (i + 1) * 3001),
  )
  const encoding = encodeObject({
    source: chunks,
    size: data.length,
    k,
    total,
    objectId,
    masterKey,
    pieceSize,
  })
  const segments: EncodedSegment[] = []
  for await (const segment of encoding) segments.push(segment)
  const { sha256, segments: records, size } = encoding.result()
  assert.equal(hex(sha256), createHash('sha256').update(data).digest('hex'))
  const record: ObjectRecord = {
    name: 'file.bin',
    size,
    sha256,
    objectId,
    k,
    n: total,
    total,
    pieceSize: encoding.plan.pieceSize,
    segments: records,
    dealId: 2n ** 70n,
    shards: [],
  }
  return { segments, record }
}

async function decodeAll(
  encoded: Encoded,
  choose: (segment: EncodedSegment) => readonly number[],
): Promise<Uint8Array> {
  const { segments, record } = encoded
  const parts: Uint8Array[] = []
  const source = segments.map((segment) => {
    const keep = new Set(choose(segment))
    return {
      segmentIndex: segment.segmentIndex,
      pieces: segment.pieces.map((p, i) => (keep.has(i) ? p : undefined)),
    }
  })
  for await (const part of decodeObject({ object: record, masterKey, segments: source })) parts.push(part)
  return concat(parts)
}

describe('encode / decode', () => {
  for (const size of [0, 1, 1 * MiB + 1]) {
    test(`bit-exact round trip of ${size} bytes (4-of-6, default P)`, async () => {
      const data = new Uint8Array(randomBytes(size))
      const encoded = await encodeAll(data, 4, 6)
      assert.equal(encoded.segments.length, 1)
      for (const segment of encoded.segments) assert.equal(segment.pieces.length, 6)
      assert.deepEqual(await decodeAll(encoded, () => [5, 4, 2, 1]), data)
    })
  }

  test('multi-segment: every choice of 4 of 6 pieces decodes bit-exactly', async () => {
    const data = new Uint8Array(randomBytes(5 * 4 * 4 * KiB + 999))
    const encoded = await encodeAll(data, 4, 6, 4 * KiB)
    assert.equal(encoded.segments.length, 6)
    // The last segment: 999 + 16 bytes of ciphertext, padded to k * LEAF_SIZE: one leaf per piece.
    assert.equal(encoded.segments.at(-1)?.pieces[0]?.length, LEAF_SIZE)
    let choices = 0
    for (let mask = 0; mask < 64; mask++) {
      const indices = [0, 1, 2, 3, 4, 5].filter((i) => mask & (1 << i))
      if (indices.length !== 4) continue
      choices++
      assert.deepEqual(await decodeAll(encoded, () => indices), data, `pieces ${indices}`)
    }
    assert.equal(choices, 15)
    await assert.rejects(
      decodeAll(encoded, () => [0, 1, 2]),
      NotEnoughShardsError,
    )
  })

  test('k = n = total (no parity) and 1-of-3 round trip', async () => {
    const data = new Uint8Array(randomBytes(20 * KiB))
    assert.deepEqual(await decodeAll(await encodeAll(data, 3, 3, KiB), () => [0, 1, 2]), data)
    assert.deepEqual(await decodeAll(await encodeAll(data, 1, 3, KiB), () => [2]), data)
  })

  test('a wrong master key, a changed piece, swapped segments: typed errors', async () => {
    const data = new Uint8Array(randomBytes(40 * KiB))
    const encoded = await encodeAll(data, 2, 4, 8 * KiB)
    const other = deriveMasterKey({ secret: 'another secret of sixteen bytes' })
    const [first, second] = encoded.segments as [EncodedSegment, EncodedSegment]
    const record = encoded.record.segments[0]
    assert.ok(record)
    const base = { segmentIndex: 0, record, objectId: encoded.record.objectId, k: 2, total: 4 }
    assert.throws(
      () => decodeSegment({ ...base, pieces: first.pieces, masterKey: other }),
      DecryptionFailedError,
    )
    const changed = first.pieces.map((p) => p.slice())
    const changedPiece = changed[0] as Uint8Array
    changedPiece[100] = (changedPiece[100] as number) ^ 1
    assert.throws(
      () => decodeSegment({ ...base, masterKey, pieces: [changed[0], changed[1], undefined, undefined] }),
      DecryptionFailedError,
    )
    // Segment 1's pieces presented as segment 0 (with segment 0's record) fail, as does the AAD swap.
    assert.throws(() => decodeSegment({ ...base, masterKey, pieces: second.pieces }), DecryptionFailedError)
    const record1 = encoded.record.segments[1]
    assert.ok(record1)
    assert.throws(
      () => decodeSegment({ ...base, masterKey, record: record1, pieces: second.pieces, segmentIndex: 0 }),
      DecryptionFailedError,
    )
    // Out of order, or a wrong content hash.
    const swapped = [second, first].map((s) => ({ segmentIndex: s.segmentIndex, pieces: s.pieces }))
    await assert.rejects(async () => {
      for await (const _ of decodeObject({ object: encoded.record, masterKey, segments: swapped }));
    })
    const wrongHash = { ...encoded.record, sha256: new Uint8Array(32) }
    await assert.rejects(async () => {
      const segments = encoded.segments.map((s) => ({ segmentIndex: s.segmentIndex, pieces: s.pieces }))
      for await (const _ of decodeObject({ object: wrongHash, masterKey, segments }));
    }, ContentHashMismatchError)
    // Without the sha256 pass GCM alone authenticates: the same segments decode bit-exact.
    const unhashed: Uint8Array[] = []
    const segments = encoded.segments.map((s) => ({ segmentIndex: s.segmentIndex, pieces: s.pieces }))
    for await (const part of decodeObject({
      object: wrongHash,
      masterKey,
      segments,
      verifyContentHash: false,
    }))
      unhashed.push(part)
    assert.deepEqual(Buffer.concat(unhashed), Buffer.from(data))
    // ...and still refuses segments moved to each other's place.
    const moved = [
      { segmentIndex: 0, pieces: second.pieces },
      { segmentIndex: 1, pieces: first.pieces },
    ]
    await assert.rejects(async () => {
      for await (const _ of decodeObject({
        object: encoded.record,
        masterKey,
        segments: moved,
        verifyContentHash: false,
      }));
    }, DecryptionFailedError)
    // A record whose segments do not add up to its size fails at the end, hashed or not.
    const wrongSize = { ...encoded.record, size: encoded.record.size + 1 }
    await assert.rejects(async () => {
      for await (const _ of decodeObject({
        object: wrongSize,
        masterKey,
        segments,
        verifyContentHash: false,
      }));
    }, /segments hold its/)
  })

  test('retrySegment: a segment that fails to decrypt is decoded from the pieces it returns, once', async () => {
    const data = new Uint8Array(randomBytes(40 * KiB))
    const encoded = await encodeAll(data, 2, 4, 8 * KiB)
    const clean = encoded.segments.map((s) => ({ segmentIndex: s.segmentIndex, pieces: s.pieces }))
    // Segment 1's piece 0 has a flipped bit (a provider changed it); pieces 2 and 3 are absent.
    const served = clean.map((segment) => ({
      segmentIndex: segment.segmentIndex,
      pieces: segment.pieces.map((piece, i) => {
        if (i >= 2) return undefined
        if (segment.segmentIndex !== 1 || i !== 0) return piece
        const changed = piece.slice()
        changed[7] = (changed[7] as number) ^ 0x80
        return changed
      }),
    }))
    const calls: { segmentIndex: number; error: unknown }[] = []
    const decode = async (
      retrySegment: Parameters<typeof decodeObject>[0]['retrySegment'],
      segments: typeof served,
    ) => {
      const parts: Uint8Array[] = []
      for await (const part of decodeObject({ object: encoded.record, masterKey, segments, retrySegment }))
        parts.push(part)
      return concat(parts)
    }
    // Good pieces from elsewhere: piece 1 as served, piece 2 (parity) in place of the changed one.
    const replaced = await decode(async (segmentIndex, pieces, error) => {
      calls.push({ segmentIndex, error })
      const good = clean[segmentIndex]?.pieces
      return [undefined, pieces[1], good?.[2], undefined]
    }, served)
    assert.deepEqual(replaced, data)
    assert.equal(calls.length, 1)
    assert.equal(calls[0]?.segmentIndex, 1)
    assert.ok(calls[0]?.error instanceof DecryptionFailedError)
    // No other pieces: the decryption error stands.
    await assert.rejects(() => decode(async () => undefined, served), DecryptionFailedError)
    // Pieces just as bad: tried once, then the error stands (no loop).
    let tries = 0
    await assert.rejects(
      () =>
        decode(async (_, pieces) => {
          tries++
          return pieces
        }, served),
      DecryptionFailedError,
    )
    assert.equal(tries, 1)
    // Clean pieces never call it.
    calls.length = 0
    assert.deepEqual(await decode(async () => assert.fail('not called for a clean segment'), clean), data)
  })

  test('a source shorter or longer than its size is refused', async () => {
    const objectId = new Uint8Array(32)
    const run = async (source: Uint8Array[], size: number) => {
      for await (const _ of encodeObject({
        source,
        size,
        k: 2,
        total: 3,
        objectId,
        masterKey,
        pieceSize: KiB,
      }));
    }
    await assert.rejects(run([new Uint8Array(100)], 101), SourceSizeMismatchError)
    await assert.rejects(run([new Uint8Array(100), new Uint8Array(1)], 100), SourceSizeMismatchError)
    await run([new Uint8Array(50), new Uint8Array(0), new Uint8Array(50)], 100)
  })

  test('re-deriving one segment from its plaintext gives the same pieces', async () => {
    const data = new Uint8Array(randomBytes(30 * KiB))
    const encoded = await encodeAll(data, 4, 6, 2 * KiB)
    const plainSize = 4 * 2 * KiB - 16
    for (const segment of encoded.segments) {
      const record = encoded.record.segments[segment.segmentIndex]
      assert.ok(record)
      const plaintext = data.subarray(
        segment.segmentIndex * plainSize,
        segment.segmentIndex * plainSize + record.plainSize,
      )
      const pieces = encodeSegment({
        plaintext,
        segmentIndex: segment.segmentIndex,
        record,
        objectId: encoded.record.objectId,
        masterKey,
        k: 4,
        total: 6,
      })
      assert.deepEqual(pieces.map(hex), segment.pieces.map(hex))
    }
  })

  test('repair: rebuilt pieces are byte-identical, so shard and piece roots are too', async () => {
    const pieceSize = 4 * KiB
    const data = new Uint8Array(randomBytes(7 * 4 * pieceSize + 3000))
    const encoded = await encodeAll(data, 4, 6, pieceSize)
    const original = createShardTreeBuilders({ total: 6, pieceSize, keepLevelsFrom: 1 })
    const repaired = createShardTreeBuilders({ total: 6, pieceSize })
    for (const segment of encoded.segments) {
      original.update(segment.pieces)
      // Shards 1 and 4 are lost: rebuild them from 0, 2, 3, 5.
      const available = segment.pieces.map((p, i) => (i === 1 || i === 4 ? undefined : p))
      const [one, four] = rebuildPieces({ k: 4, total: 6, pieces: available, wanted: [1, 4] })
      assert.deepEqual(one, segment.pieces[1])
      assert.deepEqual(four, segment.pieces[4])
      repaired.update(available.map((p, i) => p ?? (i === 1 ? one : four) ?? new Uint8Array(0)))
    }
    const trees = original.finish()
    const rebuilt = repaired.finish()
    assert.equal(trees.length, 6)
    for (const [i, tree] of trees.entries()) {
      assert.equal(hex(rebuilt[i]?.root as Uint8Array), hex(tree.root))
      assert.equal(tree.pieceRoots.length, encoded.segments.length)
      assert.equal(tree.size, 7 * pieceSize + 1 * KiB)
      const shard = concat(encoded.segments.map((s) => s.pieces[i] as Uint8Array))
      assert.equal(hex(tree.root), hex(merkleRoot(shard)))
      for (const [j, segment] of encoded.segments.entries()) {
        assert.equal(hex(tree.pieceRoots[j] as Uint8Array), hex(merkleRoot(segment.pieces[i] as Uint8Array)))
      }
      assert.ok(tree.levels.has(1) && !tree.levels.has(0))
      assert.equal(rebuilt[i]?.levels.size, 0)
    }
    assert.throws(
      () =>
        rebuildPieces({
          k: 4,
          total: 6,
          pieces: [
            undefined,
            undefined,
            undefined,
            new Uint8Array(1024),
            new Uint8Array(1024),
            new Uint8Array(1024),
          ],
          wanted: [0],
        }),
      NotEnoughShardsError,
    )
  })

  test('a one-segment shard shorter than P: its piece root is its root', async () => {
    const encoded = await encodeAll(new Uint8Array(100), 4, 6)
    const trees = createShardTreeBuilders({ total: 6, pieceSize: 16 * MiB })
    for (const segment of encoded.segments) trees.update(segment.pieces)
    for (const tree of trees.finish()) {
      assert.equal(tree.pieceRoots.length, 1)
      assert.equal(hex(tree.pieceRoots[0] as Uint8Array), hex(tree.root))
    }
  })

  test('object index: records survive encode → any k pieces → decode (bigints, bytes)', async () => {
    const encoded = await encodeAll(new Uint8Array(randomBytes(9 * KiB)), 2, 3, KiB)
    const record: ObjectRecord = {
      ...encoded.record,
      createdAt: 1_700_000_000,
      shards: [
        {
          shardIndex: 0,
          erasureIndex: 2,
          root: new Uint8Array(32).fill(7),
          provider: `0x${'ab'.repeat(20)}`,
        },
      ],
    }
    const { blob, pieceSize, pieces } = encodeIndex([record, { ...record, name: 'ünïcode ✓' }], masterKey, {
      k: 4,
      total: 6,
    })
    assert.equal(blob.length % (4 * LEAF_SIZE), 0)
    assert.equal(pieceSize, blob.length / 4)
    assert.equal(pieces.length, 6)
    const fromBlob = decodeIndex(blob, masterKey)
    assert.deepEqual(fromBlob, [record, { ...record, name: 'ünïcode ✓' }])
    assert.equal(fromBlob[0]?.dealId, 2n ** 70n)
    const fromPieces = decodeIndex(
      { pieces: [undefined, pieces[1], undefined, pieces[3], pieces[4], pieces[5]], k: 4, total: 6 },
      masterKey,
    )
    assert.deepEqual(fromPieces, fromBlob)
    assert.throws(
      () => decodeIndex(blob, deriveMasterKey({ secret: 'another secret of sixteen bytes' })),
      DecryptionFailedError,
    )
    assert.deepEqual(decodeIndex(encodeIndex([], masterKey, { k: 4, total: 6 }).blob, masterKey), [])
  })

  test('new segment records leave out piece hashes; older records with them still parse and give them', async () => {
    const { record, segments } = await encodeAll(new Uint8Array(randomBytes(5 * KiB)), 2, 3, KiB)
    for (const segment of record.segments) assert.equal(segment.pieceHashes, undefined)
    const [parsed] = parseObjectIndex(serializeObjectIndex([record]))
    assert.deepEqual(parsed, { ...record, shards: [] })
    // An older record: the sha256 of each piece, 32 bytes per erasure index.
    const older: ObjectRecord = {
      ...record,
      shards: [],
      segments: record.segments.map((segment, s) => ({
        ...segment,
        pieceHashes: concat(
          (segments[s] as EncodedSegment).pieces.map((piece) => createHash('sha256').update(piece).digest()),
        ),
      })),
    }
    const [parsedOlder] = parseObjectIndex(serializeObjectIndex([older]))
    assert.deepEqual(parsedOlder, older)
    for (const [s, segment] of segments.entries()) {
      for (const [i, piece] of segment.pieces.entries()) {
        const recorded = pieceHashOf(parsedOlder?.segments[s] as SegmentRecord, i)
        assert.equal(hex(recorded as Uint8Array), createHash('sha256').update(piece).digest('hex'))
      }
      assert.equal(pieceHashOf(parsedOlder?.segments[s] as SegmentRecord, 3), undefined)
    }
    assert.equal(pieceHashOf(parsed?.segments[0] as SegmentRecord, 0), undefined)
    // A hash list of the wrong length (not 32 bytes per erasure index) is refused.
    const broken = JSON.parse(serializeObjectIndex([older]))
    broken.objects[0].segments[0].pieceHashes = '0x1234'
    assert.throws(() => parseObjectIndex(JSON.stringify(broken)), /pieceHashes is not 96 bytes/)
  })

  /** Encodes `size` deterministic bytes and decodes them again as the encoder goes (keeping pieces 1, 2, 4, 5: a download that lost data pieces 0 and 3), one segment in memory at a time. */
  async function streamThrough(size: number, pieceSize?: number) {
    const objectId = new Uint8Array(randomBytes(32))
    const expected = createHash('sha256')
    for (const chunk of deterministic(size, 'stoa')) expected.update(chunk)
    const encoding = encodeObject({
      source: Readable.from(deterministic(size, 'stoa')),
      size,
      k: 4,
      total: 6,
      objectId,
      masterKey,
      pieceSize,
    })
    const trees = createShardTreeBuilders({ total: 6, pieceSize: encoding.plan.pieceSize })
    const records: SegmentRecord[] = []
    const rss: number[] = []
    let encodeMs = 0
    let treeMs = 0
    async function* downloaded() {
      let started = performance.now()
      for await (const segment of encoding) {
        encodeMs += performance.now() - started
        const treeStarted = performance.now()
        trees.update(segment.pieces)
        treeMs += performance.now() - treeStarted
        records.push(segment.record)
        rss.push(process.memoryUsage().rss)
        yield {
          segmentIndex: segment.segmentIndex,
          pieces: segment.pieces.map((p, i) => (i === 0 || i === 3 ? undefined : p)),
        }
        started = performance.now()
      }
      encodeMs += performance.now() - started
    }
    const object = {
      k: 4,
      total: 6,
      objectId,
      size,
      segments: records,
      get sha256() {
        return encoding.result().sha256
      },
    }
    const actual = createHash('sha256')
    let decodedBytes = 0
    let decodeMs = 0
    let started = performance.now()
    for await (const part of decodeObject({ object, masterKey, segments: downloaded() })) {
      decodeMs += performance.now() - started
      actual.update(part)
      decodedBytes += part.length
      started = performance.now()
    }
    trees.finish()
    assert.equal(decodedBytes, size)
    const sha256 = hex(encoding.result().sha256)
    assert.equal(sha256, expected.digest('hex'))
    assert.equal(actual.digest('hex'), sha256)
    // decodeMs includes the encoder's and trees' time spent inside the pulled generator.
    return { encodeMs, treeMs, decodeMs: decodeMs - encodeMs - treeMs, rss, segments: records.length }
  }

  test('100 MiB streams through (4-of-6, 8 MiB pieces): hashes match', async () => {
    const mib = 100
    const { encodeMs, treeMs, decodeMs, segments } = await streamThrough(mib * MiB)
    assert.equal(segments, 4)
    console.log(
      `100 MiB, 4-of-6, P = 8 MiB: encoder (read + encrypt + RS) ${(mib / (encodeMs / 1000)).toFixed(0)} MiB/s, ` +
        `6 shard trees ${(mib / (treeMs / 1000)).toFixed(0)} MiB/s of file, ` +
        `decoder (RS with 2 data pieces lost + decrypt) ${(mib / (decodeMs / 1000)).toFixed(0)} MiB/s`,
    )
  })

  test('memory does not grow with the file: 100 MiB in 26 segments of 4 MiB', async () => {
    const { rss, segments } = await streamThrough(100 * MiB, MiB)
    assert.equal(segments, 26) // 4 MiB - 16 bytes of plaintext each
    const settled = rss[4] as number
    const most = Math.max(...rss.slice(4))
    console.log(
      `rss after segment 5: ${Math.round(settled / MiB)} MiB, most after: ${Math.round(most / MiB)} MiB`,
    )
    assert.ok(most - settled < 64 * MiB, `rss grew by ${Math.round((most - settled) / MiB)} MiB`)
  })
})
