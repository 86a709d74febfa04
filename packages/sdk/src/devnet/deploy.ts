import {
  creditsAbi,
  creditsBytecode,
  marketAbi,
  marketBytecode,
  priceOracleAbi,
  priceOracleBytecode,
  providerRegistryAbi,
  providerRegistryBytecode,
  type StoaContractName,
  type StoaDeployment,
  stoaContractNames,
  stoaTokenAbi,
  stoaTokenBytecode,
  storageDealsAbi,
  storageDealsBytecode,
} from '@stoa/protocol'
import {
  type Address,
  createPublicClient,
  encodeDeployData,
  encodeFunctionData,
  getContractAddress,
  type Hex,
  http,
  size,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { ProgressEvent, ProgressOptions } from '../types.ts'
import { DeploymentAddressMismatchError, DeploymentNotFoundError, type DevnetError } from './errors.ts'
import { CALL_GAS_LIMIT, createTransactionPipeline } from './transactions.ts'

/** Devnet oracle price: 0.50 USD per STOA (8 decimals). */
export const DEVNET_ORACLE_PRICE = 50_000_000n
/** Devnet `PriceOracle.maxStaleness`: the feed promises an update every hour. */
export const DEVNET_ORACLE_MAX_STALENESS = 3_600
/** Devnet `Credits.maxPriceAge`: a day, so a devnet left running still sells credits. */
export const DEVNET_MAX_PRICE_AGE = 86_400
/**
 * Devnet `StorageDeals` schedule and penalties, which are also the contract's constructor defaults.
 * The devnet mines on demand (tests mine blocks), so a period is 20 blocks with a 10-block proving
 * window, priced as 2 seconds per block. A missed proof slashes 100 STOA through the registry (its
 * reporter share goes to whoever called `markMissed`); with the registry's minimum stake at 100 STOA,
 * one miss leaves a minimum-staked provider inactive until it stakes again.
 */
export const DEVNET_STORAGE_PARAMS = {
  periodBlocks: 20,
  windowBlocks: 10,
  secondsPerBlock: 2,
  missedProofSlash: 100n * 10n ** 18n,
  maxShards: 256,
} as const

/** The owner-set parameters of `StorageDeals` (see docs/storage-spec.md section 3). */
export type StorageDealsParams = {
  /** Blocks per proving period (> windowBlocks). */
  periodBlocks: number
  /** Blocks of each period's proving window (1..255). */
  windowBlocks: number
  /** Seconds per block used to price a period. */
  secondsPerBlock: number
  /** STOA wei slashed per missed proof. */
  missedProofSlash: bigint
  /** Most shards a deal may have (1..256). */
  maxShards: number
}

export type DeployStoaProgressEvent =
  | ProgressEvent<'deploy:sent', { step: string; hash: Hex; nonce: number }>
  | ProgressEvent<'deploy:confirmed', { transactions: number; blockNumber: bigint; gasUsed: bigint }>

export type DeployStoaParameters = ProgressOptions<DeployStoaProgressEvent> & {
  rpcUrl: string
  /** Owner of every contract, oracle updater and credits issuer (on a devnet: anvil account 0). */
  deployerKey: Hex
  params?: {
    /** Initial STOA/USD price, 8 decimals (default `DEVNET_ORACLE_PRICE`, 0.50 USD). */
    oraclePrice?: bigint
    /** `PriceOracle.maxStaleness` in seconds (default 1 hour). */
    oracleMaxStaleness?: number
    /** `Credits.maxPriceAge` in seconds (default 1 day; the contract's own default is 1 hour). */
    maxPriceAge?: number
    /** `StorageDeals` parameters (defaults `DEVNET_STORAGE_PARAMS`). */
    storage?: Partial<StorageDealsParams>
  }
  signal?: AbortSignal
}

/** A deployment as `deployStoa` made it: what `StoaDeployment` says, plus who, when and at what cost. */
export type DeployStoaReturnType = StoaDeployment & {
  deployer: Address
  /** ISO 8601 wall-clock time the deployment was confirmed. */
  deployedAt: string
  /** Block of the last deployment transaction. */
  blockNumber: bigint
  oraclePrice: bigint
  transactions: number
  gasUsed: bigint
  durationMs: number
}

export type DeployStoaErrorType = DevnetError

/** Position of each creation among the deployment transactions (the spec's order). */
const CREATION_OFFSETS: Record<StoaContractName, number> = {
  stoaToken: 0,
  priceOracle: 1,
  credits: 2,
  // 3: stoaToken.setMinter(credits)
  providerRegistry: 4,
  market: 5,
  // 6, 7, 8: credits.setProtocol(market), providerRegistry.setProtocol(market), setMarket(market)
  storageDeals: 9,
}

/**
 * Deploys the settlement contracts and wires them exactly as docs/contracts-spec.md
 * ("Deployment and wiring") says, then sets up the devnet roles: the deployer becomes oracle
 * updater (and posts the price) and credits issuer.
 *
 * Every address is known before anything is sent (they follow from the deployer's nonces), so all
 * transactions go out back to back with explicit nonces and one wait at the end.
 */
export async function deployStoa(parameters: DeployStoaParameters): Promise<DeployStoaReturnType> {
  const startedAt = performance.now()
  const { rpcUrl, signal, onProgress } = parameters
  const oraclePrice = parameters.params?.oraclePrice ?? DEVNET_ORACLE_PRICE
  const oracleMaxStaleness = parameters.params?.oracleMaxStaleness ?? DEVNET_ORACLE_MAX_STALENESS
  const maxPriceAge = parameters.params?.maxPriceAge ?? DEVNET_MAX_PRICE_AGE
  const account = privateKeyToAccount(parameters.deployerKey)
  const deployer = account.address
  const client = createPublicClient({ transport: http(rpcUrl, { batch: true }), pollingInterval: 20 })
  const chainId = await client.getChainId()
  const pipeline = await createTransactionPipeline({ client, account, chainId })
  signal?.throwIfAborted()

  // Spec order: token, oracle, credits, token.setMinter(credits), registry, market, market wiring,
  // storage deals and their wiring.
  const base = pipeline.nextNonce
  const contracts = Object.fromEntries(
    stoaContractNames.map((name) => [
      name,
      getContractAddress({ from: deployer, nonce: BigInt(base + CREATION_OFFSETS[name]) }),
    ]),
  ) as Record<StoaContractName, Address>
  const creations = {
    stoaToken: encodeDeployData({ abi: stoaTokenAbi, bytecode: stoaTokenBytecode, args: [deployer] }),
    priceOracle: encodeDeployData({
      abi: priceOracleAbi,
      bytecode: priceOracleBytecode,
      args: [deployer, oraclePrice, oracleMaxStaleness],
    }),
    credits: encodeDeployData({
      abi: creditsAbi,
      bytecode: creditsBytecode,
      args: [deployer, contracts.stoaToken, contracts.priceOracle],
    }),
    providerRegistry: encodeDeployData({
      abi: providerRegistryAbi,
      bytecode: providerRegistryBytecode,
      args: [deployer, contracts.stoaToken],
    }),
    market: encodeDeployData({
      abi: marketAbi,
      bytecode: marketBytecode,
      args: [deployer, contracts.credits, contracts.providerRegistry],
    }),
    storageDeals: encodeDeployData({
      abi: storageDealsAbi,
      bytecode: storageDealsBytecode,
      args: [deployer, contracts.credits, contracts.providerRegistry],
    }),
  }

  const sendCall = async (step: string, to: Address, data: Hex) => {
    signal?.throwIfAborted()
    const nonce = pipeline.nextNonce
    const hash = await pipeline.send(step, { to, data, gas: CALL_GAS_LIMIT })
    onProgress?.({ type: 'deploy:sent', detail: { step, hash, nonce } })
  }
  const sendCreation = async (name: StoaContractName) => {
    signal?.throwIfAborted()
    const nonce = pipeline.nextNonce
    const hash = await pipeline.send(`deploy ${name}`, {
      data: creations[name],
      gas: creationGasLimit(creations[name]),
    })
    onProgress?.({ type: 'deploy:sent', detail: { step: `deploy ${name}`, hash, nonce } })
  }

  await sendCreation('stoaToken')
  await sendCreation('priceOracle')
  await sendCreation('credits')
  await sendCall(
    'stoaToken.setMinter(credits)',
    contracts.stoaToken,
    encodeFunctionData({ abi: stoaTokenAbi, functionName: 'setMinter', args: [contracts.credits, true] }),
  )
  await sendCreation('providerRegistry')
  await sendCreation('market')
  await sendCall(
    'credits.setProtocol(market)',
    contracts.credits,
    encodeFunctionData({ abi: creditsAbi, functionName: 'setProtocol', args: [contracts.market, true] }),
  )
  await sendCall(
    'providerRegistry.setProtocol(market)',
    contracts.providerRegistry,
    encodeFunctionData({
      abi: providerRegistryAbi,
      functionName: 'setProtocol',
      args: [contracts.market, true],
    }),
  )
  await sendCall(
    'providerRegistry.setMarket(market)',
    contracts.providerRegistry,
    encodeFunctionData({ abi: providerRegistryAbi, functionName: 'setMarket', args: [contracts.market] }),
  )
  // StorageDeals escrows in Credits and slashes missed proofs through the registry.
  await sendCreation('storageDeals')
  await sendCall(
    'credits.setProtocol(storageDeals)',
    contracts.credits,
    encodeFunctionData({
      abi: creditsAbi,
      functionName: 'setProtocol',
      args: [contracts.storageDeals, true],
    }),
  )
  await sendCall(
    'providerRegistry.setProtocol(storageDeals)',
    contracts.providerRegistry,
    encodeFunctionData({
      abi: providerRegistryAbi,
      functionName: 'setProtocol',
      args: [contracts.storageDeals, true],
    }),
  )
  // The contract's constructor defaults are DEVNET_STORAGE_PARAMS: only a changed value costs a
  // transaction. The window goes first when it shrinks below the default period, so every step keeps
  // windowBlocks < periodBlocks.
  const storageParams = { ...DEVNET_STORAGE_PARAMS, ...parameters.params?.storage }
  const periodSetter = ['setPeriodBlocks', BigInt(storageParams.periodBlocks)] as const
  const windowSetter = ['setWindowBlocks', BigInt(storageParams.windowBlocks)] as const
  const storageSetters = [
    ...(storageParams.windowBlocks < DEVNET_STORAGE_PARAMS.periodBlocks
      ? [windowSetter, periodSetter]
      : [periodSetter, windowSetter]),
    ['setSecondsPerBlock', BigInt(storageParams.secondsPerBlock)],
    ['setMissedProofSlash', storageParams.missedProofSlash],
    ['setMaxShards', BigInt(storageParams.maxShards)],
  ] as const
  const defaults: Record<(typeof storageSetters)[number][0], bigint> = {
    setPeriodBlocks: BigInt(DEVNET_STORAGE_PARAMS.periodBlocks),
    setWindowBlocks: BigInt(DEVNET_STORAGE_PARAMS.windowBlocks),
    setSecondsPerBlock: BigInt(DEVNET_STORAGE_PARAMS.secondsPerBlock),
    setMissedProofSlash: DEVNET_STORAGE_PARAMS.missedProofSlash,
    setMaxShards: BigInt(DEVNET_STORAGE_PARAMS.maxShards),
  }
  for (const [functionName, value] of storageSetters) {
    if (value === defaults[functionName]) continue
    await sendCall(
      `storageDeals.${functionName}`,
      contracts.storageDeals,
      encodeFunctionData({ abi: storageDealsAbi, functionName, args: [value] }),
    )
  }
  // Devnet roles: the deployer runs the price feed and the fiat on-ramp.
  await sendCall(
    'priceOracle.setUpdater(deployer)',
    contracts.priceOracle,
    encodeFunctionData({ abi: priceOracleAbi, functionName: 'setUpdater', args: [deployer, true] }),
  )
  await sendCall(
    'priceOracle.updatePrice',
    contracts.priceOracle,
    encodeFunctionData({ abi: priceOracleAbi, functionName: 'updatePrice', args: [oraclePrice] }),
  )
  await sendCall(
    'credits.setIssuer(deployer)',
    contracts.credits,
    encodeFunctionData({ abi: creditsAbi, functionName: 'setIssuer', args: [deployer, true] }),
  )
  await sendCall(
    'credits.setMaxPriceAge',
    contracts.credits,
    encodeFunctionData({ abi: creditsAbi, functionName: 'setMaxPriceAge', args: [BigInt(maxPriceAge)] }),
  )

  const receipts = await pipeline.confirmAll(signal ? { signal } : {})
  const last = receipts.at(-1)
  const gasUsed = receipts.reduce((sum, receipt) => sum + receipt.gasUsed, 0n)
  const blockNumber = last?.blockNumber ?? 0n
  onProgress?.({ type: 'deploy:confirmed', detail: { transactions: receipts.length, blockNumber, gasUsed } })
  for (const name of stoaContractNames) {
    // The creation receipts must name the addresses the nonces predicted; a mismatch means
    // something else sent from the deployer key at the same time.
    const created = receipts[CREATION_OFFSETS[name]]?.contractAddress
    if (created?.toLowerCase() !== contracts[name].toLowerCase()) {
      throw new DeploymentAddressMismatchError({ name, expected: contracts[name], received: created ?? null })
    }
  }

  return {
    chainId,
    rpcUrl,
    contracts,
    deployer,
    deployedAt: new Date().toISOString(),
    blockNumber,
    oraclePrice,
    transactions: receipts.length,
    gasUsed,
    durationMs: performance.now() - startedAt,
  }
}

/**
 * A gas limit that surely covers a creation, from its size alone: intrinsic and creation cost,
 * calldata, code deposit (the runtime code is shorter than the creation code) and a constructor
 * that writes a few dozen storage slots. Estimating is not possible before the contracts the
 * constructor reads (Credits reads the oracle's decimals) exist, and anvil charges only gas used.
 */
function creationGasLimit(creationCode: Hex): bigint {
  const bytes = BigInt(size(creationCode))
  return 53_000n + bytes * (16n + 200n) + 1_500_000n
}

export type VerifyStoaDeploymentErrorType = DeploymentNotFoundError

/**
 * Checks that contract code exists at every address of `deployment` on the chain at `rpcUrl`
 * (default: the deployment's own). Throws `DeploymentNotFoundError` listing the empty ones.
 */
export async function verifyStoaDeployment(
  deployment: Pick<StoaDeployment, 'contracts' | 'rpcUrl'>,
  options: { rpcUrl?: string } = {},
): Promise<void> {
  const rpcUrl = options.rpcUrl ?? deployment.rpcUrl
  const client = createPublicClient({ transport: http(rpcUrl, { batch: true }) })
  const codes = await Promise.all(
    stoaContractNames.map((name) => client.getCode({ address: deployment.contracts[name] })),
  )
  const missing = stoaContractNames
    .map((name, index) => ({ name, address: deployment.contracts[name], code: codes[index] }))
    .filter(({ code }) => code === undefined || code === '0x')
    .map(({ name, address }) => ({ name, address }))
  if (missing.length) throw new DeploymentNotFoundError({ rpcUrl, missing })
}
