import { existsSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { basename } from 'node:path'
import { type GetObjectProgressEvent, getMasterKey, getObject } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { CliError } from '../errors.ts'
import { type CliIo, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { interruptSignal, isInterrupt } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'
import { bytesAsHex, hex, rate, size, transferProgress } from './storage-format.ts'

type GetOptions = ChainOptions &
  KeyOptions & { output?: string; force?: boolean; json?: boolean; verify?: boolean }

export function registerGetCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('get')
    .summary('fetch a stored object back: download, verify, decode, decrypt')
    .description(
      [
        'Fetches the object NAME (as `stoa ls` lists it): downloads k shards from their providers in parallel,',
        'rebuilds what is missing and decrypts. AES-GCM authenticates every segment; one that fails is read',
        'again with every piece checked against the Merkle roots on chain and bad providers dropped. The file',
        'appears under its name only once all of it is authenticated (a failed get leaves no partial file).',
        "--verify also checks the content's sha256 against the one recorded at upload.",
        '',
        'Writes to -o FILE (default: the last part of NAME in the current folder; `-o -`: stdout).',
      ].join('\n'),
    )
    .argument('<name>', 'the object name')
    .option('-o, --output <file>', 'where to write it (`-`: stdout)')
    .option('--force', 'overwrite the output file if it exists')
    .option('--verify', 'also hash the content and check it against the recorded sha256 (more CPU)')
    .option('--json', 'print the object record and the transfer figures as one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa get photo.jpg --key alice\n  $ stoa get backups/2026-11.tar -o restore.tar --key alice\n  $ stoa get notes.txt -o - --key alice | less',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((name: string, options: GetOptions, self: Command) =>
    run(self, (io) => getAction(name, options, io)),
  )
}

async function getAction(name: string, options: GetOptions, io: CliIo): Promise<number> {
  const toStdout = options.output === '-'
  const target = toStdout ? undefined : (options.output ?? (basename(name) || 'object'))
  if (target !== undefined && existsSync(target) && !options.force) {
    throw new CliError(`${target} already exists.`, {
      name: 'OutputExistsError',
      hint: 'Pass --force to overwrite it, or -o FILE to write elsewhere.',
    })
  }
  if (toStdout && options.json) {
    throw new CliError('-o - and --json both want stdout.', {
      name: 'InvalidOptionError',
      hint: 'Write the object to a file (-o FILE) to get the JSON record.',
    })
  }
  const { client } = await loadContext(options, io, { action: 'Reading a stored object' })
  const masterKey = await getMasterKey(client)
  const interrupt = interruptSignal()
  const progress = transferProgress(io, 'download', { quiet: Boolean(options.json) })
  // Written beside the target and renamed once verified, so a cut transfer leaves no half file.
  const partial = target === undefined ? undefined : `${target}.stoa-part`
  let result: Awaited<ReturnType<typeof getObject>>
  try {
    result = await getObject(client, {
      name,
      masterKey,
      output: partial ?? process.stdout,
      verifyContentHash: options.verify === true,
      signal: interrupt.signal,
      onProgress: (event: GetObjectProgressEvent) => {
        if (event.type === 'storage:download') {
          progress.update(event.detail.bytes, event.detail.totalBytes, event.detail.mbPerSecond)
        } else if (event.type === 'storage:provider-dropped') {
          progress.line(`  ${event.detail.provider.slice(0, 10)}… dropped: ${event.detail.reason}`)
        }
      },
    })
    if (partial !== undefined && target !== undefined) await rename(partial, target)
  } catch (error) {
    if (partial !== undefined) await rm(partial, { force: true })
    if (isInterrupt(error, interrupt.signal)) {
      progress.finish()
      io.stderr('Interrupted: nothing was written.\n')
      return 130
    }
    throw error
  } finally {
    progress.finish()
    interrupt.dispose()
  }
  const { record, ms, mbPerSecond: speed } = result
  if (options.json) {
    io.stdout(
      `${toJson(bytesAsHex({ ...record, output: target ?? null, ms: Math.round(ms), mbPerSecond: Math.round(speed * 10) / 10, dropped: result.dropped }))}\n`,
    )
  } else if (target !== undefined) {
    io.stdout(
      `Fetched ${record.name} (${size(record.size)}) to ${target} in ${(ms / 1000).toFixed(1)} s, ${rate(speed)}; ${options.verify ? `sha256 ${hex(record.sha256)} verified` : 'authenticated (AES-GCM)'}\n`,
    )
  } else {
    io.stderr(
      `Fetched ${record.name} (${size(record.size)}) in ${(ms / 1000).toFixed(1)} s, ${rate(speed)}\n`,
    )
  }
  return 0
}
