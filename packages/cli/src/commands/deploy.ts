import { basename } from 'node:path'
import {
  formatCredits,
  isRegionName,
  ManifestValidationError,
  parseCredits,
  type RegionName,
} from '@stoa/protocol'
import {
  type DeployProgressEvent,
  type DeployReturnType,
  deploy,
  formatLeaseId,
  type WatchLeaseReturnType,
} from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import type { LoadedDeployment } from '../deployment-file.ts'
import { CliError, InvalidOptionError } from '../errors.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { bytes, elapsed, interruptSignal, isInterrupt, usd, usdPerHour, who } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type DeployOptions = ChainOptions &
  KeyOptions & {
    json?: boolean
    watch?: boolean
    depositUsd?: string
    bidWindow?: string
    preferRegion?: string
    timeout?: string
    wait?: boolean
  }

export function registerDeployCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('deploy')
    .summary('deploy a manifest (app.yaml): order, pick a provider, run')
    .description(
      'Deploys the services and jobs of a manifest: opens an order for their resources, collects bids for the bid window, picks the best bid (price, provider track record, gateway latency, region), sends the manifest to the winner and waits until the services run (printing their URLs) or the jobs exit (printing exit codes, logs and result files). With --watch it then keeps probing the provider and moves the workload to another one when it fails, until Ctrl-C.',
    )
    .argument('<file>', 'the manifest (YAML)')
    .option('--watch', 'keep watching and fail over to another provider until Ctrl-C')
    .option('--deposit-usd <usd>', "escrow this many USD instead of the manifest's deposit or duration")
    .option('--bid-window <seconds>', 'how long providers have to bid', '3')
    .option(
      '--prefer-region <regions>',
      'rank bids from these regions higher, most wanted first (eu-west,us-east)',
    )
    .option('--timeout <seconds>', 'give up waiting for services to run after this long (default 120)')
    .option('--no-wait', 'return once the manifest is sent, without waiting for it to run')
    .option('--json', 'print the result as one JSON object (with --watch: one JSON object per line)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa deploy examples/render-job.yaml --key alice\n  $ stoa deploy examples/web-service.yaml --key alice --watch\n  $ stoa deploy app.yaml --key alice --deposit-usd 2 --bid-window 10 --json',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((file: string, options: DeployOptions, self: Command) =>
    run(self, (io) => deployAction(file, options, io)),
  )
}

async function deployAction(file: string, options: DeployOptions, io: CliIo): Promise<number> {
  const bidWindowSeconds = Number(options.bidWindow ?? '3')
  if (!Number.isInteger(bidWindowSeconds) || bidWindowSeconds < 1 || bidWindowSeconds > 86_400) {
    throw new InvalidOptionError('--bid-window', 'whole seconds from 1 to 86400', options.bidWindow)
  }
  let timeoutMs: number | undefined
  if (options.timeout !== undefined) {
    const seconds = Number(options.timeout)
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new InvalidOptionError('--timeout', 'a positive number of seconds', options.timeout)
    }
    timeoutMs = seconds * 1000
  }
  let deposit: bigint | undefined
  if (options.depositUsd !== undefined) {
    try {
      deposit = parseCredits(options.depositUsd)
    } catch {
      deposit = undefined
    }
    if (deposit === undefined || deposit <= 0n) {
      throw new InvalidOptionError('--deposit-usd', 'an amount of USD above 0, like 2.50', options.depositUsd)
    }
  }
  const preferred = options.preferRegion
    ?.split(',')
    .map((region) => region.trim())
    .filter(Boolean)
  for (const region of preferred ?? []) {
    if (!isRegionName(region)) {
      throw new InvalidOptionError(
        '--prefer-region',
        'region names separated by commas (eu-west,us-east)',
        region,
      )
    }
  }
  const { file: deployment, client } = await loadContext(options, io, { action: 'Deploying' })
  const interrupt = interruptSignal()
  const started = performance.now()
  const printer = options.json
    ? jsonWatchPrinter(io, Boolean(options.watch))
    : progressPrinter(io, deployment, started, basename(file), Boolean(options.watch))
  let result: DeployReturnType | undefined
  try {
    result = await deploy(client, {
      manifest: { path: file },
      bidWindowSeconds,
      ...(preferred === undefined ? {} : { regions: preferred as RegionName[] }),
      ...(deposit === undefined ? {} : { deposit }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      wait: options.wait !== false,
      signal: interrupt.signal,
      onProgress: printer,
      ...(options.watch ? { watch: true } : {}),
    })
  } catch (error) {
    if (isInterrupt(error, interrupt.signal)) {
      io.stderr(
        'Interrupted: an order nobody had taken yet was cancelled and refunded; a lease keeps running (`stoa ps`).\n',
      )
      return 130
    }
    if (error instanceof ManifestValidationError) {
      throw new CliError(error.shortMessage, {
        name: 'ManifestValidationError',
        metaMessages: error.metaMessages ?? [],
        hint: 'Fix the fields named above; docs/compute-spec.md describes the manifest.',
      })
    }
    throw error
  } finally {
    interrupt.dispose()
  }
  if (options.json) {
    if (!options.watch) io.stdout(`${toJson(deployJson(result))}\n`)
    else if (result.watch) io.stdout(`${toJson({ event: 'stopped', ...watchJson(result.watch) })}\n`)
  } else {
    if (!options.watch) io.stdout(humanResult(result, deployment))
    if (result.watch) io.stdout(watchSummary(result.watch, deployment))
  }
  return exitCodeOf(result)
}

/** The exit code: a job's non-zero exit code (the first), 1 for a failed lease, else 0. */
function exitCodeOf(result: DeployReturnType): number {
  const failedJob = result.jobs.find((job) => job.exitCode !== undefined && job.exitCode !== 0)
  if (failedJob?.exitCode !== undefined) return Math.min(255, Math.max(1, failedJob.exitCode))
  if (result.status === 'failed') return 1
  return 0
}

function deployJson(result: DeployReturnType) {
  return {
    orderId: result.orderId,
    leaseId: result.leaseId,
    lease: result.leaseLabel,
    provider: result.provider,
    providerId: result.providerId,
    gatewayUrl: result.gatewayUrl,
    pricePerSecond: result.pricePerSecond,
    usdPerHour: usdPerHour(result.pricePerSecond).slice(1, -2),
    manifestHash: result.manifestHash,
    deposit: result.deposit,
    depositUsd: formatCredits(result.deposit),
    status: result.status,
    services: result.services,
    jobs: result.jobs,
    results: result.results,
    ranking: result.ranking.map((entry) => ({
      provider: entry.provider,
      pricePerSecond: entry.bid.pricePerSecond,
      score: entry.score,
      parts: entry.parts,
      reasons: entry.reasons,
    })),
    attempts: result.attempts,
    timings: result.timings,
  }
}

function watchJson(watch: WatchLeaseReturnType) {
  return {
    orderId: watch.orderId,
    leaseId: watch.leaseId,
    stopped: watch.stopped,
    probes: watch.probes,
    failovers: watch.failovers,
  }
}

/** With --json --watch: the deploy result once it runs, then one line per failover step. */
function jsonWatchPrinter(io: CliIo, watch: boolean): (event: DeployProgressEvent) => void {
  return (event) => {
    if (!watch) return
    switch (event.type) {
      case 'deploy:running':
      case 'deploy:exited':
        io.stdout(`${toJson({ event: event.type.slice('deploy:'.length), ...event.detail })}\n`)
        break
      case 'watch:fault-reported':
      case 'watch:accepted':
      case 'watch:running':
      case 'watch:no-bids':
        io.stdout(`${toJson({ event: event.type.slice('watch:'.length), ...event.detail })}\n`)
        break
      default:
        break
    }
  }
}

function progressPrinter(
  io: CliIo,
  deployment: LoadedDeployment,
  started: number,
  source: string,
  watch: boolean,
): (event: DeployProgressEvent) => void {
  const line = (text: string) => io.stderr(`${text}\n`)
  const at = () => elapsed(performance.now() - started)
  let lastStatus = ''
  return (event) => {
    switch (event.type) {
      case 'deploy:manifest-parsed': {
        const { services, resources, deposit, manifestHash } = event.detail
        line(
          `✓ ${source}: ${services.length} service${services.length === 1 ? '' : 's'} (${services.join(', ')}), ${resources.cpuMillis / 1000} CPU, ${resources.memoryMiB} MiB; deposit ${usd(deposit)}; hash ${manifestHash.slice(0, 10)}…`,
        )
        break
      }
      case 'deploy:order-created':
        line(
          `✓ Order ${event.detail.orderId} created (${at()}): at most ${usdPerHour(event.detail.maxPricePerSecond)}, ${usd(event.detail.deposit)} in escrow; collecting bids`,
        )
        break
      case 'deploy:bid':
      case 'watch:bid':
        line(
          `  bid ${usdPerHour(event.detail.pricePerSecond)} from ${who(event.detail.provider, deployment)}`,
        )
        break
      case 'deploy:ranked':
        for (const entry of event.detail.excluded)
          line(`  skipped ${who(entry.provider, deployment)}: ${entry.reason}`)
        if (event.detail.best) {
          line(
            `  best: ${who(event.detail.best.provider, deployment)}, score ${event.detail.best.score.toFixed(1)} (${event.detail.best.reasons.join('; ')})`,
          )
        }
        break
      case 'deploy:accept-failed':
        line(
          `  could not accept ${who(event.detail.provider, deployment)}: ${(event.detail.error as Error).message.split('\n')[0]}`,
        )
        break
      case 'deploy:accepted':
        line(
          `✓ Lease ${formatLeaseId(event.detail.leaseId)} (${event.detail.leaseId}) with ${who(event.detail.provider, deployment)} at ${usdPerHour(event.detail.pricePerSecond)} (${at()})`,
        )
        break
      case 'deploy:manifest-sent':
        line(`✓ Manifest sent to ${event.detail.gatewayUrl} (${at()})`)
        break
      case 'deploy:status': {
        const status = `${event.detail.status}${event.detail.services.map((service) => ` ${service.name}=${service.status}`).join('')}`
        if (status !== lastStatus) line(`  ${status}`)
        lastStatus = status
        break
      }
      case 'deploy:running':
        line(`✓ Running (${at()})`)
        // Without --watch the result table follows; with it, the URLs are needed now.
        if (watch)
          for (const service of event.detail.services)
            if (service.url) line(`  ${service.name}: ${service.url}`)
        break
      case 'deploy:exited':
        line(`✓ Done (${at()})`)
        break
      case 'deploy:failover':
        line(
          `! ${who(event.detail.provider, deployment)} failed (${event.detail.reason}): reporting it and trying another provider`,
        )
        break
      case 'deploy:cancelled':
        line(`  order ${event.detail.orderId} cancelled, ${usd(event.detail.refund)} refunded`)
        break
      case 'watch:watching':
        line(
          `Watching lease ${formatLeaseId(event.detail.leaseId)} on ${who(event.detail.provider, deployment)}; Ctrl-C to stop watching (the lease keeps running)`,
        )
        break
      case 'watch:probe':
        if (!event.detail.ok) line(`! probe ${event.detail.failures} failed: ${event.detail.reason}`)
        break
      case 'watch:fault-reported':
        line(
          `! Reported lease ${formatLeaseId(event.detail.leaseId)} as faulty (${event.detail.reason})${event.detail.reopened ? '; the order is back to bidding' : ''}`,
        )
        break
      case 'watch:no-bids':
        line(`  no usable bid in round ${event.detail.round}; bidding again`)
        break
      case 'watch:accepted':
        line(
          `✓ New lease ${formatLeaseId(event.detail.leaseId)} with ${who(event.detail.provider, deployment)} at ${usdPerHour(event.detail.pricePerSecond)}`,
        )
        break
      case 'watch:manifest-sent':
      case 'watch:manifest-resent':
        line(`✓ Manifest sent to ${event.detail.gatewayUrl}`)
        break
      case 'watch:running':
        line(
          `✓ Running again on ${who(event.detail.provider, deployment)}, ${elapsed(event.detail.ms)} after the first failed probe`,
        )
        for (const service of event.detail.services) line(`  ${service.name}: ${service.url}`)
        break
      case 'watch:error':
        line(`! ${event.detail.reason}`)
        break
      default:
        break
    }
  }
}

function humanResult(result: DeployReturnType, deployment: LoadedDeployment): string {
  const lines: string[] = ['']
  lines.push(
    table([
      ['Order', String(result.orderId)],
      ['Lease', `${result.leaseLabel} (${result.leaseId})`],
      [
        'Provider',
        `${who(result.provider, deployment)}${result.gatewayUrl ? ` at ${result.gatewayUrl}` : ''}`,
      ],
      ['Price', `${usdPerHour(result.pricePerSecond)}, ${usd(result.deposit)} in escrow`],
      ['Status', result.status ?? 'sent (not waited for)'],
    ]),
  )
  const services = result.services.filter((service) => service.kind === 'service')
  if (services.length > 0) {
    lines.push('', 'Services')
    lines.push(
      table(services.map((service) => [service.name, service.status, service.url ?? '(no HTTP port)'])),
    )
  }
  for (const job of result.jobs) {
    lines.push(
      '',
      `Job ${job.name}: ${job.status}${job.exitCode === undefined ? '' : ` with exit code ${job.exitCode}`}`,
    )
    for (const logLine of job.logs) lines.push(`  | ${logLine}`)
  }
  if (result.results.length > 0) {
    lines.push('', 'Results')
    lines.push(
      table(
        result.results.map((file) => [
          file.service ? `${file.service}/${file.name}` : file.name,
          bytes(file.size),
          `sha256 ${file.sha256}`,
        ]),
      ),
    )
  }
  lines.push(
    '',
    `stoa status ${result.orderId}   stoa logs ${result.orderId}${result.jobs.length === 0 ? ' -f' : ''}   stoa close ${result.orderId}`,
    '',
  )
  return lines.join('\n')
}

function watchSummary(watch: WatchLeaseReturnType, deployment: LoadedDeployment): string {
  const lines = [
    '',
    `Stopped watching order ${watch.orderId} (${watch.stopped}) after ${watch.probes} probes and ${watch.failovers.length} failover${watch.failovers.length === 1 ? '' : 's'}.`,
  ]
  for (const failover of watch.failovers) {
    lines.push(
      `  ${failover.fromProvider ? who(failover.fromProvider, deployment) : '?'} → ${who(failover.provider, deployment)} in ${elapsed(failover.ms)} (${failover.reason})`,
    )
  }
  if (watch.stopped === 'aborted' && watch.leaseId !== undefined) {
    lines.push(
      `Lease ${formatLeaseId(watch.leaseId)} keeps running: \`stoa close ${watch.orderId}\` stops it.`,
    )
  }
  return `${lines.join('\n')}\n`
}
