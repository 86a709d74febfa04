// The daemon's parts that need no chain: configuration (file, overrides, errors that name the field),
// capacity detection, prices (linear, margin, external script), the SQLite state (migrations,
// reservations that never overcommit, nonces), and the JSON-lines logger.
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parseStoa, usdPerHourToPricePerSecond } from '@stoa/protocol'
import fc from 'fast-check'
import { sha256, stringToHex, zeroHash } from 'viem'
import {
  bidPrice,
  createLogger,
  detectCapacity,
  linearPricer,
  loadProviderConfig,
  type OrderRow,
  openStateStore,
  PricingScriptError,
  ProviderConfigError,
  parseProviderConfig,
  type Resources,
  resolveCapacity,
  scriptPricer,
} from '../src/index.ts'

let dir: string
const key = `0x${'11'.repeat(32)}` as const
const deployment = {
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  contracts: {
    stoaToken: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    priceOracle: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    credits: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
    providerRegistry: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
    market: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707',
    storageDeals: '0x0165878A594ca255338adfa4d48449f69242Eb8F',
  },
  blockNumber: '12',
}
const minimal = {
  key,
  dataDir: './data',
  region: 'eu-west',
  stake: '1000',
  chain: { deployment },
  pricing: { usdPerHour: { cpu: '0.01', memoryGiB: 0.005 } },
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stoa-parts-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('configuration', () => {
  test('fills every default and resolves the deployment, stake and paths', () => {
    const config = parseProviderConfig(minimal, { baseDir: '/srv/provider' })
    assert.equal(config.dataDir, '/srv/provider/data')
    assert.equal(config.stake, parseStoa('1000'))
    assert.equal(config.chain.fromBlock, 12n)
    assert.equal(config.chain.deployment.contracts.market, deployment.contracts.market)
    assert.deepEqual(config.pricing, {
      kind: 'linear',
      usdPerHour: { cpu: '0.01', memoryGiB: '0.005', storageGiB: '0', gpu: '0' },
      minUsdPerHour: '0',
    })
    assert.equal(config.gateway.port, 8701)
    assert.equal(config.ingress.port, 8780)
    assert.equal(config.runtimes.docker.enabled, 'auto')
    assert.equal(config.leases.manifestTimeoutMs, 120_000)
    assert.equal(config.watcher.enabled, false)
    assert.deepEqual(config.location, { latitude: 0, longitude: 0 })
  })

  test('names every bad field', () => {
    assert.throws(
      () =>
        parseProviderConfig({
          ...minimal,
          region: 'eu-wset',
          gateway: { port: 70_000 },
          bidMargin: -1,
          pricing: { usdPerHour: { cpu: 'cheap' } },
          extra: true,
        }),
      (error: unknown) => {
        assert.ok(error instanceof ProviderConfigError)
        const paths = error.issues.map((issue) => issue.path)
        for (const expected of ['region', 'gateway.port', 'bidMargin', 'pricing', '(root)']) {
          assert.ok(paths.includes(expected), `${expected} not in ${paths.join(', ')}`)
        }
        assert.ok(
          paths.some((p) => p.startsWith('pricing.usdPerHour')),
          paths.join(', '),
        )
        assert.match(error.shortMessage, /Invalid provider configuration/)
        return true
      },
    )
    assert.throws(
      () => parseProviderConfig({ ...minimal, key: undefined }),
      (error: unknown) => error instanceof ProviderConfigError && error.issues[0]?.path === 'key',
    )
    assert.throws(
      () => parseProviderConfig({ ...minimal, chain: { deployment: { ...deployment, chainId: -1 } } }),
      (error: unknown) =>
        error instanceof ProviderConfigError && error.issues[0]?.path === 'chain.deployment.chainId',
    )
  })

  test('loads YAML with a key file and a deployment file, overrides win, a script replaces linear pricing', async () => {
    await writeFile(path.join(dir, 'key'), `${key}\n`)
    await writeFile(path.join(dir, 'deployment.json'), JSON.stringify(deployment))
    const file = path.join(dir, 'provider.yaml')
    await writeFile(
      file,
      [
        'keyFile: ./key',
        'dataDir: ./state',
        'region: us-east',
        'stake: "2500.5"',
        'chain: { deployment: ./deployment.json, pollingIntervalMs: 250 }',
        'capacity: { cpuMillis: 3000 }',
        'pricing: { usdPerHour: { cpu: "0.02", memoryGiB: "0.01" } }',
        'attributes: { gpu.model: A100 }',
      ].join('\n'),
    )
    const config = await loadProviderConfig({
      file,
      overrides: {
        region: 'eu-central',
        chain: { rpcUrl: 'http://10.0.0.1:8545' },
        pricing: { script: { path: './price.sh', timeoutMs: 100 } },
      },
    })
    assert.equal(config.key, key)
    assert.equal(config.dataDir, path.join(dir, 'state'))
    assert.equal(config.region, 'eu-central')
    assert.equal(config.stake, parseStoa('2500.5'))
    assert.equal(config.chain.pollingIntervalMs, 250)
    assert.equal(config.chain.deployment.rpcUrl, 'http://10.0.0.1:8545')
    assert.deepEqual(config.pricing, {
      kind: 'script',
      path: path.join(dir, 'price.sh'),
      args: [],
      timeoutMs: 100,
    })
    assert.deepEqual(config.attributes, { 'gpu.model': 'A100' })
    assert.equal(config.capacity.cpuMillis, 3000)
  })

  test('a missing file or bad YAML is a ProviderConfigError', async () => {
    await assert.rejects(loadProviderConfig({ file: path.join(dir, 'nope.json') }), ProviderConfigError)
    await writeFile(path.join(dir, 'bad.yaml'), 'region: [unclosed')
    await assert.rejects(loadProviderConfig({ file: path.join(dir, 'bad.yaml') }), ProviderConfigError)
  })
})

describe('capacity', () => {
  test('detects CPU, memory and storage; overrides win field by field', async () => {
    const detected = await detectCapacity({ dataDir: dir, nvidiaSmi: '/nonexistent/nvidia-smi' })
    assert.equal(detected.cpuMillis, os.availableParallelism() * 1000)
    assert.equal(detected.memoryMiB, Math.floor(os.totalmem() / 1048576))
    assert.ok(detected.storageMiB > 0)
    assert.equal(detected.gpus, 0)
    assert.deepEqual(resolveCapacity(detected, { cpuMillis: 1500, gpus: 2, gpuModel: 'L4' }), {
      cpuMillis: 1500,
      memoryMiB: detected.memoryMiB,
      storageMiB: detected.storageMiB,
      gpus: 2,
      gpuModel: 'L4',
    })
  })

  test('reads GPUs from nvidia-smi output', async () => {
    const fake = path.join(dir, 'nvidia-smi')
    await writeFile(fake, '#!/bin/sh\necho "NVIDIA A100-SXM4-80GB"\necho "NVIDIA A100-SXM4-80GB"\n')
    await chmod(fake, 0o755)
    const detected = await detectCapacity({ dataDir: dir, nvidiaSmi: fake })
    assert.equal(detected.gpus, 2)
    assert.deepEqual(detected.gpuModels, ['NVIDIA A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB'])
    assert.equal(resolveCapacity(detected).gpuModel, 'NVIDIA A100-SXM4-80GB')
  })
})

const order = (resources: Partial<Resources> = {}): OrderRow => ({
  orderId: 7n,
  tenant: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  resources: { cpuMillis: 1000, memoryMiB: 1024, storageMiB: 0, gpus: 0, ...resources },
  gpuModel: zeroHash,
  regionMask: 0,
  maxPricePerSecond: 10n ** 9n,
  deposit: 1_000_000n,
  manifestHash: sha256(stringToHex('m')),
  manifestUri: '',
  autoReopen: false,
  state: 'Open',
  round: 0,
  bidDeadline: 1_000,
  createdBlock: 1n,
})

describe('prices', () => {
  const pricer = linearPricer({
    kind: 'linear',
    usdPerHour: { cpu: '0.036', memoryGiB: '0.0036', storageGiB: '0.00036', gpu: '1.8' },
    minUsdPerHour: '0.0001',
  })
  const price = (resources: Partial<Resources>) =>
    pricer({
      order: order(resources),
      resources: order(resources).resources,
      provider: { address: '0x', region: 'eu-west' },
    })

  test('linear rates are exact: 1 core + 1 GiB = $0.0396/h = 11_000_000 per second', async () => {
    assert.equal(await price({ cpuMillis: 1000, memoryMiB: 1024 }), 11_000_000n)
    assert.equal(await price({ cpuMillis: 0, memoryMiB: 0, gpus: 1 }), 500_000_000n)
    assert.equal(await price({ cpuMillis: 500, memoryMiB: 512, storageMiB: 1024 }), 5_600_000n)
    // Below the minimum: the minimum ($0.0001/h → 27_778 rounded up).
    assert.equal(
      await price({ cpuMillis: 1, memoryMiB: 1 }),
      usdPerHourToPricePerSecond('0.0001', { rounding: 'up' }),
    )
  })

  test('linear prices grow with every resource and never round below the rates', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_024_000 }),
        fc.integer({ min: 0, max: 1_048_576 }),
        fc.integer({ min: 0, max: 64 }),
        async (cpuMillis, memoryMiB, gpus) => {
          const base = (await price({ cpuMillis, memoryMiB, gpus })) as bigint
          const more = (await price({ cpuMillis: cpuMillis + 1, memoryMiB, gpus })) as bigint
          assert.ok(more >= base)
          // Exactly: the smallest price per second whose hourly total covers the rates (1e-12 USD/h × 1_024_000).
          const perHour =
            36_000_000_000n * BigInt(cpuMillis) * 1024n +
            3_600_000_000n * BigInt(memoryMiB) * 1000n +
            1_800_000_000_000n * BigInt(gpus) * 1_024_000n
          const floor = 100_000_000n * 1_024_000n
          const wanted = perHour > floor ? perHour : floor
          const scale = 3600n * 1_024_000n
          assert.ok(base * scale >= wanted && (base - 1n) * scale < wanted)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('the margin is added and capped at the maximum; above the maximum there is no bid', () => {
    assert.equal(bidPrice(1_000n, 0.1, 10_000n), 1_100n)
    assert.equal(bidPrice(1_000n, 0.5, 1_200n), 1_200n)
    assert.equal(bidPrice(1_000n, 0, 999n), undefined)
    assert.equal(bidPrice(0n, 0, 999n), undefined)
  })

  test('a pricing script gets the request on stdin and its price is used; failures are PricingScriptErrors', async () => {
    const script = async (body: string, timeoutMs = 2000) => {
      const file = path.join(dir, `price-${Math.random().toString(36).slice(2)}.sh`)
      await writeFile(file, `#!/bin/sh\n${body}\n`)
      await chmod(file, 0o755)
      return scriptPricer({ kind: 'script', path: file, args: [], timeoutMs })
    }
    const request = {
      order: order(),
      resources: order().resources,
      provider: { address: '0xabc', region: 'eu-west' },
    }
    // Echoes the CPU count from the request as the price per hour.
    const echo = await script(`sed -n 's/.*"cpuMillis":\\([0-9]*\\).*/0.\\1/p' | head -1`)
    assert.equal(await echo(request), usdPerHourToPricePerSecond('0.1000', { rounding: 'up' }))
    assert.equal(await (await script('echo none'))(request), undefined)
    assert.equal(await (await script('true'))(request), undefined)
    await assert.rejects(
      (await script('echo cheap'))(request),
      (e: unknown) => e instanceof PricingScriptError && e.reason === 'output',
    )
    await assert.rejects(
      (await script('echo oops >&2; exit 3'))(request),
      (e: unknown) =>
        e instanceof PricingScriptError && e.reason === 'exit' && /code 3: oops/.test(e.shortMessage),
    )
    const started = Date.now()
    await assert.rejects(
      (await script('sleep 10', 150))(request),
      (e: unknown) => e instanceof PricingScriptError && e.reason === 'timeout',
    )
    assert.ok(Date.now() - started < 2_000, 'the script was killed at its timeout')
    await assert.rejects(
      scriptPricer({ kind: 'script', path: path.join(dir, 'missing'), args: [], timeoutMs: 100 })(request),
      PricingScriptError,
    )
  })
})

describe('state', () => {
  test('reservations never overcommit, whatever the sequence of reserve and release', () => {
    const total: Resources = { cpuMillis: 4000, memoryMiB: 8192, storageMiB: 10_000, gpus: 1 }
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            release: fc.boolean(),
            orderId: fc.integer({ min: 1, max: 12 }),
            cpuMillis: fc.integer({ min: 0, max: 3000 }),
            memoryMiB: fc.integer({ min: 0, max: 6000 }),
            gpus: fc.integer({ min: 0, max: 1 }),
          }),
          { maxLength: 60 },
        ),
        (steps) => {
          const store = openStateStore({ filename: ':memory:' })
          try {
            for (const step of steps) {
              if (step.release) store.release(BigInt(step.orderId))
              else {
                store.reserve(
                  {
                    orderId: BigInt(step.orderId),
                    round: 0,
                    kind: 'bid',
                    leaseId: undefined,
                    resources: {
                      cpuMillis: step.cpuMillis,
                      memoryMiB: step.memoryMiB,
                      storageMiB: 0,
                      gpus: step.gpus,
                    },
                    bidDeadline: 0,
                  },
                  total,
                )
              }
              const reserved = store.reserved()
              assert.ok(
                reserved.cpuMillis <= total.cpuMillis &&
                  reserved.memoryMiB <= total.memoryMiB &&
                  reserved.gpus <= total.gpus,
              )
              const sum = store.reservations().reduce((acc, r) => acc + r.resources.cpuMillis, 0)
              assert.equal(sum, reserved.cpuMillis)
            }
          } finally {
            store.close()
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  test('the database is migrated once and keeps its rows across reopen; nonces refuse replays until pruned', () => {
    const file = path.join(dir, 'state.db')
    const first = openStateStore({ filename: file })
    assert.equal(first.db.pragma('journal_mode', { simple: true }), 'wal')
    assert.equal(first.useNonce('0xAbC', 5n, 100), true)
    assert.equal(first.useNonce('0xabc', 5n, 100), false)
    first.insertLease({
      leaseId: (3n << 32n) | 1n,
      orderId: 3n,
      round: 1,
      tenant: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      manifestHash: zeroHash,
      pricePerSecond: 42n,
      seenAt: 1,
    })
    first.setCursor('market', 99n)
    first.close()
    const second = openStateStore({ filename: file })
    assert.equal(second.db.pragma('user_version', { simple: true }), 1)
    assert.equal(second.useNonce('0xABC', 5n, 100), false)
    assert.equal(second.getLease((3n << 32n) | 1n)?.pricePerSecond, 42n)
    assert.equal(second.getCursor('market'), 99n)
    assert.equal(second.pruneNonces(101), 1)
    assert.equal(second.useNonce('0xabc', 5n, 200), true)
    second.close()
  })
})

test('the logger writes one JSON object per line, with bindings, levels, bigints and errors', () => {
  const lines: string[] = []
  const logger = createLogger({ level: 'info', write: (line) => lines.push(line) }).child({ service: 'test' })
  logger.debug('hidden')
  logger.info({ leaseId: 5n }, 'hello')
  logger.error({ err: new ProviderConfigError([{ path: 'a', message: 'b' }]) }, 'failed')
  assert.equal(lines.length, 2)
  const [first, second] = lines.map((line) => JSON.parse(line))
  assert.equal(first.level, 30)
  assert.equal(first.service, 'test')
  assert.equal(first.leaseId, '5')
  assert.equal(first.msg, 'hello')
  assert.equal(second.err.type, 'ProviderConfigError')
  assert.match(second.err.message, /a: b/)
  assert.ok(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')))
})
