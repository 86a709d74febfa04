import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sha256, stringToBytes } from 'viem'
import {
  canonicalManifest,
  decodeManifestSubmission,
  encodeManifestSubmission,
  isImageReference,
  type ManifestIssue,
  ManifestValidationError,
  manifestHash,
  manifestOrderParameters,
  moduleDigest,
  type NormalizedManifest,
  orderResources,
  parseManifest,
  type ReadModuleFile,
  resolveModulePath,
  validateNormalizedManifest,
} from '../src/index.ts'

// biome-ignore lint/suspicious/noExplicitAny: the tests break normalized manifests in arbitrary places
type MutableJson = Record<string, any>

/** A tiny valid WASM binary: the header and one custom section holding `tag`. */
function wasmModule(tag: string): Uint8Array {
  const name = stringToBytes(tag)
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    name.length + 1,
    name.length,
    ...name,
  ])
}

const raytracer = wasmModule('raytracer')
const raytracerDigest = moduleDigest(raytracer)

/** A readFile stub serving `files` by absolute path, recording what was read. */
function files(entries: Record<string, Uint8Array>) {
  const reads: string[] = []
  const readFile = async (path: string) => {
    reads.push(path)
    const bytes = entries[path]
    if (!bytes) throw new Error(`ENOENT: no such file or directory, open '${path}'`)
    return bytes
  }
  return { readFile, reads }
}

// The example of docs/compute-spec.md, verbatim.
const specExample = `version: "1"
services:
  web:                         # service name: [a-z][a-z0-9-]{0,31}
    image: stoa/busybox:1      # exactly one of image | wasm
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    env: { GREETING: hello }
    expose: [{ port: 8080, http: true }]   # services (long-running) expose ports; batch jobs don't
    resources: { cpu: 0.5, memory: 128Mi, storage: 256Mi, gpu: 0 }
  render:
    wasm: ./workloads/raytracer/build/raytracer.wasm   # path relative to the manifest file
    args: ["--width", "64"]
    kind: job                  # job | service (default: service if it exposes ports, else job)
    resources: { cpu: 1, memory: 64Mi }
placement: { regions: [eu-west, us-east], maxUsdPerHour: "0.50" }
duration: 1h                   # or deposit: { usd: "5" }
`

const specNormalized: NormalizedManifest = {
  version: '1',
  services: {
    web: {
      kind: 'service',
      image: 'stoa/busybox:1',
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      args: [],
      env: { GREETING: 'hello' },
      expose: [{ port: 8080, http: true }],
      resources: { cpuMillis: 500, memoryMiB: 128, storageMiB: 256, gpus: 0 },
    },
    render: {
      kind: 'job',
      wasm: { sha256: raytracerDigest, size: raytracer.length },
      command: [],
      args: ['--width', '64'],
      env: {},
      expose: [],
      resources: { cpuMillis: 1000, memoryMiB: 64, storageMiB: 0, gpus: 0 },
    },
  },
  // us-east is code 0, eu-west code 8: regions come in code order.
  // $0.50/h = 0.5e12 / 3600 = 138_888_888.9 → rounded down.
  placement: { regions: ['us-east', 'eu-west'], maxPricePerSecond: '138888888' },
  // 138_888_888 × 3600 / 1e6 = 499_999.9968 credits → rounded up.
  deposit: { credits: '500000', durationSeconds: 3600 },
}

const specFiles = () => files({ '/app/workloads/raytracer/build/raytracer.wasm': raytracer })

async function parseSpec(text = specExample) {
  return parseManifest(text, { baseDir: '/app', readFile: specFiles().readFile })
}

/** Parses `text` expecting a ManifestValidationError; returns its issues. */
async function issuesOf(
  text: string,
  readFile: ReadModuleFile = specFiles().readFile,
): Promise<ManifestIssue[]> {
  try {
    await parseManifest(text, { baseDir: '/app', readFile })
  } catch (error) {
    assert.ok(error instanceof ManifestValidationError, `expected a ManifestValidationError, got ${error}`)
    assert.equal(error.name, 'ManifestValidationError')
    return error.issues
  }
  assert.fail('the manifest was accepted')
}

function issuesOfNormalized(value: unknown): ManifestIssue[] {
  try {
    validateNormalizedManifest(value)
  } catch (error) {
    assert.ok(error instanceof ManifestValidationError, `expected a ManifestValidationError, got ${error}`)
    return error.issues
  }
  assert.fail('the normalized manifest was accepted')
}

function assertIssue(issues: ManifestIssue[], path: string, message: RegExp) {
  const found = issues.find((issue) => issue.path === path && message.test(issue.message))
  assert.ok(found, `no issue at ${path} matching ${message}; got ${JSON.stringify(issues, null, 2)}`)
  return found
}

/** A small valid manifest with `service` as its only service's body (YAML lines at indent 4). */
function oneService(service: string, tail = 'placement: { maxUsdPerHour: "0.10" }\nduration: 1h\n') {
  return `services:\n  app:\n${service
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n${tail}`
}

const minimal = 'image: stoa/busybox:1\nresources: { cpu: 1, memory: 64Mi }'

describe('parseManifest: the spec example', () => {
  test('normalizes to the expected object and loads the module', async () => {
    const { readFile, reads } = specFiles()
    const result = await parseManifest(specExample, { baseDir: '/app', readFile })
    assert.deepEqual(result.manifest, specNormalized)
    assert.deepEqual(reads, ['/app/workloads/raytracer/build/raytracer.wasm'])
    assert.deepEqual([...result.modules.keys()], [raytracerDigest])
    assert.deepEqual(result.modules.get(raytracerDigest), raytracer)
    assert.equal(result.hash, manifestHash(result.manifest))
  })

  test('the canonical JSON is RFC 8785 and the hash is its sha256', async () => {
    const { manifest, hash } = await parseSpec()
    const canonical = canonicalManifest(manifest)
    const expected =
      '{"deposit":{"credits":"500000","durationSeconds":3600},' +
      '"placement":{"maxPricePerSecond":"138888888","regions":["us-east","eu-west"]},' +
      '"services":{"render":{"args":["--width","64"],"command":[],"env":{},"expose":[],"kind":"job",' +
      '"resources":{"cpuMillis":1000,"gpus":0,"memoryMiB":64,"storageMiB":0},' +
      `"wasm":{"sha256":"${raytracerDigest}","size":${raytracer.length}}},` +
      '"web":{"args":[],"command":["httpd","-f","-p","8080","-h","/www"],"env":{"GREETING":"hello"},' +
      '"expose":[{"http":true,"port":8080}],"image":"stoa/busybox:1","kind":"service",' +
      '"resources":{"cpuMillis":500,"gpus":0,"memoryMiB":128,"storageMiB":256}}},"version":"1"}'
    assert.equal(canonical, expected)
    assert.equal(hash, sha256(stringToBytes(expected)))
  })

  test('the hash does not move with key order, layout, quoting, comments or defaults written out', async () => {
    const { hash } = await parseSpec()
    const rewritten = `# the same application, written differently
duration: 60m
placement:
  maxUsdPerHour: 0.5          # a YAML number is read as its decimal text
  regions:
    - us-east
    - eu-west
    - eu-west                 # listed twice: once is enough
services:
  render:
    resources:
      memory: 65536Ki
      cpu: "1000m"
      storage: 0
    kind: "job"
    args:
      - --width
      - "64"
    env: {}
    wasm: workloads/../workloads/raytracer/build/./raytracer.wasm
  web:
    kind: service
    resources: { storage: 0.25Gi, gpu: { count: 0 }, memory: "128Mi", cpu: "0.500" }
    expose: [8080]
    env:
      GREETING: "hello"
    command:
      - httpd
      - -f
      - -p
      - "8080"
      - -h
      - /www
    args: []
    image: 'stoa/busybox:1'
version: 1
`
    const again = await parseManifest(rewritten, { baseDir: '/app', readFile: specFiles().readFile })
    assert.deepEqual(again.manifest, specNormalized)
    assert.equal(again.hash, hash)
    // JSON is YAML too.
    const asJson = await parseManifest(JSON.stringify({ ...JSON.parse('{}'), ...(await jsonOfSpec()) }), {
      baseDir: '/app',
      readFile: specFiles().readFile,
    })
    assert.equal(asJson.hash, hash)
  })

  test('a change of meaning changes the hash', async () => {
    const { hash } = await parseSpec()
    for (const [from, to] of [
      ['GREETING: hello', 'GREETING: hullo'],
      ['"--width", "64"', '"--width", "65"'],
      ['memory: 64Mi', 'memory: 65Mi'],
      ['eu-west, us-east', 'eu-west'],
      ['"0.50"', '"0.51"'],
      ['duration: 1h', 'duration: 2h'],
      ['http: true', 'http: false'],
    ] as const) {
      const changed = await parseSpec(specExample.replace(from, to))
      assert.notEqual(changed.hash, hash, `${from} → ${to}`)
    }
    const otherModule = await parseManifest(specExample, {
      baseDir: '/app',
      readFile: () => wasmModule('raytracer v2'),
    })
    assert.notEqual(otherModule.hash, hash)
  })
})

async function jsonOfSpec() {
  return {
    services: {
      web: {
        image: 'stoa/busybox:1',
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        env: { GREETING: 'hello' },
        expose: [{ port: 8080, http: true }],
        resources: { cpu: 0.5, memory: '128Mi', storage: '256Mi', gpu: 0 },
      },
      render: {
        wasm: './workloads/raytracer/build/raytracer.wasm',
        args: ['--width', '64'],
        kind: 'job',
        resources: { cpu: 1, memory: '64Mi' },
      },
    },
    placement: { regions: ['eu-west', 'us-east'], maxUsdPerHour: '0.50' },
    duration: '1h',
  }
}

describe('parseManifest: defaults and units', () => {
  test('kind follows expose; http defaults to true; env values become strings, sorted', async () => {
    const { manifest } = await parseManifest(
      oneService(
        `${minimal}\nexpose: [9000, { port: 80 }, { port: 8443, http: false }]\nenv: { Z: 1, A: true, M: "x" }`,
      ),
    )
    const app = manifest.services.app
    assert.equal(app?.kind, 'service')
    assert.deepEqual(app?.expose, [
      { port: 80, http: true },
      { port: 8443, http: false },
      { port: 9000, http: true },
    ])
    assert.deepEqual(Object.entries(app?.env ?? {}), [
      ['A', 'true'],
      ['M', 'x'],
      ['Z', '1'],
    ])
    const job = await parseManifest(oneService(minimal))
    assert.equal(job.manifest.services.app?.kind, 'job')
    assert.deepEqual(job.manifest.services.app?.expose, [])
    assert.equal(job.manifest.version, '1')
  })

  test('sizes convert to MiB (rounded up) and CPU to millicores', async () => {
    const cases: [string, string, number][] = [
      ['memory', '4Mi', 4],
      ['memory', '1Gi', 1024],
      ['memory', '1.5Gi', 1536],
      ['memory', '1GiB', 1024],
      ['memory', '4096Ki', 4],
      ['memory', '4097Ki', 5],
      ['memory', '100M', 96],
      ['memory', '1G', 954],
      ['memory', '1Ti', 1024 * 1024],
      ['storage', '0', 0],
      ['storage', '1Ki', 1],
    ]
    for (const [field, size, mib] of cases) {
      const resources =
        field === 'memory' ? `{ cpu: 1, memory: ${size} }` : `{ cpu: 1, memory: 8Mi, storage: ${size} }`
      const { manifest } = await parseManifest(oneService(`image: stoa/busybox:1\nresources: ${resources}`))
      const got = manifest.services.app?.resources
      assert.equal(field === 'memory' ? got?.memoryMiB : got?.storageMiB, mib, `${field}: ${size}`)
    }
    for (const [cpu, millis] of [
      ['0.001', 1],
      ['0.25', 250],
      ['"250m"', 250],
      ['2', 2000],
      ['"1.5"', 1500],
      ['1024', 1_024_000],
    ] as const) {
      const { manifest } = await parseManifest(
        oneService(`image: stoa/busybox:1\nresources: { cpu: ${cpu}, memory: 8Mi }`),
      )
      assert.equal(manifest.services.app?.resources.cpuMillis, millis, `cpu: ${cpu}`)
    }
  })

  test('GPUs: a count, or a count and a model', async () => {
    const { manifest } = await parseManifest(
      `services:
  train:
    image: ghcr.io/acme/train@sha256:${'ab'.repeat(32)}
    resources: { cpu: 4, memory: 16Gi, gpu: { count: 2, model: A100 } }
  eval:
    image: ghcr.io/acme/eval:v1.2
    resources: { cpu: 1, memory: 2Gi, gpu: { count: 1, model: A100 } }
  web:
    image: nginx
    expose: [80]
    resources: { cpu: 0.5, memory: 256Mi, storage: 1Gi, gpu: 0 }
placement: { maxUsdPerHour: "3" }
deposit: { usd: "25.5" }
`,
    )
    assert.deepEqual(manifest.services.train?.resources, {
      cpuMillis: 4000,
      memoryMiB: 16384,
      storageMiB: 0,
      gpus: 2,
      gpuModel: 'A100',
    })
    assert.deepEqual(orderResources(manifest), {
      cpuMillis: 5500,
      memoryMiB: 16384 + 2048 + 256,
      storageMiB: 1024,
      gpus: 3,
      gpuModel: 'A100',
    })
    assert.deepEqual(manifest.deposit, { credits: '25500000' })
    assert.deepEqual(manifest.placement, { regions: [], maxPricePerSecond: '833333333' })
    const order = manifestOrderParameters(manifest)
    assert.equal(order.maxPricePerSecond, 833_333_333n)
    assert.equal(order.deposit, 25_500_000n)
    assert.deepEqual(order.regions, [])
    assert.equal(order.manifestHash, manifestHash(manifest))
  })

  test('durations: units, combinations and plain seconds', async () => {
    for (const [duration, seconds] of [
      ['90', 90],
      ['"90"', 90],
      ['45s', 45],
      ['30m', 1800],
      ['2h30m', 9000],
      ['7d', 604_800],
      ['1d2h3m4s', 93_784],
      ['365d', 31_536_000],
    ] as const) {
      const { manifest } = await parseManifest(
        oneService(minimal, `placement: { maxUsdPerHour: "3.6" }\nduration: ${duration}\n`),
      )
      // $3.60/h is exactly 1e9 price units a second: 1000 credits a second.
      assert.deepEqual(
        manifest.deposit,
        { credits: String(seconds * 1000), durationSeconds: seconds },
        duration,
      )
    }
  })

  test('a module named by several services is read once and kept once', async () => {
    const { readFile, reads } = files({ '/jobs/mod.wasm': raytracer })
    const { manifest, modules } = await parseManifest(
      `services:
  a: { wasm: ../jobs/mod.wasm, resources: { cpu: 1, memory: 8Mi } }
  b: { wasm: /jobs/mod.wasm, resources: { cpu: 1, memory: 8Mi } }
placement: { maxUsdPerHour: "1" }
duration: 1h
`,
      { baseDir: '/home', readFile },
    )
    assert.deepEqual(reads, ['/jobs/mod.wasm'])
    assert.equal(modules.size, 1)
    assert.deepEqual(manifest.services.a?.wasm, manifest.services.b?.wasm)
  })

  test('module paths resolve against the manifest folder', () => {
    assert.equal(resolveModulePath('/a/b', 'c.wasm'), '/a/b/c.wasm')
    assert.equal(resolveModulePath('/a/b', './c/../d.wasm'), '/a/b/d.wasm')
    assert.equal(resolveModulePath('/a/b', '../../../x.wasm'), '/x.wasm')
    assert.equal(resolveModulePath('/a/b/', '/abs/x.wasm'), '/abs/x.wasm')
    assert.equal(resolveModulePath('rel', '../../x.wasm'), '../x.wasm')
    assert.equal(resolveModulePath('.', 'x.wasm'), 'x.wasm')
  })
})

describe('parseManifest: each kind of mistake names its field', () => {
  const cases: { name: string; yaml: string; path: string; message: RegExp }[] = [
    {
      name: 'no services',
      yaml: 'placement: { maxUsdPerHour: "1" }\nduration: 1h\n',
      path: 'services',
      message: /expected a map of services/,
    },
    {
      name: 'empty services',
      yaml: 'services: {}\nplacement: { maxUsdPerHour: "1" }\nduration: 1h\n',
      path: 'services',
      message: /expected 1 to 16 services/,
    },
    {
      name: 'seventeen services',
      yaml: `services:\n${Array.from({ length: 17 }, (_, i) => `  s${i}: { image: a, resources: { cpu: 1, memory: 4Mi } }`).join('\n')}\nplacement: { maxUsdPerHour: "1" }\nduration: 1h\n`,
      path: 'services',
      message: /expected 1 to 16 services/,
    },
    {
      name: 'an upper-case service name',
      yaml: oneService(minimal).replace('  app:', '  App:'),
      path: 'services.App',
      message: /expected a service name/,
    },
    {
      name: 'a service name starting with a digit',
      yaml: oneService(minimal).replace('  app:', '  1app:'),
      path: 'services["1app"]',
      message: /expected a service name/,
    },
    {
      name: 'a 33-character service name',
      yaml: oneService(minimal).replace('  app:', `  a${'b'.repeat(32)}:`),
      path: `services.a${'b'.repeat(32)}`,
      message: /1 to 32 characters/,
    },
    {
      name: 'neither image nor wasm',
      yaml: oneService('resources: { cpu: 1, memory: 8Mi }'),
      path: 'services.app',
      message: /expected `image` .* or `wasm`/,
    },
    {
      name: 'both image and wasm',
      yaml: oneService(`wasm: ./workloads/raytracer/build/raytracer.wasm\n${minimal}`),
      path: 'services.app',
      message: /not both/,
    },
    {
      name: 'an image with upper case',
      yaml: oneService(minimal.replace('stoa/busybox:1', 'Stoa/BusyBox')),
      path: 'services.app.image',
      message: /expected an image reference/,
    },
    {
      name: 'an image with an empty tag',
      yaml: oneService(minimal.replace('stoa/busybox:1', '"busybox:"')),
      path: 'services.app.image',
      message: /image reference.*got "busybox:"/,
    },
    {
      name: 'an image with a space',
      yaml: oneService(minimal.replace('stoa/busybox:1', '"busy box"')),
      path: 'services.app.image',
      message: /image reference/,
    },
    {
      name: 'an image with a short digest',
      yaml: oneService(minimal.replace('stoa/busybox:1', 'busybox@sha256:abc')),
      path: 'services.app.image',
      message: /image reference/,
    },
    {
      name: 'an image that is a number',
      yaml: oneService(minimal.replace('stoa/busybox:1', '42')),
      path: 'services.app.image',
      message: /image reference.*got 42/,
    },
    {
      name: 'a command as one string',
      yaml: oneService(`${minimal}\ncommand: httpd -f`),
      path: 'services.app.command',
      message: /expected a list of strings/,
    },
    {
      name: 'a command with a number',
      yaml: oneService(`${minimal}\ncommand: [sleep, 5]`),
      path: 'services.app.command[1]',
      message: /expected a string, got 5/,
    },
    {
      name: 'an argument with NUL',
      yaml: oneService(`${minimal}\nargs: ["a\\0b"]`),
      path: 'services.app.args[0]',
      message: /without NUL/,
    },
    {
      name: 'a command for a wasm module',
      yaml: oneService(
        'wasm: ./workloads/raytracer/build/raytracer.wasm\ncommand: [run]\nresources: { cpu: 1, memory: 8Mi }',
      ),
      path: 'services.app.command',
      message: /pass `args`/,
    },
    {
      name: 'an env key with a dash',
      yaml: oneService(`${minimal}\nenv: { BAD-KEY: x }`),
      path: 'services.app.env.BAD-KEY',
      message: /environment variable name/,
    },
    {
      name: 'an env key starting with a digit',
      yaml: oneService(`${minimal}\nenv: { 1X: x }`),
      path: 'services.app.env["1X"]',
      message: /environment variable name/,
    },
    {
      name: 'an env key __proto__',
      yaml: oneService(`${minimal}\nenv: { __proto__: x }`),
      path: 'services.app.env.__proto__',
      message: /__proto__/,
    },
    {
      name: 'an env value that is a map',
      yaml: oneService(`${minimal}\nenv: { A: { b: 1 } }`),
      path: 'services.app.env.A',
      message: /expected a string.*got an object/,
    },
    {
      name: 'env as a list',
      yaml: oneService(`${minimal}\nenv: [A=1]`),
      path: 'services.app.env',
      message: /expected a map of environment variables/,
    },
    {
      name: 'port 0',
      yaml: oneService(`${minimal}\nexpose: [0]`),
      path: 'services.app.expose[0].port',
      message: /port number from 1 to 65535|≥ 1/,
    },
    {
      name: 'port 65536',
      yaml: oneService(`${minimal}\nexpose: [{ port: 65536 }]`),
      path: 'services.app.expose[0].port',
      message: /65535/,
    },
    {
      name: 'a port as text',
      yaml: oneService(`${minimal}\nexpose: [{ port: http }]`),
      path: 'services.app.expose[0].port',
      message: /port number/,
    },
    {
      name: 'a port twice',
      yaml: oneService(`${minimal}\nexpose: [80, { port: 80, http: false }]`),
      path: 'services.app.expose[1].port',
      message: /each port once.*80 again/,
    },
    {
      name: 'a job with ports',
      yaml: oneService(`${minimal}\nkind: job\nexpose: [80]`),
      path: 'services.app.expose',
      message: /no ports for a job/,
    },
    {
      name: 'a wasm module with ports',
      yaml: oneService(
        'wasm: ./workloads/raytracer/build/raytracer.wasm\nexpose: [80]\nresources: { cpu: 1, memory: 8Mi }',
      ),
      path: 'services.app.expose',
      message: /no network/,
    },
    {
      name: 'seventeen ports',
      yaml: oneService(`${minimal}\nexpose: [${Array.from({ length: 17 }, (_, i) => 1000 + i).join(', ')}]`),
      path: 'services.app.expose',
      message: /at most 16 ports/,
    },
    {
      name: 'an unknown kind',
      yaml: oneService(`${minimal}\nkind: daemon`),
      path: 'services.app.kind',
      message: /expected "job" or "service", got "daemon"/,
    },
    {
      name: 'no resources',
      yaml: oneService('image: stoa/busybox:1'),
      path: 'services.app.resources',
      message: /expected resources like/,
    },
    {
      name: 'memory as a bare number',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 128 }'),
      path: 'services.app.resources.memory',
      message: /expected a size like "256Mi".*got 128/,
    },
    {
      name: 'memory under 4Mi',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 3Mi }'),
      path: 'services.app.resources.memory',
      message: /from 4Mi/,
    },
    {
      name: 'memory with a lower-case unit',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 128m }'),
      path: 'services.app.resources.memory',
      message: /expected a size/,
    },
    {
      name: 'memory over 64Ti',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 65Ti }'),
      path: 'services.app.resources.memory',
      message: /64Ti/,
    },
    {
      name: 'no memory',
      yaml: oneService('image: a\nresources: { cpu: 1 }'),
      path: 'services.app.resources.memory',
      message: /expected a size.*got nothing/,
    },
    {
      name: 'negative storage',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 8Mi, storage: -1Mi }'),
      path: 'services.app.resources.storage',
      message: /expected a size/,
    },
    {
      name: 'cpu 0',
      yaml: oneService('image: a\nresources: { cpu: 0, memory: 8Mi }'),
      path: 'services.app.resources.cpu',
      message: /CPU cores.*got 0/,
    },
    {
      name: 'negative cpu',
      yaml: oneService('image: a\nresources: { cpu: -1, memory: 8Mi }'),
      path: 'services.app.resources.cpu',
      message: /CPU cores/,
    },
    {
      name: 'cpu under a millicore',
      yaml: oneService('image: a\nresources: { cpu: 0.0001, memory: 8Mi }'),
      path: 'services.app.resources.cpu',
      message: /from 0.001/,
    },
    {
      name: 'cpu as words',
      yaml: oneService('image: a\nresources: { cpu: lots, memory: 8Mi }'),
      path: 'services.app.resources.cpu',
      message: /CPU cores/,
    },
    {
      name: 'cpu over 1024 cores',
      yaml: oneService('image: a\nresources: { cpu: 1025, memory: 8Mi }'),
      path: 'services.app.resources.cpu',
      message: /1024 cores/,
    },
    {
      name: 'too many GPUs',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 8Mi, gpu: 65 }'),
      path: 'services.app.resources.gpu.count',
      message: /GPU count from 0 to 64|≤ 64/,
    },
    {
      name: 'a GPU model without GPUs',
      yaml: oneService('image: a\nresources: { cpu: 1, memory: 8Mi, gpu: { count: 0, model: A100 } }'),
      path: 'services.app.resources.gpu.model',
      message: /at least 1/,
    },
    {
      name: 'a GPU model over 32 bytes',
      yaml: oneService(
        `image: a\nresources: { cpu: 1, memory: 8Mi, gpu: { count: 1, model: ${'x'.repeat(33)} } }`,
      ),
      path: 'services.app.resources.gpu.model',
      message: /1 to 32 bytes/,
    },
    {
      name: 'two GPU models',
      yaml: `services:
  a: { image: a, resources: { cpu: 1, memory: 8Mi, gpu: { count: 1, model: A100 } } }
  b: { image: a, resources: { cpu: 1, memory: 8Mi, gpu: { count: 1, model: H100 } } }
placement: { maxUsdPerHour: "1" }
duration: 1h
`,
      path: 'services.b.resources.gpu.model',
      message: /same GPU model as service a/,
    },
    {
      name: 'a misspelt field',
      yaml: oneService('image: a\nresouces: { cpu: 1, memory: 8Mi }'),
      path: 'services.app.resouces',
      message: /unknown field "resouces" \(did you mean `resources`\?\)/,
    },
    {
      name: 'an unknown top-level field',
      yaml: `${oneService(minimal)}networks: {}\n`,
      path: 'networks',
      message: /unknown field "networks"/,
    },
    {
      name: 'an unknown region',
      yaml: oneService(minimal, 'placement: { regions: [eu-wset], maxUsdPerHour: "1" }\nduration: 1h\n'),
      path: 'placement.regions[0]',
      message: /Did you mean "eu-west"/,
    },
    {
      name: 'regions as one string',
      yaml: oneService(minimal, 'placement: { regions: eu-west, maxUsdPerHour: "1" }\nduration: 1h\n'),
      path: 'placement.regions',
      message: /list of region names/,
    },
    {
      name: 'no placement',
      yaml: oneService(minimal, 'duration: 1h\n'),
      path: 'placement',
      message: /expected placement like/,
    },
    {
      name: 'no price',
      yaml: oneService(minimal, 'placement: { regions: [eu-west] }\nduration: 1h\n'),
      path: 'placement.maxUsdPerHour',
      message: /USD.*got nothing/,
    },
    {
      name: 'a price as words',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: cheap }\nduration: 1h\n'),
      path: 'placement.maxUsdPerHour',
      message: /decimal string like "0.50"/,
    },
    {
      name: 'a zero price',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "0" }\nduration: 1h\n'),
      path: 'placement.maxUsdPerHour',
      message: /above 0/,
    },
    {
      name: 'a price in exponent form',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: 1e-7 }\nduration: 1h\n'),
      path: 'placement.maxUsdPerHour',
      message: /decimal string/,
    },
    {
      name: 'a negative price',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "-1" }\nduration: 1h\n'),
      path: 'placement.maxUsdPerHour',
      message: /decimal string/,
    },
    {
      name: 'neither duration nor deposit',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\n'),
      path: '(root)',
      message: /`duration` .* or `deposit`/,
    },
    {
      name: 'both duration and deposit',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\nduration: 1h\ndeposit: { usd: "1" }\n'),
      path: 'deposit',
      message: /not both/,
    },
    {
      name: 'a duration in words',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\nduration: 1 week\n'),
      path: 'duration',
      message: /expected a duration like "1h"/,
    },
    {
      name: 'a duration over a year',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\nduration: 366d\n'),
      path: 'duration',
      message: /at most 365d/,
    },
    {
      name: 'a zero duration',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\nduration: 0s\n'),
      path: 'duration',
      message: /expected a duration/,
    },
    {
      name: 'a deposit under a credit',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\ndeposit: { usd: "0.0000001" }\n'),
      path: 'deposit.usd',
      message: /at most 6 decimals/,
    },
    {
      name: 'a zero deposit',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\ndeposit: { usd: "0" }\n'),
      path: 'deposit.usd',
      message: /above 0/,
    },
    {
      name: 'a deposit as a number of credits',
      yaml: oneService(minimal, 'placement: { maxUsdPerHour: "1" }\ndeposit: 5\n'),
      path: 'deposit',
      message: /expected a deposit like \{ usd: "5" \}/,
    },
    {
      name: 'version 2',
      yaml: `version: "2"\n${oneService(minimal)}`,
      path: 'version',
      message: /expected "1", got "2"/,
    },
    { name: 'a list at the top', yaml: '- services\n', path: '(root)', message: /expected a manifest/ },
    { name: 'an empty document', yaml: '', path: '(root)', message: /expected a manifest.*got null/ },
  ]
  for (const { name, yaml, path, message } of cases) {
    test(name, async () => {
      assertIssue(await issuesOf(yaml), path, message)
    })
  }

  test('every problem is listed, in text order, with its line and column', async () => {
    const yaml = `services:
  web:
    image: Foo
    resources: { memory: 12, cpu: 0, stor: 1 }
placement: { regions: [eu-wset], maxUsdPerHour: "1" }
duration: 1h
`
    let caught: unknown
    try {
      await parseManifest(yaml)
    } catch (error) {
      caught = error
    }
    assert.ok(caught instanceof ManifestValidationError)
    assert.deepEqual(
      caught.issues.map(({ path, line, column }) => ({ path, line, column })),
      [
        { path: 'services.web.image', line: 3, column: 12 },
        { path: 'services.web.resources.memory', line: 4, column: 26 },
        { path: 'services.web.resources.cpu', line: 4, column: 35 },
        { path: 'services.web.resources.stor', line: 4, column: 38 },
      ],
    )
    assert.match(
      caught.shortMessage,
      /^Invalid manifest: services\.web\.image: expected an image reference .* \(line 3, column 12\) \(and 3 more\)\.$/,
    )
    assert.equal(caught.metaMessages?.length, 4)
    assert.match(
      caught.message,
      /- services\.web\.resources\.stor: unknown field "stor" \(did you mean `storage`\?\) \(line 4, column 38\)/,
    )
  })

  test('a problem found after the schema (a missing module) still points at its line', async () => {
    const issues = await issuesOf(
      oneService('wasm: ./missing.wasm\nresources: { cpu: 1, memory: 8Mi }'),
      files({}).readFile,
    )
    const issue = assertIssue(
      issues,
      'services.app.wasm',
      /readable \.wasm file \(\/app\/missing\.wasm\): ENOENT/,
    )
    assert.deepEqual([issue.line, issue.column], [3, 11])
  })

  test('YAML syntax errors carry their line and column', async () => {
    const issues = await issuesOf('services:\n  web:\n    image: [a, b\nplacement: x\n')
    assert.ok(issues.length >= 1)
    assert.equal(issues[0]?.path, '(root)')
    assert.match(issues[0]?.message ?? '', /^expected valid YAML: /)
    assert.equal(typeof issues[0]?.line, 'number')
    assert.equal(typeof issues[0]?.column, 'number')
    const tabs = await issuesOf('services:\n\tweb: {}\n')
    assert.equal(tabs[0]?.line, 2)
  })

  test('a duplicate key is a YAML error at its line', async () => {
    const issues = await issuesOf(`${oneService(minimal)}duration: 2h\n`)
    assertIssue(issues, '(root)', /Map keys must be unique/)
    assert.equal(issues[0]?.line, 7)
  })

  test('an alias bomb is refused, not expanded', async () => {
    const bomb = [
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      ...Array.from({ length: 8 }, (_, i) => {
        const name = String.fromCharCode(98 + i)
        const previous = String.fromCharCode(97 + i)
        return `${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`
      }),
    ].join('\n')
    assertIssue(await issuesOf(bomb), '(root)', /expected valid YAML: .*alias/i)
  })

  test('a manifest over 1 MiB is refused before parsing', async () => {
    assertIssue(await issuesOf(`# ${'x'.repeat(1024 * 1024)}\n`), '(root)', /at most 1048576 bytes/)
  })

  test('text that is not a string', async () => {
    await assert.rejects(parseManifest(42 as unknown as string), ManifestValidationError)
  })

  test('modules: not WASM, too large, over the total', async () => {
    const wasmService = oneService('wasm: ./m.wasm\nresources: { cpu: 1, memory: 8Mi }')
    assertIssue(
      await issuesOf(wasmService, () => stringToBytes('(module)')),
      'services.app.wasm',
      /WebAssembly binary module/,
    )
    const big = new Uint8Array(8 * 1024 * 1024 + 1)
    big.set(raytracer.subarray(0, 8))
    assertIssue(
      await issuesOf(wasmService, () => big),
      'services.app.wasm',
      /at most 8388608 bytes.*got 8388609/,
    )
    // Two distinct 7 MiB modules: each is allowed, together they pass 12 MiB.
    const seven = (tag: number) => {
      const bytes = new Uint8Array(7 * 1024 * 1024)
      bytes.set(raytracer.subarray(0, 8))
      bytes[100] = tag
      return bytes
    }
    const two = `services:
  a: { wasm: ./a.wasm, resources: { cpu: 1, memory: 8Mi } }
  b: { wasm: ./b.wasm, resources: { cpu: 1, memory: 8Mi } }
placement: { maxUsdPerHour: "1" }
duration: 1h
`
    const issues = await issuesOf(two, (path) => seven(path.endsWith('a.wasm') ? 1 : 2))
    assertIssue(issues, 'services.b.wasm', /all wasm modules together to be at most 12582912 bytes/)
  })

  test('reading a module from disk refuses a file over 8 MiB before reading it', async () => {
    const { mkdtemp, writeFile, truncate, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const dir = await mkdtemp(`${tmpdir()}/stoa-manifest-`)
    try {
      await writeFile(`${dir}/big.wasm`, '')
      await truncate(`${dir}/big.wasm`, 9 * 1024 * 1024)
      await writeFile(`${dir}/ok.wasm`, raytracer)
      const issues = await (async () => {
        try {
          await parseManifest(oneService('wasm: big.wasm\nresources: { cpu: 1, memory: 8Mi }'), {
            baseDir: dir,
          })
        } catch (error) {
          return (error as ManifestValidationError).issues
        }
        return []
      })()
      assertIssue(issues, 'services.app.wasm', /got 9437184 bytes/)
      const ok = await parseManifest(oneService('wasm: ok.wasm\nresources: { cpu: 1, memory: 8Mi }'), {
        baseDir: dir,
      })
      assert.deepEqual(ok.modules.get(raytracerDigest), raytracer)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('image references', () => {
  test('accepts what Docker accepts', () => {
    for (const reference of [
      'busybox',
      'stoa/busybox:1',
      'library/ubuntu:22.04',
      'ghcr.io/acme/app:v1.2.3-rc_1',
      'localhost:5000/team/app',
      'registry.example.com:443/a/b/c:latest',
      `busybox@sha256:${'0'.repeat(64)}`,
      `ghcr.io/acme/app:1@sha256:${'f'.repeat(64)}`,
      'a__b/c-d.e:TAG',
      '[::1]:5000/app',
    ]) {
      assert.ok(isImageReference(reference), reference)
    }
  })

  test('refuses what Docker refuses', () => {
    for (const reference of [
      '',
      'BusyBox',
      'busybox:',
      ':tag',
      'busy box',
      'a//b',
      'a/-b',
      'busybox:-tag',
      `busybox:${'t'.repeat(129)}`,
      'busybox@sha256:xyz',
      '/busybox',
      'busybox/',
      `${'a'.repeat(256)}`,
      'https://ghcr.io/app',
    ]) {
      assert.ok(!isImageReference(reference), reference)
    }
  })
})

describe('validateNormalizedManifest', () => {
  const clone = (): NormalizedManifest => structuredClone(specNormalized)

  test('accepts a normalized manifest and returns it unchanged', () => {
    assert.deepEqual(validateNormalizedManifest(clone()), specNormalized)
    assert.deepEqual(
      validateNormalizedManifest(JSON.parse(canonicalManifest(specNormalized))),
      specNormalized,
    )
  })

  const mutations: {
    name: string
    mutate: (m: MutableJson) => void
    path: string
    message: RegExp
  }[] = [
    {
      name: 'an unknown top-level field',
      mutate: (m) => {
        m.extra = 1
      },
      path: 'extra',
      message: /unknown field/,
    },
    {
      name: 'an unknown service field',
      mutate: (m) => {
        m.services.web.privileged = true
      },
      path: 'services.web.privileged',
      message: /unknown field/,
    },
    {
      name: 'an unknown resources field',
      mutate: (m) => {
        m.services.web.resources.cpu = 1
      },
      path: 'services.web.resources.cpu',
      message: /unknown field/,
    },
    {
      name: 'an authored size',
      mutate: (m) => {
        m.services.web.resources.memoryMiB = '128Mi'
      },
      path: 'services.web.resources.memoryMiB',
      message: /expected a number/,
    },
    {
      name: 'a fractional millicore',
      mutate: (m) => {
        m.services.web.resources.cpuMillis = 0.5
      },
      path: 'services.web.resources.cpuMillis',
      message: /expected an integer/,
    },
    {
      name: 'a missing field',
      mutate: (m) => {
        delete m.services.web.args
      },
      path: 'services.web.args',
      message: /got nothing/,
    },
    {
      name: 'a missing kind',
      mutate: (m) => {
        delete m.services.web.kind
      },
      path: 'services.web.kind',
      message: /"job" or "service"/,
    },
    {
      name: 'ports out of order',
      mutate: (m) => {
        m.services.web.expose = [
          { port: 9000, http: true },
          { port: 80, http: true },
        ]
      },
      path: 'services.web.expose[1].port',
      message: /increasing order/,
    },
    {
      name: 'a port without http',
      mutate: (m) => {
        m.services.web.expose = [{ port: 80 }]
      },
      path: 'services.web.expose[0].http',
      message: /true or false/,
    },
    {
      name: 'regions out of order',
      mutate: (m) => {
        m.placement.regions = ['eu-west', 'us-east']
      },
      path: 'placement.regions[1]',
      message: /region-code order/,
    },
    {
      name: 'a region twice',
      mutate: (m) => {
        m.placement.regions = ['us-east', 'us-east']
      },
      path: 'placement.regions[1]',
      message: /once each/,
    },
    {
      name: 'an unknown region',
      mutate: (m) => {
        m.placement.regions = ['mars']
      },
      path: 'placement.regions[0]',
      message: /expected a region name/,
    },
    {
      name: 'a price as a number',
      mutate: (m) => {
        m.placement.maxPricePerSecond = 138888888
      },
      path: 'placement.maxPricePerSecond',
      message: /decimal string/,
    },
    {
      name: 'a zero price',
      mutate: (m) => {
        m.placement.maxPricePerSecond = '0'
      },
      path: 'placement.maxPricePerSecond',
      message: /positive integer/,
    },
    {
      name: 'a price over uint64',
      mutate: (m) => {
        m.placement.maxPricePerSecond = '18446744073709551616'
      },
      path: 'placement.maxPricePerSecond',
      message: /uint64/,
    },
    {
      name: 'credits with leading zeros',
      mutate: (m) => {
        m.deposit.credits = '0500000'
      },
      path: 'deposit.credits',
      message: /positive integer/,
    },
    {
      name: 'a deposit that does not match its duration',
      mutate: (m) => {
        m.deposit.credits = '499999'
      },
      path: 'deposit.credits',
      message: /expected 500000/,
    },
    {
      name: 'a wasm digest in upper case',
      mutate: (m) => {
        m.services.render.wasm.sha256 = m.services.render.wasm.sha256.toUpperCase().replace('0X', '0x')
      },
      path: 'services.render.wasm.sha256',
      message: /lowercase hex/,
    },
    {
      name: 'a wasm service with a command',
      mutate: (m) => {
        m.services.render.command = ['x']
      },
      path: 'services.render.command',
      message: /pass `args`/,
    },
    {
      name: 'image and wasm',
      mutate: (m) => {
        m.services.render.image = 'busybox'
      },
      path: 'services.render',
      message: /not both/,
    },
    {
      name: 'a job with ports',
      mutate: (m) => {
        m.services.web.kind = 'job'
      },
      path: 'services.web.expose',
      message: /no ports for a job/,
    },
    {
      name: 'a GPU model with no GPU',
      mutate: (m) => {
        m.services.web.resources.gpuModel = 'A100'
      },
      path: 'services.web.resources.gpuModel',
      message: /at least 1/,
    },
    {
      name: 'an empty GPU model',
      mutate: (m) => {
        m.services.web.resources.gpus = 1
        m.services.web.resources.gpuModel = ''
      },
      path: 'services.web.resources.gpuModel',
      message: /1 to 32 bytes/,
    },
    {
      name: 'an env value that is a number',
      mutate: (m) => {
        m.services.web.env.PORT = 8080
      },
      path: 'services.web.env.PORT',
      message: /expected a string/,
    },
    {
      name: 'a lone surrogate',
      mutate: (m) => {
        m.services.web.args = ['\ud800']
      },
      path: 'services.web.args[0]',
      message: /lone surrogates/,
    },
    {
      name: 'version 1 as a number',
      mutate: (m) => {
        m.version = 1
      },
      path: 'version',
      message: /expected "1"/,
    },
  ]
  for (const { name, mutate, path, message } of mutations) {
    test(`refuses ${name}`, () => {
      const manifest = clone() as unknown as MutableJson
      mutate(manifest)
      assertIssue(issuesOfNormalized(manifest), path, message)
    })
  }

  test('refuses an own __proto__ key (JSON.parse makes one)', () => {
    const json = canonicalManifest(specNormalized).replace(
      '"env":{"GREETING"',
      '"env":{"__proto__":"x","GREETING"',
    )
    assertIssue(issuesOfNormalized(JSON.parse(json)), 'services.web.env.__proto__', /__proto__/)
    const top = JSON.parse(`{"__proto__":{"x":1},${canonicalManifest(specNormalized).slice(1)}`)
    assertIssue(issuesOfNormalized(top), '__proto__', /unknown field/)
  })

  test('refuses what is not an object', () => {
    for (const value of [null, undefined, 42, 'text', [], true]) {
      assertIssue(issuesOfNormalized(value), '(root)', /expected a map/)
    }
  })

  test('canonicalManifest and manifestHash refuse an invalid manifest', () => {
    const manifest = clone() as unknown as MutableJson
    manifest.services.web.resources.memoryMiB = 1
    assert.throws(() => manifestHash(manifest as NormalizedManifest), ManifestValidationError)
    assert.throws(() => canonicalManifest(manifest as NormalizedManifest), ManifestValidationError)
  })
})

describe('manifest submissions', () => {
  test('encode → JSON → decode gives the manifest, its modules and its hash', async () => {
    const { manifest, modules, hash } = await parseSpec()
    const body = JSON.parse(JSON.stringify(encodeManifestSubmission({ manifest, modules })))
    assert.deepEqual(Object.keys(body.modules), [raytracerDigest])
    const decoded = decodeManifestSubmission(body)
    assert.deepEqual(decoded.manifest, manifest)
    assert.deepEqual(decoded.modules.get(raytracerDigest), raytracer)
    assert.equal(decoded.hash, hash)
  })

  test('a manifest without modules has no modules field', async () => {
    const { manifest, modules } = await parseManifest(oneService(minimal))
    assert.deepEqual(encodeManifestSubmission({ manifest, modules }), { manifest })
    assert.equal(decodeManifestSubmission({ manifest }).modules.size, 0)
  })

  test('encoding refuses a missing or wrong module', async () => {
    const { manifest } = await parseSpec()
    assert.throws(() => encodeManifestSubmission({ manifest, modules: new Map() }), ManifestValidationError)
    assert.throws(
      () =>
        encodeManifestSubmission({ manifest, modules: new Map([[raytracerDigest, wasmModule('other')]]) }),
      ManifestValidationError,
    )
  })

  test('decoding refuses tampered, missing, unnamed and malformed modules, and unknown fields', async () => {
    const { manifest, modules } = await parseSpec()
    const body = encodeManifestSubmission({ manifest, modules })
    const issuesOfBody = (value: unknown) => {
      try {
        decodeManifestSubmission(value)
      } catch (error) {
        assert.ok(error instanceof ManifestValidationError)
        return error.issues
      }
      assert.fail('accepted')
    }
    const key = `modules["${raytracerDigest}"]`
    const tampered = Buffer.from(wasmModule('raytracex')).toString('base64')
    assertIssue(issuesOfBody({ manifest, modules: { [raytracerDigest]: tampered } }), key, /sha256 is/)
    assertIssue(issuesOfBody({ manifest }), key, /expected the module the manifest names/)
    assertIssue(issuesOfBody({ manifest, modules: { [raytracerDigest]: 'not base64!' } }), key, /base64/)
    const other = moduleDigest(wasmModule('other'))
    assertIssue(
      issuesOfBody({ ...body, modules: { ...body.modules, [other]: 'AAAA' } }),
      `modules["${other}"]`,
      /only modules the manifest names/,
    )
    assertIssue(issuesOfBody({ ...body, extra: true }), 'extra', /unknown field/)
    assertIssue(issuesOfBody({ ...body, modules: [] }), 'modules', /expected a map/)
    const badManifest = structuredClone(manifest) as unknown as MutableJson
    badManifest.services.web.resources.gpus = -1
    assertIssue(
      issuesOfBody({ ...body, manifest: badManifest }),
      'manifest.services.web.resources.gpus',
      /≥ 0/,
    )
    assertIssue(issuesOfBody('text'), '(root)', /expected \{ manifest, modules\? \}/)
  })
})
