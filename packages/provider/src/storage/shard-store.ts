import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Writable } from 'node:stream'
import {
  createMerkleBuilder,
  LEAF_SIZE,
  leafCountOf,
  NODE_SIZE,
  nodeCountAt,
  treeHeight,
} from '@stoa/storage'
import { type Address, bytesToHex, type Hex } from 'viem'
import { type Logger, silentLogger } from '../logger.ts'
import type { StateStore } from '../state/store.ts'
import { StorageRequestError } from './errors.ts'

/**
 * The provider's shards on disk and in SQLite (docs/storage-spec.md sections 2 and 4).
 *
 * Files are content-addressed under `<dir>`: `<root>.data` holds the shard bytes and `<root>.tree`
 * the Merkle levels `KEPT_LEVEL` and up, concatenated level by level (level `l` has
 * `ceil(leafCount / 2^l)` nodes of 32 bytes). An upload streams into `tmp/<uploadId>.part`; its
 * progress in the database only ever counts bytes already fsync'd, so after a crash the part file
 * is cut back to that count and the upload resumes from there. Only when every byte arrived and
 * the root is computed are the tree and the data renamed into place (the directory fsync'd), and
 * only then does the database name the root: a killed upload never leaves an addressable half shard.
 *
 * Capacity: uploads in progress reserve their whole declared size, held shards use theirs; an upload
 * that does not fit is refused (507).
 */

/**
 * Lowest Merkle level kept on disk: a proof rebuilds the 64 leaves (`64 * LEAF_SIZE` bytes) below one
 * level-6 node.
 */
export const KEPT_LEVEL = 6
/** Leaves under one kept node. */
export const LEAVES_PER_KEPT_NODE = 2 ** KEPT_LEVEL
/** Bytes of data past which levels under KEPT_LEVEL are not rebuilt on request. */
const MAX_REBUILD_BYTES = 16 * 1024 * 1024
/** Progress is fsync'd and recorded every this many bytes. */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024
const READ_CHUNK_BYTES = 4 * 1024 * 1024
/** Bytes per read of a shard served to a reader. */
const DATA_READ_BYTES = 1024 * 1024
/** Read buffers kept for the next requests (MiB). */
const MAX_SPARE_READS = 16

/**
 * The storage tables, in the daemon's state database: uploads in progress, shards held, and the
 * deal slots this provider fills. Versioned on their own (meta key `storage_schema`), so the
 * compute schema's migrations stay as they are.
 */
const storageMigrations: string[] = [
  `
  CREATE TABLE storage_uploads (
    upload_id TEXT PRIMARY KEY,
    uploader TEXT NOT NULL,
    size INTEGER NOT NULL,
    erasure_index INTEGER NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    root TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX storage_uploads_root ON storage_uploads (root);
  CREATE TABLE storage_shards (
    root TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    leaf_count INTEGER NOT NULL,
    state TEXT NOT NULL,
    deal_id TEXT,
    shard_index INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
  );
  CREATE TABLE storage_deal_shards (
    deal_id TEXT NOT NULL,
    shard_index INTEGER NOT NULL,
    root TEXT NOT NULL,
    size INTEGER NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    start_block TEXT NOT NULL,
    period_blocks INTEGER NOT NULL,
    window_blocks INTEGER NOT NULL,
    periods INTEGER NOT NULL,
    last_proof_period INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (deal_id, shard_index)
  );
  CREATE INDEX storage_deal_shards_root ON storage_deal_shards (root);
  `,
]

function migrateStorage(store: StateStore): void {
  const current = Number(store.getMeta('storage_schema') ?? '0')
  for (let version = current; version < storageMigrations.length; version++) {
    store.db.transaction(() => {
      store.db.exec(storageMigrations[version] as string)
      store.setMeta('storage_schema', String(version + 1))
    })()
  }
}

export type UploadState = 'uploading' | 'done'
export type ShardState = 'held' | 'in-deal' | 'deleting'
export type DealShardState = 'active' | 'lost' | 'replaced' | 'ended'

export type UploadRow = {
  uploadId: string
  uploader: Address
  size: number
  erasureIndex: number
  /** Bytes received and fsync'd. */
  received: number
  state: UploadState
  root: Hex | undefined
  createdAt: number
  /** Unix seconds. */
  expiresAt: number
}

export type ShardRow = {
  root: Hex
  size: number
  leafCount: number
  state: ShardState
  /** The last deal that named it (a shard may serve several over time). */
  dealId: bigint | undefined
  shardIndex: number | undefined
  createdAt: number
  /** Unix seconds when a shard no deal names is deleted; undefined while a deal names it. */
  expiresAt: number | undefined
}

/** One slot of a deal on chain that this provider fills. */
export type DealShardRow = {
  dealId: bigint
  shardIndex: number
  root: Hex
  size: number
  owner: Address
  state: DealShardState
  startBlock: bigint
  periodBlocks: number
  windowBlocks: number
  periods: number
  /** The last period a proof was accepted for (-1: none). */
  lastProofPeriod: number
}

export type StorageUsage = {
  capacity: number
  /** Bytes of shards held. */
  held: number
  /** Bytes reserved by uploads in progress. */
  reserved: number
  used: number
  free: number
}

export type WriteUploadResult =
  | { complete: true; root: Hex; size: number }
  | { complete: false; received: number; size: number }

export type ShardStoreInit = {
  /** The shard directory (`<dataDir>/shards`). */
  dir: string
  capacityBytes: number
  uploadTtlSeconds: number
}

export type ShardStoreComponents = {
  store: StateStore
  logger?: Logger
}

export type ShardStore = ReturnType<typeof createShardStoreInternal>

export function shardStore(init: ShardStoreInit): (components: ShardStoreComponents) => ShardStore {
  return (components) => createShardStoreInternal(init, components)
}

type Row = Record<string, unknown>

function createShardStoreInternal(init: ShardStoreInit, components: ShardStoreComponents) {
  migrateStorage(components.store)
  const { db } = components.store
  const logger = components.logger ?? silentLogger
  const tmpDir = path.join(init.dir, 'tmp')
  /** Uploads being written by a request now: a new PUT for the same upload stops the old one first. */
  const writers = new Map<string, { controller: AbortController; done: Promise<unknown> }>()

  const statements = {
    insertUpload: db.prepare(`
      INSERT INTO storage_uploads (upload_id, uploader, size, erasure_index, received, state, root, created_at, expires_at)
      VALUES (@uploadId, @uploader, @size, @erasureIndex, 0, 'uploading', NULL, @createdAt, @expiresAt)`),
    getUpload: db.prepare('SELECT * FROM storage_uploads WHERE upload_id = ?'),
    uploadsInState: db.prepare('SELECT * FROM storage_uploads WHERE state = ?'),
    uploadsOfRoot: db.prepare('SELECT * FROM storage_uploads WHERE root = ?'),
    setReceived: db.prepare('UPDATE storage_uploads SET received = ? WHERE upload_id = ?'),
    finishUpload: db.prepare(
      "UPDATE storage_uploads SET state = 'done', received = size, root = ? WHERE upload_id = ?",
    ),
    deleteUpload: db.prepare('DELETE FROM storage_uploads WHERE upload_id = ?'),
    deleteUploadsOfRoot: db.prepare('DELETE FROM storage_uploads WHERE root = ?'),
    expiredUploads: db.prepare("SELECT * FROM storage_uploads WHERE state = 'uploading' AND expires_at < ?"),
    sumReserved: db.prepare(
      "SELECT COALESCE(SUM(size), 0) AS n FROM storage_uploads WHERE state = 'uploading'",
    ),
    sumHeld: db.prepare('SELECT COALESCE(SUM(size), 0) AS n FROM storage_shards'),
    insertShard: db.prepare(`
      INSERT INTO storage_shards (root, size, leaf_count, state, deal_id, shard_index, created_at, expires_at)
      VALUES (@root, @size, @leafCount, 'held', NULL, NULL, @createdAt, @expiresAt)
      ON CONFLICT(root) DO UPDATE SET expires_at = CASE
        WHEN storage_shards.expires_at IS NULL THEN NULL
        ELSE MAX(storage_shards.expires_at, excluded.expires_at) END`),
    getShard: db.prepare('SELECT * FROM storage_shards WHERE root = ?'),
    allShards: db.prepare('SELECT * FROM storage_shards ORDER BY created_at'),
    expiredShards: db.prepare(
      "SELECT * FROM storage_shards WHERE state = 'held' AND expires_at IS NOT NULL AND expires_at < ?",
    ),
    extendShard: db.prepare(
      'UPDATE storage_shards SET expires_at = MAX(expires_at, ?) WHERE root = ? AND expires_at IS NOT NULL',
    ),
    setShardState: db.prepare(
      'UPDATE storage_shards SET state = @state, deal_id = @dealId, shard_index = @shardIndex, expires_at = @expiresAt WHERE root = @root',
    ),
    markShardDeleting: db.prepare("UPDATE storage_shards SET state = 'deleting' WHERE root = ?"),
    deleteShard: db.prepare('DELETE FROM storage_shards WHERE root = ?'),
    upsertDealShard: db.prepare(`
      INSERT INTO storage_deal_shards (deal_id, shard_index, root, size, owner, state, start_block, period_blocks,
        window_blocks, periods, last_proof_period)
      VALUES (@dealId, @shardIndex, @root, @size, @owner, @state, @startBlock, @periodBlocks, @windowBlocks, @periods,
        @lastProofPeriod)
      ON CONFLICT(deal_id, shard_index) DO UPDATE SET root = excluded.root, size = excluded.size,
        owner = excluded.owner, state = excluded.state, start_block = excluded.start_block,
        period_blocks = excluded.period_blocks, window_blocks = excluded.window_blocks, periods = excluded.periods,
        last_proof_period = MAX(storage_deal_shards.last_proof_period, excluded.last_proof_period)`),
    getDealShard: db.prepare('SELECT * FROM storage_deal_shards WHERE deal_id = ? AND shard_index = ?'),
    dealShardsOfDeal: db.prepare('SELECT * FROM storage_deal_shards WHERE deal_id = ? ORDER BY shard_index'),
    dealShardsOfRoot: db.prepare('SELECT * FROM storage_deal_shards WHERE root = ?'),
    dealShardsInState: db.prepare(
      'SELECT * FROM storage_deal_shards WHERE state = ? ORDER BY CAST(deal_id AS INTEGER), shard_index',
    ),
    setDealShardState: db.prepare(
      'UPDATE storage_deal_shards SET state = ? WHERE deal_id = ? AND shard_index = ?',
    ),
    setLastProof: db.prepare(
      'UPDATE storage_deal_shards SET last_proof_period = MAX(last_proof_period, ?) WHERE deal_id = ? AND shard_index = ?',
    ),
  }

  const dataPath = (root: Hex) => path.join(init.dir, `${root.toLowerCase()}.data`)
  const treePath = (root: Hex) => path.join(init.dir, `${root.toLowerCase()}.tree`)
  const partPath = (uploadId: string) => path.join(tmpDir, `${uploadId}.part`)
  const nowSeconds = () => Math.floor(Date.now() / 1000)

  function uploadFromRow(row: Row): UploadRow {
    return {
      uploadId: row.upload_id as string,
      uploader: row.uploader as Address,
      size: row.size as number,
      erasureIndex: row.erasure_index as number,
      received: row.received as number,
      state: row.state as UploadState,
      root: (row.root as Hex | null) ?? undefined,
      createdAt: row.created_at as number,
      expiresAt: row.expires_at as number,
    }
  }

  function shardFromRow(row: Row): ShardRow {
    return {
      root: row.root as Hex,
      size: row.size as number,
      leafCount: row.leaf_count as number,
      state: row.state as ShardState,
      dealId: row.deal_id === null ? undefined : BigInt(row.deal_id as string),
      shardIndex: (row.shard_index as number | null) ?? undefined,
      createdAt: row.created_at as number,
      expiresAt: (row.expires_at as number | null) ?? undefined,
    }
  }

  function dealShardFromRow(row: Row): DealShardRow {
    return {
      dealId: BigInt(row.deal_id as string),
      shardIndex: row.shard_index as number,
      root: row.root as Hex,
      size: row.size as number,
      owner: row.owner as Address,
      state: row.state as DealShardState,
      startBlock: BigInt(row.start_block as string),
      periodBlocks: row.period_blocks as number,
      windowBlocks: row.window_blocks as number,
      periods: row.periods as number,
      lastProofPeriod: row.last_proof_period as number,
    }
  }

  function usage(): StorageUsage {
    const held = (statements.sumHeld.get() as { n: number }).n
    const reserved = (statements.sumReserved.get() as { n: number }).n
    const used = held + reserved
    return {
      capacity: init.capacityBytes,
      held,
      reserved,
      used,
      free: Math.max(0, init.capacityBytes - used),
    }
  }

  function getUpload(uploadId: string): UploadRow | undefined {
    const row = statements.getUpload.get(uploadId) as Row | undefined
    return row ? uploadFromRow(row) : undefined
  }

  function getShard(root: Hex): ShardRow | undefined {
    const row = statements.getShard.get(root.toLowerCase()) as Row | undefined
    return row ? shardFromRow(row) : undefined
  }

  /** Reserves `size` bytes for a new upload (507 when they do not fit). */
  function createUpload(parameters: { uploader: Address; size: number; erasureIndex: number }): UploadRow {
    const createdAt = nowSeconds()
    const uploadId = randomBytes(16).toString('hex')
    // better-sqlite3 runs a transaction synchronously: no other upload can slip in between.
    db.transaction(() => {
      const { free } = usage()
      if (parameters.size > free) {
        throw new StorageRequestError(
          507,
          'insufficient-storage',
          `This provider has ${free} bytes of storage free; the upload needs ${parameters.size}.`,
          { extra: { free, needed: parameters.size } },
        )
      }
      statements.insertUpload.run({
        uploadId,
        uploader: parameters.uploader,
        size: parameters.size,
        erasureIndex: parameters.erasureIndex,
        createdAt,
        expiresAt: createdAt + init.uploadTtlSeconds,
      })
    })()
    return getUpload(uploadId) as UploadRow
  }

  /** The upload, if `signer` made it and it can still take bytes. */
  function uploadFor(uploadId: string, signer: Address): UploadRow {
    const upload = getUpload(uploadId)
    if (!upload) throw new StorageRequestError(404, 'upload-not-found', `No upload ${uploadId}.`)
    if (upload.uploader.toLowerCase() !== signer.toLowerCase()) {
      throw new StorageRequestError(403, 'not-uploader', `Upload ${uploadId} belongs to another account.`)
    }
    return upload
  }

  /**
   * Writes the bytes of `body` at `offset` of the upload (`offset` at most what was received: a
   * resume after a cut). When all `size` bytes are there, builds the tree, moves the shard into
   * place and returns its root; before, returns what was received (durably).
   */
  async function writeUpload(parameters: {
    uploadId: string
    signer: Address
    offset: number
    body: AsyncIterable<Uint8Array> | Uint8Array | undefined
    contentLength?: number | undefined
  }): Promise<WriteUploadResult> {
    const { uploadId, offset } = parameters
    let upload = uploadFor(uploadId, parameters.signer)
    if (upload.state === 'done') {
      throw new StorageRequestError(409, 'upload-complete', `Upload ${uploadId} is complete.`, {
        extra: { root: upload.root, size: upload.size },
      })
    }
    if (upload.expiresAt < nowSeconds()) {
      throw new StorageRequestError(410, 'upload-expired', `Upload ${uploadId} expired.`)
    }
    if (parameters.contentLength !== undefined && offset + parameters.contentLength > upload.size) {
      throw new StorageRequestError(
        413,
        'body-exceeds-size',
        `${parameters.contentLength} bytes at offset ${offset} pass the upload's size of ${upload.size} bytes.`,
      )
    }
    // One writer per upload: a resumed PUT stops one the server still thinks is running.
    const previous = writers.get(uploadId)
    if (previous) {
      previous.controller.abort()
      await previous.done.catch(() => {})
      upload = uploadFor(uploadId, parameters.signer)
    }
    if (offset > upload.received) {
      throw new StorageRequestError(
        409,
        'offset-mismatch',
        `Upload ${uploadId} has ${upload.received} bytes; resume at ?offset=${upload.received} or before.`,
        { extra: { received: upload.received } },
      )
    }
    const controller = new AbortController()
    const done = writeBytes(upload, offset, parameters.body, controller.signal)
    const entry = { controller, done }
    writers.set(uploadId, entry)
    try {
      return await done
    } finally {
      if (writers.get(uploadId) === entry) writers.delete(uploadId)
    }
  }

  async function writeBytes(
    upload: UploadRow,
    offset: number,
    body: AsyncIterable<Uint8Array> | Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<WriteUploadResult> {
    await mkdir(tmpDir, { recursive: true })
    const file = partPath(upload.uploadId)
    const handle = await open(file, offset === 0 ? 'w+' : 'r+').catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      // The part file vanished (removed by hand): start over.
      statements.setReceived.run(0, upload.uploadId)
      throw new StorageRequestError(
        409,
        'offset-mismatch',
        `Upload ${upload.uploadId} has 0 bytes; resume at ?offset=0.`,
        {
          extra: { received: 0 },
        },
      )
    })
    let position = offset
    let durable = offset
    // A newer PUT of the same upload stops this one even while its connection sends nothing.
    const destroyBody = () => (body as { destroy?: (error?: Error) => void } | undefined)?.destroy?.()
    signal.addEventListener('abort', destroyBody, { once: true })
    try {
      await handle.truncate(offset)
      const builder = createMerkleBuilder({ keepLevelsFrom: KEPT_LEVEL })
      // Rebuild the hashing state from the bytes already here (a resumed upload).
      if (offset > 0) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, offset))
        for (let at = 0; at < offset; ) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, offset - at), at)
          if (bytesRead === 0) throw new Error(`the part file of upload ${upload.uploadId} is short`)
          builder.update(buffer.subarray(0, bytesRead))
          at += bytesRead
        }
      }
      const chunks: AsyncIterable<Uint8Array> | Uint8Array[] =
        body === undefined ? [] : body instanceof Uint8Array ? [body] : body
      for await (const chunk of chunks) {
        if (signal.aborted)
          throw new StorageRequestError(409, 'upload-interrupted', 'A newer request resumed this upload.')
        if (chunk.length === 0) continue
        if (position + chunk.length > upload.size) {
          throw new StorageRequestError(
            413,
            'body-exceeds-size',
            `The body passes the upload's size of ${upload.size} bytes.`,
          )
        }
        await handle.write(chunk, 0, chunk.length, position)
        builder.update(chunk)
        position += chunk.length
        if (position - durable >= SYNC_EVERY_BYTES) {
          await handle.datasync()
          durable = position
          statements.setReceived.run(durable, upload.uploadId)
        }
      }
      await handle.datasync()
      durable = position
      statements.setReceived.run(durable, upload.uploadId)
      if (position < upload.size) return { complete: false, received: position, size: upload.size }

      const tree = builder.finish()
      const root = bytesToHex(tree.root)
      await handle.close()
      await placeShard(root, tree.levels, tree.leafCount, file)
      const expiresAt = nowSeconds() + init.uploadTtlSeconds
      db.transaction(() => {
        statements.insertShard.run({
          root,
          size: upload.size,
          leafCount: tree.leafCount,
          createdAt: nowSeconds(),
          expiresAt,
        })
        statements.finishUpload.run(root, upload.uploadId)
      })()
      // A deal may already name it (an upload of a root held before, or a repair).
      refreshShard(root)
      logger.info({ root, size: upload.size, uploadId: upload.uploadId }, 'shard stored')
      return { complete: true, root, size: upload.size }
    } catch (error) {
      // Keep what arrived: fsync it and record it, so the client resumes from there.
      try {
        await handle.datasync()
        statements.setReceived.run(Math.min(position, upload.size), upload.uploadId)
      } catch {
        // The handle is closed (the shard was placed) or the disk failed: the recorded count stands.
      }
      throw error
    } finally {
      signal.removeEventListener('abort', destroyBody)
      await handle.close().catch(() => {})
    }
  }

  /** Writes the tree file, then renames tree and data into place and fsyncs the directory. */
  async function placeShard(root: Hex, levels: Map<number, Uint8Array>, leafCount: number, part: string) {
    const height = treeHeight(leafCount)
    const treeTmp = path.join(tmpDir, `${root.slice(2)}.${randomBytes(4).toString('hex')}.tree`)
    const tree = await open(treeTmp, 'w')
    try {
      let position = 0
      for (let level = KEPT_LEVEL; level <= height; level++) {
        const nodes = levels.get(level)
        if (!nodes || nodes.length !== nodeCountAt(leafCount, level) * NODE_SIZE) {
          throw new Error(`the Merkle builder kept no level ${level} for ${root}`)
        }
        await tree.write(nodes, 0, nodes.length, position)
        position += nodes.length
      }
      await tree.datasync()
    } finally {
      await tree.close()
    }
    await rename(treeTmp, treePath(root))
    await rename(part, dataPath(root))
    await fsyncDir(init.dir)
    await fsyncDir(tmpDir)
  }

  /** The level-`level` nodes of a shard's tree (kept levels from the tree file, lower ones rebuilt for small shards). */
  async function readNodes(shard: ShardRow, level: number): Promise<Uint8Array> {
    const height = treeHeight(shard.leafCount)
    if (level > height) {
      throw new StorageRequestError(
        400,
        'invalid-query',
        `The tree of ${shard.root} has levels 0 to ${height}; ?level=${level} is above its root.`,
      )
    }
    if (level >= KEPT_LEVEL) {
      let offset = 0
      for (let l = KEPT_LEVEL; l < level; l++) offset += nodeCountAt(shard.leafCount, l) * NODE_SIZE
      const length = nodeCountAt(shard.leafCount, level) * NODE_SIZE
      const handle = await open(treePath(shard.root), 'r')
      try {
        const nodes = Buffer.alloc(length)
        const { bytesRead } = await handle.read(nodes, 0, length, offset)
        if (bytesRead !== length) throw new Error(`the tree file of ${shard.root} is short`)
        return nodes
      } finally {
        await handle.close()
      }
    }
    if (shard.size > MAX_REBUILD_BYTES) {
      throw new StorageRequestError(
        400,
        'level-not-kept',
        `This provider keeps levels ${KEPT_LEVEL} and up of shards over ${MAX_REBUILD_BYTES} bytes; ask for ?level=${KEPT_LEVEL} or higher.`,
      )
    }
    const builder = createMerkleBuilder({ keepLevelsFrom: level })
    builder.update(await readFile(dataPath(shard.root)))
    const nodes = builder.finish().levels.get(level)
    if (!nodes) throw new Error(`the Merkle builder kept no level ${level} for ${shard.root}`)
    return nodes
  }

  /** The whole tree file (levels KEPT_LEVEL and up), for the prover. */
  async function readTree(root: Hex): Promise<Uint8Array> {
    return await readFile(treePath(root))
  }

  /** Bytes `[start, end)` of a shard's data (fewer at the end of the file). */
  async function readData(root: Hex, start: number, end: number): Promise<Uint8Array> {
    const handle = await open(dataPath(root), 'r')
    try {
      const buffer = Buffer.alloc(end - start)
      let at = 0
      while (at < buffer.length) {
        const { bytesRead } = await handle.read(buffer, at, buffer.length - at, start + at)
        if (bytesRead === 0) break
        at += bytesRead
      }
      return buffer.subarray(0, at)
    } finally {
      await handle.close()
    }
  }

  // Read buffers for `sendData`, kept between requests: a served byte then costs no allocation, no
  // page fault on fresh memory and no garbage. Dropped after a quiet minute (idle memory).
  const spareReads: Buffer[] = []
  let dropSpares: ReturnType<typeof setTimeout> | undefined
  const takeReadBuffer = (): Buffer => spareReads.pop() ?? Buffer.allocUnsafeSlow(DATA_READ_BYTES)
  const giveReadBuffer = (buffer: Buffer) => {
    if (spareReads.length < MAX_SPARE_READS) spareReads.push(buffer)
    clearTimeout(dropSpares)
    dropSpares = setTimeout(() => {
      spareReads.length = 0
    }, 60_000)
    dropSpares.unref()
  }

  /**
   * Writes bytes `[start, end]` (inclusive) of a shard to `out` (a response), 1 MiB per read, and
   * resolves once all are handed to it. Each read lands in a reused buffer, which comes back when
   * `out` calls the write's callback (the bytes are then with the kernel); the next read runs
   * while the previous chunk is written. Rejects if `out` closes or fails first, or the file is
   * shorter than the range.
   */
  async function sendData(root: Hex, range: { start: number; end: number }, out: Writable): Promise<void> {
    const handle = await open(dataPath(root), 'r')
    // Settles once `out` can take more (drain) or is gone (close, error).
    let writable: Promise<void> | undefined
    const waitWritable = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done)
          out.off('close', done)
          out.off('error', done)
          resolve()
        }
        out.on('drain', done)
        out.on('close', done)
        out.on('error', done)
      })
    try {
      for (let position = range.start; position <= range.end; ) {
        const buffer = takeReadBuffer()
        let bytesRead = 0
        try {
          const length = Math.min(buffer.length, range.end + 1 - position)
          ;({ bytesRead } = await handle.read(buffer, 0, length, position))
          if (writable) await writable
          writable = undefined
          if (out.destroyed || out.writableEnded) throw new Error('the reader closed the connection')
          if (bytesRead === 0) throw new Error(`shard ${root} ends before byte ${position}`)
        } catch (error) {
          giveReadBuffer(buffer)
          throw error
        }
        position += bytesRead
        // The buffer comes back once `out` is done with it (an error: it may still hold it).
        if (!out.write(buffer.subarray(0, bytesRead), (error) => error || giveReadBuffer(buffer))) {
          writable = waitWritable()
        }
      }
    } finally {
      await handle.close()
    }
  }

  async function hasData(root: Hex): Promise<boolean> {
    try {
      await stat(dataPath(root))
      return true
    } catch {
      return false
    }
  }

  /** Removes a shard: marked deleting, files unlinked, rows gone (redone at start after a crash). */
  async function deleteShard(root: Hex, reason: string): Promise<void> {
    const key = root.toLowerCase() as Hex
    statements.markShardDeleting.run(key)
    await rm(dataPath(key), { force: true })
    await rm(treePath(key), { force: true })
    await fsyncDir(init.dir).catch(() => {})
    db.transaction(() => {
      statements.deleteShard.run(key)
      statements.deleteUploadsOfRoot.run(key)
    })()
    logger.info({ root: key, reason }, 'shard deleted')
  }

  /**
   * Puts a shard's state in line with the deal slots naming it: in a deal while one is active or
   * lost (a repairer may still read it), deleted once every slot ended or was replaced.
   */
  async function refreshShardState(root: Hex): Promise<void> {
    const key = root.toLowerCase() as Hex
    const shard = getShard(key)
    if (!shard) return
    const slots = dealShardsOfRoot(key)
    if (slots.length === 0) return
    const live = slots.filter((slot) => slot.state === 'active' || slot.state === 'lost')
    if (live.length === 0) {
      await deleteShard(key, 'every deal naming it ended or moved it')
      return
    }
    const latest = live.reduce((a, b) => (b.dealId > a.dealId ? b : a))
    statements.setShardState.run({
      root: key,
      state: 'in-deal',
      dealId: latest.dealId.toString(),
      shardIndex: latest.shardIndex,
      expiresAt: null,
    })
  }
  function refreshShard(root: Hex): void {
    refreshShardState(root).catch((error: unknown) =>
      logger.error({ err: error, root }, 'could not update a shard after a deal change'),
    )
  }

  function dealShardsOfRoot(root: Hex): DealShardRow[] {
    return (statements.dealShardsOfRoot.all(root.toLowerCase()) as Row[]).map(dealShardFromRow)
  }

  /** Deletes expired uploads and expired shards no deal names; returns what went. */
  async function sweep(now = nowSeconds()): Promise<{ uploads: string[]; shards: Hex[] }> {
    const uploads: string[] = []
    for (const row of statements.expiredUploads.all(now) as Row[]) {
      const upload = uploadFromRow(row)
      if (writers.has(upload.uploadId)) continue
      await rm(partPath(upload.uploadId), { force: true })
      statements.deleteUpload.run(upload.uploadId)
      uploads.push(upload.uploadId)
    }
    const shards: Hex[] = []
    for (const row of statements.expiredShards.all(now) as Row[]) {
      const shard = shardFromRow(row)
      if (dealShardsOfRoot(shard.root).length > 0) continue
      await deleteShard(shard.root, 'expired: no deal named it in time')
      shards.push(shard.root)
    }
    if (uploads.length + shards.length > 0) logger.info({ uploads, shards }, 'expired storage removed')
    return { uploads, shards }
  }

  /**
   * After a restart: cuts part files back to their recorded progress (resumable), removes part files
   * of unknown or finished uploads and stray temporary trees, finishes interrupted deletions, and
   * removes shard files the database does not name (a crash between rename and commit).
   */
  async function recover(): Promise<{ resumable: string[]; removed: string[] }> {
    await mkdir(tmpDir, { recursive: true })
    const resumable: string[] = []
    const removed: string[] = []
    for (const name of await readdir(tmpDir)) {
      const file = path.join(tmpDir, name)
      const match = /^([0-9a-f]{32})\.part$/.exec(name)
      const upload = match ? getUpload(match[1] as string) : undefined
      if (upload && upload.state === 'uploading') {
        const { size } = await stat(file)
        const keep = Math.min(size, upload.received)
        const handle = await open(file, 'r+')
        try {
          await handle.truncate(keep)
          await handle.datasync()
        } finally {
          await handle.close()
        }
        statements.setReceived.run(keep, upload.uploadId)
        resumable.push(upload.uploadId)
        continue
      }
      await rm(file, { force: true, recursive: true })
      removed.push(name)
    }
    for (const row of statements.uploadsInState.all('uploading') as Row[]) {
      const upload = uploadFromRow(row)
      if (upload.received > 0 && !resumable.includes(upload.uploadId))
        statements.setReceived.run(0, upload.uploadId)
    }
    const known = new Set<string>()
    for (const row of statements.allShards.all() as Row[]) {
      const shard = shardFromRow(row)
      if (shard.state === 'deleting') {
        await deleteShard(shard.root, 'deletion interrupted by a restart')
        continue
      }
      known.add(shard.root.toLowerCase())
      if (!(await hasData(shard.root))) logger.error({ root: shard.root }, 'a shard file is missing')
    }
    for (const name of await readdir(init.dir)) {
      const match = /^(0x[0-9a-f]{64})\.(data|tree)$/.exec(name)
      if (!match || known.has(match[1] as string)) continue
      await rm(path.join(init.dir, name), { force: true })
      removed.push(name)
    }
    if (resumable.length + removed.length > 0) logger.info({ resumable, removed }, 'storage recovered')
    return { resumable, removed }
  }

  return {
    dir: init.dir,
    dataPath,
    treePath,
    usage,
    getUpload,
    getShard,
    shards(): ShardRow[] {
      return (statements.allShards.all() as Row[]).map(shardFromRow)
    },
    uploadsOfRoot(root: Hex): UploadRow[] {
      return (statements.uploadsOfRoot.all(root.toLowerCase()) as Row[]).map(uploadFromRow)
    },
    uploadFor,
    createUpload,
    writeUpload,
    readNodes,
    readTree,
    readData,
    sendData,
    hasData,
    deleteShard,
    sweep,
    recover,
    /** Keeps a held shard at least until `until` (unix seconds): an acceptance was signed for it. */
    extendShard(root: Hex, until: number): void {
      statements.extendShard.run(until, root.toLowerCase())
    },
    getDealShard(dealId: bigint, shardIndex: number): DealShardRow | undefined {
      const row = statements.getDealShard.get(dealId.toString(), shardIndex) as Row | undefined
      return row ? dealShardFromRow(row) : undefined
    },
    dealShardsOfDeal(dealId: bigint): DealShardRow[] {
      return (statements.dealShardsOfDeal.all(dealId.toString()) as Row[]).map(dealShardFromRow)
    },
    dealShardsOfRoot,
    dealShardsInState(state: DealShardState): DealShardRow[] {
      return (statements.dealShardsInState.all(state) as Row[]).map(dealShardFromRow)
    },
    /** Records a deal slot this provider fills, then updates the shard it names. */
    async putDealShard(slot: DealShardRow): Promise<void> {
      statements.upsertDealShard.run({
        dealId: slot.dealId.toString(),
        shardIndex: slot.shardIndex,
        root: slot.root.toLowerCase(),
        size: slot.size,
        owner: slot.owner,
        state: slot.state,
        startBlock: slot.startBlock.toString(),
        periodBlocks: slot.periodBlocks,
        windowBlocks: slot.windowBlocks,
        periods: slot.periods,
        lastProofPeriod: slot.lastProofPeriod,
      })
      await refreshShardState(slot.root)
    },
    async setDealShardState(dealId: bigint, shardIndex: number, state: DealShardState): Promise<void> {
      const slot = statements.getDealShard.get(dealId.toString(), shardIndex) as Row | undefined
      if (!slot) return
      statements.setDealShardState.run(state, dealId.toString(), shardIndex)
      await refreshShardState(slot.root as Hex)
    },
    setLastProof(dealId: bigint, shardIndex: number, period: number): void {
      statements.setLastProof.run(period, dealId.toString(), shardIndex)
    },
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Leaves and bytes of the 64-leaf block around `leafIndex`. */
export function blockOf(leafIndex: number, size: number): { block: number; start: number; end: number } {
  const block = Math.floor(leafIndex / LEAVES_PER_KEPT_NODE)
  const start = block * LEAVES_PER_KEPT_NODE * LEAF_SIZE
  const end = Math.min(start + LEAVES_PER_KEPT_NODE * LEAF_SIZE, leafCountOf(size) * LEAF_SIZE)
  return { block, start, end }
}
