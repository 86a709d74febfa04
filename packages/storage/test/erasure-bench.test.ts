import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url))

test('bench/erasure.ts prints the comparison and records its figures as JSON lines', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'stoa-bench-'))
  try {
    const results = path.join(folder, 'nested', 'latest.jsonl')
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/erasure.ts', '--quick'], {
      cwd: repositoryRoot,
      encoding: 'utf8',
      env: { ...process.env, STOA_BENCH_RESULTS: results },
    })
    assert.equal(run.status, 0, run.stderr)
    for (const row of ['10+4  encode', '10+4  decode', '4+2   encode', '4+2   decode']) {
      assert.match(
        run.stdout,
        new RegExp(`^${row.replace('+', '\\+')}\\s+\\d+\\s+\\d+\\s+[\\d.]+×\\s+≥ 1×`, 'm'),
      )
    }
    const figures = readFileSync(results, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; value: number; unit: string; goal: string | null })
    assert.equal(figures.length, 4 * 5)
    for (const figure of figures) {
      assert.deepEqual(Object.keys(figure), ['name', 'value', 'unit', 'goal'])
      assert.ok(figure.value > 0, figure.name)
    }
    const ratio = figures.find((figure) => figure.name === 'erasure.k10m4.encode.ratio')
    assert.deepEqual({ unit: ratio?.unit, goal: ratio?.goal }, { unit: 'x', goal: '>= 1' })
    const stoa = figures.find((figure) => figure.name === 'erasure.k4m2.decode.stoa')
    assert.equal(stoa?.unit, 'MB/s')
    assert.match(stoa?.goal ?? '', /^>= [\d.]+$/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})
