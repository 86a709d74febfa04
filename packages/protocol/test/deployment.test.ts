import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { stringToHex } from 'viem'
import {
  bytes32ToText,
  closeReasonName,
  closeReasons,
  InvalidDeploymentError,
  leaseIdOf,
  leaseStateName,
  orderStateName,
  parseDeployment,
  parseLeaseId,
  textToBytes32,
  version,
} from '../src/index.ts'

const valid = {
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  contracts: {
    stoaToken: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    priceOracle: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    credits: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
    providerRegistry: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
    market: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707',
    storageDeals: '0xa513E6E4b8f2a923D98304ec87F64353C4D5C853',
  },
}

describe('parseDeployment', () => {
  test('accepts an object or its JSON text, checksums addresses, drops extra fields', () => {
    const parsed = parseDeployment({ ...valid, deployer: '0x0', blockNumber: 12 })
    assert.deepEqual(Object.keys(parsed), ['chainId', 'rpcUrl', 'contracts'])
    assert.equal(parsed.contracts.stoaToken, '0x5FbDB2315678afecb367f032d93F642f64180aa3')
    assert.deepEqual(parseDeployment(JSON.stringify(valid)), parsed)
    assert.equal(
      parseDeployment({ ...valid, rpcUrl: 'wss://rpc.example.org/ws' }).rpcUrl,
      'wss://rpc.example.org/ws',
    )
  })

  test('names the first bad field', () => {
    const cases: [unknown, string, RegExp][] = [
      ['{not json', '(root)', /must be JSON text/],
      [[], '(root)', /must be an object, got an array/],
      [{ ...valid, chainId: '31337' }, 'chainId', /must be a positive integer, got "31337"/],
      [{ ...valid, chainId: 0 }, 'chainId', /positive integer, got 0/],
      [{ ...valid, rpcUrl: 'localhost:8545' }, 'rpcUrl', /http\(s\):\/\/ or ws\(s\):\/\/ URL/],
      [{ ...valid, contracts: null }, 'contracts', /got null/],
      [
        { ...valid, contracts: { ...valid.contracts, market: '0x1234' } },
        'contracts.market',
        /20-byte hex address/,
      ],
      [
        { ...valid, contracts: { ...valid.contracts, credits: undefined } },
        'contracts.credits',
        /got nothing/,
      ],
    ]
    for (const [input, field, message] of cases) {
      assert.throws(
        () => parseDeployment(input),
        (error: unknown) =>
          error instanceof InvalidDeploymentError &&
          error.name === 'InvalidDeploymentError' &&
          error.field === field &&
          error.shortMessage.startsWith(`Invalid deployment: \`${field}\``) &&
          message.test(error.shortMessage),
        field,
      )
    }
  })
})

describe('bytes32 texts', () => {
  test('round trip short texts; refuse long ones; leave binary as is', () => {
    for (const text of ['', 'A100', 'gpu.model', 'ünïcødé', 'x'.repeat(32)]) {
      const encoded = textToBytes32(text)
      assert.ok(encoded)
      assert.equal(bytes32ToText(encoded), text)
    }
    assert.equal(textToBytes32('x'.repeat(33)), undefined)
    assert.equal(textToBytes32('é'.repeat(17)), undefined, '34 UTF-8 bytes')
    // "A100" ends in a zero nibble: trimming must be by byte.
    assert.equal(textToBytes32('A100'), stringToHex('A100', { size: 32 }))
    assert.equal(bytes32ToText(`0x${'ab'.repeat(32)}`), undefined, 'not UTF-8')
    assert.equal(bytes32ToText(`0x01${'00'.repeat(31)}`), undefined, 'a control character')
    assert.equal(bytes32ToText(`0x4100${'41'.repeat(30)}`), undefined, 'an inner zero byte')
    assert.equal(bytes32ToText('0x1234'), undefined, 'not 32 bytes')
  })
})

describe('market enums and lease ids', () => {
  test('names follow the Solidity enums', () => {
    assert.equal(orderStateName(2), 'Leased')
    assert.equal(leaseStateName(1), 'Active')
    assert.equal(closeReasonName(4), 'FaultReportedByTenant')
    assert.equal(closeReasons.length, 6)
    assert.throws(() => closeReasonName(6), RangeError)
  })

  test('lease ids pack order id and round', () => {
    assert.equal(leaseIdOf(1n, 0), 1n << 32n)
    assert.equal(leaseIdOf(5n, 3), (5n << 32n) | 3n)
    for (const [orderId, round] of [
      [1n, 0],
      [123_456_789_012n, 4_294_967_295],
      [2n ** 64n - 1n, 7],
    ] as const) {
      assert.deepEqual(parseLeaseId(leaseIdOf(orderId, round)), { orderId, round })
    }
    assert.throws(() => leaseIdOf(1n, 2 ** 32), RangeError)
  })
})

test('the version in error messages is the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    name: string
    version: string
  }
  assert.equal(version, `${pkg.name}@${pkg.version}`)
})
