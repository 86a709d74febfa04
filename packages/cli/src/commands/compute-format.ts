/**
 * Formatting and process helpers shared by the compute commands (deploy, ls, status, logs, close,
 * provider earnings).
 */
import { formatCredits, pricePerSecondToUsdPerHour } from '@stoa/protocol'
import { type LeaseReference, parseLeaseReference } from '@stoa/sdk'
import type { Address } from 'viem'
import { accountName } from '../context.ts'
import type { LoadedDeployment } from '../deployment-file.ts'
import { InvalidOptionError } from '../errors.ts'

/** `$0.0021/h`: six significant digits (the 1e-12 USD/s grid reads $0.25/h back as $0.2499999984). */
export function usdPerHour(pricePerSecond: bigint): string {
  return `$${Number(Number(pricePerSecondToUsdPerHour(pricePerSecond)).toPrecision(6))}/h`
}

/** `$1.25` from credit units. */
export function usd(credits: bigint): string {
  return `$${formatCredits(credits)}`
}

/** `0x90F7…b906`, or `provider1 (0x90F7…b906)` for a devnet account the deployment file names. */
export function who(address: Address, file: LoadedDeployment): string {
  const short = `${address.slice(0, 6)}…${address.slice(-4)}`
  const name = accountName(address, file)
  return name ? `${name} (${short})` : short
}

/** An ID argument: an order id, a lease id or `order/round`, as a CLI option error when it is none. */
export function parseId(value: string): LeaseReference {
  try {
    parseLeaseReference(value)
  } catch {
    throw new InvalidOptionError(
      'ID',
      'an order id (7), a lease id (30064771073) or order/round (7/1)',
      value,
      '`stoa ps` lists your orders and leases.',
    )
  }
  return value
}

/** `3.2 s`, `450 ms`, `2 min`. */
export function elapsed(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.round(ms / 60_000)} min`
}

/** `42 B`, `1.5 KiB`, `3.0 MiB`. */
export function bytes(size: number): string {
  if (size < 1024) return `${size} B`
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`
  return `${(size / 1024 / 1024).toFixed(1)} MiB`
}

/**
 * An AbortSignal that the first Ctrl-C (SIGINT) or SIGTERM aborts; a second Ctrl-C exits at once.
 * `dispose()` removes the handlers.
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  let interrupts = 0
  const onSignal = (name: NodeJS.Signals) => {
    interrupts++
    if (interrupts > 1) process.exit(130)
    controller.abort(new InterruptedError(name))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/** The reason an interrupted command's signal carries. */
export class InterruptedError extends Error {
  constructor(signal: NodeJS.Signals) {
    super(`Interrupted (${signal}).`)
    this.name = 'InterruptedError'
  }
}

/** Whether an error is the interrupt (the abort reason), not a failure. */
export function isInterrupt(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (error === signal.reason || error instanceof InterruptedError)
}
