import { BaseError } from './errors/base.ts'

/**
 * Region codes. A provider registers one code (uint16 on chain); an order allows a set of codes as
 * a 32-bit mask (bit r set = region r allowed, mask 0 = any region), so codes are 0..31. The table
 * is fixed: codes are on chain, so an entry may be added in a free slot but never renumbered.
 */
export const regions = [
  { code: 0, name: 'us-east', description: 'United States, east (Virginia, New York, Georgia)' },
  { code: 1, name: 'us-central', description: 'United States, central (Iowa, Texas, Illinois)' },
  { code: 2, name: 'us-west', description: 'United States, west (California, Oregon, Washington)' },
  { code: 3, name: 'ca-central', description: 'Canada, central (Montreal, Toronto)' },
  { code: 4, name: 'ca-west', description: 'Canada, west (Vancouver, Calgary)' },
  { code: 5, name: 'mx-central', description: 'Mexico (Querétaro, Mexico City)' },
  { code: 6, name: 'sa-east', description: 'South America, east (São Paulo, Rio de Janeiro)' },
  { code: 7, name: 'sa-west', description: 'South America, west (Santiago, Lima, Bogotá)' },
  { code: 8, name: 'eu-west', description: 'Europe, west (Ireland, London, Paris, Amsterdam)' },
  { code: 9, name: 'eu-central', description: 'Europe, central (Frankfurt, Zurich, Vienna)' },
  { code: 10, name: 'eu-north', description: 'Europe, north (Stockholm, Helsinki, Oslo)' },
  { code: 11, name: 'eu-south', description: 'Europe, south (Milan, Madrid, Lisbon, Athens)' },
  { code: 12, name: 'eu-east', description: 'Europe, east (Warsaw, Bucharest, Prague)' },
  { code: 13, name: 'me-central', description: 'Middle East (Dubai, Riyadh, Doha, Tel Aviv)' },
  { code: 14, name: 'af-north', description: 'Africa, north (Cairo, Casablanca)' },
  { code: 15, name: 'af-west', description: 'Africa, west (Lagos, Accra, Dakar)' },
  { code: 16, name: 'af-east', description: 'Africa, east (Nairobi, Addis Ababa)' },
  { code: 17, name: 'af-south', description: 'Africa, south (Johannesburg, Cape Town)' },
  { code: 18, name: 'ap-south', description: 'Asia Pacific, south (Mumbai, Delhi, Hyderabad)' },
  { code: 19, name: 'ap-southeast', description: 'Asia Pacific, southeast (Singapore, Jakarta, Bangkok)' },
  { code: 20, name: 'ap-east', description: 'Asia Pacific, east (Hong Kong, Taipei)' },
  { code: 21, name: 'ap-northeast', description: 'Asia Pacific, northeast (Tokyo, Osaka, Seoul)' },
  { code: 22, name: 'cn-north', description: 'China, north (Beijing)' },
  { code: 23, name: 'cn-east', description: 'China, east (Shanghai, Hangzhou)' },
  { code: 24, name: 'cn-south', description: 'China, south (Shenzhen, Guangzhou)' },
  { code: 25, name: 'ap-central', description: 'Asia, central (Almaty, Tashkent)' },
  { code: 26, name: 'oc-east', description: 'Oceania, east (Sydney, Melbourne, Auckland)' },
  { code: 27, name: 'oc-west', description: 'Oceania, west (Perth)' },
  { code: 28, name: 'ru-west', description: 'Russia, west (Moscow, Saint Petersburg)' },
  { code: 29, name: 'ru-east', description: 'Russia, east (Novosibirsk, Vladivostok)' },
  { code: 30, name: 'antarctica', description: 'Antarctica and research stations' },
  { code: 31, name: 'space', description: 'Orbit and beyond (satellites, ground stations)' },
] as const

export type Region = (typeof regions)[number]
export type RegionName = Region['name']
export type RegionCode = Region['code']

/** Every region allowed: the contracts read a zero mask as "any region". */
export const ANY_REGION_MASK = 0

const byName = new Map<string, Region>(regions.map((region) => [region.name, region]))

export type UnknownRegionErrorType = UnknownRegionError & { name: 'UnknownRegionError' }
export class UnknownRegionError extends BaseError {
  constructor(region: string | number) {
    const suggestion = typeof region === 'string' ? closestRegionName(region) : undefined
    super(
      typeof region === 'number'
        ? `Region code ${region} is not defined: region codes are the integers 0 to 31.`
        : `"${region}" is not a region.${suggestion ? ` Did you mean "${suggestion}"?` : ''}`,
      {
        name: 'UnknownRegionError',
        metaMessages: [`Regions: ${regions.map((entry) => entry.name).join(', ')}.`],
      },
    )
  }
}

/** Whether `name` is one of the region names. */
export function isRegionName(name: string): name is RegionName {
  return byName.has(name)
}

/** `'eu-west'` → 8. Throws `UnknownRegionError` (with a suggestion) for an unknown name. */
export function regionCode(name: string): RegionCode {
  const region = byName.get(name.trim().toLowerCase())
  if (!region) throw new UnknownRegionError(name)
  return region.code
}

/** 8 → `'eu-west'`. Throws `UnknownRegionError` outside 0..31. */
export function regionName(code: number): RegionName {
  const region = Number.isInteger(code) ? regions[code] : undefined
  if (!region) throw new UnknownRegionError(code)
  return region.name
}

/** A region given by name or code → its code, checked. */
export function toRegionCode(region: RegionName | string | number): RegionCode {
  if (typeof region === 'string') return regionCode(region)
  regionName(region)
  return region as RegionCode
}

/**
 * The order placement mask for a set of regions (names or codes): bit r set = region r allowed.
 * An empty list gives 0, which the contracts read as "any region".
 */
export function regionMask(allowed: readonly (RegionName | string | number)[]): number {
  let mask = 0
  for (const region of allowed) {
    mask = (mask | (1 << toRegionCode(region))) >>> 0
  }
  return mask
}

/** The region names a mask allows, in code order. A zero mask allows every region. */
export function regionsFromMask(mask: number): RegionName[] {
  if (!Number.isInteger(mask) || mask < 0 || mask > 0xffff_ffff) {
    throw new RangeError(`regionsFromMask: ${mask} is not a 32-bit unsigned mask`)
  }
  if (mask === 0) return regions.map((region) => region.name)
  return regions.filter((region) => ((mask >>> region.code) & 1) === 1).map((region) => region.name)
}

/** Whether an order with placement `mask` accepts a provider in region `code`. */
export function maskAllowsRegion(mask: number, code: number): boolean {
  return mask === 0 || (code >= 0 && code < 32 && ((mask >>> code) & 1) === 1)
}

function closestRegionName(input: string): string | undefined {
  const needle = input.trim().toLowerCase()
  let best: { name: string; distance: number } | undefined
  for (const { name } of regions) {
    const distance = editDistance(needle, name)
    if (!best || distance < best.distance) best = { name, distance }
  }
  return best && best.distance <= Math.max(2, Math.floor(needle.length / 3)) ? best.name : undefined
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
