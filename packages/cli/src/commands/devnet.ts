import { relative } from 'node:path'
import { formatCredits, formatStoa } from '@stoa/protocol'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { DEFAULT_DEPLOYMENT_FILE } from '../deployment-file.ts'
import { type DevnetProgressEvent, type DevnetSummary, runDevnet } from '../devnet/run-devnet.ts'
import { type CliIo, contractLabels, milliseconds, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'

export type DevnetCommandOptions = {
  port?: number
  state?: string
  deployment: string
  json?: boolean
  fund: boolean
  blockTime?: number
}

export function registerDevnetCommand(program: Command, run: CommandRunner): void {
  program
    .command('devnet')
    .summary('run a local chain with the Stoa contracts deployed and test accounts funded')
    .description(
      [
        'Starts anvil, deploys and wires the Stoa contracts, funds the named test accounts (deployer, alice,',
        'bob, provider1-3, watcher) with STOA and credits, writes the deployment file the other commands read,',
        'prints a summary, and runs until Ctrl-C (SIGINT) or SIGTERM, then stops anvil cleanly.',
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
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ stoa devnet',
        '  $ stoa devnet --port 8545 --state .stoa/devnet-state',
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
      })
    } catch (error) {
      if (stopSignal) {
        io.stderr(`Stopped by ${stopSignal} before the devnet was ready.\n`)
        return 0
      }
      throw error
    }
    const processMs = performance.now()
    io.stdout(
      options.json
        ? `${toJson(summaryJson(devnet.summary, processMs))}\n`
        : humanSummary(devnet.summary, processMs),
    )

    const stopped = new Promise<'signal'>((resolve) => {
      if (controller.signal.aborted) resolve('signal')
      else controller.signal.addEventListener('abort', () => resolve('signal'), { once: true })
    })
    const outcome = await Promise.race([stopped, devnet.exited])
    if (outcome === 'signal') {
      await devnet.stop()
      if (!options.json) {
        io.stderr(
          `Stopped (${stopSignal}).${devnet.summary.stateDir ? ` Chain saved in ${displayPath(devnet.summary.stateDir)}.` : ''}\n`,
        )
      }
      return 0
    }
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

function humanSummary(summary: DevnetSummary, processMs: number): string {
  const lines = [
    '',
    `Stoa devnet ready in ${milliseconds(summary.timings.totalMs)} (${milliseconds(processMs)} since the process started)${summary.reused ? ', reusing the saved chain' : ''}`,
    '',
    table([
      ['RPC URL', summary.rpcUrl],
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
