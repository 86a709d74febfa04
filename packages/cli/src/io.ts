/** Where a command writes and what it reads from its environment; tests can pass their own. */
export type CliIo = {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: NodeJS.ProcessEnv
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}

/** JSON with bigints as decimal strings (JSON has no integers that large). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, inner) => (typeof inner === 'bigint' ? inner.toString() : inner),
    indent,
  )
}

/** Left-aligned columns, two spaces apart. */
export function table(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length)
    })
  }
  return rows
    .map(
      (row) =>
        `${indent}${row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('  ')}`,
    )
    .join('\n')
}

/** Human names of the contracts, in deployment order. */
export const contractLabels = {
  stoaToken: 'StoaToken',
  priceOracle: 'PriceOracle',
  credits: 'Credits',
  providerRegistry: 'ProviderRegistry',
  market: 'Market',
  storageDeals: 'StorageDeals',
} as const

export function milliseconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`
}
