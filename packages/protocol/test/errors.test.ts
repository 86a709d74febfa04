import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type Abi,
  type AbiParameter,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  BaseError as ViemBaseError,
  zeroAddress,
} from 'viem'
import {
  BaseError,
  contractErrorHints,
  contractErrorMessages,
  creditsAbi,
  decodeStoaRevert,
  describeContractError,
  duration,
  InvalidParameterError,
  marketAbi,
  priceOracleAbi,
  providerRegistryAbi,
  StoaContractError,
  stoaErrorsAbi,
  stoaTokenAbi,
  storageDealsAbi,
  textToBytes32,
  toStoaContractError,
} from '../src/index.ts'

type AbiError = Extract<Abi[number], { type: 'error' }>

const contractAbis = {
  StoaToken: stoaTokenAbi,
  PriceOracle: priceOracleAbi,
  Credits: creditsAbi,
  ProviderRegistry: providerRegistryAbi,
  Market: marketAbi,
  StorageDeals: storageDealsAbi,
} as const

/** A plausible value for an ABI parameter, typed the way viem decodes it. */
function sample(parameter: AbiParameter, index: number): unknown {
  const { type } = parameter
  const width = Number(/\d+$/.exec(type)?.[0] ?? 256)
  if (type === 'address') return `0x${String(index + 1).padStart(40, 'a')}`
  if (type === 'bool') return true
  if (type === 'string') return 'text'
  if (type === 'bytes32') return textToBytes32('minStake')
  if (type.startsWith('uint')) return width <= 48 ? 3 + index : 1_234_567n + BigInt(index)
  if (type.startsWith('int')) return width <= 48 ? -(3 + index) : -1_234_567n
  throw new Error(`no sample for ${type}`)
}

const abiErrors = Object.entries(contractAbis).flatMap(([contract, abi]) =>
  (abi as readonly { type: string }[])
    .filter((item): item is AbiError => item.type === 'error')
    .map((item) => ({ contract, item })),
)

describe('contract error messages', () => {
  test('every error of every contract ABI has a message', () => {
    assert.ok(abiErrors.length > 50, 'the ABIs hold the contracts’ errors')
    const missing = abiErrors
      .filter(
        ({ item }) => typeof (contractErrorMessages as Record<string, unknown>)[item.name] !== 'function',
      )
      .map(({ contract, item }) => `${contract}.${item.name}`)
    assert.deepEqual(missing, [], `errors without a message: ${missing.join(', ')}`)
  })

  test('the table names no error that no contract has (no stale entries)', () => {
    const known = new Set(abiErrors.map(({ item }) => item.name))
    const stale = Object.keys(contractErrorMessages).filter((name) => !known.has(name))
    assert.deepEqual(stale, [])
    const staleHints = Object.keys(contractErrorHints).filter((name) => !known.has(name))
    assert.deepEqual(staleHints, [])
  })

  test('stoaErrorsAbi holds every error once', () => {
    const signatures = new Set(abiErrors.map(({ item }) => `${item.name}(${item.inputs.map((i) => i.type)})`))
    assert.equal(stoaErrorsAbi.length, signatures.size)
  })

  test('every message is a sentence with its values filled in, after an encode → decode round trip', () => {
    for (const { item } of abiErrors) {
      const args = item.inputs.map(sample)
      const data = encodeErrorResult({ abi: [item], errorName: item.name, args })
      const decoded = decodeStoaRevert(data)
      assert.equal(decoded?.errorName, item.name)
      const { message } = describeContractError(item.name, decoded?.args ?? [])
      assert.match(message, /^[A-Z0-9$(".]/, `${item.name} starts like a sentence: ${message}`)
      assert.match(message, /[.?]$/, `${item.name} ends like a sentence: ${message}`)
      for (const bad of ['undefined', 'NaN', '[object', 'null']) {
        assert.ok(!message.includes(bad), `${item.name} message has "${bad}": ${message}`)
      }
      // Addresses, counts and ids appear in the message.
      for (const [index, parameter] of item.inputs.entries()) {
        const value = args[index]
        if (parameter.type === 'address') {
          assert.ok(
            message.toLowerCase().includes(String(value).toLowerCase()),
            `${item.name} names ${parameter.name}`,
          )
        }
        if (parameter.type === 'bytes32' && item.name.endsWith('InvalidParameter'))
          assert.ok(message.includes('minStake'))
      }
    }
  })

  test('examples read as a person would write them', () => {
    assert.equal(
      describeContractError('CreditsStalePrice', [1_700_000_000n, 3_600n]).message,
      'The STOA/USD price is stale: it was last updated at 2023-11-14 22:13:20 UTC, and credits accept prices at most 1 h old.',
    )
    assert.equal(
      describeContractError('MarketBidAbovePrice', [7n, 1_000_000_000n, 500_000_000n]).message,
      "A bid of $3.6/h is above order 7's maximum of $1.8/h.",
    )
    assert.equal(
      describeContractError('MarketOrderNotOpen', [7n, 2]).message,
      'Order 7 is not open for bids: it is leased.',
    )
    assert.equal(
      describeContractError('RegistryInvalidParameter', [textToBytes32('jailDuration'), 5n]).message,
      'The parameter jailDuration cannot be set to 5.',
    )
    assert.equal(describeContractError('Error', ['nope']).message, 'The contract reverted: nope.')
    assert.equal(
      describeContractError('Panic', [0x11]).message,
      'The contract panicked: an arithmetic operation overflowed or underflowed.',
    )
    assert.equal(
      describeContractError('SomethingElse', []).message,
      'The contract reverted with SomethingElse.',
    )
    assert.equal(duration(0), '0 s')
    assert.equal(duration(90_061n), '1 d 1 h 1 min 1 s')
  })
})

describe('StoaContractError', () => {
  /** What viem throws when a simulation reverts. */
  function viemRevert(data: `0x${string}`) {
    const reverted = new ContractFunctionRevertedError({ abi: marketAbi, data, functionName: 'bid' })
    return new ContractFunctionExecutionError(reverted, {
      abi: marketAbi,
      functionName: 'bid',
      args: [1n, 2n],
    })
  }

  test('decodes a revert, even of an error the called contract’s ABI lacks', () => {
    // Market's ABI has no Credits errors: they bubble up from Credits.escrow.
    const data = encodeErrorResult({
      abi: creditsAbi,
      errorName: 'CreditsInsufficientBalance',
      args: [zeroAddress, 5n, 10n],
    })
    const cause = viemRevert(data)
    const error = toStoaContractError(cause, { functionName: 'createOrder' })
    assert.ok(error instanceof StoaContractError)
    assert.ok(error instanceof BaseError)
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'StoaContractError')
    assert.equal(error.errorName, 'CreditsInsufficientBalance')
    assert.deepEqual(error.args, [zeroAddress, 5n, 10n])
    assert.equal(error.shortMessage, `${zeroAddress} has $0.000005 in credits but $0.00001 are needed.`)
    assert.ok(error.metaMessages?.includes('Buy credits first (buyCredits / `stoa credits buy`).'))
    assert.ok(
      error.metaMessages?.includes(`Contract error: CreditsInsufficientBalance(${zeroAddress}, 5, 10)`),
    )
    assert.equal(error.cause, cause)
    assert.ok(error.walk() instanceof Error)
    assert.ok(
      error.walk((inner) => inner instanceof ContractFunctionRevertedError) instanceof
        ContractFunctionRevertedError,
    )
    assert.equal(
      error.walk((inner) => inner instanceof RangeError),
      null,
    )
    assert.ok(error.message.startsWith(error.shortMessage))
    assert.ok(error.message.includes('Version: @stoa/protocol@'))
    assert.equal(toStoaContractError(error), error, 'idempotent')
  })

  test('a require reason string or an unknown selector still gives a StoaContractError', () => {
    const reason = toStoaContractError(
      viemRevert(
        encodeErrorResult({
          abi: [{ type: 'error', name: 'Error', inputs: [{ type: 'string', name: 'message' }] }],
          errorName: 'Error',
          args: ['paused'],
        }),
      ),
    )
    assert.equal(reason?.errorName, 'Error')
    assert.equal(reason?.shortMessage, 'The contract reverted: paused.')
    const unknown = toStoaContractError(viemRevert('0xdeadbeef'), { functionName: 'bid' })
    assert.equal(unknown?.errorName, undefined)
    assert.equal(unknown?.shortMessage, 'The contract call bid(…) reverted.')
  })

  test('anything that is not a revert is left alone', () => {
    assert.equal(toStoaContractError(new Error('socket hang up')), undefined)
    assert.equal(toStoaContractError(new ViemBaseError('HTTP request failed.')), undefined)
    assert.equal(toStoaContractError('weird'), undefined)
  })
})

describe('BaseError', () => {
  test('has viem’s shape and a fixed name per subclass', () => {
    const cause = new Error('root cause')
    const error = new BaseError('Short.', {
      cause,
      metaMessages: ['More.'],
      docsPath: 'docs/x.md',
      details: 'ignored',
    })
    assert.equal(error.name, 'StoaError')
    assert.equal(error.shortMessage, 'Short.')
    assert.equal(error.details, 'root cause', 'details come from the cause')
    assert.equal(error.docsPath, 'docs/x.md')
    assert.deepEqual(error.metaMessages, ['More.'])
    assert.equal(error.cause, cause)
    assert.equal(
      error.message,
      `Short.\n\nMore.\n\nDocs: docs/x.md\nDetails: root cause\nVersion: ${error.version}`,
    )
    assert.equal(error.walk(), cause)
    const wrapped = new BaseError('Outer.', { cause: error })
    assert.equal(wrapped.details, 'root cause', 'details pass through nested Stoa errors')
    assert.equal(wrapped.docsPath, 'docs/x.md')
    assert.equal(new InvalidParameterError('a.b', 'a number', 'x').name, 'InvalidParameterError')
    assert.equal(
      new InvalidParameterError('a.b', 'a number', 'x').shortMessage,
      'Invalid `a.b`: expected a number, got "x".',
    )
  })
})
