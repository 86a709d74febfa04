// Compiles the multi-buffer SHA-256 kernel (assembly/sha256-kernel.ts) to WebAssembly with
// 128-bit SIMD: build/sha256-kernel.wasm, loaded by src/sha256-wasm.ts for the Merkle trees.
//
//   node --import tsx scripts/build-sha256-kernel.ts           write it
//   node --import tsx scripts/build-sha256-kernel.ts --check   compile in memory, fail when the
//                                                              committed module differs
//
// The module is committed (a few KiB) so using the package needs no compiler; --check (run by
// test/sha256-kernel.test.ts) keeps it equal to the source.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildKernels, type KernelBuild } from './kernel-build.ts'

export const sha256KernelBuilds = [
  { output: 'build/sha256-kernel.wasm', flags: ['--enable', 'simd'] },
] as const satisfies readonly KernelBuild[]

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildKernels({
    source: 'assembly/sha256-kernel.ts',
    builds: sha256KernelBuilds,
    check: process.argv.includes('--check'),
    rebuildCommand: 'npm run build:sha256 -w packages/storage',
  })
}
