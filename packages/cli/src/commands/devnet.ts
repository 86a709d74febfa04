import { execFile } from 'node:child_process'
import { dirname, relative } from 'node:path'
import { promisify } from 'node:util'
import { type ConsoleServer, ensureConsoleBuilt, startConsoleServer } from '@stoa/console'
import { formatCredits, formatStoa } from '@stoa/protocol'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { DEFAULT_DEPLOYMENT_FILE } from '../deployment-file.ts'
import { MAX_DEVNET_PROVIDERS } from '../devnet/accounts.ts'
import { type DemoSummary, prepareDocker, runDemo } from '../devnet/demo.ts'
import { type DevnetProviders, startDevnetProviders } from '../devnet/providers.ts'
import { type DevnetProgressEvent, type DevnetSummary, runDevnet } from '../devnet/run-devnet.ts'
import { runStorageDemo, type StorageDemoSummary } from '../devnet/storage-demo.ts'
import { type CliIo, contractLabels, milliseconds, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { consoleBuildPrinter, devnetAccountsOf } from './console.ts'

export type DevnetCommandOptions = {
  port?: number
  state?: string
  deployment: string
  json?: boolean
  fund: boolean
  blockTime?: number
  providers: number
  demo: boolean
  console: boolean
  consolePort?: number
}

/** The console part of the summary: its URL, or why it is not served (null with --no-console). */
type ConsolePart = { url: string } | { error: string } | null

type ProvidersPart = {
  docker: { ok: boolean; note: string | undefined }
  started: DevnetProviders | undefined
  readyMs: number
}

export function registerDevnetCommand(program: Command, run: CommandRunner): void {
  program
    .command('devnet')
    .summary('run a local chain with the Stoa contracts deployed and test accounts funded')
    .description(
      [
        'Starts anvil, deploys and wires the Stoa contracts, funds the named test accounts (deployer, alice,',
        'bob, provider1-N, watcher) with STOA and credits, writes the deployment file the other commands read,',
        'prints a summary, and runs until Ctrl-C (SIGINT) or SIGTERM, then stops anvil cleanly.',
        '',
        'It then starts --providers N provider daemons (default 7: provider1 eu-west, provider2 us-east,',
        'provider3 ap-south, provider4 eu-central, provider5 us-west, provider6 ap-northeast, provider7 sa-east;',
        'each `stoa provider start` in its own process, logging to the devnet folder, each offering 2 GiB of',
        'storage), builds the stoa/busybox:1 image when Docker answers, and runs a demo as alice (unless',
        '--no-demo): examples/render-job.yaml (WASM), with Docker examples/web-service.yaml, and, with at',
        'least 6 providers, storage: a generated 8 MiB file stored 4-of-6 and read back bit for bit.',
        '',
        'Once the providers run it serves the web console (as `stoa console` does, with the test accounts',
        'for the tenant view; --no-console to skip it) and prints its URL.',
        '',
        'Besides a block per transaction, the chain mines an empty block every 1.5 s so that storage proving',
        'windows advance while nothing else happens.',
        '',
        'With --state DIR the chain survives restarts: anvil loads and saves DIR/chain.json (also every 10 s),',
        'the deployment is kept in DIR/deployment.json, and a restart reuses both instead of redeploying.',
      ].join('\n'),
    )
    .addOption(new Option('--port <n>', 'RPC port (default: a free one)').argParser(portNumber))
    .option('--state <dir>', 'keep the chain and deployment in this folder between runs')
    .option(
      '--deployment <file>',
      'where to write the deployment for other commands',
      DEFAULT_DEPLOYMENT_FILE,
    )
    .option('--json', 'print the summary as one JSON object (on one line)')
    .option('--no-fund', 'skip funding the test accounts on a fresh deployment')
    .addOption(
      new Option(
        '--block-time <seconds>',
        'mine a block every N seconds (default: one per transaction)',
      ).argParser(positiveNumber),
    )
    .addOption(
      new Option('--providers <n>', `provider daemons to start (0 to ${MAX_DEVNET_PROVIDERS})`)
        .default(7)
        .argParser(providerCount),
    )
    .option('--no-demo', 'skip the demo deployments')
    .option('--no-console', 'do not serve the web console')
    .addOption(
      new Option('--console-port <n>', 'console HTTP port (default: a free one)').argParser(portNumber),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ stoa devnet',
        '  $ stoa devnet --providers 0 --no-demo',
        '  $ stoa devnet --port 8545 --state .stoa/devnet-state',
        '  $ stoa devnet --console-port 5080',
        '  $ stoa devnet --json > devnet.json &',
      ].join('\n'),
    )
    .action((options: DevnetCommandOptions, command: Command) =>
      run(command, (io) => devnetAction(options, io)),
    )
}

async function devnetAction(options: DevnetCommandOptions, io: CliIo): Promise<number> {
  const controller = new AbortController()
  let stopSignal: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    stopSignal = signal
    controller.abort(new Error(`stopped by ${signal}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const progress = options.json ? () => {} : progressPrinter(io)
  try {
    let devnet: Awaited<ReturnType<typeof runDevnet>>
    try {
      devnet = await runDevnet({
        deploymentFile: options.deployment,
        fund: options.fund,
        signal: controller.signal,
        onProgress: progress,
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.state === undefined ? {} : { stateDir: options.state }),
        ...(options.blockTime === undefined ? {} : { blockTime: options.blockTime }),
        providerAccounts: options.providers,
      })
    } catch (error) {
      if (stopSignal) {
        io.stderr(`Stopped by ${stopSignal} before the devnet was ready.\n`)
        return 0
      }
      throw error
    }
    const devnetDir = options.state ?? dirname(devnet.summary.deploymentFiles[0] ?? options.deployment)
    const deploymentArg = devnet.summary.deploymentFiles[0]?.endsWith(DEFAULT_DEPLOYMENT_FILE)
      ? ''
      : ` --deployment ${displayPath(devnet.summary.deploymentFiles[0] ?? '')}`
    let part: ProvidersPart = { docker: { ok: false, note: undefined }, started: undefined, readyMs: 0 }
    let demo: DemoSummary | undefined
    let storageDemo: StorageDemoSummary | { skipped: string } | undefined
    let consoleServer: ConsoleServer | undefined
    let consolePart: ConsolePart = null
    // Containers are labelled `stoa.provider=<address>-<namespace>`; the namespace is this devnet's.
    const namespace = `d${new URL(devnet.summary.rpcUrl).port ? Number(new URL(devnet.summary.rpcUrl).port).toString(36) : '0'}`
    const stopAll = async () => {
      await consoleServer?.close().catch(() => undefined)
      await part.started?.stop()
      // A stopped daemon leaves its workloads running (a restarted daemon adopts them), but nothing
      // adopts a devnet's: remove them so Ctrl-C leaves no container behind.
      if (part.docker.ok) await removeDevnetContainers(namespace)
      await devnet.stop()
    }
    try {
      // The console builds (only when its sources changed since the last build) while the providers start.
      const consoleBuild = options.console
        ? ensureConsoleBuilt(options.json ? {} : { onProgress: consoleBuildPrinter(io) }).then(
            () => undefined,
            (error: unknown) => firstLine(error),
          )
        : undefined
      if (options.providers > 0) {
        const docker = await prepareDocker()
        const dockerNote = docker.ok ? undefined : `${docker.reason}: the providers run WASM only`
        if (!options.json) {
          io.stderr(
            docker.ok
              ? `✓ Image stoa/busybox:1 ready (${docker.imageId.slice(0, 19)})\n`
              : `! ${dockerNote}\n`,
          )
        }
        const providersStartedAt = performance.now()
        const started = await startDevnetProviders({
          count: options.providers,
          dir: devnetDir,
          deploymentFile: devnet.summary.deploymentFiles[0] ?? options.deployment,
          docker: docker.ok,
          namespace,
          signal: controller.signal,
        })
        part = {
          docker: { ok: docker.ok, note: dockerNote },
          started,
          readyMs: performance.now() - providersStartedAt,
        }
        if (!options.json) {
          io.stderr(
            `✓ Starting ${started.providers.length} providers (${milliseconds(part.readyMs)}): ${started.providers.map((provider) => `${provider.name} #${provider.providerId} ${provider.region}`).join(', ')}\n`,
          )
        }
      }
      if (consoleBuild) {
        const buildError = await consoleBuild
        if (buildError === undefined) {
          consoleServer = await startConsoleServer({
            deployment: devnet.deployment,
            port: options.consolePort ?? 0,
            devnetAccounts: devnetAccountsOf(devnet.deployment.accounts),
          })
          consolePart = { url: consoleServer.url }
        } else {
          // The chain and the providers work without it: say why, and go on.
          consolePart = { error: buildError }
          if (!options.json) io.stderr(`! The console is not served: ${buildError}\n`)
        }
      }
      const readyMs = performance.now()
      if (!options.json) io.stdout(humanSummary(devnet.summary, readyMs, part, devnetDir, consolePart))
      if (options.demo && part.started && !controller.signal.aborted) {
        if (!options.json) io.stderr('Running the demo (deploying as alice)…\n')
        demo = await runDemo({
          deployment: devnet.deployment,
          providers: part.started.providers,
          docker: part.docker.ok,
          dockerNote: part.docker.note,
          deploymentArg,
          signal: controller.signal,
          ...(options.json ? {} : { onStep: (text: string) => io.stderr(`✓ Deployed the ${text}\n`) }),
        })
        if (part.started.providers.length >= STORAGE_DEMO_PROVIDERS) {
          if (!options.json) io.stderr('Running the storage demo (put and get an 8 MiB file as alice)…\n')
          storageDemo = await runStorageDemo({
            deployment: devnet.deployment,
            dir: devnetDir,
            deploymentArg,
            signal: controller.signal,
          })
        } else {
          storageDemo = {
            skipped: `storage needs at least ${STORAGE_DEMO_PROVIDERS} providers for 4-of-6 (--providers ${part.started.providers.length})`,
          }
        }
        if (!options.json) io.stdout(humanDemo(demo, storageDemo, performance.now()))
      }
      if (options.json) {
        io.stdout(
          `${toJson({ ...summaryJson(devnet.summary, readyMs), ...providersJson(part, demo, devnetDir), storageDemo: storageDemo ?? null, console: consolePart })}\n`,
        )
      }
    } catch (error) {
      await stopAll()
      if (stopSignal) {
        io.stderr(`Stopped by ${stopSignal} before the devnet was ready.\n`)
        return 0
      }
      throw error
    }

    const stopped = new Promise<'signal'>((resolve) => {
      if (controller.signal.aborted) resolve('signal')
      else controller.signal.addEventListener('abort', () => resolve('signal'), { once: true })
    })
    const outcome = await Promise.race([stopped, devnet.exited])
    if (outcome === 'signal') {
      await stopAll()
      if (!options.json) {
        io.stderr(
          `Stopped (${stopSignal}).${devnet.summary.stateDir ? ` Chain saved in ${displayPath(devnet.summary.stateDir)}.` : ''}\n`,
        )
      }
      return 0
    }
    await consoleServer?.close().catch(() => undefined)
    await part.started?.stop()
    if (part.docker.ok) await removeDevnetContainers(namespace)
    // anvil went away on its own. A terminal's Ctrl-C reaches anvil too (same process group), so
    // a clean exit or SIGINT/SIGTERM is a normal stop; anything else is a crash.
    if (outcome.code === 0 || outcome.signal === 'SIGINT' || outcome.signal === 'SIGTERM') return 0
    io.stderr(
      [
        `Error: anvil exited unexpectedly (${outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`}).`,
        ...devnet.anvil.recentOutput().map((line) => `  ${line}`),
        '',
      ].join('\n'),
    )
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function progressPrinter(io: CliIo): (event: DevnetProgressEvent) => void {
  const labels: Record<string, string> = {
    anvil: 'Starting anvil',
    reuse: 'Checking the saved deployment',
    deploy: 'Deploying contracts',
    fund: 'Funding test accounts',
    'write-deployment': 'Writing the deployment file',
    summary: 'Reading balances',
  }
  return (event) => {
    if (event.type === 'devnet:step:finished') {
      const { step, ms, note } = event.detail
      io.stderr(`✓ ${labels[step] ?? step} (${milliseconds(ms)})${note ? `: ${note}` : ''}\n`)
    } else if (event.type === 'devnet:oracle-refreshed') {
      io.stderr('✓ Posted the oracle price again (the saved one had aged)\n')
    }
  }
}

function castExample(summary: DevnetSummary): string {
  return `npx cast call ${summary.contracts.priceOracle} 'latestRoundData()(uint80,int256,uint256,uint256,uint80)' --rpc-url ${summary.rpcUrl}`
}

export function summaryJson(summary: DevnetSummary, processMs: number) {
  return {
    rpcUrl: summary.rpcUrl,
    chainId: summary.chainId,
    contracts: summary.contracts,
    reused: summary.reused,
    deployedAt: summary.deployedAt,
    oracle: summary.oracle,
    accounts: summary.accounts.map((account) => ({
      name: account.name,
      role: account.role,
      address: account.address,
      stoa: formatStoa(account.stoa),
      credits: formatCredits(account.credits),
      stoaUnits: account.stoa,
      creditUnits: account.credits,
    })),
    deploymentFile: summary.deploymentFiles[0],
    deploymentFiles: summary.deploymentFiles,
    stateDir: summary.stateDir ?? null,
    timings: {
      ...Object.fromEntries(
        Object.entries(summary.timings).map(([step, ms]) => [timingKey(step), Math.round(ms)]),
      ),
      processMs: Math.round(processMs),
    },
    castExample: castExample(summary),
  }
}

/** `write-deployment` → `writeDeploymentMs`; `totalMs` stays. */
function timingKey(step: string): string {
  const camel = step.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase())
  return camel.endsWith('Ms') ? camel : `${camel}Ms`
}

function humanSummary(
  summary: DevnetSummary,
  processMs: number,
  part: ProvidersPart,
  devnetDir: string,
  consolePart: ConsolePart,
): string {
  const lines = [
    '',
    `Stoa devnet ready in ${milliseconds(summary.timings.totalMs)} (${milliseconds(processMs)} since the process started)${summary.reused ? ', reusing the saved chain' : ''}`,
    '',
    table([
      ['RPC URL', summary.rpcUrl],
      ...(consolePart === null
        ? []
        : [['Console', 'url' in consolePart ? consolePart.url : `not served (${consolePart.error})`]]),
      ['Chain id', String(summary.chainId)],
      [
        'Oracle',
        `${summary.oracle.usdPerStoa} USD per STOA${summary.oracle.usable ? '' : ' (stale: buys fail)'}`,
      ],
      ['Deployment', summary.deploymentFiles.map(displayPath).join(', ')],
      ...(summary.stateDir ? [['State', displayPath(summary.stateDir)]] : []),
    ]),
    '',
    'Contracts',
    table(
      Object.entries(contractLabels).map(([key, label]) => [
        label,
        summary.contracts[key as keyof typeof contractLabels],
      ]),
    ),
    '',
    'Accounts (anvil test keys from the public mnemonic: devnet only; use a name as --key, e.g. --key alice)',
    table([
      ['name', 'address', 'STOA', 'credits (USD)'],
      ...summary.accounts.map((account) => [
        account.name,
        account.address,
        formatStoa(account.stoa),
        formatCredits(account.credits),
      ]),
    ]),
    ...providerLines(part, devnetDir),
    '',
    'Read the oracle price:',
    `  ${castExample(summary)}`,
    'Check a balance:',
    `  npm run stoa -- credits balance alice${summary.deploymentFiles[0]?.endsWith(DEFAULT_DEPLOYMENT_FILE) ? '' : ` --deployment ${displayPath(summary.deploymentFiles[0] ?? '')}`}`,
    '',
    'Ctrl-C to stop',
    '',
  ]
  return lines.join('\n')
}

function displayPath(path: string): string {
  const relativePath = relative(process.cwd(), path)
  return relativePath && !relativePath.startsWith('..') ? relativePath : path
}

function portNumber(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 1 to 65535.')
  }
  return port
}

function positiveNumber(value: string): number {
  const number = Number(value)
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number.')
  return number
}

function providerLines(part: ProvidersPart, devnetDir: string): string[] {
  if (!part.started) return []
  return [
    '',
    `Providers (ready in ${milliseconds(part.readyMs)}; logs and data in ${displayPath(devnetDir)})`,
    table([
      ['name', 'id', 'region', 'USD/h per core, GiB', 'storage', 'gateway', 'ingress', 'log'],
      ...part.started.providers.map((provider) => [
        provider.name,
        `#${provider.providerId}`,
        provider.region,
        `${provider.pricing.cpu}, ${provider.pricing.memoryGiB}`,
        provider.storage ? `${provider.storage.capacityBytes / 1024 ** 3} GiB` : 'off',
        provider.gatewayUrl,
        provider.ingressUrl ?? 'off',
        displayPath(provider.logFile),
      ]),
    ]),
    ...(part.docker.ok ? [] : [`  ${part.docker.note}`]),
  ]
}

/** A 4-of-6 deal needs six providers. */
const STORAGE_DEMO_PROVIDERS = 6

function humanDemo(
  demo: DemoSummary,
  storage: StorageDemoSummary | { skipped: string } | undefined,
  processMs: number,
): string {
  const lines = [
    '',
    `Demo done in ${milliseconds(demo.ms)} (${milliseconds(processMs)} since the process started)`,
  ]
  if ('error' in demo.render) lines.push(`  render job: failed: ${demo.render.error}`)
  else {
    lines.push(
      `  Render job (${demo.render.example}): lease ${demo.render.leaseId} on ${demo.render.provider}`,
    )
    for (const file of demo.render.results) {
      lines.push(`    ${file.name}  sha256 ${file.sha256}  ${file.path ? displayPath(file.path) : ''}`)
    }
    lines.push(`    logs: ${demo.render.logsCommand}`)
  }
  if ('skipped' in demo.service) lines.push(`  Web service: skipped (${demo.service.skipped})`)
  else if ('error' in demo.service) lines.push(`  Web service: failed: ${demo.service.error}`)
  else {
    lines.push(
      `  Web service (${demo.service.example}): lease ${demo.service.leaseId} on ${demo.service.provider}`,
      `    ${demo.service.url}${demo.service.status ? ` (answered ${demo.service.status})` : ''}`,
      `    $ ${demo.service.curl}`,
    )
  }
  if (storage === undefined) {
    // Not run.
  } else if ('skipped' in storage) lines.push(`  Storage: skipped (${storage.skipped})`)
  else if ('error' in storage) lines.push(`  Storage: failed: ${storage.error}`)
  else {
    lines.push(
      `  Storage: ${storage.name} (${(storage.size / 1024 / 1024).toFixed(0)} MiB) in deal ${storage.dealId}, ${storage.k}-of-${storage.n} on ${storage.providers} providers`,
      `    put ${storage.put.mbPerSecond} MB/s (${milliseconds(storage.put.ms)}), get ${storage.get.mbPerSecond} MB/s (${milliseconds(storage.get.ms)}); sha256 ${storage.identical ? 'identical' : 'DIFFERENT'}`,
      `    $ ${storage.commands.join('\n    $ ')}`,
    )
  }
  lines.push('', 'Ctrl-C to stop', '')
  return lines.join('\n')
}

function providersJson(part: ProvidersPart, demo: DemoSummary | undefined, devnetDir: string) {
  return {
    devnetDir,
    docker: part.docker,
    providers: (part.started?.providers ?? []).map((provider) => ({
      name: provider.name,
      address: provider.address,
      providerId: provider.providerId,
      region: provider.region,
      gatewayUrl: provider.gatewayUrl,
      ingressUrl: provider.ingressUrl,
      pid: provider.pid,
      dataDir: provider.dataDir,
      logFile: provider.logFile,
      configFile: provider.configFile,
      pricing: provider.pricing,
      storage: provider.storage,
      health: provider.health,
      readyMs: provider.readyMs,
    })),
    providersReadyMs: Math.round(part.readyMs),
    demo: demo ?? null,
  }
}

function providerCount(value: string): number {
  const count = Number(value)
  if (!Number.isInteger(count) || count < 0 || count > MAX_DEVNET_PROVIDERS)
    throw new InvalidArgumentError(`expected 0 to ${MAX_DEVNET_PROVIDERS}.`)
  return count
}

const execFileAsync = promisify(execFile)

function firstLine(error: unknown): string {
  const message =
    (error as { shortMessage?: unknown }).shortMessage ?? (error as Error).message ?? String(error)
  const cause = (error as { cause?: { message?: unknown } }).cause?.message
  return `${String(message).split('\n')[0] ?? ''}${typeof cause === 'string' ? ` ${cause.split('\n')[0]}` : ''}`
}

/** Removes every container the devnet's providers started (label `stoa.provider` ending in `-<namespace>`). */
async function removeDevnetContainers(namespace: string): Promise<void> {
  try {
    const { stdout } = await execFileAsync('docker', [
      'ps',
      '-a',
      '--filter',
      'label=stoa.provider',
      '--format',
      '{{.ID}} {{.Label "stoa.provider"}}',
    ])
    const ids = stdout
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter(([id, owner]) => id && owner?.endsWith(`-${namespace}`))
      .map(([id]) => id as string)
    if (ids.length > 0) await execFileAsync('docker', ['rm', '-f', ...ids])
  } catch {
    // Docker went away meanwhile: nothing left to remove here.
  }
}
