import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import {
  InvalidDeploymentError,
  isRegionName,
  parseDeployment,
  parseStoa,
  type RegionName,
  type StoaDeployment,
} from '@stoa/protocol'
import type { Hex } from 'viem'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ProviderConfigError, type ProviderConfigIssue } from './errors.ts'
import type { LogLevel } from './logger.ts'

/**
 * The provider daemon's configuration: a JSON or YAML file, plus overrides (command-line flags),
 * validated with zod. Every field but the key, the deployment, the data directory, the region and
 * the stake has a default. See README.md, "Configuration".
 */

const decimal = (what: string) =>
  z
    .union([z.string(), z.number()])
    .transform((value) => (typeof value === 'number' ? numberToDecimal(value) : value.trim()))
    .refine((value) => /^\d+(\.\d+)?$/.test(value), { message: `expected ${what}` })

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max)

const hexKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, { message: 'expected a private key: 0x and 64 hex digits' })

const deploymentSchema = z.union([
  z.string().min(1),
  z.looseObject({ chainId: z.number(), rpcUrl: z.string(), contracts: z.record(z.string(), z.string()) }),
])

const linearPricingSchema = z.strictObject({
  /** USD per hour for each resource unit. */
  usdPerHour: z.strictObject({
    cpu: decimal('USD per hour per CPU core, like "0.02"'),
    memoryGiB: decimal('USD per hour per GiB of memory'),
    storageGiB: decimal('USD per hour per GiB of storage').prefault('0'),
    gpu: decimal('USD per hour per GPU').prefault('0'),
  }),
  /** The lowest price asked for any order, USD per hour. */
  minUsdPerHour: decimal('USD per hour').prefault('0'),
})

const scriptPricingSchema = z.strictObject({
  script: z.strictObject({
    /** An executable: gets {"order","resources","provider"} as JSON on stdin, prints USD per hour. */
    path: z.string().min(1),
    args: z.array(z.string()).prefault([]),
    timeoutMs: int(1, 600_000).prefault(2_000),
  }),
})

export const providerConfigSchema = z.strictObject({
  /** The provider's operator key (registers, bids, signs). Or `keyFile`. */
  key: hexKey.optional(),
  /** A file holding the key (first line). */
  keyFile: z.string().min(1).optional(),
  chain: z.strictObject({
    /** A deployment JSON file (as `stoa devnet` writes) or the deployment itself. */
    deployment: deploymentSchema,
    /** Overrides the deployment's RPC URL. */
    rpcUrl: z
      .string()
      .regex(/^(https?|wss?):\/\/\S+$/, { message: 'expected an http(s) or ws(s) URL' })
      .optional(),
    /** How often viem polls for blocks, events and receipts, ms. */
    pollingIntervalMs: int(10, 60_000).prefault(1_000),
    /** First block to scan for Market events; default the deployment's block (or 0). */
    fromBlock: z.union([int(0), z.string().regex(/^\d+$/)]).optional(),
    /** Largest block range per eth_getLogs call. */
    logChunkBlocks: int(1, 1_000_000).prefault(5_000),
    /** Period of the reconcile loop that re-reads open orders (events get missed), ms. */
    reconcileIntervalMs: int(50, 600_000).prefault(5_000),
  }),
  /** Where the state database, manifests, workload files and results live. */
  dataDir: z.string().min(1),
  gateway: z
    .strictObject({
      host: z.string().min(1).prefault('0.0.0.0'),
      /** 0: any free port (tests). */
      port: int(0, 65535).prefault(8701),
      /** The URL tenants reach the gateway at, registered on chain. Default http://<host>:<port>. */
      publicUrl: z
        .string()
        .regex(/^https?:\/\/\S+$/, { message: 'expected an http(s) URL' })
        .optional(),
      /** Largest request body, bytes (manifest plus base64 modules). */
      bodyLimitBytes: int(1024, 256 * 1024 * 1024).prefault(16 * 1024 * 1024),
    })
    .prefault({}),
  ingress: z
    .strictObject({
      enabled: z.boolean().prefault(true),
      host: z.string().min(1).prefault('0.0.0.0'),
      port: int(0, 65535).prefault(8780),
      /** The base URL service links point at. Default http://<gateway public host>:<port>. */
      publicUrl: z
        .string()
        .regex(/^https?:\/\/\S+$/, { message: 'expected an http(s) URL' })
        .optional(),
    })
    .prefault({}),
  region: z.string().refine((value) => isRegionName(value), {
    message: 'expected a region name such as "eu-west" (see packages/protocol/src/regions.ts)',
  }),
  location: z
    .strictObject({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
    })
    .prefault({ latitude: 0, longitude: 0 }),
  /** At most 16, keys and values of at most 32 bytes (e.g. { "gpu.model": "A100" }). */
  attributes: z
    .record(z.string().min(1), z.string())
    .refine((value) => Object.keys(value).length <= 16, { message: 'expected at most 16 attributes' })
    .prefault({}),
  /** Overrides of the detected capacity. */
  capacity: z
    .strictObject({
      cpuMillis: int(0, 2 ** 32 - 1).optional(),
      memoryMiB: int(0, 2 ** 32 - 1).optional(),
      storageMiB: int(0, 2 ** 32 - 1).optional(),
      gpus: int(0, 65535).optional(),
      gpuModel: z.string().max(32).optional(),
    })
    .prefault({}),
  pricing: z.union([linearPricingSchema, scriptPricingSchema]),
  /** Added on top of the computed price (0.1 = +10%); the bid never exceeds the order's maximum. */
  bidMargin: z.number().min(0).max(100).prefault(0),
  /** STOA to keep bonded (decimal); at registration at least the registry's minimum. */
  stake: decimal('an amount of STOA like "1000"'),
  runtimes: z
    .strictObject({
      docker: z
        .strictObject({
          /** auto: on when the engine answers at start. */
          enabled: z.union([z.boolean(), z.literal('auto')]).prefault('auto'),
          socketPath: z.string().min(1).optional(),
          network: z.string().min(1).optional(),
          /**
           * Added to the provider address in container labels and names. Containers are this daemon's
           * by that label: two daemons with the same key on one engine (tests on several chains) need
           * different namespaces, or each removes the other's containers as orphans.
           */
          namespace: z
            .string()
            .regex(/^[a-z0-9][a-z0-9_.-]{0,4}$/, {
              message: 'expected 1 to 5 of a-z, 0-9, "_", ".", "-" (it goes into container names)',
            })
            .optional(),
          hostFirewall: z.enum(['iptables', 'none']).prefault('iptables'),
          /** Process limit of each container. */
          pids: int(1, 1_000_000).prefault(256),
          gpu: z.union([z.literal('auto'), z.literal(false)]).prefault('auto'),
        })
        .prefault({}),
      wasm: z.strictObject({ enabled: z.boolean().prefault(true) }).prefault({}),
    })
    .prefault({}),
  bidding: z
    .strictObject({
      enabled: z.boolean().prefault(true),
      /**
       * How long after an order's bid deadline a bid keeps its capacity reserved (the tenant may
       * accept any time while the order is open), seconds.
       */
      holdSeconds: int(0, 30 * 24 * 3600).prefault(600),
      /** Call acceptBestBid / restartBidding on auto-reopen orders (failover with no tenant online). */
      autoReopen: z.boolean().prefault(true),
    })
    .prefault({}),
  leases: z
    .strictObject({
      /** How long a new lease waits for its manifest before the provider closes it, ms. */
      manifestTimeoutMs: int(100).prefault(120_000),
      /** Period of the lease reconciler (workloads vs chain), ms. */
      reconcileIntervalMs: int(50).prefault(5_000),
      /** Period of the settler, ms. */
      settleIntervalMs: int(100).prefault(60_000),
      /** Withdraw earnings to the provider's credits after settling. */
      withdraw: z.boolean().prefault(true),
      /** Wall-clock limit of a job, seconds (0: until the lease ends). */
      jobTimeoutSec: int(0).prefault(0),
      /** How long results of a closed lease are kept on disk, ms. */
      resultsRetentionMs: int(0).prefault(7 * 24 * 3600 * 1000),
      /** Largest manifest fetched from an order's manifest URI, bytes. */
      manifestUriMaxBytes: int(1024).prefault(16 * 1024 * 1024),
      manifestUriTimeoutMs: int(100).prefault(10_000),
    })
    .prefault({}),
  watcher: z
    .strictObject({
      enabled: z.boolean().prefault(false),
      /** The watcher's key (registered with Market.setWatcher); default the provider key. */
      key: hexKey.optional(),
      probeIntervalMs: int(50).prefault(5_000),
      probeTimeoutMs: int(50).prefault(3_000),
      failuresBeforeReport: int(1, 1000).prefault(3),
      /** Which leases to watch: every active lease of other providers, or these lease ids. */
      leases: z
        .union([z.literal('all'), z.array(z.union([z.string().regex(/^\d+$/), int(1)]))])
        .prefault('all'),
    })
    .prefault({}),
  /** Storage provider role (docs/storage-spec.md): shards held, acceptances signed, proofs sent. */
  storage: z
    .strictObject({
      enabled: z.boolean().prefault(true),
      /** Bytes of disk offered to shards; default the capacity's storageMiB. */
      capacityBytes: int(0).optional(),
      /**
       * The lowest price accepted, in 1e-18 credits per byte per second (an integer). The default,
       * 771600, is about USD 2 per TB-month.
       */
      askPricePerByteSecond: z
        .union([z.string().regex(/^\d{1,20}$/, { message: 'expected an integer' }), int(0)])
        .prefault(771_600),
      /** Seconds an upload, or a shard no deal names, is kept (extended by a signed acceptance's deadline). */
      uploadTtlSeconds: int(1, 30 * 24 * 3600).prefault(3600),
      /** The shard directory; default <dataDir>/shards. */
      dir: z.string().min(1).optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).prefault('info'),
    })
    .prefault({}),
})

export type ProviderConfigInput = z.input<typeof providerConfigSchema>
type ParsedConfig = z.output<typeof providerConfigSchema>

export type LinearPricing = {
  kind: 'linear'
  /** USD per hour, decimal strings. */
  usdPerHour: { cpu: string; memoryGiB: string; storageGiB: string; gpu: string }
  minUsdPerHour: string
}
export type ScriptPricing = { kind: 'script'; path: string; args: string[]; timeoutMs: number }

/** The configuration after validation, with the deployment and key resolved. */
export type ProviderConfig = Omit<
  ParsedConfig,
  'key' | 'keyFile' | 'chain' | 'pricing' | 'stake' | 'region' | 'watcher' | 'log' | 'dataDir' | 'storage'
> & {
  key: Hex
  dataDir: string
  region: RegionName
  chain: Omit<ParsedConfig['chain'], 'deployment' | 'fromBlock' | 'rpcUrl'> & {
    deployment: StoaDeployment
    fromBlock: bigint
  }
  pricing: LinearPricing | ScriptPricing
  /** STOA base units (18 decimals). */
  stake: bigint
  watcher: Omit<ParsedConfig['watcher'], 'leases' | 'key'> & {
    key: Hex | undefined
    leases: 'all' | bigint[]
  }
  log: { level: LogLevel }
  storage: {
    enabled: boolean
    /** Undefined: the capacity's storageMiB. */
    capacityBytes: number | undefined
    askPricePerByteSecond: bigint
    uploadTtlSeconds: number
    /** Absolute. */
    dir: string
  }
}

export type ParseProviderConfigOptions = {
  /** Relative paths (deployment, key file, data dir, pricing script) resolve from here; default cwd. */
  baseDir?: string | undefined
  /** The file name, for error messages. */
  source?: string | undefined
}

/**
 * Validates a configuration object and resolves it: reads the deployment file and key file (sync),
 * makes paths absolute, converts the stake to base units. Throws `ProviderConfigError` naming every
 * bad field.
 */
export function parseProviderConfig(
  input: unknown,
  options: ParseProviderConfigOptions = {},
): ProviderConfig {
  const baseDir = path.resolve(options.baseDir ?? process.cwd())
  const fail = (issues: ProviderConfigIssue[], cause?: unknown): never => {
    throw new ProviderConfigError(issues, { source: options.source, cause })
  }
  const parsed = providerConfigSchema.safeParse(input)
  if (!parsed.success) fail(configIssues(parsed.error.issues, []))
  const config = parsed.data as ParsedConfig
  const resolvePath = (file: string) => path.resolve(baseDir, file)

  let key = config.key as Hex | undefined
  if (key === undefined && config.keyFile !== undefined) {
    let text = ''
    try {
      text = readFileSync(resolvePath(config.keyFile), 'utf8').split('\n')[0]?.trim() ?? ''
    } catch (error) {
      fail([{ path: 'keyFile', message: `could not read ${resolvePath(config.keyFile)}` }], error)
    }
    if (!/^0x[0-9a-fA-F]{64}$/.test(text)) {
      fail([{ path: 'keyFile', message: 'expected the file to hold a private key: 0x and 64 hex digits' }])
    }
    key = text as Hex
  }
  if (key === undefined) fail([{ path: 'key', message: 'expected a private key (key or keyFile)' }])

  let deploymentInput: unknown = config.chain.deployment
  let deploymentBlock: bigint | undefined
  if (typeof deploymentInput === 'string') {
    const file = resolvePath(deploymentInput)
    try {
      deploymentInput = JSON.parse(readFileSync(file, 'utf8'))
    } catch (error) {
      fail([{ path: 'chain.deployment', message: `could not read a deployment JSON file at ${file}` }], error)
    }
  }
  const rawBlock = (deploymentInput as { blockNumber?: unknown } | undefined)?.blockNumber
  if (typeof rawBlock === 'string' && /^\d+$/.test(rawBlock)) deploymentBlock = BigInt(rawBlock)
  if (typeof rawBlock === 'number' && Number.isSafeInteger(rawBlock)) deploymentBlock = BigInt(rawBlock)
  if (typeof rawBlock === 'bigint') deploymentBlock = rawBlock
  if (config.chain.rpcUrl !== undefined && typeof deploymentInput === 'object' && deploymentInput !== null) {
    deploymentInput = { ...deploymentInput, rpcUrl: config.chain.rpcUrl }
  }
  let deployment: StoaDeployment | undefined
  try {
    deployment = parseDeployment(deploymentInput)
  } catch (error) {
    if (!(error instanceof InvalidDeploymentError)) throw error
    fail([{ path: `chain.deployment.${error.field}`, message: error.shortMessage }], error)
  }

  const pricing: LinearPricing | ScriptPricing =
    'script' in config.pricing
      ? {
          kind: 'script',
          path: resolvePath(config.pricing.script.path),
          args: config.pricing.script.args,
          timeoutMs: config.pricing.script.timeoutMs,
        }
      : {
          kind: 'linear',
          usdPerHour: config.pricing.usdPerHour,
          minUsdPerHour: config.pricing.minUsdPerHour,
        }

  const issues: ProviderConfigIssue[] = []
  for (const [name, value] of Object.entries(config.attributes)) {
    if (Buffer.byteLength(name) > 32)
      issues.push({ path: `attributes.${name}`, message: 'expected a key of at most 32 bytes' })
    if (Buffer.byteLength(value) > 32)
      issues.push({ path: `attributes.${name}`, message: 'expected a value of at most 32 bytes' })
  }
  if (issues.length > 0) fail(issues)

  const { key: _key, keyFile: _keyFile, ...rest } = config
  return {
    ...rest,
    key: key as Hex,
    dataDir: resolvePath(config.dataDir),
    region: config.region as RegionName,
    chain: {
      pollingIntervalMs: config.chain.pollingIntervalMs,
      logChunkBlocks: config.chain.logChunkBlocks,
      reconcileIntervalMs: config.chain.reconcileIntervalMs,
      deployment: deployment as StoaDeployment,
      fromBlock:
        config.chain.fromBlock !== undefined ? BigInt(config.chain.fromBlock) : (deploymentBlock ?? 0n),
    },
    pricing,
    stake: parseStoa(config.stake),
    watcher: {
      enabled: config.watcher.enabled,
      key: config.watcher.key as Hex | undefined,
      probeIntervalMs: config.watcher.probeIntervalMs,
      probeTimeoutMs: config.watcher.probeTimeoutMs,
      failuresBeforeReport: config.watcher.failuresBeforeReport,
      leases: config.watcher.leases === 'all' ? 'all' : config.watcher.leases.map((id) => BigInt(id)),
    },
    log: { level: config.log.level },
    storage: {
      enabled: config.storage.enabled,
      capacityBytes: config.storage.capacityBytes,
      askPricePerByteSecond: BigInt(config.storage.askPricePerByteSecond),
      uploadTtlSeconds: config.storage.uploadTtlSeconds,
      dir:
        config.storage.dir !== undefined
          ? resolvePath(config.storage.dir)
          : path.join(resolvePath(config.dataDir), 'shards'),
    },
  }
}

type ZodIssueLike = {
  code: string
  path: PropertyKey[]
  message: string
  errors?: ZodIssueLike[][]
}

/** Zod issues as `{ path, message }`; a union (pricing) reports the branch that came closest. */
function configIssues(issues: readonly ZodIssueLike[], prefix: PropertyKey[]): ProviderConfigIssue[] {
  const result: ProviderConfigIssue[] = []
  for (const issue of issues) {
    const path = [...prefix, ...issue.path]
    if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? []
      const nested = configIssues(closest, path)
      if (path.length === 1 && path[0] === 'pricing') {
        result.push({
          path: 'pricing',
          message:
            'expected either { usdPerHour: { cpu, memoryGiB, storageGiB?, gpu? } } or { script: { path, args?, timeoutMs? } }',
        })
      }
      result.push(...nested)
      continue
    }
    result.push({ path: path.length > 0 ? path.map(String).join('.') : '(root)', message: issue.message })
  }
  return result
}

export type LoadProviderConfigParameters = {
  /** A JSON or YAML file (by extension; `.yaml`/`.yml` is YAML, anything else JSON, then YAML). */
  file?: string | undefined
  /** Merged over the file, object by object (arrays are replaced). */
  overrides?: Record<string, unknown> | undefined
}

/** Reads the configuration file, applies the overrides, validates and resolves it. */
export async function loadProviderConfig(parameters: LoadProviderConfigParameters): Promise<ProviderConfig> {
  let fromFile: unknown = {}
  let baseDir = process.cwd()
  if (parameters.file !== undefined) {
    const file = path.resolve(parameters.file)
    baseDir = path.dirname(file)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new ProviderConfigError([{ path: '(file)', message: `could not read ${file}` }], { cause: error })
    }
    try {
      fromFile = /\.ya?ml$/i.test(file) ? parseYaml(text) : parseJsonOrYaml(text)
    } catch (error) {
      throw new ProviderConfigError(
        [{ path: '(file)', message: `expected JSON or YAML (${(error as Error).message.split('\n')[0]})` }],
        { source: file, cause: error },
      )
    }
  }
  const merged = mergeConfig(fromFile ?? {}, parameters.overrides ?? {})
  return parseProviderConfig(merged, { baseDir, source: parameters.file })
}

function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return parseYaml(text)
  }
}

/** Fields whose value is one of several shapes: an override replaces them whole. */
const replacedWhole = new Set(['pricing'])

/**
 * Deep merge of plain objects: `override` wins, arrays and scalars replace, undefined is skipped;
 * `pricing` is replaced whole (a script replaces linear rates, not merges with them).
 */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override
  const result: Record<string, unknown> = { ...base }
  for (const [name, value] of Object.entries(override)) {
    if (value === undefined) continue
    result[name] = replacedWhole.has(name) ? value : mergeConfig(result[name], value)
  }
  return result
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** 0.05 → "0.05" without exponent notation (1e-7 → "0.0000001"). */
function numberToDecimal(value: number): string {
  if (!Number.isFinite(value) || value < 0) return String(value)
  const text = String(value)
  if (!/e/i.test(text)) return text
  return value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '')
}
