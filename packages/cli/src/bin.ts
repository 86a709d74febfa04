// The `stoa` command. Run it with `node --import tsx packages/cli/src/bin.ts …` (or `npm run stoa -- …`
// from the repository root): TypeScript runs through tsx, there is no build step.
import { main } from './program.ts'

process.exitCode = await main(process.argv)
