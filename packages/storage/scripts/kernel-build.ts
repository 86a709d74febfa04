// Shared by the kernel build scripts (build-erasure-kernel.ts, build-sha256-kernel.ts): compiles
// an AssemblyScript source to WebAssembly in memory with the asc JS API, then writes the module
// under build/ or, with --check, fails when the committed module differs from a fresh build.
//
// The modules are committed (a few KiB each) so using the package needs no compiler; each
// kernel's test runs its script with --check to keep them equal to the source.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'

/** The storage package's root: sources and outputs are relative to it. */
export const packageRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

/** One module to build: its output path (relative to the package) and extra compiler flags. */
export type KernelBuild = { output: string; flags: readonly string[] }

/**
 * Compiles `source` (relative to the package) with `flags` added to the common ones (-O3, no
 * runtime, no assertions) and returns the module bytes.
 */
export async function compileKernel(source: string, flags: readonly string[]): Promise<Buffer> {
  let binary: Buffer | undefined
  const stderr: string[] = []
  const { error } = await asc.main(
    [
      path.join(packageRoot, source),
      '--optimizeLevel',
      '3',
      '--shrinkLevel',
      '0',
      '--runtime',
      'stub',
      '--noAssert',
      ...flags,
      '--outFile',
      'kernel.wasm',
    ],
    {
      stdout: { write: () => true },
      stderr: {
        write: (chunk: unknown) => {
          stderr.push(String(chunk))
          return true
        },
      },
      writeFile: (name: string, contents: string | Uint8Array) => {
        if (name.endsWith('.wasm') && typeof contents !== 'string') binary = Buffer.from(contents)
      },
    },
  )
  if (error || binary === undefined) {
    throw new Error(`asc failed for ${source}:\n${stderr.join('')}${error ? `\n${error.message}` : ''}`)
  }
  return binary
}

export type BuildKernelsParameters = {
  /** The AssemblyScript source, relative to the package. */
  source: string
  builds: readonly KernelBuild[]
  /** Compare with the committed modules instead of writing them. */
  check: boolean
  /** What to run when a committed module is stale (printed with the error). */
  rebuildCommand: string
}

/** Writes every build of `source`, or with `check` compares them; exits with 1 when one is stale. */
export async function buildKernels(parameters: BuildKernelsParameters): Promise<void> {
  const { source, builds, check, rebuildCommand } = parameters
  let stale = 0
  for (const build of builds) {
    const binary = await compileKernel(source, build.flags)
    const outputPath = path.join(packageRoot, build.output)
    if (check) {
      const committed = await readFile(outputPath).catch(() => undefined)
      if (committed === undefined || !committed.equals(binary)) {
        stale++
        console.error(`stale: ${build.output} differs from a fresh build of ${source}`)
      } else {
        console.log(`ok: ${build.output} (${binary.length} bytes)`)
      }
    } else {
      await mkdir(path.dirname(outputPath), { recursive: true })
      await writeFile(outputPath, binary)
      console.log(`wrote ${build.output} (${binary.length} bytes)`)
    }
  }
  if (stale > 0) {
    console.error(`Run \`${rebuildCommand}\` and commit the result.`)
    process.exit(1)
  }
}
