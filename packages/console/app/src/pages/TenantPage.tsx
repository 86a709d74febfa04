import { stoaTokenAbi } from '@stoa/protocol'
import { closeLease, getCreditBalance } from '@stoa/sdk/browser'
import { type ChangeEvent, type FormEvent, useEffect, useMemo, useRef, useState } from 'react'
import { readContract } from 'viem/actions'
import raytracerUrl from '../../../../../workloads/raytracer/build/raytracer.wasm?url'
import { asError, errorText } from '../chain/indexer.ts'
import { dealStoredBytes, formatLease, type LeaseView } from '../chain/model.ts'
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
import type { ConsoleConfig } from '../config.ts'
import { bytes, dateTime, shortAddress, stoa, usd } from '../format.ts'
import { useAccountNames, useChain, useConsole, useLoad, useMarket, useStorage } from '../hooks.ts'
import { href } from '../router.ts'
import { connectWallet, devnetSession, injectedWallet, type TenantSession } from '../tenant/account.ts'
import { type DeployStep, deployFromPage } from '../tenant/deploy.ts'
import { useLeaseLogs } from '../tenant/logs.ts'
import { listStoredObjects } from '../tenant/objects.ts'
import { LeasesTable } from './MarketPage.tsx'
import { DealsTable } from './StoragePage.tsx'

/** The module the example manifest names, bundled with the console. */
const BUNDLED_MODULES = { 'raytracer.wasm': raytracerUrl }

const EXAMPLE_MANIFEST = `# A render job on the WASM runtime (as examples/render-job.yaml): the ray tracer
# renders one small frame into /results. raytracer.wasm comes with the console;
# add your own modules below and name them under \`wasm:\`.
version: "1"
services:
  render:
    wasm: raytracer.wasm
    args: ["--width", "64", "--height", "48", "--frame", "12", "--out", "frame-012.ppm"]
    resources: { cpu: 1, memory: 64Mi, storage: 8Mi }
placement:
  maxUsdPerHour: "0.10"
duration: 15m
`

const WALLET = '__wallet__'

/**
 * The tenant's view: acts as a devnet test key (the server lists them on a devnet) or the browser
 * wallet. Leases from Market events (its OrderCreated → LeaseCreated), with live logs from the
 * provider's gateway; storage deals from StorageDeals events (DealCreated by it; the index deal
 * marked by IndexSet), object names decrypted from the index in the browser (tenant/objects.ts);
 * a form that deploys a manifest (tenant/deploy.ts).
 */
export function TenantPage() {
  const { config } = useConsole()
  const chain = useChain()
  const wallet = injectedWallet()
  const accounts = config.devnetAccounts ?? []
  const defaultChoice =
    accounts.find((account) => account.name === 'alice')?.name ?? accounts[0]?.name ?? (wallet ? WALLET : '')
  const [choice, setChoice] = useState(defaultChoice)
  const [walletSession, setWalletSession] = useState<TenantSession | undefined>(undefined)
  const [walletError, setWalletError] = useState<Error | undefined>(undefined)
  const [connecting, setConnecting] = useState(false)
  const devnet = useMemo(() => {
    const entry = accounts.find((account) => account.name === choice)
    return entry ? devnetSession(config, entry) : undefined
  }, [accounts, choice, config])
  const session = choice === WALLET ? walletSession : devnet

  const connect = () => {
    if (!wallet) return
    setConnecting(true)
    setWalletError(undefined)
    connectWallet(config, wallet).then(
      (connected) => {
        setWalletSession(connected)
        setConnecting(false)
      },
      (error: unknown) => {
        setWalletError(asError(error))
        setConnecting(false)
      },
    )
  }

  const options = [
    ...accounts.map((account) => ({ value: account.name, label: `${account.name} (devnet key)` })),
    ...(wallet ? [{ value: WALLET, label: 'Browser wallet' }] : []),
  ]

  return (
    <Page
      testId="page-tenant"
      title="Tenant"
      ready={chain.status !== 'loading'}
      actions={
        options.length > 0 ? (
          <label className="inline-field">
            <span>Act as</span>
            <select
              data-testid="tenant-account"
              value={choice}
              onChange={(event) => setChoice(event.target.value)}
            >
              {options.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          </label>
        ) : undefined
      }
    >
      <ChainError error={chain.error} />
      {options.length === 0 ? (
        <Panel>
          <p className="notice" data-testid="tenant-readonly">
            Read-only: this console runs against a public chain and the browser has no wallet (
            <code>window.ethereum</code>). Install one to see your leases and deploy; the other pages show
            everything on chain.
          </p>
        </Panel>
      ) : choice === WALLET && !walletSession ? (
        <Panel>
          <p className="notice">
            Connect the browser wallet to act as its account on chain {config.chainId}.
          </p>
          {walletError ? <ErrorState error={walletError} title="Wallet" /> : null}
          <button type="button" onClick={connect} disabled={connecting}>
            {connecting ? 'Connecting…' : 'Connect wallet'}
          </button>
        </Panel>
      ) : session ? (
        <TenantDetail key={session.address} session={session} config={config} />
      ) : null}
    </Page>
  )
}

function TenantDetail(props: { session: TenantSession; config: ConsoleConfig }) {
  const { session, config } = props
  const { client } = useConsole()
  const chain = useChain()
  const market = useMarket()
  const storage = useStorage()
  const names = useAccountNames()
  const me = session.address.toLowerCase()
  const leases = useMemo(
    () =>
      market.orders
        .filter((order) => order.tenant.toLowerCase() === me)
        .flatMap((order) => order.leases)
        .sort((a, b) => (a.blockNumber < b.blockNumber ? 1 : a.blockNumber > b.blockNumber ? -1 : 0)),
    [market.orders, me],
  )
  const myOrders = market.orders.filter((order) => order.tenant.toLowerCase() === me)
  const deals = useMemo(
    () => storage.deals.filter((deal) => deal.owner.toLowerCase() === me),
    [storage.deals, me],
  )

  const balances = useLoad(
    `balances:${session.address}`,
    async () => {
      const [credits, stoaBalance] = await Promise.all([
        getCreditBalance(client, { account: session.address }),
        readContract(client, {
          address: config.deployment.contracts.stoaToken,
          abi: stoaTokenAbi,
          functionName: 'balanceOf',
          args: [session.address],
        }),
      ])
      return { credits: credits.balance, stoa: stoaBalance }
    },
    `${chain.events.credits.length}:${chain.events.stoaToken.length}`,
  )

  // Logs: the lease picked, else the newest active one. A wallet signs each request, so it asks first.
  const [picked, setPicked] = useState<bigint | undefined>(undefined)
  const [walletLogs, setWalletLogs] = useState(false)
  const selected: LeaseView | undefined =
    leases.find((lease) => lease.leaseId === picked) ??
    leases.find((lease) => lease.state === 'Active') ??
    leases[0]
  const logsEnabled = session.kind === 'devnet' || walletLogs
  const logs = useLeaseLogs(session, selected, logsEnabled)
  const logBox = useRef<HTMLPreElement>(null)
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever lines arrive.
  useEffect(() => {
    const box = logBox.current
    if (box) box.scrollTop = box.scrollHeight
  }, [logs.lines])

  const [closing, setClosing] = useState<{ leaseId: bigint; error?: Error } | undefined>(undefined)
  const close = (lease: LeaseView) => {
    setClosing({ leaseId: lease.leaseId })
    closeLease(session.client, { leaseId: lease.leaseId, note: 'console' }).then(
      () => setClosing(undefined),
      (error: unknown) => setClosing({ leaseId: lease.leaseId, error: asError(error) }),
    )
  }

  return (
    <>
      <div className="stats">
        <Stat
          label="Account"
          value={
            <span className="mono" title={session.address} data-address={session.address}>
              {session.kind === 'devnet' ? `${session.label} · ` : ''}
              {shortAddress(session.address)}
            </span>
          }
          testId="tenant-address"
        />
        <Stat label="Credits" value={balances.data ? usd(balances.data.credits) : '—'} />
        <Stat label="STOA" value={balances.data ? stoa(balances.data.stoa) : '—'} />
        <Stat label="Orders" value={myOrders.length} />
        <Stat label="Storage deals" value={deals.length} />
      </div>
      {balances.error ? <ErrorState error={balances.error} title="Cannot read balances" /> : null}
      <Panel title="My leases">
        {chain.status === 'loading' ? (
          <Loading what="leases" />
        ) : leases.length === 0 ? (
          <Empty>No lease yet: deploy a manifest below.</Empty>
        ) : (
          <>
            <LeasesTable
              leases={leases}
              names={names}
              testId="tenant-lease-row"
              selected={selected?.leaseId}
              onSelect={(lease) => setPicked(lease.leaseId)}
              actions={(lease) =>
                lease.state === 'Active' ? (
                  <button
                    type="button"
                    className="small-button"
                    disabled={closing?.leaseId === lease.leaseId && !closing.error}
                    onClick={(event) => {
                      event.stopPropagation()
                      close(lease)
                    }}
                  >
                    {closing?.leaseId === lease.leaseId && !closing.error ? 'Closing…' : 'Close'}
                  </button>
                ) : null
              }
            />
            {closing?.error ? <ErrorState error={closing.error} title="Closing the lease failed" /> : null}
          </>
        )}
      </Panel>
      <Panel
        title={selected ? `Logs of lease ${formatLease(selected.leaseId)}` : 'Logs'}
        actions={
          selected ? (
            <span className="small muted">
              {logs.state === 'following'
                ? 'live'
                : logs.state === 'connecting'
                  ? 'connecting…'
                  : logs.state === 'ended'
                    ? 'the workload ended'
                    : ''}{' '}
              · <a href={href.order(selected.orderId)}>order #{String(selected.orderId)}</a>
            </span>
          ) : undefined
        }
      >
        {!selected ? (
          <Empty>Pick a lease to follow its logs.</Empty>
        ) : !logsEnabled ? (
          <button type="button" onClick={() => setWalletLogs(true)}>
            Show logs (the wallet signs each request)
          </button>
        ) : (
          <>
            {logs.error ? (
              <p className="notice warn">Logs unavailable from the provider: {errorText(logs.error)}</p>
            ) : null}
            <pre className="logs" data-testid="lease-logs" data-state={logs.state} ref={logBox}>
              {logs.lines.length > 0
                ? logs.lines.join('\n')
                : logs.state === 'connecting'
                  ? 'Connecting…'
                  : ''}
            </pre>
          </>
        )}
      </Panel>
      <Panel title="My storage">
        {chain.status === 'loading' ? (
          <Loading what="deals" />
        ) : deals.length === 0 ? (
          <Empty>No storage deal yet: `stoa put FILE` stores one.</Empty>
        ) : (
          <>
            <DealsTable deals={deals} names={names} head={chain.head} testId="tenant-deal-row" />
            <p className="note">
              {bytes(
                deals.filter((deal) => !deal.ended).reduce((sum, deal) => sum + dealStoredBytes(deal), 0n),
              )}{' '}
              held by providers (erasure-coded). The deal marked <Badge tone="info">index</Badge> holds the
              encrypted list of your objects.
            </p>
            <StoredObjects session={session} refresh={chain.events.storageDeals.length} />
          </>
        )}
      </Panel>
      <DeployForm session={session} names={names} onDeployed={(leaseId) => setPicked(leaseId)} />
    </>
  )
}

/** Object names from the decrypted index (automatic for a devnet key; a wallet is asked to sign). */
function StoredObjects(props: { session: TenantSession; refresh: number }) {
  const { session } = props
  const { client } = useConsole()
  const [asked, setAsked] = useState(session.kind === 'devnet')
  if (!asked) {
    return (
      <button type="button" onClick={() => setAsked(true)}>
        Show object names (the wallet signs to derive your storage key)
      </button>
    )
  }
  return <StoredObjectsList session={session} client={client} refresh={props.refresh} />
}

function StoredObjectsList(props: {
  session: TenantSession
  client: ReturnType<typeof useConsole>['client']
  refresh: number
}) {
  const objects = useLoad(
    `objects:${props.session.address}`,
    (signal) => listStoredObjects({ session: props.session, client: props.client, signal }),
    props.refresh,
    5_000,
  )
  if (!objects.settled) return <Loading what="object names" />
  if (objects.error)
    return <p className="notice warn">Object names unavailable: {errorText(objects.error)}</p>
  const list = objects.data?.objects ?? []
  if (list.length === 0) return <Empty>The object index lists no object.</Empty>
  return (
    <TableWrap>
      <table>
        <thead>
          <tr>
            <th>Object</th>
            <th className="num">Size</th>
            <th>Deal</th>
            <th>Stored</th>
          </tr>
        </thead>
        <tbody>
          {list.map((object) => (
            <tr
              key={`${object.name}:${object.dealId}`}
              data-testid="tenant-object-row"
              data-name={object.name}
              data-deal-id={String(object.dealId)}
            >
              <td className="mono">{object.name}</td>
              <td className="num">{bytes(object.size)}</td>
              <td>
                <a href={href.deal(object.dealId)}>#{String(object.dealId)}</a>
              </td>
              <td className="small">{dateTime(object.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  )
}

type DeployState =
  | { state: 'idle' }
  | { state: 'running'; steps: DeployStep[] }
  | { state: 'done'; steps: DeployStep[]; leaseId: bigint; orderId: bigint }
  | { state: 'error'; steps: DeployStep[]; error: Error }

function DeployForm(props: {
  session: TenantSession
  names: ReadonlyMap<string, string>
  onDeployed: (leaseId: bigint) => void
}) {
  const { session, names, onDeployed } = props
  const [yaml, setYaml] = useState(EXAMPLE_MANIFEST)
  const [added, setAdded] = useState<Map<string, Uint8Array>>(new Map())
  const [deploy, setDeploy] = useState<DeployState>({ state: 'idle' })
  const controller = useRef<AbortController | undefined>(undefined)
  useEffect(() => () => controller.current?.abort(), [])

  const addModules = (event: ChangeEvent<HTMLInputElement>) => {
    const files = [...(event.target.files ?? [])]
    Promise.all(
      files.map(async (file) => [file.name, new Uint8Array(await file.arrayBuffer())] as const),
    ).then(
      (read) => setAdded((previous) => new Map([...previous, ...read])),
      () => undefined,
    )
  }

  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (deploy.state === 'running') return
    const abort = new AbortController()
    controller.current = abort
    const steps: DeployStep[] = []
    const onStep = (step: DeployStep) => {
      steps.push(step)
      if (!abort.signal.aborted) setDeploy({ state: 'running', steps: [...steps] })
    }
    setDeploy({ state: 'running', steps: [] })
    ;(async () => {
      const modules = new Map(added)
      for (const [name, url] of Object.entries(BUNDLED_MODULES)) {
        if (!modules.has(name) && yaml.includes(name)) {
          const response = await fetch(url, { signal: abort.signal })
          if (!response.ok) throw new Error(`Could not load the bundled ${name} (HTTP ${response.status}).`)
          modules.set(name, new Uint8Array(await response.arrayBuffer()))
        }
      }
      return deployFromPage({
        session,
        yaml,
        modules,
        signal: abort.signal,
        onStep,
        nameOf: (address) => names.get(address.toLowerCase()) ?? shortAddress(address),
      })
    })().then(
      (result) => {
        if (abort.signal.aborted) return
        setDeploy({ state: 'done', steps: [...steps], leaseId: result.leaseId, orderId: result.orderId })
        onDeployed(result.leaseId)
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setDeploy({ state: 'error', steps: [...steps], error: asError(error) })
      },
    )
  }

  return (
    <Panel title="Deploy a manifest">
      <form className="deploy-form" onSubmit={submit}>
        <label className="visually-hidden" htmlFor="deploy-manifest">
          Manifest (YAML)
        </label>
        <textarea
          id="deploy-manifest"
          data-testid="deploy-manifest"
          value={yaml}
          onChange={(event) => setYaml(event.target.value)}
          spellCheck={false}
          wrap="off"
          rows={14}
        />
        <div className="form-row">
          <label className="file-field">
            Add WASM modules{' '}
            <input type="file" accept=".wasm,application/wasm" multiple onChange={addModules} />
          </label>
          <span className="small muted">
            Offered: {[...Object.keys(BUNDLED_MODULES), ...added.keys()].join(', ')}
          </span>
          <button type="submit" data-testid="deploy-submit" disabled={deploy.state === 'running'}>
            {deploy.state === 'running' ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </form>
      <div className="deploy-status" data-testid="deploy-status" data-state={deploy.state} aria-live="polite">
        {deploy.state === 'idle' ? (
          <span className="muted">
            Opens an order, takes the best bid, sends the manifest to the winner and waits for it to run.
          </span>
        ) : (
          <ol>
            {deploy.steps.map((step, index) => (
              // Steps only ever append: the index is stable.
              // biome-ignore lint/suspicious/noArrayIndexKey: see above
              <li key={index} className={step.tone ?? ''}>
                {step.text}
              </li>
            ))}
            {deploy.state === 'running' ? <li className="muted">…</li> : null}
            {deploy.state === 'done' ? (
              <li className="good" data-testid="deploy-done" data-lease-id={String(deploy.leaseId)}>
                Deployed: lease {formatLease(deploy.leaseId)} (
                <a href={href.order(deploy.orderId)}>order #{String(deploy.orderId)}</a>)
              </li>
            ) : null}
            {deploy.state === 'error' ? (
              <li className="bad" data-testid="deploy-error">
                {errorText(deploy.error)}
              </li>
            ) : null}
          </ol>
        )}
      </div>
    </Panel>
  )
}
