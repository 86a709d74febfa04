import { getMasterKey, listDeals, listObjects } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { addChainOptions, addKeyOption } from './options.ts'
import { type PsOptions, psAction } from './ps.ts'
import { bytesAsHex, type DealView, dealHealth, size } from './storage-format.ts'

type LsOptions = ChainOptions &
  KeyOptions & { json?: boolean; deployments?: boolean; tenant?: string; all?: boolean }

export function registerLsCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('ls')
    .summary("list the account's stored objects")
    .description(
      [
        "Lists the objects the --key account stored (`stoa put`), read from the account's encrypted object",
        'index on chain (so any machine with the same key sees them), with their size, erasure code, deal',
        'and health: active shards of n, "repair due" at or below the repair threshold, LOST below k.',
        '',
        'Compute orders and leases are listed by `stoa ps` (`stoa ls --deployments` is an alias).',
      ].join('\n'),
    )
    .option('--deployments', 'list compute orders and leases instead (same as `stoa ps`)')
    .option('--tenant <address>', 'with --deployments: whose orders')
    .option('--all', 'with --deployments: include closed orders')
    .option('--json', 'print { owner, objects } as one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa ls --key alice\n  $ stoa ls --key alice --json\n  $ stoa ls --deployments --key alice',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((options: LsOptions, self: Command) =>
    run(self, (io) => (options.deployments ? psAction(options as PsOptions, io) : lsAction(options, io))),
  )
}

async function lsAction(options: LsOptions, io: CliIo): Promise<number> {
  const { client, account } = await loadContext(options, io, { action: 'Listing stored objects' })
  const owner = (account as NonNullable<typeof account>).address
  const masterKey = await getMasterKey(client)
  const [objects, deals] = await Promise.all([
    listObjects(client, { masterKey }),
    listDeals(client, { owner }),
  ])
  const dealsById = new Map<string, DealView>(deals.map((deal) => [String(deal.dealId), deal as DealView]))
  const rows = objects.map((object) => {
    const deal = dealsById.get(String(object.dealId))
    const healthOf = deal ? dealHealth(deal, object.n) : undefined
    return { object, health: healthOf }
  })
  if (options.json) {
    io.stdout(
      `${toJson(
        bytesAsHex({
          owner,
          objects: rows.map(({ object, health }) => ({
            ...object,
            health: health ? { active: health.active, n: object.n, state: health.state } : null,
          })),
        }),
      )}\n`,
    )
    return 0
  }
  if (rows.length === 0) {
    io.stdout('No stored objects. `stoa put FILE` stores one.\n')
    return 0
  }
  io.stdout(
    `${table([
      ['NAME', 'SIZE', 'K/N', 'DEAL', 'HEALTH'],
      ...rows.map(({ object, health }) => [
        object.name,
        size(object.size),
        `${object.k}/${object.n}`,
        String(object.dealId),
        health?.text ?? 'deal not found',
      ]),
    ])}\n`,
  )
  return 0
}
