import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createErasureCoder } from '../src/index.ts'

const packageRoot = fileURLToPath(new URL('..', import.meta.url))

/** Odd sizes around the kernel's 64-byte step and the driver's stripes (up to 64 KiB). */
const sizes = [1, 15, 16, 17, 31, 33, 63, 65, 1000, 4097, 65535, 65536 + 7, 200_001]

function randomShards(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, () => new Uint8Array(randomBytes(size)))
}

function pick(count: number, from: number): number[] {
  const chosen = new Set<number>()
  while (chosen.size < count) chosen.add(Math.floor(Math.random() * from))
  return [...chosen].sort((a, b) => a - b)
}

describe('WASM kernel against the scalar reference', () => {
  // m = 1..9 covers every kernel entry (0 to 4 products per pass, with and without the XOR
  // output) and plans of several passes.
  const codes = [
    [1, 1],
    [3, 1],
    [4, 2],
    [6, 3],
    [10, 4],
    [8, 5],
    [12, 9],
    [30, 20],
  ] as const

  for (const [k, m] of codes) {
    test(`k = ${k}, m = ${m}: encode and random reconstructions agree byte for byte`, () => {
      const wasm = createErasureCoder({ k, m, implementation: 'wasm' })
      const scalar = createErasureCoder({ k, m, implementation: 'scalar' })
      for (const size of sizes) {
        const dataShards = randomShards(k, size)
        const parity = wasm.encode(dataShards)
        assert.deepEqual(parity, scalar.encode(dataShards), `encode, ${size} bytes`)
        const shards = [...dataShards, ...parity]
        for (let trial = 0; trial < 3; trial++) {
          const lost = pick(1 + Math.floor(Math.random() * m), k + m)
          const fromWasm = shards.map((shard, i) => (lost.includes(i) ? undefined : shard))
          const fromScalar = [...fromWasm]
          wasm.reconstruct(fromWasm)
          scalar.reconstruct(fromScalar)
          assert.deepEqual(fromWasm, fromScalar, `lost ${lost}, ${size} bytes`)
          assert.deepEqual(fromWasm, shards, `lost ${lost}, ${size} bytes`)
        }
      }
    })
  }

  test('the rebuild cases that use parity 0 as a shortcut', () => {
    // k = 6, m = 3: data lost with parity 0 present (last data = XOR), parity 0 lost with data
    // (P0 = XOR of data and rebuilt data), only parity lost (plain encode), parity 0 not wanted.
    const wasm = createErasureCoder({ k: 6, m: 3 })
    const scalar = createErasureCoder({ k: 6, m: 3, implementation: 'scalar' })
    const dataShards = randomShards(6, 4099)
    const shards = [...dataShards, ...wasm.encode(dataShards)]
    for (const [lost, wanted] of [
      [[0], undefined],
      [[1, 4], undefined],
      [[0, 2, 5], undefined],
      [[3, 6], undefined],
      [[2, 3, 6], undefined],
      [[6, 7, 8], undefined],
      [[6], undefined],
      [[7], undefined],
      [[7, 8], undefined],
      [
        [1, 6, 8],
        [6, 8],
      ],
      [[1, 2], [2]],
    ] as const) {
      const fromWasm = shards.map((shard, i) => ((lost as readonly number[]).includes(i) ? undefined : shard))
      const fromScalar = [...fromWasm]
      wasm.reconstruct(fromWasm, wanted)
      scalar.reconstruct(fromScalar, wanted)
      assert.deepEqual(fromWasm, fromScalar, `lost ${lost}`)
      fromWasm.forEach((shard, i) => {
        if (shard !== undefined) assert.deepEqual(shard, shards[i], `lost ${lost}, shard ${i}`)
      })
    }
  })

  test('the relaxed-SIMD build gives the same bytes (engines that have relaxed SIMD)', () => {
    // Node 20 has relaxed SIMD behind a flag; later versions ship it. Run a child with the flag
    // and check that it picks the relaxed build and matches the scalar reference.
    const script = `
      import { createErasureCoder } from './src/index.ts'
      import { randomBytes } from 'node:crypto'
      const wasm = createErasureCoder({ k: 10, m: 4 })
      const scalar = createErasureCoder({ k: 10, m: 4, implementation: 'scalar' })
      const data = Array.from({ length: 10 }, () => new Uint8Array(randomBytes(70001)))
      const parity = wasm.encode(data)
      const same = parity.every((p, j) => Buffer.from(p).equals(scalar.encode(data)[j]))
      const damaged = [undefined, undefined, ...data.slice(2), undefined, ...parity.slice(1)]
      wasm.reconstruct(damaged)
      const rebuilt = damaged.every((s, i) => Buffer.from(s).equals(i < 10 ? data[i] : parity[i - 10]))
      console.log(wasm.kernel, same, rebuilt)
    `
    const run = spawnSync(
      process.execPath,
      ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: packageRoot, encoding: 'utf8' },
    )
    assert.equal(run.status, 0, run.stderr)
    assert.equal(run.stdout.trim(), 'wasm-relaxed-simd true true')
  })

  test('the committed kernels are a fresh build of assembly/erasure-kernel.ts', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-erasure-kernel.ts', '--check'],
      {
        cwd: packageRoot,
        encoding: 'utf8',
      },
    )
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
  })
})
