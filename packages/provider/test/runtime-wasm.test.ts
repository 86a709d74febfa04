// The WASM runtime against real node:wasi worker threads and the committed sample modules
// (workloads/, rebuilt and compared by workloads-build.test.ts).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  createWasmRuntime,
  InvalidWasmModuleError,
  prepareWasmModule,
  type WasmRuntime,
  WorkloadExistsError,
  type WorkloadLimits,
  WorkloadNotFoundError,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../src/runtime/index.ts'

const repoRoot = path.resolve(import.meta.dirname, '../../..')
const workloads = path.join(repoRoot, 'workloads')
const modules = {
  raytracer: path.join(workloads, 'raytracer/build/raytracer.wasm'),
  hello: path.join(workloads, 'testdata/build/hello.wasm'),
  spin: path.join(workloads, 'testdata/build/spin.wasm'),
  memhog: path.join(workloads, 'testdata/build/memhog.wasm'),
  escape: path.join(workloads, 'testdata/build/escape.wasm'),
}
const limits: WorkloadLimits = { cpuMillis: 1000, memoryMiB: 64, storageMiB: 64, pids: 0, timeoutSec: 30 }

let dataDir: string
let runtime: WasmRuntime
const bytes = new Map<string, Uint8Array>()
let counter = 0

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'stoa-wasm-'))
  runtime = createWasmRuntime({ dataDir })
  for (const [name, file] of Object.entries(modules)) bytes.set(name, new Uint8Array(await readFile(file)))
})
after(async () => {
  await runtime?.close()
  await rm(dataDir, { recursive: true, force: true })
})

function spec(module: keyof typeof modules, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  counter++
  return {
    id: `lease-${counter}-${module}`,
    leaseId: BigInt(counter),
    service: module,
    kind: 'job',
    wasm: bytes.get(module) as Uint8Array,
    limits,
    ...overrides,
  }
}

async function waitForEnd(
  id: string,
  timeoutMs = 20_000,
): Promise<Exclude<WorkloadStatus, { state: 'running' }>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await runtime.status(id)
    if (status.state !== 'running') return status
    if (Date.now() > deadline) assert.fail(`${id} still running after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const lines: string[] = []
  for await (const line of iterable) lines.push(line)
  return lines
}

describe('wasm runtime: jobs', () => {
  test('the ray tracer renders frames whose bytes match the committed reference', async () => {
    const reference = JSON.parse(
      await readFile(path.join(workloads, 'raytracer/reference.json'), 'utf8'),
    ) as {
      frames: Array<{ args: string[]; sha256: string }>
    }
    const digests = new Set<string>()
    for (const frame of reference.frames) {
      const workload = spec('raytracer', { args: frame.args })
      await runtime.start(workload)
      const status = await waitForEnd(workload.id)
      assert.deepEqual(status.state === 'exited' && status.exitCode, 0, JSON.stringify(status))
      const results = await runtime.results(workload.id)
      assert.deepEqual(
        results.map((r) => r.name),
        ['frame.ppm'],
      )
      const file = results[0]
      assert.ok(file)
      assert.equal(file.sha256, frame.sha256, `frame ${frame.args.join(' ')}`)
      // The digest the runtime reports is the digest of the bytes on disk.
      assert.equal(
        createHash('sha256')
          .update(await readFile(file.path))
          .digest('hex'),
        frame.sha256,
      )
      digests.add(file.sha256)
      const logs = await collect(runtime.logs(workload.id))
      assert.match(logs.at(-1) ?? '', /^wrote \/results\/frame\.ppm: \d+x\d+, frame \d+, \d+ bytes$/)
      assert.ok(logs.some((line) => line.startsWith('progress 50%')))
    }
    assert.equal(digests.size, reference.frames.length, 'the camera moves: every frame differs')
  })

  test('a job reports its exit code, interleaved stdout and stderr, and its result files', async () => {
    const workload = spec('hello', { args: ['one', 'two', '--exit', '3'], env: { GREETING: 'hi' } })
    const handle = await runtime.start(workload)
    assert.deepEqual(handle, {
      id: workload.id,
      runtime: 'wasm',
      leaseId: workload.leaseId,
      service: 'hello',
      kind: 'job',
      createdAt: handle.createdAt,
    })
    const status = await waitForEnd(workload.id)
    assert.equal(status.state, 'exited')
    assert.equal(status.state === 'exited' && status.exitCode, 3)
    assert.deepEqual(await collect(runtime.logs(workload.id)), [
      'hello from wasm: one two --exit 3',
      'Error: a line on stderr',
    ])
    assert.deepEqual(await collect(runtime.logs(workload.id, { tail: 1 })), ['Error: a line on stderr'])
    const [file] = await runtime.results(workload.id)
    assert.equal(file?.name, 'hello.txt')
    assert.equal(file?.sha256, createHash('sha256').update('hello, results\n').digest('hex'))
    assert.equal(file?.path, path.join(dataDir, 'results', workload.id, 'hello.txt'))
  })

  test('logs can be followed while the job runs, ending when it exits', async () => {
    const workload = spec('raytracer', { args: ['--width', '200', '--height', '150', '--frame', '3'] })
    await runtime.start(workload)
    const lines = await collect(runtime.logs(workload.id, { follow: true }))
    assert.equal(lines[0], 'raytracer: rendering 200x150, frame 3')
    assert.equal(lines.filter((line) => line.startsWith('progress')).length, 10)
    assert.match(lines.at(-1) ?? '', /^wrote /)
    assert.equal((await runtime.status(workload.id)).state, 'exited')
  })

  test('a job can write only to /results and read only /input', async () => {
    const sandbox = await mkdtemp(path.join(tmpdir(), 'stoa-wasm-sandbox-'))
    const resultsDir = path.join(sandbox, 'results')
    const inputDir = path.join(sandbox, 'input')
    await mkdir(inputDir)
    await writeFile(path.join(inputDir, 'data.txt'), 'input data')
    try {
      const workload = spec('escape', { resultsDir, inputDir })
      await runtime.start(workload)
      const status = await waitForEnd(workload.id)
      const logs = await collect(runtime.logs(workload.id))
      assert.deepEqual(status.state === 'exited' && status.exitCode, 0, logs.join('\n'))
      assert.deepEqual(
        logs.filter((line) => line.startsWith('preopen')),
        ['preopen: fd 3 /results', 'preopen: fd 4 /input'],
      )
      for (const attempt of [
        'create ../outside.txt',
        'read /etc/passwd',
        'create a file in /input',
        'truncate /input/data.txt',
        'open /input/data.txt for writing',
        'mkdir in /input',
      ]) {
        assert.ok(
          logs.some((line) => line.startsWith(`blocked: ${attempt}`)),
          `${attempt} must be blocked:\n${logs.join('\n')}`,
        )
      }
      assert.ok(logs.includes('escapes: 0'))
      // The host side: only the control file was written, /input is untouched, nothing outside.
      assert.deepEqual(await readdir(sandbox), ['input', 'results'])
      assert.deepEqual(await readdir(inputDir), ['data.txt'])
      assert.equal(await readFile(path.join(inputDir, 'data.txt'), 'utf8'), 'input data')
      assert.deepEqual(
        (await runtime.results(workload.id)).map((r) => r.name),
        ['inside.txt'],
      )
    } finally {
      await rm(sandbox, { recursive: true, force: true })
    }
  })
})

describe('wasm runtime: hostile modules', () => {
  test('an endless loop is killed at its timeout while other workloads keep running', async () => {
    const spinner = spec('spin', { limits: { ...limits, timeoutSec: 1.5 } })
    const started = Date.now()
    await runtime.start(spinner)
    // The runtime still serves: a job started next to the spinning one finishes normally.
    const neighbour = spec('hello', { args: ['beside', 'a', 'spinner'] })
    await runtime.start(neighbour)
    const neighbourStatus = await waitForEnd(neighbour.id)
    assert.equal(neighbourStatus.state === 'exited' && neighbourStatus.exitCode, 0)
    assert.equal((await runtime.status(spinner.id)).state, 'running')

    const status = await waitForEnd(spinner.id)
    const elapsed = Date.now() - started
    assert.equal(status.state, 'failed')
    assert.equal(status.state === 'failed' && status.reason, 'timeout')
    assert.ok(elapsed >= 1400 && elapsed < 5000, `killed after ${elapsed} ms`)
    assert.deepEqual(await collect(runtime.logs(spinner.id)), ['spinning forever'])
  })

  test('a memory hog fails with oom at its cap, and the runtime carries on', async () => {
    const hog = spec('memhog', { limits: { ...limits, memoryMiB: 32 } })
    await runtime.start(hog)
    const status = await waitForEnd(hog.id)
    assert.equal(status.state, 'failed', JSON.stringify(status))
    assert.equal(status.state === 'failed' && status.reason, 'oom')
    assert.match(status.state === 'failed' ? status.message : '', /of a 32 MiB cap/)
    const logs = await collect(runtime.logs(hog.id))
    assert.ok(logs.includes('holding 16 MiB'))
    assert.ok(!logs.includes('holding 32 MiB'), 'it never got past its cap')

    const after = spec('hello')
    await runtime.start(after)
    const afterStatus = await waitForEnd(after.id)
    assert.equal(afterStatus.state === 'exited' && afterStatus.exitCode, 0)
  })

  test('a module declaring more memory than its cap is refused before it runs', async () => {
    const greedy = prepareWasmModule(bytes.get('hello') as Uint8Array, 1024).bytes // declares 64 MiB max
    const workload = spec('hello', { wasm: greedy, limits: { ...limits, memoryMiB: 16 } })
    await assert.rejects(runtime.start(workload), InvalidWasmModuleError)
    assert.deepEqual(await runtime.status(workload.id), { state: 'missing' })
    await assert.rejects(
      runtime.start(spec('hello', { wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]) })),
      InvalidWasmModuleError,
    )
  })
})

describe('wasm runtime: lifecycle', () => {
  test('start refuses a duplicate id; stop forgets the workload but keeps its results', async () => {
    const workload = spec('hello')
    await runtime.start(workload)
    await waitForEnd(workload.id)
    await assert.rejects(runtime.start(workload), WorkloadExistsError)
    assert.ok((await runtime.list()).some((h) => h.id === workload.id))
    await runtime.stop(workload.id)
    assert.deepEqual(await runtime.status(workload.id), { state: 'missing' })
    assert.ok(!(await runtime.list()).some((h) => h.id === workload.id))
    await assert.rejects(collect(runtime.logs(workload.id)), WorkloadNotFoundError)
    assert.deepEqual(
      (await runtime.results(workload.id)).map((r) => r.name),
      ['hello.txt'],
    )
    await runtime.stop(workload.id) // a second stop is a no-op
    await assert.rejects(runtime.results('never-started'), WorkloadNotFoundError)

    const twice = spec('hello')
    const outcomes = await Promise.allSettled([runtime.start(twice), runtime.start(twice)])
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected'])
    const refused = outcomes.find((o) => o.status === 'rejected')
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof WorkloadExistsError)
  })

  test('stop kills a running workload', async () => {
    const workload = spec('spin', { limits: { ...limits, timeoutSec: 0 } })
    await runtime.start(workload)
    assert.equal((await runtime.status(workload.id)).state, 'running')
    await runtime.stop(workload.id)
    assert.deepEqual(await runtime.status(workload.id), { state: 'missing' })
  })

  test('after the daemon is killed, a new one lists its workloads and reports them failed(daemon-restart)', async () => {
    const sharedDir = await mkdtemp(path.join(tmpdir(), 'stoa-wasm-restart-'))
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(import.meta.dirname, 'wasm-daemon-child.ts'), sharedDir],
        {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('started')) resolve()
        })
        child.once('exit', (code) => reject(new Error(`the child daemon exited early with code ${code}`)))
      })
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))

      const restarted = createWasmRuntime({ dataDir: sharedDir })
      const handles = await restarted.list()
      assert.deepEqual(
        handles.map((h) => [h.id, h.leaseId, h.service, h.kind]),
        [['orphan', 42n, 'spin', 'job']],
      )
      const status = await restarted.status('orphan')
      assert.equal(status.state, 'failed')
      assert.equal(status.state === 'failed' && status.reason, 'daemon-restart')
      assert.deepEqual(await collect(restarted.logs('orphan')), ['spinning forever'])
      await restarted.stop('orphan')
      assert.deepEqual(await restarted.list(), [])
      await restarted.close()
    } finally {
      await rm(sharedDir, { recursive: true, force: true })
    }
  })

  test('close() ends running workloads as failed(daemon-restart)', async () => {
    const ownDir = await mkdtemp(path.join(tmpdir(), 'stoa-wasm-close-'))
    try {
      const own = createWasmRuntime({ dataDir: ownDir })
      await own.start(spec('spin', { id: 'spinning', limits: { ...limits, timeoutSec: 0 } }))
      await own.close()
      const status = await createWasmRuntime({ dataDir: ownDir }).status('spinning')
      assert.equal(status.state === 'failed' && status.reason, 'daemon-restart')
    } finally {
      await rm(ownDir, { recursive: true, force: true })
    }
  })

  test('start-to-exit latency of a small WASM job', async () => {
    const samples: number[] = []
    for (let i = 0; i < 10; i++) {
      const workload = spec('hello')
      const started = performance.now()
      await runtime.start(workload)
      await waitForEnd(workload.id)
      samples.push(performance.now() - started)
    }
    samples.sort((a, b) => a - b)
    const median = samples[Math.floor(samples.length / 2)] ?? 0
    console.log(
      `wasm job start->exit: median ${median.toFixed(1)} ms, min ${samples[0]?.toFixed(1)} ms, max ${samples.at(-1)?.toFixed(1)} ms (n=${samples.length})`,
    )
    assert.ok(median < 1000, 'the devnet goal is deploy -> running within 1 s')
  })
})
