import { formatUnitsExact, pricePerSecondToUsdPerHour } from '@stoa/protocol'

/** What the tables print. Amounts stay exact bigints until here. */

/** Credits (6 decimals) as USD: `$12.50`, `$0.000123`. */
export function usd(credits: bigint): string {
  // Under a dollar every micro-dollar shows (devnet leases earn fractions of a cent).
  return `$${trimDecimal(formatUnitsExact(credits, 6), abs(credits) < 1_000_000n ? 6 : 2)}`
}

/** STOA base units: `10,000 STOA`, `0.25 STOA`. */
export function stoa(amount: bigint): string {
  const text = formatUnitsExact(amount, 18)
  return `${groupThousands(trimDecimal(text, abs(amount) < 10n ** 16n && amount !== 0n ? 6 : 2))} STOA`
}

/** A compute price (1e-12 USD/s) as USD per hour, to six significant digits. */
export function usdPerHour(pricePerSecond: bigint): string {
  return `$${significant(Number(pricePerSecondToUsdPerHour(pricePerSecond)))}/h`
}

/** The oracle's 8-decimal answer. */
export function oraclePrice(answer: bigint): string {
  return `$${formatUnitsExact(answer, 8)}`
}

/** A USD amount on a chart axis: `$1.2K`, `$3.50`, `$0.00042`. */
export function usdAxis(value: number): string {
  if (value === 0) return '$0'
  if (Math.abs(value) >= 1000) {
    return `$${new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 }).format(value)}`
  }
  return Math.abs(value) >= 1 ? `$${value.toFixed(2)}` : `$${significant(value, 2)}`
}

export function significant(value: number, digits = 6): string {
  if (value === 0) return '0'
  return String(Number(value.toPrecision(digits)))
}

export function bytes(value: bigint | number): string {
  const amount = Number(value)
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let scaled = amount
  let unit = 0
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024
    unit++
  }
  return `${unit === 0 ? scaled : scaled.toFixed(scaled < 10 ? 2 : 1)} ${units[unit]}`
}

export function mib(value: number): string {
  return value >= 1024 ? `${significant(value / 1024, 3)} GiB` : `${value} MiB`
}

export function cores(cpuMillis: number): string {
  return `${significant(cpuMillis / 1000, 4)} CPU`
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`
}

export function shortHash(hash: string): string {
  return `${hash.slice(0, 10)}…${hash.slice(-6)}`
}

/** Unix seconds → local date and time (`2026-11-21 14:58:47`). */
export function dateTime(seconds: number | undefined): string {
  if (seconds === undefined || seconds === 0) return '—'
  const date = new Date(seconds * 1000)
  const pad = (value: number) => String(value).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** Unix seconds → `14:58:47` (chart ticks). */
export function clock(seconds: number): string {
  return dateTime(seconds).slice(11)
}

/** Seconds → `3 min 20 s`, `2 h 5 min`, `4 d 2 h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`
  if (s < 86_400)
    return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`
  return `${Math.floor(s / 86_400)} d${s % 86_400 >= 3600 ? ` ${Math.floor((s % 86_400) / 3600)} h` : ''}`
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value
}

/** Cuts a decimal string to at most `places` decimals (display only: it truncates, never rounds up). */
function trimDecimal(text: string, places: number): string {
  const [whole = '0', fraction = ''] = text.split('.')
  const cut = fraction.slice(0, places).replace(/0+$/, '')
  const padded = places === 2 && cut.length === 1 ? `${cut}0` : cut
  return padded ? `${whole}.${padded}` : whole
}

function groupThousands(text: string): string {
  const [whole = '0', fraction] = text.split('.')
  const negative = whole.startsWith('-')
  const digits = negative ? whole.slice(1) : whole
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '-' : ''}${grouped}${fraction ? `.${fraction}` : ''}`
}
