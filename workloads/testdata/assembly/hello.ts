// Test fixture: the smallest useful job. Prints its arguments to stdout and a line to stderr,
// writes /results/hello.txt, and exits with the code given by --exit (default 0).
import { findPreopen, writeFile } from '../../lib/wasi-files'

const argv = process.argv
let exitCode = 0
for (let i = 1; i + 1 < argv.length; i++) {
  if (argv[i] === '--exit') exitCode = I32.parseInt(argv[i + 1], 10)
}
console.log(`hello from wasm: ${argv.slice(1).join(' ')}`)
console.error('a line on stderr')
const results = findPreopen('/results')
if (results >= 0) {
  const code = writeFile(results, 'hello.txt', Uint8Array.wrap(String.UTF8.encode('hello, results\n')))
  if (code !== 0) console.error(`writing hello.txt failed with WASI errno ${code}`)
}
process.exit(exitCode)
