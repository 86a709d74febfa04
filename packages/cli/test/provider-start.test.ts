import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStoaClient, getProvider } from '@stoa/sdk'
import {
  type AnvilInstance,
  deployStoa,
  devnetAccount,
  devnetAccounts,
  fundDevnetAccounts,
  startAnvil,
} from '@stoa/sdk/devnet'
import { deploymentFileOf, writeDeploymentFile } from '../src/index.ts'
import { repositoryRoot } from './helpers.ts'

let scratch: string
let anvil: AnvilInstance
let deploymentFile: string

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stoa-cli-provider-start-'))
  anvil = await startAnvil({})
  const deployer = devnetAccount('deployer')
  const deployed = await deployStoa({ rpcUrl: anvil.rpcUrl, deployerKey: deployer.privateKey })
  const deployment = deploymentFileOf(deployed, devnetAccounts())
  await fundDevnetAccounts({
    rpcUrl: anvil.rpcUrl,
    deployment,
    deployerKey: deployer.privateKey,
    accounts: devnetAccounts(),
  })
  deploymentFile = join(scratch, 'deployment.json')
  await writeDeploymentFile(deploymentFile, deployment)
})

after(async () => {
  await anvil?.stop()
  await rm(scratch, { recursive: true, force: true })
})

test('provider start registers on chain, answers /v1/health and exits 0 on SIGINT', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repositoryRoot, 'packages/cli/src/bin.ts'),
      'provider',
      'start',
      '--key',
      'provider2',
      '--deployment',
      deploymentFile,
      '--data-dir',
      join(scratch, 'provider2'),
      '--region',
      'us-east',
      '--port',
      '0',
      '--ingress-port',
      '0',
      '--json-logs',
    ],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  try {
    let stdout = ''
    const ready = await new Promise<{
      providerId: number
      gatewayUrl: string
      address: string
      ingressUrl: string
    }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line in 60 s:\n${stdout}`)), 60_000)
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        const line = stdout.split('\n').find((candidate) => candidate.includes('"provider:ready"'))
        if (line) {
          clearTimeout(timer)
          resolve(JSON.parse(line))
        }
      })
      void exited.then(() => reject(new Error(`exited before ready:\n${stdout}`)))
    })
    assert.equal(ready.address, devnetAccount('provider2').address)
    assert.ok(ready.providerId > 0)
    assert.ok(ready.ingressUrl)
    const deployment = JSON.parse(await (await import('node:fs/promises')).readFile(deploymentFile, 'utf8'))
    const record = await getProvider(createStoaClient({ deployment }), {
      provider: ready.address as `0x${string}`,
    })
    assert.equal(Number((record as { id: number | bigint }).id), ready.providerId)
    const health = (await (await fetch(`${ready.gatewayUrl}/v1/health`)).json()) as {
      ok: boolean
      region: string
    }
    assert.equal(health.ok, true)
    assert.equal(health.region, 'us-east')
    child.kill('SIGINT')
    const exit = await exited
    assert.deepEqual(exit, { code: 0, signal: null })
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
})
