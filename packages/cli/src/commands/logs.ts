import { getLeaseLogs } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { InvalidOptionError } from '../errors.ts'
import type { CliIo } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { interruptSignal, isInterrupt, parseId } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type LogsOptions = ChainOptions & KeyOptions & { follow?: boolean; service?: string; tail?: string }

export function registerLogsCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('logs')
    .summary("print a lease's logs from its provider")
    .description(
      "Prints what a lease's workloads wrote to stdout and stderr, from its provider's gateway (a request signed with the tenant's key). ID is an order id (its current or latest lease), a lease id, or order/round. With several services and no --service, every service's lines come, prefixed with the service name.",
    )
    .argument('<id>', 'order id (7), lease id (30064771073) or order/round (7/1)')
    .option('-f, --follow', 'keep printing new lines until the workload ends or Ctrl-C')
    .option('--service <name>', "one service's lines only")
    .option('--tail <n>', 'only the last N lines so far')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa logs 7 --key alice\n  $ stoa logs 7 -f --service web --tail 20 --key alice',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((id: string, options: LogsOptions, self: Command) =>
    run(self, (io) => logsAction(id, options, io)),
  )
}

async function logsAction(id: string, options: LogsOptions, io: CliIo): Promise<number> {
  const reference = parseId(id)
  let tail: number | undefined
  if (options.tail !== undefined) {
    tail = Number(options.tail)
    if (!Number.isSafeInteger(tail) || tail < 0)
      throw new InvalidOptionError('--tail', 'a whole number of lines', options.tail)
  }
  const { client } = await loadContext(options, io, { action: 'Reading logs' })
  const interrupt = interruptSignal()
  try {
    for await (const line of getLeaseLogs(client, {
      id: reference,
      service: options.service,
      follow: options.follow,
      tail,
      signal: interrupt.signal,
    })) {
      io.stdout(`${line}\n`)
    }
  } catch (error) {
    if (isInterrupt(error, interrupt.signal)) return 0
    throw error
  } finally {
    interrupt.dispose()
  }
  return 0
}
