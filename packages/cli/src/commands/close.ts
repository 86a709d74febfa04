import { cancelOrder, closeLease, formatLeaseId, parseLeaseReference, resolveLeaseReference } from '@stoa/sdk'
import type { Command } from 'commander'
import { type ChainOptions, type KeyOptions, loadContext } from '../context.ts'
import { CliError } from '../errors.ts'
import { type CliIo, toJson } from '../io.ts'
import type { CommandRunner } from '../program.ts'
import { parseId, usd } from './compute-format.ts'
import { addChainOptions, addKeyOption } from './options.ts'

type CloseOptions = ChainOptions & KeyOptions & { json?: boolean; note?: string }

export function registerCloseCommand(program: Command, run: CommandRunner): void {
  const command = program
    .command('close')
    .summary('stop a deployment: close its lease (or cancel an order still bidding) and get the escrow back')
    .description(
      "Closes the order's active lease as its tenant (the provider is paid up to now and stops the workload; the rest of the escrow is refunded), or cancels an order that is still collecting bids (full refund). ID is an order id, a lease id, or order/round.",
    )
    .argument('<id>', 'order id (7), lease id (30064771073) or order/round (7/1)')
    .option('--note <text>', 'why, recorded on chain (at most 32 bytes)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  $ stoa close 7 --key alice\n  $ stoa close 7/1 --key alice --note "done" --json',
    )
  addChainOptions(command)
  addKeyOption(command)
  command.action((id: string, options: CloseOptions, self: Command) =>
    run(self, (io) => closeAction(id, options, io)),
  )
}

async function closeAction(id: string, options: CloseOptions, io: CliIo): Promise<number> {
  const reference = parseId(id)
  const { client } = await loadContext(options, io, { action: 'Closing' })
  const { orderId, order, leaseId } = await resolveLeaseReference(client, reference)
  const named = parseLeaseReference(reference)
  if (order.state === 'Closed') {
    throw new CliError(`Order ${orderId} is closed already.`, {
      name: 'OrderClosedError',
      hint: `\`stoa status ${orderId}\` shows how it ended.`,
    })
  }
  if (named.kind === 'lease' && order.leaseId !== named.leaseId) {
    throw new CliError(`Lease ${formatLeaseId(named.leaseId)} is not the active lease of order ${orderId}.`, {
      name: 'LeaseNotActiveError',
      hint:
        order.state === 'Open'
          ? `The order is bidding again: \`stoa close ${orderId}\` cancels it.`
          : `Its active lease is ${formatLeaseId(order.leaseId ?? 0n)}: \`stoa close ${orderId}\`.`,
    })
  }
  if (order.state === 'Open') {
    const cancelled = await cancelOrder(client, { orderId })
    if (options.json) {
      io.stdout(
        `${toJson({ orderId, action: 'cancelled', refund: cancelled.refund, hash: cancelled.hash })}\n`,
      )
    } else {
      io.stdout(
        `Cancelled order ${orderId}: ${usd(cancelled.refund)} refunded (transaction ${cancelled.hash}).\n`,
      )
    }
    return 0
  }
  const closing = leaseId as bigint
  const closed = await closeLease(client, {
    leaseId: closing,
    ...(options.note === undefined ? {} : { note: options.note }),
  })
  const settled = closed.closed?.settled ?? 0n
  if (options.json) {
    io.stdout(
      `${toJson({
        orderId,
        leaseId: closing,
        lease: formatLeaseId(closing),
        action: 'closed',
        reason: closed.closed?.reason,
        settled,
        refund: closed.refund,
        reopened: closed.reopened !== undefined,
        hash: closed.hash,
      })}\n`,
    )
  } else {
    io.stdout(
      `Closed lease ${formatLeaseId(closing)} of order ${orderId} (${closed.closed?.reason ?? 'closed'}): ${usd(settled)} paid to the provider at close, ${usd(closed.refund)} refunded (transaction ${closed.hash}).\n`,
    )
  }
  return 0
}
