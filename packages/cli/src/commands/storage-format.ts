/**
 * Formatting, option parsing and progress rendering shared by the storage commands (put, get, ls,
 * rm, deals, repair).
 */
import { InvalidOptionError } from '../errors.ts'
import { type CliIo, processIo } from '../io.ts'

/** `42 B`, `1.5 KiB`, `8.0 MiB`, `1.00 GiB` (binary units, as file sizes are read). */
export function size(bytes: number | bigint): string {
  const value = Number(bytes)
  if (value < 1024) return `${value} B`
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MiB`
  return `${(value / 1024 ** 3).toFixed(2)} GiB`
}

/** Throughput in MB/s (MB = 10^6 bytes, as the benchmarks count), 0 for no time. */
export function megabytesPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / 1e6 / (ms / 1000) : 0
}

/** `123.4 MB/s`. */
export function rate(mbPerSecond: number): string {
  return `${mbPerSecond.toFixed(1)} MB/s`
}

/** A positive integer flag (`--k 4`), or an InvalidOptionError naming it. */
export function positiveInteger(option: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1 || number > max) {
    throw new InvalidOptionError(option, `a whole number from 1 to ${max}`, value)
  }
  return number
}

/** A deal id (`7`), or an InvalidOptionError naming the flag. */
export function dealIdOf(option: string, value: string): bigint {
  if (!/^\d+$/.test(value) || BigInt(value) === 0n) {
    throw new InvalidOptionError(
      option,
      'a deal id (a whole number from 1)',
      value,
      '`stoa deals` lists them.',
    )
  }
  return BigInt(value)
}

/**
 * How healthy a deal is from its shards' states: `6/6`, `5/6 (repair due)`, `3/6 (LOST: < k)`.
 * `repairThreshold` follows the spec: repair when active shards <= max(k + 1, n - 1).
 */
export function health(active: number, n: number, k: number): { text: string; state: Health } {
  const threshold = Math.max(k + 1, n - 1)
  const state: Health = active < k ? 'lost' : active <= threshold && active < n ? 'repair' : 'ok'
  const note = state === 'lost' ? ' (LOST: fewer than k)' : state === 'repair' ? ' (repair due)' : ''
  return { text: `${active}/${n}${note}`, state }
}

export type Health = 'ok' | 'repair' | 'lost'

/** A transfer's progress, drawn on one line of stderr. */
export type TransferProgress = {
  /** Bytes done so far out of `total` (per second figures from the first call on). */
  update(done: number, total: number, mbPerSecond?: number): void
  /** A line of its own above the bar (a stage finished). */
  line(text: string): void
  /** Ends the bar (prints a newline when one is drawn). */
  finish(): void
}

const BAR_WIDTH = 28

/**
 * A progress bar on stderr: redrawn in place (`\r`) on a terminal, otherwise a line every 25%, so
 * logs stay readable. `--json` commands pass `quiet` and get nothing.
 */
export function transferProgress(
  io: CliIo,
  label: string,
  options: { quiet?: boolean } = {},
): TransferProgress {
  const startedAt = performance.now()
  const inPlace = io.stderr === processIo.stderr && Boolean(process.stderr.isTTY)
  let drawn = false
  let lastQuarter = -1
  let lastDrawAt = 0
  const render = (done: number, total: number, mbPerSecond: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1
    const filled = Math.round(fraction * BAR_WIDTH)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`
    return `${label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}%  ${size(done)} / ${size(total)}  ${rate(mbPerSecond)}`
  }
  return {
    update(done, total, mbPerSecond) {
      if (options.quiet) return
      const speed = mbPerSecond ?? megabytesPerSecond(done, performance.now() - startedAt)
      if (inPlace) {
        const now = performance.now()
        if (now - lastDrawAt < 100 && done < total) return
        lastDrawAt = now
        io.stderr(`\r${render(done, total, speed)}`)
        drawn = true
        return
      }
      const quarter = total > 0 ? Math.floor((done / total) * 4) : 4
      if (quarter > lastQuarter) {
        lastQuarter = quarter
        io.stderr(`${render(done, total, speed)}\n`)
      }
    },
    line(text) {
      if (options.quiet) return
      if (drawn) io.stderr('\n')
      drawn = false
      io.stderr(`${text}\n`)
    },
    finish() {
      if (options.quiet) return
      if (drawn) io.stderr('\n')
      drawn = false
    },
  }
}

/** What the storage commands read of a deal (a subset of the SDK's deal record). */
export type DealView = {
  dealId: bigint | number
  k: number
  shardCount: number
  shards: readonly { state: string }[]
}

/** Active shards of a deal against the `n` it should keep. */
export function dealHealth(
  deal: DealView,
  n = deal.shardCount,
): { active: number; state: Health; text: string } {
  const active = deal.shards.filter((shard) => shard.state === 'Active').length
  return { active, ...health(active, n, deal.k) }
}

/** `0x…` hex of bytes (digests, ids and roots print as hex, as on chain). */
export function hex(bytes: Uint8Array | string): string {
  return typeof bytes === 'string'
    ? bytes
    : `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

/** A value for `toJson`: byte arrays (record digests, ids, roots) become 0x-hex strings. */
export function bytesAsHex(value: unknown): unknown {
  if (value instanceof Uint8Array) return hex(value)
  if (Array.isArray(value)) return value.map(bytesAsHex)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, bytesAsHex(inner)]))
  }
  return value
}
