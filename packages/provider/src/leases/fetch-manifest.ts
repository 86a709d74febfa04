import { BaseError } from '@stoa/protocol'

export type ManifestFetchErrorType = ManifestFetchError & { name: 'ManifestFetchError' }

/** An order's public manifest URI could not be read. */
export class ManifestFetchError extends BaseError {
  constructor(uri: string, reason: string, options: { cause?: unknown } = {}) {
    super(`Could not fetch the manifest at ${shorten(uri)}: ${reason}.`, {
      name: 'ManifestFetchError',
      cause: options.cause,
    })
  }
}

/**
 * Reads the JSON an order's manifest URI points at: an `http(s)://` URL (GET, bounded in time and
 * size) or a `data:` URI (RFC 2397, base64 or percent-encoded). The content is either a submission
 * body (`{ manifest, modules? }`) or a bare normalized manifest; the caller checks its hash.
 */
export async function fetchManifestDocument(
  uri: string,
  options: { maxBytes: number; timeoutMs: number; signal?: AbortSignal },
): Promise<unknown> {
  const text = uri.startsWith('data:') ? decodeDataUri(uri, options.maxBytes) : await fetchText(uri, options)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ManifestFetchError(uri, 'the content is not JSON', { cause: error })
  }
}

function decodeDataUri(uri: string, maxBytes: number): string {
  const comma = uri.indexOf(',')
  if (comma < 0) throw new ManifestFetchError(uri, 'a data: URI needs a comma before its data')
  const meta = uri.slice(5, comma)
  const data = uri.slice(comma + 1)
  let bytes: Buffer
  if (/;base64$/i.test(meta)) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data))
      throw new ManifestFetchError(uri, 'the base64 data is malformed')
    bytes = Buffer.from(data, 'base64')
  } else {
    try {
      bytes = Buffer.from(decodeURIComponent(data), 'utf8')
    } catch (error) {
      throw new ManifestFetchError(uri, 'the percent-encoded data is malformed', { cause: error })
    }
  }
  if (bytes.length > maxBytes) throw new ManifestFetchError(uri, `it holds more than ${maxBytes} bytes`)
  return bytes.toString('utf8')
}

async function fetchText(
  uri: string,
  options: { maxBytes: number; timeoutMs: number; signal?: AbortSignal },
): Promise<string> {
  let url: URL
  try {
    url = new URL(uri)
  } catch (error) {
    throw new ManifestFetchError(uri, 'it is not a URL', { cause: error })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ManifestFetchError(uri, `the ${url.protocol} scheme is not supported (http, https or data)`)
  }
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)])
    : AbortSignal.timeout(options.timeoutMs)
  let response: Response
  try {
    response = await fetch(url, { signal, redirect: 'follow', headers: { accept: 'application/json' } })
  } catch (error) {
    throw new ManifestFetchError(uri, 'the request failed', { cause: error })
  }
  if (!response.ok) throw new ManifestFetchError(uri, `the server answered ${response.status}`)
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > options.maxBytes)
    throw new ManifestFetchError(uri, `it is larger than ${options.maxBytes} bytes`)
  const reader = response.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.length
      if (size > options.maxBytes) {
        await reader.cancel()
        throw new ManifestFetchError(uri, `it is larger than ${options.maxBytes} bytes`)
      }
      chunks.push(value)
    }
  } catch (error) {
    if (error instanceof ManifestFetchError) throw error
    throw new ManifestFetchError(uri, 'reading the body failed', { cause: error })
  }
  return Buffer.concat(chunks).toString('utf8')
}

function shorten(uri: string): string {
  return uri.length > 80 ? `${uri.slice(0, 77)}…` : uri
}
