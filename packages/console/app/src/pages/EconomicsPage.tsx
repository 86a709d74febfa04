import { creditsAbi, providerRegistryAbi, stoaTokenAbi } from '@stoa/protocol'
import { getOraclePrice } from '@stoa/sdk/browser'
import { readContract } from 'viem/actions'
import { extendToNow, TimeChart } from '../components/charts.tsx'
import {
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
import { dateTime, duration, oraclePrice, significant, stoa, usd, usdAxis } from '../format.ts'
import { useAccountNames, useChain, useConsole, useEconomics, useLoad, useNow } from '../hooks.ts'

/**
 * Economics (burn-and-mint): STOA supply from StoaToken `Transfer`s from and to the zero address
 * (a burn in a transaction with `CreditsBought` is a credits purchase; one from the registry is a
 * slash; a mint in a transaction with `CreditsRedeemed` pays earnings), credits outstanding from
 * Credits `Transfer`s from and to zero, the oracle's `PriceUpdated` history, `ProviderSlashed`.
 * Totals are read from the contracts (`totalSupply`, `totalBought`…) so they match the chain exactly.
 */
export function EconomicsPage() {
  const { client, config } = useConsole()
  const chain = useChain()
  const economics = useEconomics()
  const names = useAccountNames()
  const now = useNow(5_000)
  const { stoaToken, credits, providerRegistry } = config.deployment.contracts
  const totals = useLoad(
    'economics',
    async () => {
      const read = <
        name extends 'totalSupply' | 'totalBought' | 'totalIssued' | 'totalRedeemed' | 'totalFeesBurned',
      >(
        functionName: name,
      ) => readContract(client, { address: credits, abi: creditsAbi, functionName })
      const [supply, creditsOutstanding, bought, issued, redeemed, feesBurned, staked, unbonding, oracle] =
        await Promise.all([
          readContract(client, { address: stoaToken, abi: stoaTokenAbi, functionName: 'totalSupply' }),
          read('totalSupply'),
          read('totalBought'),
          read('totalIssued'),
          read('totalRedeemed'),
          read('totalFeesBurned'),
          readContract(client, {
            address: providerRegistry,
            abi: providerRegistryAbi,
            functionName: 'totalStaked',
          }),
          readContract(client, {
            address: providerRegistry,
            abi: providerRegistryAbi,
            functionName: 'totalUnbonding',
          }),
          getOraclePrice(client),
        ])
      return { supply, creditsOutstanding, bought, issued, redeemed, feesBurned, staked, unbonding, oracle }
    },
    `${chain.events.stoaToken.length}:${chain.events.credits.length}:${chain.events.priceOracle.length}:${chain.events.providerRegistry.length}`,
  )
  const ready = chain.status !== 'loading' && totals.settled
  const data = totals.data
  const burns = economics.points.filter((point) => point.burnedHere > 0).length

  return (
    <Page testId="page-economics" title="Economics" ready={ready}>
      <ChainError error={chain.error} />
      {totals.error ? <ErrorState error={totals.error} title="Cannot read the totals" /> : null}
      <div className="stats">
        <Stat label="STOA supply" value={data ? stoa(data.supply) : '—'} />
        <Stat
          label="Minted"
          value={stoa(economics.minted)}
          testId="minted-total"
          hint="Every STOA ever minted"
        />
        <Stat
          label="Burned"
          value={stoa(economics.burned)}
          testId="burned-total"
          hint="Every STOA ever burned"
        />
        <Stat
          label="Oracle price"
          value={data ? `${oraclePrice(data.oracle.answer)} / STOA` : '—'}
          testId="oracle-price"
          hint={
            data
              ? `round ${data.oracle.roundId}, updated ${duration(now - Number(data.oracle.updatedAt))} ago`
              : ''
          }
        />
        <Stat
          label="Credits outstanding"
          value={data ? usd(data.creditsOutstanding) : '—'}
          testId="credits-outstanding"
        />
        <Stat label="Staked" value={data ? stoa(data.staked) : '—'} />
      </div>
      {data && !data.oracle.usable ? (
        <p className="note warn">
          The oracle price is older than Credits accepts ({duration(Number(data.oracle.age))}): buying and
          redeeming credits are paused until it is updated.
        </p>
      ) : null}
      <Panel title="STOA supply: burned against minted">
        {!ready ? (
          <Loading what="supply" />
        ) : economics.points.length === 0 ? (
          <Empty>No STOA minted yet.</Empty>
        ) : (
          <TimeChart
            testId="supply-chart"
            label="STOA supply, cumulative burned and minted for earnings"
            data={extendToNow(economics.points, chain.headTime, { burnedHere: 0 })}
            attributes={{
              'data-burns': String(burns),
              'data-burned': String(economics.points[economics.points.length - 1]?.burned ?? 0),
            }}
            format={(value) => compact(value)}
            rightFormat={(value) => compact(value)}
            series={[
              { key: 'supply', name: 'Supply (STOA)', color: 'var(--accent)', curve: 'stepAfter' },
              {
                key: 'burned',
                name: 'Burned (cumulative)',
                color: 'var(--bad)',
                axis: 'right',
                curve: 'stepAfter',
                marker: { when: (point) => point.burnedHere > 0, testId: 'supply-burn' },
              },
              {
                key: 'mintedForEarnings',
                name: 'Minted for earnings (cumulative)',
                color: 'var(--good)',
                axis: 'right',
                curve: 'stepAfter',
              },
            ]}
          />
        )}
        <TableWrap>
          <table className="compact">
            <thead>
              <tr>
                <th>Burned by</th>
                <th className="num">STOA</th>
                <th>Minted by</th>
                <th className="num">STOA</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td>Credit purchases</td>
                <td className="num">{stoa(economics.burnedBy['credits purchase'])}</td>
                <td>Earnings redeemed</td>
                <td className="num">{stoa(economics.mintedBy.redemption)}</td>
              </tr>
              <tr>
                <td>Slashes</td>
                <td className="num">{stoa(economics.burnedBy.slash)}</td>
                <td>Issuance (genesis, minters)</td>
                <td className="num">{stoa(economics.mintedBy.issuance)}</td>
              </tr>
              <tr>
                <td>Other burns</td>
                <td className="num">{stoa(economics.burnedBy['other burn'])}</td>
                <td />
                <td />
              </tr>
            </tbody>
          </table>
        </TableWrap>
      </Panel>
      <div className="grid-2">
        <Panel title="Credits outstanding (USD)">
          {!ready ? (
            <Loading what="credits" />
          ) : economics.creditPoints.length === 0 ? (
            <Empty>No credits yet.</Empty>
          ) : (
            <TimeChart
              testId="credits-chart"
              label="Credits outstanding over time"
              data={extendToNow(economics.creditPoints, chain.headTime)}
              format={usdAxis}
              series={[
                { key: 'outstanding', name: 'Outstanding', color: 'var(--accent)', curve: 'stepAfter' },
              ]}
              height={200}
            />
          )}
          {data ? (
            <p className="note">
              Bought with STOA {usd(data.bought)} · issued (on-ramp) {usd(data.issued)} · redeemed{' '}
              {usd(data.redeemed)} (of which fees burned {usd(data.feesBurned)})
            </p>
          ) : null}
        </Panel>
        <Panel title="Oracle price (USD per STOA)">
          {!ready ? (
            <Loading what="prices" />
          ) : economics.prices.length === 0 ? (
            <Empty>The oracle has no price yet.</Empty>
          ) : (
            <TimeChart
              testId="oracle-chart"
              label="Oracle price over time"
              data={extendToNow(economics.prices, chain.headTime)}
              format={(value) => `$${significant(value, 4)}`}
              series={[
                { key: 'usdPerStoa', name: 'USD per STOA', color: 'var(--accent)', curve: 'stepAfter' },
              ]}
              height={200}
            />
          )}
        </Panel>
      </div>
      <Panel title="Slashes">
        {!ready ? (
          <Loading what="slashes" />
        ) : economics.slashes.length === 0 ? (
          <Empty>No provider has been slashed.</Empty>
        ) : (
          <TableWrap>
            <table>
              <thead>
                <tr>
                  <th>Provider</th>
                  <th>Reason</th>
                  <th className="num">Slashed</th>
                  <th className="num">To reporter</th>
                  <th className="num">Burned</th>
                  <th>Time</th>
                </tr>
              </thead>
              <tbody>
                {economics.slashes.map((slash) => (
                  <tr
                    key={`${slash.transactionHash}:${slash.logIndex}`}
                    data-testid="slash-row"
                    data-provider={slash.provider}
                  >
                    <td>
                      <ProviderLink address={slash.provider} name={names.get(slash.provider.toLowerCase())} />
                    </td>
                    <td className="mono small">{slash.reason}</td>
                    <td className="num">{stoa(slash.slashed)}</td>
                    <td className="num">{stoa(slash.toReporter)}</td>
                    <td className="num">{stoa(slash.burned)}</td>
                    <td className="small">{dateTime(slash.time)}</td>
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

/** 1234567 → `1.23M`, for axes. */
function compact(value: number): string {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 }).format(value)
}
