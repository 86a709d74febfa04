import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  dealHealth,
  dealIdOf,
  health,
  positiveInteger,
  size,
  transferProgress,
} from '../src/commands/storage-format.ts'
import type { CliIo } from '../src/io.ts'

describe('storage formatting', () => {
  test('size reads as a file size', () => {
    assert.equal(size(512), '512 B')
    assert.equal(size(1536), '1.5 KiB')
    assert.equal(size(8 * 1024 * 1024), '8.0 MiB')
    assert.equal(size(2n * 1024n ** 3n), '2.00 GiB')
  })

  test('health follows the repair rule: repair at or below max(k + 1, n - 1), lost below k', () => {
    assert.deepEqual(health(6, 6, 4), { text: '6/6', state: 'ok' })
    assert.deepEqual(health(5, 6, 4), { text: '5/6 (repair due)', state: 'repair' })
    assert.deepEqual(health(4, 6, 4), { text: '4/6 (repair due)', state: 'repair' })
    assert.deepEqual(health(3, 6, 4), { text: '3/6 (LOST: fewer than k)', state: 'lost' })
    const deal = {
      dealId: 1n,
      k: 4,
      shardCount: 6,
      shards: ['Active', 'Active', 'Lost', 'Active', 'Active', 'Active'].map((state) => ({ state })),
    }
    assert.equal(dealHealth(deal).active, 5)
    assert.equal(dealHealth(deal).state, 'repair')
  })

  test('flag parsers name the flag and what they expected', () => {
    assert.equal(positiveInteger('--k', '4', 255), 4)
    assert.equal(positiveInteger('--k', undefined, 255), undefined)
    assert.throws(() => positiveInteger('--k', '0', 255), /--k must be a whole number from 1 to 255, got "0"/)
    assert.throws(() => positiveInteger('--n', '2.5', 255), /--n must be a whole number/)
    assert.equal(dealIdOf('--deal', '12'), 12n)
    assert.throws(() => dealIdOf('--deal', '0'), /--deal must be a deal id/)
  })

  test('progress off a terminal prints a line per quarter; quiet prints nothing', () => {
    let stderr = ''
    const io: CliIo = { stdout: () => {}, stderr: (text) => (stderr += text), env: {} }
    const progress = transferProgress(io, 'upload')
    for (let done = 0; done <= 100; done += 5) progress.update(done * 1024 * 1024, 100 * 1024 * 1024, 12.5)
    progress.line('✓ done')
    progress.finish()
    const lines = stderr.trim().split('\n')
    assert.equal(lines.length, 6, stderr)
    assert.match(lines[0] as string, /^upload ░+ +0% {2}0 B \/ 100\.0 MiB {2}12\.5 MB\/s$/)
    assert.match(lines[4] as string, /^upload █+ 100% {2}100\.0 MiB \/ 100\.0 MiB {2}12\.5 MB\/s$/)
    assert.equal(lines[5], '✓ done')
    let quiet = ''
    const silent = transferProgress({ ...io, stderr: (text) => (quiet += text) }, 'upload', { quiet: true })
    silent.update(1, 2)
    silent.line('x')
    assert.equal(quiet, '')
  })
})
