import { type DealView, dealStoredBytes, type MissView, type RepairView } from '../chain/model.ts'
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
import { bytes, dateTime, stoa } from '../format.ts'
import { useAccountNames, useChain, useStorage } from '../hooks.ts'
import { href } from '../router.ts'

/**
 * Storage: every deal (DealCreated with its ShardAssigned), where each shard lives, proofs
 * (ShardProven), missed proofs (ShardLost) and repairs (ShardReplaced), all from StorageDeals events.
 */
export function StoragePage() {
  const chain = useChain()
  const storage = useStorage()
  const names = useAccountNames()
  const ready = chain.status !== 'loading'
  const shards = storage.deals.flatMap((deal) => deal.shards)
  const activeShards = shards.filter((shard) => shard?.status === 'active').length
  const storedBytes = storage.deals
    .filter((deal) => !deal.ended)
    .reduce((sum, deal) => sum + dealStoredBytes(deal), 0n)

  return (
    <Page testId="page-storage" title="Storage" ready={ready}>
      <ChainError error={chain.error} />
      <div className="stats">
        <Stat label="Deals" value={storage.deals.length} />
        <Stat label="Shards active" value={`${activeShards} / ${shards.length}`} />
        <Stat label="Stored (coded)" value={bytes(storedBytes)} />
        <Stat label="Proofs submitted" value={storage.proofs.length} testId="proofs-submitted" />
        <Stat label="Proofs missed" value={storage.misses.length} testId="proofs-missed" />
        <Stat label="Repairs" value={storage.repairs.length} />
      </div>
      <Panel title="Deals">
        {!ready ? (
          <Loading what="deals" />
        ) : storage.deals.length === 0 ? (
          <Empty>No storage deal yet. Store a file with `stoa put`.</Empty>
        ) : (
          <DealsTable deals={storage.deals} names={names} head={chain.head} testId="deal-row" />
        )}
      </Panel>
      <Panel title="Repairs">
        {!ready ? <Loading what="repairs" /> : <RepairsTable repairs={storage.repairs} names={names} />}
      </Panel>
      <Panel title="Missed proofs">
        {!ready ? <Loading what="missed proofs" /> : <MissesTable misses={storage.misses} names={names} />}
      </Panel>
    </Page>
  )
}

export function DealsTable(props: {
  deals: readonly DealView[]
  names: ReadonlyMap<string, string>
  head: bigint
  testId: string
}) {
  return (
    <TableWrap>
      <table>
        <thead>
          <tr>
            <th>Deal</th>
            <th>Owner</th>
            <th>Code</th>
            <th className="num">Shard size</th>
            <th>Shard health</th>
            <th className="num">Proofs</th>
            <th>Periods</th>
            <th>State</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {props.deals.map((deal) => {
            const counts = { active: 0, lost: 0, ended: 0 }
            for (const shard of deal.shards) if (shard) counts[shard.status]++
            const shardSize = deal.shards[0]?.size ?? 0n
            const period = currentPeriod(deal, props.head)
            return (
              <tr key={String(deal.dealId)} data-testid={props.testId} data-deal-id={String(deal.dealId)}>
                <td>
                  <a href={href.deal(deal.dealId)}>#{String(deal.dealId)}</a>
                  {deal.isIndex ? (
                    <>
                      {' '}
                      <Badge tone="info">index</Badge>
                    </>
                  ) : deal.wasIndex ? (
                    <>
                      {' '}
                      <Badge tone="neutral">old index</Badge>
                    </>
                  ) : null}
                </td>
                <td>{props.names.get(deal.owner.toLowerCase()) ?? <AddressText address={deal.owner} />}</td>
                <td className="small">
                  {deal.k}-of-{deal.shardCount}
                </td>
                <td className="num">{bytes(shardSize)}</td>
                <td>
                  <ShardHealth
                    active={counts.active}
                    lost={counts.lost}
                    ended={counts.ended}
                    total={deal.shardCount}
                  />
                </td>
                <td className="num">
                  {deal.proofs}
                  {deal.missed.length > 0 ? (
                    <span className="bad"> / {deal.missed.length} missed</span>
                  ) : null}
                </td>
                <td className="small">
                  {Math.min(period, deal.periods)} / {deal.periods}
                </td>
                <td>
                  {deal.ended ? <Badge tone="neutral">ended</Badge> : <Badge tone="good">active</Badge>}
                </td>
                <td className="small">{dateTime(deal.time)}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </TableWrap>
  )
}

export function ShardHealth(props: { active: number; lost: number; ended: number; total: number }) {
  const cells = [
    ...Array.from({ length: props.active }, () => 'active'),
    ...Array.from({ length: props.lost }, () => 'lost'),
    ...Array.from({ length: props.ended }, () => 'ended'),
  ]
  return (
    <span
      className="shard-health"
      title={`${props.active} active, ${props.lost} lost, ${props.ended} ended of ${props.total}`}
    >
      {cells.map((status, index) => (
        // The cells are a histogram: position is the identity.
        // biome-ignore lint/suspicious/noArrayIndexKey: see above
        <i key={index} className={`shard-cell shard-${status}`} />
      ))}
      <span className="small muted">
        {' '}
        {props.active}/{props.total}
      </span>
    </span>
  )
}

export function RepairsTable(props: { repairs: readonly RepairView[]; names: ReadonlyMap<string, string> }) {
  if (props.repairs.length === 0) return <Empty>No repair so far: no shard had to move.</Empty>
  return (
    <TableWrap>
      <table>
        <thead>
          <tr>
            <th>Deal</th>
            <th>Shard</th>
            <th>From</th>
            <th>To</th>
            <th>From period</th>
            <th>Time</th>
          </tr>
        </thead>
        <tbody>
          {[...props.repairs].reverse().map((repair) => (
            <tr
              key={`${repair.transactionHash}:${repair.logIndex}`}
              data-testid="repair-row"
              data-deal-id={String(repair.dealId)}
            >
              <td>
                <a href={href.deal(repair.dealId)}>#{String(repair.dealId)}</a>
              </td>
              <td>{repair.shardIndex}</td>
              <td>
                <ProviderLink
                  address={repair.previousProvider}
                  name={props.names.get(repair.previousProvider.toLowerCase())}
                />
              </td>
              <td>
                <ProviderLink
                  address={repair.provider}
                  name={props.names.get(repair.provider.toLowerCase())}
                />
              </td>
              <td>{repair.fromPeriod}</td>
              <td className="small">{dateTime(repair.time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  )
}

export function MissesTable(props: { misses: readonly MissView[]; names: ReadonlyMap<string, string> }) {
  if (props.misses.length === 0) return <Empty>No missed proof so far.</Empty>
  return (
    <TableWrap>
      <table>
        <thead>
          <tr>
            <th>Deal</th>
            <th>Shard</th>
            <th>Provider</th>
            <th>Period</th>
            <th className="num">Slashed</th>
            <th>Time</th>
          </tr>
        </thead>
        <tbody>
          {[...props.misses].reverse().map((miss) => (
            <tr key={`${miss.transactionHash}:${miss.logIndex}`} data-testid="missed-proof-row">
              <td>
                <a href={href.deal(miss.dealId)}>#{String(miss.dealId)}</a>
              </td>
              <td>{miss.shardIndex}</td>
              <td>
                <ProviderLink address={miss.provider} name={props.names.get(miss.provider.toLowerCase())} />
              </td>
              <td>{miss.period}</td>
              <td className="num">{stoa(miss.slashed)}</td>
              <td className="small">{dateTime(miss.time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  )
}

/** `(block - startBlock) / periodBlocks`, as `StorageDeals.currentPeriod` computes it. */
export function currentPeriod(deal: Pick<DealView, 'startBlock' | 'periodBlocks'>, head: bigint): number {
  if (head < deal.startBlock || deal.periodBlocks === 0) return 0
  return Number((head - deal.startBlock) / BigInt(deal.periodBlocks))
}
