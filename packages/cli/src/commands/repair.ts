import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { type CliIo, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { elapsed, interruptSignal } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'
import { type RepairLoopEvent, runRepairLoop } from './repair-loop.ts'
import { dealIdOf, positiveInteger } from './storage-format.ts'

type RepairOptions = ChainOptions &
  KeyOptions & { deal?: string; watch?: boolean; interval?: string; all?: boolean; json?: boolean }

export function registerRepairCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('repair')
    .summary('rebuild lost shards and move them to new providers')
    .description(
      [
        "Finds the account's deals whose active shards fell to the repair threshold (max(k + 1, n - 1)), or",
        'the one --deal names, downloads k healthy shards (each piece verified against the roots on chain),',
        'rebuilds the lost ones bit for bit, uploads them to providers not yet in the deal and replaces the',
        'lost shards on chain. The master key is not needed: shards are ciphertext. With --watch it keeps',
        'scanning until Ctrl-C.',
      ].join('\n'),
    )
    .option('--deal <id>', 'repair this deal only')
    .option(
      '--all',
      "repair any account's deal that needs it, not only this account's (as a provider's repairer does)",
    )
    .option('--watch', 'keep watching and repairing until Ctrl-C')
    .option('--interval <seconds>', 'with --watch: seconds between scans', '5')
    .option('--json', 'print one JSON object per event')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa repair --key alice\n  $ stoa repair --deal 3 --key alice\n  $ stoa repair --watch --key alice',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((options: RepairOptions, self: Command) => run(self, (io) => repairAction(options, io)))
}

async function repairAction(options: RepairOptions, io: CliIo): Promise<number> {
  const dealId = options.deal === undefined ? undefined : dealIdOf('--deal', options.deal)
  const intervalSeconds = positiveInteger('--interval', options.interval, 86_400) ?? 5
  const { client, account } = await loadContext(options, io, { action: 'Repairing' })
  const interrupt = interruptSignal()
  try {
    const result = await runRepairLoop({
      client,
      dealId,
      owner: options.all ? undefined : account?.address,
      watch: Boolean(options.watch),
      intervalMs: intervalSeconds * 1000,
      signal: interrupt.signal,
      onEvent: options.json
        ? (event) => io.stdout(`${toJson({ event: event.type.slice('repair:'.length), ...event.detail })}\n`)
        : repairPrinter(io, Boolean(options.watch)),
    })
    if (
      !options.json &&
      !options.watch &&
      dealId === undefined &&
      result.repaired === 0 &&
      result.failed === 0
    ) {
      io.stdout('Every deal is healthy: nothing to repair.\n')
    }
    if (!options.json && options.watch) {
      io.stderr(
        `Stopped after ${result.passes} scans: ${result.repaired} deals repaired, ${result.failed} failed.\n`,
      )
    }
    return result.failed > 0 && !options.watch ? 1 : 0
  } finally {
    interrupt.dispose()
  }
}

/** Human lines for the repair loop's events (stderr for progress, stdout for outcomes). */
export function repairPrinter(io: CliIo, watch: boolean): (event: RepairLoopEvent) => void {
  let announced = false
  return (event) => {
    switch (event.type) {
      case 'repair:scan':
        if (watch && !announced) {
          io.stderr('Watching for lost shards; Ctrl-C to stop\n')
          announced = true
        }
        break
      case 'repair:started':
        io.stderr(`Repairing deal ${event.detail.dealId}…\n`)
        break
      case 'repair:progress':
        // Upload byte counts arrive many times a second; the other steps are worth a line each.
        if (event.detail.step !== 'repair:upload') {
          io.stderr(`  ${event.detail.step}${progressNote(event.detail.detail)}\n`)
        }
        break
      case 'repair:done':
        if (event.detail.skipped) {
          io.stdout(`✓ Deal ${event.detail.dealId}: nothing to do (${event.detail.skipped})\n`)
          break
        }
        io.stdout(
          `✓ Deal ${event.detail.dealId}: ${event.detail.replaced} shard${event.detail.replaced === 1 ? '' : 's'} replaced in ${elapsed(event.detail.ms)}\n`,
        )
        break
      case 'repair:failed':
        io.stdout(`! Deal ${event.detail.dealId}: ${event.detail.reason}\n`)
        break
    }
  }
}

function progressNote(detail: unknown): string {
  if (!detail || typeof detail !== 'object') return ''
  const fields = Object.entries(detail as Record<string, unknown>)
    .filter(([, value]) => ['string', 'number', 'bigint'].includes(typeof value))
    .slice(0, 4)
    .map(([name, value]) => `${name}=${String(value)}`)
  return fields.length > 0 ? ` ${fields.join(' ')}` : ''
}
