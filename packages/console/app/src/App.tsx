import { type ReactNode, useEffect, useState } from 'react'
import { useChain, useConsole } from './hooks.ts'
import { DealPage } from './pages/DealPage.tsx'
import { EconomicsPage } from './pages/EconomicsPage.tsx'
import { MarketPage } from './pages/MarketPage.tsx'
import { NetworkPage } from './pages/NetworkPage.tsx'
import { OrderPage } from './pages/OrderPage.tsx'
import { ProviderPage } from './pages/ProviderPage.tsx'
import { StoragePage } from './pages/StoragePage.tsx'
import { TenantPage } from './pages/TenantPage.tsx'
import { href, type Route, useRoute } from './router.ts'

const navItems: { id: string; label: string; href: string; pages: Route['page'][] }[] = [
  { id: 'network', label: 'Network', href: href.network(), pages: ['network'] },
  { id: 'market', label: 'Market', href: href.market(), pages: ['market', 'order'] },
  { id: 'storage', label: 'Storage', href: href.storage(), pages: ['storage', 'deal'] },
  { id: 'economics', label: 'Economics', href: href.economics(), pages: ['economics'] },
  { id: 'provider', label: 'Provider', href: href.provider(), pages: ['provider'] },
  { id: 'tenant', label: 'Tenant', href: href.tenant(), pages: ['tenant'] },
]

export function App() {
  const route = useRoute()
  const [menuOpen, setMenuOpen] = useState(false)
  // A followed link closes the menu on a phone.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the route change is the trigger.
  useEffect(() => setMenuOpen(false), [route.page])
  return (
    <div className={`shell${menuOpen ? ' menu-open' : ''}`}>
      <aside className="sidebar">
        <header className="topbar">
          <a className="brand" href={href.network()}>
            <span className="brand-mark" aria-hidden="true">
              Σ
            </span>
            Stoa console
          </a>
          <button
            type="button"
            className="menu-button"
            aria-expanded={menuOpen}
            aria-controls="nav"
            onClick={() => setMenuOpen((open) => !open)}
          >
            <span className="menu-icon" aria-hidden="true" />
            <span className="visually-hidden">Menu</span>
          </button>
        </header>
        <nav id="nav" className="nav" aria-label="Console">
          {navItems.map((item) => (
            <a
              key={item.id}
              href={item.href}
              data-testid={`nav-${item.id}`}
              className={item.pages.includes(route.page) ? 'active' : undefined}
              aria-current={item.pages.includes(route.page) ? 'page' : undefined}
            >
              {item.label}
            </a>
          ))}
          <ChainStatus />
        </nav>
      </aside>
      <main className="content">{pageFor(route)}</main>
    </div>
  )
}

function pageFor(route: Route): ReactNode {
  switch (route.page) {
    case 'network':
      return <NetworkPage />
    case 'market':
      return <MarketPage />
    case 'order':
      return <OrderPage key={String(route.orderId)} orderId={route.orderId} />
    case 'storage':
      return <StoragePage />
    case 'deal':
      return <DealPage key={String(route.dealId)} dealId={route.dealId} />
    case 'economics':
      return <EconomicsPage />
    case 'provider':
      return <ProviderPage key={route.address ?? 'picker'} address={route.address} />
    case 'tenant':
      return <TenantPage />
    case 'not-found':
      return (
        <section className="page">
          <h1>Not found</h1>
          <p>
            There is no page at <code>#{route.path}</code>. Try the <a href={href.network()}>network map</a>.
          </p>
        </section>
      )
  }
}

/** Block height and chain id at the foot of the menu: the console is live. */
function ChainStatus() {
  const chain = useChain()
  const { config } = useConsole()
  return (
    <div className="chain-status" title={config.rpcUrl}>
      <span
        className={`dot ${chain.status === 'ready' && !chain.error ? 'dot-good' : 'dot-bad'}`}
        aria-hidden="true"
      />
      {chain.status === 'loading' ? 'Connecting…' : chain.head >= 0n ? `Block ${chain.head}` : 'No chain'}
      <span className="muted"> · chain {config.chainId}</span>
    </div>
  )
}
