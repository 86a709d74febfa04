import { getLease, getOrder } from '@stoa/sdk/browser'
import { useMemo } from 'react'
import { formatLease, orderTimeline } from '../chain/model.ts'
import {
  AddressText,
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
import { dateTime, duration, shortHash, usd, usdPerHour } from '../format.ts'
import { useAccountNames, useChain, useConsole, useLoad, useMarket, useNow } from '../hooks.ts'
import { href } from '../router.ts'
import { LeasesTable, OrderStateBadge, regionsText, resourcesText } from './MarketPage.tsx'

/**
 * One order, from creation to lease to close: its OrderCreated terms, every Market event about it
 * or its leases as a timeline, and its live state (`Market.getOrder`; the current lease's
 * `getLease` with `pendingSettlement`, i.e. what it has accrued since its last settle).
 */
export function OrderPage(props: { orderId: bigint }) {
  const { orderId } = props
  const { client } = useConsole()
  const chain = useChain()
  const market = useMarket()
  const names = useAccountNames()
  const now = useNow()
  const order = market.orderById.get(orderId)
  const timeline = useMemo(
    () => orderTimeline(orderId, chain.events.market, chain.blockTimes),
    [orderId, chain.events.market, chain.blockTimes],
  )
  const live = useLoad(
    `order:${orderId}`,
    async () => {
      const record = await getOrder(client, { orderId })
      const lease = record?.leaseId === undefined ? null : await getLease(client, { leaseId: record.leaseId })
      return { record, lease }
    },
    `${chain.head}`,
    2_000,
  )
  const ready = chain.status !== 'loading' && live.settled
  const record = live.data?.record
  const lease = live.data?.lease

  return (
    <Page
      testId="page-order"
      title={
        <>
          <a href={href.market()} className="crumb">
            Market
          </a>{' '}
          / Order #{String(orderId)}
        </>
      }
      ready={ready}
    >
      <ChainError error={chain.error} />
      {live.error ? <ErrorState error={live.error} title="Cannot read the order" /> : null}
      {!ready ? (
        <Loading what={`order ${orderId}`} />
      ) : !order && !record ? (
        <Empty>There is no order #{String(orderId)} on this chain.</Empty>
      ) : (
        <>
          <div className="stats">
            <Stat
              label="State"
              value={record ? record.state.toLowerCase() : order ? order.state.toLowerCase() : '—'}
            />
            <Stat label="Escrow left" value={record ? usd(record.escrow) : '—'} />
            <Stat label="Round" value={record?.round ?? order?.round ?? 0} />
            <Stat
              label="Accrued, not yet settled"
              value={lease ? usd(lease.pending.owed) : '—'}
              hint="What a settle would book to the provider now"
            />
          </div>
          {order ? (
            <Panel title="Terms">
              <dl className="facts">
                <dt>Tenant</dt>
                <dd>{names.get(order.tenant.toLowerCase()) ?? <AddressText address={order.tenant} />}</dd>
                <dt>Resources</dt>
                <dd>{resourcesText(order)}</dd>
                <dt>Regions</dt>
                <dd>{regionsText(order.regionMask)}</dd>
                <dt>Max price</dt>
                <dd>{usdPerHour(order.maxPricePerSecond)}</dd>
                <dt>Deposit</dt>
                <dd>{usd(order.deposit)}</dd>
                <dt>Bid deadline</dt>
                <dd>
                  {dateTime(record?.bidDeadline ?? order.bidDeadline)}
                  {record?.state === 'Open' && record.bidDeadline > now
                    ? ` (in ${duration(record.bidDeadline - now)})`
                    : ''}
                </dd>
                <dt>Manifest</dt>
                <dd className="mono" title={order.manifestHash}>
                  {shortHash(order.manifestHash)}
                  {order.manifestUri ? ` · ${order.manifestUri}` : ''}
                </dd>
                <dt>Auto-reopen</dt>
                <dd>{order.autoReopen ? 'yes (fails over to a new provider)' : 'no'}</dd>
                <dt>State</dt>
                <dd>
                  <OrderStateBadge state={order.state} />
                </dd>
              </dl>
            </Panel>
          ) : null}
          <Panel title="Timeline">
            {timeline.length === 0 ? (
              <Empty>No event yet.</Empty>
            ) : (
              <ol className="timeline" data-testid="order-timeline">
                {timeline.map((event) => (
                  <li
                    key={`${event.transactionHash}:${event.logIndex}`}
                    className={`timeline-item timeline-${event.kind}`}
                    data-testid="timeline-event"
                    data-kind={event.kind}
                    data-count={event.count}
                  >
                    <span className="timeline-dot" aria-hidden="true" />
                    <div>
                      <div>
                        <Badge tone={timelineTone(event.kind)}>{event.kind}</Badge> {event.text}
                        {event.provider ? (
                          <>
                            {' '}
                            ·{' '}
                            <ProviderLink
                              address={event.provider}
                              name={names.get(event.provider.toLowerCase())}
                            />
                          </>
                        ) : null}
                      </div>
                      <div className="muted small">
                        {event.last
                          ? `${dateTime(event.time)} to ${dateTime(event.last.time).slice(11)} · blocks ${event.blockNumber}–${event.last.blockNumber}`
                          : `${dateTime(event.time)} · block ${event.blockNumber}`}
                      </div>
                    </div>
                  </li>
                ))}
              </ol>
            )}
          </Panel>
          <Panel title="Bids">
            {!order || order.bids.length === 0 ? (
              <Empty>No bid on this order.</Empty>
            ) : (
              <TableWrap>
                <table>
                  <thead>
                    <tr>
                      <th>Round</th>
                      <th>Provider</th>
                      <th className="num">Price</th>
                      <th>Time</th>
                    </tr>
                  </thead>
                  <tbody>
                    {order.bids.map((bid) => (
                      <tr key={`${bid.transactionHash}:${bid.logIndex}`} data-testid="bid-row">
                        <td>{bid.round}</td>
                        <td>
                          <ProviderLink address={bid.provider} name={names.get(bid.provider.toLowerCase())} />
                        </td>
                        <td className="num">{usdPerHour(bid.pricePerSecond)}</td>
                        <td className="small">{dateTime(bid.time)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </Panel>
          <Panel title="Leases">
            {!order || order.leases.length === 0 ? (
              <Empty>No lease on this order.</Empty>
            ) : (
              <>
                <LeasesTable leases={order.leases} names={names} testId="lease-row" />
                {lease ? (
                  <p className="note">
                    Lease {formatLease(lease.leaseId)} has earned {usd(lease.earned)} not yet withdrawn, plus{' '}
                    {usd(lease.pending.owed)} accrued since it was last settled.
                  </p>
                ) : null}
              </>
            )}
          </Panel>
        </>
      )}
    </Page>
  )
}

function timelineTone(kind: string): 'good' | 'warn' | 'bad' | 'neutral' | 'info' {
  switch (kind) {
    case 'lease':
      return 'good'
    case 'fault':
      return 'bad'
    case 'reopened':
    case 'restarted':
      return 'warn'
    case 'created':
    case 'bid':
      return 'info'
    default:
      return 'neutral'
  }
}
