// A stand-in for a provider daemon, for runtime-wasm.test.ts: starts a never-ending WASM job on
// the data directory given as argv[2], waits for its first log line, says "started", then waits to be killed with SIGKILL.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createWasmRuntime } from '../src/runtime/index.ts'

const [dataDir] = process.argv.slice(2)
if (!dataDir) throw new Error('usage: wasm-daemon-child.ts DATA_DIR')
const runtime = createWasmRuntime({ dataDir })
const wasm = await readFile(path.resolve(import.meta.dirname, '../../../workloads/testdata/build/spin.wasm'))
await runtime.start({
  id: 'orphan',
  leaseId: 42n,
  service: 'spin',
  kind: 'job',
  wasm,
  limits: { cpuMillis: 1000, memoryMiB: 16, storageMiB: 16, pids: 0, timeoutSec: 120 },
})
// Once the module runs (its first line is in the log), the parent may kill this process.
for await (const _line of runtime.logs('orphan', { follow: true })) break
process.stdout.write('started\n')
setInterval(() => {}, 60_000)
