import { getCreditBalance, getProvider } from '@stoa/sdk/browser'
import { type FormEvent, useMemo, useState } from 'react'
import type { Address } from 'viem'
import { isAddress } from 'viem'
import { type EventPlace, formatLease, providerActivity, registeredProviders } from '../chain/model.ts'
import { extendToNow, TimeChart } from '../components/charts.tsx'
import {
  Badge,
  ChainError,
  Empty,
  ErrorState,
  Loading,
  Page,
  Panel,
  Stat,
  TableWrap,
} from '../components/common.tsx'
import { cores, dateTime, stoa, usd, usdAxis } from '../format.ts'
import {
  useAccountNames,
  useChain,
  useConsole,
  useEconomics,
  useLoad,
  useMarket,
  useNow,
  useStorage,
} from '../hooks.ts'
import { href } from '../router.ts'
import { LeasesTable } from './MarketPage.tsx'
import { providerStatus } from './NetworkPage.tsx'

export function ProviderPage(props: { address: Address | undefined }) {
  return props.address ? <ProviderDetail address={props.address} /> : <ProviderPicker />
}

/** Every registered provider, to pick one (ProviderRegistered events). */
function ProviderPicker() {
  const chain = useChain()
  const names = useAccountNames()
  const providers = useMemo(
    () => registeredProviders(chain.events.providerRegistry),
    [chain.events.providerRegistry],
  )
  const [typed, setTyped] = useState('')
  const valid = isAddress(typed.trim(), { strict: false })
  const go = (event: FormEvent) => {
    event.preventDefault()
    if (valid) window.location.hash = href.provider(typed.trim())
  }
  return (
    <Page testId="page-provider" title="Provider" ready={chain.status !== 'loading'}>
      <ChainError error={chain.error} />
      <Panel title="Pick a provider">
        {chain.status === 'loading' ? (
          <Loading what="providers" />
        ) : providers.length === 0 ? (
          <Empty>No provider has registered yet.</Empty>
        ) : (
          <ul className="picker">
            {providers.map((provider) => (
              <li key={provider.address}>
                <a
                  href={href.provider(provider.address)}
                  data-testid="provider-pick"
                  data-address={provider.address}
                >
                  {names.get(provider.address.toLowerCase()) ?? `Provider #${provider.id}`}
                  <span className="mono muted small"> {provider.address}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
        <form className="inline-form" onSubmit={go}>
          <label>
            Or an address{' '}
            <input
              value={typed}
              onChange={(event) => setTyped(event.target.value)}
              placeholder="0x…"
              spellCheck={false}
              className="mono"
            />
          </label>
          <button type="submit" disabled={!valid}>
            Open
          </button>
        </form>
      </Panel>
    </Page>
  )
}

type FaultRow = EventPlace & { kind: string; detail: string; tone: 'bad' | 'warn' }

/**
 * A provider's view: its record (`getProvider`) and credit balance, earnings over time (Market
 * `LeaseSettled` / `LeaseClosed.settled` of its leases; Credits `EarningsPaid` to it), its leases,
 * proofs (ShardProven of the shards it held) and faults (slashes, jailings, fault reports on its
 * leases, missed proofs).
 */
function ProviderDetail(props: { address: Address }) {
  const { address } = props
  const { client } = useConsole()
  const chain = useChain()
  const market = useMarket()
  const storage = useStorage()
  const economics = useEconomics()
  const names = useAccountNames()
  const now = useNow(5_000)
  const activity = useMemo(
    () => providerActivity(address, chain, market, storage, economics),
    [address, chain, market, storage, economics],
  )
  const live = useLoad(
    `provider:${address}`,
    async () => {
      const [record, balance] = await Promise.all([
        getProvider(client, { provider: address }),
        getCreditBalance(client, { account: address }),
      ])
      return { record, balance }
    },
    `${chain.events.providerRegistry.length}:${chain.events.market.length}:${chain.events.credits.length}`,
  )
  const record = live.data?.record
  const ready = chain.status !== 'loading' && live.settled
  const name = names.get(address.toLowerCase())
  const faults: FaultRow[] = [
    ...activity.slashes.map((slash) => ({
      ...slash,
      kind: 'slashed',
      detail: `${stoa(slash.slashed)} (${slash.reason})`,
      tone: 'bad' as const,
    })),
    ...activity.jailings.map((jailing) => ({
      ...jailing,
      kind: 'jailed',
      detail: `until ${dateTime(Number(jailing.until))}`,
      tone: 'bad' as const,
    })),
    ...activity.leaseFaults.map((fault) => ({
      ...fault,
      kind: fault.kind === 'confirmed' ? 'fault confirmed' : 'fault reported',
      detail: `lease ${formatLease(fault.leaseId)}${fault.kind === 'reported' ? (fault.byTenant ? ' by the tenant' : ' by a watcher') : ''}`,
      tone: fault.kind === 'confirmed' ? ('bad' as const) : ('warn' as const),
    })),
    ...storage.misses
      .filter((miss) => miss.provider.toLowerCase() === address.toLowerCase())
      .map((miss) => ({
        ...miss,
        kind: 'missed proof',
        detail: `deal ${miss.dealId} shard ${miss.shardIndex}, period ${miss.period}`,
        tone: 'bad' as const,
      })),
  ].sort((a, b) =>
    a.blockNumber < b.blockNumber ? 1 : a.blockNumber > b.blockNumber ? -1 : b.logIndex - a.logIndex,
  )
  const status = record ? providerStatus(record, now) : undefined
  const lastEarnings = activity.earnings[activity.earnings.length - 1]

  return (
    <Page
      testId="page-provider"
      title={
        <>
          <a href={href.provider()} className="crumb">
            Provider
          </a>{' '}
          / {name ?? `${address.slice(0, 10)}…`}
        </>
      }
      ready={ready}
    >
      <ChainError error={chain.error} />
      {live.error ? <ErrorState error={live.error} title="Cannot read the provider" /> : null}
      {!ready ? (
        <Loading what="the provider" />
      ) : record === null ? (
        <Empty>
          <span className="mono">{address}</span> has never registered as a provider.
        </Empty>
      ) : (
        <>
          <div className="stats">
            <Stat label="Status" value={status ? <Badge tone={status.tone}>{status.label}</Badge> : '—'} />
            <Stat label="Stake" value={record ? stoa(record.stake) : '—'} />
            <Stat
              label="Earned (settled)"
              value={usd(BigInt(Math.round((lastEarnings?.accrued ?? 0) * 1e6)))}
              hint="Credits booked to it by lease settles"
            />
            <Stat
              label="Credits balance"
              value={live.data ? usd(live.data.balance.balance) : '—'}
              hint={live.data ? `${usd(live.data.balance.redeemable)} redeemable for STOA` : ''}
            />
            <Stat label="Leases won" value={record ? String(record.stats.leasesWon) : '—'} />
            <Stat label="Proofs" value={activity.proofs} testId="provider-proof-count" />
            <Stat label="Faults" value={record?.faults ?? 0} />
          </div>
          {record ? (
            <Panel title="Record">
              <dl className="facts">
                <dt>Address</dt>
                <dd className="mono">{address}</dd>
                <dt>Id, region</dt>
                <dd>
                  #{record.id}, {record.regionName ?? record.region} ({record.location.latitude.toFixed(2)},{' '}
                  {record.location.longitude.toFixed(2)})
                </dd>
                <dt>Gateway</dt>
                <dd className="mono">{record.gatewayUrl}</dd>
                <dt>Capacity</dt>
                <dd>
                  {cores(record.capacity.cpuMillis)}, {Math.round(record.capacity.memoryMiB / 1024)} GiB RAM,{' '}
                  {record.capacity.storageGiB} GiB disk, {record.capacity.gpus} GPU
                </dd>
                {record.attributes.length > 0 ? (
                  <>
                    <dt>Attributes</dt>
                    <dd>
                      {record.attributes.map((attribute) => `${attribute.key}=${attribute.value}`).join(', ')}
                    </dd>
                  </>
                ) : null}
                <dt>Unbonding</dt>
                <dd>{record.unbonding > 0n ? `${stoa(record.unbonding)}` : 'nothing'}</dd>
                <dt>Registered</dt>
                <dd>{dateTime(record.registeredAt)}</dd>
              </dl>
            </Panel>
          ) : null}
          <Panel title="Earnings (USD)">
            {activity.earnings.length === 0 ? (
              <Empty>No earnings yet: a lease books them at each settle.</Empty>
            ) : (
              <TimeChart
                testId="earnings-chart"
                label="Earnings over time"
                data={extendToNow(activity.earnings, chain.headTime)}
                format={usdAxis}
                series={[
                  {
                    key: 'accrued',
                    name: 'Settled to its leases',
                    color: 'var(--accent)',
                    curve: 'stepAfter',
                  },
                  { key: 'paid', name: 'Paid to its balance', color: 'var(--good)', curve: 'stepAfter' },
                ]}
              />
            )}
          </Panel>
          <Panel title="Leases">
            {activity.leases.length === 0 ? (
              <Empty>No lease yet ({activity.bids} bids placed).</Empty>
            ) : (
              <LeasesTable leases={activity.leases} names={names} testId="provider-lease-row" />
            )}
          </Panel>
          <Panel title="Faults">
            {faults.length === 0 ? (
              <Empty>No fault, slash or missed proof.</Empty>
            ) : (
              <TableWrap>
                <table>
                  <thead>
                    <tr>
                      <th>What</th>
                      <th>Detail</th>
                      <th>Time</th>
                    </tr>
                  </thead>
                  <tbody>
                    {faults.map((fault) => (
                      <tr
                        key={`${fault.transactionHash}:${fault.logIndex}:${fault.kind}`}
                        data-testid="provider-fault-row"
                        data-kind={fault.kind}
                      >
                        <td>
                          <Badge tone={fault.tone}>{fault.kind}</Badge>
                        </td>
                        <td>{fault.detail}</td>
                        <td className="small">{dateTime(fault.time)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </Panel>
          <p className="note">
            See it on the <a href={href.network()}>network map</a>; the deals it proves for are on the{' '}
            <a href={href.storage()}>storage page</a>.
          </p>
        </>
      )}
    </Page>
  )
}
