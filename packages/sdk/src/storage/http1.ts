/**
 * A GET over plain HTTP/1.1 on `node:net` whose body is read straight into the caller's buffer:
 * the download path for shard pieces on `http:` gateways.
 *
 * Why by hand: fetch (undici), `node:http` and `undici.request` all hand a body over in buffers
 * they allocate, one per socket read (64 KiB). A 1 GiB download then allocates 1 GiB of chunks on
 * top of the pieces they are copied into; that memory counts against V8's external-memory limit,
 * so it also starts a major garbage collection every few tens of MB. A socket made with `onread`
 * reads into memory it is given instead: each read here lands in the unfilled part of the piece
 * buffer, so the kernel copies the bytes into place once and nothing is allocated per read.
 *
 * It speaks only what a provider's shard GET needs: one request at a time per connection,
 * keep-alive, and a body with a Content-Length (the gateway always sends one for shard bytes). An
 * answer without one is refused (`Http1ResponseError`), as is a head over 16 KiB. Idle connections
 * are kept per origin for 4 s (under Node's default 5 s server keep-alive), unreferenced, so they
 * never hold a process open.
 */
import { connect, type Socket } from 'node:net'

/** Largest response head read. */
const HEAD_LIMIT = 16 * 1024
/** Bytes kept of an error answer's body (its JSON message). */
const ERROR_BODY_LIMIT = 64 * 1024
const IDLE_MS = 4_000
const MAX_IDLE_PER_ORIGIN = 16

export type Http1Response = {
  status: number
  /** Header names in lower case. */
  headers: ReadonlyMap<string, string>
  /** The body: a view of the buffer from `into` when it gave one, else a new buffer. */
  body: Uint8Array
}

export type Http1GetParameters = {
  /** An `http:` URL. */
  url: URL
  /** Request headers besides Host, Connection and Content-Length. */
  headers: Readonly<Record<string, string>>
  /**
   * Headers for sending the request again on a new connection, after a pooled one closed unanswered
   * (default: `headers`). A signed request needs a fresh nonce there: the first may have reached
   * the server and spent its own.
   */
  headersAgain?: (() => Promise<Readonly<Record<string, string>>>) | undefined
  signal: AbortSignal
  /** Called whenever bytes arrive (to restart an idle timer). */
  onActivity?: (() => void) | undefined
  /** For a 2xx body of `size` bytes: the buffer to read it into, or undefined for a new one. */
  into?: ((size: number) => Uint8Array | undefined) | undefined
  /** Sees each part of a 2xx body as it lands (a view: read it before returning). */
  onChunk?: ((chunk: Uint8Array) => void) | undefined
}

/** The server's answer is not one this client reads (see the module's comment). */
export class Http1ResponseError extends Error {
  constructor(readonly expected: string) {
    super(`Expected ${expected}.`)
    this.name = 'Http1ResponseError'
  }
}

/** One request's reading state on a connection. */
type Exchange = {
  parameters: Http1GetParameters
  /** Bytes of the head read so far (into the connection's scratch buffer). */
  head: number
  /** Set once the head is parsed. */
  response: { status: number; headers: Map<string, string>; keepAlive: boolean; ok: boolean } | undefined
  body: Uint8Array | undefined
  /** Body bytes announced, and how many of them are kept (all, but for a long error answer). */
  length: number
  kept: number
  filled: number
  done: (error: Error | undefined) => void
}

type Connection = {
  socket: Socket
  origin: string
  scratch: Buffer
  exchange: Exchange | undefined
  idleTimer: ReturnType<typeof setTimeout> | undefined
  /** Bytes of an answer came on this connection (a stale pooled one fails with none). */
  answered: boolean
}

const idle = new Map<string, Connection[]>()

/**
 * Sends `GET url` and reads the answer. A connection taken from the pool that closes before any
 * byte of the answer (the server dropped it while idle) is replaced by a new one, once, and the
 * request sent again with `headersAgain`.
 */
export async function http1Get(parameters: Http1GetParameters): Promise<Http1Response> {
  const { url } = parameters
  if (url.protocol !== 'http:') throw new TypeError(`http1Get reads http: URLs, not ${url.protocol}`)
  parameters.signal.throwIfAborted()
  const origin = `${url.hostname}:${url.port || '80'}`
  const pooled = takeIdle(origin)
  if (pooled) {
    try {
      return await exchange(pooled, parameters)
    } catch (error) {
      if (pooled.answered || parameters.signal.aborted || error instanceof Http1ResponseError) throw error
    }
  }
  const again =
    pooled && parameters.headersAgain
      ? { ...parameters, headers: await parameters.headersAgain() }
      : parameters
  return exchange(await open(url, origin, parameters.signal), again)
}

function takeIdle(origin: string): Connection | undefined {
  const list = idle.get(origin)
  while (list && list.length > 0) {
    const connection = list.pop() as Connection
    clearTimeout(connection.idleTimer)
    if (!connection.socket.destroyed && connection.socket.readyState === 'open') return connection
  }
  return undefined
}

function putIdle(connection: Connection): void {
  const list = idle.get(connection.origin) ?? []
  if (list.length >= MAX_IDLE_PER_ORIGIN) {
    connection.socket.destroy()
    return
  }
  connection.answered = false
  connection.socket.unref()
  connection.idleTimer = setTimeout(() => connection.socket.destroy(), IDLE_MS)
  connection.idleTimer.unref?.()
  list.push(connection)
  idle.set(connection.origin, list)
}

function dropIdle(connection: Connection): void {
  clearTimeout(connection.idleTimer)
  const list = idle.get(connection.origin)
  const at = list?.indexOf(connection) ?? -1
  if (list && at >= 0) list.splice(at, 1)
  if (list?.length === 0) idle.delete(connection.origin)
}

/** Where the next read on `connection` lands. */
function readTarget(connection: Connection): Uint8Array {
  const current = connection.exchange
  if (current?.response) {
    if (current.body && current.filled < current.kept)
      return current.body.subarray(current.filled, current.kept)
  } else if (current && current.head < HEAD_LIMIT) {
    return connection.scratch.subarray(current.head)
  }
  // Between answers: anything a server sends unasked (a protocol error, handled in onRead).
  return connection.scratch
}

function open(url: URL, origin: string, signal: AbortSignal): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection: Connection = {
      socket: undefined as unknown as Socket,
      origin,
      scratch: Buffer.allocUnsafe(HEAD_LIMIT),
      exchange: undefined,
      idleTimer: undefined,
      answered: false,
    }
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      noDelay: true,
      // Node asks `buffer` after each read for where the next one lands.
      onread: {
        buffer: () => readTarget(connection),
        callback: (bytes: number, buffer: Uint8Array) => {
          onRead(connection, bytes, buffer)
          return true
        },
      },
    })
    connection.socket = socket
    const onAbort = () => socket.destroy(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort)
      resolve(connection)
    })
    socket.on('error', (error) => {
      signal.removeEventListener('abort', onAbort)
      connection.exchange?.done(error)
      reject(error)
    })
    // Without allowHalfOpen the socket closes on the server's `end`.
    socket.once('close', () => {
      dropIdle(connection)
      connection.exchange?.done(new Error('the connection closed before the whole answer came'))
    })
  })
}

function exchange(connection: Connection, parameters: Http1GetParameters): Promise<Http1Response> {
  const { url, signal } = parameters
  return new Promise<Http1Response>((resolve, reject) => {
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: keep-alive']
    for (const [name, value] of Object.entries(parameters.headers)) {
      if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) {
        putIdle(connection)
        reject(new TypeError(`The header ${JSON.stringify(name)} holds a line break or a colon.`))
        return
      }
      lines.push(`${name}: ${value}`)
    }
    const onAbort = () => connection.socket.destroy(signal.reason as Error)
    const current: Exchange = {
      parameters,
      head: 0,
      response: undefined,
      body: undefined,
      length: 0,
      kept: 0,
      filled: 0,
      done: (error) => {
        if (connection.exchange !== current) return
        connection.exchange = undefined
        signal.removeEventListener('abort', onAbort)
        if (error) {
          connection.socket.destroy()
          reject(signal.aborted ? signal.reason : error)
          return
        }
        const response = current.response as NonNullable<Exchange['response']>
        if (response.keepAlive && current.kept === current.length) putIdle(connection)
        else connection.socket.destroy()
        resolve({
          status: response.status,
          headers: response.headers,
          body: (current.body ?? new Uint8Array(0)).subarray(0, current.kept),
        })
      },
    }
    connection.exchange = current
    connection.socket.ref()
    signal.addEventListener('abort', onAbort, { once: true })
    connection.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  })
}

/** Takes `bytes` just read into `buffer` on `connection`. */
function onRead(connection: Connection, bytes: number, buffer: Uint8Array): void {
  const current = connection.exchange
  if (!current) {
    // Bytes nobody asked for: this connection can no longer be trusted to frame answers.
    connection.socket.destroy()
    return
  }
  connection.answered = true
  current.parameters.onActivity?.()
  try {
    if (current.response) {
      take(current, buffer, bytes)
    } else {
      current.head += bytes
      const scratch = connection.scratch
      const end = scratch.subarray(0, current.head).indexOf('\r\n\r\n', 0, 'latin1')
      if (end < 0) {
        if (current.head >= HEAD_LIMIT)
          throw new Http1ResponseError(`a response head under ${HEAD_LIMIT} bytes`)
        return
      }
      begin(current, scratch.toString('latin1', 0, end))
      // Body bytes that came in the same read as the head's end.
      take(current, scratch.subarray(end + 4, current.head), current.head - end - 4)
    }
  } catch (error) {
    current.done(error as Error)
    return
  }
  if (current.response && current.filled >= current.kept) current.done(undefined)
}

function begin(current: Exchange, head: string): void {
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine)
  if (!status) throw new Http1ResponseError('an HTTP/1.x status line')
  const headers = new Map<string, string>()
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new Http1ResponseError('header lines "name: value"')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    const before = headers.get(name)
    if (name === 'content-length' && before !== undefined && before !== value)
      throw new Http1ResponseError('one Content-Length')
    headers.set(name, before === undefined || name === 'content-length' ? value : `${before}, ${value}`)
  }
  const code = Number(status[2])
  const connectionHeader = headers.get('connection')?.toLowerCase() ?? ''
  const keepAlive =
    status[1] === '1' ? !connectionHeader.includes('close') : connectionHeader.includes('keep-alive')
  const ok = code >= 200 && code < 300
  const chunked = headers.has('transfer-encoding')
  if (!ok && (chunked || !headers.has('content-length'))) {
    // An error answer framed otherwise: its status is what matters. Its body is not read, and the
    // connection is closed (kept 0 of an unknown length).
    current.response = { status: code, headers, keepAlive: false, ok }
    current.length = Number.POSITIVE_INFINITY
    current.body = new Uint8Array(0)
    return
  }
  if (chunked) throw new Http1ResponseError('a body with a Content-Length, not chunked')
  const lengthText = headers.get('content-length')
  if (lengthText === undefined) throw new Http1ResponseError('a Content-Length header')
  if (!/^\d+$/.test(lengthText) || !Number.isSafeInteger(Number(lengthText)))
    throw new Http1ResponseError('a Content-Length of a whole number of bytes')
  const length = Number(lengthText)
  current.response = { status: code, headers, keepAlive, ok }
  current.length = length
  // A long error answer is cut (its connection is then closed, not reused).
  current.kept = ok ? length : Math.min(length, ERROR_BODY_LIMIT)
  const given = ok && length > 0 ? current.parameters.into?.(length) : undefined
  current.body = given?.length === length ? given : Buffer.allocUnsafe(current.kept)
}

/** Body bytes `buffer[0, bytes)` just read: in place when the read was aimed at the body, else copied. */
function take(current: Exchange, buffer: Uint8Array, bytes: number): void {
  // Only a head's read can carry more than the body wants (reads aimed at the body are sized to it).
  if (current.filled + bytes > current.length)
    throw new Http1ResponseError('no more bytes than the Content-Length')
  bytes = Math.min(bytes, current.kept - current.filled)
  if (bytes <= 0) return
  const body = current.body as Uint8Array
  const inPlace = buffer.buffer === body.buffer && buffer.byteOffset === body.byteOffset + current.filled
  if (!inPlace) body.set(buffer.subarray(0, bytes), current.filled)
  if (current.response?.ok)
    current.parameters.onChunk?.(body.subarray(current.filled, current.filled + bytes))
  current.filled += bytes
}
