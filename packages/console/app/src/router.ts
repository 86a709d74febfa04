import { useSyncExternalStore } from 'react'
import { type Address, getAddress, isAddress } from 'viem'

/**
 * Hash routes (`#/market/orders/12`): the console is served as static files next to
 * `/config.json`, so the path never changes and any server can host it.
 */
export type Route =
  | { page: 'network' }
  | { page: 'market' }
  | { page: 'order'; orderId: bigint }
  | { page: 'storage' }
  | { page: 'deal'; dealId: bigint }
  | { page: 'economics' }
  | { page: 'provider'; address: Address | undefined }
  | { page: 'tenant' }
  | { page: 'not-found'; path: string }

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/network'
  const parts = path.split('/').filter(Boolean)
  const [first, second, third] = parts
  const id = (value: string | undefined) =>
    value !== undefined && /^\d{1,78}$/.test(value) ? BigInt(value) : undefined
  switch (first) {
    case 'network':
      if (parts.length === 1) return { page: 'network' }
      break
    case 'market': {
      if (parts.length === 1) return { page: 'market' }
      const orderId = id(third)
      if (second === 'orders' && parts.length === 3 && orderId !== undefined)
        return { page: 'order', orderId }
      break
    }
    case 'storage': {
      if (parts.length === 1) return { page: 'storage' }
      const dealId = id(third)
      if (second === 'deals' && parts.length === 3 && dealId !== undefined) return { page: 'deal', dealId }
      break
    }
    case 'economics':
      if (parts.length === 1) return { page: 'economics' }
      break
    case 'provider':
      if (parts.length === 1) return { page: 'provider', address: undefined }
      if (parts.length === 2 && second !== undefined && isAddress(second, { strict: false }))
        return { page: 'provider', address: getAddress(second) }
      break
    case 'tenant':
      if (parts.length === 1) return { page: 'tenant' }
      break
    default:
      break
  }
  return { page: 'not-found', path }
}

export const href = {
  network: () => '#/network',
  market: () => '#/market',
  order: (orderId: bigint) => `#/market/orders/${orderId}`,
  storage: () => '#/storage',
  deal: (dealId: bigint) => `#/storage/deals/${dealId}`,
  economics: () => '#/economics',
  provider: (address?: string) => (address ? `#/provider/${address}` : '#/provider'),
  tenant: () => '#/tenant',
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener)
  return () => window.removeEventListener('hashchange', listener)
}

/** The current route; re-renders on every hash change. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash)
  return parseRoute(hash)
}
