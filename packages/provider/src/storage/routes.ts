import type { OutgoingHttpHeaders } from 'node:http'
import { verifyGatewayRequest } from '@stoa/protocol'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type Address, getAddress, type Hex, isAddress, type LocalAccount } from 'viem'
import type { ProviderChain } from '../chain/client.ts'
import { type ChainHead, chainTimeOf } from '../chain/sync.ts'
import { recoverSigner } from '../gateway/recover.ts'
import type { StateStore } from '../state/store.ts'
import { type ShardAcceptanceMessage, signShardAcceptance } from './acceptance.ts'
import { StorageRequestError } from './errors.ts'
import type { ShardRow, ShardStore } from './shard-store.ts'

export type StorageRoutesInit = {
  askPricePerByteSecond: bigint
  /** How far ahead a request signature's expiry may be, seconds (default 300). */
  maxSkewSeconds?: number | undefined
  /** How long after its deadline a shard an acceptance names is kept, seconds. */
  acceptanceGraceSeconds: number
  /** Acceptance deadlines further ahead than this are refused, seconds. */
  maxAcceptanceSeconds: number
}

export type StorageRoutesComponents = {
  chain: Pick<ProviderChain, 'deployment' | 'isActive' | 'address'>
  chainService: { readonly lastHead: ChainHead | undefined }
  store: Pick<StateStore, 'useNonce'>
  shards: ShardStore
  /** The provider's key, to sign acceptances. */
  signer: Pick<LocalAccount, 'signTypedData'>
}

const MAX_UINT16 = 2 ** 16 - 1
const MAX_UINT32 = 2 ** 32 - 1
const MAX_UINT64 = 2n ** 64n - 1n
const MAX_UINT256 = 2n ** 256n - 1n
/** JSON bodies of the storage routes are small. */
const JSON_BODY_LIMIT = 64 * 1024

/** The StorageDeals address of the deployment, when it has one. */
export function storageDealsAddress(chain: Pick<ProviderChain, 'deployment'>): Address | undefined {
  return (chain.deployment.contracts as Record<string, Address | undefined>).storageDeals
}

/**
 * The storage routes of the gateway (docs/storage-spec.md section 4), as a Fastify plugin: its own
 * body parsers (an upload's body stays a stream, JSON bodies are small buffers) inside its own
 * context, so the compute routes keep theirs. Every route but `/v1/storage/info` is signed as a
 * gateway request with lease 0; an upload body is signed with the zero body hash (its integrity is
 * the root the provider computes).
 */
export function storageRoutes(init: StorageRoutesInit, components: StorageRoutesComponents) {
  const { chain, shards } = components
  const { chainId } = chain.deployment
  const market = chain.deployment.contracts.market

  async function authenticate(request: FastifyRequest, signedBody: Buffer | undefined): Promise<Address> {
    const verified = await verifyGatewayRequest({
      headers: request.headers,
      method: request.method,
      path: request.url,
      body: signedBody,
      chainId,
      market,
      recoverAddress: recoverSigner,
      leaseId: 0n,
      ...(init.maxSkewSeconds !== undefined ? { maxSkewSeconds: init.maxSkewSeconds } : {}),
    })
    if (!components.store.useNonce(verified.signer, verified.nonce, verified.expiry)) {
      throw new StorageRequestError(
        401,
        'replayed',
        `Nonce ${verified.nonce} of ${verified.signer} was already used.`,
      )
    }
    return verified.signer
  }

  /** The deal owner, the uploader before any deal, or an active registered provider (a repairer). */
  async function authorizeRead(signer: Address, shard: ShardRow): Promise<void> {
    const slots = shards.dealShardsOfRoot(shard.root)
    if (slots.some((slot) => slot.owner.toLowerCase() === signer.toLowerCase())) return
    if (
      slots.length === 0 &&
      shards
        .uploadsOfRoot(shard.root)
        .some((upload) => upload.uploader.toLowerCase() === signer.toLowerCase())
    )
      return
    if (await chain.isActive(signer)) return
    throw new StorageRequestError(
      403,
      'not-allowed',
      `${signer} may not read shard ${shard.root}: only the deal's owner, its uploader before a deal, and active providers may.`,
    )
  }

  function heldShard(rootParam: unknown): ShardRow {
    const root = parseRoot(rootParam)
    const shard = shards.getShard(root)
    if (!shard || shard.state === 'deleting') {
      throw new StorageRequestError(404, 'shard-not-found', `This provider holds no shard ${root}.`)
    }
    return shard
  }

  function chainNow(): number {
    const head = components.chainService.lastHead
    return head ? chainTimeOf(head) : Math.floor(Date.now() / 1000)
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    // This context only: an octet-stream body stays the request stream (an upload may be 1 GiB);
    // anything else is read as bytes, up to JSON_BODY_LIMIT.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: JSON_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    )

    app.get('/v1/storage/info', async () => {
      const usage = shards.usage()
      return {
        provider: chain.address,
        askPricePerByteSecond: init.askPricePerByteSecond.toString(),
        capacity: usage.capacity,
        used: usage.used,
        free: usage.free,
        held: usage.held,
        reserved: usage.reserved,
      }
    })

    app.post('/v1/storage/uploads', async (request, reply) => {
      const raw = jsonBuffer(request.body)
      const signer = await authenticate(request, raw)
      const body = parseJsonObject(raw)
      const size = safeInteger(body.size, 'size', 0, Number.MAX_SAFE_INTEGER)
      const erasureIndex = safeInteger(body.erasureIndex, 'erasureIndex', 0, 255)
      const upload = shards.createUpload({ uploader: signer, size, erasureIndex })
      reply.code(201)
      return { uploadId: upload.uploadId, maxBytes: upload.size, expiresAt: upload.expiresAt }
    })

    app.get('/v1/storage/uploads/:uploadId', async (request) => {
      const signer = await authenticate(request, undefined)
      const upload = shards.uploadFor(parseUploadId(request.params), signer)
      return {
        uploadId: upload.uploadId,
        size: upload.size,
        received: upload.received,
        state: upload.state,
        ...(upload.root !== undefined ? { root: upload.root } : {}),
        expiresAt: upload.expiresAt,
      }
    })

    // No route bodyLimit: it would override the small limit of the buffered parser. An
    // octet-stream body stays a stream, which writeUpload cuts at the upload's size.
    app.put('/v1/storage/uploads/:uploadId', async (request, reply) => {
      // Signed with the zero body hash: the body is not passed to the check.
      const signer = await authenticate(request, undefined)
      const uploadId = parseUploadId(request.params)
      const query = request.query as Record<string, unknown>
      const offset =
        query.offset === undefined
          ? 0
          : safeInteger(decimalText(query.offset, 'offset'), 'offset', 0, Number.MAX_SAFE_INTEGER)
      const lengthHeader = request.headers['content-length']
      const contentLength =
        typeof lengthHeader === 'string' && /^\d{1,16}$/.test(lengthHeader) ? Number(lengthHeader) : undefined
      const body = request.body
      const result = await shards.writeUpload({
        uploadId,
        signer,
        offset,
        body:
          body === undefined || body === null
            ? undefined
            : Buffer.isBuffer(body)
              ? body
              : (body as AsyncIterable<Uint8Array>),
        contentLength,
      })
      if (!result.complete) {
        reply.code(202)
        return { received: result.received, size: result.size }
      }
      return { root: result.root, size: result.size }
    })

    app.post('/v1/storage/acceptances', async (request) => {
      const raw = jsonBuffer(request.body)
      await authenticate(request, raw)
      const body = parseJsonObject(raw)
      const message: ShardAcceptanceMessage = {
        owner: address(body.owner, 'owner'),
        dealId: bigintField(body.dealId, 'dealId', 1n, MAX_UINT256),
        shardIndex: safeInteger(body.shardIndex, 'shardIndex', 0, MAX_UINT16),
        root: parseRoot(body.root, 'root'),
        size: bigintField(body.size, 'size', 0n, MAX_UINT64),
        erasureIndex: safeInteger(body.erasureIndex, 'erasureIndex', 0, 255),
        pricePerByteSecond: bigintField(body.pricePerByteSecond, 'pricePerByteSecond', 0n, MAX_UINT64),
        periodBlocks: safeInteger(body.periodBlocks, 'periodBlocks', 1, MAX_UINT32),
        periods: safeInteger(body.periods, 'periods', 1, MAX_UINT32),
        deadline: bigintField(body.deadline, 'deadline', 0n, MAX_UINT64),
      }
      const storageDeals = storageDealsAddress(chain)
      if (storageDeals === undefined) {
        throw new StorageRequestError(
          503,
          'storage-deals-unavailable',
          'The deployment this provider follows has no StorageDeals contract.',
        )
      }
      const now = chainNow()
      if (message.deadline < BigInt(now)) {
        throw new StorageRequestError(
          400,
          'deadline-passed',
          `The deadline ${message.deadline} is before the chain's time ${now}.`,
        )
      }
      if (message.deadline > BigInt(now + init.maxAcceptanceSeconds)) {
        throw new StorageRequestError(
          400,
          'deadline-too-far',
          `The deadline ${message.deadline} is more than ${init.maxAcceptanceSeconds} s after the chain's time ${now}.`,
        )
      }
      const shard = shards.getShard(message.root)
      if (!shard || shard.state === 'deleting') {
        throw new StorageRequestError(
          409,
          'shard-not-held',
          `This provider holds no shard ${message.root}; upload it first.`,
        )
      }
      if (BigInt(shard.size) !== message.size) {
        throw new StorageRequestError(
          409,
          'size-mismatch',
          `Shard ${message.root} is ${shard.size} bytes, not ${message.size}.`,
          { extra: { size: shard.size } },
        )
      }
      const uploads = shards.uploadsOfRoot(message.root)
      if (uploads.length > 0 && !uploads.some((upload) => upload.erasureIndex === message.erasureIndex)) {
        throw new StorageRequestError(
          409,
          'erasure-index-mismatch',
          `Shard ${message.root} was uploaded as erasure index ${uploads.map((u) => u.erasureIndex).join(', ')}, not ${message.erasureIndex}.`,
        )
      }
      if (message.pricePerByteSecond < init.askPricePerByteSecond) {
        throw new StorageRequestError(
          402,
          'price-below-ask',
          `The price ${message.pricePerByteSecond} is below this provider's ask of ${init.askPricePerByteSecond} (1e-18 credits per byte-second).`,
          { extra: { askPricePerByteSecond: init.askPricePerByteSecond.toString() } },
        )
      }
      const signature = await signShardAcceptance(components.signer, chainId, storageDeals, message)
      // Keep the shard until the deal can no longer be created with this signature.
      const wallDeadline = Number(message.deadline) - now + Math.floor(Date.now() / 1000)
      shards.extendShard(message.root, wallDeadline + init.acceptanceGraceSeconds)
      return { signature, provider: chain.address }
    })

    app.get('/v1/storage/shards/:root', async (request, reply) => {
      const signer = await authenticate(request, undefined)
      const shard = heldShard((request.params as { root?: unknown }).root)
      await authorizeRead(signer, shard)
      reply.header('accept-ranges', 'bytes')
      reply.header('content-type', 'application/octet-stream')
      reply.header('x-stoa-root', shard.root)
      const rangeHeader = request.headers.range
      let range = { start: 0, end: shard.size - 1 }
      if (rangeHeader !== undefined) {
        const asked = parseRange(rangeHeader, shard.size)
        if (!asked) {
          reply.header('content-range', `bytes */${shard.size}`)
          throw new StorageRequestError(
            416,
            'range-not-satisfiable',
            `Expected one range "bytes=a-b", "bytes=a-" or "bytes=-n" within the shard's ${shard.size} bytes.`,
          )
        }
        range = asked
        reply.code(206)
        reply.header('content-range', `bytes ${range.start}-${range.end}/${shard.size}`)
      }
      reply.header('content-length', String(range.end - range.start + 1))
      if (range.end < range.start) return reply.send(Buffer.alloc(0))
      // Written straight to the response, out of reused read buffers (sendData), not through a
      // stream that allocates every chunk: Fastify's hooks but onSend still run (CORS headers are
      // set by then; the onResponse hook logs and counts the request).
      reply.hijack()
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders)
      try {
        await shards.sendData(shard.root, range, reply.raw)
        reply.raw.end()
      } catch (error) {
        // Headers are gone: all that is left is to cut the connection, which the reader sees as a
        // short body.
        // A reader that hung up (a hedged request cut once enough pieces came) is routine.
        const detail = { root: shard.root, error: (error as Error).message }
        if (reply.raw.destroyed) request.log.debug(detail, 'shard read cut by the reader')
        else request.log.warn(detail, 'shard read failed')
        reply.raw.destroy()
      }
    })

    app.get('/v1/storage/shards/:root/nodes', async (request, reply) => {
      const signer = await authenticate(request, undefined)
      const shard = heldShard((request.params as { root?: unknown }).root)
      await authorizeRead(signer, shard)
      const levelText = (request.query as Record<string, unknown>).level
      const level = safeInteger(decimalText(levelText, 'level'), 'level', 0, 64)
      const nodes = await shards.readNodes(shard, level)
      reply.header('content-type', 'application/octet-stream')
      reply.header('x-stoa-leaf-count', String(shard.leafCount))
      reply.header('x-stoa-level', String(level))
      return reply.send(Buffer.from(nodes.buffer, nodes.byteOffset, nodes.byteLength))
    })
  }
}

function jsonBuffer(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body
  throw new StorageRequestError(400, 'invalid-body', 'Expected a JSON body (content-type application/json).')
}

function parseJsonObject(raw: Buffer): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new StorageRequestError(400, 'invalid-body', 'The body is not valid JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StorageRequestError(400, 'invalid-body', 'Expected a JSON object.')
  }
  return parsed as Record<string, unknown>
}

function invalid(field: string, expected: string): StorageRequestError {
  return new StorageRequestError(400, 'invalid-body', `Expected \`${field}\` to be ${expected}.`, {
    extra: { field },
  })
}

function safeInteger(value: unknown, field: string, min: number, max: number): number {
  const number = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < min || number > max) {
    throw invalid(field, `an integer from ${min} to ${max}`)
  }
  return number
}

function bigintField(value: unknown, field: string, min: bigint, max: bigint): bigint {
  let integer: bigint | undefined
  if (typeof value === 'string' && /^\d{1,78}$/.test(value)) integer = BigInt(value)
  if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value)
  if (integer === undefined || integer < min || integer > max) {
    throw invalid(field, `an integer (a decimal string or a number) from ${min} to ${max}`)
  }
  return integer
}

function address(value: unknown, field: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) throw invalid(field, 'an address')
  return getAddress(value)
}

function parseRoot(value: unknown, field?: string): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    if (field !== undefined) throw invalid(field, 'a Merkle root: 0x and 64 hex digits')
    throw new StorageRequestError(
      400,
      'invalid-root',
      'Expected a Merkle root in the path: 0x and 64 hex digits.',
    )
  }
  return value.toLowerCase() as Hex
}

function parseUploadId(params: unknown): string {
  const value = (params as { uploadId?: unknown }).uploadId
  if (typeof value !== 'string' || !/^[0-9a-f]{32}$/.test(value)) {
    throw new StorageRequestError(400, 'invalid-upload-id', 'Expected an upload id: 32 hex digits.')
  }
  return value
}

function decimalText(value: unknown, name: string): string {
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) {
    throw new StorageRequestError(400, 'invalid-query', `Expected ?${name}= once, a non-negative integer.`)
  }
  return value
}

/** One byte range of `Range: bytes=...` within `size` bytes (inclusive end), or undefined when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim())
  if (!match || size === 0) return undefined
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0) return undefined
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (start >= size || start > end) return undefined
  return { start, end }
}
