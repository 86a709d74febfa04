import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { addResources, noResources, type Resources } from '../resources.ts'

/**
 * The daemon's local state in SQLite (WAL). It is a cache of chain plus disk: orders seen in
 * `OrderCreated` logs, the provider's bids, leases and their workloads, capacity reservations,
 * gateway nonces (replay protection) and the event cursor. Whatever is lost can be re-derived:
 * the chain service rescans logs from its cursor, the bid engine and the reconciler compare every
 * row with the chain.
 */

/** Schema migrations, applied in order; `PRAGMA user_version` is the number applied. */
const migrations: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE cursor (name TEXT PRIMARY KEY, block TEXT NOT NULL);
  CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    cpu_millis INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL,
    storage_mib INTEGER NOT NULL,
    gpus INTEGER NOT NULL,
    gpu_model TEXT NOT NULL,
    region_mask INTEGER NOT NULL,
    max_price TEXT NOT NULL,
    deposit TEXT NOT NULL,
    manifest_hash TEXT NOT NULL,
    manifest_uri TEXT NOT NULL,
    auto_reopen INTEGER NOT NULL,
    state TEXT NOT NULL,
    round INTEGER NOT NULL,
    bid_deadline INTEGER NOT NULL,
    created_block TEXT NOT NULL
  );
  CREATE INDEX orders_state ON orders (state);
  CREATE TABLE bids (
    order_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    price TEXT NOT NULL,
    status TEXT NOT NULL,
    tx_hash TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (order_id, round)
  );
  CREATE TABLE reservations (
    order_id TEXT PRIMARY KEY,
    round INTEGER NOT NULL,
    kind TEXT NOT NULL,
    lease_id TEXT,
    cpu_millis INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL,
    storage_mib INTEGER NOT NULL,
    gpus INTEGER NOT NULL,
    bid_deadline INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE leases (
    lease_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    manifest_hash TEXT NOT NULL,
    price TEXT NOT NULL,
    status TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    manifest_at INTEGER,
    running_at INTEGER,
    closed_at INTEGER,
    close_reason TEXT,
    workloads TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    settled_total TEXT NOT NULL DEFAULT '0',
    collected INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX leases_status ON leases (status);
  CREATE TABLE nonces (
    signer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expiry INTEGER NOT NULL,
    PRIMARY KEY (signer, nonce)
  );
  CREATE INDEX nonces_expiry ON nonces (expiry);
  `,
]

export type OrderState = 'Open' | 'Leased' | 'Closed'

/** An order as its `OrderCreated` log and later events describe it. */
export type OrderRow = {
  orderId: bigint
  tenant: Hex
  resources: Resources
  /** bytes32 hex of the GPU model ('0x00…' for none). */
  gpuModel: Hex
  regionMask: number
  maxPricePerSecond: bigint
  deposit: bigint
  manifestHash: Hex
  manifestUri: string
  autoReopen: boolean
  state: OrderState
  round: number
  bidDeadline: number
  createdBlock: bigint
}

export type BidStatus = 'pending' | 'placed' | 'failed'

export type BidRow = {
  orderId: bigint
  round: number
  pricePerSecond: bigint
  status: BidStatus
  txHash: Hex | undefined
  error: string | undefined
  createdAt: number
}

export type ReservationKind = 'bid' | 'lease'

export type ReservationRow = {
  orderId: bigint
  round: number
  kind: ReservationKind
  leaseId: bigint | undefined
  resources: Resources
  bidDeadline: number
  createdAt: number
}

export type LeaseStatus = 'waiting-manifest' | 'starting' | 'running' | 'closed'

/** One service of a lease as the daemon started it. */
export type LeaseWorkload = {
  service: string
  workloadId: string
  runtime: 'docker' | 'wasm'
  kind: 'job' | 'service'
  /** An HTTP port the ingress forwards to, if the service exposes one. */
  httpPort: number | undefined
  /** Set when starting it failed (image missing, module refused...). */
  startError: string | undefined
  /** A job's final state once observed (so a restart does not run it again). */
  final: { state: 'exited' | 'failed'; exitCode: number | undefined; message: string | undefined } | undefined
}

export type LeaseRow = {
  leaseId: bigint
  orderId: bigint
  round: number
  tenant: Hex
  manifestHash: Hex
  pricePerSecond: bigint
  status: LeaseStatus
  /** Wall-clock ms when the daemon first saw the lease (the manifest timeout counts from here). */
  seenAt: number
  manifestAt: number | undefined
  runningAt: number | undefined
  closedAt: number | undefined
  closeReason: string | undefined
  workloads: LeaseWorkload[]
  error: string | undefined
  /** Credits this daemon's settles booked to the lease. */
  settledTotal: bigint
  /** Closed and nothing left to withdraw: the settler no longer looks at it. */
  collected: boolean
}

type Row = Record<string, unknown>

export type OpenStateStoreParameters = {
  /** The data directory; the database is `<dataDir>/state.db`. Or `filename` for another path. */
  dataDir?: string
  filename?: string
}

export type StateStore = ReturnType<typeof openStateStore>

/** Opens (creating and migrating) the state database. */
export function openStateStore(parameters: OpenStateStoreParameters) {
  const filename = parameters.filename ?? path.join(parameters.dataDir ?? '.', 'state.db')
  if (filename !== ':memory:') mkdirSync(path.dirname(filename), { recursive: true })
  const db = new Database(filename)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)

  const statements = {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ),
    getCursor: db.prepare('SELECT block FROM cursor WHERE name = ?'),
    setCursor: db.prepare(
      'INSERT INTO cursor (name, block) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET block = excluded.block',
    ),
    upsertOrder: db.prepare(`
      INSERT INTO orders (order_id, tenant, cpu_millis, memory_mib, storage_mib, gpus, gpu_model, region_mask,
        max_price, deposit, manifest_hash, manifest_uri, auto_reopen, state, round, bid_deadline, created_block)
      VALUES (@orderId, @tenant, @cpuMillis, @memoryMiB, @storageMiB, @gpus, @gpuModel, @regionMask,
        @maxPrice, @deposit, @manifestHash, @manifestUri, @autoReopen, @state, @round, @bidDeadline, @createdBlock)
      ON CONFLICT(order_id) DO NOTHING`),
    updateOrderRound: db.prepare(
      'UPDATE orders SET state = @state, round = @round, bid_deadline = @bidDeadline WHERE order_id = @orderId',
    ),
    updateOrderState: db.prepare('UPDATE orders SET state = ? WHERE order_id = ?'),
    getOrder: db.prepare('SELECT * FROM orders WHERE order_id = ?'),
    ordersByState: db.prepare('SELECT * FROM orders WHERE state = ? ORDER BY CAST(order_id AS INTEGER)'),
    ordersNotClosed: db.prepare(
      "SELECT * FROM orders WHERE state != 'Closed' ORDER BY CAST(order_id AS INTEGER)",
    ),
    getBid: db.prepare('SELECT * FROM bids WHERE order_id = ? AND round = ?'),
    putBid: db.prepare(`
      INSERT INTO bids (order_id, round, price, status, tx_hash, error, created_at, updated_at)
      VALUES (@orderId, @round, @price, @status, @txHash, @error, @now, @now)
      ON CONFLICT(order_id, round) DO UPDATE SET price = excluded.price, status = excluded.status,
        tx_hash = COALESCE(excluded.tx_hash, bids.tx_hash), error = excluded.error, updated_at = excluded.updated_at`),
    countBids: db.prepare('SELECT status, COUNT(*) AS n FROM bids GROUP BY status'),
    getReservation: db.prepare('SELECT * FROM reservations WHERE order_id = ?'),
    allReservations: db.prepare('SELECT * FROM reservations ORDER BY created_at'),
    putReservation: db.prepare(`
      INSERT INTO reservations (order_id, round, kind, lease_id, cpu_millis, memory_mib, storage_mib, gpus, bid_deadline, created_at)
      VALUES (@orderId, @round, @kind, @leaseId, @cpuMillis, @memoryMiB, @storageMiB, @gpus, @bidDeadline, @createdAt)
      ON CONFLICT(order_id) DO UPDATE SET round = excluded.round, kind = excluded.kind, lease_id = excluded.lease_id,
        cpu_millis = excluded.cpu_millis, memory_mib = excluded.memory_mib, storage_mib = excluded.storage_mib,
        gpus = excluded.gpus, bid_deadline = excluded.bid_deadline`),
    deleteReservation: db.prepare('DELETE FROM reservations WHERE order_id = ?'),
    sumReservations: db.prepare(
      'SELECT COALESCE(SUM(cpu_millis),0) AS cpu, COALESCE(SUM(memory_mib),0) AS mem, COALESCE(SUM(storage_mib),0) AS sto, COALESCE(SUM(gpus),0) AS gpu FROM reservations',
    ),
    getLease: db.prepare('SELECT * FROM leases WHERE lease_id = ?'),
    insertLease: db.prepare(`
      INSERT INTO leases (lease_id, order_id, round, tenant, manifest_hash, price, status, seen_at)
      VALUES (@leaseId, @orderId, @round, @tenant, @manifestHash, @price, 'waiting-manifest', @seenAt)
      ON CONFLICT(lease_id) DO NOTHING`),
    leasesNotClosed: db.prepare("SELECT * FROM leases WHERE status != 'closed' ORDER BY seen_at"),
    leasesClosedBefore: db.prepare("SELECT * FROM leases WHERE status = 'closed' AND closed_at < ?"),
    leasesUncollected: db.prepare(
      "SELECT * FROM leases WHERE status = 'closed' AND collected = 0 ORDER BY seen_at",
    ),
    allLeases: db.prepare('SELECT * FROM leases ORDER BY seen_at'),
    deleteLease: db.prepare('DELETE FROM leases WHERE lease_id = ?'),
    insertNonce: db.prepare('INSERT OR IGNORE INTO nonces (signer, nonce, expiry) VALUES (?, ?, ?)'),
    pruneNonces: db.prepare('DELETE FROM nonces WHERE expiry < ?'),
  }

  function orderFromRow(row: Row): OrderRow {
    return {
      orderId: BigInt(row.order_id as string),
      tenant: row.tenant as Hex,
      resources: {
        cpuMillis: row.cpu_millis as number,
        memoryMiB: row.memory_mib as number,
        storageMiB: row.storage_mib as number,
        gpus: row.gpus as number,
      },
      gpuModel: row.gpu_model as Hex,
      regionMask: row.region_mask as number,
      maxPricePerSecond: BigInt(row.max_price as string),
      deposit: BigInt(row.deposit as string),
      manifestHash: row.manifest_hash as Hex,
      manifestUri: row.manifest_uri as string,
      autoReopen: row.auto_reopen === 1,
      state: row.state as OrderState,
      round: row.round as number,
      bidDeadline: row.bid_deadline as number,
      createdBlock: BigInt(row.created_block as string),
    }
  }

  function bidFromRow(row: Row): BidRow {
    return {
      orderId: BigInt(row.order_id as string),
      round: row.round as number,
      pricePerSecond: BigInt(row.price as string),
      status: row.status as BidStatus,
      txHash: (row.tx_hash as Hex | null) ?? undefined,
      error: (row.error as string | null) ?? undefined,
      createdAt: row.created_at as number,
    }
  }

  function reservationFromRow(row: Row): ReservationRow {
    return {
      orderId: BigInt(row.order_id as string),
      round: row.round as number,
      kind: row.kind as ReservationKind,
      leaseId: row.lease_id === null ? undefined : BigInt(row.lease_id as string),
      resources: {
        cpuMillis: row.cpu_millis as number,
        memoryMiB: row.memory_mib as number,
        storageMiB: row.storage_mib as number,
        gpus: row.gpus as number,
      },
      bidDeadline: row.bid_deadline as number,
      createdAt: row.created_at as number,
    }
  }

  function leaseFromRow(row: Row): LeaseRow {
    return {
      leaseId: BigInt(row.lease_id as string),
      orderId: BigInt(row.order_id as string),
      round: row.round as number,
      tenant: row.tenant as Hex,
      manifestHash: row.manifest_hash as Hex,
      pricePerSecond: BigInt(row.price as string),
      status: row.status as LeaseStatus,
      seenAt: row.seen_at as number,
      manifestAt: (row.manifest_at as number | null) ?? undefined,
      runningAt: (row.running_at as number | null) ?? undefined,
      closedAt: (row.closed_at as number | null) ?? undefined,
      closeReason: (row.close_reason as string | null) ?? undefined,
      workloads: JSON.parse(row.workloads as string, (_key, value) => (value === null ? undefined : value)),
      error: (row.error as string | null) ?? undefined,
      settledTotal: BigInt(row.settled_total as string),
      collected: row.collected === 1,
    }
  }

  return {
    db,
    filename,

    getMeta(key: string): string | undefined {
      return (statements.getMeta.get(key) as { value: string } | undefined)?.value
    },
    setMeta(key: string, value: string): void {
      statements.setMeta.run(key, value)
    },

    /** Forgets everything derived from a chain (used when the deployment changed). */
    resetChainState(): void {
      db.exec(
        'DELETE FROM cursor; DELETE FROM orders; DELETE FROM bids; DELETE FROM reservations; DELETE FROM leases;',
      )
    },

    getCursor(name: string): bigint | undefined {
      const row = statements.getCursor.get(name) as { block: string } | undefined
      return row ? BigInt(row.block) : undefined
    },
    setCursor(name: string, block: bigint): void {
      statements.setCursor.run(name, block.toString())
    },

    /** Records an order from its `OrderCreated` log (a second call for the same order changes nothing). */
    insertOrder(order: OrderRow): void {
      statements.upsertOrder.run({
        orderId: order.orderId.toString(),
        tenant: order.tenant,
        ...order.resources,
        gpuModel: order.gpuModel,
        regionMask: order.regionMask,
        maxPrice: order.maxPricePerSecond.toString(),
        deposit: order.deposit.toString(),
        manifestHash: order.manifestHash,
        manifestUri: order.manifestUri,
        autoReopen: order.autoReopen ? 1 : 0,
        state: order.state,
        round: order.round,
        bidDeadline: order.bidDeadline,
        createdBlock: order.createdBlock.toString(),
      })
    },
    updateOrderRound(
      orderId: bigint,
      fields: { state: OrderState; round: number; bidDeadline: number },
    ): void {
      statements.updateOrderRound.run({ orderId: orderId.toString(), ...fields })
    },
    setOrderState(orderId: bigint, state: OrderState): void {
      statements.updateOrderState.run(state, orderId.toString())
    },
    getOrder(orderId: bigint): OrderRow | undefined {
      const row = statements.getOrder.get(orderId.toString()) as Row | undefined
      return row ? orderFromRow(row) : undefined
    },
    /** Orders not known to be closed (Open or Leased), oldest first. */
    liveOrders(): OrderRow[] {
      return (statements.ordersNotClosed.all() as Row[]).map(orderFromRow)
    },
    ordersInState(state: OrderState): OrderRow[] {
      return (statements.ordersByState.all(state) as Row[]).map(orderFromRow)
    },

    getBid(orderId: bigint, round: number): BidRow | undefined {
      const row = statements.getBid.get(orderId.toString(), round) as Row | undefined
      return row ? bidFromRow(row) : undefined
    },
    putBid(bid: {
      orderId: bigint
      round: number
      pricePerSecond: bigint
      status: BidStatus
      txHash?: Hex | undefined
      error?: string | undefined
    }): void {
      statements.putBid.run({
        orderId: bid.orderId.toString(),
        round: bid.round,
        price: bid.pricePerSecond.toString(),
        status: bid.status,
        txHash: bid.txHash ?? null,
        error: bid.error ?? null,
        now: Date.now(),
      })
    },
    bidCounts(): Record<string, number> {
      const counts: Record<string, number> = {}
      for (const row of statements.countBids.all() as { status: string; n: number }[])
        counts[row.status] = row.n
      return counts
    },

    getReservation(orderId: bigint): ReservationRow | undefined {
      const row = statements.getReservation.get(orderId.toString()) as Row | undefined
      return row ? reservationFromRow(row) : undefined
    },
    reservations(): ReservationRow[] {
      return (statements.allReservations.all() as Row[]).map(reservationFromRow)
    },
    /** Sum of every reservation. */
    reserved(): Resources {
      const row = statements.sumReservations.get() as { cpu: number; mem: number; sto: number; gpu: number }
      return addResources(noResources, {
        cpuMillis: row.cpu,
        memoryMiB: row.mem,
        storageMiB: row.sto,
        gpus: row.gpu,
      })
    },
    /**
     * Reserves `resources` for an order when they fit in `total` minus what is already reserved
     * (excluding this order's own reservation), atomically. Returns false when they do not fit.
     */
    reserve(reservation: Omit<ReservationRow, 'createdAt'>, total: Resources): boolean {
      return db
        .transaction(() => {
          const existing = this.getReservation(reservation.orderId)
          const reserved = this.reserved()
          const others = existing
            ? {
                cpuMillis: reserved.cpuMillis - existing.resources.cpuMillis,
                memoryMiB: reserved.memoryMiB - existing.resources.memoryMiB,
                storageMiB: reserved.storageMiB - existing.resources.storageMiB,
                gpus: reserved.gpus - existing.resources.gpus,
              }
            : reserved
          const after = addResources(others, reservation.resources)
          if (
            after.cpuMillis > total.cpuMillis ||
            after.memoryMiB > total.memoryMiB ||
            after.storageMiB > total.storageMiB ||
            after.gpus > total.gpus
          ) {
            return false
          }
          statements.putReservation.run({
            orderId: reservation.orderId.toString(),
            round: reservation.round,
            kind: reservation.kind,
            leaseId: reservation.leaseId?.toString() ?? null,
            ...reservation.resources,
            bidDeadline: reservation.bidDeadline,
            createdAt: existing?.createdAt ?? Date.now(),
          })
          return true
        })
        .immediate()
    },
    release(orderId: bigint): boolean {
      return statements.deleteReservation.run(orderId.toString()).changes > 0
    },

    getLease(leaseId: bigint): LeaseRow | undefined {
      const row = statements.getLease.get(leaseId.toString()) as Row | undefined
      return row ? leaseFromRow(row) : undefined
    },
    /** Records a lease won by this provider, waiting for its manifest. Returns false when it was known. */
    insertLease(lease: {
      leaseId: bigint
      orderId: bigint
      round: number
      tenant: Hex
      manifestHash: Hex
      pricePerSecond: bigint
      seenAt: number
    }): boolean {
      return (
        statements.insertLease.run({
          leaseId: lease.leaseId.toString(),
          orderId: lease.orderId.toString(),
          round: lease.round,
          tenant: lease.tenant,
          manifestHash: lease.manifestHash,
          price: lease.pricePerSecond.toString(),
          seenAt: lease.seenAt,
        }).changes > 0
      )
    },
    updateLease(
      leaseId: bigint,
      fields: Partial<
        Pick<
          LeaseRow,
          | 'status'
          | 'manifestAt'
          | 'runningAt'
          | 'closedAt'
          | 'closeReason'
          | 'workloads'
          | 'error'
          | 'settledTotal'
          | 'collected'
        >
      >,
    ): void {
      const columns: Record<string, unknown> = {}
      if (fields.status !== undefined) columns.status = fields.status
      if (fields.manifestAt !== undefined) columns.manifest_at = fields.manifestAt
      if (fields.runningAt !== undefined) columns.running_at = fields.runningAt
      if (fields.closedAt !== undefined) columns.closed_at = fields.closedAt
      if (fields.closeReason !== undefined) columns.close_reason = fields.closeReason
      if (fields.workloads !== undefined) columns.workloads = JSON.stringify(fields.workloads)
      if ('error' in fields) columns.error = fields.error ?? null
      if (fields.settledTotal !== undefined) columns.settled_total = fields.settledTotal.toString()
      if (fields.collected !== undefined) columns.collected = fields.collected ? 1 : 0
      const names = Object.keys(columns)
      if (names.length === 0) return
      db.prepare(
        `UPDATE leases SET ${names.map((name) => `${name} = @${name}`).join(', ')} WHERE lease_id = @leaseId`,
      ).run({
        ...columns,
        leaseId: leaseId.toString(),
      })
    },
    /** Leases not closed (waiting for a manifest, starting or running). */
    liveLeases(): LeaseRow[] {
      return (statements.leasesNotClosed.all() as Row[]).map(leaseFromRow)
    },
    leases(): LeaseRow[] {
      return (statements.allLeases.all() as Row[]).map(leaseFromRow)
    },
    /** Closed leases whose earnings the settler has not finished withdrawing. */
    uncollectedLeases(): LeaseRow[] {
      return (statements.leasesUncollected.all() as Row[]).map(leaseFromRow)
    },
    leasesClosedBefore(time: number): LeaseRow[] {
      return (statements.leasesClosedBefore.all(time) as Row[]).map(leaseFromRow)
    },
    deleteLease(leaseId: bigint): void {
      statements.deleteLease.run(leaseId.toString())
    },

    /** Records a (signer, nonce) until its expiry; false when it was already used (a replay). */
    useNonce(signer: string, nonce: bigint, expiry: number): boolean {
      return statements.insertNonce.run(signer.toLowerCase(), nonce.toString(), expiry).changes > 0
    },
    /** Drops nonces whose expiry passed (they can no longer be replayed: the signature is expired). */
    pruneNonces(nowSeconds: number): number {
      return statements.pruneNonces.run(nowSeconds).changes
    },

    close(): void {
      if (db.open) db.close()
    },
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version] as string)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
}
