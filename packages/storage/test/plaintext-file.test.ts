import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  createPlaintextFileWriter,
  DecryptionFailedError,
  deriveMasterKey,
  type EncodedSegment,
  encodeObject,
  PlaintextWriterFailedError,
  type SegmentRecord,
} from '../src/index.ts'

const KiB = 1024
const masterKey = deriveMasterKey({ secret: 'a test secret of sixteen bytes or more' })

/** `data` encoded k-of-total with pieces of `pieceSize`: its segments, records and object id. */
async function encode(data: Uint8Array, k: number, total: number, pieceSize: number) {
  const objectId = new Uint8Array(randomBytes(32))
  const encoding = encodeObject({
    source: [data],
    size: data.length,
    k,
    total,
    objectId,
    masterKey,
    pieceSize,
  })
  const segments: EncodedSegment[] = []
  for await (const segment of encoding) segments.push(segment)
  return { objectId, segments, records: encoding.result().segments }
}

describe('createPlaintextFileWriter (decrypting into a file on a worker thread)', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stoa-plaintext-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes every segment at its place, from shared buffers, copies and rebuilt pieces, in any order', async () => {
    const data = new Uint8Array(randomBytes(100 * KiB + 3))
    const k = 2
    const total = 4
    const { objectId, segments, records } = await encode(data, k, total, 8 * KiB)
    assert.ok(segments.length > 4)
    const path = join(dir, 'out.bin')
    const handle = await open(path, 'w')
    const writer = createPlaintextFileWriter({ fd: handle.fd })
    assert.equal(await writer.ready(), true)
    const offsets = records.map((_, s) => records.slice(0, s).reduce((sum, r) => sum + r.plainSize, 0))
    // Last segment first; even segments from shared buffers, odd ones from plain copies with a
    // data piece missing (rebuilt from parity).
    const order = segments.map((_, s) => s).reverse()
    const writes = order.map((s) => {
      const segment = segments[s] as EncodedSegment
      const pieces = segment.pieces.map((piece, i) => {
        if (s % 2 === 1) return i === 0 ? undefined : piece.slice()
        const shared = writer.allocate(piece.length)
        shared.set(piece)
        return shared
      })
      return writer.writeSegment({
        segmentIndex: s,
        record: records[s] as SegmentRecord,
        objectId,
        masterKey,
        k,
        total,
        pieces,
        position: offsets[s] as number,
      })
    })
    const written = await Promise.all(writes)
    assert.deepEqual(
      written,
      order.map((s) => (records[s] as SegmentRecord).plainSize),
    )
    await writer.close()
    await handle.close()
    assert.deepEqual(new Uint8Array(await readFile(path)), data)
  })

  it('refuses a changed piece or a segment in the wrong place, writing nothing of it', async () => {
    const data = new Uint8Array(randomBytes(40 * KiB))
    const { objectId, segments, records } = await encode(data, 2, 4, 8 * KiB)
    const path = join(dir, 'refused.bin')
    const handle = await open(path, 'w')
    const writer = createPlaintextFileWriter({ fd: handle.fd })
    const first = segments[0] as EncodedSegment
    const base = {
      segmentIndex: 0,
      record: records[0] as SegmentRecord,
      objectId,
      masterKey,
      k: 2,
      total: 4,
      position: 0,
    }
    const changed = first.pieces.map((piece) => {
      const shared = writer.allocate(piece.length)
      shared.set(piece)
      return shared
    })
    const piece = changed[1] as Uint8Array
    piece[5] = (piece[5] as number) ^ 1
    await assert.rejects(writer.writeSegment({ ...base, pieces: changed }), DecryptionFailedError)
    // Segment 1's pieces offered as segment 0.
    await assert.rejects(
      writer.writeSegment({ ...base, pieces: (segments[1] as EncodedSegment).pieces }),
      DecryptionFailedError,
    )
    // The writer goes on: the right pieces are written.
    assert.equal(await writer.writeSegment({ ...base, pieces: first.pieces }), base.record.plainSize)
    await writer.close()
    await assert.rejects(writer.writeSegment({ ...base, pieces: first.pieces }), PlaintextWriterFailedError)
    await handle.close()
    assert.deepEqual(new Uint8Array(await readFile(path)), data.subarray(0, base.record.plainSize))
  })

  it("reports the file's error (a descriptor not open for writing)", async () => {
    const data = new Uint8Array(randomBytes(5 * KiB))
    const { objectId, segments, records } = await encode(data, 2, 4, 8 * KiB)
    const path = join(dir, 'read-only.bin')
    await (await open(path, 'w')).close()
    const handle = await open(path, 'r')
    const writer = createPlaintextFileWriter({ fd: handle.fd })
    await assert.rejects(
      writer.writeSegment({
        segmentIndex: 0,
        record: records[0] as SegmentRecord,
        objectId,
        masterKey,
        k: 2,
        total: 4,
        pieces: (segments[0] as EncodedSegment).pieces,
        position: 0,
      }),
      { code: 'EBADF' },
    )
    await writer.close()
    await handle.close()
  })
})
