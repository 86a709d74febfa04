import { formatCredits } from '@stoa/protocol'
import { getLease, settle, withdrawEarnings } from '@stoa/sdk'
import type { ProviderChain } from '../chain/client.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { StateStore } from '../state/store.ts'
import type { LeaseManager } from './manager.ts'

export type SettlerInit = {
  intervalMs: number
  /** Withdraw earnings to the provider's credits after settling. */
  withdraw: boolean
}

export type SettlerComponents = {
  chain: ProviderChain
  store: StateStore
  leases: Pick<LeaseManager, 'teardown'>
  logger?: Logger
  metrics?: ProviderMetrics
}

export type SettleReport = {
  settled: { leaseId: bigint; amount: bigint }[]
  /** Leases whose escrow ran out at this settle (closed with InsufficientFunds). */
  exhausted: bigint[]
  withdrawn: bigint
}

export type Settler = {
  start(): Promise<void>
  stop(): Promise<void>
  settleAll(): Promise<SettleReport>
}

/**
 * The settler: every `intervalMs` it settles each active lease of this provider that owes
 * something (escrow → earnings, exact per second) and then withdraws the earnings of its leases,
 * active and recently closed, to the provider's redeemable credits. A settle that finds the escrow
 * used up closes the lease on chain; the settler then tears the lease down at once.
 */
export function settler(init: SettlerInit): (components: SettlerComponents) => Settler {
  return (components) => {
    const { chain, store } = components
    const logger = components.logger ?? silentLogger
    let timer: NodeJS.Timeout | undefined
    let running: Promise<SettleReport> | undefined
    let stopped = true

    async function pass(): Promise<SettleReport> {
      const report: SettleReport = { settled: [], exhausted: [], withdrawn: 0n }
      for (const lease of store.liveLeases()) {
        const onchain = await getLease(chain.client, { leaseId: lease.leaseId })
        if (onchain?.state !== 'Active' || onchain.pending.owed === 0n) continue
        try {
          const result = await chain.write('settle', () => settle(chain.client, { leaseId: lease.leaseId }))
          report.settled.push({ leaseId: lease.leaseId, amount: result.amount })
          store.updateLease(lease.leaseId, {
            settledTotal: (store.getLease(lease.leaseId)?.settledTotal ?? 0n) + result.amount,
          })
          components.metrics?.settles.inc({ result: 'ok' })
          components.metrics?.settledCredits.inc(Number(result.amount))
          logger.info(
            {
              leaseId: lease.leaseId,
              amount: result.amount,
              usd: formatCredits(result.amount),
              escrowLeft: result.escrowLeft,
            },
            'settled',
          )
          if (result.closed) {
            report.exhausted.push(lease.leaseId)
            await components.leases.teardown(lease.leaseId, result.closed.reason)
          }
        } catch (error) {
          components.metrics?.settles.inc({ result: 'failed' })
          logger.warn({ leaseId: lease.leaseId, err: error }, 'settle failed')
        }
      }
      if (init.withdraw) report.withdrawn = await withdraw()
      return report
    }

    async function withdraw(): Promise<bigint> {
      const candidates = [...store.liveLeases(), ...store.uncollectedLeases()]
      const ids: bigint[] = []
      const finished: bigint[] = []
      for (const lease of candidates) {
        const onchain = await getLease(chain.client, { leaseId: lease.leaseId })
        if (!onchain) {
          if (lease.status === 'closed') finished.push(lease.leaseId)
          continue
        }
        const completedUncounted =
          (onchain.closeReason === 'TenantClosed' || onchain.closeReason === 'InsufficientFunds') &&
          !onchain.completionCounted
        const owes =
          onchain.earned > 0n ||
          completedUncounted ||
          (onchain.state === 'Active' && onchain.pending.owed > 0n)
        if (owes) ids.push(lease.leaseId)
        if (onchain.state !== 'Active') finished.push(lease.leaseId)
      }
      let amount = 0n
      if (ids.length > 0) {
        try {
          const result = await chain.write('withdrawEarnings', () =>
            withdrawEarnings(chain.client, { leaseIds: ids }),
          )
          amount = result.amount
          components.metrics?.withdrawnCredits.inc(Number(amount))
          if (amount > 0n)
            logger.info(
              { amount, usd: formatCredits(amount), leases: ids.length, tx: result.hash },
              'withdrew earnings',
            )
        } catch (error) {
          logger.warn({ err: error, leases: ids }, 'withdrawing earnings failed')
          return 0n
        }
      }
      for (const leaseId of finished) {
        if (store.getLease(leaseId)?.status === 'closed') store.updateLease(leaseId, { collected: true })
      }
      return amount
    }

    function settleAll(): Promise<SettleReport> {
      running ??= pass().finally(() => {
        running = undefined
      })
      return running
    }

    function schedule(): void {
      if (stopped) return
      timer = setTimeout(() => {
        settleAll()
          .catch((error: unknown) => logger.warn({ err: error }, 'settle pass failed'))
          .finally(schedule)
      }, init.intervalMs)
      timer.unref?.()
    }

    return {
      settleAll,
      async start() {
        stopped = false
        schedule()
      },
      async stop() {
        stopped = true
        if (timer) clearTimeout(timer)
        await running?.catch(() => {})
      },
    }
  }
}
