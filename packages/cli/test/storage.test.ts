/**
 * The storage commands (put, get, ls, rm, deals, repair) against a real anvil with the contracts and
 * seven real provider daemons offering storage (`createProviderDaemon`), run in-process through `main`
 * with captured output. Option mistakes are checked first: they fail before any chain is touched.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createProviderDaemon, type ProviderDaemon } from '@stoa/provider'
import { createStoaClient, getDeal, markMissed, type StoaClient } from '@stoa/sdk'
import { deployStoa, devnetAccount, fundDevnetAccounts, startAnvil } from '@stoa/sdk/devnet'
import { toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getBlockNumber } from 'viem/actions'
import { DEVNET_ANVIL_ACCOUNTS, devnetAccountsWithProviders } from '../src/devnet/accounts.ts'
import { type CliIo, deploymentFileOf, main, writeDeploymentFile } from '../src/index.ts'
import { repositoryRoot } from './helpers.ts'

const PROVIDERS = 7
const REGIONS = [
  'eu-west',
  'us-east',
  'ap-south',
  'eu-central',
  'us-west',
  'ap-northeast',
  'sa-east',
] as const
let scratch: string
let deploymentFile: string
let anvil: Awaited<ReturnType<typeof startAnvil>> | undefined
const daemons: ProviderDaemon[] = []
let aliceClient: StoaClient | undefined

/** alice's client on the test chain (made once the deployment exists). */
function alice(): StoaClient {
  aliceClient ??= createStoaClient({
    deployment: JSON.parse(readFileSync(deploymentFile, 'utf8')),
    account: privateKeyToAccount(devnetAccount('alice').privateKey),
    pollingInterval: 100,
  })
  return aliceClient
}

async function stoa(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
    env: {},
  }
  const code = await main(['node', 'stoa', ...args, '--deployment', deploymentFile ?? 'none.json'], io)
  return { code, stdout, stderr }
}

function json<value = Record<string, unknown>>(text: string): value {
  const lines = text.trim().split('\n')
  assert.equal(lines.length, 1, `one JSON line expected, got:\n${text}`)
  return JSON.parse(lines[0] as string) as value
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

describe('storage command options', () => {
  test('put checks its flags before it touches the chain', async () => {
    const badN = await stoa('put', 'missing.bin', '--k', '4', '--n', '3', '--key', 'alice')
    assert.equal(badN.code, 1)
    assert.match(badN.stderr, /--n must be at least --k \(4\), got "3"/)
    const badTotal = await stoa('put', 'missing.bin', '--n', '6', '--total', '5', '--key', 'alice')
    assert.match(badTotal.stderr, /--total must be at least --n \(6\)/)
    const badRegion = await stoa('put', 'missing.bin', '--regions', 'eu-west,mars', '--key', 'alice')
    assert.match(badRegion.stderr, /--regions must be region names.*"mars"/)
    const noFile = await stoa('put', join(tmpdir(), 'stoa-no-such-file.bin'), '--key', 'alice')
    assert.equal(noFile.code, 1)
    assert.match(noFile.stderr, /No file at .*stoa-no-such-file\.bin/)
  })

  test('repair --deal wants a deal id; get refuses to overwrite without --force', async () => {
    const badDeal = await stoa('repair', '--deal', 'seven', '--key', 'alice')
    assert.match(badDeal.stderr, /--deal must be a deal id/)
    const existing = join(tmpdir(), `stoa-exists-${process.pid}.bin`)
    await writeFile(existing, 'x')
    try {
      const refused = await stoa('get', 'anything', '-o', existing, '--key', 'alice')
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /already exists/)
      assert.match(refused.stderr, /--force/)
    } finally {
      await rm(existing, { force: true })
    }
  })

  test('help lists the storage commands and ps; provider start offers --repairer', async () => {
    const { stdout } = await stoa('--help')
    for (const command of ['put', 'get', 'ls', 'rm', 'renew', 'deals', 'repair', 'ps']) {
      assert.match(stdout, new RegExp(`\\n  ${command} `), `${command} in the help`)
    }
    const provider = await stoa('provider', 'start', '--help')
    assert.match(provider.stdout, /--repairer/)
    assert.match(provider.stdout, /--repair-interval <seconds>/)
    const devnet = await stoa('devnet', '--help')
    assert.match(devnet.stdout, /--providers <n> +provider daemons to start \(0 to 10\) \(default: 7\)/)
  })
})

describe('stoa put, ls, get, deals, rm, repair on a devnet with seven storage providers', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'stoa-cli-storage-'))
    anvil = await startAnvil({ args: ['--accounts', String(DEVNET_ANVIL_ACCOUNTS)] })
    const deployed = await deployStoa({
      rpcUrl: anvil.rpcUrl,
      deployerKey: devnetAccount('deployer').privateKey,
    })
    // One more provider account than daemons: provider8 joins later as a repairer.
    const accounts = devnetAccountsWithProviders(PROVIDERS + 1)
    await fundDevnetAccounts({ rpcUrl: anvil.rpcUrl, deployment: deployed, accounts })
    deploymentFile = join(scratch, 'deployment.json')
    await writeDeploymentFile(deploymentFile, deploymentFileOf(deployed, accounts))
    const providers = accounts.filter((account) => account.role === 'provider').slice(0, PROVIDERS)
    await Promise.all(
      providers.map(async (account, index) => {
        const daemon = createProviderDaemon({
          key: account.privateKey,
          chain: { deployment: deploymentFile, pollingIntervalMs: 100, reconcileIntervalMs: 500 },
          dataDir: join(scratch, account.name),
          gateway: { host: '127.0.0.1', port: 0 },
          ingress: { enabled: false },
          region: REGIONS[index] ?? 'eu-west',
          pricing: { usdPerHour: { cpu: '0.02', memoryGiB: '0.01' } },
          stake: '1000',
          runtimes: { docker: { enabled: false } },
          storage: { enabled: true, capacityBytes: 256 * 1024 * 1024 },
          log: { level: 'silent' },
        })
        await daemon.start()
        daemons.push(daemon)
      }),
    )
  })

  after(async () => {
    for (const daemon of daemons) if (daemon.started) await daemon.stop()
    await anvil?.stop()
    if (scratch) await rm(scratch, { recursive: true, force: true })
  })

  let dealId: string
  const content = randomBytes(1024 * 1024 + 123)

  test('put --json stores a file 4-of-6 and prints its record; progress goes to stderr', async () => {
    const file = join(scratch, 'photo.bin')
    await writeFile(file, content)
    const human = await stoa('put', file, '--name', 'photos/one.bin', '--key', 'alice')
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /Stored photos\/one\.bin \(1\.0 MiB\) in [\d.]+ s, [\d.]+ MB\/s/)
    assert.match(human.stderr, /upload .*100%/)
    const put = await stoa('put', file, '--name', 'two.bin', '--key', 'alice', '--json')
    assert.equal(put.code, 0, put.stderr)
    assert.equal(put.stderr, '')
    const record = json<{ name: string; size: number; k: number; n: number; dealId: string; sha256: string }>(
      put.stdout,
    )
    assert.equal(record.name, 'two.bin')
    assert.equal(Number(record.size), content.length)
    assert.equal(record.k, 4)
    assert.equal(record.n, 6)
    assert.match(record.sha256, new RegExp(sha256(content)))
    dealId = String(record.dealId)
  })

  test('ls lists both objects with size, k/n, deal and health', async () => {
    const listed = json<{ objects: { name: string; dealId: string; health: { active: number } | null }[] }>(
      (await stoa('ls', '--key', 'alice', '--json')).stdout,
    )
    assert.deepEqual(listed.objects.map((object) => object.name).sort(), ['photos/one.bin', 'two.bin'])
    for (const object of listed.objects) assert.equal(object.health?.active, 6, object.name)
    const human = await stoa('ls', '--key', 'alice')
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /NAME\s+SIZE\s+K\/N\s+DEAL\s+HEALTH/)
    assert.match(human.stdout, new RegExp(`two\\.bin\\s+1\\.0 MiB\\s+4/6\\s+${dealId}\\s+6/6`))
    const bob = await stoa('ls', '--key', 'bob')
    assert.match(bob.stdout, /No stored objects/)
  })

  test('get writes the object back bit for bit, refuses a name it does not know', async () => {
    const target = join(scratch, 'fetched.bin')
    const fetched = await stoa('get', 'two.bin', '-o', target, '--key', 'alice')
    assert.equal(fetched.code, 0, fetched.stderr)
    assert.match(fetched.stdout, /Fetched two\.bin \(1\.0 MiB\) to .*fetched\.bin.*authenticated \(AES-GCM\)/)
    assert.equal(sha256(await readFile(target)), sha256(content))
    const verified = await stoa('get', 'two.bin', '-o', target, '--key', 'alice', '--force', '--verify')
    assert.equal(verified.code, 0, verified.stderr)
    assert.match(verified.stdout, new RegExp(`sha256 0x${sha256(content)} verified`))
    const again = await stoa('get', 'two.bin', '-o', target, '--key', 'alice', '--force', '--json')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(json<{ name: string }>(again.stdout).name, 'two.bin')
    const missing = await stoa('get', 'nope.bin', '-o', join(scratch, 'nope.bin'), '--key', 'alice')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /nope\.bin/)
  })

  test('deals shows each shard with its provider and state', async () => {
    const listed = json<{ deals: { dealId: string; shards: { state: string; provider: string }[] }[] }>(
      (await stoa('deals', '--key', 'alice', '--json')).stdout,
    )
    const deal = listed.deals.find((entry) => String(entry.dealId) === dealId)
    assert.ok(deal, `deal ${dealId} listed`)
    assert.equal(deal.shards.length, 6)
    assert.equal(new Set(deal.shards.map((shard) => shard.provider)).size, 6, 'six different providers')
    const human = await stoa('deals', '--owner', 'alice')
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, new RegExp(`Deal ${dealId}: k = 4, 6 shards`))
    assert.match(human.stdout, /SHARD\s+PROVIDER\s+PIECE\s+STATE\s+PROVES NEXT/)
  })

  test('rm removes an object from the index', async () => {
    const removed = await stoa('rm', 'photos/one.bin', '--key', 'alice')
    assert.equal(removed.code, 0, removed.stderr)
    const listed = json<{ objects: { name: string }[] }>(
      (await stoa('ls', '--key', 'alice', '--json')).stdout,
    )
    assert.deepEqual(
      listed.objects.map((object) => object.name),
      ['two.bin'],
    )
  })

  test('repair finds nothing to do while every shard is active', async () => {
    const result = await stoa('repair', '--key', 'alice')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /nothing to repair/)
  })

  test('repair rebuilds a lost shard on a provider outside the deal, and get still reads the object', async () => {
    const deal = await getDeal(alice(), { dealId: BigInt(dealId) })
    const lost = deal.shards[0]
    assert.ok(lost)
    const gone = daemons.find((daemon) => daemon.address.toLowerCase() === lost.provider.toLowerCase())
    assert.ok(gone, 'the daemon holding shard 0')
    await gone.stop()
    // Past period 0's window (the deal's first period ends periodBlocks after its start).
    const now = await getBlockNumber(alice())
    const target = deal.startBlock + BigInt(deal.periodBlocks) + 1n
    if (target > now)
      await alice().request({ method: 'anvil_mine' as never, params: [toHex(target - now)] as never })
    await markMissed(alice(), { dealId: BigInt(dealId), shardIndex: lost.shardIndex, period: 0 })
    const before = json<{ objects: { name: string; health: { active: number } | null }[] }>(
      (await stoa('ls', '--key', 'alice', '--json')).stdout,
    )
    assert.equal(before.objects.find((object) => object.name === 'two.bin')?.health?.active, 5)
    assert.match((await stoa('ls', '--key', 'alice')).stdout, /two\.bin.*5\/6 \(repair due\)/)

    const repaired = await stoa('repair', '--key', 'alice')
    assert.equal(repaired.code, 0, repaired.stderr)
    assert.match(repaired.stdout, new RegExp(`✓ Deal ${dealId}: 1 shard replaced`))
    const after = await getDeal(alice(), { dealId: BigInt(dealId) })
    const replaced = after.shards[lost.shardIndex]
    assert.equal(replaced?.state, 'Active')
    assert.notEqual(replaced?.provider.toLowerCase(), lost.provider.toLowerCase())
    assert.equal(replaced?.root, lost.root, 'the rebuilt shard is the same bytes')

    const target2 = join(scratch, 'after-repair.bin')
    const fetched = await stoa('get', 'two.bin', '-o', target2, '--key', 'alice')
    assert.equal(fetched.code, 0, fetched.stderr)
    assert.equal(sha256(await readFile(target2)), sha256(content))
  })

  test('renew opens a new deal over the same shards with the same providers; get reads through it', async () => {
    const bad = await stoa('renew', 'two.bin', '--periods', '0', '--key', 'alice')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /--periods must be a whole number/)
    const old = await getDeal(alice(), { dealId: BigInt(dealId) })
    assert.ok(
      old.shards.every((shard) => shard.state === 'Active'),
      'repaired: every shard active',
    )
    const renewed = await stoa('renew', 'two.bin', '--periods', '3', '--key', 'alice', '--json')
    assert.equal(renewed.code, 0, renewed.stderr)
    const result = json<{ previousDealId: string; dealId: string; periods: number }>(renewed.stdout)
    assert.equal(String(result.previousDealId), dealId)
    assert.equal(result.periods, 3)
    const fresh = await getDeal(alice(), { dealId: BigInt(result.dealId) })
    assert.equal(fresh.state, 'Active')
    assert.equal(fresh.periods, 3)
    assert.deepEqual(
      fresh.shards.map(({ provider, root, erasureIndex, state }) => ({
        provider,
        root,
        erasureIndex,
        state,
      })),
      old.shards.map(({ provider, root, erasureIndex }) => ({
        provider,
        root,
        erasureIndex,
        state: 'Active',
      })),
    )
    // The old deal runs out as paid; the object now names the new one.
    assert.equal((await getDeal(alice(), { dealId: BigInt(dealId) })).state, 'Active')
    const listed = json<{ objects: { name: string; dealId: string }[] }>(
      (await stoa('ls', '--key', 'alice', '--json')).stdout,
    )
    assert.equal(
      String(listed.objects.find((object) => object.name === 'two.bin')?.dealId),
      String(result.dealId),
    )
    const target = join(scratch, 'after-renew.bin')
    const fetched = await stoa('get', 'two.bin', '-o', target, '--key', 'alice')
    assert.equal(fetched.code, 0, fetched.stderr)
    assert.equal(sha256(await readFile(target)), sha256(content))
    const missing = await stoa('renew', 'nope.bin', '--key', 'alice')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /nope\.bin/)
  })

  test('provider start --repairer repairs the next lost shard by itself', { timeout: 120_000 }, async () => {
    const deal = await getDeal(alice(), { dealId: BigInt(dealId) })
    const lost = deal.shards.find((shard) => shard.state === 'Active')
    assert.ok(lost)
    const gone = daemons.find((daemon) => daemon.address.toLowerCase() === lost.provider.toLowerCase())
    assert.ok(gone?.started, 'a running daemon holds the shard')
    await gone.stop()
    const period = lost.nextPeriod
    const now = await getBlockNumber(alice())
    const target = deal.startBlock + BigInt((period + 1) * deal.periodBlocks) + 1n
    if (target > now)
      await alice().request({ method: 'anvil_mine' as never, params: [toHex(target - now)] as never })
    await markMissed(alice(), { dealId: BigInt(dealId), shardIndex: lost.shardIndex, period })

    // A provider new to the network joins with --repairer: it has room for the rebuilt shard, and
    // the repair loop next to it finds the lost one.
    const name = `provider${PROVIDERS + 1}`
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repositoryRoot, 'packages/cli/src/bin.ts'),
        'provider',
        'start',
        '--key',
        name,
        '--deployment',
        deploymentFile,
        '--data-dir',
        join(scratch, `${name}-repairer`),
        '--region',
        'eu-west',
        '--port',
        '0',
        '--ingress-port',
        '0',
        '--json-logs',
        '--repairer',
        '--repair-interval',
        '1',
      ],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    try {
      let stdout = ''
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no repair within 90 s:\n${stdout}`)), 90_000)
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk
          if (stdout.includes('"deal repaired"')) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.once('exit', (code) =>
          reject(new Error(`provider exited (${code}) before repairing:\n${stdout}`)),
        )
      })
      const after = await getDeal(alice(), { dealId: BigInt(dealId) })
      const replaced = after.shards[lost.shardIndex]
      assert.equal(replaced?.state, 'Active')
      assert.equal(replaced?.root, lost.root)
      assert.notEqual(replaced?.provider.toLowerCase(), lost.provider.toLowerCase())
    } finally {
      child.kill('SIGINT')
      await new Promise((resolve) =>
        child.exitCode === null ? child.once('exit', resolve) : resolve(undefined),
      )
    }
  })
})
