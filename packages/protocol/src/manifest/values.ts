/**
 * Parsers for the human-friendly values of a manifest (sizes, CPU, durations, image references).
 * Each returns the normalized value, or undefined when the input does not fit; the schema turns that
 * into an issue naming the field and what was expected.
 */

const SIZE = /^(\d{1,15})(?:\.(\d{1,6}))?(Ki|Mi|Gi|Ti|KiB|MiB|GiB|TiB|K|M|G|T|KB|MB|GB|TB)$/

const sizeFactors: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  K: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
}

export const sizeExpected =
  'a size like "256Mi" or "1Gi" (units Ki, Mi, Gi, Ti; or K, M, G, T for powers of 1000)'

/**
 * `"256Mi"` → 256, `"1.5Gi"` → 1536, `"100M"` → 96 (MiB, rounded up: a request for at least that
 * much). A bare number is refused (bytes or MiB? a guess either way), except 0 when `allowZero`.
 */
export function parseSizeMiB(value: unknown, options: { allowZero?: boolean } = {}): number | undefined {
  if ((value === 0 || value === '0') && options.allowZero) return 0
  if (typeof value !== 'string') return undefined
  const match = SIZE.exec(value.trim())
  if (!match) return undefined
  const [, whole = '0', fraction = '', unit = ''] = match
  const factor = sizeFactors[unit.replace(/i?B$/, (suffix) => (suffix === 'iB' ? 'i' : ''))]
  if (factor === undefined) return undefined
  const scale = 10n ** BigInt(fraction.length)
  const bytes = BigInt(`${whole}${fraction}`) * factor
  const mib = (bytes + scale * (1n << 20n) - 1n) / (scale * (1n << 20n))
  return mib > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(mib)
}

export const cpuExpected = 'a number of CPU cores like 0.5 or 2, or millicores like "500m"'

/** `0.5` or `"0.5"` → 500 millicores, `"250m"` → 250. At most 3 decimals; at least 1 millicore. */
export function parseCpuMillis(value: unknown): number | undefined {
  let text: string
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined
    text = String(value)
  } else if (typeof value === 'string') {
    text = value.trim()
  } else {
    return undefined
  }
  const millis = /^(\d{1,9})m$/.exec(text)
  if (millis) return positive(Number(millis[1]))
  const cores = /^(\d{1,6})(?:\.(\d{1,3})0*)?$/.exec(text)
  if (!cores) return undefined
  const [, whole = '0', fraction = ''] = cores
  return positive(Number(whole) * 1000 + Number(fraction.padEnd(3, '0')))
}

function positive(value: number): number | undefined {
  return Number.isSafeInteger(value) && value > 0 ? value : undefined
}

export const MAX_DURATION_SECONDS = 365 * 24 * 3600

export const durationExpected =
  'a duration like "1h", "30m", "2h30m" or "7d" (or seconds as an integer), at most 365d'

/** `"1h30m"` → 5400, `90` → 90. Positive, at most `MAX_DURATION_SECONDS`. */
export function parseDurationSeconds(value: unknown): number | undefined {
  let seconds: number
  if (typeof value === 'number') {
    seconds = value
  } else if (typeof value === 'string') {
    const text = value.trim()
    const match = /^(?:(\d{1,4})d)?(?:(\d{1,6})h)?(?:(\d{1,8})m)?(?:(\d{1,9})s)?$/.exec(text)
    if (!match || text === '') {
      if (!/^\d{1,9}$/.test(text)) return undefined
      seconds = Number(text)
    } else {
      const [, days = '0', hours = '0', minutes = '0', secs = '0'] = match
      seconds = Number(days) * 86_400 + Number(hours) * 3600 + Number(minutes) * 60 + Number(secs)
    }
  } else {
    return undefined
  }
  return Number.isSafeInteger(seconds) && seconds > 0 && seconds <= MAX_DURATION_SECONDS ? seconds : undefined
}

export const usdExpected = 'an amount of USD as a decimal string like "0.50"'

/**
 * A USD amount as written: a decimal string, or a YAML number (`0.5`) taken as its shortest decimal
 * form. Numbers JavaScript prints in exponent form (`1e-7`) are refused: write them as strings.
 */
export function usdText(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof text !== 'string') return undefined
  const trimmed = text.trim()
  return /^\d{1,20}(?:\.\d{1,18})?$/.test(trimmed) || /^\.\d{1,18}$/.test(trimmed) ? trimmed : undefined
}

// The Docker / OCI distribution reference grammar (github.com/distribution/reference, regexp.go).
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?`
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`
const tag = '[\\w][\\w.-]{0,127}'
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
const IMAGE_REFERENCE = new RegExp(`^(${name})(?::${tag})?(?:@${digest})?$`)

export const imageExpected =
  'an image reference like "stoa/busybox:1" or "registry.example.com/team/app@sha256:<64 hex>"'

/** Whether `value` is a syntactically valid Docker image reference (the name at most 255 characters). */
export function isImageReference(value: string): boolean {
  if (value.length > 512) return false
  const match = IMAGE_REFERENCE.exec(value)
  return match !== null && (match[1]?.length ?? 0) <= 255
}

// With the u flag a surrogate pair is one code point, so \p{Cs} matches only a lone surrogate.
const LONE_SURROGATE = /\p{Cs}/u

/** No lone surrogates (they have no UTF-8 form, and RFC 8785 refuses them) and no NUL (argv and env cannot hold one). */
export function isPlainText(value: string): boolean {
  return !LONE_SURROGATE.test(value) && !value.includes('\0')
}
