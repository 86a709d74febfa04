export type MeasureGatewayLatencyParameters = {
  /** The gateway's base URL. */
  url: string
  /** Give up after this many ms per sample (default 1 500). */
  timeoutMs?: number | undefined
  /** Round trips to time; the fastest counts (default 2: the first one also pays for the connection). */
  samples?: number | undefined
  signal?: AbortSignal | undefined
  fetch?: typeof fetch | undefined
}

/** The fastest `GET /v1/health` round trip in ms, or `null` when the gateway did not answer `ok` in time. */
export type MeasureGatewayLatencyReturnType = number | null

/**
 * Times `GET /v1/health` round trips to a gateway, each bounded by `timeoutMs`. A gateway that is
 * unreachable, slow, or not healthy (`ok: false`, an error status) measures `null`. Only an
 * abort of `signal` throws.
 */
export async function measureGatewayLatency(
  parameters: MeasureGatewayLatencyParameters,
): Promise<MeasureGatewayLatencyReturnType> {
  const { signal } = parameters
  const timeoutMs = parameters.timeoutMs ?? 1_500
  const samples = Math.max(1, parameters.samples ?? 2)
  const fetchFn = parameters.fetch ?? globalThis.fetch
  const url = `${parameters.url.replace(/\/+$/, '')}/v1/health`
  let best: number | null = null
  for (let sample = 0; sample < samples; sample++) {
    signal?.throwIfAborted()
    const timeout = AbortSignal.timeout(timeoutMs)
    const started = performance.now()
    try {
      const response = await fetchFn(url, {
        headers: { accept: 'application/json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
      const body = (await response.json()) as { ok?: unknown }
      const elapsed = performance.now() - started
      if (!response.ok || body?.ok !== true) return null
      best = best === null ? elapsed : Math.min(best, elapsed)
    } catch {
      signal?.throwIfAborted()
      return null
    }
  }
  return best === null ? null : Math.round(best * 10) / 10
}
