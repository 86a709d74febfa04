// The Docker runtime against the real engine (/var/run/docker.sock or DOCKER_HOST) and the
// stoa/busybox:1 image (built by workloads/busybox/build-image.sh when missing).
//
// Without an engine these tests FAIL, saying so: CI starts dockerd. To skip them on purpose,
// set STOA_SKIP_DOCKER=1.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { InvalidParameterError } from '@stoa/protocol'
import Docker from 'dockerode'
import {
  createDockerRuntime,
  type DockerRuntime,
  dockerLabels,
  GpuUnavailableError,
  ImageNotFoundError,
  PortNotExposedError,
  WorkloadExistsError,
  type WorkloadLimits,
  WorkloadNotFoundError,
  type WorkloadSpec,
  WorkloadStartError,
  type WorkloadStatus,
} from '../src/runtime/index.ts'

const skip = process.env.STOA_SKIP_DOCKER === '1'
const repoRoot = path.resolve(import.meta.dirname, '../../..')
const image = 'stoa/busybox:1'
const providerId = `0xtest-${process.pid}`
const limits: WorkloadLimits = { cpuMillis: 500, memoryMiB: 32, storageMiB: 16, pids: 32, timeoutSec: 30 }

const docker = new Docker()
let dataDir: string
let runtime: DockerRuntime
let counter = 0

function spec(command: string[], overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  counter++
  return {
    id: `lease-${counter}-t${process.pid}`,
    leaseId: BigInt(counter),
    service: 'task',
    kind: 'job',
    image,
    command,
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
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const lines: string[] = []
  for await (const line of iterable) lines.push(line)
  return lines
}

async function containerOf(id: string): Promise<Docker.Container> {
  const [found] = await docker.listContainers({
    all: true,
    filters: { label: [`${dockerLabels.provider}=${providerId}`, `${dockerLabels.workload}=${id}`] },
  })
  assert.ok(found, `no container for ${id}`)
  return docker.getContainer(found.Id)
}

/** An HTTP server on every host address that counts who reached it. */
async function hostServer(): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0
  const server = createServer((_request, response) => {
    hits++
    response.end('host secret\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits }
}

function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry && entry.family === 'IPv4' && !entry.internal)
    .map((entry) => entry?.address as string)
}

describe('docker runtime', { skip: skip ? 'STOA_SKIP_DOCKER=1' : false }, () => {
  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'stoa-docker-'))
    runtime = createDockerRuntime({ docker, dataDir, providerId })
    try {
      await runtime.ping()
    } catch (error) {
      throw new Error(
        'These tests need a running Docker engine (none answered at DOCKER_HOST or /var/run/docker.sock). ' +
          'Start one (`dockerd &` as root; CI does it in .ci/run), or set STOA_SKIP_DOCKER=1 to skip them explicitly.',
        { cause: error },
      )
    }
    execFileSync('bash', [path.join(repoRoot, 'workloads/busybox/build-image.sh')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  })

  after(async () => {
    if (!runtime) return
    for (const handle of await runtime.list().catch(() => [])) await runtime.stop(handle.id)
    await runtime.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('a batch job: exit code, stdout and stderr, a result file, every limit applied', async () => {
    const workload = spec(
      [
        'sh',
        '-c',
        'echo "to stdout $GREETING"; echo "to stderr" >&2; echo result-data > /results/out.txt; exit 7',
      ],
      { env: { GREETING: 'hello' } },
    )
    const handle = await runtime.start(workload)
    assert.equal(handle.runtime, 'docker')
    assert.equal(handle.leaseId, workload.leaseId)
    const status = await waitForEnd(workload.id)
    assert.equal(status.state, 'exited', JSON.stringify(status))
    assert.equal(status.state === 'exited' && status.exitCode, 7)

    const logs = await collect(runtime.logs(workload.id))
    assert.deepEqual([...logs].sort(), ['to stderr', 'to stdout hello'])
    assert.deepEqual(await collect(runtime.logs(workload.id, { tail: 1 })), [logs.at(-1)])

    const results = await runtime.results(workload.id)
    assert.deepEqual(
      results.map((r) => [r.name, r.size, r.sha256]),
      [['out.txt', 12, createHash('sha256').update('result-data\n').digest('hex')]],
    )

    const info = await (await containerOf(workload.id)).inspect()
    const host = info.HostConfig
    assert.equal(host.NanoCpus, 500_000_000)
    assert.equal(host.Memory, 32 * 1024 * 1024)
    assert.equal(host.MemorySwap, host.Memory, 'no swap on top of the memory limit')
    assert.equal(host.PidsLimit, 32)
    assert.equal(host.Privileged, false)
    assert.deepEqual(host.CapDrop, ['ALL'])
    assert.deepEqual(host.SecurityOpt, ['no-new-privileges'])
    assert.equal(host.ReadonlyRootfs, true)
    assert.match(host.Tmpfs?.['/tmp'] ?? '', /size=16m/)
    assert.equal(host.NetworkMode, 'none')
    assert.deepEqual(host.PortBindings, {})
    assert.equal(info.Config.User, '65534:65534')
    assert.deepEqual(
      info.Mounts.map((m) => [m.Type, m.Destination, m.RW]),
      [['bind', '/results', true]],
      'the results directory is the only mount',
    )
    assert.equal(info.Mounts[0]?.Source, path.join(dataDir, 'results', workload.id))
    assert.equal(info.Config.Labels[dockerLabels.lease], workload.leaseId.toString())
    assert.equal(info.Config.Labels[dockerLabels.service], 'task')
  })

  test('logs can be followed until the job exits', async () => {
    const workload = spec(['sh', '-c', 'for i in 1 2 3; do echo "line $i"; sleep 0.2; done'])
    await runtime.start(workload)
    const started = Date.now()
    const lines = await collect(runtime.logs(workload.id, { follow: true }))
    assert.deepEqual(lines, ['line 1', 'line 2', 'line 3'])
    assert.ok(Date.now() - started >= 300, 'the lines came as they were written')
    assert.equal((await runtime.status(workload.id)).state, 'exited')

    const controller = new AbortController()
    const endless = spec(['sh', '-c', 'echo first; sleep 60'])
    await runtime.start(endless)
    const seen: string[] = []
    for await (const line of runtime.logs(endless.id, { follow: true, signal: controller.signal })) {
      seen.push(line)
      controller.abort()
    }
    assert.deepEqual(seen, ['first'])
    await runtime.stop(endless.id)
  })

  test('a job has no network', async () => {
    const { server, port, hits } = await hostServer()
    try {
      const targets = hostAddresses()
      assert.ok(targets.length > 0)
      const workload = spec([
        'sh',
        '-c',
        `ls /sys/class/net; for ip in ${targets.join(' ')}; do if timeout 3 wget -q -O- http://$ip:${port}/; then echo "reached $ip"; else echo "unreachable $ip"; fi; done`,
      ])
      await runtime.start(workload)
      const status = await waitForEnd(workload.id)
      assert.equal(status.state === 'exited' && status.exitCode, 0)
      const logs = await collect(runtime.logs(workload.id))
      assert.deepEqual(
        logs.filter((line) => !line.startsWith('wget:')),
        ['lo', ...targets.map((ip) => `unreachable ${ip}`)],
      )
      assert.equal(hits(), 0)
    } finally {
      server.close()
    }
  })

  test('a service answers HTTP at its serviceAddress, and reaches neither the host nor other services', async () => {
    const web = spec(['httpd', '-f', '-p', '8080', '-h', '/www'], {
      service: 'web',
      kind: 'service',
      expose: [{ port: 8080, http: true }],
      limits: { ...limits, timeoutSec: 0 },
    })
    const started = performance.now()
    await runtime.start(web)
    const address = await runtime.serviceAddress(web.id, 8080)
    assert.match(address, /^\d+\.\d+\.\d+\.\d+:8080$/)
    let body = ''
    for (let attempt = 0; attempt < 100 && body === ''; attempt++) {
      body = await fetch(`http://${address}/index.html`).then(
        (response) => response.text(),
        () => new Promise<string>((resolve) => setTimeout(() => resolve(''), 20)),
      )
    }
    console.log(`docker service start->first HTTP answer: ${(performance.now() - started).toFixed(0)} ms`)
    assert.match(body, /Hello from a Stoa provider/)
    await assert.rejects(runtime.serviceAddress(web.id, 9090), PortNotExposedError)
    const info = await (await containerOf(web.id)).inspect()
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['stoa-services'])
    assert.ok(
      Object.values(info.NetworkSettings.Ports ?? {}).every((bindings) => !bindings || bindings.length === 0),
      'no port published on the host',
    )

    // A second service probes the host's addresses and the first service.
    const { server, port, hits } = await hostServer()
    try {
      const webIp = address.split(':')[0] as string
      const targets = [...hostAddresses().map((ip) => `${ip}:${port}`), `${webIp}:8080`]
      const probe = spec(
        [
          'sh',
          '-c',
          [
            "gw=$(ip route | awk '/^default/ { print $3 }')",
            `for target in $gw:${port} ${targets.join(' ')}; do`,
            '  (if timeout 3 wget -q -O /dev/null http://$target/; then echo "reached $target"; else echo "unreachable $target"; fi) >> /results/probe.txt 2>/dev/null &',
            'done',
            'wait',
            'echo done >> /results/probe.txt',
            'exec sleep 60',
          ].join('\n'),
        ],
        { service: 'probe', kind: 'service', limits: { ...limits, timeoutSec: 0 } },
      )
      await runtime.start(probe)
      const probeFile = path.join(dataDir, 'results', probe.id, 'probe.txt')
      let report = ''
      for (let attempt = 0; attempt < 200 && !report.includes('done'); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        report = await readFile(probeFile, 'utf8').catch(() => '')
      }
      const lines = report.trim().split('\n')
      assert.equal(lines.at(-1), 'done', report)
      assert.equal(lines.length, targets.length + 2, report)
      assert.ok(
        lines.slice(0, -1).every((line) => line.startsWith('unreachable ')),
        `a service reached something:\n${report}`,
      )
      assert.equal(hits(), 0)
      await runtime.stop(probe.id)
    } finally {
      server.close()
    }
    await runtime.stop(web.id)
    await assert.rejects(runtime.serviceAddress(web.id, 8080), WorkloadNotFoundError)
  })

  test('a fork bomb stops at the pids limit; the host and other workloads keep working', async () => {
    const bomb = spec(['sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 60'], {
      limits: { ...limits, pids: 32, timeoutSec: 30 },
    })
    await runtime.start(bomb)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const stats = (await (await containerOf(bomb.id)).stats({ stream: false })) as {
      pids_stats?: { current?: number }
    }
    const pids = stats.pids_stats?.current ?? 0
    assert.ok(pids > 1 && pids <= 32, `the bomb holds ${pids} pids`)

    const neighbour = spec(['sh', '-c', 'echo alive'])
    await runtime.start(neighbour)
    const status = await waitForEnd(neighbour.id)
    assert.equal(status.state === 'exited' && status.exitCode, 0)
    assert.deepEqual(await collect(runtime.logs(neighbour.id)), ['alive'])
    assert.equal(execFileSync('echo', ['host forks fine']).toString().trim(), 'host forks fine')

    await runtime.stop(bomb.id)
    assert.deepEqual(await runtime.status(bomb.id), { state: 'missing' })
  })

  test('a memory hog is OOM-killed and reported as failed(oom)', async () => {
    const hog = spec(['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done'], {
      limits: { ...limits, memoryMiB: 16 },
    })
    await runtime.start(hog)
    const status = await waitForEnd(hog.id)
    assert.equal(status.state, 'failed', JSON.stringify(status))
    assert.equal(status.state === 'failed' && status.reason, 'oom')
  })

  test('an endless loop is killed at its timeout and reported as failed(timeout)', async () => {
    const loop = spec(['sh', '-c', 'while :; do :; done'], { limits: { ...limits, timeoutSec: 1.5 } })
    const started = Date.now()
    await runtime.start(loop)
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal((await runtime.status(loop.id)).state, 'running')
    const status = await waitForEnd(loop.id)
    const elapsed = Date.now() - started
    assert.equal(status.state === 'failed' && status.reason, 'timeout', JSON.stringify(status))
    assert.ok(elapsed >= 1400 && elapsed < 6000, `killed after ${elapsed} ms`)
  })

  test('writes outside the sandbox fail and leave the host untouched', async () => {
    const hostDir = await mkdtemp(path.join(tmpdir(), 'stoa-docker-host-'))
    const canary = path.join(hostDir, 'canary.txt')
    await writeFile(canary, 'original')
    try {
      const attempts = ['/etc/pwned', '/pwned', '/bin/pwned', '/results/../pwned', canary]
      const script = [
        `for target in ${attempts.join(' ')}; do`,
        '  if (echo tampered > "$target") 2>/dev/null; then echo "ESCAPED $target"; else echo "blocked $target"; fi',
        'done',
        'if mount -t tmpfs none /mnt 2>/dev/null; then echo "ESCAPED mount"; else echo "blocked mount"; fi',
        'if dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>/dev/null; then echo "ESCAPED tmp size"; else echo "blocked tmp size"; fi; rm -f /tmp/fill',
        'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
        'id -u',
        'echo scratch > /tmp/scratch && echo "tmp writable"',
        'echo kept > /results/kept.txt && echo "results writable"',
      ].join('\n')
      const workload = spec(['sh', '-c', script])
      await runtime.start(workload)
      const status = await waitForEnd(workload.id)
      assert.equal(status.state === 'exited' && status.exitCode, 0, JSON.stringify(status))
      const logs = await collect(runtime.logs(workload.id))
      assert.deepEqual(logs, [
        ...attempts.map((target) => `blocked ${target}`),
        'blocked mount',
        'blocked tmp size',
        'CapEff:\t0000000000000000',
        'NoNewPrivs:\t1',
        '65534',
        'tmp writable',
        'results writable',
      ])
      assert.equal(await readFile(canary, 'utf8'), 'original')
      assert.deepEqual(await readdir(hostDir), ['canary.txt'])
      assert.ok(
        !(await readdir(path.join(dataDir, 'results'))).includes('pwned'),
        '/results/.. is not the host',
      )
      assert.deepEqual(
        (await runtime.results(workload.id)).map((r) => r.name),
        ['kept.txt'],
      )
    } finally {
      await rm(hostDir, { recursive: true, force: true })
    }
  })

  test('a restarted daemon finds its containers by label and re-arms their deadlines', async () => {
    const service = spec(['sleep', '60'], {
      service: 'web',
      kind: 'service',
      limits: { ...limits, timeoutSec: 0 },
    })
    const job = spec(['sleep', '60'], { limits: { ...limits, timeoutSec: 2 } })
    const first = createDockerRuntime({ docker, dataDir, providerId })
    await first.start(service)
    await first.start(job)
    await first.close() // the daemon dies: its timers are gone, the containers run on

    const restarted = createDockerRuntime({ docker, dataDir, providerId })
    const ids = (await restarted.list()).map((h) => h.id)
    assert.ok(ids.includes(service.id) && ids.includes(job.id), `list() found ${ids.join(', ')}`)
    const handle = (await restarted.list()).find((h) => h.id === service.id)
    assert.deepEqual(handle && [handle.leaseId, handle.service, handle.kind], [
      service.leaseId,
      'web',
      'service',
    ])
    const stranger = createDockerRuntime({ docker, dataDir, providerId: `${providerId}-other` })
    assert.ok(!(await stranger.list()).some((h) => h.id === job.id), 'another provider does not see them')

    const status = await waitForEnd(job.id, 10_000)
    assert.equal(status.state === 'failed' && status.reason, 'timeout', JSON.stringify(status))
    assert.equal((await restarted.status(service.id)).state, 'running')
    await restarted.stop(service.id)
    await restarted.stop(job.id)
    await restarted.close()
  })

  test('bad starts are refused and leave nothing behind', async () => {
    const before = (await runtime.list()).length
    await assert.rejects(
      runtime.start(spec(['true'], { image: 'stoa/does-not-exist:0' })),
      ImageNotFoundError,
    )
    await assert.rejects(
      runtime.start(spec(['true'], { limits: { ...limits, memoryMiB: 0 } })),
      (error: unknown) => error instanceof InvalidParameterError && error.field === 'spec.limits.memoryMiB',
    )
    await assert.rejects(runtime.start(spec(['/no/such/binary'])), WorkloadStartError)
    const aborted = new AbortController()
    aborted.abort()
    await assert.rejects(runtime.start(spec(['true']), { signal: aborted.signal }), { name: 'AbortError' })
    if (!(await import('node:fs')).existsSync('/dev/nvidiactl')) {
      await assert.rejects(
        runtime.start(spec(['true'], { limits: { ...limits, gpus: 1 } })),
        GpuUnavailableError,
      )
    }
    assert.equal((await runtime.list()).length, before)

    const workload = spec(['sleep', '30'])
    await runtime.start(workload)
    await assert.rejects(runtime.start(workload), WorkloadExistsError)
    await runtime.stop(workload.id)
    await runtime.stop(workload.id) // a second stop is a no-op
    await assert.rejects(collect(runtime.logs(workload.id)), WorkloadNotFoundError)
  })

  test('start-to-exit latency of a busybox job', async () => {
    const samples: number[] = []
    for (let i = 0; i < 10; i++) {
      const workload = spec(['true'])
      const started = performance.now()
      await runtime.start(workload)
      const status = await waitForEnd(workload.id)
      samples.push(performance.now() - started)
      assert.equal(status.state === 'exited' && status.exitCode, 0)
      await runtime.stop(workload.id)
    }
    samples.sort((a, b) => a - b)
    const median = samples[Math.floor(samples.length / 2)] ?? 0
    console.log(
      `docker job start->exit: median ${median.toFixed(0)} ms, min ${samples[0]?.toFixed(0)} ms, max ${samples.at(-1)?.toFixed(0)} ms (n=${samples.length})`,
    )
    assert.ok(median < 2000, 'the devnet goal is deploy -> running within 2 s')
  })
})
