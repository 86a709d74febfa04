import { Command, CommanderError } from 'commander'
import { registerChainCommands } from './commands/chain.ts'
import { registerCloseCommand } from './commands/close.ts'
import { registerCreditsCommands } from './commands/credits.ts'
import { registerDealsCommand } from './commands/deals.ts'
import { registerDeployCommand } from './commands/deploy.ts'
import { registerDevnetCommand } from './commands/devnet.ts'
import { registerGetCommand } from './commands/get.ts'
import { registerLogsCommand } from './commands/logs.ts'
import { registerLsCommand } from './commands/objects-ls.ts'
import { registerProviderEarningsCommand } from './commands/provider-earnings.ts'
import { registerProviderStartCommand } from './commands/provider-start.ts'
import { registerPsCommand } from './commands/ps.ts'
import { registerPutCommand } from './commands/put.ts'
import { registerRepairCommand } from './commands/repair.ts'
import { registerRmCommand } from './commands/rm.ts'
import { registerStatusCommand } from './commands/status.ts'
import { formatError } from './errors.ts'
import { type CliIo, processIo } from './io.ts'

/** Runs a command's body: its exit code, or a formatted error (exit code 1) instead of a stack trace. */
export type CommandRunner = (command: Command, body: (io: CliIo) => Promise<number>) => Promise<void>

/** The `stoa` program. Exit codes land in `exitCode.value`. */
export function createProgram(io: CliIo = processIo): { program: Command; exitCode: { value: number } } {
  const exitCode = { value: 0 }
  const program = new Command('stoa')
    .description('Stoa: a decentralized cloud for compute and storage, settled on an EVM chain.')
    .option('--verbose', 'print error details, causes and stack traces')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()

  const run: CommandRunner = async (command, body) => {
    const verbose = Boolean(command.optsWithGlobals().verbose)
    try {
      exitCode.value = await body(io)
    } catch (error) {
      io.stderr(`${formatError(error, { verbose })}\n`)
      exitCode.value = 1
    }
  }

  registerDevnetCommand(program, run)
  registerCreditsCommands(program, run)
  registerChainCommands(program, run)
  registerDeployCommand(program, run)
  registerPsCommand(program, run)
  registerStatusCommand(program, run)
  registerLogsCommand(program, run)
  registerCloseCommand(program, run)
  registerPutCommand(program, run)
  registerGetCommand(program, run)
  registerLsCommand(program, run)
  registerRmCommand(program, run)
  registerDealsCommand(program, run)
  registerRepairCommand(program, run)
  registerProviderEarningsCommand(program, run)
  registerProviderStartCommand(program, run)
  return { program, exitCode }
}

/** Parses `argv` (as `process.argv`) and runs the command; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const { program, exitCode } = createProgram(io)
  try {
    await program.parseAsync([...argv])
  } catch (error) {
    // Commander already printed its message (unknown option, missing argument) or the help text.
    if (error instanceof CommanderError) return error.exitCode
    io.stderr(`${formatError(error, { verbose: argv.includes('--verbose') })}\n`)
    return 1
  }
  return exitCode.value
}
