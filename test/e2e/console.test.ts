/**
 * End to end, the console: `stoa devnet` as a user runs it (a child process: anvil, seven real
 * provider daemons, the demo: a WASM render job, the busybox web service in a container when Docker
 * is up, an 8 MiB file stored 4-of-6), alice buys credits (STOA burned), then Debian's Chromium,
 * driven by playwright-core, opens every page of the console the devnet serves and finds the real
 * objects through the pages' data-testid attributes: the providers on the map, the demo's leases on
 * the market and in the tenant view, the order's timeline, the deal and its six shards, the burn on
 * the supply chart, the provider's lease; then deploys a job from the tenant page. Any error in the
 * browser's console fails the test. Screenshots of every page (and the network page at a phone's
 * size) land in test/artifacts/console/. Prints how long the first page takes to show data.
 *
 * Needs /usr/bin/chromium (Debian's `chromium`). Needs Docker for the web service; without it the
 * test FAILS, saying so, unless STOA_SKIP_DOCKER=1.
 * Run: node --import tsx --test test/e2e/console.test.ts
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseCredits, parseDeployment } from '@stoa/protocol'
import { buyCredits, createStoaClient, getLease, type StoaClient } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import { getAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { repositoryRoot, requireDocker, skipDocker } from './devnet.ts'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const ARTIFACTS = join(repositoryRoot, 'test/artifacts/console')
/** Generous on purpose: a slow two-core CI machine runs seven daemons, anvil and a browser at once. */
const WAIT_MS = 60_000

/** What the test deploys from the tenant page: one small frame of the ray tracer the console bundles. */
const DEPLOYED_FROM_PAGE = `version: "1"
services:
  frame:
    wasm: raytracer.wasm
    args: ["--width", "32", "--height", "24", "--frame", "7", "--out", "console-e2e.ppm"]
    resources: { cpu: 0.5, memory: 64Mi, storage: 8Mi }
placement:
  maxUsdPerHour: "0.10"
duration: 10m
`

/** The parts of `stoa devnet --json`'s summary line this test reads. */
type DevnetJson = {
  rpcUrl: string
  chainId: number
  deploymentFile: string
  providers: { name: string; address: string; region: string }[]
  demo: {
    render: { leaseId: string; provider: string } | { error: string }
    service: { leaseId: string; provider: string } | { error: string } | { skipped: string }
  } | null
  storageDemo: { dealId: string; name: string; n: number } | { error: string } | { skipped: string } | null
  console: { url: string } | { error: string } | null
}

/** `<orderId>/<round>` as the CLI prints a lease id → the on-chain id `(orderId << 32) | round`. */
function leaseIdOf(formatted: string): bigint {
  const [orderId, round] = formatted.split('/')
  return (BigInt(orderId ?? '0') << 32n) | BigInt(round ?? '0')
}

/** Runs `stoa devnet --json` in its own process group; resolves with its summary line. */
async function startDevnet(dir: string): Promise<{ child: ChildProcess; summary: DevnetJson }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repositoryRoot, 'packages/cli/src/bin.ts'),
      'devnet',
      '--json',
      '--deployment',
      join(dir, 'deployment.json'),
    ],
    { cwd: repositoryRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const summaryLine = new Promise<DevnetJson>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(
      () => reject(new Error(`stoa devnet printed no summary within 10 minutes.\nstderr:\n${stderr}`)),
      600_000,
    )
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const newline = stdout.indexOf('\n')
      if (newline === -1) return
      clearTimeout(timer)
      try {
        resolve(JSON.parse(stdout.slice(0, newline)) as DevnetJson)
      } catch (error) {
        reject(error)
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`stoa devnet exited (${code ?? signal}) before its summary.\nstderr:\n${stderr}`))
    })
  })
  try {
    return { child, summary: await summaryLine }
  } catch (error) {
    await stopDevnet(child)
    throw error
  }
}

/** SIGINT (the CLI stops its providers, containers and anvil), then SIGKILL to the group if it lingers. */
async function stopDevnet(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGINT')
  const late = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // Gone already.
    }
  }, 30_000)
  await exited
  clearTimeout(late)
}

describe('console end to end (stoa devnet, seven provider daemons, Chromium)', { timeout: 1_200_000 }, () => {
  let dir: string
  let devnet: Awaited<ReturnType<typeof startDevnet>> | undefined
  let summary: DevnetJson
  let consoleUrl: string
  let alice: StoaClient
  let browser: Browser | undefined
  let context: BrowserContext
  let page: Page
  /** Errors the page logged or threw, with the page they happened on. */
  const browserErrors: string[] = []
  let currentPage = 'none'
  const render = () => {
    const value = summary.demo?.render
    assert.ok(value && 'leaseId' in value, `the demo's render job ran: ${JSON.stringify(value)}`)
    return value
  }
  const addressOf = (name: string) => {
    const provider = summary.providers.find((candidate) => candidate.name === name)
    assert.ok(provider, `${name} is one of the devnet's providers`)
    return getAddress(provider.address)
  }

  before(async () => {
    if (!skipDocker) await requireDocker()
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: apt-get install chromium (CI does it in .ci/run)`,
    )
    dir = await mkdtemp(join(tmpdir(), 'stoa-e2e-console-'))
    await mkdir(ARTIFACTS, { recursive: true })
    devnet = await startDevnet(dir)
    summary = devnet.summary
    assert.ok(
      summary.console && 'url' in summary.console,
      `the console is served: ${JSON.stringify(summary.console)}`,
    )
    consoleUrl = summary.console.url

    // A burn for the supply chart: alice buys credits with STOA.
    const deployment = parseDeployment(await readFile(summary.deploymentFile, 'utf8'))
    alice = createStoaClient({
      deployment,
      account: privateKeyToAccount(devnetAccount('alice').privateKey),
      pollingInterval: 100,
    })
    await buyCredits(alice, { credits: parseCredits('5') })

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    page = await context.newPage()
    watchErrors(page)
  })

  after(async () => {
    await browser?.close().catch(() => undefined)
    if (devnet) await stopDevnet(devnet.child)
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  })

  function watchErrors(target: Page): void {
    target.on('console', (message) => {
      if (message.type() === 'error') {
        const { url, lineNumber } = message.location()
        browserErrors.push(`[${currentPage}] console.error: ${message.text()} (${url}:${lineNumber})`)
      }
    })
    target.on('pageerror', (error) =>
      browserErrors.push(`[${currentPage}] uncaught: ${error.stack ?? error.message}`),
    )
  }

  /**
   * Opens a page, through its link in the navigation when it has one (else by its hash route), and
   * waits for the page root to say its first load is done.
   */
  async function open(route: string, rootTestId: string): Promise<Locator> {
    currentPage = route
    if (/^[a-z]+$/.test(route)) await page.getByTestId(`nav-${route}`).click()
    else await page.goto(`${consoleUrl}#/${route}`)
    await page.waitForURL((url) => url.hash === `#/${route}`, { timeout: WAIT_MS })
    const root = page.getByTestId(rootTestId)
    await root.and(page.locator('[data-ready="true"]')).waitFor({ timeout: WAIT_MS })
    return root
  }

  async function screenshot(name: string, target: Page = page): Promise<void> {
    await target.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
  }

  function assertNoBrowserErrors(): void {
    assert.deepEqual(browserErrors, [], `the browser reported errors:\n${browserErrors.join('\n')}`)
  }

  it('network: the devnet providers are on the map and in the list', async () => {
    currentPage = 'network'
    const startedAt = performance.now()
    await page.goto(`${consoleUrl}#/network`)
    const root = page.getByTestId('page-network')
    await root.and(page.locator('[data-ready="true"]')).waitFor({ timeout: WAIT_MS })
    await root.getByTestId('map-provider').first().waitFor({ timeout: WAIT_MS })
    console.log(`first page shows data in ${Math.round(performance.now() - startedAt)} ms`)

    await root.getByTestId('world-map').waitFor({ timeout: WAIT_MS })
    const devnetAddresses = new Set(summary.providers.map((provider) => getAddress(provider.address)))
    const onMap = await root
      .getByTestId('map-provider')
      .evaluateAll((markers) => markers.map((marker) => marker.getAttribute('data-address')))
    assert.ok(
      onMap.some((address) => address !== null && devnetAddresses.has(address as `0x${string}`)),
      `a devnet provider is on the map (markers: ${onMap.join(', ')})`,
    )
    for (const address of devnetAddresses) {
      await root
        .locator(`[data-testid="provider-row"][data-address="${address}"]`)
        .waitFor({ timeout: WAIT_MS })
    }
    await screenshot('network')
    assertNoBrowserErrors()
  })

  it('network, at a phone size', async () => {
    const phone = await (browser as Browser).newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    })
    try {
      const phonePage = await phone.newPage()
      watchErrors(phonePage)
      currentPage = 'network (phone)'
      await phonePage.goto(`${consoleUrl}#/network`)
      const root = phonePage.getByTestId('page-network')
      await root.and(phonePage.locator('[data-ready="true"]')).waitFor({ timeout: WAIT_MS })
      await root.getByTestId('map-provider').first().waitFor({ timeout: WAIT_MS })
      await screenshot('network-phone', phonePage)
    } finally {
      await phone.close()
    }
    assertNoBrowserErrors()
  })

  it("market: the demo's leases, the orders, the price chart; the order's timeline", async () => {
    const root = await open('market', 'page-market')
    const leases = [render().leaseId]
    const service = summary.demo?.service
    if (!skipDocker) {
      assert.ok(service && 'leaseId' in service, `the demo's web service runs: ${JSON.stringify(service)}`)
    }
    if (service && 'leaseId' in service) leases.push(service.leaseId)
    for (const formatted of leases) {
      await root.locator(leaseRowSelector('lease-row', formatted)).first().waitFor({ timeout: WAIT_MS })
    }
    const lease = await getLease(alice, { leaseId: leaseIdOf(render().leaseId) })
    assert.ok(lease, `lease ${render().leaseId} is on chain`)
    const { orderId } = lease
    await root
      .locator(`[data-testid="order-row"][data-order-id="${orderId}"]`)
      .first()
      .waitFor({ timeout: WAIT_MS })
    await root.getByTestId('price-chart').waitFor({ timeout: WAIT_MS })
    await screenshot('market')

    const order = await open(`market/orders/${orderId}`, 'page-order')
    const timeline = order.getByTestId('order-timeline')
    for (const kind of ['created', 'bid', 'lease']) {
      await timeline
        .locator(`[data-testid="timeline-event"][data-kind="${kind}"]`)
        .first()
        .waitFor({ timeout: WAIT_MS })
    }
    await screenshot('order')
    assertNoBrowserErrors()
  })

  it('storage: the stored file’s deal, and its six shards on the deal page', async () => {
    const stored = summary.storageDemo
    assert.ok(stored && 'dealId' in stored, `the storage demo stored a file: ${JSON.stringify(stored)}`)
    const root = await open('storage', 'page-storage')
    await root
      .locator(`[data-testid="deal-row"][data-deal-id="${stored.dealId}"]`)
      .waitFor({ timeout: WAIT_MS })
    await screenshot('storage')

    const deal = await open(`storage/deals/${stored.dealId}`, 'page-deal')
    const shards = deal.getByTestId('shard-row')
    await shards.nth(stored.n - 1).waitFor({ timeout: WAIT_MS })
    assert.equal(await shards.count(), stored.n)
    const holders = await attributesOf(shards, 'data-provider')
    const devnetAddresses = new Set(summary.providers.map((provider) => getAddress(provider.address)))
    for (const holder of holders) {
      assert.ok(
        holder && devnetAddresses.has(holder as `0x${string}`),
        `shard holder ${holder} is a devnet provider`,
      )
    }
    assert.equal(new Set(holders).size, stored.n, 'six distinct providers hold the shards')
    await deal.getByTestId('proofs-submitted').waitFor({ timeout: WAIT_MS })
    await screenshot('deal')
    assertNoBrowserErrors()
  })

  it('economics: the burn of the credit purchase shows, the supply chart renders', async () => {
    const root = await open('economics', 'page-economics')
    const burned = root.getByTestId('burned-total')
    await burned.waitFor({ timeout: WAIT_MS })
    await waitForText(burned, /[1-9]/, 'a non-zero burned total')
    const supply = root.getByTestId('supply-chart')
    await supply.locator('svg').first().waitFor({ timeout: WAIT_MS })
    // The purchase's burn is a marked point on the chart's burned series.
    await supply.getByTestId('supply-burn').first().waitFor({ timeout: WAIT_MS })
    await waitForText(root.getByTestId('oracle-price'), /0\.5/, 'the oracle price, 0.5 USD per STOA')
    await root.getByTestId('minted-total').waitFor({ timeout: WAIT_MS })
    await root.getByTestId('credits-outstanding').waitFor({ timeout: WAIT_MS })
    await screenshot('economics')
    assertNoBrowserErrors()
  })

  it("provider view: the render job's provider shows the lease", async () => {
    const address = addressOf(render().provider)
    const root = await open(`provider/${address}`, 'page-provider')
    await root
      .locator(leaseRowSelector('provider-lease-row', render().leaseId))
      .first()
      .waitFor({ timeout: WAIT_MS })
    await root.getByTestId('earnings-chart').waitFor({ timeout: WAIT_MS })
    await root.getByTestId('provider-proof-count').waitFor({ timeout: WAIT_MS })
    await screenshot('provider')
    assertNoBrowserErrors()
  })

  it("tenant view: alice's leases and stored file; a job deployed from the page runs", async () => {
    const root = await open('tenant', 'page-tenant')
    const accountSelect = root.getByTestId('tenant-account')
    await accountSelect.waitFor({ timeout: WAIT_MS })
    await selectAccount(accountSelect, 'alice', getAddress(devnetAccount('alice').address))
    await root
      .locator(leaseRowSelector('tenant-lease-row', render().leaseId))
      .first()
      .waitFor({ timeout: WAIT_MS })
    const stored = summary.storageDemo
    assert.ok(stored && 'dealId' in stored, `the storage demo stored a file: ${JSON.stringify(stored)}`)
    await root
      .locator(`[data-testid="tenant-deal-row"][data-deal-id="${stored.dealId}"]`)
      .first()
      .waitFor({ timeout: WAIT_MS })
    // The object's name comes from alice's encrypted index, decrypted in the browser.
    await root
      .getByTestId('tenant-object-row')
      .filter({ hasText: stored.name })
      .first()
      .waitFor({ timeout: WAIT_MS })
    await screenshot('tenant')

    const manifest = root.getByTestId('deploy-manifest')
    await manifest.fill(DEPLOYED_FROM_PAGE)
    await root.getByTestId('deploy-submit').click()
    const status = root.getByTestId('deploy-status')
    await status.and(page.locator('[data-state="done"], [data-state="error"]')).waitFor({ timeout: 120_000 })
    assert.equal(
      await status.getAttribute('data-state'),
      'done',
      `the deploy from the page finished: ${await status.textContent()}`,
    )
    const leaseId = await root.getByTestId('deploy-done').getAttribute('data-lease-id')
    assert.match(leaseId ?? '', /^\d+$/)
    await root
      .locator(`[data-testid="tenant-lease-row"][data-lease-id="${leaseId}"]`)
      .first()
      .waitFor({ timeout: WAIT_MS })
    await screenshot('tenant-deployed')
    assertNoBrowserErrors()
  })

  it('stoa console serves the same deployment: config.json, headers, a JSON 404, exit 0 on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repositoryRoot, 'packages/cli/src/bin.ts'),
        'console',
        '--json',
        '--deployment',
        summary.deploymentFile,
      ],
      { cwd: repositoryRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const ready = await firstJsonLine<{
        event: string
        url: string
        chainId: number
        devnetAccounts: string[]
      }>(child, 120_000)
      assert.equal(ready.event, 'console:ready')
      assert.equal(ready.chainId, summary.chainId)
      assert.ok(ready.devnetAccounts.includes('alice'))
      for (const url of [ready.url, consoleUrl]) {
        const response = await fetch(new URL('config.json', url))
        assert.equal(response.status, 200)
        assert.equal(response.headers.get('cache-control'), 'no-store')
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
        const config = (await response.json()) as {
          chainId: number
          rpcUrl: string
          deployment: { contracts: Record<string, string> }
          devnetAccounts: { name: string; address: string; privateKey: string }[]
        }
        assert.equal(config.chainId, summary.chainId)
        assert.equal(config.rpcUrl, summary.rpcUrl)
        assert.equal(config.deployment.contracts.market, alice.deployment.contracts.market)
        const aliceEntry = config.devnetAccounts.find((account) => account.name === 'alice')
        assert.equal(aliceEntry?.address, devnetAccount('alice').address)
        assert.ok(
          summary.providers.every((provider) =>
            config.devnetAccounts.some((account) => account.address === getAddress(provider.address)),
          ),
          'every devnet provider account is offered',
        )
        const missing = await fetch(new URL('no-such-file.js', url))
        assert.equal(missing.status, 404)
        assert.deepEqual(((await missing.json()) as { error: { code: string } }).error.code, 'not-found')
        const index = await fetch(url)
        assert.match(index.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/)
        assert.match(await index.text(), /<div id="root">/)
      }
      child.kill('SIGINT')
      assert.equal(await exited, 0)
    } finally {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGKILL')
      }
    }
  })
})

/** The first stdout line of a child process, parsed as JSON. */
async function firstJsonLine<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return await new Promise<T>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(
      () => reject(new Error(`no output within ${timeoutMs} ms.\nstderr:\n${stderr}`)),
      timeoutMs,
    )
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const newline = stdout.indexOf('\n')
      if (newline === -1) return
      clearTimeout(timer)
      try {
        resolve(JSON.parse(stdout.slice(0, newline)) as T)
      } catch (error) {
        reject(error)
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code ?? signal}) before its first line.\nstderr:\n${stderr}`))
    })
  })
}

/** A lease row by its id, in either form a page may write it: decimal on-chain id, or `<order>/<round>`. */
function leaseRowSelector(testId: string, formatted: string): string {
  return [formatted, leaseIdOf(formatted).toString()]
    .map((id) => `[data-testid="${testId}"][data-lease-id="${id}"]`)
    .join(', ')
}

async function waitForText(
  target: Locator,
  pattern: RegExp,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    last = (await target.textContent({ timeout: timeoutMs }).catch(() => null)) ?? ''
    if (pattern.test(last)) return last
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms (last text: ${JSON.stringify(last)})`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** One attribute of every element the locator matches now. */
async function attributesOf(locator: Locator, name: string): Promise<(string | null)[]> {
  return await Promise.all((await locator.all()).map((element) => element.getAttribute(name)))
}

/** Picks the account in the tenant view's select, by its name or its address, whichever the options use. */
async function selectAccount(select: Locator, name: string, address: string): Promise<void> {
  const options = await select
    .locator('option')
    .evaluateAll((nodes) =>
      nodes.map((node) => ({ value: node.getAttribute('value') ?? '', label: node.textContent ?? '' })),
    )
  const option = options.find(
    (candidate) =>
      candidate.value.toLowerCase() === address.toLowerCase() ||
      candidate.value === name ||
      candidate.label.includes(name),
  )
  assert.ok(option, `the account select offers ${name} (options: ${JSON.stringify(options)})`)
  await select.selectOption(option.value)
}
