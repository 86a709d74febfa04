// `npm run provider` starts the built daemon from a package.json script, which cannot import the
// flags and environment that `stoa devnet` passes (packages/cli/src/provider-build.ts): this keeps
// the two the same.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { providerDaemonEnv, providerDaemonNodeFlags } from '../src/provider-build.ts'
import { repositoryRoot } from './helpers.ts'

test('the provider script runs the bundle with the same node flags and malloc environment', async () => {
  const pkg = JSON.parse(await readFile(join(repositoryRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  const launch = pkg.scripts.provider?.split(' && ').at(-1) ?? ''
  const env = Object.entries(providerDaemonEnv).map(([name, value]) => `${name}=${value}`)
  assert.equal(
    launch,
    [...env, 'node', ...providerDaemonNodeFlags, 'packages/cli/dist/stoa-provider.mjs', 'provider'].join(' '),
  )
})
