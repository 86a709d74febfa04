import { formatCredits, formatOraclePrice, formatStoa, parseCredits, parseStoa } from '@stoa/protocol'
import { type BuyCreditsProgressEvent, buyCredits, getCreditBalance } from '@stoa/sdk'
import type { Command } from 'commander'
import { accountName, type ChainOptions, type KeyOptions, loadContext, resolveAddress } from '../context.ts'
import { CliError, InvalidOptionError } from '../errors.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type BalanceOptions = ChainOptions & KeyOptions & { json?: boolean }
type BuyOptions = ChainOptions &
  KeyOptions & { json?: boolean; stoa?: string; minCredits?: string; permit?: boolean }

export function registerCreditsCommands(program: Command, run: CommandRunner): void {
  const credits = program
    .command('credits')
    .summary('USD credits: balances and buying with STOA')
    .description(
      'Credits are non-transferable USD balances (6 decimals) that pay for leases and storage. Buy them by burning STOA at the oracle price.',
    )

  const balance = credits
    .command('balance')
    .summary('show the credit balance of an account')
    .description(
      'Shows the credit balance of ADDRESS (an address, or a devnet account name such as alice), or of the --key / STOA_PRIVATE_KEY account.',
    )
    .argument('[address]', 'an address (0x…) or a devnet account name')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa credits balance alice\n  $ stoa credits balance 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json',
    )
  addChainOptions(balance)
  addKeyOption(balance)
  balance.action((address: string | undefined, options: BalanceOptions, command: Command) =>
    run(command, (io) => balanceAction(address, options, io)),
  )

  const buy = credits
    .command('buy')
    .summary('buy credits by burning STOA at the oracle price')
    .description(
      'Buys USD worth of credits (burning the least STOA that buys them), or burns exactly --stoa AMOUNT STOA. Approves the Credits contract first when needed, or signs a permit with --permit (one transaction).',
    )
    .argument('[usd]', 'credits to buy, in USD (e.g. 25 or 2.5)')
    .option('--stoa <amount>', 'burn exactly this much STOA instead')
    .option('--min-credits <usd>', 'fewest credits to accept (default: the current quote)')
    .option('--permit', 'authorize with an EIP-2612 permit signature instead of an approve transaction')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa credits buy 25 --key alice\n  $ STOA_PRIVATE_KEY=0x… stoa credits buy --stoa 100 --permit',
    )
  addChainOptions(buy)
  addKeyOption(buy)
  buy.action((usd: string | undefined, options: BuyOptions, command: Command) =>
    run(command, (io) => buyAction(usd, options, io)),
  )
}

async function balanceAction(
  address: string | undefined,
  options: BalanceOptions,
  io: CliIo,
): Promise<number> {
  const { file, client, account } = await loadContext(options, io)
  const owner = address === undefined ? account?.address : resolveAddress(address, file)
  if (!owner) {
    throw new CliError('Whose balance? No ADDRESS given and no key set.', {
      name: 'MissingAddressError',
      hint: 'Pass an ADDRESS (or a devnet account name such as alice), --key, or set STOA_PRIVATE_KEY.',
    })
  }
  const { balance, redeemable } = await getCreditBalance(client, { account: owner })
  const name = accountName(owner, file)
  if (options.json) {
    io.stdout(
      `${toJson({
        address: owner,
        ...(name ? { name } : {}),
        balance,
        redeemable,
        usd: formatCredits(balance),
        redeemableUsd: formatCredits(redeemable),
      })}\n`,
    )
  } else {
    io.stdout(
      `${table([
        ['Account', name ? `${owner} (${name})` : owner],
        ['Credits', `${formatCredits(balance)} USD`],
        ['Redeemable', `${formatCredits(redeemable)} USD (provider earnings, redeemable for STOA)`],
      ])}\n`,
    )
  }
  return 0
}

async function buyAction(usd: string | undefined, options: BuyOptions, io: CliIo): Promise<number> {
  if ((usd === undefined) === (options.stoa === undefined)) {
    throw new InvalidOptionError(
      'the amount',
      'given once: either USD (stoa credits buy 25) or --stoa AMOUNT',
      undefined,
      'Examples: `stoa credits buy 25 --key alice`, `stoa credits buy --stoa 100 --key alice`.',
    )
  }
  const amount =
    usd !== undefined
      ? { credits: positive(parseCredits(usd), 'USD') }
      : { stoaAmount: positive(parseStoa(options.stoa ?? ''), '--stoa') }
  const minCredits = options.minCredits === undefined ? undefined : parseCredits(options.minCredits)
  const { client, account } = await loadContext(options, io, { action: 'Buying credits' })
  const onProgress = options.json ? undefined : buyProgressPrinter(io)
  const result = await buyCredits(client, {
    ...amount,
    ...(minCredits === undefined ? {} : { minCredits }),
    authorization: options.permit ? 'permit' : 'approve',
    ...(onProgress ? { onProgress } : {}),
  })
  const { balance } = await getCreditBalance(client, { account: account?.address })
  if (options.json) {
    io.stdout(
      `${toJson({
        account: account?.address,
        credits: result.credits,
        stoaAmount: result.stoaAmount,
        price: result.price,
        usd: formatCredits(result.credits),
        stoa: formatStoa(result.stoaAmount),
        usdPerStoa: formatOraclePrice(result.price),
        balance,
        hash: result.hash,
        blockNumber: result.receipt.blockNumber,
      })}\n`,
    )
  } else {
    io.stdout(
      `Bought ${formatCredits(result.credits)} USD of credits for ${formatStoa(result.stoaAmount)} STOA at ${formatOraclePrice(result.price)} USD per STOA.\n` +
        `Balance: ${formatCredits(balance)} USD (transaction ${result.hash})\n`,
    )
  }
  return 0
}

function buyProgressPrinter(io: CliIo): (event: BuyCreditsProgressEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'buy-credits:quoted':
        io.stderr(
          `Quote: ${formatStoa(event.detail.stoaAmount)} STOA → ${formatCredits(event.detail.credits)} USD at ${formatOraclePrice(event.detail.price)} USD per STOA\n`,
        )
        break
      case 'approve:sent':
        io.stderr(`Approving ${formatStoa(event.detail.amount)} STOA for Credits (${event.detail.hash})\n`)
        break
      case 'permit:signed':
        io.stderr('Signed a permit for Credits\n')
        break
      case 'transaction:sent':
        io.stderr(`Sent ${event.detail.functionName} (${event.detail.hash})\n`)
        break
      default:
        break
    }
  }
}

function positive(value: bigint, field: string): bigint {
  if (value <= 0n) throw new InvalidOptionError(field, 'more than zero', String(value))
  return value
}
