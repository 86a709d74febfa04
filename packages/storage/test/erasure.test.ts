import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { BaseError } from '@stoa/protocol'
import { invertMatrix } from '../src/erasure/matrix.ts'
import {
  createErasureCoder,
  type ErasureCoder,
  gfInverse,
  gfMultiply,
  NotEnoughShardsError,
  parityMatrix,
  ShardSizeMismatchError,
} from '../src/index.ts'

const implementations = ['wasm', 'scalar'] as const
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

/** Multiplication in GF(2^8) mod 0x11d the schoolbook way, independent of the log tables. */
function slowMultiply(a: number, b: number): number {
  let product = 0
  for (let bit = 0; bit < 8; bit++) {
    if (b & (1 << bit)) product ^= a
    a <<= 1
    if (a & 0x100) a ^= 0x11d
  }
  return product
}

function randomShards(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, () => new Uint8Array(randomBytes(size)))
}

/** Every subset of {0..n-1} with at most `most` elements. */
function subsets(n: number, most: number): number[][] {
  const result: number[][] = [[]]
  for (let i = 0; i < n; i++) {
    for (const subset of [...result]) if (subset.length < most) result.push([...subset, i])
  }
  return result
}

describe('GF(2^8)', () => {
  test('multiplication matches the schoolbook product for all 65536 pairs', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) assert.equal(gfMultiply(a, b), slowMultiply(a, b), `${a} · ${b}`)
    }
  })

  test('every nonzero element has an inverse, and 0 has none', () => {
    for (let a = 1; a < 256; a++) assert.equal(gfMultiply(a, gfInverse(a)), 1)
    assert.throws(() => gfInverse(0), RangeError)
  })
})

describe('generator matrix', () => {
  test('is pinned: stored parity depends on these coefficients', () => {
    assert.deepEqual(parityMatrix(4, 2).map(hex), ['01010101', '08040201'])
    assert.deepEqual(parityMatrix(10, 4).map(hex), [
      '01010101010101010101',
      '3a1d8040201008040201',
      '013b86fe61a782033766',
      '0141f0e416b862f9fa18',
    ])
  })

  test('row 0 is all ones, row 1 is 2^(k-1) … 2 1, the other rows start with 1', () => {
    for (const [k, m] of [
      [1, 1],
      [5, 3],
      [17, 8],
      [200, 56],
      [254, 2],
      [255, 1],
    ] as const) {
      const rows = parityMatrix(k, m)
      assert.ok(rows[0]?.every((c) => c === 1))
      rows[1]?.forEach((c, i) => {
        let power = 1
        for (let e = 0; e < k - 1 - i; e++) power = slowMultiply(power, 2)
        assert.equal(c, power, `P[1][${i}]`)
      })
      assert.ok(rows.every((row, j) => j === 1 || row[0] === 1))
      assert.ok(rows.every((row) => row.every((c) => c !== 0)))
    }
  })

  test('is MDS: every square submatrix of P is invertible (k = 6, m = 4, exhaustively)', () => {
    const rows = parityMatrix(6, 4)
    for (const rowSet of subsets(4, 4).filter((s) => s.length > 0)) {
      for (const columnSet of subsets(6, rowSet.length).filter((s) => s.length === rowSet.length)) {
        const square = rowSet.map((r) => Uint8Array.from(columnSet, (c) => rows[r]?.[c] as number))
        assert.doesNotThrow(() => invertMatrix(square), `rows ${rowSet} columns ${columnSet}`)
      }
    }
  })
  test('is MDS: random square submatrices of large codes are invertible', () => {
    for (const [k, m] of [
      [200, 56],
      [128, 128],
      [254, 2],
      [20, 8],
    ] as const) {
      const rows = parityMatrix(k, m)
      const shuffled = (n: number) => [...Array(n).keys()].sort(() => Math.random() - 0.5)
      for (let trial = 0; trial < 100; trial++) {
        const size = 1 + Math.floor(Math.random() * Math.min(k, m, 24))
        const rowSet = shuffled(m).slice(0, size)
        const columnSet = shuffled(k).slice(0, size)
        const square = rowSet.map((r) => Uint8Array.from(columnSet, (c) => rows[r]?.[c] as number))
        assert.doesNotThrow(() => invertMatrix(square), `k=${k} m=${m} rows ${rowSet} columns ${columnSet}`)
      }
    }
  })
})

describe('fixed vectors (k = 4, m = 2)', () => {
  const data = Array.from({ length: 4 }, (_, i) =>
    Uint8Array.from({ length: 8 }, (_, b) => (i * 37 + b * 11 + i * b * 3 + 5) & 255),
  )
  const expected = ['14c0b04004306018', '6a28a3c9ffad7c31']

  test('the vectors follow from the definition', () => {
    // parity 0 is the XOR of the data; parity 1 is Σ 2^(3-i) · data[i] (RAID-6's Q, data reversed)
    const coefficients = [0x08, 0x04, 0x02, 0x01]
    const parity0 = new Uint8Array(8)
    const parity1 = new Uint8Array(8)
    data.forEach((shard, i) => {
      shard.forEach((byte, b) => {
        parity0[b] = (parity0[b] as number) ^ byte
        parity1[b] = (parity1[b] as number) ^ slowMultiply(coefficients[i] as number, byte)
      })
    })
    assert.deepEqual([hex(parity0), hex(parity1)], expected)
  })

  for (const implementation of implementations) {
    test(`${implementation}: encode gives the known parity`, () => {
      const coder = createErasureCoder({ k: 4, m: 2, implementation })
      assert.deepEqual(coder.encode(data).map(hex), expected)
    })

    test(`${implementation}: every erasure set of size ≤ 2 rebuilds the same bytes`, () => {
      const coder = createErasureCoder({ k: 4, m: 2, implementation })
      const shards = [...data, ...coder.encode(data)]
      const sets = subsets(6, 2)
      assert.equal(sets.length, 1 + 6 + 15)
      for (const lost of sets) {
        const damaged = shards.map((shard, i) => (lost.includes(i) ? undefined : shard))
        coder.reconstruct(damaged)
        assert.deepEqual(
          damaged.map((s) => hex(s as Uint8Array)),
          shards.map(hex),
          `lost ${lost}`,
        )
      }
    })

    test(`${implementation}: every erasure set of size ≤ 2 on random 1000-byte shards`, () => {
      const coder = createErasureCoder({ k: 4, m: 2, implementation })
      const dataShards = randomShards(4, 1000)
      const shards = [...dataShards, ...coder.encode(dataShards)]
      for (const lost of subsets(6, 2)) {
        const damaged = shards.map((shard, i) => (lost.includes(i) ? undefined : shard))
        coder.reconstruct(damaged)
        damaged.forEach((shard, i) => {
          assert.deepEqual(shard, shards[i], `lost ${lost}, shard ${i}`)
        })
      }
    })
  }
})

describe('coder', () => {
  for (const implementation of implementations) {
    test(`${implementation}: k + m = 256 works (k = 200, m = 56), losing 56 shards`, () => {
      const coder = createErasureCoder({ k: 200, m: 56, implementation })
      const dataShards = randomShards(200, 100)
      const shards = [...dataShards, ...coder.encode(dataShards)]
      const lost = new Set<number>()
      while (lost.size < 56) lost.add(Math.floor(Math.random() * 256))
      const damaged = shards.map((shard, i) => (lost.has(i) ? undefined : shard))
      coder.reconstruct(damaged)
      damaged.forEach((shard, i) => {
        assert.deepEqual(shard, shards[i], `shard ${i}`)
      })
    })

    test(`${implementation}: k = 255, m = 1 and k = 1, m = 255`, () => {
      for (const [k, m] of [
        [255, 1],
        [1, 255],
      ] as const) {
        const coder = createErasureCoder({ k, m, implementation })
        const dataShards = randomShards(k, 33)
        const shards = [...dataShards, ...coder.encode(dataShards)]
        const lost = k === 1 ? [0, 1, 2, 100] : [7]
        const damaged = shards.map((shard, i) => (lost.includes(i) ? undefined : shard))
        coder.reconstruct(damaged)
        damaged.forEach((shard, i) => {
          assert.deepEqual(shard, shards[i], `k=${k} shard ${i}`)
        })
        if (k === 1) assert.ok(shards.every((shard) => hex(shard) === hex(dataShards[0] as Uint8Array)))
      }
    })

    test(`${implementation}: wanted rebuilds only the shards asked for`, () => {
      const coder = createErasureCoder({ k: 5, m: 3, implementation })
      const dataShards = randomShards(5, 77)
      const shards = [...dataShards, ...coder.encode(dataShards)]
      for (const [lost, wanted] of [
        [[0, 1, 6], [1]],
        [
          [0, 1, 6],
          [6, 3],
        ],
        [
          [2, 5, 7],
          [5, 7],
        ],
        [[2, 5, 7], [2]],
        [
          [1, 2, 3],
          [1, 2, 3],
        ],
      ] as const) {
        const damaged = shards.map((shard, i) =>
          (lost as readonly number[]).includes(i) ? undefined : shard,
        )
        coder.reconstruct(damaged, wanted)
        damaged.forEach((shard, i) => {
          if ((wanted as readonly number[]).includes(i) || !(lost as readonly number[]).includes(i)) {
            assert.deepEqual(shard, shards[i], `lost ${lost}, wanted ${wanted}, shard ${i}`)
          } else {
            assert.equal(shard, undefined, `shard ${i} was not wanted`)
          }
        })
      }
    })

    test(`${implementation}: writes into given buffers, and accepts Buffers and offset views`, () => {
      const coder = createErasureCoder({ k: 3, m: 2, implementation })
      const backing = randomBytes(3 * 101 + 5)
      const dataShards = [0, 1, 2].map((i) => backing.subarray(5 + i * 101, 5 + (i + 1) * 101))
      const parity = [new Uint8Array(101), new Uint8Array(101)]
      const returned = coder.encode(dataShards, parity)
      assert.equal(returned[0], parity[0])
      assert.deepEqual(parity, coder.encode(dataShards.map((shard) => Uint8Array.from(shard))))
      const into = new Uint8Array(101)
      const damaged = [dataShards[0], undefined, dataShards[2], ...parity]
      coder.reconstruct(damaged, undefined, [undefined, into, undefined, undefined, undefined])
      assert.equal(damaged[1], into)
      assert.deepEqual(into, Uint8Array.from(dataShards[1] as Uint8Array))
    })

    test(`${implementation}: zero-length shards`, () => {
      const coder = createErasureCoder({ k: 2, m: 2, implementation })
      const parity = coder.encode([new Uint8Array(0), new Uint8Array(0)])
      assert.deepEqual(parity, [new Uint8Array(0), new Uint8Array(0)])
      const damaged = [undefined, new Uint8Array(0), undefined, new Uint8Array(0)]
      coder.reconstruct(damaged)
      assert.deepEqual(damaged, [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)])
    })
  }

  test('wasm is the default, and names its kernel', () => {
    assert.match(createErasureCoder({ k: 2, m: 1 }).kernel, /^wasm-(relaxed-)?simd$/)
    assert.equal(createErasureCoder({ k: 2, m: 1, implementation: 'scalar' }).kernel, 'scalar')
  })
})

describe('errors', () => {
  const coder: ErasureCoder = createErasureCoder({ k: 4, m: 2 })
  const dataShards = randomShards(4, 64)
  const parity = coder.encode(dataShards)

  test('bad k, m or implementation', () => {
    for (const [parameters, field] of [
      [{ k: 0, m: 2 }, 'k'],
      [{ k: 1.5, m: 2 }, 'k'],
      [{ k: 256, m: 1 }, 'k'],
      [{ k: 4, m: 0 }, 'm'],
      [{ k: 200, m: 57 }, 'm'],
      [{ k: Number.NaN, m: 2 }, 'k'],
      [{ k: 4, m: 2, implementation: 'gpu' }, 'implementation'],
    ] as const) {
      assert.throws(
        () => createErasureCoder(parameters as Parameters<typeof createErasureCoder>[0]),
        (error: unknown) => {
          assert.ok(error instanceof BaseError)
          assert.equal(error.name, 'InvalidParameterError')
          assert.match(error.shortMessage, new RegExp(`^Invalid \`${field}\``))
          return true
        },
      )
    }
  })

  test('encode: wrong shard count, wrong type, unequal sizes, bad output buffers', () => {
    assert.throws(() => coder.encode(dataShards.slice(0, 3)), { name: 'InvalidParameterError' })
    assert.throws(() => coder.encode([...dataShards.slice(0, 3), 'x' as unknown as Uint8Array]), {
      name: 'InvalidParameterError',
      shortMessage: /`dataShards\[3\]`/,
    })
    const uneven = [...dataShards.slice(0, 3), new Uint8Array(63)]
    assert.throws(
      () => coder.encode(uneven),
      (error: unknown) => {
        assert.ok(error instanceof ShardSizeMismatchError)
        assert.equal(error.name, 'ShardSizeMismatchError')
        assert.deepEqual([error.index, error.size, error.expected], [3, 63, 64])
        return true
      },
    )
    assert.throws(() => coder.encode(dataShards, [new Uint8Array(64)]), { shortMessage: /`parity`/ })
    assert.throws(() => coder.encode(dataShards, [new Uint8Array(64), new Uint8Array(65)]), {
      shortMessage: /`parity\[1\]`/,
    })
    assert.throws(() => coder.encode(dataShards, [dataShards[2] as Uint8Array, new Uint8Array(64)]), {
      shortMessage: /`parity\[0\]`: expected a buffer sharing no memory/,
    })
  })

  test('reconstruct: more than m erasures fail before anything changes', () => {
    for (const lost of [
      [0, 1, 2],
      [3, 4, 5],
      [0, 1, 2, 3, 4, 5],
    ]) {
      const damaged = [...dataShards, ...parity].map((shard, i) => (lost.includes(i) ? undefined : shard))
      const before = [...damaged]
      assert.throws(
        () => coder.reconstruct(damaged),
        (error: unknown) => {
          assert.ok(error instanceof NotEnoughShardsError)
          assert.equal(error.name, 'NotEnoughShardsError')
          assert.equal(error.available, 6 - lost.length)
          assert.equal(error.needed, 4)
          assert.match(error.shortMessage, /rebuilding needs any 4 of them/)
          return true
        },
      )
      assert.deepEqual(damaged, before)
    }
  })

  test('reconstruct: too many erasures are fine when the wanted shards are present', () => {
    const damaged = [dataShards[0], undefined, undefined, undefined, parity[0], parity[1]]
    coder.reconstruct(damaged, [0, 4])
    assert.deepEqual(damaged.slice(1, 4), [undefined, undefined, undefined])
  })

  test('reconstruct: bad arrays, entries, sizes, wanted and buffers', () => {
    const all = [...dataShards, ...parity]
    assert.throws(() => coder.reconstruct(all.slice(0, 5)), { shortMessage: /`shards`/ })
    assert.throws(() => coder.reconstruct([null as unknown as Uint8Array, ...all.slice(1)]), {
      shortMessage: /`shards\[0\]`: expected a Uint8Array, or undefined when missing, got null/,
    })
    assert.throws(() => coder.reconstruct([undefined, new Uint8Array(3), ...all.slice(2)]), {
      name: 'ShardSizeMismatchError',
    })
    assert.throws(() => coder.reconstruct([undefined, ...all.slice(1)], [6]), {
      shortMessage: /`wanted\[0\]`/,
    })
    assert.throws(() => coder.reconstruct([undefined, ...all.slice(1)], [0.5]), {
      shortMessage: /`wanted\[0\]`/,
    })
    assert.throws(() => coder.reconstruct([undefined, ...all.slice(1)], undefined, []), {
      shortMessage: /`buffers`/,
    })
    assert.throws(
      () =>
        coder.reconstruct([undefined, ...all.slice(1)], undefined, [
          new Uint8Array(10),
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
        ]),
      { shortMessage: /`buffers\[0\]`: expected a Uint8Array of 64 bytes/ },
    )
    assert.throws(
      () =>
        coder.reconstruct([undefined, ...all.slice(1)], undefined, [
          all[3],
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
        ]),
      { shortMessage: /`buffers\[0\]`: expected a buffer sharing no memory/ },
    )
  })
})
