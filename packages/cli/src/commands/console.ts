import { spawn } from 'node:child_process'
import { relative } from 'node:path'
import {
  type ConsoleBuildProgressEvent,
  type ConsoleDevnetAccount,
  ensureConsoleBuilt,
  startConsoleServer,
} from '@stoa/console'
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { Address, Hex } from 'viem'
import type { ChainOptions } from '../context.ts'
import { DEFAULT_DEPLOYMENT_FILE, readDeploymentFile } from '../deployment-file.ts'
import { InvalidOptionError } from '../errors.ts'
import { type CliIo, milliseconds, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { addChainOptions } from './options.ts'

export type ConsoleCommandOptions = ChainOptions & {
  port?: number
  host: string
  json?: boolean
  open?: boolean
  rebuild?: boolean
}

/** What `stoa console --json` prints on stdout (one line) once the console is served. */
export type ConsoleReadyLine = {
  event: 'console:ready'
  url: string
  host: string
  port: number
  chainId: number
  rpcUrl: string
  deploymentFile: string
  /** Names of the devnet test accounts the tenant view offers (none for other chains). */
  devnetAccounts: string[]
  build: { built: boolean; ms: number }
}

export function registerConsoleCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('console')
    .summary('serve the web console: network map, market, storage, economics, provider and tenant views')
    .description(
      [
        'Serves the Stoa console, a web app that reads everything live from the chain (orders, bids, leases,',
        'deals, proofs, supply) and from the provider gateways, for the deployment in --deployment FILE, on any',
        'chain. --rpc URL is the JSON-RPC endpoint the browser uses (default: the deployment file’s).',
        '',
        'Builds the app first when packages/console/app changed since the last build (Vite, a few seconds),',
        'prints the URL, and runs until Ctrl-C (SIGINT) or SIGTERM.',
        '',
        'For a devnet deployment file the tenant view can act as the named test accounts (alice, bob, …):',
        'their keys are the public anvil ones. `stoa devnet` serves the console by itself.',
      ].join('\n'),
    )
  addChainOptions(command)
    .addOption(new Option('--port <n>', 'HTTP port (default: a free one)').argParser(portNumber))
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--json', 'print one JSON line with the URL once it is served')
    .option('--open', 'open the console in the default browser')
    .option('--rebuild', 'build the app even when the last build is up to date')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ stoa console',
        '  $ stoa console --port 5080 --open',
        '  $ stoa console --deployment deployments/l2.json --rpc https://rpc.example.org --host 0.0.0.0',
      ].join('\n'),
    )
    .action((options: ConsoleCommandOptions, command: Command) =>
      run(command, (io) => consoleAction(options, io)),
    )
}

async function consoleAction(options: ConsoleCommandOptions, io: CliIo): Promise<number> {
  const file = await readDeploymentFile(options.deployment ?? DEFAULT_DEPLOYMENT_FILE)
  const rpcUrl = options.rpc ?? file.deployment.rpcUrl
  // The browser's client speaks JSON-RPC over HTTP.
  if (!/^https?:\/\//.test(rpcUrl)) {
    throw new InvalidOptionError(
      options.rpc === undefined ? "the deployment file's rpcUrl" : '--rpc',
      'an http(s):// URL the browser can reach',
      rpcUrl,
      options.rpc === undefined ? 'Pass --rpc https://… for the console.' : undefined,
    )
  }
  const devnetAccounts = file.raw.network === 'devnet' ? devnetAccountsOf(file.accounts) : undefined

  const build = { built: false, ms: 0 }
  await ensureConsoleBuilt({
    force: options.rebuild,
    onProgress: (event) => {
      if (event.type === 'console:build:finished') Object.assign(build, { built: true, ms: event.detail.ms })
      if (!options.json) consoleBuildPrinter(io)(event)
    },
  })
  const server = await startConsoleServer({
    deployment: file.deployment,
    rpcUrl,
    host: options.host,
    port: options.port ?? 0,
    devnetAccounts,
  })

  const controller = new AbortController()
  let stopSignal: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    stopSignal ??= signal
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const ready: ConsoleReadyLine = {
      event: 'console:ready',
      url: server.url,
      host: options.host,
      port: server.port,
      chainId: file.deployment.chainId,
      rpcUrl,
      deploymentFile: file.path,
      devnetAccounts: (devnetAccounts ?? []).map((account) => account.name),
      build: { built: build.built, ms: Math.round(build.ms) },
    }
    if (options.json) io.stdout(`${toJson(ready)}\n`)
    else {
      io.stdout(
        [
          `Stoa console at ${server.url}`,
          table([
            ['chain', `${file.deployment.chainId} at ${rpcUrl}`],
            ['deployment', displayPath(file.path)],
            ...(devnetAccounts
              ? [['accounts', `devnet test accounts for the tenant view: ${ready.devnetAccounts.join(', ')}`]]
              : []),
          ]),
          'Ctrl-C to stop',
          '',
        ].join('\n'),
      )
    }
    if (options.open) openInBrowser(server.url, io)
    if (!controller.signal.aborted) {
      await new Promise<void>((resolve) =>
        controller.signal.addEventListener('abort', () => resolve(), { once: true }),
      )
    }
    await server.close()
    if (!options.json) io.stderr(`Stopped (${stopSignal}).\n`)
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * The devnet test accounts a deployment file records, for the console's tenant view. Only accounts
 * with a recorded test key (the public anvil mnemonic's) are listed.
 */
export function devnetAccountsOf(
  accounts: Readonly<Record<string, { address: Address; testPrivateKey?: Hex | undefined }>>,
): ConsoleDevnetAccount[] {
  return Object.entries(accounts).flatMap(([name, account]) =>
    account.testPrivateKey ? [{ name, address: account.address, privateKey: account.testPrivateKey }] : [],
  )
}

/** Progress lines for a console build, on stderr. */
export function consoleBuildPrinter(io: CliIo): (event: ConsoleBuildProgressEvent) => void {
  return (event) => {
    if (event.type === 'console:build:started') {
      const why =
        event.detail.reason === 'missing'
          ? 'first build'
          : event.detail.reason === 'forced'
            ? '--rebuild'
            : `${displayPath(event.detail.newest ?? 'a source')} changed`
      io.stderr(`Building the console (${why})…\n`)
    } else if (event.type === 'console:build:finished') {
      io.stderr(`✓ Built the console (${milliseconds(event.detail.ms)})\n`)
    }
  }
}

/** Hands the URL to the desktop's opener; a failure is a warning (the URL is printed anyway). */
function openInBrowser(url: string, io: CliIo): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]]
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' })
    child.once('error', (error) => io.stderr(`! Could not open a browser (${error.message}): open ${url}\n`))
    child.unref()
  } catch (error) {
    io.stderr(`! Could not open a browser (${(error as Error).message}): open ${url}\n`)
  }
}

function displayPath(path: string): string {
  const relativePath = relative(process.cwd(), path)
  return relativePath && !relativePath.startsWith('..') ? relativePath : path
}

function portNumber(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535.')
  }
  return port
}
