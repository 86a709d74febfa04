import { formatStoa, type RegionName, regionCode } from '@stoa/protocol'
import { getProvider, type ProviderInfoInput, registerProvider, stake, updateProvider } from '@stoa/sdk'
import type { Logger } from '../logger.ts'
import type { ProviderChain } from './client.ts'

export type EnsureRegistrationParameters = {
  gatewayUrl: string
  region: RegionName
  location: { latitude: number; longitude: number }
  /** Advertised capacity (storage in GiB, as the registry keeps it). */
  capacity: { cpuMillis: number; memoryMiB: number; storageGiB: number; gpus: number }
  attributes: Record<string, string>
  /** Bonded stake to reach (STOA base units); registration bonds at least the registry's minimum. */
  stake: bigint
}

export type EnsureRegistrationReturnType = {
  providerId: number
  /** What was sent: nothing when the record already matched. */
  actions: ('registered' | 'updated' | 'staked')[]
  stake: bigint
  active: boolean
}

/**
 * Makes the chain's record of this provider match the configuration: registers it (bonding the
 * configured stake, at least the minimum), or updates its gateway URL, region, location, capacity
 * and attributes when they differ, and tops the bonded stake up to the configured amount.
 */
export async function ensureRegistration(
  chain: ProviderChain,
  parameters: EnsureRegistrationParameters,
  logger?: Logger,
): Promise<EnsureRegistrationReturnType> {
  const { client } = chain
  const info: ProviderInfoInput = {
    gatewayUrl: parameters.gatewayUrl,
    region: parameters.region,
    location: parameters.location,
    capacity: parameters.capacity,
    attributes: parameters.attributes,
  }
  const actions: EnsureRegistrationReturnType['actions'] = []
  let record = await getProvider(client, { provider: chain.address })
  if (record === null) {
    const minimum = await chain.minStake()
    const amount = largest(parameters.stake, minimum)
    const registered = await chain.write('registerProvider', () =>
      registerProvider(client, { ...info, stake: amount }),
    )
    logger?.info(
      { providerId: registered.providerId, stake: formatStoa(registered.stake), tx: registered.hash },
      'registered as a provider',
    )
    actions.push('registered')
    record = await getProvider(client, { provider: chain.address })
    if (record === null) throw new Error('the provider record is missing right after registering')
  } else if (!sameInfo(record, parameters)) {
    const updated = await chain.write('updateProvider', () => updateProvider(client, info))
    logger?.info(
      { providerId: record.id, gatewayUrl: parameters.gatewayUrl, tx: updated.hash },
      'updated provider record',
    )
    actions.push('updated')
  }
  let bonded = record.stake
  if (bonded < parameters.stake) {
    const topUp = parameters.stake - bonded
    const staked = await chain.write('stake', () => stake(client, { amount: topUp }))
    bonded = staked.stake
    logger?.info({ added: formatStoa(topUp), stake: formatStoa(bonded), tx: staked.hash }, 'staked')
    actions.push('staked')
  }
  const active = await chain.isActive(chain.address)
  if (!active) {
    logger?.warn(
      { stake: formatStoa(bonded), jailedUntil: record.jailedUntil },
      'the provider is not active (stake below the minimum, or jailed): it cannot bid',
    )
  }
  return { providerId: record.id, actions, stake: bonded, active }
}

type RecordLike = NonNullable<Awaited<ReturnType<typeof getProvider>>>

function sameInfo(record: RecordLike, wanted: EnsureRegistrationParameters): boolean {
  const e5 = (degrees: number) => Math.round(degrees * 1e5)
  const attributes = Object.entries(wanted.attributes)
  return (
    record.gatewayUrl === wanted.gatewayUrl &&
    record.region === regionCode(wanted.region) &&
    e5(record.location.latitude) === e5(wanted.location.latitude) &&
    e5(record.location.longitude) === e5(wanted.location.longitude) &&
    record.capacity.cpuMillis === wanted.capacity.cpuMillis &&
    record.capacity.memoryMiB === wanted.capacity.memoryMiB &&
    record.capacity.storageGiB === wanted.capacity.storageGiB &&
    record.capacity.gpus === wanted.capacity.gpus &&
    record.attributes.length === attributes.length &&
    attributes.every(
      ([key, value], index) =>
        record.attributes[index]?.key === key && record.attributes[index]?.value === value,
    )
  )
}

function largest(a: bigint, b: bigint): bigint {
  return a >= b ? a : b
}
