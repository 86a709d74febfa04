import { getMasterKey, removeObject } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { type CliIo, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type RmOptions = ChainOptions & KeyOptions & { json?: boolean }

export function registerRmCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('rm')
    .summary('remove a stored object from the account')
    .description(
      [
        "Removes NAME from the account's object index (a new index deal, pointed to on chain). The object's",
        'deal is not renewed (`stoa renew` would): its shards stay with the providers, paid, until its last proving period ends,',
        'then the escrow nobody earned goes back to the owner.',
      ].join('\n'),
    )
    .argument('<name>', 'the object name (as `stoa ls` lists it)')
    .option('--json', 'print { name, dealId } as one JSON object')
    .addHelpText('after', '\nExamples:\n  $ stoa rm photo.jpg --key alice')
  addChainOptions(command)
  addKeyOption(command)
  command.action((name: string, options: RmOptions, self: Command) =>
    run(self, (io) => rmAction(name, options, io)),
  )
}

async function rmAction(name: string, options: RmOptions, io: CliIo): Promise<number> {
  const { client } = await loadContext(options, io, { action: 'Removing a stored object' })
  const masterKey = await getMasterKey(client)
  const removed = await removeObject(client, { name, masterKey })
  if (options.json) {
    io.stdout(`${toJson({ name, dealId: removed.removed.dealId, indexDealId: removed.indexDealId })}\n`)
  } else {
    io.stdout(
      `Removed ${name} from the object index (now deal ${removed.indexDealId}); its deal ${removed.removed.dealId} runs out unrenewed.\n`,
    )
  }
  return 0
}
