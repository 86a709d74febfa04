import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { formatLeaseId, getLeaseResults } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { CliError } from '../errors.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { interruptSignal, parseId } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type ResultsOptions = ChainOptions & KeyOptions & { out?: string; json?: boolean }

export function registerResultsCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('results')
    .summary("list or download the files a lease's jobs wrote to /results")
    .description(
      "Lists the files a lease's jobs wrote to /results (name, size, sha256), from its provider's gateway (a request signed with the tenant's key). With --out DIR, downloads them into DIR, each checked against its sha256 before it is written; fetch them before `stoa close`: once the lease ends, the provider need not keep them. ID is an order id (its current or latest lease), a lease id, or order/round.",
    )
    .argument('<id>', 'order id (7), lease id (30064771073) or order/round (7/1)')
    .option('-o, --out <dir>', 'download the files into this directory (created if missing)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa results 7 --key alice\n  $ stoa results 7 --out ./out --key alice && stoa close 7 --key alice',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((id: string, options: ResultsOptions, self: Command) =>
    run(self, (io) => resultsAction(id, options, io)),
  )
}

/**
 * Where a result file goes under `dir`: its name as the provider gave it (a relative path), under a
 * folder per service when several services wrote files. A name that would leave `dir` (absolute,
 * `..`, a NUL) is refused: the provider is not trusted with the tenant's file system.
 */
export function resultPath(dir: string, name: string, service: string | undefined): string {
  const root = resolve(dir)
  const target = resolve(root, service ?? '.', name)
  const inside = relative(root, target)
  if (
    name.includes('\0') ||
    isAbsolute(name) ||
    inside === '' ||
    inside === '..' ||
    inside.startsWith(`..${sep}`) ||
    isAbsolute(inside)
  )
    throw new CliError(`The provider named a result file "${name}", which would be written outside ${dir}.`, {
      name: 'UnsafeResultNameError',
      hint: 'Nothing outside the output directory was written; the provider is misbehaving.',
    })
  return target
}

async function resultsAction(id: string, options: ResultsOptions, io: CliIo): Promise<number> {
  const reference = parseId(id)
  const { client } = await loadContext(options, io, { action: 'Reading results' })
  const interrupt = interruptSignal()
  try {
    const download = options.out !== undefined
    const { leaseId, files } = await getLeaseResults(client, {
      id: reference,
      withContent: download,
      signal: interrupt.signal,
    })
    const services = new Set(files.map((file) => file.service).filter((service) => service !== undefined))
    const written: string[] = []
    if (download) {
      const dir = options.out as string
      // Every name is checked before anything is written.
      const paths = files.map((file) =>
        resultPath(dir, file.name, services.size > 1 ? file.service : undefined),
      )
      for (const [index, file] of files.entries()) {
        const path = paths[index] as string
        await mkdir(dirname(path), { recursive: true })
        // Written beside, then renamed: an interrupted download leaves no half file under the name.
        const partial = `${path}.partial`
        await writeFile(partial, file.bytes as Uint8Array)
        await rename(partial, path)
        written.push(path)
        if (!options.json) io.stderr(`  ${relative(process.cwd(), path) || path} (${file.size} bytes)\n`)
      }
    }
    if (options.json) {
      io.stdout(
        `${toJson({
          leaseId,
          lease: formatLeaseId(leaseId),
          files: files.map((file, index) => ({
            name: file.name,
            ...(file.service === undefined ? {} : { service: file.service }),
            size: file.size,
            sha256: file.sha256,
            ...(download ? { path: written[index] } : {}),
          })),
        })}\n`,
      )
      return 0
    }
    if (files.length === 0) {
      io.stdout(`Lease ${formatLeaseId(leaseId)} has no result files.\n`)
      return 0
    }
    if (download) {
      io.stdout(
        `Downloaded ${files.length} file${files.length === 1 ? '' : 's'} of lease ${formatLeaseId(leaseId)} into ${options.out} (each matched its sha256).\n`,
      )
      return 0
    }
    const rows = files.map((file) => [
      services.size > 1 && file.service ? join(file.service, file.name) : file.name,
      String(file.size),
      file.sha256,
    ])
    io.stdout(`${table([['NAME', 'BYTES', 'SHA256'], ...rows], '')}\n`)
    io.stdout(`\n\`stoa results ${id} --out DIR\` downloads them.\n`)
    return 0
  } finally {
    interrupt.dispose()
  }
}
