// Storage benchmark: a devnet on loopback (real anvil, the contracts, six provider daemons as child
// processes started as `stoa devnet` starts them), measured against the storage goals:
//
//   1. the single stages on 1 GiB, each alone: AES-256-GCM encrypt, Reed-Solomon encode 4+2, Merkle
//      tree build, HTTP PUT of a 1 GiB stream to one provider; and for download HTTP GET, Merkle
//      verify, Reed-Solomon decode, decrypt;
//   2. `putObject` / `getObject` of a 1 GiB file to six providers (4-of-6), each in a child process so
//      its peak RSS is the upload's (or download's) alone, against the slowest single stage
//      (goals: upload >= 50% of it, download >= 60%; upload peak RSS <= 300 MB);
//   3. gas per storage proof for a 1 GiB shard (forge, --isolate; goal <= 45k).
//
//   node --import tsx bench/storage.ts [--size BYTES] [--skip-gas]
//
// MB = 10^6 bytes. A stage's MB/s counts the bytes that stage consumes (plaintext for encryption,
// data shards for erasure coding, shard bytes for trees and HTTP). Figures also go to
// bench/results/latest.jsonl (bench/lib/figures.ts). The 1 GiB file lives in a temp folder that is
// deleted at the end.
import { execFile, spawn } from 'node:child_process'
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomFillSync } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { createStoaClient, getMasterKey, getObject, putObject, storageClientFor } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { createErasureCoder, createMerkleBuilder, merkleRoot } from '@stoa/storage'
import { privateKeyToAccount } from 'viem/accounts'
import {
  type DevnetProviders,
  repositoryRoot,
  startDevnetProviders,
} from '../packages/cli/src/devnet/providers.ts'
import { runDevnet } from '../packages/cli/src/devnet/run-devnet.ts'
import { type Figure, meetsGoal, recordFigure } from './lib/figures.ts'

const execFileAsync = promisify(execFile)
const MiB = 1024 * 1024
const SEGMENT = 32 * MiB
const K = 4
const M = 2

const { values: flags } = parseArgs({
  options: {
    size: { type: 'string', default: String(1024 * MiB) },
    'skip-gas': { type: 'boolean', default: false },
    // Child modes: one upload or download, then its figures as a JSON line.
    child: { type: 'string' },
    deployment: { type: 'string' },
    file: { type: 'string' },
    name: { type: 'string' },
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

/** Times `run` and returns MB/s for `bytes`. */
async function timed(bytes: number, run: () => unknown): Promise<number> {
  const startedAt = performance.now()
  await run()
  return rate(bytes, performance.now() - startedAt)
}

// ---------------------------------------------------------------- child: one transfer, its peak RSS

async function child(mode: string): Promise<void> {
  const deployment = JSON.parse(
    await (await import('node:fs/promises')).readFile(flags.deployment as string, 'utf8'),
  )
  const client = createStoaClient({
    deployment,
    account: privateKeyToAccount(devnetAccount('alice').privateKey),
    pollingInterval: 100,
  })
  const masterKey = await getMasterKey(client)
  const name = flags.name as string
  // Memory breakdown: the peaks of RSS, array buffers (Buffers and typed arrays) and the JS heap,
  // sampled during the transfer.
  const memory = { rss: 0, arrayBuffers: 0, heapUsed: 0 }
  const sample = () => {
    const usage = process.memoryUsage()
    memory.rss = Math.max(memory.rss, usage.rss)
    memory.arrayBuffers = Math.max(memory.arrayBuffers, usage.arrayBuffers)
    memory.heapUsed = Math.max(memory.heapUsed, usage.heapUsed)
  }
  sample()
  const baseRss = memory.rss
  const sampler = setInterval(sample, 20)
  const startedAt = performance.now()
  let extra: Record<string, unknown> = {}
  if (mode === 'put') {
    const record = await putObject(client, {
      source: flags.file as string,
      name,
      k: K,
      n: 6,
      total: 6,
      masterKey,
    })
    extra = { dealId: String(record.dealId) }
  } else {
    await getObject(client, { name, masterKey, output: flags.file as string })
  }
  const ms = performance.now() - startedAt
  clearInterval(sampler)
  const mb = (bytes: number) => Math.round(bytes / 1e6)
  console.error(
    `    ${mode}: rss before ${mb(baseRss)} MB; peaks sampled: rss ${mb(memory.rss)} MB, array buffers ${mb(memory.arrayBuffers)} MB, heap ${mb(memory.heapUsed)} MB`,
  )
  // maxRSS is in KiB.
  const peakRssBytes = process.resourceUsage().maxRSS * 1024
  process.stdout.write(`${JSON.stringify({ ms, peakRssBytes, ...extra })}\n`)
  process.exit(0)
}

function runChild(args: string[]): Promise<{ ms: number; peakRssBytes: number; dealId?: string }> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
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
  const encrypt = await timed(segments * plaintext.length, () => {
    for (let index = 0; index < segments; index++) encryptOne()
  })

  const coder = createErasureCoder({ k: K, m: M })
  const data = Array.from({ length: K }, (_, index) =>
    ciphertext.subarray(index * piece, (index + 1) * piece),
  )
  const parity = Array.from({ length: M }, () => new Uint8Array(piece))
  const encode = await timed(segments * SEGMENT, () => {
    for (let index = 0; index < segments; index++) coder.encode(data, parity)
  })

  // A 1 GiB shard's tree, fed as it streams (8 MiB pieces).
  const shardBytes = segments * SEGMENT
  const treeBuild = await timed(shardBytes, () => {
    const builder = createMerkleBuilder({ keepLevelsFrom: 6 })
    for (let fed = 0; fed < shardBytes; fed += piece) builder.update(data[(fed / piece) % K] as Uint8Array)
    builder.finish()
  })

  // Download: every piece checked against its root (the piece roots are then checked against the chain).
  const pieceRoots = data.map((shard) => merkleRoot(shard))
  const verify = await timed(shardBytes, () => {
    for (let fed = 0; fed < shardBytes; fed += piece) {
      const index = (fed / piece) % K
      const root = merkleRoot(data[index] as Uint8Array)
      if (Buffer.compare(root, pieceRoots[index] as Uint8Array) !== 0) throw new Error('piece root mismatch')
    }
  })

  // Decode the worst case: two data pieces lost, rebuilt from two data and two parity pieces.
  const rebuilt = [new Uint8Array(piece), new Uint8Array(piece)]
  const decode = await timed(segments * SEGMENT, () => {
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
  const decrypt = await timed(segments * plaintext.length, () => {
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
  const { uploadId } = await storage.createUpload({ size: shardBytes, erasureIndex: 0 })
  let root: `0x${string}` = '0x'
  const put = await timed(shardBytes, async () => {
    async function* body() {
      for (let sent = 0; sent < shardBytes; sent += MiB) yield chunk
    }
    root = (await storage.putShard({ uploadId, body: body() })).root
  })
  const get = await timed(shardBytes, async () => {
    for (let start = 0; start < shardBytes; start += SEGMENT) {
      await storage.getShard({ root, start, end: Math.min(start + SEGMENT, shardBytes) })
    }
  })

  figure('storage.stage.encrypt', encrypt, 'MB/s', null)
  figure('storage.stage.rs-encode-4+2', encode, 'MB/s', null)
  figure('storage.stage.merkle-build', treeBuild, 'MB/s', null)
  figure('storage.stage.http-put', put, 'MB/s', null)
  figure('storage.stage.http-get', get, 'MB/s', null)
  figure('storage.stage.merkle-verify', verify, 'MB/s', null)
  figure('storage.stage.rs-decode-4+2', decode, 'MB/s', null)
  figure('storage.stage.decrypt', decrypt, 'MB/s', null)
  return {
    up: Math.min(encrypt, encode, treeBuild, put),
    down: Math.min(get, verify, decode, decrypt),
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
    const source = join(dir, 'object.bin')
    const sourceDigest = await writeRandomFile(source, size)
    const name = `bench-${Date.now().toString(36)}.bin`
    const common = ['--deployment', deploymentFile, '--name', name]
    const up = await runChild(['--child', 'put', '--file', source, ...common])
    await rm(source, { force: true })
    const fetched = join(dir, 'fetched.bin')
    const down = await runChild(['--child', 'get', '--file', fetched, ...common])
    const fetchedDigest = await fileDigest(fetched)
    await rm(fetched, { force: true })
    if (fetchedDigest !== sourceDigest) throw new Error('the fetched file differs from the stored one')
    const upRate = rate(size, up.ms)
    const downRate = rate(size, down.ms)
    figure('storage.upload', upRate, 'MB/s', null)
    figure('storage.upload.vs-slowest-stage', (upRate / slowest.up) * 100, '%', '>= 50')
    figure('storage.upload.peak-rss', up.peakRssBytes / 1e6, 'MB', '<= 300')
    figure('storage.download', downRate, 'MB/s', null)
    figure('storage.download.vs-slowest-stage', (downRate / slowest.down) * 100, '%', '>= 60')
    figure('storage.download.peak-rss', down.peakRssBytes / 1e6, 'MB', null)

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

if (flags.child) await child(flags.child)
else await main()
