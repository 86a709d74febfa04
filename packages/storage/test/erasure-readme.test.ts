import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const examplePath = fileURLToPath(new URL('./erasure-readme-example.ts', import.meta.url))

test('the README starts with the example this suite runs', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(block, 'the README has a ts code block')
  assert.ok(readme.indexOf('```ts') < readme.indexOf('## '), 'the example comes before the first section')
  assert.equal(block, readFileSync(examplePath, 'utf8'))
})

test('the example prints what its comments say', () => {
  const source = readFileSync(examplePath, 'utf8')
  const expected = [...source.matchAll(/\/\/ → (.*)$/gm)].map((match) => match[1])
  assert.equal(expected.length, 4)
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), examplePath], {
    encoding: 'utf8',
  })
  assert.equal(run.status, 0, run.stderr)
  assert.deepEqual(run.stdout.trimEnd().split('\n'), expected)
})
