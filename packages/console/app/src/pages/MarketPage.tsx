import { regionsFromMask } from '@stoa/protocol'
import { type ReactNode, useMemo, useState } from 'react'
import { formatLease, type LeaseView, type OrderView } from '../chain/model.ts'
import { type PriceResource, priceHistory, priceResources } from '../chain/prices.ts'
import { TimeChart } from '../components/charts.tsx'
import {
  AddressText,
  Badge,
  ChainError,
  Empty,
  Loading,
  Page,
  Panel,
  ProviderLink,
  Stat,
  TableWrap,
} from '../components/common.tsx'
import { cores, dateTime, mib, usd, usdAxis, usdPerHour } from '../format.ts'
import { useAccountNames, useChain, useMarket, useStorage } from '../hooks.ts'
import { href } from '../router.ts'

/**
 * Market: orders (OrderCreated, with the resources and price only the event carries), bids
 * (BidPlaced), leases (LeaseCreated / LeaseSettled / LeaseClosed) and the price history derived
 * from bids and leases (chain/prices.ts). Everything here comes from Market events.
 */
export function MarketPage() {
  const chain = useChain()
  const market = useMarket()
  const storage = useStorage()
  const names = useAccountNames()
  const [resource, setResource] = useState<PriceResource>('cpu')
  const [showAll, setShowAll] = useState(false)
  const prices = useMemo(
    () => priceHistory(market, storage.deals, resource),
    [market, storage.deals, resource],
  )
  const ready = chain.status !== 'loading'
  const open = market.orders.filter((order) => order.state === 'Open')
  const activeLeases = market.leases.filter((lease) => lease.state === 'Active')
  const limit = showAll ? Number.POSITIVE_INFINITY : 25
  const unit = priceResources.find((entry) => entry.id === resource)?.unit ?? ''

  return (
    <Page testId="page-market" title="Market" ready={ready}>
      <ChainError error={chain.error} />
      <div className="stats">
        <Stat label="Orders" value={market.orders.length} />
        <Stat label="Open orders" value={open.length} />
        <Stat label="Bids" value={market.bids.length} />
        <Stat label="Active leases" value={activeLeases.length} />
        <Stat label="Leases ever" value={market.leases.length} />
      </div>
      <Panel
        title="Price history"
        actions={
          <label className="inline-field">
            <span className="visually-hidden">Resource</span>
            <select value={resource} onChange={(event) => setResource(event.target.value as PriceResource)}>
              {priceResources.map((entry) => (
                <option key={entry.id} value={entry.id}>
                  {entry.label}
                </option>
              ))}
            </select>
          </label>
        }
      >
        {!ready ? (
          <Loading what="prices" />
        ) : prices.length === 0 ? (
          <Empty>
            No {resource === 'storage' ? 'storage deal' : 'bid or lease'} yet to price this resource.
          </Empty>
        ) : (
          <>
            <TimeChart
              testId="price-chart"
              label={`Price history: ${unit}`}
              data={prices}
              attributes={{ 'data-resource': resource, 'data-points': String(prices.length) }}
              format={usdAxis}
              series={[
                { key: 'lease', name: `Lease (${unit})`, color: 'var(--accent)', curve: 'stepAfter' },
                ...(resource === 'storage'
                  ? []
                  : [{ key: 'bid' as const, name: 'Bids', color: 'var(--muted-strong)', dotsOnly: true }]),
              ]}
            />
            <p className="note">
              {resource === 'storage'
                ? 'Storage deals price each byte per second on chain; shown per TiB-hour.'
                : 'A bid prices the whole order; a per-resource price divides it by that resource alone (all-in).'}
            </p>
          </>
        )}
      </Panel>
      <Panel
        title="Orders"
        actions={
          market.orders.length > 25 ? (
            <button type="button" className="link-button" onClick={() => setShowAll((all) => !all)}>
              {showAll ? 'Show the latest 25' : `Show all ${market.orders.length}`}
            </button>
          ) : undefined
        }
      >
        {!ready ? (
          <Loading what="orders" />
        ) : market.orders.length === 0 ? (
          <Empty>No orders yet. Deploy one from the Tenant page or with `stoa deploy`.</Empty>
        ) : (
          <OrdersTable orders={market.orders.slice(0, limit)} names={names} />
        )}
      </Panel>
      <Panel title="Leases">
        {!ready ? (
          <Loading what="leases" />
        ) : market.leases.length === 0 ? (
          <Empty>No lease yet.</Empty>
        ) : (
          <LeasesTable leases={market.leases.slice(0, limit)} names={names} testId="lease-row" />
        )}
      </Panel>
      <Panel title="Recent bids">
        {!ready ? (
          <Loading what="bids" />
        ) : market.bids.length === 0 ? (
          <Empty>No bid yet.</Empty>
        ) : (
          <TableWrap>
            <table>
              <thead>
                <tr>
                  <th>Order</th>
                  <th>Round</th>
                  <th>Provider</th>
                  <th className="num">Price</th>
                  <th>Time</th>
                </tr>
              </thead>
              <tbody>
                {[...market.bids]
                  .reverse()
                  .slice(0, showAll ? undefined : 25)
                  .map((bid) => (
                    <tr
                      key={`${bid.transactionHash}:${bid.logIndex}`}
                      data-testid="bid-row"
                      data-order-id={String(bid.orderId)}
                    >
                      <td>
                        <a href={href.order(bid.orderId)}>#{String(bid.orderId)}</a>
                      </td>
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
    </Page>
  )
}

export function OrdersTable(props: {
  orders: readonly OrderView[]
  names: ReadonlyMap<string, string>
  testId?: string
}) {
  return (
    <TableWrap>
      <table>
        <thead>
          <tr>
            <th>Order</th>
            <th>Tenant</th>
            <th>Resources</th>
            <th>Regions</th>
            <th className="num">Max price</th>
            <th className="num">Deposit</th>
            <th>Bids</th>
            <th>State</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {props.orders.map((order) => (
            <tr
              key={String(order.orderId)}
              data-testid={props.testId ?? 'order-row'}
              data-order-id={String(order.orderId)}
            >
              <td>
                <a href={href.order(order.orderId)}>#{String(order.orderId)}</a>
              </td>
              <td>{props.names.get(order.tenant.toLowerCase()) ?? <AddressText address={order.tenant} />}</td>
              <td className="small">{resourcesText(order)}</td>
              <td className="small">{regionsText(order.regionMask)}</td>
              <td className="num">{usdPerHour(order.maxPricePerSecond)}</td>
              <td className="num">{usd(order.deposit)}</td>
              <td>{order.bids.length}</td>
              <td>
                <OrderStateBadge state={order.state} />
              </td>
              <td className="small">{dateTime(order.time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  )
}

export function LeasesTable(props: {
  leases: readonly LeaseView[]
  names: ReadonlyMap<string, string>
  testId: string
  actions?: (lease: LeaseView) => ReactNode
  selected?: bigint | undefined
  onSelect?: ((lease: LeaseView) => void) | undefined
}) {
  return (
    <TableWrap>
      <table>
        <thead>
          <tr>
            <th>Lease</th>
            <th>Provider</th>
            <th className="num">Price</th>
            <th className="num" title="Credits booked to the provider by settles so far">
              Settled
            </th>
            <th>State</th>
            <th>Started</th>
            {props.actions ? <th /> : null}
          </tr>
        </thead>
        <tbody>
          {props.leases.map((lease) => (
            <tr
              key={String(lease.leaseId)}
              data-testid={props.testId}
              data-lease-id={String(lease.leaseId)}
              data-order-id={String(lease.orderId)}
              className={props.selected === lease.leaseId ? 'selected' : undefined}
              onClick={props.onSelect ? () => props.onSelect?.(lease) : undefined}
            >
              <td>
                <a href={href.order(lease.orderId)} title={`lease id ${lease.leaseId}`}>
                  {formatLease(lease.leaseId)}
                </a>
              </td>
              <td>
                <ProviderLink address={lease.provider} name={props.names.get(lease.provider.toLowerCase())} />
              </td>
              <td className="num">{usdPerHour(lease.pricePerSecond)}</td>
              <td className="num">{usd(lease.settled)}</td>
              <td>
                {lease.state === 'Active' ? (
                  <Badge tone="good">active</Badge>
                ) : (
                  <Badge tone={closeTone(lease.closed?.reason)}>{lease.closed?.reason ?? 'closed'}</Badge>
                )}
              </td>
              <td className="small">{dateTime(lease.time)}</td>
              {props.actions ? <td>{props.actions(lease)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  )
}

export function OrderStateBadge(props: { state: OrderView['state'] }) {
  const tone = props.state === 'Open' ? 'info' : props.state === 'Leased' ? 'good' : 'neutral'
  return <Badge tone={tone}>{props.state.toLowerCase()}</Badge>
}

function closeTone(reason: string | undefined): 'bad' | 'warn' | 'neutral' {
  if (reason === 'FaultConfirmed' || reason === 'FaultReportedByTenant') return 'bad'
  if (reason === 'ProviderClosed' || reason === 'InsufficientFunds') return 'warn'
  return 'neutral'
}

export function resourcesText(order: Pick<OrderView, 'resources'>): string {
  const { cpuMillis, memoryMiB, storageMiB, gpus, gpuModel } = order.resources
  return [
    cores(cpuMillis),
    `${mib(memoryMiB)} RAM`,
    storageMiB > 0 ? `${mib(storageMiB)} disk` : undefined,
    gpus > 0 ? `${gpus} GPU${gpuModel ? ` ${gpuModel}` : ''}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ')
}

export function regionsText(mask: number): string {
  if (mask === 0) return 'any'
  try {
    return regionsFromMask(mask).join(', ')
  } catch {
    return `mask ${mask}`
  }
}
