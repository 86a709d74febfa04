import {
  createLogger,
  createProviderDaemon,
  type LogLevel,
  loadProviderConfig,
  type ProviderDaemon,
} from '@stoa/provider'
import { createStoaClient } from '@stoa/sdk'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { privateKeyToAccount } from 'viem/accounts'
import { DEFAULT_DEPLOYMENT_FILE, readDeploymentFile } from '../deployment-file.ts'
import type { CliIo } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { runRepairLoop } from './repair-loop.ts'

export type ProviderStartOptions = {
  config?: string
  key?: string
  dataDir?: string
  region?: string
  port?: number
  ingressPort?: number
  deployment?: string
  jsonLogs?: boolean
  repairer?: boolean
  repairInterval?: number
}

/** What `provider start --json-logs` prints on stdout once the daemon is registered and listening. */
export type ProviderReadyLine = {
  event: 'provider:ready'
  address: string
  providerId: number
  region: string
  gatewayUrl: string
  ingressUrl: string | null
  dataDir: string
  startMs: number
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/

/** Defaults for a provider started without a configuration file (a devnet provider). */
const DEFAULTS = {
  stake: '1000',
  pricing: { usdPerHour: { cpu: '0.02', memoryGiB: '0.005', storageGiB: '0.0001' } },
}

/** `stoa provider start`; joins the `provider` command group if another module made it. */
export function registerProviderStartCommand(program: Command, run: CommandRunner): void {
  const provider =
    program.commands.find((command) => command.name() === 'provider') ??
    program.command('provider').summary('run a provider and see its earnings')
  provider
    .command('start')
    .summary('run the provider daemon: register, bid on orders, run leases')
    .description(
      [
        'Loads the configuration (--config FILE, JSON or YAML, then the flags over it), registers the provider',
        'on chain if needed, serves the gateway and ingress, bids on orders and runs the leases it wins, until',
        'Ctrl-C (SIGINT) or SIGTERM, then stops cleanly (exit 0). Workloads keep running across restarts.',
        '',
        `Without a file the flags must give at least --key, --data-dir and --region; the stake defaults to`,
        `${DEFAULTS.stake} STOA and the prices to ${DEFAULTS.pricing.usdPerHour.cpu} USD/h per core, ${DEFAULTS.pricing.usdPerHour.memoryGiB} USD/h per GiB.`,
      ].join('\n'),
    )
    .option('--config <file>', 'the configuration file (JSON or YAML; see packages/provider/README.md)')
    .option(
      '--key <key>',
      'operator private key (0x…) or devnet account name (provider1…); default: the file, then $STOA_PRIVATE_KEY',
    )
    .option('--data-dir <dir>', 'where the state, manifests, workload files and results live')
    .option('--region <region>', 'region name, e.g. eu-west')
    .addOption(new Option('--port <n>', 'gateway port (0: a free one)').argParser(portNumber))
    .addOption(new Option('--ingress-port <n>', 'ingress port (0: a free one)').argParser(portNumber))
    .option(
      '--deployment <file>',
      `deployment file (default: the file's chain.deployment, else ${DEFAULT_DEPLOYMENT_FILE})`,
    )
    .option('--json-logs', 'log JSON lines on stdout (default: short readable lines on stderr)')
    .option(
      '--repairer',
      "also run the storage repair loop with the provider's key: rebuild lost shards of any deal and move them to new providers",
    )
    .addOption(
      new Option('--repair-interval <seconds>', 'with --repairer: seconds between scans for lost shards')
        .default(10)
        .argParser(positiveSeconds),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ stoa provider start --key provider1 --region eu-west --data-dir .stoa/provider1',
        '  $ stoa provider start --config provider.yaml --json-logs',
        '  $ stoa provider start --config provider.yaml --repairer',
      ].join('\n'),
    )
    .action((options: ProviderStartOptions, command: Command) =>
      run(command, (io) => providerStartAction(options, io)),
    )
}

async function providerStartAction(options: ProviderStartOptions, io: CliIo): Promise<number> {
  const startedAt = performance.now()
  const deploymentPath =
    options.deployment ?? (options.config === undefined ? DEFAULT_DEPLOYMENT_FILE : undefined)
  const keyInput = options.key ?? (options.config === undefined ? io.env.STOA_PRIVATE_KEY : undefined)
  let key: string | undefined
  if (keyInput !== undefined && keyInput !== '') {
    if (PRIVATE_KEY.test(keyInput)) key = keyInput
    else {
      const file = await readDeploymentFile(deploymentPath ?? DEFAULT_DEPLOYMENT_FILE)
      const named = file.accounts[keyInput]?.testPrivateKey
      if (!named) {
        throw new InvalidArgumentError(
          `--key: expected a private key (0x + 64 hex digits) or a devnet account name (${Object.keys(file.accounts).join(', ') || 'none recorded'}).`,
        )
      }
      key = named
    }
  }
  const overrides: Record<string, unknown> = {
    ...(key === undefined ? {} : { key }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(deploymentPath === undefined ? {} : { chain: { deployment: deploymentPath } }),
    ...(options.port === undefined ? {} : { gateway: { port: options.port } }),
    ...(options.ingressPort === undefined ? {} : { ingress: { port: options.ingressPort } }),
  }
  const config = await loadProviderConfig({
    ...(options.config === undefined ? {} : { file: options.config }),
    overrides: options.config === undefined ? { ...DEFAULTS, ...overrides } : overrides,
  })
  // A config file's relative paths resolve from its folder; flags from the working directory.
  if (options.config !== undefined && options.dataDir !== undefined) {
    config.dataDir = (await import('node:path')).resolve(options.dataDir)
  }

  const logger = createLogger({
    level: config.log.level as LogLevel,
    write: options.jsonLogs ? (line) => io.stdout(line) : (line) => io.stderr(readableLine(line)),
  })
  const daemon: ProviderDaemon = createProviderDaemon(config, { logger })

  const controller = new AbortController()
  let stopSignal: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    stopSignal ??= signal
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    try {
      await daemon.start()
    } catch (error) {
      if (daemon.started) await daemon.stop()
      if (stopSignal) {
        io.stderr(`Stopped by ${stopSignal} before the provider was ready.\n`)
        return 0
      }
      throw error
    }
    const ready: ProviderReadyLine = {
      event: 'provider:ready',
      address: daemon.address,
      providerId: daemon.registration.providerId,
      region: config.region,
      gatewayUrl: daemon.gatewayUrl,
      ingressUrl: daemon.ingressUrl ?? null,
      dataDir: config.dataDir,
      startMs: Math.round(performance.now() - startedAt),
    }
    if (options.jsonLogs) io.stdout(`${JSON.stringify(ready)}\n`)
    else {
      io.stdout(
        [
          `Provider ${ready.address} is provider #${ready.providerId} on chain ${config.chain.deployment.chainId} (${ready.region}), ready in ${ready.startMs} ms`,
          `  gateway  ${ready.gatewayUrl}  (health: ${ready.gatewayUrl.replace(/\/$/, '')}/v1/health)`,
          `  ingress  ${ready.ingressUrl ?? 'off'}`,
          `  data     ${ready.dataDir}`,
          'Ctrl-C to stop',
          '',
        ].join('\n'),
      )
    }
    const repairer = options.repairer
      ? runRepairer(
          config.chain.deployment,
          config.key,
          options.repairInterval ?? 10,
          controller.signal,
          logger,
        )
      : undefined
    if (!controller.signal.aborted) {
      await new Promise<void>((resolve) =>
        controller.signal.addEventListener('abort', () => resolve(), { once: true }),
      )
    }
    await repairer
    const stoppingAt = performance.now()
    await daemon.stop()
    logger.info(
      { signal: stopSignal, ms: Math.round(performance.now() - stoppingAt) },
      'provider daemon stopped',
    )
    // Keep-alive sockets (HTTP clients of the chain and of the gateway) hold the event loop for
    // seconds after the daemon stopped; as the `stoa` process itself, do not wait for them.
    if (/[\\/]bin\.[jt]s$/.test(process.argv[1] ?? '')) {
      setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref()
    }
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * The repair loop next to the daemon (`--repairer`), signing `replaceShard` with the provider's key.
 * It never throws: a failed scan is logged and the next one runs.
 */
async function runRepairer(
  deployment: Parameters<typeof createStoaClient>[0]['deployment'],
  key: `0x${string}`,
  intervalSeconds: number,
  signal: AbortSignal,
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  const client = createStoaClient({ deployment, account: privateKeyToAccount(key), pollingInterval: 250 })
  const log = logger.child({ service: 'repairer' })
  log.info({ intervalSeconds }, 'repairer started')
  while (!signal.aborted) {
    try {
      await runRepairLoop({
        client,
        watch: true,
        intervalMs: intervalSeconds * 1000,
        signal,
        onEvent: (event) => {
          if (event.type === 'repair:done') log.info(event.detail, 'deal repaired')
          else if (event.type === 'repair:failed') log.warn(event.detail, 'repair failed')
          else if (event.type === 'repair:started') log.info(event.detail, 'repairing deal')
        },
      })
    } catch (error) {
      if (signal.aborted) break
      log.warn({ reason: (error as Error).message?.split('\n')[0] }, 'repair scan failed')
      await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000))
    }
  }
}

const levelNames: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
}

/** A JSON log line as `HH:MM:SS level [service] message key=value…`. */
function readableLine(line: string): string {
  try {
    const {
      level,
      time,
      msg,
      service,
      provider: _provider,
      ...fields
    } = JSON.parse(line) as Record<string, unknown>
    const clock = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 19)
    const rest = Object.entries(fields)
      .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ')
    return `${clock} ${(levelNames[level as number] ?? String(level)).padEnd(5)} ${service ? `[${service}] ` : ''}${msg ?? ''}${rest ? ` ${rest}` : ''}\n`
  } catch {
    return line
  }
}

function positiveSeconds(value: string): number {
  const seconds = Number(value)
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new InvalidArgumentError('expected seconds from 1 to 86400.')
  }
  return seconds
}

function portNumber(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535.')
  }
  return port
}
