import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  BaseError,
  creditsAbi,
  formatCredits,
  InvalidParameterError,
  parseCredits,
  parseOraclePrice,
  parseStoa,
  priceOracleAbi,
  redeemedStoa,
  StoaContractError,
  stoaToCredits,
  stoaTokenAbi,
} from '@stoa/protocol'
import type { Address } from 'viem'
import { writeContract } from 'viem/actions'
import {
  type BuyCreditsProgressEvent,
  buyCredits,
  getCreditBalance,
  InsufficientStoaError,
  issueCredits,
} from '../src/index.ts'
import { type Devnet, startDevnet } from './devnet.ts'

let devnet: Devnet
before(async () => {
  devnet = await startDevnet()
})
after(async () => {
  await devnet?.stop()
})

async function stoaBalance(address: Address): Promise<bigint> {
  return await devnet.chain.readContract({
    address: devnet.deployment.contracts.stoaToken,
    abi: stoaTokenAbi,
    functionName: 'balanceOf',
    args: [address],
  })
}

describe('buyCredits', () => {
  test('burns STOA for credits at the oracle price, approving first', async () => {
    const { alice } = devnet
    const price = await devnet.alice.getOraclePrice()
    assert.equal(price.answer, parseOraclePrice('0.5'))
    assert.equal(price.usable, true)
    const before = await alice.getCreditBalance()
    const stoaBefore = await stoaBalance(alice.account.address)
    const events: BuyCreditsProgressEvent['type'][] = []

    const stoaAmount = parseStoa('3.333333333333333333')
    const bought = await buyCredits(alice, { stoaAmount, onProgress: (event) => events.push(event.type) })

    assert.equal(bought.stoaAmount, stoaAmount)
    assert.equal(bought.price, price.answer)
    assert.equal(bought.credits, stoaToCredits(stoaAmount, price.answer))
    assert.equal(formatCredits(bought.credits), '1.666666') // 1.6666666… USD, floored to the credit unit
    assert.equal(bought.receipt.status, 'success')
    const afterBuy = await getCreditBalance(alice)
    assert.equal(afterBuy.balance - before.balance, bought.credits)
    assert.equal(afterBuy.redeemable, 0n, 'bought credits are not redeemable')
    assert.equal(stoaBefore - (await stoaBalance(alice.account.address)), stoaAmount, 'the STOA was burned')
    assert.deepEqual(events, [
      'buy-credits:quoted',
      'approve:sent',
      'approve:confirmed',
      'transaction:sent',
      'transaction:confirmed',
    ])
  })

  test('buys an exact credit amount with the least STOA, by permit in one transaction', async () => {
    const { bob } = devnet
    const before = await bob.getCreditBalance()
    const events: string[] = []
    const bought = await bob.buyCredits({
      credits: parseCredits('12.34'),
      authorization: 'permit',
      onProgress: (event) => events.push(event.type),
    })
    assert.equal(bought.credits, parseCredits('12.34'))
    assert.equal(bought.stoaAmount, parseStoa('24.68'))
    assert.equal((await bob.getCreditBalance()).balance - before.balance, parseCredits('12.34'))
    assert.deepEqual(events, [
      'buy-credits:quoted',
      'permit:signed',
      'transaction:sent',
      'transaction:confirmed',
    ])
    // No approval transaction was sent, and the permit was used up.
    const allowance = await devnet.chain.readContract({
      address: devnet.deployment.contracts.stoaToken,
      abi: stoaTokenAbi,
      functionName: 'allowance',
      args: [bob.account.address, devnet.deployment.contracts.credits],
    })
    assert.equal(allowance, 0n)
  })

  test('skips the approval when the allowance already covers the amount', async () => {
    const { alice } = devnet
    await writeContract(alice, {
      address: devnet.deployment.contracts.stoaToken,
      abi: stoaTokenAbi,
      functionName: 'approve',
      args: [devnet.deployment.contracts.credits, parseStoa('5')],
      chain: alice.chain,
      account: alice.account,
    })
    const events: string[] = []
    await alice.buyCredits({ stoaAmount: parseStoa('5'), onProgress: (event) => events.push(event.type) })
    assert.ok(events.includes('approve:skipped'))
    assert.ok(!events.includes('approve:sent'))
  })

  test('a stale oracle price fails before anything is sent, with a readable message', async () => {
    const { alice } = devnet
    const snapshot = await devnet.chain.snapshot()
    try {
      await devnet.warp(86_400 + 60) // past Credits.maxPriceAge (1 day on the devnet)
      const price = await alice.getOraclePrice()
      assert.equal(price.usable, false)
      const nonce = await devnet.chain.getTransactionCount({ address: alice.account.address })
      const error = await alice.buyCredits({ credits: parseCredits('1') }).then(
        () => assert.fail('buying at a stale price must fail'),
        (thrown: unknown) => thrown,
      )
      assert.ok(error instanceof StoaContractError)
      assert.ok(error instanceof BaseError)
      assert.equal(error.name, 'StoaContractError')
      assert.equal(error.errorName, 'CreditsStalePrice')
      assert.deepEqual(error.args, [price.updatedAt, 86_400n])
      assert.match(
        error.shortMessage,
        /^The STOA\/USD price is stale: it was last updated at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, and credits accept prices at most 1 d old\.$/,
      )
      assert.ok(
        error.metaMessages?.some((line) => line.includes('oracle updater')),
        'carries a hint',
      )
      assert.ok(error.cause instanceof Error, 'keeps the viem error as cause')
      assert.equal(
        await devnet.chain.getTransactionCount({ address: alice.account.address }),
        nonce,
        'nothing sent',
      )

      // A fresh price from the updater (the devnet deployer) makes buying work again.
      await writeContract(devnet.deployer, {
        address: devnet.deployment.contracts.priceOracle,
        abi: priceOracleAbi,
        functionName: 'updatePrice',
        args: [parseOraclePrice('2')],
        chain: devnet.deployer.chain,
        account: devnet.deployer.account,
      })
      const bought = await alice.buyCredits({ stoaAmount: parseStoa('1') })
      assert.equal(bought.credits, parseCredits('2'))
    } finally {
      await devnet.chain.revert({ id: snapshot })
    }
  })

  test('slippage: a minimum above what the price gives is rejected by the contract', async () => {
    await assert.rejects(
      devnet.alice.buyCredits({ stoaAmount: parseStoa('1'), minCredits: parseCredits('0.500001') }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'CreditsSlippage' &&
        error.shortMessage.includes('500000') &&
        error.shortMessage.includes('500001'),
    )
  })

  test('bad input is refused before any call, naming the field', async () => {
    await assert.rejects(
      devnet.alice.buyCredits({ credits: 0n }),
      (error: unknown) => error instanceof InvalidParameterError && error.field === 'credits',
    )
    await assert.rejects(
      devnet.alice.buyCredits({ stoaAmount: -1n }),
      (error: unknown) => error instanceof InvalidParameterError && error.field === 'stoaAmount',
    )
  })

  test('more STOA than the account holds: refused before any transaction, no approval left behind', async () => {
    const { alice } = devnet
    const credits = alice.deployment.contracts.credits
    const allowanceBefore = await devnet.chain.readContract({
      address: alice.deployment.contracts.stoaToken,
      abi: stoaTokenAbi,
      functionName: 'allowance',
      args: [alice.account.address, credits],
    })
    await assert.rejects(
      alice.buyCredits({ stoaAmount: parseStoa('1000000') }),
      (error: unknown) =>
        error instanceof InsufficientStoaError &&
        error.needed === parseStoa('1000000') &&
        error.shortMessage.includes('1000000 STOA is needed'),
    )
    const allowanceAfter = await devnet.chain.readContract({
      address: alice.deployment.contracts.stoaToken,
      abi: stoaTokenAbi,
      functionName: 'allowance',
      args: [alice.account.address, credits],
    })
    assert.equal(allowanceAfter, allowanceBefore)
  })

  test('more STOA than the account holds with a permit: the token error is decoded', async () => {
    await assert.rejects(
      devnet.alice.buyCredits({ stoaAmount: parseStoa('1000000'), authorization: 'permit' }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'ERC20InsufficientBalance' &&
        error.shortMessage.includes('less than the 1000000 STOA needed'),
    )
  })
})

describe('issueCredits', () => {
  test('an issuer (the devnet deployer) issues non-redeemable credits against a payment reference', async () => {
    const { deployer, bob } = devnet
    const before = await bob.getCreditBalance()
    const issued = await issueCredits(deployer, {
      to: bob.account.address,
      amount: parseCredits('7.5'),
      paymentRef: 'stripe:pi_123',
    })
    assert.equal(issued.amount, parseCredits('7.5'))
    assert.equal(issued.to, bob.account.address)
    const afterIssue = await bob.getCreditBalance()
    assert.equal(afterIssue.balance - before.balance, parseCredits('7.5'))
    assert.equal(afterIssue.redeemable, before.redeemable)
  })

  test('anyone else gets CreditsUnauthorizedIssuer, in words', async () => {
    const { alice } = devnet
    await assert.rejects(
      alice.issueCredits({ to: alice.account.address, amount: 1n, paymentRef: 'x' }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'CreditsUnauthorizedIssuer' &&
        error.shortMessage ===
          `${alice.account.address} may not issue credits: it is not a registered fiat on-ramp (issuer).`,
    )
  })

  test('a payment reference longer than 32 bytes is refused', async () => {
    await assert.rejects(
      devnet.deployer.issueCredits({
        to: devnet.bob.account.address,
        amount: 1n,
        paymentRef: 'x'.repeat(33),
      }),
      (error: unknown) => error instanceof InvalidParameterError && error.field === 'paymentRef',
    )
  })
})

describe('redeem arithmetic', () => {
  test('redeemedStoa matches the contract quote', async () => {
    const amount = parseCredits('3.21')
    const [fee, stoa] = await devnet.chain.readContract({
      address: devnet.deployment.contracts.credits,
      abi: creditsAbi,
      functionName: 'quoteRedeem',
      args: [amount],
    })
    const feeBps = await devnet.chain.readContract({
      address: devnet.deployment.contracts.credits,
      abi: creditsAbi,
      functionName: 'redeemFeeBps',
    })
    assert.equal(fee, (amount * BigInt(feeBps)) / 10_000n)
    assert.equal(stoa, redeemedStoa(amount, parseOraclePrice('0.5'), BigInt(feeBps)))
  })
})
