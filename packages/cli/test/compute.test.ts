/**
 * The compute commands (deploy, ls, status, logs, close, provider earnings) against a real anvil
 * and two real provider daemons (`createProviderDaemon`, WASM runtime), run in-process through
 * `main` with captured output, plus `stoa deploy --watch` as a child process stopped with Ctrl-C.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createProviderDaemon, type ProviderDaemon } from '@stoa/provider'
import { deployStoa, devnetAccount, devnetAccounts, fundDevnetAccounts, startAnvil } from '@stoa/sdk/devnet'
import { sha256 } from 'viem'
import { resultPath } from '../src/commands/results.ts'
import { type CliIo, deploymentFileOf, main, writeDeploymentFile } from '../src/index.ts'
import { repositoryRoot } from './helpers.ts'

const ALICE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
let scratch: string
let deploymentFile: string
let anvil: Awaited<ReturnType<typeof startAnvil>>
const daemons: ProviderDaemon[] = []
let jobFile: string
let serviceFile: string

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stoa-cli-compute-'))
  anvil = await startAnvil()
  const deployed = await deployStoa({
    rpcUrl: anvil.rpcUrl,
    deployerKey: devnetAccount('deployer').privateKey,
  })
  await fundDevnetAccounts({ rpcUrl: anvil.rpcUrl, deployment: deployed })
  deploymentFile = join(scratch, 'deployment.json')
  await writeDeploymentFile(deploymentFile, deploymentFileOf(deployed, devnetAccounts()))
  for (const [name, region, cpu] of [
    ['provider1', 'eu-west', '0.02'],
    ['provider2', 'us-east', '0.03'],
  ] as const) {
    const daemon = createProviderDaemon({
      key: devnetAccount(name).privateKey,
      chain: { deployment: deploymentFile, pollingIntervalMs: 100, reconcileIntervalMs: 300 },
      dataDir: join(scratch, name),
      gateway: { host: '127.0.0.1', port: 0 },
      ingress: { host: '127.0.0.1', port: 0 },
      region,
      pricing: { usdPerHour: { cpu, memoryGiB: '0.01' } },
      stake: '1000',
      capacity: { cpuMillis: 4_000, memoryMiB: 8_192, storageMiB: 20_480 },
      runtimes: { docker: { enabled: false } },
      leases: { reconcileIntervalMs: 300 },
      log: { level: 'silent' },
    })
    await daemon.start()
    daemons.push(daemon)
  }
  const wasm = (name: string) => join(repositoryRoot, 'workloads/testdata/build', name)
  // Only provider1 (eu-west) may bid on the job, so what follows knows whose lease it is.
  jobFile = join(scratch, 'job.yaml')
  await writeFile(
    jobFile,
    `version: "1"
services:
  hello:
    wasm: ${wasm('hello.wasm')}
    resources: { cpu: 0.1, memory: 16Mi }
placement: { maxUsdPerHour: "0.10", regions: [eu-west] }
duration: 1h
`,
  )
  serviceFile = join(scratch, 'service.yaml')
  await writeFile(
    serviceFile,
    `version: "1"
services:
  spin:
    wasm: ${wasm('spin.wasm')}
    kind: service
    resources: { cpu: 0.1, memory: 16Mi }
placement: { maxUsdPerHour: "0.10" }
duration: 1h
`,
  )
})

after(async () => {
  for (const daemon of daemons) if (daemon.started) await daemon.stop()
  await anvil?.stop()
  await rm(scratch, { recursive: true, force: true })
})

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
  const code = await main(['node', 'stoa', ...args, '--deployment', deploymentFile], io)
  return { code, stdout, stderr }
}

function json<value = Record<string, unknown>>(text: string): value {
  const lines = text.trim().split('\n')
  assert.equal(lines.length, 1, `one JSON line expected, got:\n${text}`)
  return JSON.parse(lines[0] as string) as value
}

describe('stoa deploy, ps, status, logs, close', () => {
  let orderId: string
  let leaseId: string
  let lease: string

  test('deploy --json prints one object: the lease, the job exit code, its logs and results', async () => {
    const { code, stdout, stderr } = await stoa(
      'deploy',
      jobFile,
      '--key',
      'alice',
      '--json',
      '--bid-window',
      '1',
    )
    assert.equal(code, 0, stderr)
    assert.equal(stderr, '')
    const result = json<{
      orderId: string
      leaseId: string
      lease: string
      provider: string
      status: string
      usdPerHour: string
      jobs: { name: string; exitCode: number; logs: string[] }[]
      results: { name: string; sha256: string }[]
      ranking: { provider: string; score: number; reasons: string[] }[]
    }>(stdout)
    orderId = result.orderId
    leaseId = result.leaseId
    lease = result.lease
    assert.equal(lease, `${orderId}/0`)
    assert.equal(BigInt(leaseId), BigInt(orderId) << 32n)
    assert.equal(result.provider, daemons[0]?.address)
    assert.equal(result.status, 'exited')
    assert.equal(result.jobs[0]?.exitCode, 0)
    assert.ok(result.jobs[0]?.logs.some((line) => line.startsWith('hello from wasm')))
    assert.deepEqual(
      result.results.map((file) => file.name),
      ['hello.txt'],
    )
    assert.match(result.results[0]?.sha256 ?? '', /^0x[0-9a-f]{64}$/)
    assert.equal(result.ranking[0]?.provider, daemons[0]?.address)
    assert.equal(result.ranking[0]?.reasons.length, 4)
  })

  test('deploy without --json prints progress on stderr and the job output on stdout', async () => {
    const { code, stdout, stderr } = await stoa('deploy', jobFile, '--key', 'alice', '--bid-window', '2')
    assert.equal(code, 0, stderr)
    assert.match(stderr, /✓ job\.yaml: 1 service \(hello\)/)
    assert.match(stderr, /✓ Order \d+ created/)
    assert.match(stderr, /bid \$[\d.]+\/h from provider1 \(0x90F7…b906\)/)
    assert.match(stderr, /✓ Lease \d+\/0 \(\d+\) with provider1/)
    assert.match(stderr, /✓ Done/)
    assert.match(stdout, /Job hello: exited with exit code 0/)
    assert.match(stdout, /\| hello from wasm/)
    assert.match(stdout, /Results\n {2}hello\/hello\.txt/)
  })

  test('ps --json lists the orders with their leases; ps prints a table; ls --deployments is its alias', async () => {
    const listed = json<{
      tenant: string
      orders: { orderId: string; state: string; leases: { label: string }[] }[]
    }>((await stoa('ps', '--key', 'alice', '--json')).stdout)
    assert.equal(listed.tenant, ALICE)
    const order = listed.orders.find((entry) => entry.orderId === orderId)
    assert.equal(order?.state, 'Leased')
    assert.deepEqual(
      order?.leases.map((entry) => entry.label),
      [lease],
    )
    const human = await stoa('ps', '--tenant', 'alice')
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /ORDER\s+STATE\s+LEASE\s+PROVIDER\s+PRICE\s+ESCROW/)
    assert.match(human.stdout, new RegExp(`${orderId}\\s+Leased\\s+${lease} active\\s+provider1`))
    const nobody = await stoa('ps', '--tenant', 'bob')
    assert.match(nobody.stdout, /No orders for bob/)
    const alias = await stoa('ls', '--deployments', '--tenant', 'alice')
    assert.equal(alias.code, 0, alias.stderr)
    assert.equal(alias.stdout, human.stdout)
  })

  test('status --json shows the chain and the gateway; by order id, lease id or order/round', async () => {
    for (const id of [orderId, leaseId, lease]) {
      const { code, stdout, stderr } = await stoa('status', id, '--key', 'alice', '--json')
      assert.equal(code, 0, stderr)
      const status = json<{
        leaseId: string
        lease: string
        order: { state: string }
        chainLease: { state: string }
        provider: { address: string; region: string }
        gateway: { status: string; services: { name: string; status: string }[] }
      }>(stdout)
      assert.equal(status.leaseId, leaseId)
      assert.equal(status.lease, lease)
      assert.equal(status.order.state, 'Leased')
      assert.equal(status.chainLease.state, 'Active')
      assert.equal(status.provider.region, 'eu-west')
      assert.equal(status.gateway.status, 'exited')
    }
    const human = await stoa('status', orderId, '--key', 'alice')
    assert.match(human.stdout, new RegExp(`Lease ${lease} \\(${leaseId}\\): Active`))
    assert.match(human.stdout, /Provider says: exited\n {2}hello\s+job\s+exited \(exit 0\)/)
    // Without a key the chain state is still shown.
    const keyless = await stoa('status', orderId)
    assert.equal(keyless.code, 0)
    assert.match(
      keyless.stdout,
      /Provider: not asked or no answer \(Asking the gateway needs the tenant's key/,
    )
  })

  test('logs prints the lines; --tail limits them', async () => {
    const all = await stoa('logs', orderId, '--key', 'alice')
    assert.equal(all.code, 0, all.stderr)
    assert.match(all.stdout, /^hello from wasm/m)
    const last = await stoa('logs', lease, '--key', 'alice', '--tail', '1', '--service', 'hello')
    assert.equal(last.stdout, `${all.stdout.trim().split('\n').at(-1)}\n`)
  })

  test('results lists the job files; --out downloads them, checked; --json', async () => {
    const listed = await stoa('results', orderId, '--key', 'alice')
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /NAME\s+BYTES\s+SHA256\nhello\.txt\s+15\s+0x[0-9a-f]{64}\n/)
    const out = join(scratch, 'results-out')
    const fetched = await stoa('results', lease, '--key', 'alice', '--out', out, '--json')
    assert.equal(fetched.code, 0, fetched.stderr)
    const result = json<{
      lease: string
      files: { name: string; size: number; sha256: string; path: string }[]
    }>(fetched.stdout)
    assert.equal(result.lease, lease)
    assert.equal(result.files.length, 1)
    assert.equal(result.files[0]?.path, join(out, 'hello.txt'))
    const bytes = await readFile(join(out, 'hello.txt'))
    assert.equal(bytes.toString(), 'hello, results\n')
    assert.equal(sha256(bytes), result.files[0]?.sha256)
    // Another tenant's key is refused by the gateway.
    const bob = await stoa('results', orderId, '--key', 'bob')
    assert.equal(bob.code, 1)
    assert.match(bob.stderr, /not the tenant/)
  })

  test('a result name that would leave the output directory is refused', () => {
    const out = join(scratch, 'safe')
    assert.equal(resultPath(out, 'frames/001.png', undefined), join(out, 'frames/001.png'))
    assert.equal(resultPath(out, 'a.txt', 'web'), join(out, 'web/a.txt'))
    assert.equal(resultPath(out, '..notes.txt', undefined), join(out, '..notes.txt'))
    for (const name of ['../escape.txt', '/etc/passwd', 'a/../../b', '', '.', 'x\0y'])
      assert.throws(() => resultPath(out, name, undefined), /would be written outside/, name)
    assert.throws(() => resultPath(out, 'a.txt', '..'), /would be written outside/)
  })

  test('close --json closes the lease and refunds; closing again is an error', async () => {
    const { code, stdout, stderr } = await stoa('close', orderId, '--key', 'alice', '--json')
    assert.equal(code, 0, stderr)
    const closed = json<{ action: string; reason: string; refund: string; lease: string }>(stdout)
    assert.equal(closed.action, 'closed')
    assert.equal(closed.reason, 'TenantClosed')
    assert.equal(closed.lease, lease)
    assert.ok(BigInt(closed.refund) > 0n)
    const again = await stoa('close', orderId, '--key', 'alice')
    assert.equal(again.code, 1)
    assert.match(again.stderr, new RegExp(`Error: Order ${orderId} is closed already\\.`))
  })

  test('provider earnings --json lists the won leases; --withdraw collects them', async () => {
    const before = json<{
      provider: string
      leases: { lease: string; state: string; earned: string }[]
      totals: { earned: string; withdrawn: string }
    }>((await stoa('provider', 'earnings', '--key', 'provider1', '--json')).stdout)
    assert.equal(before.provider, daemons[0]?.address)
    const closedLease = before.leases.find((entry) => entry.lease === lease)
    assert.equal(closedLease?.state, 'Closed')
    assert.ok(BigInt(before.totals.earned) > 0n)
    const withdrawn = json<{ withdrawal: { amount: string }; totals: { earned: string; withdrawn: string } }>(
      (await stoa('provider', 'earnings', '--key', 'provider1', '--withdraw', '--json')).stdout,
    )
    assert.ok(BigInt(withdrawn.withdrawal.amount) >= BigInt(before.totals.earned))
    assert.equal(withdrawn.totals.earned, '0')
    assert.equal(
      BigInt(withdrawn.totals.withdrawn),
      BigInt(before.totals.withdrawn) + BigInt(withdrawn.withdrawal.amount),
    )
    const human = await stoa('provider', 'earnings', '--key', 'provider1')
    assert.match(human.stdout, /Provider provider1 \(0x90F7…b906\) #1, eu-west/)
    assert.match(human.stdout, /LEASE\s+STATE\s+PRICE\s+TO WITHDRAW\s+ACCRUING/)
  })
})

describe('bad input', () => {
  test('an ID that is none is refused before touching the chain', async () => {
    const { code, stderr } = await stoa('status', 'abc')
    assert.equal(code, 1)
    assert.match(
      stderr,
      /Error: ID must be an order id \(7\), a lease id \(30064771073\) or order\/round \(7\/1\), got "abc"\./,
    )
  })

  test('a missing manifest file, a bad bid window, an invalid manifest', async () => {
    const missing = await stoa('deploy', join(scratch, 'nope.yaml'), '--key', 'alice')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /Error: No manifest file at .*nope\.yaml\./)
    const window = await stoa('deploy', jobFile, '--key', 'alice', '--bid-window', '0')
    assert.match(window.stderr, /--bid-window must be whole seconds from 1 to 86400, got "0"/)
    const bad = join(scratch, 'bad.yaml')
    await writeFile(
      bad,
      'version: "1"\nservices:\n  web:\n    image: x\n    resources: { cpu: lots, memory: 1Mi }\nplacement: { maxUsdPerHour: "1" }\nduration: 1h\n',
    )
    const invalid = await stoa('deploy', bad, '--key', 'alice')
    assert.equal(invalid.code, 1)
    assert.match(invalid.stderr, /Error: Invalid manifest bad\.yaml: services\.web\.resources\.cpu/)
  })

  test('deploy needs a key', async () => {
    const { code, stderr } = await stoa('deploy', jobFile)
    assert.equal(code, 1)
    assert.match(stderr, /Deploying needs a private key/)
  })
})

describe('stoa deploy --watch', () => {
  test('prints the running service as JSON, then stops cleanly on Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repositoryRoot, 'packages/cli/src/bin.ts'),
        'deploy',
        serviceFile,
        '--watch',
        '--json',
        '--bid-window',
        '1',
        '--key',
        'alice',
        '--deployment',
        deploymentFile,
      ],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const running = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no running line in time.\nstderr:\n${stderr}`)),
          60_000,
        )
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk
          const newline = stdout.indexOf('\n')
          if (newline !== -1) {
            clearTimeout(timer)
            resolve(JSON.parse(stdout.slice(0, newline)) as Record<string, unknown>)
          }
        })
      })
      assert.equal(running.event, 'running')
      assert.deepEqual(
        (running.services as { name: string; status: string }[]).map((service) => [
          service.name,
          service.status,
        ]),
        [['spin', 'running']],
      )
      // Let the watcher probe a few times, then Ctrl-C.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      child.kill('SIGINT')
      assert.equal(await exited, 0, stderr)
      const last = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
        event: string
        stopped: string
        probes: number
      }
      assert.equal(last.event, 'stopped')
      assert.equal(last.stopped, 'aborted')
      assert.ok(last.probes > 0)
      const leaseId = BigInt(running.leaseId as string)
      const closed = await stoa('close', String(leaseId), '--key', 'alice', '--json')
      assert.equal(closed.code, 0, closed.stderr)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
