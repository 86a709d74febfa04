// Erasure-coding throughput: Stoa's Reed-Solomon coder (WASM SIMD) against the native C addon
// @ronomon/reed-solomon, in the same process, on the same data, interleaved round by round.
//
//   node --import tsx bench/erasure.ts [--shard-size BYTES] [--seconds S] [--rounds N] [--quick]
//
// MB/s counts data bytes: k × shard size per operation, per second, MB = 1e6 bytes. Encoding
// makes the m parity shards from the k data shards; decoding rebuilds the first m data shards
// from the other k - m data shards and the m parity shards. Both sides run one operation at a time
// on one thread (the addon's calls are awaited one by one) and write into buffers allocated once.
// Each figure is the median of the rounds' rates. Figures also go to bench/results/latest.jsonl
// (see bench/lib/figures.ts and bench/README.md).
import { randomFillSync } from 'node:crypto'
import { createRequire } from 'node:module'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { createErasureCoder } from '../packages/storage/src/index.ts'
import { type Figure, meetsGoal, recordFigure } from './lib/figures.ts'

type RonomonReedSolomon = {
  create(k: number, m: number): Buffer
  encode(
    context: Buffer,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error) => void,
  ): void
}

const { values: options } = parseArgs({
  options: {
    'shard-size': { type: 'string', default: String(1024 * 1024) },
    seconds: { type: 'string', default: '1.5' },
    rounds: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
  },
})
const shardSize = options.quick ? 64 * 1024 : Number(options['shard-size'])
const secondsPerOperation = options.quick ? 0.05 : Number(options.seconds)
const rounds = options.quick ? 2 : Number(options.rounds)
if (!(Number.isInteger(shardSize) && shardSize > 0 && shardSize % 8 === 0)) {
  throw new Error('--shard-size must be a positive multiple of 8 (the addon needs it)')
}
if (!(secondsPerOperation > 0 && Number.isInteger(rounds) && rounds > 0)) {
  throw new Error('--seconds must be positive and --rounds a positive integer')
}

const addon = createRequire(import.meta.url)('@ronomon/reed-solomon') as RonomonReedSolomon
const codes = [
  { k: 10, m: 4 },
  { k: 4, m: 2 },
]

type OperationName = 'encode' | 'decode'
/** 'stoa-new-buffers': Stoa allocating its outputs on every call, shown for context. */
type Side = 'stoa' | 'addon' | 'stoa-new-buffers'
type Operation = { name: OperationName; side: Side; run: () => void | Promise<void> }
type Rate = { wall: number; cpu: number }

/**
 * Runs `operation` for about `seconds` (at least twice) and returns data MB/s per second of wall
 * time, and per second of this process's CPU time (which a loaded machine does not inflate by
 * keeping the process waiting for a core).
 */
async function rate(operation: Operation, dataBytes: number, seconds: number): Promise<Rate> {
  let iterations = 0
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  let elapsed = 0
  while (iterations < 2 || elapsed < seconds * 1000) {
    await operation.run()
    iterations++
    elapsed = performance.now() - started
  }
  const cpu = process.cpuUsage(cpuBefore)
  const megabytes = (iterations * dataBytes) / 1e6
  return { wall: megabytes / (elapsed / 1000), cpu: megabytes / ((cpu.user + cpu.system) / 1e6) }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** One awaited call of the addon: compute the shards in `targets` from those in `sources` (bit masks). */
function addonCall(
  context: Buffer,
  sources: number,
  targets: number,
  data: Buffer,
  parity: Buffer,
  k: number,
  m: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    addon.encode(context, sources, targets, data, 0, k * shardSize, parity, 0, m * shardSize, (error) =>
      error ? reject(error) : resolve(),
    )
  })
}

type Result = {
  code: string
  k: number
  m: number
  operation: OperationName
  rates: Record<Side, number>
  cpuRatio: number
}
const results: Result[] = []
let kernel = ''

for (const { k, m } of codes) {
  const dataBytes = k * shardSize
  const data = randomFillSync(Buffer.alloc(dataBytes))
  const dataShards = Array.from({ length: k }, (_, i) => data.subarray(i * shardSize, (i + 1) * shardSize))
  const coder = createErasureCoder({ k, m })
  kernel = coder.kernel
  const parity = coder.encode(dataShards)
  const lost = Array.from({ length: m }, (_, i) => i)
  const damaged = () => [...dataShards.map((shard, i) => (lost.includes(i) ? undefined : shard)), ...parity]

  // Check both sides before timing them: each rebuilds its lost data exactly.
  const check = damaged()
  coder.reconstruct(check)
  for (const i of lost) {
    if (!data.subarray(i * shardSize, (i + 1) * shardSize).equals(check[i] as Uint8Array)) {
      throw new Error(`Stoa rebuilt data shard ${i} wrongly`)
    }
  }
  const context = addon.create(k, m)
  const addonData = Buffer.from(data)
  const addonParity = Buffer.alloc(m * shardSize)
  let dataMask = 0
  for (let i = 0; i < k; i++) dataMask |= 1 << i
  let parityMask = 0
  for (let j = 0; j < m; j++) parityMask |= 1 << (k + j)
  let lostMask = 0
  for (const i of lost) lostMask |= 1 << i
  const survivorsMask = (dataMask | parityMask) & ~lostMask
  await addonCall(context, dataMask, parityMask, addonData, addonParity, k, m)
  addonData.fill(0, 0, m * shardSize)
  await addonCall(context, survivorsMask, lostMask, addonData, addonParity, k, m)
  if (!addonData.equals(data)) throw new Error('the addon rebuilt its data wrongly')

  // Like the addon, Stoa writes into buffers allocated once.
  const parityBuffers = Array.from({ length: m }, () => new Uint8Array(shardSize))
  const rebuildBuffers = Array.from({ length: k + m }, (_, i) =>
    lost.includes(i) ? new Uint8Array(shardSize) : undefined,
  )
  const operations: Operation[] = [
    { name: 'encode', side: 'stoa', run: () => void coder.encode(dataShards, parityBuffers) },
    {
      name: 'encode',
      side: 'addon',
      run: () => addonCall(context, dataMask, parityMask, addonData, addonParity, k, m),
    },
    { name: 'decode', side: 'stoa', run: () => coder.reconstruct(damaged(), undefined, rebuildBuffers) },
    {
      name: 'decode',
      side: 'addon',
      run: () => addonCall(context, survivorsMask, lostMask, addonData, addonParity, k, m),
    },
  ]
  // Allocating runs come after the rest: freeing their buffers must not slow what follows.
  const allocating: Operation[] = [
    { name: 'encode', side: 'stoa-new-buffers', run: () => void coder.encode(dataShards) },
    { name: 'decode', side: 'stoa-new-buffers', run: () => coder.reconstruct(damaged()) },
  ]
  for (const operation of operations) await rate(operation, dataBytes, Math.min(0.2, secondsPerOperation))
  const samples = new Map<Operation, Rate[]>(
    [...operations, ...allocating].map((operation) => [operation, []]),
  )
  for (let round = 0; round < rounds; round++) {
    // Every other round runs in reverse order, so neither side always goes first.
    for (const operation of round % 2 ? [...operations].reverse() : operations) {
      samples.get(operation)?.push(await rate(operation, dataBytes, secondsPerOperation / rounds))
    }
  }
  for (const operation of allocating) {
    for (let round = 0; round < rounds; round++) {
      samples.get(operation)?.push(await rate(operation, dataBytes, secondsPerOperation / rounds))
    }
  }
  for (const name of ['encode', 'decode'] as const) {
    const of = (side: Side, clock: keyof Rate) => {
      const operation = [...operations, ...allocating].find((o) => o.name === name && o.side === side)
      return median((samples.get(operation as Operation) ?? []).map((sample) => sample[clock]))
    }
    results.push({
      code: `${k}+${m}`,
      k,
      m,
      operation: name,
      rates: {
        stoa: of('stoa', 'wall'),
        addon: of('addon', 'wall'),
        'stoa-new-buffers': of('stoa-new-buffers', 'wall'),
      },
      cpuRatio: of('stoa', 'cpu') / of('addon', 'cpu'),
    })
  }
}

const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU'
console.log(
  `Erasure coding, ${shardSize / 1024} KiB shards. MB/s = data bytes (k × shard size) per second / 1e6, median of ${rounds} rounds.`,
)
console.log(
  `Stoa kernel: ${kernel}. Addon: @ronomon/reed-solomon (native C). ${cpu}, ${os.cpus().length} cores, Node ${process.version}.`,
)
console.log('')
const header = [
  'code',
  'op',
  'Stoa MB/s',
  'addon MB/s',
  'ratio',
  'goal',
  '',
  'ratio, CPU time',
  'Stoa, new buffers',
]
const table = results.map(({ code, operation, rates, cpuRatio }) => {
  const ratio = rates.stoa / rates.addon
  return [
    code,
    operation,
    rates.stoa.toFixed(0),
    rates.addon.toFixed(0),
    `${ratio.toFixed(2)}×`,
    '≥ 1×',
    meetsGoal(ratio, '>= 1') ? 'met' : 'MISSED',
    `${cpuRatio.toFixed(2)}×`,
    rates['stoa-new-buffers'].toFixed(0),
  ]
})
const widths = header.map((title, c) =>
  Math.max(title.length, ...table.map((cells) => (cells[c] as string).length)),
)
for (const cells of [header, ...table]) {
  console.log(
    cells
      .map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number)))
      .join('  '),
  )
}
console.log('')
console.log('"ratio, CPU time": the same runs per second of process CPU time, steadier on a loaded machine.')
console.log(
  '"Stoa, new buffers": encode() and reconstruct() allocating their outputs on every call (context only).',
)

for (const { k, m, operation, rates, cpuRatio } of results) {
  const prefix = `erasure.k${k}m${m}.${operation}`
  const figures: Figure[] = [
    { name: `${prefix}.stoa`, value: round1(rates.stoa), unit: 'MB/s', goal: `>= ${round1(rates.addon)}` },
    { name: `${prefix}.addon`, value: round1(rates.addon), unit: 'MB/s', goal: null },
    {
      name: `${prefix}.ratio`,
      value: Math.round((rates.stoa / rates.addon) * 1000) / 1000,
      unit: 'x',
      goal: '>= 1',
    },
    { name: `${prefix}.ratio-cpu`, value: Math.round(cpuRatio * 1000) / 1000, unit: 'x', goal: null },
    {
      name: `${prefix}.stoa-new-buffers`,
      value: round1(rates['stoa-new-buffers']),
      unit: 'MB/s',
      goal: null,
    },
  ]
  for (const figure of figures) recordFigure(figure)
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}
