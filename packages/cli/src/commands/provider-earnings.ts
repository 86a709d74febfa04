import { InvalidParameterError, marketAbi } from '@stoa/protocol'
import {
  formatLeaseId,
  getCreditBalance,
  getLease,
  getProvider,
  type LeaseRecord,
  type WithdrawEarningsReturnType,
  withdrawEarnings,
} from '@stoa/sdk'
import type { Command } from 'commander'
import { getContractEvents } from 'viem/actions'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { usd, usdPerHour, who } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type EarningsOptions = ChainOptions & KeyOptions & { json?: boolean; withdraw?: boolean }

/** `stoa provider earnings`; joins the `provider` command group if another module made it. */
export function registerProviderEarningsCommand(program: Command, run: CommandRunner): void {
  const provider =
    program.commands.find((command) => command.name() === 'provider') ??
    program.command('provider').summary('run a provider and see its earnings')
  const command = provider
    .command('earnings')
    .summary("the provider's leases, what they earned and what is left to withdraw")
    .description(
      "Lists the leases the --key provider won with what each earned: settled credits not yet withdrawn and what accrued since the last settle. --withdraw settles and withdraws everything into the provider's credits (redeemable for STOA).",
    )
    .option('--withdraw', 'withdraw the earnings now (one transaction)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa provider earnings --key provider1\n  $ stoa provider earnings --key provider1 --withdraw --json',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((options: EarningsOptions, self: Command) => run(self, (io) => earningsAction(options, io)))
}

type LeaseEarnings = { leaseId: bigint; lease: LeaseRecord }

async function earningsAction(options: EarningsOptions, io: CliIo): Promise<number> {
  const { file, client, account } = await loadContext(options, io, { action: 'Reading provider earnings' })
  const address = account?.address
  if (!address) throw new Error('unreachable: loadContext requires a key')
  const market = client.deployment.contracts.market
  let withdrawal: WithdrawEarningsReturnType | undefined
  let nothingToWithdraw = false
  if (options.withdraw) {
    try {
      withdrawal = await withdrawEarnings(client)
    } catch (error) {
      if (!(error instanceof InvalidParameterError)) throw error
      nothingToWithdraw = true
    }
  }
  const [record, won, withdrawnLogs, balance] = await Promise.all([
    getProvider(client, { provider: address }),
    getContractEvents(client, {
      address: market,
      abi: marketAbi,
      eventName: 'LeaseCreated',
      args: { provider: address },
      fromBlock: 0n,
      toBlock: 'latest',
      strict: true,
    }),
    getContractEvents(client, {
      address: market,
      abi: marketAbi,
      eventName: 'EarningsWithdrawn',
      args: { provider: address },
      fromBlock: 0n,
      toBlock: 'latest',
      strict: true,
    }),
    getCreditBalance(client, { account: address }),
  ])
  const leases = (
    await Promise.all(
      won.map(async (log) => ({
        leaseId: log.args.leaseId,
        lease: await getLease(client, { leaseId: log.args.leaseId }),
      })),
    )
  ).filter((entry): entry is LeaseEarnings => entry.lease !== null)
  const earned = leases.reduce((sum, { lease }) => sum + lease.earned, 0n)
  const accruing = leases.reduce(
    (sum, { lease }) => sum + (lease.state === 'Active' ? lease.pending.owed : 0n),
    0n,
  )
  const withdrawn = withdrawnLogs.reduce((sum, log) => sum + log.args.amount, 0n)
  const active = leases.filter(({ lease }) => lease.state === 'Active').length

  if (options.json) {
    io.stdout(
      `${toJson({
        provider: address,
        providerId: record?.id,
        registered: record !== null,
        active: record?.active ?? false,
        stats: record?.stats,
        leases: leases.map(({ leaseId, lease }) => ({
          leaseId,
          lease: formatLeaseId(leaseId),
          state: lease.state,
          closeReason: lease.closeReason,
          pricePerSecond: lease.pricePerSecond,
          earned: lease.earned,
          accruing: lease.state === 'Active' ? lease.pending.owed : 0n,
        })),
        totals: { earned, accruing, withdrawn, redeemable: balance.redeemable },
        ...(options.withdraw
          ? {
              withdrawal: withdrawal
                ? { amount: withdrawal.amount, leases: withdrawal.leases, hash: withdrawal.hash }
                : { amount: 0n, leases: [] },
            }
          : {}),
      })}\n`,
    )
    return 0
  }
  const lines: string[] = []
  lines.push(
    `Provider ${who(address, file)}${record ? ` #${record.id}, ${record.regionName ?? `region ${record.region}`}${record.active ? '' : ' (not active)'}` : ' (not registered)'}`,
  )
  if (withdrawal) {
    lines.push(
      `Withdrew ${usd(withdrawal.amount)} from ${withdrawal.leases.length} lease${withdrawal.leases.length === 1 ? '' : 's'} (transaction ${withdrawal.hash}).`,
    )
  } else if (nothingToWithdraw) {
    lines.push('Nothing to withdraw.')
  }
  lines.push(
    table([
      ['Leases', `${leases.length} won, ${active} active`],
      [
        'To withdraw',
        `${usd(earned)} settled${accruing > 0n ? `, ${usd(accruing)} accruing on active leases` : ''}`,
      ],
      ['Withdrawn', `${usd(withdrawn)} so far`],
      ['Redeemable', `${usd(balance.redeemable)} in credits, redeemable for STOA`],
    ]),
  )
  if (leases.length > 0) {
    lines.push(
      '',
      table([
        ['LEASE', 'STATE', 'PRICE', 'TO WITHDRAW', 'ACCRUING'],
        ...leases.map(({ leaseId, lease }) => [
          formatLeaseId(leaseId),
          lease.state === 'Active' ? 'active' : `closed: ${lease.closeReason}`,
          usdPerHour(lease.pricePerSecond),
          usd(lease.earned),
          lease.state === 'Active' ? usd(lease.pending.owed) : '-',
        ]),
      ]),
    )
  }
  if (!options.withdraw && earned + accruing > 0n)
    lines.push('', '`stoa provider earnings --withdraw` collects them.')
  io.stdout(`${lines.join('\n')}\n`)
  return 0
}
