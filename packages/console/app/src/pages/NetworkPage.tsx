import { getProvider, type ProviderRecord } from '@stoa/sdk/browser'
import { useMemo } from 'react'
import { registeredProviders } from '../chain/model.ts'
import {
  Badge,
  ChainError,
  Empty,
  ErrorState,
  Loading,
  Page,
  Panel,
  ProviderLink,
  Stat,
  TableWrap,
} from '../components/common.tsx'
import { type MapMarker, WorldMap } from '../components/WorldMap.tsx'
import { cores, stoa } from '../format.ts'
import { useAccountNames, useChain, useConsole, useLoad, useMarket, useNow, useStorage } from '../hooks.ts'

/**
 * Network: every registered provider (ProviderRegistered events) with its on-chain record
 * (`ProviderRegistry.getProvider`, `isActive`, `statsOf`), on a map by its registered lat/lon.
 * Proof counts come from StorageDeals events (ShardProven, ShardLost), active leases from Market's.
 */
export function NetworkPage() {
  const { client } = useConsole()
  const chain = useChain()
  const market = useMarket()
  const storage = useStorage()
  const names = useAccountNames()
  const now = useNow(5_000)
  const providers = useMemo(
    () => registeredProviders(chain.events.providerRegistry),
    [chain.events.providerRegistry],
  )
  const records = useLoad(
    `providers:${providers.map((provider) => provider.address).join(',')}`,
    async () => {
      const found = await Promise.all(
        providers.map(({ address }) => getProvider(client, { provider: address })),
      )
      return found.filter((record): record is ProviderRecord => record !== null)
    },
    `${chain.events.providerRegistry.length}:${chain.events.market.length}:${Math.floor(now / 30)}`,
  )

  const counters = useMemo(() => {
    const byProvider = new Map<string, { activeLeases: number; proofs: number; missed: number }>()
    const entry = (address: string) => {
      const key = address.toLowerCase()
      let value = byProvider.get(key)
      if (!value) {
        value = { activeLeases: 0, proofs: 0, missed: 0 }
        byProvider.set(key, value)
      }
      return value
    }
    for (const lease of market.leases) if (lease.state === 'Active') entry(lease.provider).activeLeases++
    for (const proof of storage.proofs) entry(proof.provider).proofs++
    for (const miss of storage.misses) entry(miss.provider).missed++
    return byProvider
  }, [market.leases, storage.proofs, storage.misses])

  const list = records.data ?? []
  const markers: MapMarker[] = list.map((record) => {
    const status = providerStatus(record, now)
    return {
      address: record.address,
      label: names.get(record.address.toLowerCase()) ?? `#${record.id}`,
      latitude: record.location.latitude,
      longitude: record.location.longitude,
      tone: status.tone,
      detail: `${record.regionName ?? `region ${record.region}`} · ${status.label} · ${stoa(record.stake)} staked`,
    }
  })
  const ready = chain.status !== 'loading' && (providers.length === 0 || records.settled)
  const active = list.filter((record) => record.active).length
  const totalStake = list.reduce((sum, record) => sum + record.stake, 0n)
  const totalCpu = list.reduce((sum, record) => sum + record.capacity.cpuMillis, 0)
  const totalStorage = list.reduce((sum, record) => sum + record.capacity.storageGiB, 0)

  return (
    <Page testId="page-network" title="Network" ready={ready}>
      <ChainError error={chain.error} />
      <div className="stats">
        <Stat label="Providers" value={list.length} testId="network-provider-count" />
        <Stat label="Active" value={active} />
        <Stat label="Staked" value={stoa(totalStake)} />
        <Stat label="CPU offered" value={cores(totalCpu)} />
        <Stat label="Storage offered" value={`${totalStorage} GiB`} />
      </div>
      <Panel title="Where providers are">
        <WorldMap markers={markers} />
        <div className="legend">
          <span>
            <i className="swatch swatch-good" /> active
          </span>
          <span>
            <i className="swatch swatch-warn" /> not taking work (stake, unbonding)
          </span>
          <span>
            <i className="swatch swatch-bad" /> jailed
          </span>
        </div>
      </Panel>
      <Panel title="Providers">
        {records.error ? <ErrorState error={records.error} title="Cannot read providers" /> : null}
        {!ready ? (
          <Loading what="providers" />
        ) : list.length === 0 && !records.error && !chain.error ? (
          <Empty>No provider has registered yet. Start one with `stoa provider start`.</Empty>
        ) : list.length > 0 ? (
          <TableWrap>
            <table>
              <thead>
                <tr>
                  <th>Provider</th>
                  <th>Region</th>
                  <th>Status</th>
                  <th>Capacity</th>
                  <th className="num">Stake</th>
                  <th className="num" title="Leases won / completed (counted at withdrawal) / active now">
                    Leases
                  </th>
                  <th className="num" title="Storage proofs submitted / missed">
                    Proofs
                  </th>
                  <th className="num" title="Faults counted by the registry (slashes)">
                    Faults
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((record) => {
                  const status = providerStatus(record, now)
                  const counts = counters.get(record.address.toLowerCase())
                  return (
                    <tr key={record.address} data-testid="provider-row" data-address={record.address}>
                      <td>
                        <ProviderLink
                          address={record.address}
                          name={names.get(record.address.toLowerCase())}
                        />
                        <div className="muted small">#{record.id}</div>
                      </td>
                      <td>{record.regionName ?? record.region}</td>
                      <td>
                        <Badge tone={status.tone}>{status.label}</Badge>
                      </td>
                      <td className="small">
                        {cores(record.capacity.cpuMillis)} · {Math.round(record.capacity.memoryMiB / 1024)}{' '}
                        GiB RAM · {record.capacity.storageGiB} GiB disk
                        {record.capacity.gpus > 0 ? ` · ${record.capacity.gpus} GPU` : ''}
                      </td>
                      <td className="num">{stoa(record.stake)}</td>
                      <td className="num">
                        {String(record.stats.leasesWon)} / {String(record.stats.leasesCompleted)} /{' '}
                        {counts?.activeLeases ?? 0}
                      </td>
                      <td className="num">
                        {counts?.proofs ?? 0} / {counts?.missed ?? 0}
                      </td>
                      <td className="num">{record.faults}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </TableWrap>
        ) : null}
      </Panel>
    </Page>
  )
}

export function providerStatus(
  record: Pick<ProviderRecord, 'active' | 'jailedUntil' | 'unbonding' | 'stake'>,
  now: number,
): { label: string; tone: 'good' | 'warn' | 'bad' } {
  if (record.jailedUntil !== 0)
    return { label: record.jailedUntil > now ? 'jailed' : 'jailed (may unjail)', tone: 'bad' }
  if (record.active) return { label: 'active', tone: 'good' }
  if (record.stake === 0n && record.unbonding > 0n) return { label: 'unbonding', tone: 'warn' }
  return { label: 'below min stake', tone: 'warn' }
}
