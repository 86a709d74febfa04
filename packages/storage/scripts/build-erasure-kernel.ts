// Compiles the Reed-Solomon kernel (assembly/erasure-kernel.ts) to WebAssembly, twice:
//
//   build/erasure-kernel.wasm          128-bit SIMD (every engine with WebAssembly SIMD)
//   build/erasure-kernel-relaxed.wasm  plus relaxed SIMD (Node 22+, or Node 20 with
//                                      --experimental-wasm-relaxed-simd): its swizzle maps to one
//                                      pshufb on x64, without the range fix-up plain swizzle needs
//
//   node --import tsx scripts/build-erasure-kernel.ts           write both
//   node --import tsx scripts/build-erasure-kernel.ts --check   compile in memory, fail when a
//                                                               committed module differs
//
// The modules are committed (a few KiB each) so using the package needs no compiler; --check
// (run by test/erasure-kernel.test.ts) keeps them equal to the source.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'

const packageRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const source = 'assembly/erasure-kernel.ts'

/** The two builds: output path (relative to the package) and extra compiler flags. */
export const kernelBuilds = [
  { output: 'build/erasure-kernel.wasm', flags: ['--enable', 'simd'] },
  { output: 'build/erasure-kernel-relaxed.wasm', flags: ['--enable', 'simd', '--enable', 'relaxed-simd'] },
] as const

/** Compiles one build and returns the module bytes. */
export async function compileKernel(flags: readonly string[]): Promise<Buffer> {
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

async function main(): Promise<void> {
  const check = process.argv.includes('--check')
  let stale = 0
  for (const build of kernelBuilds) {
    const binary = await compileKernel(build.flags)
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
    console.error('Run `npm run build:kernel -w packages/storage` and commit the result.')
    process.exit(1)
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
