import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  InvalidParameterError,
  parseStoa,
  providerRegistryAbi,
  regionCode,
  StoaContractError,
} from '@stoa/protocol'
import { getProvider, type RegisterProviderProgressEvent, registerProvider } from '../src/index.ts'
import { type Devnet, startDevnet } from './devnet.ts'

let devnet: Devnet
before(async () => {
  devnet = await startDevnet()
})
after(async () => {
  await devnet?.stop()
})

const info = {
  gatewayUrl: 'http://127.0.0.1:8700',
  region: 'eu-west',
  location: { latitude: 53.34981, longitude: -6.26031 },
  capacity: { cpuMillis: 16_000, memoryMiB: 65_536, storageGiB: 1_000, gpus: 1 },
  attributes: { 'gpu.model': 'A100', tier: 'datacentre' },
} as const

describe('providers', () => {
  test('register with stake, then read the record back', async () => {
    const { provider1 } = devnet
    const events: RegisterProviderProgressEvent['type'][] = []
    const registered = await registerProvider(provider1, {
      ...info,
      stake: parseStoa('150'),
      onProgress: (event) => events.push(event.type),
    })
    assert.equal(registered.providerId, 1)
    assert.equal(registered.stake, parseStoa('150'))
    assert.deepEqual(events, [
      'approve:sent',
      'approve:confirmed',
      'transaction:sent',
      'transaction:confirmed',
    ])

    const record = await getProvider(provider1)
    assert.ok(record)
    assert.equal(record.id, 1)
    assert.equal(record.address, provider1.account.address)
    assert.equal(record.region, regionCode('eu-west'))
    assert.equal(record.regionName, 'eu-west')
    assert.deepEqual(record.location, { latitude: 53.34981, longitude: -6.26031 })
    assert.deepEqual(record.capacity, info.capacity)
    assert.equal(record.gatewayUrl, info.gatewayUrl)
    assert.deepEqual(
      record.attributes.map(({ key, value }) => [key, value]),
      [
        ['gpu.model', 'A100'],
        ['tier', 'datacentre'],
      ],
    )
    assert.equal(record.stake, parseStoa('150'))
    assert.equal(record.active, true)
    assert.deepEqual(record.stats, { leasesWon: 0n, leasesCompleted: 0n, faults: 0n })
    assert.ok(record.registeredAt > 0)
  })

  test('an unknown address reads as null', async () => {
    assert.equal(await devnet.alice.getProvider(), null)
  })

  test('registering twice is refused in words', async () => {
    await assert.rejects(
      devnet.provider1.registerProvider({ ...info, stake: parseStoa('100') }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'RegistryAlreadyRegistered' &&
        error.shortMessage === `${devnet.provider1.account.address} is already registered as provider #1.`,
    )
  })

  test('a stake below the minimum is refused with both amounts', async () => {
    await assert.rejects(
      devnet.provider2.registerProvider({ ...info, stake: parseStoa('99.5') }),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'RegistryStakeBelowMinimum' &&
        error.shortMessage === 'A stake of 99.5 STOA is below the minimum of 100 STOA.',
    )
  })

  test('bad provider info is refused before sending, naming the field', async () => {
    const cases = [
      [{ ...info, region: 'eu-wets' }, 'region'],
      [{ ...info, gatewayUrl: 'ftp://x' }, 'gatewayUrl'],
      [{ ...info, location: { latitude: 91, longitude: 0 } }, 'location.latitude'],
      [{ ...info, capacity: { ...info.capacity, cpuMillis: -1 } }, 'capacity.cpuMillis'],
      [{ ...info, capacity: { ...info.capacity, gpus: 70_000 } }, 'capacity.gpus'],
      [{ ...info, attributes: { k: 'v'.repeat(33) } }, 'attributes[0].value'],
    ] as const
    for (const [bad, field] of cases) {
      await assert.rejects(
        devnet.provider2.registerProvider({ ...bad, stake: parseStoa('100') }),
        (error: unknown) => error instanceof InvalidParameterError && error.field === field,
        field,
      )
    }
  })

  test('update replaces the declared info', async () => {
    const { provider1 } = devnet
    await provider1.updateProvider({
      ...info,
      gatewayUrl: 'https://p1.example.org',
      region: 'ap-south',
      attributes: [{ key: 'gpu.model', value: 'H100' }],
    })
    const record = await provider1.getProvider()
    assert.equal(record?.gatewayUrl, 'https://p1.example.org')
    assert.equal(record?.regionName, 'ap-south')
    assert.deepEqual(
      record?.attributes.map(({ key, value }) => [key, value]),
      [['gpu.model', 'H100']],
    )
  })

  test('stake more, unbond, wait out the period, withdraw', async () => {
    const { provider1 } = devnet
    const staked = await provider1.stake({ amount: parseStoa('50') })
    assert.equal(staked.stake, parseStoa('200'))

    const unbonding = await provider1.beginUnbond({ amount: parseStoa('80') })
    assert.equal(unbonding.unbonding, parseStoa('80'))
    const period = await devnet.chain.readContract({
      address: devnet.deployment.contracts.providerRegistry,
      abi: providerRegistryAbi,
      functionName: 'unbondingPeriod',
    })
    const minedAt = (await devnet.chain.getBlock({ blockNumber: unbonding.receipt.blockNumber })).timestamp
    assert.equal(unbonding.releaseAt, minedAt + BigInt(period))
    const record = await provider1.getProvider()
    assert.equal(record?.stake, parseStoa('120'))
    assert.equal(record?.unbonding, parseStoa('80'))

    await assert.rejects(
      provider1.withdrawStake(),
      (error: unknown) =>
        error instanceof StoaContractError &&
        error.errorName === 'RegistryStillUnbonding' &&
        error.shortMessage.includes('cannot be withdrawn before'),
    )
    await devnet.warp(period)
    const withdrawn = await provider1.withdrawStake()
    assert.equal(withdrawn.amount, parseStoa('80'))
    assert.equal((await provider1.getProvider())?.unbonding, 0n)
    await assert.rejects(
      provider1.withdrawStake(),
      (error: unknown) =>
        error instanceof StoaContractError && error.errorName === 'RegistryNothingToWithdraw',
    )
  })
})
