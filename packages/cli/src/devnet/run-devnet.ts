import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { priceOracleAbi, type StoaDeployment } from '@stoa/protocol'
import { createStoaClient, type GetOraclePriceReturnType, getOraclePrice } from '@stoa/sdk'
import {
  type AnvilInstance,
  DeploymentNotFoundError,
  type DeployStoaProgressEvent,
  type DevnetAccountBalance,
  deployStoa,
  devnetAccount,
  type FundDevnetAccountsProgressEvent,
  fundDevnetAccounts,
  readDevnetBalances,
  startAnvil,
  verifyStoaDeployment,
} from '@stoa/sdk/devnet'
import type { Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { simulateContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import {
  DEFAULT_DEPLOYMENT_FILE,
  type DeploymentFile,
  deploymentFileOf,
  readDeploymentFileIfExists,
  writeDeploymentFile,
} from '../deployment-file.ts'
import { DevnetStateMismatchError } from '../errors.ts'
import { DEVNET_ANVIL_ACCOUNTS, devnetAccountsWithProviders } from './accounts.ts'

export type RunDevnetOptions = {
  /** RPC port; default: a free one. */
  port?: number
  /**
   * Keep the chain between runs: anvil loads and dumps `DIR/chain.json`, the deployment lives in
   * `DIR/deployment.json`, and a restart reuses both instead of deploying again.
   */
  stateDir?: string
  /** Where to write the deployment for the other commands (default `.stoa/devnet/deployment.json`). */
  deploymentFile?: string
  /** Fund the named test accounts after a fresh deployment (default true). */
  fund?: boolean
  /** anvil `--block-time` (seconds); default: a block per transaction. */
  blockTime?: number
  /**
   * Without `blockTime`: also mine an empty block this often (ms), so storage proving windows advance
   * while nobody sends transactions (automine stays on, so transactions still confirm at once).
   * Default 1500; 0 turns it off.
   */
  mineIntervalMs?: number
  /** Provider accounts to fund and record (provider1…providerN, at least the SDK's three); default 3. */
  providerAccounts?: number
  /** Stops the devnet (also while it is starting). */
  signal?: AbortSignal
  onProgress?: (event: DevnetProgressEvent) => void
  /** Every line anvil prints. */
  onAnvilLog?: (line: string, stream: 'stdout' | 'stderr') => void
}

export type DevnetStep = 'anvil' | 'reuse' | 'deploy' | 'fund' | 'write-deployment' | 'summary'

export type DevnetProgressEvent =
  | { type: 'devnet:step:started'; detail: { step: DevnetStep } }
  | { type: 'devnet:step:finished'; detail: { step: DevnetStep; ms: number; note?: string } }
  | { type: 'devnet:oracle-refreshed'; detail: { answer: bigint } }
  | DeployStoaProgressEvent
  | FundDevnetAccountsProgressEvent

export type DevnetSummary = {
  rpcUrl: string
  chainId: number
  contracts: StoaDeployment['contracts']
  /** True when the chain and deployment were loaded from `stateDir` rather than deployed now. */
  reused: boolean
  deployedAt: string
  oracle: { answer: bigint; usdPerStoa: string; updatedAt: bigint; usable: boolean }
  accounts: DevnetAccountBalance[]
  /** Absolute paths of the deployment files written (the `--deployment` one first). */
  deploymentFiles: string[]
  stateDir: string | undefined
  /** Milliseconds per step and in total (`totalMs`: runDevnet start to summary). */
  timings: Partial<Record<DevnetStep, number>> & { totalMs: number }
}

export type Devnet = {
  summary: DevnetSummary
  anvil: AnvilInstance
  deployment: DeploymentFile
  /** Stops anvil (it saves the chain first when `stateDir` is set). Safe to call twice. */
  stop(): Promise<void>
  /** Resolves when anvil exits, whoever stopped it. */
  exited: AnvilInstance['exited']
}

/** anvil also saves the chain this often while running, so a crash loses at most this much. */
const STATE_INTERVAL_SECONDS = 10

/**
 * Starts a local Stoa chain: anvil, the contracts (deployed, or reused from `stateDir`), funded
 * test accounts, and the deployment file the other commands read. Returns once all of it is
 * ready, with a summary; the caller decides how long it runs and calls `stop()`.
 *
 * Steps, in order (each reported through `onProgress`): anvil → reuse | deploy → fund →
 * write-deployment → summary. Later features (providers, demos) slot in as further steps.
 */
export async function runDevnet(options: RunDevnetOptions = {}): Promise<Devnet> {
  const startedAt = performance.now()
  const timings: Partial<Record<DevnetStep, number>> = {}
  const { signal, onProgress } = options
  const step = async <T>(
    name: DevnetStep,
    run: () => Promise<T>,
    note?: (value: T) => string,
  ): Promise<T> => {
    signal?.throwIfAborted()
    onProgress?.({ type: 'devnet:step:started', detail: { step: name } })
    const stepStartedAt = performance.now()
    const value = await run()
    const ms = performance.now() - stepStartedAt
    timings[name] = ms
    const text = note?.(value)
    onProgress?.({
      type: 'devnet:step:finished',
      detail: { step: name, ms, ...(text ? { note: text } : {}) },
    })
    return value
  }

  const stateDir = options.stateDir === undefined ? undefined : resolve(options.stateDir)
  const stateFile = stateDir === undefined ? undefined : join(stateDir, 'chain.json')
  const stateDeploymentFile = stateDir === undefined ? undefined : join(stateDir, 'deployment.json')
  const deploymentFile = resolve(options.deploymentFile ?? DEFAULT_DEPLOYMENT_FILE)
  const chainWasSaved = stateFile !== undefined && existsSync(stateFile)
  const accounts = devnetAccountsWithProviders(options.providerAccounts ?? 3)
  const deployer = devnetAccount('deployer')

  const anvil = await step(
    'anvil',
    () =>
      startAnvil({
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(stateFile === undefined ? {} : { stateFile, stateIntervalSeconds: STATE_INTERVAL_SECONDS }),
        ...(options.blockTime === undefined ? {} : { blockTime: options.blockTime }),
        ...(signal === undefined ? {} : { signal }),
        ...(options.onAnvilLog === undefined ? {} : { onLog: options.onAnvilLog }),
        args: ['--accounts', String(DEVNET_ANVIL_ACCOUNTS)],
      }),
    (instance) => `${instance.rpcUrl}${chainWasSaved ? ' (saved chain loaded)' : ''}`,
  )

  try {
    const saved =
      chainWasSaved && stateDeploymentFile ? await readDeploymentFileIfExists(stateDeploymentFile) : undefined
    let deployment: DeploymentFile
    let reused = false
    if (saved && stateDir) {
      deployment = await step(
        'reuse',
        async () => {
          try {
            await verifyStoaDeployment(saved.deployment, { rpcUrl: anvil.rpcUrl })
          } catch (error) {
            if (error instanceof DeploymentNotFoundError)
              throw new DevnetStateMismatchError(stateDir, error.missing, error)
            throw error
          }
          await refreshOracleIfStale(anvil.rpcUrl, saved.deployment, (answer) =>
            onProgress?.({ type: 'devnet:oracle-refreshed', detail: { answer } }),
          )
          const raw = saved.raw as Partial<DeploymentFile>
          return deploymentFileOf(
            {
              ...saved.deployment,
              rpcUrl: anvil.rpcUrl,
              deployedAt: typeof raw.deployedAt === 'string' ? raw.deployedAt : new Date().toISOString(),
              deployer: (raw.deployer as Address | undefined) ?? deployer.address,
              blockNumber: typeof raw.blockNumber === 'string' ? raw.blockNumber : '0',
            },
            accounts,
          )
        },
        () => 'contracts found at the saved addresses',
      )
      reused = true
    } else {
      const deployed = await step(
        'deploy',
        () =>
          deployStoa({
            rpcUrl: anvil.rpcUrl,
            deployerKey: deployer.privateKey,
            ...(signal === undefined ? {} : { signal }),
            ...(onProgress === undefined ? {} : { onProgress }),
          }),
        (result) => `${result.transactions} transactions, ${result.gasUsed} gas`,
      )
      deployment = deploymentFileOf(deployed, accounts)
    }
    if (options.fund ?? true) {
      // On a saved chain, only the accounts it never funded (a restart with more providers than
      // before): one holding STOA or credits is left as it is.
      let toFund = accounts
      if (reused) {
        const balances = await readDevnetBalances({ rpcUrl: anvil.rpcUrl, deployment, accounts })
        toFund = accounts.filter((_, i) => balances[i]?.stoa === 0n && balances[i]?.credits === 0n)
      }
      if (toFund.length > 0) {
        const funded = deployment
        await step(
          'fund',
          () =>
            fundDevnetAccounts({
              rpcUrl: anvil.rpcUrl,
              deployment: funded,
              deployerKey: deployer.privateKey,
              accounts: toFund,
              ...(signal === undefined ? {} : { signal }),
              ...(onProgress === undefined ? {} : { onProgress }),
            }),
          (result) =>
            `${result.accounts.length} accounts${reused ? ' new to the saved chain' : ''}, ${result.transactions} transactions`,
        )
      }
    }

    const deploymentFiles = [deploymentFile]
    if (stateDeploymentFile && stateDeploymentFile !== deploymentFile)
      deploymentFiles.push(stateDeploymentFile)
    await step('write-deployment', async () => {
      await Promise.all(deploymentFiles.map((path) => writeDeploymentFile(path, deployment)))
    })

    const summary = await step('summary', async () => {
      const client = createStoaClient({ deployment, pollingInterval: 50 })
      const [oracle, balances] = await Promise.all([
        getOraclePrice(client),
        readDevnetBalances({ rpcUrl: anvil.rpcUrl, deployment, accounts }),
      ])
      return { oracle, balances }
    })

    const stopMiner =
      options.blockTime === undefined && (options.mineIntervalMs ?? DEFAULT_MINE_INTERVAL_MS) > 0
        ? startBlockMiner(anvil.rpcUrl, options.mineIntervalMs ?? DEFAULT_MINE_INTERVAL_MS)
        : () => {}
    void anvil.exited.then(stopMiner)
    return {
      anvil,
      deployment,
      exited: anvil.exited,
      stop: () => {
        stopMiner()
        return anvil.stop()
      },
      summary: {
        rpcUrl: anvil.rpcUrl,
        chainId: anvil.chainId,
        contracts: deployment.contracts,
        reused,
        deployedAt: deployment.deployedAt,
        oracle: oracleSummary(summary.oracle),
        accounts: summary.balances,
        deploymentFiles,
        stateDir,
        timings: { ...timings, totalMs: performance.now() - startedAt },
      },
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}

const DEFAULT_MINE_INTERVAL_MS = 1_500

/**
 * Mines an empty block (`evm_mine`) every `intervalMs`, so block-scheduled things (storage proving
 * windows) move on an idle devnet. A failed call (anvil busy or stopping) is skipped. Returns stop.
 */
function startBlockMiner(rpcUrl: string, intervalMs: number): () => void {
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'evm_mine', params: [] }),
      signal: AbortSignal.timeout(intervalMs * 2),
    })
      .then((response) => response.body?.cancel())
      .catch(() => undefined)
      .finally(() => {
        busy = false
      })
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

function oracleSummary(oracle: GetOraclePriceReturnType): DevnetSummary['oracle'] {
  return {
    answer: oracle.answer,
    usdPerStoa: oracle.usdPerStoa,
    updatedAt: oracle.updatedAt,
    usable: oracle.usable,
  }
}

/**
 * A saved chain may come back days later, past `Credits.maxPriceAge`: the devnet is its own price
 * feed, so it posts the same price again when more than half the allowed age has passed.
 */
async function refreshOracleIfStale(
  rpcUrl: string,
  deployment: StoaDeployment,
  onRefreshed: (answer: bigint) => void,
): Promise<void> {
  const updater = privateKeyToAccount(devnetAccount('deployer').privateKey)
  const client = createStoaClient({
    deployment: { ...deployment, rpcUrl },
    account: updater,
    pollingInterval: 50,
  })
  const oracle = await getOraclePrice(client)
  if (oracle.age * 2n <= oracle.maxPriceAge) return
  const { request } = await simulateContract(client, {
    address: deployment.contracts.priceOracle,
    abi: priceOracleAbi,
    functionName: 'updatePrice',
    args: [oracle.answer],
    account: updater,
  })
  const hash = await writeContract(client, request)
  await waitForTransactionReceipt(client, { hash })
  onRefreshed(oracle.answer)
}
