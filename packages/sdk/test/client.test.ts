import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  InvalidDeploymentError,
  InvalidParameterError,
  parseCredits,
  parseStoa,
  StoaContractError,
} from '@stoa/protocol'
import { createWalletClient, http, sha256, stringToHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { devnetAccount } from '../src/devnet/accounts.ts'
import {
  AccountRequiredError,
  buyCredits,
  createStoaClient,
  DeploymentChainMismatchError,
  getCreditBalance,
  stoaActions,
  stoaChain,
} from '../src/index.ts'
import { type Devnet, startDevnet } from './devnet.ts'

let devnet: Devnet
before(async () => {
  devnet = await startDevnet()
})
after(async () => {
  await devnet?.stop()
})

describe('createStoaClient', () => {
  test('validates the deployment, naming the bad field', () => {
    assert.throws(
      () =>
        createStoaClient({
          deployment: {
            ...devnet.deployment,
            contracts: { ...devnet.deployment.contracts, market: '0xnope' },
          },
        } as never),
      (error: unknown) => error instanceof InvalidDeploymentError && error.field === 'contracts.market',
    )
  })

  test('reads work without an account given the address; writes need one', async () => {
    const reader = createStoaClient({ deployment: devnet.deployment })
    const alice = devnetAccount('alice').address
    assert.deepEqual(await reader.getCreditBalance({ account: alice }), await devnet.alice.getCreditBalance())
    await assert.rejects(
      reader.getCreditBalance(),
      (error: unknown) => error instanceof InvalidParameterError && error.field === 'account',
    )
    await assert.rejects(
      reader.buyCredits({ credits: parseCredits('1') }),
      (error: unknown) =>
        error instanceof AccountRequiredError &&
        error.shortMessage === '`buyCredits` sends a transaction, so it needs an account.',
    )
    // An account given to the action itself is enough.
    const bought = await reader.buyCredits({
      credits: parseCredits('1'),
      account: privateKeyToAccount(devnetAccount('bob').privateKey),
    })
    assert.equal(bought.credits, parseCredits('1'))
  })

  test('a JSON-RPC account (an address anvil holds) signs permits and sends', async () => {
    const { address } = devnetAccount('bob')
    const bob = createStoaClient({ deployment: devnet.deployment, account: address, pollingInterval: 50 })
    const before = await bob.getCreditBalance()
    const bought = await bob.buyCredits({ stoaAmount: parseStoa('2'), authorization: 'permit' })
    assert.equal(bought.credits, parseCredits('1'))
    assert.equal((await bob.getCreditBalance()).balance - before.balance, parseCredits('1'))
  })

  test('a deployment whose chain id is wrong is refused before anything is sent', async () => {
    const wrong = createStoaClient({
      deployment: { ...devnet.deployment, chainId: 1 },
      account: privateKeyToAccount(devnetAccount('alice').privateKey),
    })
    const nonce = await devnet.chain.getTransactionCount({ address: devnetAccount('alice').address })
    await assert.rejects(
      wrong.buyCredits({ credits: parseCredits('1') }),
      (error: unknown) =>
        error instanceof DeploymentChainMismatchError &&
        error.shortMessage === 'The RPC serves chain 31337, but the deployment is for chain 1.',
    )
    await assert.rejects(wrong.getOraclePrice(), DeploymentChainMismatchError, 'reads are checked too')
    assert.equal(await devnet.chain.getTransactionCount({ address: devnetAccount('alice').address }), nonce)
  })
})

describe('actions on a plain viem client', () => {
  test('free functions and the stoaActions decorator work on any viem client that carries the deployment', async () => {
    const account = privateKeyToAccount(devnetAccount('alice').privateKey)
    const wallet = createWalletClient({
      account,
      chain: stoaChain(devnet.deployment),
      transport: http(devnet.deployment.rpcUrl),
      pollingInterval: 50,
    }).extend(() => ({ deployment: devnet.deployment }))
    const before = await getCreditBalance(wallet)
    await buyCredits(wallet, { credits: parseCredits('0.5') })
    const stoa = wallet.extend(stoaActions)
    assert.equal((await stoa.getCreditBalance()).balance - before.balance, parseCredits('0.5'))
    // viem's own actions stay available next to Stoa's.
    assert.equal(typeof stoa.writeContract, 'function')
  })
})

describe('a transaction that reverts after its simulation passed', () => {
  test('throws a StoaContractError carrying the transaction hash', async () => {
    const { alice, provider1, chain } = devnet
    await provider1.registerProvider({
      gatewayUrl: 'http://127.0.0.1:8701',
      region: 'eu-west',
      capacity: { cpuMillis: 1_000, memoryMiB: 1_024, storageGiB: 10 },
      stake: parseStoa('100'),
    })
    const { orderId } = await alice.createOrder({
      resources: { cpuMillis: 100, memoryMiB: 64 },
      maxUsdPerHour: '0.01',
      depositUsd: '1',
      bidWindowSeconds: 5,
      manifestHash: sha256(stringToHex('race')),
    })
    await chain.setAutomine(false)
    try {
      // The bid simulates (and estimates) fine within the bid window, but the block that finally
      // includes it is mined after the deadline.
      let markSent!: () => void
      const sent = new Promise<void>((resolve) => {
        markSent = resolve
      })
      const placed = provider1.bid({
        orderId,
        usdPerHour: '0.005',
        onProgress: (event) => event.type === 'transaction:sent' && markSent(),
      })
      const outcome = placed.then(
        () => assert.fail('the bid must revert on chain'),
        (error: unknown) => error,
      )
      await Promise.race([sent, outcome])
      await chain.increaseTime({ seconds: 60 })
      await chain.mine({ blocks: 1 })
      const error = await outcome
      assert.ok(error instanceof StoaContractError, String(error))
      assert.equal(error.functionName, 'bid')
      assert.ok(error.transactionHash, 'points at the mined transaction')
      assert.match(
        error.shortMessage,
        /^The bid transaction reverted on chain after its simulation succeeded/,
      )
      const receipt = await chain.getTransactionReceipt({ hash: error.transactionHash })
      assert.equal(receipt.status, 'reverted')
    } finally {
      await chain.setAutomine(true)
    }
  })
})
