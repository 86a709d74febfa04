import { storageDealsAbi } from '@stoa/protocol'
import { getAddress } from 'viem'
import { readContract } from 'viem/actions'
import type { ShardStatus } from '../chain/model.ts'
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
import { bytes, dateTime, shortHash, significant, usd } from '../format.ts'
import { useAccountNames, useChain, useConsole, useLoad, useStorage } from '../hooks.ts'
import { href } from '../router.ts'
import { currentPeriod, MissesTable, RepairsTable } from './StoragePage.tsx'

const shardStates: Record<number, ShardStatus | 'none'> = { 0: 'none', 1: 'active', 2: 'lost', 3: 'ended' }

/**
 * One deal: its terms and escrow (`StorageDeals.getDeal`), each shard's provider, state and
 * proving progress (`getShard`), and its proofs, misses and repairs from the events.
 */
export function DealPage(props: { dealId: bigint }) {
  const { dealId } = props
  const { client, config } = useConsole()
  const chain = useChain()
  const storage = useStorage()
  const names = useAccountNames()
  const view = storage.dealById.get(dealId)
  const address = config.deployment.contracts.storageDeals
  const live = useLoad(
    `deal:${dealId}`,
    async () => {
      const deal = await readContract(client, {
        address,
        abi: storageDealsAbi,
        functionName: 'getDeal',
        args: [dealId],
      })
      if (deal.owner === '0x0000000000000000000000000000000000000000') return null
      const shards = await Promise.all(
        Array.from({ length: deal.shardCount }, (_, index) =>
          readContract(client, {
            address,
            abi: storageDealsAbi,
            functionName: 'getShard',
            args: [dealId, index],
          }),
        ),
      )
      return { deal, shards }
    },
    `${chain.events.storageDeals.length}`,
  )
  const ready = chain.status !== 'loading' && live.settled
  const deal = live.data?.deal
  const shards = live.data?.shards ?? []

  return (
    <Page
      testId="page-deal"
      title={
        <>
          <a href={href.storage()} className="crumb">
            Storage
          </a>{' '}
          / Deal #{String(dealId)}
          {view?.isIndex ? (
            <>
              {' '}
              <Badge tone="info">object index</Badge>
            </>
          ) : null}
        </>
      }
      ready={ready}
    >
      <ChainError error={chain.error} />
      {live.error ? <ErrorState error={live.error} title="Cannot read the deal" /> : null}
      {!ready ? (
        <Loading what={`deal ${dealId}`} />
      ) : !deal ? (
        live.error ? null : (
          <Empty>There is no deal #{String(dealId)} on this chain.</Empty>
        )
      ) : (
        <>
          <div className="stats">
            <Stat label="Proofs submitted" value={view?.proofs ?? 0} testId="proofs-submitted" />
            <Stat label="Proofs missed" value={view?.missed.length ?? 0} testId="proofs-missed" />
            <Stat label="Repairs" value={view?.repairs.length ?? 0} />
            <Stat label="Escrow left" value={usd(deal.escrow)} />
            <Stat label="Paid to providers" value={usd(deal.paid)} />
          </div>
          <Panel title="Terms">
            <dl className="facts">
              <dt>Owner</dt>
              <dd>{names.get(deal.owner.toLowerCase()) ?? <AddressText address={deal.owner} />}</dd>
              <dt>Erasure code</dt>
              <dd>
                any {deal.k} of {deal.shardCount} shards rebuild the data (piece size {bytes(deal.pieceSize)})
              </dd>
              <dt>Schedule</dt>
              <dd>
                period {Math.min(currentPeriod(deal, chain.head), deal.periods)} of {deal.periods},{' '}
                {deal.periodBlocks} blocks each (proof window: the last {deal.windowBlocks}), from block{' '}
                {String(deal.startBlock)}
              </dd>
              <dt>Price</dt>
              <dd>
                ${significant((Number(deal.pricePerByteSecond) * 2 ** 40 * 2_592_000) / 1e24, 4)} per
                TiB-month ({String(deal.pricePerByteSecond)} × 1e-18 credits per byte per second)
              </dd>
              <dt>Deposited</dt>
              <dd>{usd(deal.deposited)}</dd>
              <dt>State</dt>
              <dd>
                {deal.state === 2 ? <Badge tone="neutral">ended</Badge> : <Badge tone="good">active</Badge>}
              </dd>
              <dt>Created</dt>
              <dd>{dateTime(view?.time)}</dd>
            </dl>
          </Panel>
          <Panel title="Shards">
            <TableWrap>
              <table>
                <thead>
                  <tr>
                    <th>Shard</th>
                    <th>Provider</th>
                    <th>State</th>
                    <th>Erasure index</th>
                    <th className="num">Size</th>
                    <th className="num">Proofs</th>
                    <th title="The next period this shard must prove">Next period</th>
                    <th className="num">Per period</th>
                    <th>Root</th>
                  </tr>
                </thead>
                <tbody>
                  {shards.map((shard, index) => {
                    const status = shardStates[shard.state] ?? 'none'
                    const provider = getAddress(shard.provider)
                    return (
                      <tr
                        key={shard.root + String(index)}
                        data-testid="shard-row"
                        data-provider={provider}
                        data-status={status}
                      >
                        <td>{index}</td>
                        <td>
                          <ProviderLink address={provider} name={names.get(provider.toLowerCase())} />
                        </td>
                        <td>
                          <Badge tone={status === 'active' ? 'good' : status === 'lost' ? 'bad' : 'neutral'}>
                            {status}
                          </Badge>
                        </td>
                        <td>
                          {shard.erasureIndex}
                          {shard.erasureIndex < deal.k ? <span className="muted small"> (data)</span> : null}
                        </td>
                        <td className="num">{bytes(shard.size)}</td>
                        <td className="num">{view?.shards[index]?.proofs ?? 0}</td>
                        <td>{shard.nextPeriod}</td>
                        <td className="num">{usd(shard.paymentPerPeriod)}</td>
                        <td className="mono small" title={shard.root}>
                          {shortHash(shard.root)}
                        </td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </TableWrap>
          </Panel>
          <Panel title="Repairs">
            <RepairsTable repairs={view?.repairs ?? []} names={names} />
          </Panel>
          <Panel title="Missed proofs">
            <MissesTable misses={view?.missed ?? []} names={names} />
          </Panel>
        </>
      )}
    </Page>
  )
}
