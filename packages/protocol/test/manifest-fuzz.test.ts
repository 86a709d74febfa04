import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { stringToBytes } from 'viem'
import { stringify } from 'yaml'
import {
  canonicalManifest,
  decodeManifestSubmission,
  encodeManifestSubmission,
  ManifestValidationError,
  manifestHash,
  type NormalizedManifest,
  orderResources,
  parseManifest,
  regions,
  validateNormalizedManifest,
} from '../src/index.ts'

/** A valid WASM binary per path, so generated wasm services load. */
const moduleFiles: Record<string, Uint8Array> = Object.fromEntries(
  ['/app/a.wasm', '/app/b.wasm'].map((path) => {
    const tag = stringToBytes(path)
    return [
      path,
      new Uint8Array([
        0x00,
        0x61,
        0x73,
        0x6d,
        0x01,
        0x00,
        0x00,
        0x00,
        0x00,
        tag.length + 1,
        tag.length,
        ...tag,
      ]),
    ]
  }),
)
const readFile = (path: string) => {
  const bytes = moduleFiles[path]
  if (!bytes) throw new Error(`ENOENT: ${path}`)
  return bytes
}
const parseOptions = { baseDir: '/app', readFile }

/**
 * Runs `run` and says whether it succeeded (a property must not return the result: fast-check
 * reads `false` as a failure). Anything thrown must be a ManifestValidationError with at least one issue. */
async function onlyValidationErrors(run: () => unknown): Promise<boolean> {
  try {
    await run()
    return true
  } catch (error) {
    if (!(error instanceof ManifestValidationError)) {
      assert.fail(`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
    }
    assert.ok(error.issues.length > 0)
    for (const issue of error.issues) {
      assert.equal(typeof issue.path, 'string')
      assert.match(issue.message, /^(expected|unknown field)/)
    }
    return false
  }
}

// Fragments of manifests, so random text reaches past the YAML parser into the schema.
const yamlFragments = [
  'services:',
  'placement:',
  'duration: 1h',
  'deposit: { usd: "1" }',
  'version: "1"',
  '\n',
  '\n  ',
  '\n    ',
  '  ',
  'web:',
  'app:',
  'image: stoa/busybox:1',
  'image: ',
  'wasm: a.wasm',
  'wasm: ../x.wasm',
  'resources: { cpu: 1, memory: 64Mi }',
  'resources:',
  'cpu: ',
  'memory: ',
  '128Mi',
  '0.5',
  '-1',
  'expose: [80]',
  'expose:',
  '- port: 8080',
  '- ',
  'env: { A: 1 }',
  'env:',
  'kind: job',
  'kind: service',
  'regions: [eu-west]',
  'maxUsdPerHour: "0.5"',
  'gpu: { count: 1, model: A100 }',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '&a ',
  '*a',
  '!!binary aGk=',
  '!!str ',
  '"',
  "'",
  '#',
  '---',
  '__proto__: 1',
  '\t',
  '? ',
  '|',
  '>',
  '~',
  'null',
  '.inf',
  '0x1F',
  '1e400',
]

const jsonish = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
})

const regionNames = regions.map((region) => region.name)
const images = ['stoa/busybox:1', 'busybox', 'ghcr.io/acme/app:v1.2', `busybox@sha256:${'a'.repeat(64)}`]
const text = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((value) => !value.includes('\0'))
const envKey = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((key) => key !== '__proto__')

const exposeEntry = fc.oneof(
  fc.integer({ min: 1, max: 65535 }),
  fc.record({ port: fc.integer({ min: 1, max: 65535 }), http: fc.boolean() }, { requiredKeys: ['port'] }),
)
const portOf = (entry: number | { port: number }) => (typeof entry === 'number' ? entry : entry.port)

const resources = fc.record(
  {
    cpu: fc.oneof(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 64_000 }).map((millis) => `${millis}m`),
      fc.constantFrom(0.25, 0.5, 1.5, '0.1'),
    ),
    memory: fc.oneof(
      fc.integer({ min: 4, max: 65536 }).map((mib) => `${mib}Mi`),
      fc.integer({ min: 1, max: 64 }).map((gib) => `${gib}Gi`),
      fc.integer({ min: 5, max: 4096 }).map((mb) => `${mb}M`),
    ),
    storage: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 1024 }).map((gib) => `${gib}Gi`),
    ),
    gpu: fc.integer({ min: 0, max: 4 }),
  },
  { requiredKeys: ['cpu', 'memory'] },
)

const imageService = fc
  .record(
    {
      image: fc.constantFrom(...images),
      command: fc.array(text, { maxLength: 4 }),
      args: fc.array(text, { maxLength: 4 }),
      env: fc.dictionary(envKey, fc.oneof(text, fc.integer(), fc.boolean()), { maxKeys: 5 }),
      expose: fc.uniqueArray(exposeEntry, { selector: portOf, maxLength: 4 }),
      resources,
    },
    { requiredKeys: ['image', 'resources'] },
  )
  .chain((service) =>
    fc
      .constantFrom(undefined, 'service', 'job')
      .map((kind) =>
        kind === undefined || (kind === 'job' && (service.expose?.length ?? 0) > 0)
          ? service
          : { ...service, kind },
      ),
  )

const wasmService = fc.record(
  {
    wasm: fc.constantFrom('a.wasm', './b.wasm', '../app/a.wasm'),
    args: fc.array(text, { maxLength: 4 }),
    env: fc.dictionary(envKey, text, { maxKeys: 3 }),
    kind: fc.constantFrom('job', 'service'),
    resources,
  },
  { requiredKeys: ['wasm', 'resources'] },
)

/** Valid authored manifests (as objects, before YAML). */
const authoredManifest = fc
  .record(
    {
      version: fc.constantFrom('1', 1),
      services: fc.dictionary(
        fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/),
        fc.oneof(imageService, wasmService),
        { minKeys: 1, maxKeys: 4 },
      ),
      placement: fc.record(
        {
          regions: fc.array(fc.constantFrom(...regionNames), { maxLength: 5 }),
          maxUsdPerHour: fc
            .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 999_999 }))
            .map(([dollars, micro]) => `${dollars}.${String(micro).padStart(6, '0')}`),
        },
        { requiredKeys: ['maxUsdPerHour'] },
      ),
      payment: fc.oneof(
        fc.record({ duration: fc.constantFrom('1h', '30m', '2h30m', '7d', 3600, '45s') }),
        fc.record({
          deposit: fc.record({
            usd: fc.integer({ min: 1, max: 10_000_000 }).map((micro) => (micro / 1e6).toFixed(6)),
          }),
        }),
      ),
    },
    { requiredKeys: ['services', 'placement', 'payment'] },
  )
  .map(({ payment, ...rest }) => ({ ...rest, ...payment }))

/** The same object with every key order and every list whose order does not matter reversed. */
function reordered(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => reordered(item))
    return key === 'expose' || key === 'regions' ? items.reverse() : items
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([name, item]) => [name, reordered(item, name)]),
    )
  }
  return value
}

describe('manifest fuzzing', () => {
  test('arbitrary text never makes parseManifest throw anything but ManifestValidationError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 })),
        async (yaml) => {
          await onlyValidationErrors(() => parseManifest(yaml, parseOptions))
        },
      ),
      { numRuns: 500 },
    )
  })

  test('random manifest fragments never make parseManifest throw anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...yamlFragments), fc.string({ maxLength: 4 })), { maxLength: 40 }),
        async (parts) => {
          await onlyValidationErrors(() => parseManifest(parts.join(''), parseOptions))
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('arbitrary values, as YAML or JSON text, never make parseManifest throw anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 5 }), async (value) => {
        await onlyValidationErrors(() => parseManifest(stringify(value), parseOptions))
        await onlyValidationErrors(() => parseManifest(JSON.stringify(value) ?? '', parseOptions))
      }),
      { numRuns: 500 },
    )
  })

  test('arbitrary values never make validateNormalizedManifest or decodeManifestSubmission throw anything else', async () => {
    await fc.assert(
      fc.asyncProperty(jsonish, async (value) => {
        await onlyValidationErrors(() => validateNormalizedManifest(value))
        await onlyValidationErrors(() => decodeManifestSubmission(value))
        await onlyValidationErrors(() => decodeManifestSubmission({ manifest: value }))
      }),
      { numRuns: 1000 },
    )
  })

  test('a valid manifest with one field replaced by anything is refused cleanly or stays hashable', async () => {
    const { manifest } = await parseManifest(
      `services:
  web: { image: stoa/busybox:1, expose: [80], env: { A: b }, resources: { cpu: 1, memory: 64Mi, gpu: { count: 1, model: A100 } } }
  job: { wasm: a.wasm, args: [x], resources: { cpu: 1, memory: 8Mi } }
placement: { regions: [eu-west], maxUsdPerHour: "1" }
duration: 1h
`,
      parseOptions,
    )
    const paths: string[][] = []
    const walk = (node: unknown, path: string[]) => {
      paths.push(path)
      if (typeof node === 'object' && node !== null) {
        for (const [key, child] of Object.entries(node)) walk(child, [...path, key])
      }
    }
    walk(manifest, [])
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths.filter((path) => path.length > 0)),
        jsonish,
        fc.boolean(),
        async (path, replacement, remove) => {
          const copy = structuredClone(manifest) as unknown as Record<string, unknown>
          let parent = copy
          for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>
          const last = path[path.length - 1] as string
          if (remove) delete parent[last]
          else parent[last] = replacement
          const accepted = await onlyValidationErrors(() => validateNormalizedManifest(copy))
          if (accepted) {
            // Whatever passes must canonicalize, hash and sum without throwing.
            assert.match(manifestHash(copy as unknown as NormalizedManifest), /^0x[0-9a-f]{64}$/)
            orderResources(copy as unknown as NormalizedManifest)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('round trip: parse → canonical JSON → JSON.parse → validate gives the same manifest and hash', async () => {
    await fc.assert(
      fc.asyncProperty(authoredManifest, async (authored) => {
        const yaml = stringify(authored)
        let parsed: Awaited<ReturnType<typeof parseManifest>>
        try {
          parsed = await parseManifest(yaml, parseOptions)
        } catch (error) {
          assert.fail(`a valid manifest was refused: ${(error as Error).message}\n${yaml}`)
        }
        const canonical = canonicalManifest(parsed.manifest)
        const revalidated = validateNormalizedManifest(JSON.parse(canonical))
        assert.deepEqual(revalidated, parsed.manifest)
        assert.equal(manifestHash(revalidated), parsed.hash)
        assert.equal(canonicalManifest(revalidated), canonical)

        // Key order, list order of ports and regions, and YAML vs JSON do not change the hash.
        const shuffled = await parseManifest(JSON.stringify(reordered(authored)), parseOptions)
        assert.equal(shuffled.hash, parsed.hash)

        // The submission body carries exactly what is needed to rebuild the same hash.
        const body = JSON.parse(JSON.stringify(encodeManifestSubmission(parsed)))
        const decoded = decodeManifestSubmission(body)
        assert.equal(decoded.hash, parsed.hash)
        assert.equal(decoded.modules.size, parsed.modules.size)

        const total = orderResources(parsed.manifest)
        const services = Object.values(parsed.manifest.services)
        assert.equal(
          total.cpuMillis,
          services.reduce((sum, service) => sum + service.resources.cpuMillis, 0),
        )
        assert.ok(total.memoryMiB < 2 ** 32 && total.gpus < 2 ** 16)
      }),
      { numRuns: 300 },
    )
  })
})
