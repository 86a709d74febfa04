import { listLeases, type OrderSummary } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext, resolveAddress } from '../context.ts'
import type { LoadedDeployment } from '../deployment-file.ts'
import { CliError } from '../errors.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { usd, usdPerHour, who } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

export type PsOptions = ChainOptions & KeyOptions & { json?: boolean; tenant?: string; all?: boolean }

/** `stoa ps`: the compute list (orders and leases); `stoa ls --deployments` is an alias. */
export function registerPsCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('ps')
    .summary("list the account's orders and leases")
    .description(
      "Lists the orders of the --key account (or --tenant), newest first, with their state, current lease, provider, price and escrow, read from the chain's logs. Closed orders are left out unless --all.",
    )
    .option(
      '--tenant <address>',
      'whose orders (an address or a devnet account name); default the --key account',
    )
    .option('--all', 'include closed orders')
    .option('--json', 'print { tenant, orders } as one JSON object (closed orders included)')
    .addHelpText('after', '\nExamples:\n  $ stoa ps --key alice\n  $ stoa ps --tenant alice --all --json')
  addChainOptions(command)
  addKeyOption(command)
  command.action((options: PsOptions, self: Command) => run(self, (io) => psAction(options, io)))
}

export async function psAction(options: PsOptions, io: CliIo): Promise<number> {
  const { file, client, account } = await loadContext(options, io)
  const tenant =
    options.tenant !== undefined ? resolveAddress(options.tenant, file, '--tenant') : account?.address
  if (!tenant) {
    throw new CliError('Whose orders? No --tenant given and no key set.', {
      name: 'MissingAddressError',
      hint: 'Pass --key (a private key or a devnet account name such as alice), --tenant ADDRESS, or set STOA_PRIVATE_KEY.',
    })
  }
  const orders = await listLeases(client, { tenant })
  if (options.json) {
    io.stdout(`${toJson({ tenant, orders: orders.map(orderJson) })}\n`)
    return 0
  }
  const shown = options.all ? orders : orders.filter((order) => order.state !== 'Closed')
  if (shown.length === 0) {
    io.stdout(
      orders.length === 0
        ? `No orders for ${who(tenant, file)}. \`stoa deploy FILE\` starts one.\n`
        : `No open orders for ${who(tenant, file)} (${orders.length} closed: --all shows them).\n`,
    )
    return 0
  }
  io.stdout(
    `${table([['ORDER', 'STATE', 'LEASE', 'PROVIDER', 'PRICE', 'ESCROW', 'LEASES'], ...shown.map((order) => row(order, file))])}\n`,
  )
  const hidden = orders.length - shown.length
  if (hidden > 0) io.stdout(`(${hidden} closed order${hidden === 1 ? '' : 's'} not shown: --all)\n`)
  return 0
}

function row(order: OrderSummary, file: LoadedDeployment): string[] {
  const last = order.leases.at(-1)
  const current = order.leases.find((lease) => lease.leaseId === order.leaseId)
  const shown = current ?? last
  return [
    String(order.orderId),
    order.state === 'Open' && order.leases.length > 0 ? 'Open (re-bidding)' : order.state,
    shown ? `${shown.label} ${shown.state === 'Active' ? 'active' : `closed: ${shown.closeReason}`}` : '-',
    shown ? who(shown.provider, file) : '-',
    shown ? usdPerHour(shown.pricePerSecond) : `≤ ${usdPerHour(order.maxPricePerSecond)}`,
    usd(order.escrow),
    String(order.leases.length),
  ]
}

function orderJson(order: OrderSummary) {
  return {
    ...order,
    maxUsdPerHour: usdPerHour(order.maxPricePerSecond).slice(1, -2),
    escrowUsd: usd(order.escrow).slice(1),
    leases: order.leases.map((lease) => ({
      ...lease,
      usdPerHour: usdPerHour(lease.pricePerSecond).slice(1, -2),
    })),
  }
}
