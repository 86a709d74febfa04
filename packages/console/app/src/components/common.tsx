import type { ReactNode } from 'react'
import { errorText } from '../chain/indexer.ts'
import { shortAddress } from '../format.ts'
import { href } from '../router.ts'

/**
 * A page's root. `data-ready="true"` once its first data load finished (with data, nothing, or
 * an error), so a browser test can time "first page shows data".
 */
export function Page(props: {
  testId: string
  title: ReactNode
  ready: boolean
  actions?: ReactNode
  children: ReactNode
}) {
  return (
    <section className="page" data-testid={props.testId} data-ready={props.ready ? 'true' : 'false'}>
      <header className="page-header">
        <h1>{props.title}</h1>
        {props.actions}
      </header>
      {props.children}
    </section>
  )
}

export function Loading(props: { what?: string }) {
  return (
    <div className="state state-loading" data-testid="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      Loading{props.what ? ` ${props.what}` : ''}…
    </div>
  )
}

export function Empty(props: { children: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty">
      {props.children}
    </div>
  )
}

export function ErrorState(props: { error: unknown; title?: string }) {
  return (
    <div className="state state-error" data-testid="error" role="alert">
      <strong>{props.title ?? 'Something went wrong'}:</strong> {errorText(props.error)}
    </div>
  )
}

/** A card holding one part of a page. */
export function Panel(props: {
  title?: ReactNode
  actions?: ReactNode
  children: ReactNode
  className?: string
}) {
  return (
    <div className={`panel${props.className ? ` ${props.className}` : ''}`}>
      {props.title !== undefined || props.actions !== undefined ? (
        <div className="panel-header">
          {props.title !== undefined ? <h2>{props.title}</h2> : <span />}
          {props.actions}
        </div>
      ) : null}
      {props.children}
    </div>
  )
}

/** A figure with a label, e.g. total burned. */
export function Stat(props: { label: string; value: ReactNode; testId?: string; hint?: string }) {
  return (
    <div className="stat" title={props.hint}>
      <div className="stat-label">{props.label}</div>
      <div className="stat-value" data-testid={props.testId}>
        {props.value}
      </div>
    </div>
  )
}

/** Scrolls sideways on a phone instead of squeezing columns. */
export function TableWrap(props: { children: ReactNode }) {
  return <div className="table-wrap">{props.children}</div>
}

export function ProviderLink(props: { address: string; name?: string | undefined }) {
  return (
    <a href={href.provider(props.address)} className="mono" title={props.address}>
      {props.name ?? shortAddress(props.address)}
    </a>
  )
}

export function AddressText(props: { address: string }) {
  return (
    <span className="mono" title={props.address}>
      {shortAddress(props.address)}
    </span>
  )
}

export function Badge(props: { tone: 'good' | 'warn' | 'bad' | 'neutral' | 'info'; children: ReactNode }) {
  return <span className={`badge badge-${props.tone}`}>{props.children}</span>
}

/** The page-wide notice when the chain cannot be read (the last data stays below it). */
export function ChainError(props: { error: Error | undefined }) {
  return props.error ? <ErrorState error={props.error} title="Cannot read the chain" /> : null
}
