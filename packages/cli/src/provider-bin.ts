// The provider daemon as it ships: `stoa provider start` alone, bundled by
// packages/cli/src/provider-build.ts into packages/cli/dist/stoa-provider.mjs and run with plain
// node (`node packages/cli/dist/stoa-provider.mjs provider start --config FILE`, the same arguments
// as `stoa provider start`). Without the other commands, tsx or a TypeScript loader, an idle daemon
// holds about half the memory (npm run bench: compute.daemon.idle.rss).
import { registerProviderStartCommand } from './commands/provider-start.ts'
import { runProgram } from './runner.ts'

process.exitCode = await runProgram(registerProviderStartCommand, process.argv)
