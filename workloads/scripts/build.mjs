#!/usr/bin/env node
// Compiles the AssemblyScript workloads to WASI modules with the wasi-shim configuration.
//
//   node scripts/build.mjs            write every module to its build/ folder
//   node scripts/build.mjs --check    compile in memory and fail when a committed module differs
//
// The built modules are committed (each is a few KiB) so a devnet needs no compiler; --check
// keeps them honest, the way the protocol package checks its generated ABIs.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const require = createRequire(import.meta.url)

/** Every module this package builds: source entry and output, relative to workloads/. */
export const targets = [
  { source: 'raytracer/assembly/index.ts', output: 'raytracer/build/raytracer.wasm' },
  { source: 'testdata/assembly/hello.ts', output: 'testdata/build/hello.wasm' },
  { source: 'testdata/assembly/spin.ts', output: 'testdata/build/spin.wasm' },
  { source: 'testdata/assembly/memhog.ts', output: 'testdata/build/memhog.wasm' },
  { source: 'testdata/assembly/escape.ts', output: 'testdata/build/escape.wasm' },
]

/** Compiles one target and returns the module bytes. */
async function compile(target) {
  // asc resolves the shim's `lib` folder relative to the config path it is given, and only a
  // path relative to the working directory worked here; so run from workloads/ with one.
  const shimConfig = path.relative(root, require.resolve('@assemblyscript/wasi-shim/asconfig.json'))
  let binary = null
  const stderr = []
  const { error } = await asc.main(
    [
      target.source,
      '--config',
      shimConfig,
      '--optimizeLevel',
      '3',
      '--shrinkLevel',
      '1',
      '--outFile',
      'out.wasm',
    ],
    {
      stdout: { write: () => true },
      stderr: { write: (chunk) => stderr.push(String(chunk)) },
      writeFile: async (name, contents) => {
        if (name.endsWith('.wasm')) binary = Buffer.from(contents)
      },
    },
  )
  if (error || binary === null) {
    throw new Error(
      `asc failed for ${target.source}:\n${stderr.join('')}${error ? `\n${error.message}` : ''}`,
    )
  }
  return binary
}

async function main() {
  const check = process.argv.includes('--check')
  process.chdir(root)
  let stale = 0
  for (const target of targets) {
    const started = performance.now()
    const binary = await compile(target)
    const outputPath = path.join(root, target.output)
    const took = `${Math.round(performance.now() - started)} ms`
    if (check) {
      const committed = await readFile(outputPath).catch(() => null)
      if (committed === null || !committed.equals(binary)) {
        stale++
        console.error(`stale: ${target.output} differs from a fresh build of ${target.source}`)
      } else {
        console.log(`ok: ${target.output} (${binary.length} bytes, ${took})`)
      }
    } else {
      await mkdir(path.dirname(outputPath), { recursive: true })
      await writeFile(outputPath, binary)
      console.log(`built ${target.output} (${binary.length} bytes, ${took})`)
    }
  }
  if (stale > 0) {
    console.error(`${stale} module(s) are stale: run \`npm run build -w workloads\` and commit the result.`)
    process.exit(1)
  }
}

await main()
