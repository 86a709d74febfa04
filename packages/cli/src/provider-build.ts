import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { PluginBuild } from 'esbuild'

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Where the built daemon lives: `node <this> provider start …` takes `stoa provider start`'s arguments. */
export const providerDaemonPath = join(repositoryRoot, 'packages/cli/dist/stoa-provider.mjs')

/**
 * Node flags the built daemon runs with, each for an idle daemon's memory (it waits on the network
 * nearly all the time; hashing and erasure coding run in WebAssembly, untouched by these):
 * - `--max-semi-space-size=1`: young-generation semispaces of 1 MiB instead of 16, so it does not
 *   keep tens of MiB of nursery it rarely fills (its allocations are small and short-lived);
 * - `--single-threaded` and `--v8-pool-size=1`: V8 marks, sweeps and compiles on the main thread
 *   and keeps one background thread instead of four (each thread's malloc arena keeps freed memory
 *   resident); the pauses this adds are short on a heap of about 20 MiB;
 * - `--no-sparkplug`: no baseline machine code beside the bytecode of code that ran once.
 * Together about 7 to 10 MiB less idle RSS (packages/provider/test/measure-daemon.ts, STOA_MEASURE_BUILT=1).
 */
export const providerDaemonNodeFlags = [
  '--max-semi-space-size=1',
  '--single-threaded',
  '--v8-pool-size=1',
  '--no-sparkplug',
] as const

/**
 * Environment the built daemon runs with, for the same idle memory: glibc's malloc thresholds fixed
 * at their defaults (128 KiB). Setting either turns off glibc's dynamic threshold (mallopt(3)), which
 * otherwise rises to the largest block ever freed (V8's parser and compiler free blocks of several
 * MiB while the bundle loads) and from then on serves such blocks from the heap it keeps; fixed,
 * they stay mmapped and go back to the system when freed. About 3.5 MiB less idle RSS in
 * measure-daemon (70.1 to 66.6 MiB; 15 MiB while the daemon still spoke JSON-RPC through fetch).
 * Other C libraries ignore these variables.
 */
export const providerDaemonEnv = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
} as const

// Everything the bundle is made of: a change under any of these rebuilds it.
const sourceDirs = ['cli', 'provider', 'sdk', 'storage', 'protocol'].map((name) =>
  join(repositoryRoot, 'packages', name),
)

// Left to node_modules at run time: the native SQLite addon, libsecp256k1's WebAssembly (its loader
// reads the .wasm file beside its own module), and what the daemon never loads.
const external = [
  'better-sqlite3',
  'tiny-secp256k1',
  'vite',
  '@vitejs/plugin-react',
  'playwright-core',
  '@foundry-rs/*',
]

// dockerode loads an SSH client (docker-modem, for ssh:// engines) and gRPC with protobufs (BuildKit
// sessions, for image builds) when imported: about 25 MiB of an idle daemon's memory for features
// it never uses (it talks to a local engine socket and never builds images). In the bundle they
// are modules whose every export throws, naming what is missing.
const unusedByDaemon = /^(ssh2|@grpc\/grpc-js|@grpc\/proto-loader)$/
const stubUnused = {
  name: 'stub-unused',
  setup(build: PluginBuild) {
    build.onResolve({ filter: unusedByDaemon }, (args) => ({ path: args.path, namespace: 'stub-unused' }))
    build.onLoad({ filter: /.*/, namespace: 'stub-unused' }, (args) => ({
      contents: `const missing = () => { throw new Error(${JSON.stringify(
        `${args.path} is left out of the built provider daemon (ssh:// Docker hosts and BuildKit are not supported there)`,
      )}) }
module.exports = new Proxy({}, { get: (_, name) => (name === '__esModule' ? false : missing) })`,
      loader: 'js',
    }))
  },
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'test') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(path))
    else if (/\.(ts|mjs|json)$/.test(entry.name)) newest = Math.max(newest, (await stat(path)).mtimeMs)
  }
  return newest
}

export type EnsureProviderDaemonBuiltParameters = {
  /** Build even when the bundle is newer than every source. */
  force?: boolean | undefined
}

/**
 * Bundles a Node entry point (TypeScript, workspace packages and dependencies) into one ES module,
 * as the provider daemon ships: better-sqlite3 and the dev tools stay in node_modules, the SSH and
 * gRPC clients dockerode would load are stubbed. The storage benchmark bundles its transfer child
 * with it too, so the memory it reports is the SDK's and not the TypeScript loader's.
 */
export async function bundleNodeEntry(parameters: { entry: string; outfile: string }): Promise<void> {
  const { build } = await import('esbuild')
  await build({
    entryPoints: [parameters.entry],
    outfile: parameters.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    plugins: [stubUnused],
    logLevel: 'error',
    // No comments and ASCII only: V8 keeps a module's source in memory, and one character past
    // Latin-1 (a `×` in a comment) makes the whole 4 MB source a two-byte string. Names are kept
    // (no identifier minification) so stack traces stay readable.
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    // Bundled CommonJS dependencies call require(): give the module one.
    banner: {
      js: "import { createRequire as __stoaCreateRequire } from 'node:module'; const require = __stoaCreateRequire(import.meta.url);",
    },
  })
}

/**
 * Bundles `stoa provider start` (packages/cli/src/provider-bin.ts) into one ES module with esbuild
 * when it is missing or older than a source file, next to the WASI worker it starts; returns its
 * path. About a second; a no-op when fresh. The bundle is written aside and renamed into place, so
 * a daemon starting meanwhile never reads half a file.
 */
export async function ensureProviderDaemonBuilt(
  parameters: EnsureProviderDaemonBuiltParameters = {},
): Promise<string> {
  const built = await stat(providerDaemonPath).then(
    (info) => info.mtimeMs,
    () => 0,
  )
  if (!parameters.force && built > 0) {
    let newest = 0
    for (const dir of sourceDirs) newest = Math.max(newest, await newestSource(dir))
    if (newest <= built) return providerDaemonPath
  }
  const dist = dirname(providerDaemonPath)
  await mkdir(dist, { recursive: true })
  const temporary = `${providerDaemonPath}.${process.pid}.tmp`
  try {
    await bundleNodeEntry({
      entry: join(repositoryRoot, 'packages/cli/src/provider-bin.ts'),
      outfile: temporary,
    })
    // The WASM runtime starts its worker from a file beside the code (new URL(…, import.meta.url)).
    await copyFile(
      join(repositoryRoot, 'packages/provider/src/runtime/wasm-worker.mjs'),
      join(dist, 'wasm-worker.mjs'),
    )
    await rename(temporary, providerDaemonPath)
  } finally {
    await rm(temporary, { force: true })
  }
  return providerDaemonPath
}

// `node --import tsx packages/cli/src/provider-build.ts [--force]` (npm run provider runs it first).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await ensureProviderDaemonBuilt({ force: process.argv.includes('--force') })
}
