import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  canonicalManifest,
  manifestHash,
  moduleDigest,
  orderResources,
  parseManifest,
  validateNormalizedManifest,
} from '../src/index.ts'

const examplesDir = fileURLToPath(new URL('../../../examples/', import.meta.url))
const read = (name: string) => readFileSync(join(examplesDir, name), 'utf8')
const raytracerPath = join(examplesDir, '../workloads/raytracer/build/raytracer.wasm')

/** A stand-in module for when the ray tracer is not built: a valid WASM header and a tag. */
const stubModule = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x78])

describe('examples/', () => {
  const yamlFiles = readdirSync(examplesDir).filter((name) => name.endsWith('.yaml'))

  test('holds the three documented examples, each described in the README', () => {
    for (const name of ['web-service.yaml', 'batch-job.yaml', 'render-job.yaml'])
      assert.ok(yamlFiles.includes(name), name)
    const readme = read('README.md')
    for (const name of yamlFiles) assert.ok(readme.includes(name), `README.md does not mention ${name}`)
  })

  test('every example parses (modules from a stub) and its normalized form round-trips', async () => {
    for (const name of yamlFiles) {
      const { manifest, hash } = await parseManifest(read(name), {
        baseDir: examplesDir,
        source: name,
        readFile: () => stubModule,
      })
      assert.deepEqual(validateNormalizedManifest(JSON.parse(canonicalManifest(manifest))), manifest, name)
      assert.equal(manifestHash(manifest), hash, name)
    }
  })

  test('web-service.yaml: a busybox httpd service on port 8080', async () => {
    const { manifest } = await parseManifest(read('web-service.yaml'), { baseDir: examplesDir })
    const web = manifest.services.web
    assert.equal(web?.image, 'stoa/busybox:1')
    assert.equal(web?.kind, 'service')
    assert.deepEqual(web?.command, ['httpd', '-f', '-v', '-p', '8080', '-h', '/www'])
    assert.deepEqual(web?.expose, [{ port: 8080, http: true }])
    assert.deepEqual(manifest.placement.regions, ['us-east', 'eu-west'])
    assert.equal(manifest.deposit.durationSeconds, 7200)
  })

  test('batch-job.yaml: a busybox job writing to /results, no ports', async () => {
    const { manifest } = await parseManifest(read('batch-job.yaml'), { baseDir: examplesDir })
    const job = manifest.services.numbers
    assert.equal(job?.kind, 'job')
    assert.deepEqual(job?.expose, [])
    assert.equal(job?.env.COUNT, '100000')
    assert.match(job?.command[2] ?? '', /\/results\/numbers\.txt/)
    assert.deepEqual(manifest.deposit, { credits: '100000' })
    assert.deepEqual(manifest.placement.regions, [])
  })

  test('render-job.yaml: two wasm jobs sharing one module', async () => {
    const reads: string[] = []
    const { manifest, modules } = await parseManifest(read('render-job.yaml'), {
      baseDir: examplesDir,
      readFile: (path) => {
        reads.push(path)
        return stubModule
      },
    })
    assert.deepEqual(reads, [raytracerPath])
    assert.deepEqual(Object.keys(manifest.services), ['frame-0', 'frame-1'])
    for (const service of Object.values(manifest.services)) {
      assert.equal(service.kind, 'job')
      assert.deepEqual(service.wasm, { sha256: moduleDigest(stubModule), size: stubModule.length })
    }
    assert.equal(modules.size, 1)
    assert.deepEqual(orderResources(manifest), { cpuMillis: 2000, memoryMiB: 128, storageMiB: 16, gpus: 0 })
  })

  test('render-job.yaml with the real ray tracer module', {
    skip: !existsSync(raytracerPath) && 'raytracer.wasm is not built',
  }, async () => {
    const bytes = new Uint8Array(readFileSync(raytracerPath))
    const { manifest, modules } = await parseManifest(read('render-job.yaml'), { baseDir: examplesDir })
    const digest = moduleDigest(bytes)
    assert.deepEqual(manifest.services['frame-0']?.wasm, { sha256: digest, size: bytes.length })
    assert.deepEqual(modules.get(digest), bytes)
  })
})
