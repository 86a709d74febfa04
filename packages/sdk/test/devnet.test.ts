import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  creditsAbi,
  marketAbi,
  parseCredits,
  parseStoa,
  priceOracleAbi,
  providerRegistryAbi,
  stoaTokenAbi,
} from '@stoa/protocol'
import { createPublicClient, http, type PublicClient } from 'viem'
import {
  AnvilExitedError,
  type AnvilInstance,
  DEVNET_FUNDING,
  DEVNET_ORACLE_PRICE,
  DeploymentNotFoundError,
  DeploymentTransactionFailedError,
  type DeployStoaProgressEvent,
  type DeployStoaReturnType,
  deployStoa,
  devnetAccount,
  devnetAccounts,
  findFreePort,
  fundDevnetAccounts,
  startAnvil,
  verifyStoaDeployment,
} from '../src/devnet/index.ts'

const anvils: AnvilInstance[] = []
let scratch: string

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stoa-devnet-'))
})

after(async () => {
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  await rm(scratch, { recursive: true, force: true })
})

async function anvil(parameters: Parameters<typeof startAnvil>[0] = {}): Promise<AnvilInstance> {
  const instance = await startAnvil(parameters)
  anvils.push(instance)
  return instance
}

describe('devnet accounts', () => {
  test('are anvil’s default accounts, in order, with distinct roles', () => {
    const accounts = devnetAccounts()
    assert.deepEqual(
      accounts.map(({ name, index }) => [name, index]),
      [
        ['deployer', 0],
        ['alice', 1],
        ['bob', 2],
        ['provider1', 3],
        ['provider2', 4],
        ['provider3', 5],
        ['watcher', 6],
      ],
    )
    // anvil's well-known account 0 and 1.
    assert.equal(devnetAccount('deployer').address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    assert.equal(
      devnetAccount('deployer').privateKey,
      '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
    )
    assert.equal(devnetAccount('alice').address, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
  })
})

describe('startAnvil', () => {
  test('binds a free port, answers eth_chainId, and stops with exit code 0', async () => {
    const instance = await anvil({ chainId: 31338 })
    assert.match(instance.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    const client = createPublicClient({ transport: http(instance.rpcUrl) })
    assert.equal(await client.getChainId(), 31338)
    await instance.stop()
    const exit = await instance.exited
    assert.equal(exit.code, 0)
    await assert.rejects(client.getChainId())
  })

  test('a taken port fails with AnvilExitedError carrying anvil’s output', async () => {
    const first = await anvil()
    await assert.rejects(anvil({ port: first.port }), (error: unknown) => {
      assert.ok(error instanceof AnvilExitedError)
      assert.match(error.message, /in use/i)
      return true
    })
  })

  test('an explicit port is used; a state file is written on stop and loaded on the next start', async () => {
    const port = await findFreePort()
    const stateFile = join(scratch, 'anvil-state', 'chain.json')
    const first = await anvil({ port, stateFile })
    assert.equal(first.rpcUrl, `http://127.0.0.1:${port}`)
    const client = createPublicClient({ transport: http(first.rpcUrl) })
    await client.request({
      method: 'anvil_setBalance' as never,
      params: [devnetAccount('bob').address, '0x2a'] as never,
    })
    await first.stop()
    assert.ok(existsSync(stateFile))
    assert.ok((await stat(stateFile)).size > 0)

    const second = await anvil({ stateFile })
    const reloaded = createPublicClient({ transport: http(second.rpcUrl) })
    assert.equal(await reloaded.getBalance({ address: devnetAccount('bob').address }), 42n)
  })

  test('an aborted signal stops anvil', async () => {
    const controller = new AbortController()
    const instance = await anvil({ signal: controller.signal })
    controller.abort()
    const exit = await instance.exited
    assert.equal(exit.code, 0)
  })
})

describe('deployStoa + fundDevnetAccounts (in process)', () => {
  let chain: AnvilInstance
  let client: PublicClient
  let deployment: DeployStoaReturnType
  const events: DeployStoaProgressEvent[] = []

  before(async () => {
    chain = await anvil()
    client = createPublicClient({ transport: http(chain.rpcUrl) })
    deployment = await deployStoa({
      rpcUrl: chain.rpcUrl,
      deployerKey: devnetAccount('deployer').privateKey,
      onProgress: (event) => events.push(event),
    })
  })

  test('deploys every contract, at the addresses the deployer nonces predict', async () => {
    await verifyStoaDeployment(deployment)
    assert.equal(deployment.chainId, 31337)
    assert.equal(deployment.deployer, devnetAccount('deployer').address)
    // Deployer nonces 0, 1, 2, 4, 5 (3 is token.setMinter) on a fresh anvil.
    assert.equal(deployment.contracts.stoaToken, '0x5FbDB2315678afecb367f032d93F642f64180aa3')
    assert.equal(deployment.contracts.market, '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707')
    const sent = events.filter((event) => event.type === 'deploy:sent')
    assert.equal(sent.length, deployment.transactions)
    assert.deepEqual(
      sent.slice(0, 9).map((event) => event.detail.step),
      [
        'deploy stoaToken',
        'deploy priceOracle',
        'deploy credits',
        'stoaToken.setMinter(credits)',
        'deploy providerRegistry',
        'deploy market',
        'credits.setProtocol(market)',
        'providerRegistry.setProtocol(market)',
        'providerRegistry.setMarket(market)',
      ],
    )
    assert.equal(events.at(-1)?.type, 'deploy:confirmed')
  })

  test('wires the contracts as the spec says and sets the devnet roles and price', async () => {
    const { contracts, deployer } = deployment
    const read = async (parameters: Parameters<typeof client.readContract>[0]) =>
      await client.readContract(parameters)
    assert.equal(
      await read({
        address: contracts.stoaToken,
        abi: stoaTokenAbi,
        functionName: 'isMinter',
        args: [contracts.credits],
      }),
      true,
    )
    assert.equal(
      await read({
        address: contracts.credits,
        abi: creditsAbi,
        functionName: 'isProtocol',
        args: [contracts.market],
      }),
      true,
    )
    assert.equal(
      await read({
        address: contracts.providerRegistry,
        abi: providerRegistryAbi,
        functionName: 'isProtocol',
        args: [contracts.market],
      }),
      true,
    )
    assert.equal(
      await read({ address: contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'market' }),
      contracts.market,
    )
    assert.equal(
      await read({
        address: contracts.priceOracle,
        abi: priceOracleAbi,
        functionName: 'isUpdater',
        args: [deployer],
      }),
      true,
    )
    assert.equal(
      await read({ address: contracts.credits, abi: creditsAbi, functionName: 'isIssuer', args: [deployer] }),
      true,
    )
    const [, answer] = await client.readContract({
      address: contracts.priceOracle,
      abi: priceOracleAbi,
      functionName: 'latestRoundData',
    })
    assert.equal(answer, DEVNET_ORACLE_PRICE)
    assert.equal(answer, 50_000_000n)
  })

  test('funds every named account with STOA and credits, registers the watcher, revokes the deployer minter', async () => {
    const { contracts, deployer } = deployment
    const funded = await fundDevnetAccounts({ rpcUrl: chain.rpcUrl, deployment })
    assert.equal(funded.accounts.length, devnetAccounts().length)
    for (const account of funded.accounts) {
      const expected = DEVNET_FUNDING[account.role]
      assert.equal(account.stoa, expected.stoa, `${account.name} STOA`)
      assert.equal(account.credits, expected.credits, `${account.name} credits`)
      const onChain = await client.readContract({
        address: contracts.credits,
        abi: creditsAbi,
        functionName: 'balanceOf',
        args: [account.address],
      })
      assert.equal(onChain, expected.credits)
    }
    assert.equal(DEVNET_FUNDING.provider.stoa, parseStoa('100000'))
    assert.equal(DEVNET_FUNDING.tenant.credits, parseCredits('1000'))
    assert.equal(
      await client.readContract({
        address: contracts.market,
        abi: marketAbi,
        functionName: 'isWatcher',
        args: [devnetAccount('watcher').address],
      }),
      true,
    )
    assert.equal(
      await client.readContract({
        address: contracts.stoaToken,
        abi: stoaTokenAbi,
        functionName: 'isMinter',
        args: [deployer],
      }),
      false,
    )
  })

  test('a reverted step fails with DeploymentTransactionFailedError naming the step and the decoded reason', async () => {
    // alice owns nothing: her setMinter reverts with Ownable's error.
    await assert.rejects(
      fundDevnetAccounts({
        rpcUrl: chain.rpcUrl,
        deployment,
        deployerKey: devnetAccount('alice').privateKey,
      }),
      (error: unknown) => {
        assert.ok(error instanceof DeploymentTransactionFailedError)
        assert.match(error.shortMessage, /stoaToken\.setMinter\(deployer, true\)/)
        assert.match(error.details, /OwnableUnauthorizedAccount/)
        return true
      },
    )
  })

  test('verifyStoaDeployment rejects a chain without the contracts', async () => {
    const empty = await anvil()
    await assert.rejects(verifyStoaDeployment(deployment, { rpcUrl: empty.rpcUrl }), (error: unknown) => {
      assert.ok(error instanceof DeploymentNotFoundError)
      assert.equal(error.missing.length, 6)
      return true
    })
  })
})
