// Storage benchmark: a devnet on loopback (real anvil, the contracts, six provider daemons as child
// processes started as `stoa devnet` starts them), measured against the storage goals:
//
//   1. the single stages on 1 GiB, each alone: AES-256-GCM encrypt, the content sha256 (kept in
//      the record), Reed-Solomon encode 4+2, Merkle tree build, HTTP PUT of a 1 GiB stream to one
//      provider; and for download HTTP GET, Reed-Solomon decode, decrypt (pieces are read unchecked
//      and nothing is hashed: AES-GCM authenticates every segment, see docs/storage-spec.md; the
//      content sha256 is a download stage only with `stoa get --verify`);
//   2. `putObject` / `getObject` of a 1 GiB file to six providers (4-of-6), each in a child process so
//      its peak RSS is the upload's (or download's) alone, against the slowest single stage
//      (goals: upload >= 50% of it, download >= 60%; upload peak RSS <= 300 MB). The child is
//      bench/lib/transfer-child.ts bundled with esbuild and run with plain node, as an application
//      would ship the SDK. The CPU seconds each transfer cost, client and providers together, are printed too: on a
//      machine with few cores the processes share them, which bounds the rates;
//   3. gas per storage proof for a 1 GiB shard (forge, --isolate; goal <= 45k).
//
// Stages and transfers run `--runs` times (default 3) and each figure is the median, since rates on
// a small shared VM swing by up to 2x from one run to the next; the peak RSS is the largest seen.
//
//   node --import tsx bench/storage.ts [--size BYTES] [--runs N] [--skip-gas]
//
// MB = 10^6 bytes. A stage's MB/s counts the bytes that stage consumes (plaintext for encryption,
// data shards for erasure coding, shard bytes for trees and HTTP). Figures also go to
// bench/results/latest.jsonl (bench/lib/figures.ts). The 1 GiB file lives in a temp folder that is
// deleted at the end.
import { execFile, spawn } from 'node:child_process'
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomFillSync } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { createStoaClient, storageClientFor } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { createErasureCoder, createMerkleBuilder } from '@stoa/storage'
import { privateKeyToAccount } from 'viem/accounts'
import {
  type DevnetProviders,
  repositoryRoot,
  startDevnetProviders,
} from '../packages/cli/src/devnet/providers.ts'
import { runDevnet } from '../packages/cli/src/devnet/run-devnet.ts'
import { bundleNodeEntry } from '../packages/cli/src/provider-build.ts'
import { type Figure, median, meetsGoal, recordFigure } from './lib/figures.ts'

const execFileAsync = promisify(execFile)
const MiB = 1024 * 1024
const SEGMENT = 32 * MiB
const K = 4
const M = 2

const { values: flags } = parseArgs({
  options: {
    size: { type: 'string', default: String(1024 * MiB) },
    runs: { type: 'string', default: '3' },
    'skip-gas': { type: 'boolean', default: false },
  },
})

const figures: Figure[] = []
function figure(name: string, value: number, unit: string, goal: string | null): void {
  const rounded = Math.round(value * 100) / 100
  const entry = { name, value: rounded, unit, goal }
  figures.push(entry)
  recordFigure(entry)
  console.log(`  ${name}: ${rounded} ${unit}${goal ? ` (goal ${goal})` : ''}`)
}

const rate = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)

const runs = Number(flags.runs)

/** Runs `run` `runs` times and returns the median MB/s for `bytes` (each run's rate printed). */
async function timed(label: string, bytes: number, run: () => unknown): Promise<number> {
  const rates: number[] = []
  for (let index = 0; index < runs; index++) {
    const startedAt = performance.now()
    await run()
    rates.push(rate(bytes, performance.now() - startedAt))
  }
  console.log(`    ${label}: ${rates.map((value) => value.toFixed(0)).join(' / ')} MB/s`)
  return median(rates)
}

// ---------------------------------------------------------------- transfers, in a bundled child

type TransferFigures = {
  ms: number
  peakRssBytes: number
  baseRssBytes: number
  cpuMs: { user: number; system: number }
  dealId?: string
  /** CPU ms of the six provider daemons during the transfer (Linux /proc; 0 elsewhere). */
  providerCpuMs?: number
}

/** CPU ms (user + system) a process has used so far, from /proc (Linux); 0 where unreadable. */
async function processCpuMs(pid: number): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
    // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

const totalCpuMs = (figures: TransferFigures) =>
  figures.cpuMs.user + figures.cpuMs.system + (figures.providerCpuMs ?? 0)

const cpuText = (figures: TransferFigures) =>
  `CPU: client ${((figures.cpuMs.user + figures.cpuMs.system) / 1000).toFixed(1)} s, providers ${((figures.providerCpuMs ?? 0) / 1000).toFixed(1)} s`

/** `runChild`, with the providers' CPU time during it added. */
async function runMeasured(args: string[], providerPids: number[]): Promise<TransferFigures> {
  const cpu = async () => (await Promise.all(providerPids.map(processCpuMs))).reduce((a, b) => a + b, 0)
  const before = await cpu()
  const figures = await runChild(args)
  return { ...figures, providerCpuMs: (await cpu()) - before }
}

const transferChild = join(repositoryRoot, 'bench/.build/transfer-child.mjs')

function runChild(args: string[]): Promise<TransferFigures> {
  return new Promise((resolve, reject) => {
    // STOA_BENCH_CHILD_FLAGS: node flags for the transfer child, e.g. "--cpu-prof --cpu-prof-dir=DIR".
    const childFlags = (process.env.STOA_BENCH_CHILD_FLAGS ?? '').split(' ').filter(Boolean)
    const process_ = spawn(process.execPath, [...childFlags, transferChild, ...args], {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    process_.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    process_.once('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1)
      if (code !== 0 || !line) reject(new Error(`${args.join(' ')} exited with ${code}:\n${stdout}`))
      else resolve(JSON.parse(line))
    })
  })
}

// ---------------------------------------------------------------- single stages

async function stages(size: number, gatewayUrl: string, client: ReturnType<typeof createStoaClient>) {
  console.log(`\n[1] single stages on ${(size / MiB).toFixed(0)} MiB, one at a time`)
  const segments = Math.max(1, Math.round(size / SEGMENT))
  const plaintext = randomBytes(SEGMENT - 16)
  const ciphertext = new Uint8Array(SEGMENT)
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  const aad = randomBytes(36)
  const piece = SEGMENT / K

  const encryptOne = () => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce)
    cipher.setAAD(aad)
    let offset = 0
    for (let at = 0; at < plaintext.length; at += 4 * MiB) {
      const out = cipher.update(plaintext.subarray(at, Math.min(at + 4 * MiB, plaintext.length)))
      ciphertext.set(out, offset)
      offset += out.length
    }
    ciphertext.set(cipher.final(), offset)
    ciphertext.set(cipher.getAuthTag(), SEGMENT - 16)
  }
  const encrypt = await timed('encrypt', segments * plaintext.length, () => {
    for (let index = 0; index < segments; index++) encryptOne()
  })

  const coder = createErasureCoder({ k: K, m: M })
  const data = Array.from({ length: K }, (_, index) =>
    ciphertext.subarray(index * piece, (index + 1) * piece),
  )
  const parity = Array.from({ length: M }, () => new Uint8Array(piece))
  const encode = await timed('rs-encode', segments * SEGMENT, () => {
    for (let index = 0; index < segments; index++) coder.encode(data, parity)
  })

  // A 1 GiB shard's tree, fed as it streams (8 MiB pieces).
  const shardBytes = segments * SEGMENT
  const treeBuild = await timed('merkle-build', shardBytes, () => {
    const builder = createMerkleBuilder({ keepLevelsFrom: 6 })
    for (let fed = 0; fed < shardBytes; fed += piece) builder.update(data[(fed / piece) % K] as Uint8Array)
    builder.finish()
  })

  // The content sha256 over the plaintext: an upload records it; a download checks it only when
  // asked (`--verify`), since AES-GCM authenticates every segment. (Nor are pieces hashed on a
  // download: they are checked only when a segment fails to decrypt.)
  const contentHash = await timed('content-sha256', segments * plaintext.length, () => {
    const hash = createHash('sha256')
    for (let index = 0; index < segments; index++) hash.update(plaintext)
    hash.digest()
  })

  // Decode the worst case: two data pieces lost, rebuilt from two data and two parity pieces.
  const rebuilt = [new Uint8Array(piece), new Uint8Array(piece)]
  const decode = await timed('rs-decode', segments * SEGMENT, () => {
    for (let index = 0; index < segments; index++) {
      const shards: (Uint8Array | undefined)[] = [
        undefined,
        undefined,
        data[2],
        data[3],
        parity[0],
        parity[1],
      ]
      coder.reconstruct(shards, [0, 1], [rebuilt[0], rebuilt[1], undefined, undefined, undefined, undefined])
    }
  })
  if (Buffer.compare(rebuilt[0] as Uint8Array, data[0] as Uint8Array) !== 0)
    throw new Error('RS decode mismatch')

  const tag = ciphertext.subarray(SEGMENT - 16)
  const decrypt = await timed('decrypt', segments * plaintext.length, () => {
    for (let index = 0; index < segments; index++) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce)
      decipher.setAAD(aad)
      decipher.setAuthTag(tag)
      for (let at = 0; at < SEGMENT - 16; at += 4 * MiB)
        decipher.update(ciphertext.subarray(at, Math.min(at + 4 * MiB, SEGMENT - 16)))
      decipher.final()
    }
  })

  // Loopback HTTP to one provider: a 1 GiB shard streamed in 1 MiB chunks, then read back in 64 MiB ranges.
  const storage = storageClientFor(client, gatewayUrl, { timeoutMs: 120_000 })
  const chunk = randomBytes(MiB)
  const roots: `0x${string}`[] = []
  const put = await timed('http-put', shardBytes, async () => {
    const { uploadId } = await storage.createUpload({ size: shardBytes, erasureIndex: 0 })
    async function* body() {
      for (let sent = 0; sent < shardBytes; sent += MiB) yield chunk
    }
    roots.push((await storage.putShard({ uploadId, body: body() })).root)
  })
  let reads = 0
  const get = await timed('http-get', shardBytes, async () => {
    const root = roots[reads++ % roots.length] as `0x${string}`
    for (let start = 0; start < shardBytes; start += SEGMENT) {
      await storage.getShard({ root, start, end: Math.min(start + SEGMENT, shardBytes) })
    }
  })

  figure('storage.stage.encrypt', encrypt, 'MB/s', null)
  figure('storage.stage.rs-encode-4+2', encode, 'MB/s', null)
  figure('storage.stage.merkle-build', treeBuild, 'MB/s', null)
  figure('storage.stage.http-put', put, 'MB/s', null)
  figure('storage.stage.http-get', get, 'MB/s', null)
  figure('storage.stage.content-sha256', contentHash, 'MB/s', null)
  figure('storage.stage.rs-decode-4+2', decode, 'MB/s', null)
  figure('storage.stage.decrypt', decrypt, 'MB/s', null)
  return {
    up: Math.min(encrypt, contentHash, encode, treeBuild, put),
    down: Math.min(get, decode, decrypt),
  }
}

// ---------------------------------------------------------------- gas

async function proofGas(): Promise<{
  single?: number
  perProofInBatch?: number
  batchTotal?: number
  note?: string
}> {
  const forge = join(repositoryRoot, 'node_modules/.bin/forge')
  try {
    const { stdout } = await execFileAsync(
      forge,
      ['test', '--match-contract', 'StorageGas', '--isolate', '--json', '-vv'],
      { cwd: join(repositoryRoot, 'contracts'), maxBuffer: 256 * MiB, timeout: 300_000 },
    )
    const suites = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<
      string,
      { test_results: Record<string, { decoded_logs?: string[] }> }
    >
    const measured = new Map<string, number>()
    for (const suite of Object.values(suites))
      for (const result of Object.values(suite.test_results))
        for (const log of result.decoded_logs ?? []) {
          const found = /^gas:(.+): (\d+)$/.exec(log)
          if (found?.[1] && found[2]) measured.set(found[1], Number(found[2]))
        }
    // Names as StorageGas.t.sol logs them: `gas:submitProof (1 GiB shard, single): N`,
    // `gas:submitProof (1 GiB shard, per proof in a batch of 10): N`, `gas:submitProofs (batch of 10, total): N`.
    const find = (pattern: RegExp) => [...measured].find(([name]) => pattern.test(name))?.[1]
    const single = find(/^submitProof .*single/)
    const perProofInBatch = find(/^submitProof .*per proof in a batch/)
    const batchTotal = find(/^submitProofs .*total/)
    return {
      ...(single === undefined ? {} : { single }),
      ...(perProofInBatch === undefined ? {} : { perProofInBatch }),
      ...(batchTotal === undefined ? {} : { batchTotal }),
      ...(measured.size === 0 ? { note: 'no gas:… lines in the StorageGas tests' } : {}),
    }
  } catch (error) {
    return { note: `forge: ${String((error as Error).message).split('\n')[0]}` }
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const size = Number(flags.size)
  if (!Number.isInteger(size) || size < MiB)
    throw new Error('--size must be a whole number of bytes, at least 1 MiB')
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number, at least 1')
  const dir = await mkdtemp(join(tmpdir(), 'stoa-bench-storage-'))
  const deploymentFile = join(dir, 'deployment.json')
  let devnet: Awaited<ReturnType<typeof runDevnet>> | undefined
  let providers: DevnetProviders | undefined
  try {
    console.log('Starting the devnet: anvil, contracts, six storage providers…')
    devnet = await runDevnet({ deploymentFile, providerAccounts: 6 })
    providers = await startDevnetProviders({
      count: 6,
      dir,
      deploymentFile,
      docker: false,
      namespace: `bs${process.pid % 1000}`,
    })
    const client = createStoaClient({
      deployment: devnet.deployment,
      account: privateKeyToAccount(devnetAccount('alice').privateKey),
      pollingInterval: 100,
    })
    const slowest = await stages(size, (providers.providers[0] as { gatewayUrl: string }).gatewayUrl, client)

    console.log(
      `\n[2] putObject / getObject of ${(size / MiB).toFixed(0)} MiB to six providers (4-of-6), each in a child process`,
    )
    await mkdir(join(repositoryRoot, 'bench/.build'), { recursive: true })
    await bundleNodeEntry({
      entry: join(repositoryRoot, 'bench/lib/transfer-child.ts'),
      outfile: transferChild,
    })
    const providerPids = providers.providers.map((provider) => provider.pid)
    const source = join(dir, 'object.bin')
    const fetched = join(dir, 'fetched.bin')
    const ups: TransferFigures[] = []
    const downs: TransferFigures[] = []
    for (let index = 0; index < runs; index++) {
      const sourceDigest = await writeRandomFile(source, size)
      const common = [
        '--deployment',
        deploymentFile,
        '--name',
        `bench-${Date.now().toString(36)}-${index}.bin`,
      ]
      ups.push(await runMeasured(['put', '--file', source, ...common], providerPids))
      await rm(source, { force: true })
      downs.push(await runMeasured(['get', '--file', fetched, ...common], providerPids))
      const fetchedDigest = await fileDigest(fetched)
      await rm(fetched, { force: true })
      if (fetchedDigest !== sourceDigest) throw new Error('the fetched file differs from the stored one')
      const lastUp = ups.at(-1) as TransferFigures
      const lastDown = downs.at(-1) as TransferFigures
      console.log(
        `    run ${index + 1}: upload ${rate(size, lastUp.ms).toFixed(1)} MB/s (${cpuText(lastUp)}), download ${rate(size, lastDown.ms).toFixed(1)} MB/s (${cpuText(lastDown)})`,
      )
    }
    const up = {
      ms: median(ups.map((entry) => entry.ms)),
      peakRssBytes: Math.max(...ups.map((entry) => entry.peakRssBytes)),
      baseRssBytes: Math.max(...ups.map((entry) => entry.baseRssBytes)),
    }
    const down = {
      ms: median(downs.map((entry) => entry.ms)),
      peakRssBytes: Math.max(...downs.map((entry) => entry.peakRssBytes)),
    }
    const upRate = rate(size, up.ms)
    const downRate = rate(size, down.ms)
    figure('storage.upload', upRate, 'MB/s', null)
    figure('storage.upload.vs-slowest-stage', (upRate / slowest.up) * 100, '%', '>= 50')
    figure('storage.upload.peak-rss', up.peakRssBytes / 1e6, 'MB', '<= 300')
    figure('storage.upload.rss-before-transfer', up.baseRssBytes / 1e6, 'MB', null)
    figure('storage.download', downRate, 'MB/s', null)
    figure('storage.download.vs-slowest-stage', (downRate / slowest.down) * 100, '%', '>= 60')
    figure('storage.download.peak-rss', down.peakRssBytes / 1e6, 'MB', null)
    // CPU seconds the transfer cost, client and six providers together: on a machine with few
    // cores they share them, so this bounds the rate (cores x seconds of wall time).
    figure('storage.upload.cpu-seconds', median(ups.map(totalCpuMs)) / 1000, 's', null)
    figure('storage.download.cpu-seconds', median(downs.map(totalCpuMs)) / 1000, 's', null)
    console.log(`  (${availableParallelism()} cores)`)

    if (!flags['skip-gas']) {
      console.log('\n[3] gas per storage proof, 1 GiB shard (forge test --isolate)')
      const gas = await proofGas()
      // The goal is per proof; a single transaction also pays the 21k base, a batch shares it.
      if (gas.single !== undefined) figure('storage.proof.gas.single', gas.single, 'gas', '<= 45000')
      if (gas.perProofInBatch !== undefined)
        figure('storage.proof.gas.per-proof-in-batch', gas.perProofInBatch, 'gas', '<= 45000')
      if (gas.batchTotal !== undefined) figure('storage.proofs.gas.batch-of-10', gas.batchTotal, 'gas', null)
      if (gas.note) console.log(`  (${gas.note})`)
    }
  } finally {
    await providers?.stop().catch(() => undefined)
    await devnet?.stop().catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  }

  console.log('\nStorage figures against the goals')
  const width = Math.max(...figures.map((entry) => entry.name.length))
  for (const entry of figures) {
    const verdict = entry.goal === null ? '' : meetsGoal(entry.value, entry.goal) ? 'ok' : 'MISSED'
    console.log(
      `  ${entry.name.padEnd(width)}  ${String(entry.value).padStart(10)} ${entry.unit.padEnd(5)} ${(entry.goal ?? '').padEnd(9)} ${verdict}`,
    )
  }
}

/** A file of `size` random-looking bytes (64 MiB of randomness, each copy varied), and its sha256. */
async function writeRandomFile(path: string, size: number): Promise<string> {
  const block = randomBytes(Math.min(SEGMENT, size))
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  for (let written = 0; written < size; written += block.length) {
    randomFillSync(block, 0, 4096)
    const part = block.subarray(0, Math.min(block.length, size - written))
    hash.update(part)
    if (!out.write(part)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject)
    out.end(() => resolve())
  })
  return hash.digest('hex')
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of (await import('node:fs')).createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

await main()
