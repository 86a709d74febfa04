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
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildKernels, type KernelBuild } from './kernel-build.ts'

/** The two builds: output path (relative to the package) and extra compiler flags. */
export const kernelBuilds = [
  { output: 'build/erasure-kernel.wasm', flags: ['--enable', 'simd'] },
  { output: 'build/erasure-kernel-relaxed.wasm', flags: ['--enable', 'simd', '--enable', 'relaxed-simd'] },
] as const satisfies readonly KernelBuild[]

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildKernels({
    source: 'assembly/erasure-kernel.ts',
    builds: kernelBuilds,
    check: process.argv.includes('--check'),
    rebuildCommand: 'npm run build:kernel -w packages/storage',
  })
}
