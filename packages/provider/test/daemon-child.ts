// A provider daemon in its own process, for provider-restart.test.ts (which kills it with SIGKILL):
// reads a configuration JSON file (argv[2]), starts the daemon, prints one JSON line with its URLs.
import { readFile } from 'node:fs/promises'
import { createLogger, createProviderDaemon } from '../src/index.ts'

const [configFile] = process.argv.slice(2)
if (!configFile) throw new Error('usage: daemon-child.ts CONFIG.json')
const config = JSON.parse(await readFile(configFile, 'utf8'))
const logger = createLogger({ level: 'info', write: (line) => process.stderr.write(line) })
const daemon = createProviderDaemon(config, { logger })
await daemon.start()
process.stdout.write(
  `${JSON.stringify({ ready: true, gatewayUrl: daemon.gatewayUrl, ingressUrl: daemon.ingressUrl, address: daemon.address })}\n`,
)
setInterval(() => {}, 60_000)
if (process.env.STOA_CHILD_MEMORY) {
  setInterval(() => {
    const usage = process.memoryUsage()
    const mib = (n: number) => `${(n / 1048576).toFixed(1)}`
    process.stderr.write(
      `memory: rss ${mib(usage.rss)} heapTotal ${mib(usage.heapTotal)} heapUsed ${mib(usage.heapUsed)} external ${mib(usage.external)} arrayBuffers ${mib(usage.arrayBuffers)}\n`,
    )
  }, 10_000).unref()
}
