/**
 * The repair loop behind `stoa repair [--watch]` and `stoa provider start --repairer`: find deals whose
 * active shards fell to the repair threshold, rebuild the lost shards from k healthy ones, upload them
 * to new providers and call `replaceShard`. Repairers never need the owner's master key.
 */
import { findDealsToRepair, repairDeal, type StoaClient } from '@stoa/sdk'
import type { Address } from 'viem'

export type RepairLoopEvent =
  | { type: 'repair:scan'; detail: { deals: string[] } }
  | { type: 'repair:started'; detail: { dealId: string } }
  | { type: 'repair:progress'; detail: { dealId: string; step: string; detail: unknown } }
  | { type: 'repair:done'; detail: { dealId: string; replaced: number; skipped: string | null; ms: number } }
  | { type: 'repair:failed'; detail: { dealId: string; reason: string } }

export type RepairLoopOptions = {
  client: StoaClient
  /** Repair this deal only (whether or not the threshold is reached). */
  dealId?: bigint | undefined
  /** Only deals of this owner; default: every deal (a provider's repairer). */
  owner?: Address | undefined
  /** Keep scanning every `intervalMs` until `signal` aborts. */
  watch?: boolean
  intervalMs?: number
  signal: AbortSignal
  onEvent?: (event: RepairLoopEvent) => void
}

export type RepairLoopResult = { passes: number; repaired: number; failed: number }

/** One pass (or, with `watch`, passes until aborted); a deal that fails is reported and retried next pass. */
export async function runRepairLoop(options: RepairLoopOptions): Promise<RepairLoopResult> {
  const result: RepairLoopResult = { passes: 0, repaired: 0, failed: 0 }
  const emit = options.onEvent ?? (() => {})
  for (;;) {
    if (options.signal.aborted) return result
    result.passes++
    const dealIds =
      options.dealId !== undefined
        ? [options.dealId]
        : (
            await findDealsToRepair(options.client, {
              ...(options.owner === undefined ? {} : { owner: options.owner }),
            })
          ).map((entry) => entry.dealId)
    emit({ type: 'repair:scan', detail: { deals: dealIds.map(String) } })
    for (const dealId of dealIds) {
      if (options.signal.aborted) return result
      const id = String(dealId)
      emit({ type: 'repair:started', detail: { dealId: id } })
      const startedAt = performance.now()
      try {
        const repaired = await repairDeal(options.client, {
          dealId,
          signal: options.signal,
          onProgress: (event) =>
            emit({ type: 'repair:progress', detail: { dealId: id, step: event.type, detail: event.detail } }),
        })
        if (repaired.replaced.length > 0) result.repaired++
        emit({
          type: 'repair:done',
          detail: {
            dealId: id,
            replaced: repaired.replaced.length,
            skipped: repaired.skipped ?? null,
            ms: Math.round(performance.now() - startedAt),
          },
        })
      } catch (error) {
        if (options.signal.aborted) return result
        result.failed++
        emit({ type: 'repair:failed', detail: { dealId: id, reason: firstLine(error) } })
      }
    }
    if (!options.watch) return result
    await sleep(options.intervalMs ?? 5_000, options.signal)
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

export function firstLine(error: unknown): string {
  const message =
    (error as { shortMessage?: unknown }).shortMessage ?? (error as Error).message ?? String(error)
  return String(message).split('\n')[0] ?? ''
}
