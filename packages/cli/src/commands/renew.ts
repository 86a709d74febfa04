import { getMasterKey, renewObject } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { CliError } from '../errors.ts'
import { type CliIo, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type RenewOptions = ChainOptions & KeyOptions & { periods?: string; json?: boolean }

export function registerRenewCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('renew')
    .summary("extend a stored object's storage with a new deal")
    .description(
      [
        'Opens a new deal over the same shards with the same providers (they keep the bytes they hold and',
        'accept the new terms at their current ask) and points the object at it. The deal it renews runs',
        'out as paid, so renew before its last proving period ends; a deal with a lost shard is repaired',
        'first (`stoa repair DEAL`).',
      ].join('\n'),
    )
    .argument('<name>', 'the object name (as `stoa ls` lists it)')
    .option('--periods <n>', 'proving periods the new deal pays for (default: as many as the old deal)')
    .option('--json', 'print { name, previousDealId, dealId, periods, pricePerByteSecond, indexDealId }')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa renew photo.jpg --key alice\n  $ stoa renew backups/2026-11.tar --periods 720 --key alice',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((name: string, options: RenewOptions, self: Command) =>
    run(self, (io) => renewAction(name, options, io)),
  )
}

async function renewAction(name: string, options: RenewOptions, io: CliIo): Promise<number> {
  let periods: number | undefined
  if (options.periods !== undefined) {
    periods = Number(options.periods)
    if (
      !/^\d+$/.test(options.periods) ||
      !Number.isSafeInteger(periods) ||
      periods < 1 ||
      periods > 16_777_215
    ) {
      throw new CliError(`--periods must be a whole number from 1 to 16777215, got ${options.periods}.`, {
        name: 'InvalidOptionError',
      })
    }
  }
  const { client } = await loadContext(options, io, { action: 'Renewing a stored object' })
  const masterKey = await getMasterKey(client)
  const renewed = await renewObject(client, { name, masterKey, periods })
  if (options.json) {
    io.stdout(
      `${toJson({
        name,
        previousDealId: renewed.previousDealId,
        dealId: renewed.dealId,
        periods: renewed.periods,
        pricePerByteSecond: renewed.pricePerByteSecond,
        indexDealId: renewed.indexDealId,
      })}\n`,
    )
  } else {
    io.stdout(
      `Renewed ${name}: deal ${renewed.dealId} (${renewed.periods} periods) over the same shards; deal ${renewed.previousDealId} runs out as paid. Index now deal ${renewed.indexDealId}.\n`,
    )
  }
  return 0
}
