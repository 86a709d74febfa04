import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseCredits } from '@stoa/protocol'

const examplePath = fileURLToPath(new URL('./readme-example.ts', import.meta.url))

test('the README starts with the example this suite runs', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(block, 'the README has a ts code block')
  assert.ok(readme.indexOf('```ts') < readme.indexOf('## '), 'the example comes before the first section')
  assert.equal(block, readFileSync(examplePath, 'utf8'))
})

test('the example runs against a real anvil and does what it says', () => {
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), examplePath], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(run.status, 0, run.stderr)
  const lines = run.stdout.trimEnd().split('\n')
  assert.equal(lines.length, 3, run.stdout)
  assert.equal(lines[0], 'bought $5 of credits for 10 STOA') // devnet price: $0.50 per STOA
  assert.equal(lines[1], 'order 1: lease 4294967296 with provider #1') // lease id = order 1 << 32, round 0
  const closed = /^TenantClosed: \$([\d.]+) refunded, \$([\d.]+) earned$/.exec(lines[2] ?? '')
  assert.ok(closed, lines[2])
  const [, refund = '', earned = ''] = closed
  assert.equal(
    parseCredits(refund) + parseCredits(earned),
    parseCredits('2'),
    'the whole deposit is accounted for',
  )
})
