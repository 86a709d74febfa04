import { formatCredits } from '@stoa/protocol'
import { type GetLeaseStatusReturnType, getLeaseStatus } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import type { LoadedDeployment } from '../deployment-file.ts'
import { type CliIo, table, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { elapsed, parseId, usd, usdPerHour, who } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type StatusOptions = ChainOptions & KeyOptions & { json?: boolean }

export function registerStatusCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('status')
    .summary('show an order or lease: chain state and what its provider runs')
    .description(
      "Shows an order and its lease as the chain holds them (state, escrow, price, provider, earnings) and, with the tenant's key, as the provider runs them (its gateway's lease status: each service's state, exit code and URL). ID is an order id, a lease id, or order/round.",
    )
    .argument('<id>', 'order id (7), lease id (30064771073) or order/round (7/1)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExamples:\n  $ stoa status 7 --key alice\n  $ stoa status 7/1 --json')
  addChainOptions(command)
  addKeyOption(command)
  command.action((id: string, options: StatusOptions, self: Command) =>
    run(self, (io) => statusAction(id, options, io)),
  )
}

async function statusAction(id: string, options: StatusOptions, io: CliIo): Promise<number> {
  const reference = parseId(id)
  const { file, client } = await loadContext(options, io)
  const status = await getLeaseStatus(client, { id: reference })
  if (options.json) {
    io.stdout(`${toJson(statusJson(status))}\n`)
    return 0
  }
  io.stdout(humanStatus(status, file))
  return 0
}

function statusJson(status: GetLeaseStatusReturnType) {
  const { order, lease, provider } = status
  return {
    orderId: status.orderId,
    leaseId: status.leaseId,
    lease: status.leaseLabel,
    order: {
      ...order,
      escrowUsd: formatCredits(order.escrow),
      maxUsdPerHour: usdPerHour(order.maxPricePerSecond).slice(1, -2),
    },
    chainLease: lease && {
      ...lease,
      usdPerHour: usdPerHour(lease.pricePerSecond).slice(1, -2),
      earnedUsd: formatCredits(lease.earned),
    },
    provider: provider && {
      address: provider.address,
      id: provider.id,
      region: provider.regionName ?? provider.region,
      gatewayUrl: provider.gatewayUrl,
      active: provider.active,
      stats: provider.stats,
    },
    gateway: status.gateway,
    gatewayError: status.gatewayError,
  }
}

function humanStatus(status: GetLeaseStatusReturnType, file: LoadedDeployment): string {
  const { order, lease, provider } = status
  const lines: string[] = []
  lines.push(
    `Order ${order.orderId}: ${order.state}${order.state === 'Open' && order.round > 0 ? ` (round ${order.round}, re-bidding)` : ''}`,
  )
  lines.push(
    table([
      ['Tenant', who(order.tenant, file)],
      ['Escrow', `${usd(order.escrow)} (max price ${usdPerHour(order.maxPricePerSecond)})`],
      ['Regions', order.regionMask === 0 ? 'any' : order.regions.join(', ')],
      ['Failover', order.autoReopen ? 'on (the order reopens after a fault)' : 'off'],
      ['Manifest', order.manifestHash],
    ]),
  )
  if (!lease || status.leaseId === undefined) {
    lines.push('', 'No lease yet.', '')
    return lines.join('\n')
  }
  const now = Math.floor(Date.now() / 1000)
  lines.push(
    '',
    `Lease ${status.leaseLabel} (${status.leaseId}): ${lease.state}${lease.state === 'Closed' ? `, ${lease.closeReason}` : ''}`,
  )
  lines.push(
    table([
      [
        'Provider',
        `${who(lease.provider, file)}${provider ? ` #${provider.id}, ${provider.regionName ?? `region ${provider.region}`}${provider.active ? '' : ', NOT ACTIVE'}` : ''}`,
      ],
      ['Gateway', status.gatewayUrl ?? '(none on record)'],
      ['Price', usdPerHour(lease.pricePerSecond)],
      [
        'Started',
        `${new Date(lease.startedAt * 1000).toISOString()} (${elapsed((now - lease.startedAt) * 1000)} ago)`,
      ],
      [
        'Earned',
        `${usd(lease.earned)} settled, ${usd(lease.pending.owed)} accrued since (escrow after: ${usd(lease.pending.escrowAfter)})`,
      ],
    ]),
  )
  if (status.gateway) {
    lines.push('', `Provider says: ${status.gateway.status}`)
    if (status.gateway.services.length > 0) {
      lines.push(
        table(
          status.gateway.services.map((service) => [
            service.name,
            service.kind,
            `${service.status}${service.exitCode === undefined ? '' : ` (exit ${service.exitCode})`}`,
            service.url ?? service.message ?? '',
          ]),
        ),
      )
    }
  } else if (status.gatewayError) {
    lines.push('', `Provider: not asked or no answer (${status.gatewayError.message})`)
  }
  lines.push('')
  return lines.join('\n')
}
