import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  hasWasmSha256,
  loadSha256Batch,
  nodeSha256Batch,
  type Sha256Batch,
  wasmSha256Batch,
} from '../src/sha256-wasm.ts'

const packageRoot = fileURLToPath(new URL('..', import.meta.url))

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const part of parts) h.update(part)
  return h.digest()
}

/** The expected digests, by node:crypto one message at a time. */
function expectedLeaves(leaves: Uint8Array): Buffer {
  const count = leaves.length / 512
  return Buffer.concat(
    Array.from({ length: count }, (_, i) =>
      sha256(Uint8Array.of(0), leaves.subarray(i * 512, (i + 1) * 512)),
    ),
  )
}

function expectedPairs(nodes: Uint8Array): Buffer {
  const count = nodes.length / 64
  return Buffer.concat(
    Array.from({ length: count }, (_, i) => sha256(Uint8Array.of(1), nodes.subarray(i * 64, (i + 1) * 64))),
  )
}

function wasm(): Sha256Batch {
  const batch = wasmSha256Batch()
  assert.ok(batch, 'Node 20 has WebAssembly SIMD: the kernel must load')
  return batch
}

type RawKernel = {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  scratchBase(): number
  hashLeaves(inPtr: number, count: number, outPtr: number): void
  hashPairs(inPtr: number, count: number, outPtr: number): void
}

/** A fresh instance of the committed module, to call its exports directly. */
function rawKernel(): { kernel: RawKernel; heap: Uint8Array; base: number } {
  const bytes = readFileSync(new URL('../build/sha256-kernel.wasm', import.meta.url))
  const api = (
    globalThis as unknown as {
      WebAssembly: {
        Module: new (bytes: Uint8Array) => object
        Instance: new (module: object, imports: object) => { exports: unknown }
      }
    }
  ).WebAssembly
  const kernel = new api.Instance(new api.Module(bytes), {}).exports as RawKernel
  kernel.memory.grow(4)
  return { kernel, heap: new Uint8Array(kernel.memory.buffer), base: kernel.scratchBase() }
}

describe('SHA-256 batches', () => {
  test('the WASM kernel runs here and is the default', () => {
    assert.equal(hasWasmSha256(), true)
    assert.equal(loadSha256Batch().name, 'wasm-simd')
    assert.equal(nodeSha256Batch().name, 'node-crypto')
  })

  for (const batch of [() => wasm(), () => nodeSha256Batch()]) {
    test(`${batch().name}: every count 0..9 (the four-lane groups and their tails), random data`, () => {
      for (let count = 0; count <= 9; count++) {
        for (let trial = 0; trial < 3; trial++) {
          const leaves = new Uint8Array(randomBytes(count * 512))
          const out = new Uint8Array(count * 32)
          batch().hashLeaves(leaves, out)
          assert.deepEqual(Buffer.from(out), expectedLeaves(leaves), `${count} leaves`)
          const nodes = new Uint8Array(randomBytes(count * 64))
          const parents = new Uint8Array(count * 32)
          batch().hashPairs(nodes, parents)
          assert.deepEqual(Buffer.from(parents), expectedPairs(nodes), `${count} pairs`)
        }
      }
    })

    test(`${batch().name}: all-zero and all-0xff messages, and mixes of them`, () => {
      for (const fill of [0x00, 0xff]) {
        const leaves = new Uint8Array(7 * 512).fill(fill)
        const out = new Uint8Array(7 * 32)
        batch().hashLeaves(leaves, out)
        assert.deepEqual(Buffer.from(out), expectedLeaves(leaves))
        const nodes = new Uint8Array(7 * 64).fill(fill)
        batch().hashPairs(nodes, out)
        assert.deepEqual(Buffer.from(out), expectedPairs(nodes))
      }
      // Alternating 0x00 / 0xff leaves: the byte before each message (read, then replaced by the
      // prefix) is 0xff or 0x00, and the last byte of each is the one the last block carries.
      const leaves = new Uint8Array(8 * 512)
      for (let i = 1; i < 8; i += 2) leaves.fill(0xff, i * 512, (i + 1) * 512)
      const out = new Uint8Array(8 * 32)
      batch().hashLeaves(leaves, out)
      assert.deepEqual(Buffer.from(out), expectedLeaves(leaves))
    })

    test(`${batch().name}: large batches (several kernel calls), output offsets, views into bigger buffers`, () => {
      for (const count of [511, 512, 513, 1029]) {
        const backing = new Uint8Array(randomBytes(count * 512 + 7))
        const leaves = backing.subarray(3, 3 + count * 512)
        const out = new Uint8Array(count * 32 + 64)
        batch().hashLeaves(leaves, out, 40)
        assert.deepEqual(Buffer.from(out.subarray(40, 40 + count * 32)), expectedLeaves(leaves))
        assert.ok(out.subarray(0, 40).every((byte) => byte === 0))
        assert.ok(out.subarray(40 + count * 32).every((byte) => byte === 0))
      }
      for (const count of [4095, 4096, 4097, 9001]) {
        const nodes = new Uint8Array(randomBytes(count * 64))
        const out = new Uint8Array(count * 32 + 32)
        batch().hashPairs(Buffer.from(nodes), out, 32)
        assert.deepEqual(Buffer.from(out.subarray(32)), expectedPairs(nodes))
      }
    })

    test(`${batch().name}: refuses inputs that are not whole messages and outputs too small`, () => {
      assert.throws(() => batch().hashLeaves(new Uint8Array(511), new Uint8Array(32)), RangeError)
      assert.throws(() => batch().hashLeaves(new Uint8Array(1024), new Uint8Array(63)), RangeError)
      assert.throws(() => batch().hashPairs(new Uint8Array(65), new Uint8Array(64)), RangeError)
      assert.throws(() => batch().hashPairs(new Uint8Array(64), new Uint8Array(32), 1), RangeError)
    })
  }

  test('kernel exports: write exactly count digests, and hashPairs works in place', () => {
    const { kernel, heap, base } = rawKernel()
    const input = base + 64
    for (let count = 0; count <= 9; count++) {
      const leaves = randomBytes(count * 512)
      heap.set(leaves, input)
      const output = input + 16 * 512
      heap.fill(0xa5, output, output + 10 * 32 + 64)
      kernel.hashLeaves(input, count, output)
      assert.deepEqual(Buffer.from(heap.subarray(output, output + count * 32)), expectedLeaves(leaves))
      assert.ok(heap.subarray(output + count * 32, output + 10 * 32 + 64).every((byte) => byte === 0xa5))

      const nodes = randomBytes(count * 64)
      heap.set(nodes, input)
      kernel.hashPairs(input, count, input)
      assert.deepEqual(Buffer.from(heap.subarray(input, input + count * 32)), expectedPairs(nodes))
    }
  })

  test('where the module does not validate (no SIMD), trees fall back to node:crypto, same roots', () => {
    // tsx itself needs WebAssembly, so the engine is made to refuse every module instead.
    const script = `
      WebAssembly.validate = () => false
      const { loadSha256Batch } = await import('./src/sha256-wasm.ts')
      const { merkleRoot } = await import('./src/merkle.ts')
      const data = new Uint8Array(70 * 512 + 100).map((_, i) => (i * 7) % 251)
      console.log(loadSha256Batch().name, Buffer.from(merkleRoot(data)).toString('hex'))
    `
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
      cwd: packageRoot,
      encoding: 'utf8',
    })
    assert.equal(run.status, 0, run.stderr)
    const data = new Uint8Array(70 * 512 + 100).map((_, i) => (i * 7) % 251)
    const batch = wasm()
    // The same tree by the WASM batches, level by level.
    const padded = new Uint8Array(71 * 512)
    padded.set(data)
    let level = new Uint8Array(71 * 32)
    batch.hashLeaves(padded, level)
    while (level.length > 32) {
      const count = level.length / 32
      const next = new Uint8Array(Math.ceil(count / 2) * 32)
      batch.hashPairs(level.subarray(0, Math.floor(count / 2) * 64), next)
      if (count % 2 === 1) next.set(level.subarray((count - 1) * 32), Math.floor(count / 2) * 32)
      level = next
    }
    assert.equal(run.stdout.trim(), `node-crypto ${Buffer.from(level).toString('hex')}`)
  })

  test('the committed module is a fresh build of assembly/sha256-kernel.ts', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-sha256-kernel.ts', '--check'],
      {
        cwd: packageRoot,
        encoding: 'utf8',
      },
    )
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
  })
})
