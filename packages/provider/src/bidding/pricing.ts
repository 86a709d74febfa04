import { spawn } from 'node:child_process'
import {
  divideRounding,
  InvalidAmountError,
  parseUnitsExact,
  pricePerSecondToUsdPerHour,
  regionsFromMask,
  SECONDS_PER_HOUR,
  usdPerHourToPricePerSecond,
} from '@stoa/protocol'
import type { LinearPricing, ScriptPricing } from '../config.ts'
import { PricingScriptError } from '../errors.ts'
import type { Resources } from '../resources.ts'
import type { OrderRow } from '../state/store.ts'

/** What a pricing strategy is asked: the order (as its log and the chain say) and what it needs. */
export type PriceRequest = {
  order: OrderRow
  resources: Resources
  provider: { address: string; region: string }
}

/**
 * A pricing strategy: the cost price of an order in 1e-12 USD per second, or undefined to decline
 * it. Throws `PricingScriptError` when an external script fails (no bid either).
 */
export type Pricer = (request: PriceRequest) => Promise<bigint | undefined>

// USD rates are parsed to 1e-12 USD per hour; cpu comes in millicores, sizes in MiB.
const RATE_DECIMALS = 12
const MILLIS_PER_CORE = 1000n
const MIB_PER_GIB = 1024n

/**
 * Linear rates: usdPerHour = cores × cpu + GiB(memory) × memoryGiB + GiB(storage) × storageGiB +
 * gpus × gpu, at least `minUsdPerHour`, converted exactly and rounded up to 1e-12 USD per second
 * (a provider never asks less than its rates).
 */
export function linearPricer(pricing: LinearPricing): Pricer {
  const rate = (value: string) => parseUnitsExact(value, RATE_DECIMALS, 'USD per hour')
  const cpu = rate(pricing.usdPerHour.cpu)
  const memory = rate(pricing.usdPerHour.memoryGiB)
  const storage = rate(pricing.usdPerHour.storageGiB)
  const gpu = rate(pricing.usdPerHour.gpu)
  const minimum = rate(pricing.minUsdPerHour)
  return async ({ resources }) => linearPrice(resources, { cpu, memory, storage, gpu, minimum })
}

/** The linear price of `resources` in 1e-12 USD/s, from rates in 1e-12 USD/h. */
export function linearPrice(
  resources: Resources,
  rates: { cpu: bigint; memory: bigint; storage: bigint; gpu: bigint; minimum: bigint },
): bigint {
  // Everything over the common denominator 1000 × 1024, so the sum is exact.
  const denominator = MILLIS_PER_CORE * MIB_PER_GIB
  let numerator =
    rates.cpu * BigInt(resources.cpuMillis) * MIB_PER_GIB +
    rates.memory * BigInt(resources.memoryMiB) * MILLIS_PER_CORE +
    rates.storage * BigInt(resources.storageMiB) * MILLIS_PER_CORE +
    rates.gpu * BigInt(resources.gpus) * denominator
  if (numerator < rates.minimum * denominator) numerator = rates.minimum * denominator
  // numerator / denominator is 1e-12 USD per hour; per second divides by 3600.
  return divideRounding(numerator, denominator * SECONDS_PER_HOUR, 'up')
}

/** What an external pricing script reads on stdin. */
export function priceRequestJson(request: PriceRequest): string {
  const { order } = request
  return JSON.stringify({
    order: {
      orderId: order.orderId.toString(),
      tenant: order.tenant,
      round: order.round,
      resources: order.resources,
      gpuModel: order.gpuModel,
      regionMask: order.regionMask,
      regions: regionsFromMask(order.regionMask),
      maxPricePerSecond: order.maxPricePerSecond.toString(),
      maxUsdPerHour: pricePerSecondToUsdPerHour(order.maxPricePerSecond),
      deposit: order.deposit.toString(),
      bidDeadline: order.bidDeadline,
      autoReopen: order.autoReopen,
      manifestHash: order.manifestHash,
      manifestUri: order.manifestUri,
    },
    resources: request.resources,
    provider: request.provider,
  })
}

/**
 * An external pricing script (as Akash's bid price script): it gets the request as JSON on
 * stdin and prints a price in USD per hour (`0.12`) on stdout; an empty output or `none`
 * declines the order. A non-zero exit, unparsable output or running past `timeoutMs` (the script
 * is killed) is a `PricingScriptError`, and no bid is placed.
 */
export function scriptPricer(script: ScriptPricing): Pricer {
  return (request) =>
    new Promise<bigint | undefined>((resolve, reject) => {
      const child = spawn(script.path, script.args, { stdio: ['pipe', 'pipe', 'pipe'], detached: false })
      let stdout = ''
      let stderr = ''
      let settled = false
      const finish = (error: PricingScriptError | undefined, price?: bigint) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (error) reject(error)
        else resolve(price)
      }
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        finish(
          new PricingScriptError(
            'timeout',
            `${script.path} ran past its ${script.timeoutMs} ms limit and was killed`,
          ),
        )
      }, script.timeoutMs)
      child.on('error', (error) =>
        finish(new PricingScriptError('spawn', `${script.path} could not be started`, { cause: error })),
      )
      child.stdout.setEncoding('utf8')
      child.stderr.setEncoding('utf8')
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk
        if (stdout.length > 4096) {
          child.kill('SIGKILL')
          finish(new PricingScriptError('output', 'it printed more than 4 KiB'))
        }
      })
      child.stderr.on('data', (chunk: string) => {
        if (stderr.length < 4096) stderr += chunk
      })
      child.stdin.on('error', () => {
        // The script may exit without reading its input; its exit status decides.
      })
      child.on('close', (code, signal) => {
        if (code !== 0) {
          return finish(
            new PricingScriptError(
              'exit',
              `${script.path} exited with ${code === null ? `signal ${signal}` : `code ${code}`}${stderr ? `: ${stderr.trim().slice(0, 200)}` : ''}`,
            ),
          )
        }
        const text = stdout.trim()
        if (text === '' || text.toLowerCase() === 'none') return finish(undefined, undefined)
        try {
          const price = usdPerHourToPricePerSecond(text, { rounding: 'up' })
          finish(undefined, price === 0n ? undefined : price)
        } catch (error) {
          if (!(error instanceof InvalidAmountError)) throw error
          finish(
            new PricingScriptError(
              'output',
              `expected a price in USD per hour, got ${JSON.stringify(text.slice(0, 40))}`,
            ),
          )
        }
      })
      child.stdin.end(priceRequestJson(request))
    })
}

export function createPricer(pricing: LinearPricing | ScriptPricing): Pricer {
  return pricing.kind === 'linear' ? linearPricer(pricing) : scriptPricer(pricing)
}

/**
 * The bid for a cost price: cost × (1 + margin), rounded up, but never above the order's maximum.
 * Undefined when even the cost is above the maximum (no bid).
 */
export function bidPrice(cost: bigint, margin: number, maxPricePerSecond: bigint): bigint | undefined {
  if (cost <= 0n || cost > maxPricePerSecond) return undefined
  const marginBps = BigInt(Math.round(margin * 10_000))
  const withMargin = divideRounding(cost * (10_000n + marginBps), 10_000n, 'up')
  return withMargin > maxPricePerSecond ? maxPricePerSecond : withMargin
}
