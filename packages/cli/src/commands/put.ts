import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { isRegionName, type RegionName } from '@stoa/protocol'
import { getMasterKey, type PutObjectProgressEvent, putObject } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { CliError, InvalidOptionError } from '../errors.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { interruptSignal, isInterrupt } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'
import { firstLine } from './repair-loop.ts'
import {
  bytesAsHex,
  hex,
  megabytesPerSecond,
  positiveInteger,
  rate,
  size,
  transferProgress,
} from './storage-format.ts'

type PutOptions = ChainOptions &
  KeyOptions & {
    name?: string
    k?: string
    n?: string
    total?: string
    regions?: string
    periods?: string
    json?: boolean
  }

export function registerPutCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('put')
    .summary('store a file: encrypt, erasure-code, upload to providers, open a storage deal')
    .description(
      [
        'Stores FILE under NAME (default: the file name). The file is encrypted on this machine (AES-256-GCM',
        'under a key derived from the account, so no extra secret is needed), Reed-Solomon coded into shards',
        '(any --k of them rebuild it), uploaded to --total providers in parallel, and the first --n to finish',
        'are kept in a storage deal on chain, paid for --periods proving periods up front. The object then',
        'appears in `stoa ls` on any machine holding the same key.',
        '',
        'Progress (a bar with MB/s) goes to stderr; the result to stdout.',
      ].join('\n'),
    )
    .argument('<file>', 'the file to store')
    .option('--name <name>', 'the name to store it under (default: the file name)')
    .option('--k <k>', 'data shards: any k of them rebuild the object', '4')
    .option('--n <n>', 'shards the deal keeps', '6')
    .option(
      '--total <n>',
      'shards to upload; the first n to finish are kept (default: min(n + 2, providers))',
    )
    .option('--regions <regions>', 'only providers in these regions (eu-west,us-east)')
    .option('--periods <n>', 'proving periods to pay for (default: the contract default)')
    .option('--json', 'print the object record as one JSON object')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ stoa put photo.jpg --key alice',
        '  $ stoa put backup.tar --name backups/2026-11.tar --k 4 --n 6 --key alice',
        '  $ stoa put data.bin --regions eu-west,us-east --periods 100 --json --key alice',
      ].join('\n'),
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((file: string, options: PutOptions, self: Command) =>
    run(self, (io) => putAction(file, options, io)),
  )
}

async function putAction(file: string, options: PutOptions, io: CliIo): Promise<number> {
  const k = positiveInteger('--k', options.k, 255) ?? 4
  const n = positiveInteger('--n', options.n, 255) ?? 6
  const total = positiveInteger('--total', options.total, 256)
  const periods = positiveInteger('--periods', options.periods, 2 ** 32 - 1)
  if (n < k) throw new InvalidOptionError('--n', `at least --k (${k})`, options.n)
  if (total !== undefined && total < n)
    throw new InvalidOptionError('--total', `at least --n (${n})`, options.total)
  const regions = options.regions
    ?.split(',')
    .map((region) => region.trim())
    .filter(Boolean)
  for (const region of regions ?? []) {
    if (!isRegionName(region)) {
      throw new InvalidOptionError('--regions', 'region names separated by commas (eu-west,us-east)', region)
    }
  }
  const info = await stat(file).catch(() => undefined)
  if (!info?.isFile()) {
    throw new CliError(`No file at ${file}.`, {
      name: 'FileNotFoundError',
      hint: 'Pass the path of a file to store.',
    })
  }
  const name = options.name ?? basename(file)
  if (name === '') throw new InvalidOptionError('--name', 'a non-empty name', options.name)

  const { client } = await loadContext(options, io, { action: 'Storing a file' })
  const masterKey = await getMasterKey(client)
  const interrupt = interruptSignal()
  const progress = transferProgress(io, 'upload', { quiet: Boolean(options.json) })
  const startedAt = performance.now()
  let record: Awaited<ReturnType<typeof putObject>>
  try {
    record = await putObject(client, {
      source: file,
      name,
      k,
      n,
      masterKey,
      signal: interrupt.signal,
      ...(total === undefined ? {} : { total }),
      ...(regions === undefined ? {} : { regions: regions as RegionName[] }),
      ...(periods === undefined ? {} : { periods }),
      onProgress: (event: PutObjectProgressEvent) => {
        switch (event.type) {
          case 'storage:plan': {
            const { total: shards, shardSize, providers } = event.detail
            progress.line(
              `✓ ${name}: ${size(info.size)} → ${shards} shards of ${size(shardSize)} (any ${k} rebuild it, ${n} kept), to ${providers.length} providers`,
            )
            break
          }
          case 'storage:upload':
            progress.update(event.detail.bytes, event.detail.totalBytes, event.detail.mbPerSecond)
            break
          case 'storage:shard-failed':
            progress.line(`  ${event.detail.provider.slice(0, 10)}… failed: ${firstLine(event.detail.error)}`)
            break
          case 'storage:uploaded':
            progress.line(
              `✓ ${event.detail.shards.length} shards uploaded in ${(event.detail.ms / 1000).toFixed(1)} s, ${rate(event.detail.mbPerSecond)}`,
            )
            break
          case 'storage:deal':
            progress.line(`✓ Deal ${event.detail.dealId} created on chain (${event.detail.periods} periods)`)
            break
          case 'storage:index':
            progress.line(
              `✓ Object index updated (${event.detail.objects} objects, deal ${event.detail.dealId})`,
            )
            break
          default:
            break
        }
      },
    })
  } catch (error) {
    if (isInterrupt(error, interrupt.signal)) {
      progress.finish()
      io.stderr('Interrupted: nothing was stored (uploaded shards expire on the providers).\n')
      return 130
    }
    throw error
  } finally {
    progress.finish()
    interrupt.dispose()
  }
  const ms = performance.now() - startedAt
  const speed = megabytesPerSecond(Number(record.size), ms)
  if (options.json) {
    io.stdout(
      `${toJson(bytesAsHex({ ...record, ms: Math.round(ms), mbPerSecond: Math.round(speed * 10) / 10 }))}\n`,
    )
    return 0
  }
  io.stdout(
    `${[
      `Stored ${record.name} (${size(record.size)}) in ${(ms / 1000).toFixed(1)} s, ${rate(speed)}`,
      table([
        ['Deal', String(record.dealId)],
        ['Shards', `${record.n} kept of ${record.total} uploaded; any ${record.k} rebuild it`],
        ['sha256', hex(record.sha256)],
      ]),
      `stoa get ${record.name}   stoa deals   stoa rm ${record.name}`,
    ].join('\n')}\n`,
  )
  return 0
}
