import { creditsAbi, duration, formatCredits, formatStoa, stoaTokenAbi } from '@stoa/protocol'
import { getOraclePrice } from '@stoa/sdk'
import type { Command } from 'commander'
import { getBlockNumber, getChainId, readContract } from 'viem/actions'
import { type ChainOptions, loadContext } from '../context.ts'
import { CliError } from '../errors.ts'
import { type CliIo, contractLabels, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { addChainOptions } from './options.ts'

type InfoOptions = ChainOptions & { json?: boolean }

export function registerChainCommands(program: Command, run: CommandRunner): void {
  const chain = program.command('chain').summary('read the state of the settlement chain')
  const info = chain
    .command('info')
    .summary('oracle price, token and credit supply, contract addresses')
    .description(
      'Shows the chain the deployment file points at: chain id, block, oracle price, STOA and credit supply, and the contract addresses.',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa chain info\n  $ stoa chain info --rpc http://127.0.0.1:8545 --json',
    )
  addChainOptions(info)
  info.action((options: InfoOptions, command: Command) => run(command, (io) => infoAction(options, io)))
}

async function infoAction(options: InfoOptions, io: CliIo): Promise<number> {
  const { file, client } = await loadContext(options, io)
  const { contracts } = client.deployment
  const [chainId, blockNumber, oracle, stoaSupply, creditSupply] = await Promise.all([
    getChainId(client),
    getBlockNumber(client),
    getOraclePrice(client),
    readContract(client, { address: contracts.stoaToken, abi: stoaTokenAbi, functionName: 'totalSupply' }),
    readContract(client, { address: contracts.credits, abi: creditsAbi, functionName: 'totalSupply' }),
  ])
  if (chainId !== client.deployment.chainId) {
    throw new CliError(
      `The RPC serves chain ${chainId}, but the deployment file ${file.path} is for chain ${client.deployment.chainId}.`,
      {
        name: 'ChainMismatchError',
        hint: 'Point --rpc at the right chain, or --deployment at the right file.',
      },
    )
  }
  if (options.json) {
    io.stdout(
      `${toJson({
        chainId,
        rpcUrl: client.deployment.rpcUrl,
        blockNumber,
        oracle: {
          answer: oracle.answer,
          usdPerStoa: oracle.usdPerStoa,
          roundId: oracle.roundId,
          updatedAt: oracle.updatedAt,
          age: oracle.age,
          maxPriceAge: oracle.maxPriceAge,
          usable: oracle.usable,
        },
        stoaSupply,
        creditSupply,
        stoa: formatStoa(stoaSupply),
        creditsUsd: formatCredits(creditSupply),
        contracts,
      })}\n`,
    )
    return 0
  }
  io.stdout(
    [
      table([
        ['Chain', `${chainId} at ${client.deployment.rpcUrl} (block ${blockNumber})`],
        [
          'Oracle',
          `${oracle.usdPerStoa} USD per STOA (round ${oracle.roundId}, updated ${duration(oracle.age)} ago; ${oracle.usable ? 'usable for buys' : `stale: Credits accepts at most ${duration(oracle.maxPriceAge)}`})`,
        ],
        ['STOA supply', `${formatStoa(stoaSupply)} STOA`],
        ['Credit supply', `${formatCredits(creditSupply)} USD`],
      ]),
      'Contracts',
      table(
        Object.entries(contractLabels).map(([key, label]) => [
          label,
          contracts[key as keyof typeof contractLabels],
        ]),
      ),
      '',
    ].join('\n'),
  )
  return 0
}
