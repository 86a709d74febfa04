// The runtimes' pure parts: spec validation, the Docker log demultiplexer, line splitting, the
// results reader's defences, and the WASM memory capping.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { InvalidParameterError } from '@stoa/protocol'
import { DockerLogDemuxer } from '../src/runtime/docker-logs.ts'
import {
  InvalidWasmModuleError,
  listResultFiles,
  openResultFile,
  prepareWasmModule,
  validateWorkloadSpec,
  WASM_PAGE_BYTES,
  type WorkloadSpec,
} from '../src/runtime/index.ts'
import { LineSplitter } from '../src/runtime/lines.ts'

const repoRoot = path.resolve(import.meta.dirname, '../../..')
const helloWasm = path.join(repoRoot, 'workloads/testdata/build/hello.wasm')

const baseSpec: WorkloadSpec = {
  id: 'lease-1-web',
  leaseId: 1n,
  service: 'web',
  kind: 'job',
  image: 'stoa/busybox:1',
  limits: { cpuMillis: 500, memoryMiB: 64, storageMiB: 64, pids: 64, timeoutSec: 10 },
}

function fieldOf(fn: () => void): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof InvalidParameterError, `expected InvalidParameterError, got ${error}`)
    return error.field
  }
  assert.fail('expected the spec to be refused')
}

describe('validateWorkloadSpec', () => {
  test('accepts a valid docker spec and a valid wasm spec', () => {
    validateWorkloadSpec(baseSpec, 'docker')
    const { image: _image, ...rest } = baseSpec
    validateWorkloadSpec({ ...rest, wasm: new Uint8Array([0, 97, 115, 109]) }, 'wasm')
  })

  test('names the field that is wrong', () => {
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, id: '../etc' }, 'docker')),
      'spec.id',
    )
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, service: 'Web!' }, 'docker')),
      'spec.service',
    )
    assert.equal(
      fieldOf(() =>
        validateWorkloadSpec({ ...baseSpec, limits: { ...baseSpec.limits, memoryMiB: 2 } }, 'docker'),
      ),
      'spec.limits.memoryMiB',
    )
    // PidsLimit 0 means unlimited to Docker: refused.
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, limits: { ...baseSpec.limits, pids: 0 } }, 'docker')),
      'spec.limits.pids',
    )
    assert.equal(
      fieldOf(() =>
        validateWorkloadSpec({ ...baseSpec, limits: { ...baseSpec.limits, timeoutSec: -1 } }, 'docker'),
      ),
      'spec.limits.timeoutSec',
    )
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, env: { 'A-B': 'x' } }, 'docker')),
      'spec.env.A-B',
    )
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, expose: [{ port: 8080, http: true }] }, 'docker')),
      'spec.expose',
    )
    assert.equal(
      fieldOf(() =>
        validateWorkloadSpec({ ...baseSpec, kind: 'service', expose: [{ port: 0, http: true }] }, 'docker'),
      ),
      'spec.expose[0].port',
    )
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, resultsDir: 'relative' }, 'docker')),
      'spec.resultsDir',
    )
    assert.equal(
      fieldOf(() => validateWorkloadSpec({ ...baseSpec, inputDir: '/in' }, 'docker')),
      'spec.inputDir',
    )
    assert.equal(
      fieldOf(() => validateWorkloadSpec(baseSpec, 'wasm')),
      'spec.wasm',
    )
  })
})

describe('DockerLogDemuxer', () => {
  const frame = (stream: number, text: string) => {
    const payload = Buffer.from(text)
    const header = Buffer.alloc(8)
    header.writeUInt8(stream, 0)
    header.writeUInt32BE(payload.length, 4)
    return Buffer.concat([header, payload])
  }

  test('splits frames cut anywhere into lines, keeping partial lines per stream', () => {
    const stream = Buffer.concat([
      frame(1, 'out one\nout tw'),
      frame(2, 'err one\n'),
      frame(1, 'o\n'),
      frame(2, 'err \u00e9'),
      frame(1, 'last without newline'),
    ])
    for (const size of [1, 3, 7, 8, 9, stream.length]) {
      const demuxer = new DockerLogDemuxer()
      const lines: string[] = []
      for (let offset = 0; offset < stream.length; offset += size) {
        lines.push(...demuxer.push(stream.subarray(offset, offset + size)))
      }
      lines.push(...demuxer.flush())
      assert.deepEqual(
        lines,
        ['out one', 'err one', 'out two', 'last without newline', 'err \u00e9'],
        `chunk ${size}`,
      )
    }
  })
})

describe('LineSplitter', () => {
  test('decodes UTF-8 split across chunks and strips CR', () => {
    const bytes = Buffer.from('caf\u00e9\r\nna\u00efve\nend')
    const splitter = new LineSplitter()
    const lines: string[] = []
    for (const byte of bytes) lines.push(...splitter.push(Uint8Array.of(byte)))
    lines.push(...splitter.flush())
    assert.deepEqual(lines, ['caf\u00e9', 'na\u00efve', 'end'])
  })
})

describe('results reader', () => {
  let dir: string
  let resultsDir: string
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stoa-results-'))
    resultsDir = path.join(dir, 'results')
    await mkdir(path.join(resultsDir, 'sub'), { recursive: true })
    await writeFile(path.join(dir, 'secret.txt'), 'host secret')
    await writeFile(path.join(resultsDir, 'a.txt'), 'alpha')
    await writeFile(path.join(resultsDir, 'sub', 'b.bin'), Buffer.alloc(100_000, 7))
    // What a hostile workload can leave: links out of the directory, a FIFO.
    await symlink(path.join(dir, 'secret.txt'), path.join(resultsDir, 'link-to-secret'))
    await symlink(dir, path.join(resultsDir, 'link-to-dir'))
    execFileSync('mkfifo', [path.join(resultsDir, 'fifo')])
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('lists regular files only, with size and sha256', async () => {
    const files = await listResultFiles(resultsDir)
    assert.deepEqual(
      files.map((f) => [f.name, f.size]),
      [
        ['a.txt', 5],
        ['sub/b.bin', 100_000],
      ],
    )
    assert.equal(files[0]?.sha256, '8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8')
  })

  test('refuses links, FIFOs and names that leave the directory', async () => {
    const handle = await openResultFile(resultsDir, 'sub/b.bin')
    await handle.close()
    for (const name of [
      'link-to-secret',
      'link-to-dir/secret.txt',
      'fifo',
      '../secret.txt',
      '/etc/passwd',
      'sub/',
    ]) {
      await assert.rejects(openResultFile(resultsDir, name), `${name} must be refused`)
    }
    assert.equal(await readFile(path.join(dir, 'secret.txt'), 'utf8'), 'host secret')
  })
})

describe('prepareWasmModule', () => {
  // (module (memory 1)) and (module (memory 1 4)), hand-assembled.
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  const noMax = Uint8Array.from([...header, 0x05, 0x03, 0x01, 0x00, 0x01])
  const withMax = Uint8Array.from([...header, 0x05, 0x04, 0x01, 0x01, 0x01, 0x04])
  const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyLike }).WebAssembly
  type WebAssemblyLike = { validate(bytes: Uint8Array): boolean }

  test('adds the cap as the maximum of a memory that has none', () => {
    const prepared = prepareWasmModule(noMax, 300)
    assert.equal(prepared.capped, true)
    assert.equal(prepared.maxPages, 300)
    // 300 = 0xac 0x02 in LEB128.
    assert.deepEqual([...prepared.bytes], [...header, 0x05, 0x05, 0x01, 0x01, 0x01, 0xac, 0x02])
    assert.ok(webAssembly.validate(prepared.bytes))
  })

  test('keeps a declared maximum under the cap and refuses one above it', () => {
    const prepared = prepareWasmModule(withMax, 4)
    assert.equal(prepared.capped, false)
    assert.equal(prepared.bytes, withMax)
    assert.throws(() => prepareWasmModule(withMax, 3), InvalidWasmModuleError)
    assert.throws(() => prepareWasmModule(noMax, 0), /initial memory/)
  })

  test('refuses what is not a WASI command module', async () => {
    assert.throws(
      () => prepareWasmModule(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 16),
      /not a WebAssembly binary/,
    )
    assert.throws(() => prepareWasmModule(Uint8Array.from(header), 16), /no memory/)
    // (import "env" "f" (func)) plus a memory.
    const foreignImport = Uint8Array.from([
      ...header,
      ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00],
      ...[0x02, 0x09, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x66, 0x00, 0x00],
      ...[0x05, 0x03, 0x01, 0x00, 0x01],
    ])
    assert.ok(webAssembly.validate(foreignImport))
    assert.throws(() => prepareWasmModule(foreignImport, 16), /env\.f/)
    const hello = new Uint8Array(await readFile(helloWasm))
    const prepared = prepareWasmModule(hello, (64 * 1048576) / WASM_PAGE_BYTES)
    assert.ok(webAssembly.validate(prepared.bytes))
  })
})
