import { Command, CommanderError } from 'commander'
import { formatError } from './errors.ts'
import { type CliIo, processIo } from './io.ts'

/** Runs a command's body: its exit code, or a formatted error (exit code 1) instead of a stack trace. */
export type CommandRunner = (command: Command, body: (io: CliIo) => Promise<number>) => Promise<void>

/** Adds commands to a program. */
export type RegisterCommands = (program: Command, run: CommandRunner) => void

/** A `stoa` program with the commands `register` adds. Exit codes land in `exitCode.value`. */
export function createProgramWith(
  register: RegisterCommands,
  io: CliIo = processIo,
): { program: Command; exitCode: { value: number } } {
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

  register(program, run)
  return { program, exitCode }
}

/** Parses `argv` (as `process.argv`) and runs the command; resolves to the exit code. */
export async function runProgram(
  register: RegisterCommands,
  argv: readonly string[],
  io: CliIo = processIo,
): Promise<number> {
  const { program, exitCode } = createProgramWith(register, io)
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
