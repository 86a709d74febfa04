import type { Hex } from 'viem'
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import { type RegionCode, regionCode, regionName, UnknownRegionError } from '../regions.ts'
import { creditsForDuration, InvalidAmountError, parseCredits, usdPerHourToPricePerSecond } from '../units.ts'
import { type ManifestIssue, ManifestValidationError } from './errors.ts'
import { manifestLimits as limits, MAX_UINT64 } from './limits.ts'
import {
  type AuthoredManifest,
  authoredManifestSchema,
  checkManifestRules,
  formatPath,
  fromZodIssues,
  type PathSegments,
  protoKeyIssues,
  type RawIssue,
  zodMessage,
} from './schema.ts'
import type { NormalizedManifest, NormalizedService, WasmModuleRef } from './types.ts'
import { manifestHash, moduleDigest } from './validate.ts'

/** Reads a file's bytes (a WASI module named by a manifest). */
export type ReadModuleFile = (path: string) => Uint8Array | Promise<Uint8Array>

export type ParseManifestOptions = {
  /** The folder `wasm:` paths are relative to: the manifest file's folder. Default: the working directory. */
  baseDir?: string | undefined
  /** Reads a module file; default: from disk (node:fs), refusing files over 8 MiB before reading. */
  readFile?: ReadModuleFile | undefined
  /** The manifest's file name, for error messages. */
  source?: string | undefined
}

export type ParseManifestReturnType = {
  manifest: NormalizedManifest
  /** The bytes of every WASI module the manifest names, keyed by their sha256 (`0x…`). */
  modules: Map<Hex, Uint8Array>
  /** `manifestHash(manifest)`: what goes on chain. */
  hash: Hex
}

export type ParseManifestErrorType = ManifestValidationError

/**
 * Parses a manifest (compose-like YAML), validates it and normalizes it: sizes to MiB, CPU to
 * millicores, defaults filled, env sorted, the price and deposit in chain units, and every `wasm:`
 * path loaded and replaced by `{ sha256, size }` of the module.
 *
 * Throws `ManifestValidationError` listing every problem with its field path and its line and
 * column (YAML syntax errors included); it throws nothing else for any input text.
 *
 * @example
 * const { manifest, modules, hash } = await parseManifest(await readFile('app.yaml', 'utf8'), {
 *   baseDir: '.',
 *   source: 'app.yaml',
 * })
 */
export async function parseManifest(
  yamlText: string,
  options: ParseManifestOptions = {},
): Promise<ParseManifestReturnType> {
  const fail: (issues: ManifestIssue[], cause?: unknown) => never = (issues, cause) => {
    throw new ManifestValidationError(issues, { source: options.source, cause })
  }
  if (typeof yamlText !== 'string') fail([{ path: '(root)', message: 'expected the manifest as YAML text' }])
  const textBytes = new TextEncoder().encode(yamlText).length
  if (textBytes > limits.maxTextBytes) {
    fail([
      { path: '(root)', message: `expected at most ${limits.maxTextBytes} bytes of YAML, got ${textBytes}` },
    ])
  }

  const lineCounter = new LineCounter()
  const document = parseDocument(yamlText, {
    lineCounter,
    schema: 'core',
    uniqueKeys: true,
    prettyErrors: true,
  })
  if (document.errors.length > 0) {
    fail(
      document.errors.map((error) => ({
        path: '(root)',
        // yaml appends " at line L, column C:" and a source excerpt; the position is kept apart.
        message: `expected valid YAML: ${error.message.split(/ at line \d+, column \d+/)[0]}`,
        ...(error.linePos ? { line: error.linePos[0].line, column: error.linePos[0].col } : {}),
      })),
    )
  }
  let value: unknown
  try {
    // Aliases are capped: a small file must not expand into a huge object (billion laughs).
    value = document.toJS({ maxAliasCount: 100 })
  } catch (error) {
    fail([{ path: '(root)', message: `expected valid YAML: ${(error as Error).message}` }], error)
  }

  // Issues in the order of the text, so a reader goes through the file once.
  const locateIssues = (issues: RawIssue[]): ManifestIssue[] =>
    issues
      .map(
        (issue): ManifestIssue => ({
          path: formatPath(issue.path),
          message: issue.message,
          ...locate(document.contents, lineCounter, issue.path, issue.key === true),
        }),
      )
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))

  const parsed = authoredManifestSchema.safeParse(value, { reportInput: true, error: zodMessage })
  const schemaIssues = [
    ...protoKeyIssues(value),
    ...(parsed.success ? [] : fromZodIssues(parsed.error.issues)),
  ]
  if (!parsed.success || schemaIssues.length > 0) fail(locateIssues(schemaIssues))
  const authored = parsed.data

  const issues: RawIssue[] = []
  const modules = new Map<Hex, Uint8Array>()
  const services = await normalizeServices(authored, options, issues, modules)
  const placement = normalizePlacement(authored, issues)
  const deposit = normalizeDeposit(authored, placement?.maxPricePerSecond, issues)
  if (!placement || !deposit) fail(locateIssues(issues))
  const manifest: NormalizedManifest = {
    version: '1',
    services,
    placement: { regions: placement.regions, maxPricePerSecond: placement.maxPricePerSecond.toString() },
    deposit,
  }
  issues.push(...checkManifestRules(manifest, 'authored'))
  if (issues.length > 0) fail(locateIssues(issues))
  for (const service of Object.values(manifest.services)) service.expose.sort((a, b) => a.port - b.port)
  return { manifest, modules, hash: manifestHash(manifest) }
}

async function normalizeServices(
  authored: AuthoredManifest,
  options: ParseManifestOptions,
  issues: RawIssue[],
  modules: Map<Hex, Uint8Array>,
): Promise<Record<string, NormalizedService>> {
  const baseDir = options.baseDir ?? (typeof process === 'undefined' ? '.' : process.cwd())
  const readFile = options.readFile ?? readModuleFromDisk
  const loads = new Map<string, Promise<Uint8Array | string>>()
  const services: Record<string, NormalizedService> = {}

  for (const [name, service] of Object.entries(authored.services)) {
    const expose = (service.expose ?? []).map((entry) => ({ port: entry.port, http: entry.http ?? true }))
    const { cpu, memory, storage, gpu } = service.resources
    const common = {
      kind: service.kind ?? (expose.length > 0 ? 'service' : 'job'),
      command: service.command ?? [],
      args: service.args ?? [],
      env: Object.fromEntries(
        Object.entries(service.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
      expose,
      resources: {
        cpuMillis: cpu,
        memoryMiB: memory,
        storageMiB: storage ?? 0,
        gpus: gpu?.count ?? 0,
        ...(gpu?.model === undefined ? {} : { gpuModel: gpu.model }),
      },
    } satisfies Omit<NormalizedService, 'image' | 'wasm'>

    // Both or neither of image and wasm is reported by the rules; the shape is kept for them.
    const source: { image?: string; wasm?: WasmModuleRef } = {}
    if (service.image !== undefined) source.image = service.image
    if (service.wasm !== undefined) {
      const path = resolveModulePath(baseDir, service.wasm)
      let load = loads.get(path)
      if (!load) {
        load = loadModule(readFile, path)
        loads.set(path, load)
      }
      const bytes = await load
      if (typeof bytes === 'string') {
        issues.push({ path: ['services', name, 'wasm'], message: bytes })
        source.wasm = { sha256: '0x', size: 0 }
      } else {
        const sha256 = moduleDigest(bytes)
        modules.set(sha256, bytes)
        source.wasm = { sha256, size: bytes.length }
      }
    }
    services[name] = { ...common, ...source } as NormalizedService
  }
  return services
}

/** The module's bytes, or what is wrong with it. */
async function loadModule(readFile: ReadModuleFile, path: string): Promise<Uint8Array | string> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    if (error instanceof ModuleTooLargeError) return tooLarge(path, error.size)
    return `expected a readable .wasm file (${path}): ${error instanceof Error ? error.message : String(error)}`
  }
  if (!(bytes instanceof Uint8Array)) return `expected the bytes of ${path}, got ${typeof bytes}`
  if (bytes.length > limits.maxWasmModuleBytes) return tooLarge(path, bytes.length)
  // "\0asm" then version 1: a WASI preview1 binary module (not the text format, not a component).
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  if (bytes.length < 8 || header.some((byte, index) => bytes[index] !== byte)) {
    return `expected a WebAssembly binary module (starting with \\0asm, version 1): ${path} is not one`
  }
  return bytes
}

function tooLarge(path: string, size: number): string {
  return `expected a module of at most ${limits.maxWasmModuleBytes} bytes (8 MiB), got ${size} bytes (${path})`
}

class ModuleTooLargeError extends Error {
  constructor(readonly size: number) {
    super(`module of ${size} bytes`)
  }
}

async function readModuleFromDisk(path: string): Promise<Uint8Array> {
  const { open } = await import('node:fs/promises')
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size > limits.maxWasmModuleBytes) throw new ModuleTooLargeError(size)
    return new Uint8Array(await handle.readFile())
  } finally {
    await handle.close()
  }
}

/** `resolveModulePath('/app', '../mods/a.wasm')` → `'/mods/a.wasm'` (POSIX paths; absolute paths kept). */
export function resolveModulePath(baseDir: string, path: string): string {
  const joined = path.startsWith('/') ? path : `${baseDir}/${path}`
  const absolute = joined.startsWith('/')
  const parts: string[] = []
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue
    if (part !== '..') parts.push(part)
    else if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop()
    else if (!absolute) parts.push('..')
  }
  const normalized = parts.join('/')
  return absolute ? `/${normalized}` : normalized || '.'
}

function normalizePlacement(
  authored: AuthoredManifest,
  issues: RawIssue[],
): { regions: NormalizedManifest['placement']['regions']; maxPricePerSecond: bigint } | undefined {
  const codes = new Set<RegionCode>()
  let valid = true
  ;(authored.placement.regions ?? []).forEach((region, index) => {
    try {
      codes.add(regionCode(region))
    } catch (error) {
      if (!(error instanceof UnknownRegionError)) throw error
      valid = false
      issues.push({
        path: ['placement', 'regions', index],
        message: `expected a region name like "eu-west": ${error.shortMessage}`,
      })
    }
  })
  const pricePath = ['placement', 'maxUsdPerHour']
  const maxPricePerSecond = usdPerHourToPricePerSecond(authored.placement.maxUsdPerHour, { rounding: 'down' })
  if (maxPricePerSecond < 1n) {
    valid = false
    issues.push({
      path: pricePath,
      message: `expected a price above 0 (at least 0.0000000036 USD per hour), got "${authored.placement.maxUsdPerHour}"`,
    })
  } else if (maxPricePerSecond > MAX_UINT64) {
    valid = false
    issues.push({
      path: pricePath,
      message: `expected a price the chain can hold, got "${authored.placement.maxUsdPerHour}"`,
    })
  }
  if (!valid) return undefined
  return {
    regions: [...codes].sort((a, b) => a - b).map((code) => regionName(code)),
    maxPricePerSecond,
  }
}

function normalizeDeposit(
  authored: AuthoredManifest,
  maxPricePerSecond: bigint | undefined,
  issues: RawIssue[],
): NormalizedManifest['deposit'] | undefined {
  const { duration, deposit } = authored
  if (duration !== undefined && deposit !== undefined) {
    issues.push({ path: ['deposit'], message: 'expected `duration` or `deposit`, not both' })
    return undefined
  }
  if (duration === undefined && deposit === undefined) {
    issues.push({
      path: [],
      message: 'expected `duration` (how long to pay for, like "1h") or `deposit` (like { usd: "5" })',
    })
    return undefined
  }
  let credits: bigint
  let path: PathSegments
  if (duration !== undefined) {
    if (maxPricePerSecond === undefined) return undefined
    path = ['duration']
    credits = creditsForDuration(maxPricePerSecond, BigInt(duration), { rounding: 'up' })
  } else {
    path = ['deposit', 'usd']
    try {
      credits = parseCredits((deposit as { usd: string }).usd)
    } catch (error) {
      if (!(error instanceof InvalidAmountError)) throw error
      issues.push({ path, message: 'expected an amount of USD with at most 6 decimals, like "5" or "2.50"' })
      return undefined
    }
  }
  if (credits < 1n || credits > MAX_UINT64) {
    issues.push({
      path,
      message:
        credits < 1n
          ? 'expected a deposit above 0'
          : `expected a deposit the chain can hold (at most ${MAX_UINT64} credits), got ${credits}`,
    })
    return undefined
  }
  return duration === undefined
    ? { credits: credits.toString() }
    : { credits: credits.toString(), durationSeconds: duration }
}

/** The 1-based line and column of the YAML node at `path`, or of its deepest ancestor in the text. */
function locate(
  root: unknown,
  lineCounter: LineCounter,
  path: PathSegments,
  atKey: boolean,
): { line: number; column: number } | Record<string, never> {
  let node: unknown = root
  let offset = rangeStart(root)
  for (const [index, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment))
      if (!pair) break
      const keyOffset = rangeStart(pair.key)
      if (atKey && index === path.length - 1) {
        offset = keyOffset ?? offset
        break
      }
      node = pair.value
      offset = rangeStart(pair.value) ?? keyOffset ?? offset
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment]
      if (item === undefined) break
      node = item
      offset = rangeStart(item) ?? offset
    } else {
      break
    }
  }
  if (offset === undefined) return {}
  const { line, col } = lineCounter.linePos(offset)
  return { line, column: col }
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
    const start = node.range[0]
    return typeof start === 'number' ? start : undefined
  }
  return undefined
}
