import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { createStoaClient, deploy } from '@stoa/sdk'
import { devnetAccount } from '@stoa/sdk/devnet'
import { privateKeyToAccount } from 'viem/accounts'
import {
  type DevnetProcess,
  repositoryRoot,
  rpcAnswers,
  startDevnetProcess,
  stopDevnetProcess,
} from './helpers.ts'

const execFileAsync = promisify(execFile)

type DemoJson = {
  render: { results: { name: string; sha256: string; path?: string }[] } | { error: string }
  service: { url: string; status?: number } | { error: string } | { skipped: string }
}
type Summary = {
  docker: { ok: boolean }
  providers: { name: string; providerId: number; gatewayUrl: string; pid: number; region: string }[]
  demo: DemoJson | null
}

let scratch: string
let devnet: DevnetProcess | undefined

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stoa-cli-devnet-providers-'))
})

after(async () => {
  devnet?.kill()
  await rm(scratch, { recursive: true, force: true })
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('stoa devnet --json --providers 3', () => {
  test('starts 3 registered, healthy providers, runs the demo, and SIGINT stops everything', async () => {
    devnet = await startDevnetProcess(
      ['--deployment', join(scratch, 'deployment.json'), '--providers', '3'],
      180_000,
    )
    const summary = devnet.summary as unknown as Summary
    assert.deepEqual(
      summary.providers.map((provider) => provider.region),
      ['eu-west', 'us-east', 'ap-south'],
    )
    for (const provider of summary.providers) {
      assert.ok(provider.providerId > 0)
      const health = (await (await fetch(`${provider.gatewayUrl}/v1/health`)).json()) as { ok: boolean }
      assert.equal(health.ok, true, `${provider.name} is healthy`)
    }
    const demo = summary.demo
    assert.ok(demo)
    assert.ok(!('error' in demo.render), JSON.stringify(demo.render))
    // examples/render-job.yaml renders 320x240 frames 0 and 1, which workloads/raytracer/reference.json
    // does not list; the check here is that the reported digest is the file's on disk.
    for (const file of demo.render.results) {
      assert.match(file.sha256, /^0x[0-9a-f]{64}$/)
      assert.ok(file.path, `${file.name} found on the provider`)
      const digest = createHash('sha256')
        .update(await readFile(file.path))
        .digest('hex')
      assert.equal(`0x${digest}`, file.sha256)
    }
    if (summary.docker.ok) {
      assert.ok('url' in demo.service, JSON.stringify(demo.service))
      const response = await fetch(demo.service.url)
      assert.equal(response.status, 200)
      assert.match(await response.text(), /Hello from a Stoa provider/)
    }

    // The demo's frames (320x240) are not in workloads/raytracer/reference.json: render the
    // reference frames on the devnet's providers too, and compare bit for bit.
    const reference = JSON.parse(
      await readFile(join(repositoryRoot, 'workloads/raytracer/reference.json'), 'utf8'),
    ) as { frames: { args: string[]; sha256: string }[] }
    const yaml = [
      'version: "1"',
      'services:',
      ...reference.frames.flatMap((frame, index) => [
        `  ref-${index}:`,
        '    wasm: ../workloads/raytracer/build/raytracer.wasm',
        `    args: ${JSON.stringify(frame.args)}`,
        '    resources: { cpu: 0.25, memory: 64Mi, storage: 8Mi }',
      ]),
      'placement:',
      '  maxUsdPerHour: "0.10"',
      'duration: 15m',
    ].join('\n')
    const deploymentFile = JSON.parse(await readFile(devnet.summary.deploymentFile, 'utf8'))
    const client = createStoaClient({
      deployment: deploymentFile,
      account: privateKeyToAccount(devnetAccount('alice').privateKey),
      pollingInterval: 100,
    })
    const rendered = await deploy(client, {
      manifest: { yaml, baseDir: join(repositoryRoot, 'examples') },
      bidWindowSeconds: 1,
    })
    reference.frames.forEach((frame, index) => {
      const file = rendered.results.find((result) => result.service === `ref-${index}`)
      assert.ok(file, `ref-${index} wrote a result`)
      assert.equal(file.sha256, `0x${frame.sha256}`, `frame ${frame.args.join(' ')}`)
    })

    const rpcUrl = devnet.summary.rpcUrl
    const exit = await stopDevnetProcess(devnet, 'SIGINT', 20_000)
    assert.equal(exit.code, 0)
    assert.equal(await rpcAnswers(rpcUrl), false)
    for (const provider of summary.providers)
      assert.equal(alive(provider.pid), false, `${provider.name} stopped`)
    const { stdout } = await execFileAsync('ps', ['-eo', 'args']).catch(() => ({ stdout: '' }))
    assert.ok(!stdout.includes(join(scratch, 'providers')), 'no provider process left')
    if (summary.docker.ok) {
      // The demo's web service ran in a container of this devnet's namespace: Ctrl-C removed it.
      const namespace = `d${Number(new URL(rpcUrl).port).toString(36)}`
      const { stdout: containers } = await execFileAsync('docker', [
        'ps',
        '-a',
        '--filter',
        'label=stoa.provider',
        '--format',
        '{{.Label "stoa.provider"}}',
      ])
      assert.ok(
        !containers.split('\n').some((owner) => owner.trim().endsWith(`-${namespace}`)),
        'no container of this devnet left',
      )
    }
  })
})
