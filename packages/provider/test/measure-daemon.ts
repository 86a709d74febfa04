// Prints the provider daemon's figures (ARCHITECTURE.md section 8), not a test:
//   node --import tsx packages/provider/test/measure-daemon.ts [runs]
// - idle RSS and CPU of a daemon in its own process (as `node --import tsx` runs it), after start-up;
// - time from LeaseCreated (the acceptBid receipt) to a WASM workload reported running over the
//   gateway, the tenant sending the manifest at once, over several leases (median, p90, max).
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { acceptBid, closeLease, getBids } from '@stoa/sdk'
import { providerDaemonEnv, providerDaemonNodeFlags } from '../../cli/src/provider-build.ts'
import type { LeaseView } from '../src/index.ts'
import {
  manifestOf,
  orderFor,
  signedFetch,
  startDevnet,
  submissionBody,
  testConfig,
  waitFor,
} from './daemon-fixture.ts'

const runs = Number(process.argv[2] ?? 10)
const devnet = await startDevnet({ providers: 1 })
const dataDir = await mkdtemp(path.join(tmpdir(), 'stoa-measure-'))
const configFile = `${dataDir}.json`
// Default loop periods (not the tests' fast ones), so the idle figures are the daemon's own.
await writeFile(
  configFile,
  JSON.stringify(
    testConfig(devnet, devnet.providerKeys[0] as `0x${string}`, dataDir, {
      chain: { pollingIntervalMs: 1000, reconcileIntervalMs: 5000 },
      leases: { reconcileIntervalMs: 5000, settleIntervalMs: 60_000 },
      log: { level: 'warn' },
      // STOA_MEASURE_NO_DOCKER=1: a WASM-only provider (the Docker client is then never loaded).
      ...(process.env.STOA_MEASURE_NO_DOCKER ? { runtimes: { docker: { enabled: false } } } : {}),
    }),
  ),
)
// STOA_MEASURE_CHILD: a prebuilt JS bundle of daemon-child.ts, to measure without the tsx loader.
// STOA_MEASURE_NODE_FLAGS: V8 flags for the daemon, e.g. "--max-semi-space-size=2".
const nodeFlags = (process.env.STOA_MEASURE_NODE_FLAGS ?? '').split(' ').filter(Boolean)
// STOA_MEASURE_BUILT=1: the daemon as it ships (packages/cli/dist/stoa-provider.mjs, built first
// with `npm run provider -- --help` or any devnet start), with its own node flags.
const built = path.join(import.meta.dirname, '../../cli/dist/stoa-provider.mjs')
const childArgs = process.env.STOA_MEASURE_BUILT
  ? [
      ...providerDaemonNodeFlags,
      ...nodeFlags,
      built,
      'provider',
      'start',
      '--config',
      configFile,
      '--json-logs',
    ]
  : process.env.STOA_MEASURE_CHILD
    ? [...nodeFlags, process.env.STOA_MEASURE_CHILD, configFile]
    : [...nodeFlags, '--import', 'tsx', path.join(import.meta.dirname, 'daemon-child.ts'), configFile]
const child = spawn(process.execPath, childArgs, {
  stdio: ['ignore', 'pipe', 'inherit'],
  // The built daemon's malloc settings too, unless STOA_MEASURE_DEFAULT_MALLOC=1.
  env:
    process.env.STOA_MEASURE_BUILT && !process.env.STOA_MEASURE_DEFAULT_MALLOC
      ? { ...process.env, ...providerDaemonEnv }
      : process.env,
})
try {
  const ready = await new Promise<{ gatewayUrl: string; address: `0x${string}` }>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string))
    })
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}`)))
  })
  const target = { gatewayUrl: ready.gatewayUrl, config: { chain: { deployment: devnet.deployment } } }
  const pid = child.pid as number
  const cpuTicks = async () => {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
    return Number(fields[11]) + Number(fields[12])
  }
  const rssMiB = async () => {
    const line = (await readFile(`/proc/${pid}/status`, 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'))
    return Number(line?.split(/\s+/)[1]) / 1024
  }

  await new Promise((r) => setTimeout(r, 10_000))
  if (process.env.STOA_MEASURE_SIGNAL) child.kill('SIGUSR2')
  const ticksBefore = await cpuTicks()
  const window = 20_000
  await new Promise((r) => setTimeout(r, window))
  const cpuPercent = (((await cpuTicks()) - ticksBefore) / 100 / (window / 1000)) * 100
  console.log(
    `idle daemon: RSS ${(await rssMiB()).toFixed(1)} MiB, CPU ${cpuPercent.toFixed(2)}% over ${window / 1000} s`,
  )

  const parsed = await manifestOf(`
version: "1"
services:
  spin:
    wasm: workloads/testdata/build/spin.wasm
    resources: { cpu: 0.1, memory: 16Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`)
  const body = submissionBody(parsed.manifest, parsed.modules)
  const samples: { toRunning: number; putToRunning: number }[] = []
  for (let run = 0; run < runs; run++) {
    const { orderId } = await orderFor(devnet.alice, parsed.manifest, { bidWindowSeconds: 60 })
    await waitFor(async () => (await getBids(devnet.alice, { orderId })).length > 0, { timeoutMs: 30_000 })
    const { leaseId } = await acceptBid(devnet.alice, { orderId, provider: ready.address })
    const leaseAt = performance.now()
    const put = await signedFetch(target, devnet.alice.account, 'PUT', `/v1/leases/${leaseId}/manifest`, {
      body,
    })
    if (put.status !== 202) throw new Error(`PUT manifest: ${put.status} ${await put.text()}`)
    const putAt = performance.now()
    await waitFor(
      async () => {
        const response = await signedFetch(target, devnet.alice.account, 'GET', `/v1/leases/${leaseId}`)
        return ((await response.json()) as LeaseView).status === 'running'
      },
      { intervalMs: 5 },
    )
    const runningAt = performance.now()
    samples.push({ toRunning: runningAt - leaseAt, putToRunning: runningAt - putAt })
    await closeLease(devnet.alice, { leaseId })
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
    return `median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms, max ${(sorted.at(-1) as number).toFixed(0)} ms`
  }
  console.log(
    `LeaseCreated → WASM running (manifest sent at once), ${runs} leases: ${stats(samples.map((s) => s.toRunning))}`,
  )
  console.log(`  of which manifest accepted → running: ${stats(samples.map((s) => s.putToRunning))}`)
  console.log(`busy daemon: RSS ${(await rssMiB()).toFixed(1)} MiB after ${runs} leases`)
} finally {
  child.kill('SIGTERM')
  await devnet.stop()
  await rm(dataDir, { recursive: true, force: true })
  await rm(configFile, { force: true })
}
