import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BaseError } from '@stoa/protocol'

/** packages/console: the app's sources (app/), its Vite config and the built files (dist/). */
export const consolePackageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Where the built console lives (served as is by `startConsoleServer`). */
export const consoleDistDir = join(consolePackageDir, 'dist')

const appDir = join(consolePackageDir, 'app')
const viteConfigFile = join(consolePackageDir, 'vite.config.ts')
/**
 * Written beside the build: every source file that went into it (the app's, and the workspace
 * packages it imports, such as @stoa/protocol's ABIs), so a change to any of them means a rebuild.
 * A dot file: the server does not serve it.
 */
const INPUTS_FILE = '.stoa-build-inputs.json'
/** Builds are written here first, then swapped in, so a server never sees half a build (ignored by git). */
const scratchDir = join(consolePackageDir, 'node_modules', '.cache', 'stoa-console')

export type ConsoleBuildProgressEvent =
  | { type: 'console:build:fresh'; detail: { distDir: string } }
  | { type: 'console:build:started'; detail: { reason: 'forced' | 'missing' | 'stale'; newest?: string } }
  | { type: 'console:build:finished'; detail: { distDir: string; ms: number } }

export type EnsureConsoleBuiltParameters = {
  /** Build even when dist/ is up to date. */
  force?: boolean | undefined
  onProgress?: ((event: ConsoleBuildProgressEvent) => void) | undefined
}

/** The dist folder, holding an index.html. */
export type EnsureConsoleBuiltReturnType = string

export type EnsureConsoleBuiltErrorType = ConsoleBuildError

/** Vite failed to build the console (a syntax or type-stripping error in app/, a missing dependency). */
export class ConsoleBuildError extends BaseError {
  constructor(cause: unknown) {
    super('The console could not be built.', {
      name: 'ConsoleBuildError',
      cause,
      metaMessages: [`sources: ${appDir}`, `config: ${viteConfigFile}`],
    })
  }
}

/**
 * Builds the console with Vite (packages/console/vite.config.ts) when dist/index.html is missing
 * or older than any file under app/, the Vite config, or any other source file the last build read
 * (the workspace packages the app imports); returns the dist folder. The build goes to a scratch
 * folder first and then replaces dist/ in one rename, so two processes building at once, or a
 * server reading dist/ meanwhile, never see a half-written tree.
 */
export async function ensureConsoleBuilt(
  parameters: EnsureConsoleBuiltParameters = {},
): Promise<EnsureConsoleBuiltReturnType> {
  const { onProgress } = parameters
  const builtAt = await modifiedAt(join(consoleDistDir, 'index.html'))
  let reason: 'forced' | 'missing' | 'stale' | undefined
  let newestSource: { path: string; mtimeMs: number } | undefined
  if (parameters.force) reason = 'forced'
  else if (builtAt === undefined) reason = 'missing'
  else {
    newestSource = await newestFile([appDir, viteConfigFile, ...(await lastBuildInputs())])
    if (newestSource && newestSource.mtimeMs > builtAt) reason = 'stale'
    // An input the last build read is gone (moved or deleted): the imports changed.
    if (newestSource?.mtimeMs === Number.POSITIVE_INFINITY) reason = 'stale'
  }
  if (reason === undefined) {
    onProgress?.({ type: 'console:build:fresh', detail: { distDir: consoleDistDir } })
    return consoleDistDir
  }

  onProgress?.({
    type: 'console:build:started',
    detail: { reason, ...(reason === 'stale' && newestSource ? { newest: newestSource.path } : {}) },
  })
  const startedAt = performance.now()
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`
  const outDir = join(scratchDir, `build-${id}`)
  await mkdir(scratchDir, { recursive: true })
  await removeAbandonedBuilds()
  try {
    // Vite is loaded only when a build is needed: serving an up-to-date dist/ does not pay for it.
    const { build } = await import('vite')
    const inputs = new Set<string>()
    await build({
      configFile: viteConfigFile,
      mode: 'production',
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
      plugins: [
        {
          name: 'stoa-console-build-inputs',
          buildEnd() {
            for (const id of this.getModuleIds()) {
              const path = id.split('?')[0] ?? ''
              if (isAbsolute(path) && !path.includes('/node_modules/')) inputs.add(path)
            }
          },
        },
      ],
    })
    await writeFile(join(outDir, INPUTS_FILE), `${JSON.stringify({ inputs: [...inputs].sort() }, null, 1)}\n`)
  } catch (error) {
    await rm(outDir, { recursive: true, force: true }).catch(() => undefined)
    throw new ConsoleBuildError(error)
  }
  await swapIn(outDir, id)
  onProgress?.({
    type: 'console:build:finished',
    detail: { distDir: consoleDistDir, ms: performance.now() - startedAt },
  })
  return consoleDistDir
}

/** Replaces dist/ with `outDir`: the old tree is moved aside (one rename each way), then removed. */
async function swapIn(outDir: string, id: string): Promise<void> {
  const previous = join(scratchDir, `previous-${id}`)
  try {
    await rename(consoleDistDir, previous)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  try {
    await rename(outDir, consoleDistDir)
  } catch (error) {
    // Another process swapped its build in between our two renames: theirs is as fresh as ours.
    if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
    await rm(outDir, { recursive: true, force: true })
  }
  await rm(previous, { recursive: true, force: true })
}

/** Scratch folders of builds whose process died midway (named `build-<pid>-…`, `previous-<pid>-…`). */
async function removeAbandonedBuilds(): Promise<void> {
  for (const entry of await readdir(scratchDir).catch(() => [] as string[])) {
    const pid = Number(/^(?:build|previous)-(\d+)-/.exec(entry)?.[1])
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processExists(pid)) {
      await rm(join(scratchDir, entry), { recursive: true, force: true }).catch(() => undefined)
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function modifiedAt(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The source files the build in dist/ read (none known when dist/ was built by `vite build` itself). */
async function lastBuildInputs(): Promise<string[]> {
  try {
    const { inputs } = JSON.parse(await readFile(join(consoleDistDir, INPUTS_FILE), 'utf8')) as {
      inputs?: unknown
    }
    return Array.isArray(inputs) ? inputs.filter((input): input is string => typeof input === 'string') : []
  } catch {
    return []
  }
}

/**
 * The most recently modified file under these paths (files or folders, walked recursively); a path
 * that does not exist counts as modified at +Infinity, except the two that may legitimately be absent.
 */
async function newestFile(paths: readonly string[]): Promise<{ path: string; mtimeMs: number } | undefined> {
  let newest: { path: string; mtimeMs: number } | undefined
  const visit = async (path: string, top: boolean): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>
    try {
      info = await stat(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      if (!top || path === appDir || path === viteConfigFile) return
      newest = { path, mtimeMs: Number.POSITIVE_INFINITY }
      return
    }
    if (info.isDirectory()) {
      const entries = await readdir(path)
      await Promise.all(entries.map((entry) => visit(join(path, entry), false)))
    } else if (!newest || info.mtimeMs > newest.mtimeMs) {
      newest = { path, mtimeMs: info.mtimeMs }
    }
  }
  await Promise.all(paths.map((path) => visit(path, true)))
  return newest
}
