// The README starts with the example this test runs: a real anvil, a real daemon, a WASM job.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

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
    timeout: 90_000,
  })
  assert.equal(run.status, 0, run.stderr)
  assert.deepEqual(run.stdout.trimEnd().split('\n'), [
    'provider #1 registered in eu-west',
    'manifest: 202 {"leaseId":"4294967296","status":"starting"}',
    'lease 4294967296: exited, exit code 0',
    'hello from wasm: --name readme',
    'Error: a line on stderr',
  ])
})
