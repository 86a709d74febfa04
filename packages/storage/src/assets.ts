import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let buildDir: string | undefined

/**
 * The path of one of the package's compiled WebAssembly modules (`build/<file>`), found through the
 * package's own name rather than this file's location, so it also holds when the code runs from a
 * bundle elsewhere (the built provider daemon, `packages/cli/dist`).
 */
export function storageAssetPath(file: string): string {
  buildDir ??= (() => {
    try {
      return join(dirname(createRequire(import.meta.url).resolve('@stoa/storage/package.json')), 'build')
    } catch {
      return fileURLToPath(new URL('../build/', import.meta.url))
    }
  })()
  return join(buildDir, file)
}
