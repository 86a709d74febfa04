import { getIndexDeal, listDeals } from '@stoa/sdk'
import type { Command } from 'commander'
import { getBlockNumber } from 'viem/actions'
import { type ChainOptions, type KeyOptions, loadContext, resolveAddress } from '../context.ts'
import type { LoadedDeployment } from '../deployment-file.ts'
import { CliError } from '../errors.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { who } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'
import { dealHealth, size } from './storage-format.ts'

type DealsOptions = ChainOptions & KeyOptions & { owner?: string; json?: boolean }

type DealRecord = Awaited<ReturnType<typeof listDeals>>[number]

export function registerDealsCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('deals')
    .summary("list the account's storage deals: shards, providers, proven periods")
    .description(
      [
        'Lists the storage deals the --key account (or --owner) opened, read from the chain: for every deal its',
        'erasure code, schedule, and each shard with its provider, erasure index, state (Active, Lost, Ended)',
        'and the last period it proved. The object index is a deal of its own.',
      ].join('\n'),
    )
    .option(
      '--owner <address>',
      'whose deals (an address or a devnet account name); default the --key account',
    )
    .option('--json', 'print { owner, deals } as one JSON object')
    .addHelpText('after', '\nExamples:\n  $ stoa deals --key alice\n  $ stoa deals --owner alice --json')
  addChainOptions(command)
  addKeyOption(command)
  command.action((options: DealsOptions, self: Command) => run(self, (io) => dealsAction(options, io)))
}

async function dealsAction(options: DealsOptions, io: CliIo): Promise<number> {
  const { file, client, account } = await loadContext(options, io)
  const owner =
    options.owner !== undefined ? resolveAddress(options.owner, file, '--owner') : account?.address
  if (!owner) {
    throw new CliError('Whose deals? No --owner given and no key set.', {
      name: 'MissingAddressError',
      hint: 'Pass --key (a private key or a devnet account name such as alice), --owner ADDRESS, or set STOA_PRIVATE_KEY.',
    })
  }
  const [deals, blockNumber, indexDealId] = await Promise.all([
    listDeals(client, { owner }),
    getBlockNumber(client),
    getIndexDeal(client, { owner }),
  ])
  if (options.json) {
    io.stdout(`${toJson({ owner, indexDealId: indexDealId ?? null, deals })}\n`)
    return 0
  }
  if (deals.length === 0) {
    io.stdout(`No storage deals for ${who(owner, file)}. \`stoa put FILE\` opens one.\n`)
    return 0
  }
  const blocks: string[] = []
  for (const deal of deals) blocks.push(dealBlock(deal, blockNumber, deal.dealId === indexDealId, file))
  io.stdout(`${blocks.join('\n\n')}\n`)
  return 0
}

/** The proving period `blockNumber` falls in (1-based for people), or null before the first / after the last. */
function periodAt(deal: DealRecord, blockNumber: bigint): number | null {
  if (deal.periodBlocks === 0 || blockNumber < deal.startBlock) return null
  const period = Number((blockNumber - deal.startBlock) / BigInt(deal.periodBlocks))
  return period < deal.periods ? period + 1 : null
}

function dealBlock(deal: DealRecord, blockNumber: bigint, isIndex: boolean, file: LoadedDeployment): string {
  const { text } = dealHealth(deal)
  const shardSize = deal.shards[0]?.size
  const period = periodAt(deal, blockNumber)
  const schedule =
    deal.ended || deal.state === 'Ended'
      ? 'ended'
      : period === null
        ? `all ${deal.periods} periods over, not settled yet`
        : `period ${period} of ${deal.periods} (${deal.periodBlocks} blocks each)`
  const header = `Deal ${deal.dealId}${isIndex ? ' (the object index)' : ''}: k = ${deal.k}, ${deal.shardCount} shards${shardSize === undefined ? '' : ` of ${size(shardSize)}`}, ${schedule}; healthy ${text}`
  return [
    header,
    table([
      ['SHARD', 'PROVIDER', 'PIECE', 'STATE', 'PROVES NEXT', 'PROVEN UNPAID', 'ROOT'],
      ...deal.shards.map((shard) => [
        String(shard.shardIndex),
        who(shard.provider, file),
        String(shard.erasureIndex),
        shard.state,
        shard.nextPeriod >= deal.periods ? 'done' : `period ${shard.nextPeriod + 1}`,
        String(shard.unpaidPeriods),
        `${shard.root.slice(0, 10)}…`,
      ]),
    ]),
  ].join('\n')
}
