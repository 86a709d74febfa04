// One `putObject` or `getObject` of the storage benchmark (bench/storage.ts), alone in its process
// so that process's peak RSS is the transfer's. The benchmark bundles this file with esbuild
// (bundleNodeEntry, as the provider daemon ships) and runs it with plain node, so the figure is the
// SDK's memory, not the TypeScript loader's (tsx holds about 100 MB more before any byte moves).
//
//   node transfer-child.mjs put|get --deployment FILE --file PATH --name NAME
//
// Prints one JSON line on stdout: { ms, peakRssBytes, baseRssBytes, cpuMs, pageFaults, dealId? }; its
// memory, garbage collection and CPU time on stderr.
import { readFile } from 'node:fs/promises'
import { PerformanceObserver } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { createStoaClient, getMasterKey, getObject, putObject } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { privateKeyToAccount } from 'viem/accounts'

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    deployment: { type: 'string' },
    file: { type: 'string' },
    name: { type: 'string' },
  },
})
const mode = positionals[0]
if ((mode !== 'put' && mode !== 'get') || !flags.deployment || !flags.file || !flags.name)
  throw new Error('usage: transfer-child put|get --deployment FILE --file PATH --name NAME')

const client = createStoaClient({
  deployment: JSON.parse(await readFile(flags.deployment, 'utf8')),
  account: privateKeyToAccount(devnetAccount('alice').privateKey),
  pollingInterval: 100,
})
const masterKey = await getMasterKey(client)
// Peaks of RSS, array buffers (Buffers and typed arrays) and the JS heap, sampled during the transfer.
const memory = { rss: 0, arrayBuffers: 0, heapUsed: 0 }
const sample = () => {
  const usage = process.memoryUsage()
  memory.rss = Math.max(memory.rss, usage.rss)
  memory.arrayBuffers = Math.max(memory.arrayBuffers, usage.arrayBuffers)
  memory.heapUsed = Math.max(memory.heapUsed, usage.heapUsed)
}
sample()
const baseRssBytes = memory.rss
// Every 100 ms: process.memoryUsage() took about 1 ms a call in a busy transfer, and the peak RSS
// reported is the kernel's (maxRSS), not these samples.
const sampler = setInterval(sample, 100)
// Garbage-collection pauses during the transfer, by kind (minor / major / incremental / weak).
const gcPauses = new Map<number, { count: number; ms: number }>()
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0
    const sum = gcPauses.get(kind) ?? { count: 0, ms: 0 }
    sum.count++
    sum.ms += entry.duration
    gcPauses.set(kind, sum)
  }
})
gcObserver.observe({ entryTypes: ['gc'] })
const startedAt = performance.now()
const cpuAtStart = process.cpuUsage()
const faultsAtStart = process.resourceUsage().minorPageFault
let extra: Record<string, unknown> = {}
if (mode === 'put') {
  const record = await putObject(client, {
    source: flags.file,
    name: flags.name,
    k: 4,
    n: 6,
    total: 6,
    masterKey,
  })
  extra = { dealId: String(record.dealId) }
} else {
  const result = await getObject(client, { name: flags.name, masterKey, output: flags.file })
  // Ciphertext fetched: more than the data pieces when hedged backup requests ran.
  extra = { bytesFetched: result.bytesFetched, dropped: result.dropped.length }
}
const ms = performance.now() - startedAt
const cpu = process.cpuUsage(cpuAtStart)
gcObserver.disconnect()
const gcKinds: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak' }
const gcText = [...gcPauses]
  .map(([kind, sum]) => `${gcKinds[kind] ?? kind} ${sum.count}x ${Math.round(sum.ms)} ms`)
  .join(', ')
clearInterval(sampler)
const mb = (bytes: number) => Math.round(bytes / 1e6)
// CPU time of this process (all its threads) and minor page faults during the transfer.
const cpuMs = { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) }
const pageFaults = process.resourceUsage().minorPageFault - faultsAtStart
console.error(
  `    ${mode}: rss before ${mb(baseRssBytes)} MB; peaks sampled: rss ${mb(memory.rss)} MB, array buffers ${mb(memory.arrayBuffers)} MB, heap ${mb(memory.heapUsed)} MB${'bytesFetched' in extra ? `; fetched ${mb(Number(extra.bytesFetched))} MB, ${extra.dropped} providers dropped` : ''}; GC ${gcText || 'none'}; CPU user ${cpuMs.user} ms, system ${cpuMs.system} ms, ${pageFaults} page faults`,
)
// maxRSS is in KiB.
const peakRssBytes = process.resourceUsage().maxRSS * 1024
process.stdout.write(`${JSON.stringify({ ms, peakRssBytes, baseRssBytes, cpuMs, pageFaults, ...extra })}\n`)
process.exit(0)
