// The committed sample modules (workloads/**/build/*.wasm) must be what their sources compile to,
// so the reference digests in runtime-wasm.test.ts test the code that is in the repository.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const workloads = path.resolve(import.meta.dirname, '../../../workloads')

test('the committed WASM modules match a fresh AssemblyScript build', async () => {
  const result = await promisify(execFile)(
    process.execPath,
    [path.join(workloads, 'scripts/build.mjs'), '--check'],
    {
      cwd: workloads,
    },
  ).catch((error: { stdout?: string; stderr?: string }) => {
    assert.fail(
      `workloads are stale; run \`npm run build -w workloads\`:\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    )
  })
  assert.match(result.stdout, /ok: raytracer\/build\/raytracer\.wasm/)
})
