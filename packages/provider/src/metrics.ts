import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

/**
 * The daemon's Prometheus metrics, in a registry of its own (so several daemons can share a
 * process, as tests do). Served as text on the gateway's `GET /metrics`.
 */
export type ProviderMetrics = ReturnType<typeof createProviderMetrics>

export type CreateProviderMetricsParameters = {
  /** Also export the process metrics (CPU, memory, event loop, GC). Default true. */
  processMetrics?: boolean
}

export function createProviderMetrics(parameters: CreateProviderMetricsParameters = {}) {
  const registry = new Registry()
  if (parameters.processMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'stoa_provider_' })
  const registers = [registry]
  return {
    registry,
    bids: new Counter({
      name: 'stoa_provider_bids_total',
      help: 'Bid decisions and transactions, by result (placed, failed, skipped-<reason>).',
      labelNames: ['result'] as const,
      registers,
    }),
    autoReopenActions: new Counter({
      name: 'stoa_provider_auto_reopen_actions_total',
      help: 'acceptBestBid and restartBidding calls on auto-reopen orders, by action and result.',
      labelNames: ['action', 'result'] as const,
      registers,
    }),
    leasesActive: new Gauge({
      name: 'stoa_provider_leases_active',
      help: 'Leases of this provider that are not closed.',
      registers,
    }),
    leaseEvents: new Counter({
      name: 'stoa_provider_lease_events_total',
      help: 'Lease lifecycle events (created, manifest-accepted, running, closed, manifest-timeout).',
      labelNames: ['event'] as const,
      registers,
    }),
    workloads: new Gauge({
      name: 'stoa_provider_workloads',
      help: 'Workloads the runtimes hold, by runtime and state (as of the last reconcile).',
      labelNames: ['runtime', 'state'] as const,
      registers,
    }),
    orphansRemoved: new Counter({
      name: 'stoa_provider_orphans_removed_total',
      help: 'Workloads the reconciler removed because their lease was not active.',
      registers,
    }),
    settles: new Counter({
      name: 'stoa_provider_settles_total',
      help: 'Settle transactions, by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    settledCredits: new Counter({
      name: 'stoa_provider_settled_credits_total',
      help: 'Credits (1e-6 USD) moved from escrow to earnings by this daemon’s settles.',
      registers,
    }),
    withdrawnCredits: new Counter({
      name: 'stoa_provider_withdrawn_credits_total',
      help: 'Credits (1e-6 USD) withdrawn to the provider’s balance.',
      registers,
    }),
    gatewayRequests: new Counter({
      name: 'stoa_provider_gateway_requests_total',
      help: 'Gateway requests, by route and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    ingressRequests: new Counter({
      name: 'stoa_provider_ingress_requests_total',
      help: 'Ingress requests, by status code.',
      labelNames: ['status'] as const,
      registers,
    }),
    capacity: new Gauge({
      name: 'stoa_provider_capacity',
      help: 'Capacity by resource and kind (total, reserved).',
      labelNames: ['resource', 'kind'] as const,
      registers,
    }),
    chainHead: new Gauge({
      name: 'stoa_provider_chain_head_block',
      help: 'The block the chain service last synced to.',
      registers,
    }),
    chainSyncs: new Counter({
      name: 'stoa_provider_chain_syncs_total',
      help: 'Completed chain syncs.',
      registers,
    }),
    faultReports: new Counter({
      name: 'stoa_provider_watcher_fault_reports_total',
      help: 'Fault reports the watcher role sent, by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    storageProofs: new Counter({
      name: 'stoa_provider_storage_proofs_total',
      help: 'Storage proofs, by result (sent: accepted on chain; failed: not built or refused; missed: the window closed before a proof could land).',
      labelNames: ['result'] as const,
      registers,
    }),
    storageBytes: new Gauge({
      name: 'stoa_provider_storage_bytes',
      help: 'Storage capacity in bytes, by kind (capacity, held, reserved).',
      labelNames: ['kind'] as const,
      registers,
    }),
    probes: new Counter({
      name: 'stoa_provider_watcher_probes_total',
      help: 'Watcher probes, by result.',
      labelNames: ['result'] as const,
      registers,
    }),
  }
}
