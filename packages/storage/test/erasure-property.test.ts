import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { createErasureCoder, type ErasureCoder, NotEnoughShardsError } from '../src/index.ts'

/** A code (k 1..20, m 1..8), its data (0..300 bytes a shard) and a set of lost shards. */
const caseArbitrary = (lossesAtMost: (m: number) => number, lossesAtLeast: (m: number) => number = () => 0) =>
  fc
    .record({
      k: fc.integer({ min: 1, max: 20 }),
      m: fc.integer({ min: 1, max: 8 }),
      size: fc.nat({ max: 300 }),
    })
    .chain(({ k, m, size }) =>
      fc.record({
        k: fc.constant(k),
        m: fc.constant(m),
        data: fc.array(fc.uint8Array({ minLength: size, maxLength: size }), { minLength: k, maxLength: k }),
        lost: fc.uniqueArray(fc.nat({ max: k + m - 1 }), {
          minLength: Math.min(lossesAtLeast(m), k + m),
          maxLength: Math.min(lossesAtMost(m), k + m),
        }),
      }),
    )

const coders = new Map<string, ErasureCoder>()
function coderFor(k: number, m: number, implementation: 'wasm' | 'scalar'): ErasureCoder {
  const key = `${k}/${m}/${implementation}`
  let coder = coders.get(key)
  if (coder === undefined) {
    coder = createErasureCoder({ k, m, implementation })
    coders.set(key, coder)
  }
  return coder
}

describe('Reed-Solomon properties', () => {
  test('any erasure pattern of up to m shards (data and parity) rebuilds the original bytes', () => {
    fc.assert(
      fc.property(
        caseArbitrary((m) => m),
        ({ k, m, data, lost }) => {
          const coder = coderFor(k, m, 'wasm')
          const shards = [...data, ...coder.encode(data)]
          const damaged = shards.map((shard, i) => (lost.includes(i) ? undefined : shard))
          coder.reconstruct(damaged)
          assert.deepEqual(damaged, shards)
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('the WASM kernel and the scalar reference agree on encode and on every rebuild', () => {
    fc.assert(
      fc.property(
        caseArbitrary((m) => m),
        ({ k, m, data, lost }) => {
          const parity = coderFor(k, m, 'wasm').encode(data)
          assert.deepEqual(parity, coderFor(k, m, 'scalar').encode(data))
          const damaged = [...data, ...parity].map((shard, i) => (lost.includes(i) ? undefined : shard))
          const viaScalar = [...damaged]
          coderFor(k, m, 'wasm').reconstruct(damaged)
          coderFor(k, m, 'scalar').reconstruct(viaScalar)
          assert.deepEqual(damaged, viaScalar)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('rebuilding a chosen subset gives exactly those shards', () => {
    fc.assert(
      fc.property(
        caseArbitrary((m) => m).chain((c) =>
          fc
            .record({ c: fc.constant(c), wanted: fc.subarray(c.lost) })
            .map(({ c, wanted }) => ({ ...c, wanted })),
        ),
        ({ k, m, data, lost, wanted }) => {
          const coder = coderFor(k, m, 'wasm')
          const shards = [...data, ...coder.encode(data)]
          const damaged = shards.map((shard, i) => (lost.includes(i) ? undefined : shard))
          coder.reconstruct(damaged, wanted)
          damaged.forEach((shard, i) => {
            if (lost.includes(i) && !wanted.includes(i)) assert.equal(shard, undefined)
            else assert.deepEqual(shard, shards[i])
          })
        },
      ),
      { numRuns: 300 },
    )
  })

  test('more than m erasures throw NotEnoughShardsError and change nothing', () => {
    fc.assert(
      fc.property(
        caseArbitrary(
          (m) => m + 3,
          (m) => m + 1,
        ),
        ({ k, m, data, lost }) => {
          const coder = coderFor(k, m, 'wasm')
          const damaged = [...data, ...coder.encode(data)].map((shard, i) =>
            lost.includes(i) ? undefined : shard,
          )
          const before = [...damaged]
          assert.throws(() => coder.reconstruct(damaged), NotEnoughShardsError)
          assert.deepEqual(damaged, before)
        },
      ),
      { numRuns: 300 },
    )
  })
})
