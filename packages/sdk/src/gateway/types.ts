import type { Address, Hex } from 'viem'

/** `GET /v1/health`: public. */
export type GatewayHealth = {
  ok: boolean
  /** The provider's operator address (the key that bids). */
  provider: Address
  version: string
  chainId: number
  /** The provider's region name, when the gateway says. */
  region?: string
  /**
   * Base URL of the provider's ingress, when the gateway advertises it: a service is reachable at
   * `<ingressUrl>/l/<leaseId>/<service>/`.
   */
  ingressUrl?: string
}

/** Amounts of each resource, in the units of an order. */
export type GatewayResourceAmounts = {
  cpuMillis: number
  memoryMiB: number
  storageMiB: number
  gpus: number
}

/** `GET /v1/capacity`: public. */
export type GatewayCapacity = {
  total: GatewayResourceAmounts
  reserved: GatewayResourceAmounts
  available: GatewayResourceAmounts
  ingressUrl?: string
}

/** A lease as the provider runs it (not the chain's view: see `getLease`). */
export type GatewayLeaseState = 'waiting-manifest' | 'starting' | 'running' | 'exited' | 'failed' | 'closed'

export type GatewayServiceStatus = {
  name: string
  kind: 'job' | 'service'
  /** `starting`, `running`, `exited`, `failed`… as the provider reports it. */
  status: string
  /** A job's (or a stopped service's) exit code. */
  exitCode?: number
  /** Where the provider's ingress serves this service (services that expose HTTP). */
  url?: string
  /** Why it failed (`timeout`, `oom`, …) when the provider says. */
  reason?: string
  message?: string
}

/** `GET /v1/leases/:leaseId`: signed by the tenant. */
export type GatewayLeaseStatus = {
  leaseId: bigint
  status: GatewayLeaseState
  services: GatewayServiceStatus[]
}

/** `PUT /v1/leases/:leaseId/manifest`: 202. */
export type GatewayManifestAccepted = { leaseId: bigint; status: GatewayLeaseState }

/** A file a job wrote to `/results`. */
export type GatewayResultFile = {
  name: string
  size: number
  /** sha256 of the content as `0x…` hex. */
  sha256: Hex
  /** The service that wrote it, when the gateway says. */
  service?: string
}
