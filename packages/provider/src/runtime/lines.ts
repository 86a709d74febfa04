/**
 * Turns a byte stream into lines: UTF-8 decoded across chunk boundaries, `\n` or `\r\n` ends a
 * line, and `flush` returns an unterminated last line.
 */
export class LineSplitter {
  #decoder = new TextDecoder('utf-8')
  #pending = ''

  push(chunk: Uint8Array): string[] {
    this.#pending += this.#decoder.decode(chunk, { stream: true })
    const parts = this.#pending.split('\n')
    this.#pending = parts.pop() ?? ''
    return parts.map(stripCarriageReturn)
  }

  flush(): string[] {
    const rest = this.#pending + this.#decoder.decode()
    this.#pending = ''
    return rest === '' ? [] : [stripCarriageReturn(rest)]
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}

/** The last `count` items of `lines` (all of them when count is undefined). */
export function lastLines(lines: string[], count: number | undefined): string[] {
  if (count === undefined) return lines
  return count <= 0 ? [] : lines.slice(-count)
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
