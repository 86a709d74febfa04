#!/usr/bin/env node
// Market and StorageDeals gas report: `npm run gas` (from the repository root; runs in contracts/).
//
// Runs test/MarketGas.t.sol and test/StorageGas.t.sol with `forge test --isolate`, where every top-level call is its own
// transaction: the figure each test logs (`gas:<operation>`, from `vm.lastCallGas()`) is what a receipt
// would show, 21k base, calldata, cold accesses and refunds included. The tests define "typical" (see
// the contracts' comments). Prints operation | gas | goal | Akash estimate | ok? for the Market, then
// the StorageDeals figures against docs/storage-spec.md's goal (submitProof <= 45k for a 1 GiB shard,
// judged on the per-proof figure of a batched submitProofs; the single-proof transaction, which pays
// the 21k base alone, is printed beside it), then compares the per-test gas with the committed
// `.gas-snapshot` (written by `forge snapshot --match-contract 'MarketGasTest|StorageGasTest' --isolate`).
//
// Exit status: 1 when a goal is missed or a gas test fails; with --check also when the snapshot
// differs. --update rewrites `.gas-snapshot`. Flags reach the script as
// `npm run gas -w contracts -- --update` (or `node script/gas-report.mjs --update` in contracts/).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const contractsDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const snapshotFile = join(contractsDir, '.gas-snapshot')
const match = ['--match-contract', 'MarketGasTest|StorageGasTest', '--isolate']
const args = new Set(process.argv.slice(2))

/** Goals from ARCHITECTURE.md section 8; Akash's EVM-port estimates as the anchor. */
const goals = {
  createOrder: { goal: 120_000, akash: 480_000 },
  bid: { goal: 90_000, akash: 350_000 },
  acceptBid: { goal: 120_000, akash: 700_000 },
  settle: { goal: 50_000, akash: 180_000 },
  closeLease: { goal: 60_000, akash: 450_000 },
}

/** docs/storage-spec.md section 3: a proof of a 1 GiB shard (512-byte leaves: 2^21 leaves, 21 siblings). */
const storageGoals = {
  'submitProof (1 GiB shard, per proof in a batch of 10)': { goal: 45_000 },
}

function forgeBinary() {
  const local = join(contractsDir, '..', 'node_modules', '.bin', 'forge')
  return existsSync(local) ? local : 'forge'
}

function forge(forgeArgs) {
  const result = spawnSync(forgeBinary(), forgeArgs, {
    cwd: contractsDir,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  if (result.error) throw result.error
  return result
}

/** `{ "test_gas_x()": gas }` from a forge snapshot file. */
function readSnapshot(file) {
  const entries = new Map()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const found = /^(\S+):(\S+\(\)) \(gas: (\d+)\)$/.exec(line.trim())
    if (found) entries.set(found[2], Number(found[3]))
  }
  return entries
}

function formatGas(value) {
  return value === undefined ? '-' : value.toLocaleString('en-US')
}

function printTable(header, rows) {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  )
  const line = (cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`)
  for (const row of rows) console.log(line(row))
}

// 1. Measure.
const run = forge(['test', ...match, '--json', '-vv'])
const jsonStart = run.stdout.indexOf('{')
if (jsonStart < 0) {
  process.stderr.write(run.stdout + run.stderr)
  console.error('gas-report: forge printed no JSON result')
  process.exit(1)
}
const suites = JSON.parse(run.stdout.slice(jsonStart))
const measured = new Map()
const storageMeasured = new Map()
const failures = []
for (const [suiteName, suite] of Object.entries(suites)) {
  const into = suiteName.endsWith(':StorageGasTest') ? storageMeasured : measured
  for (const [test, result] of Object.entries(suite.test_results)) {
    if (result.status !== 'Success') failures.push(`${test}: ${result.reason ?? result.status}`)
    for (const log of result.decoded_logs ?? []) {
      const found = /^gas:(.+): (\d+)$/.exec(log)
      if (found) into.set(found[1], Number(found[2]))
    }
  }
}
if (measured.size === 0 || storageMeasured.size === 0) {
  console.error('gas-report: no gas figures found (did test/MarketGas.t.sol and test/StorageGas.t.sol run?)')
  process.exit(1)
}

// 2. Report against the goals.
let missed = 0
let snapshotMismatch = false
const rows = []
for (const [operation, { goal, akash }] of Object.entries(goals)) {
  const gas = measured.get(operation)
  const ok = gas !== undefined && gas <= goal
  if (!ok) missed++
  rows.push([operation, formatGas(gas), formatGas(goal), formatGas(akash), ok ? 'ok' : 'MISSED'])
}
for (const [operation, gas] of measured) {
  if (!(operation in goals)) rows.push([operation, formatGas(gas), '-', '-', ''])
}
console.log('Market gas per transaction (forge --isolate: 21k base, calldata, cold access, refunds)\n')
printTable(['operation', 'gas', 'goal', 'Akash estimate', 'ok?'], rows)

const storageRows = []
for (const [operation, { goal }] of Object.entries(storageGoals)) {
  const gas = storageMeasured.get(operation)
  const ok = gas !== undefined && gas <= goal
  if (!ok) missed++
  storageRows.push([operation, formatGas(gas), formatGas(goal), ok ? 'ok' : 'MISSED'])
}
for (const [operation, gas] of storageMeasured) {
  if (!(operation in storageGoals)) storageRows.push([operation, formatGas(gas), '-', ''])
}
console.log('\nStorageDeals gas per transaction (same measure; proofs of a 1 GiB shard, 512-byte leaves)\n')
printTable(['operation', 'gas', 'goal', 'ok?'], storageRows)

// 3. Compare with the committed snapshot (or rewrite it).
console.log('')
if (args.has('--update')) {
  const snap = forge(['snapshot', ...match])
  if (snap.status !== 0) {
    process.stderr.write(snap.stdout + snap.stderr)
    process.exit(1)
  }
  console.log('.gas-snapshot updated')
} else if (!existsSync(snapshotFile)) {
  console.log('no .gas-snapshot yet: run `npm run gas -w contracts -- --update` to create it')
  if (args.has('--check')) snapshotMismatch = true
} else {
  const scratch = mkdtempSync(join(tmpdir(), 'stoa-gas-'))
  const current = join(scratch, 'current.gas-snapshot')
  try {
    const snap = forge(['snapshot', ...match, '--snap', current])
    if (snap.status !== 0) {
      process.stderr.write(snap.stdout + snap.stderr)
      process.exit(1)
    }
    const before = readSnapshot(snapshotFile)
    const after = readSnapshot(current)
    const changes = []
    for (const test of new Set([...before.keys(), ...after.keys()])) {
      const old = before.get(test)
      const now = after.get(test)
      if (old === now) continue
      const delta = old !== undefined && now !== undefined ? now - old : undefined
      const percent = delta !== undefined ? `${((delta / old) * 100).toFixed(2)}%` : ''
      changes.push([
        test,
        formatGas(old),
        formatGas(now),
        delta === undefined ? (old === undefined ? 'new' : 'removed') : `${delta > 0 ? '+' : ''}${delta}`,
        percent,
      ])
    }
    if (changes.length === 0) {
      console.log(`per-test gas matches .gas-snapshot (${after.size} tests)`)
    } else {
      console.log('per-test gas differs from .gas-snapshot (a costlier change must say why):\n')
      printTable(['test', 'snapshot', 'now', 'change', '%'], changes)
      if (args.has('--check')) snapshotMismatch = true
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (failures.length > 0) {
  console.error(`\n${failures.length} gas test(s) failed:\n  ${failures.join('\n  ')}`)
}
if (missed > 0) console.error(`\ngas-report: ${missed} gas goal(s) missed`)
if (snapshotMismatch) console.error('\ngas-report: --check: per-test gas differs from .gas-snapshot')
if (missed > 0 || snapshotMismatch || failures.length > 0) process.exit(1)
