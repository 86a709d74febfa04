import type { Command } from 'commander'
import { registerChainCommands } from './commands/chain.ts'
import { registerCloseCommand } from './commands/close.ts'
import { registerConsoleCommand } from './commands/console.ts'
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
import { registerRenewCommand } from './commands/renew.ts'
import { registerRepairCommand } from './commands/repair.ts'
import { registerResultsCommand } from './commands/results.ts'
import { registerRmCommand } from './commands/rm.ts'
import { registerStatusCommand } from './commands/status.ts'
import { type CliIo, processIo } from './io.ts'
import { type CommandRunner, createProgramWith, runProgram } from './runner.ts'

export type { CommandRunner } from './runner.ts'

/** Adds every `stoa` command. */
export function registerCommands(program: Command, run: CommandRunner): void {
  registerDevnetCommand(program, run)
  registerCreditsCommands(program, run)
  registerChainCommands(program, run)
  registerDeployCommand(program, run)
  registerPsCommand(program, run)
  registerStatusCommand(program, run)
  registerLogsCommand(program, run)
  registerResultsCommand(program, run)
  registerCloseCommand(program, run)
  registerPutCommand(program, run)
  registerGetCommand(program, run)
  registerLsCommand(program, run)
  registerRmCommand(program, run)
  registerRenewCommand(program, run)
  registerDealsCommand(program, run)
  registerRepairCommand(program, run)
  registerProviderEarningsCommand(program, run)
  registerProviderStartCommand(program, run)
  registerConsoleCommand(program, run)
}

/** The `stoa` program. Exit codes land in `exitCode.value`. */
export function createProgram(io: CliIo = processIo): { program: Command; exitCode: { value: number } } {
  return createProgramWith(registerCommands, io)
}

/** Parses `argv` (as `process.argv`) and runs the command; resolves to the exit code. */
export function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  return runProgram(registerCommands, argv, io)
}
