import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  encodeManifestSubmission,
  manifestOrderParameters,
  parseManifest,
  signGatewayRequest,
} from '@stoa/protocol'
import { createProviderDaemon, loadProviderConfig } from '@stoa/provider'
import { acceptBid, createOrder, createStoaClient, getBids } from '@stoa/sdk'
import { deployStoa, devnetAccount, fundDevnetAccounts, startAnvil } from '@stoa/sdk/devnet'
import { privateKeyToAccount } from 'viem/accounts'

// A local chain with the contracts deployed and the devnet accounts funded (what `stoa devnet` runs).
const anvil = await startAnvil()
const deployment = await deployStoa({
  rpcUrl: anvil.rpcUrl,
  deployerKey: devnetAccount('deployer').privateKey,
})
await fundDevnetAccounts({ rpcUrl: anvil.rpcUrl, deployment })

// The provider's configuration file; the key and the deployment come as overrides (as flags would).
const dir = await mkdtemp(join(tmpdir(), 'stoa-provider-'))
await writeFile(
  join(dir, 'provider.yaml'),
  `
dataDir: ./data
region: eu-west
stake: "1000"
chain: { pollingIntervalMs: 100, reconcileIntervalMs: 500 }
gateway: { host: 127.0.0.1, port: 0 }
ingress: { host: 127.0.0.1, port: 0 }
capacity: { cpuMillis: 4000, memoryMiB: 8192 }
pricing: { usdPerHour: { cpu: "0.02", memoryGiB: "0.01" } }
runtimes: { docker: { enabled: false } }
log: { level: warn }
`,
)
const config = await loadProviderConfig({
  file: join(dir, 'provider.yaml'),
  overrides: { key: devnetAccount('provider1').privateKey, chain: { deployment } },
})
const daemon = createProviderDaemon(config)
await daemon.start() // listens, registers and stakes on chain, catches up with the Market, bids
console.log(`provider #${daemon.registration.providerId} registered in eu-west`)

// A tenant orders a WASM job; the daemon bids; the tenant accepts and sends the signed manifest.
const alice = privateKeyToAccount(devnetAccount('alice').privateKey)
const tenant = createStoaClient({ deployment, account: alice })
const { manifest, modules } = await parseManifest(
  `
version: "1"
services:
  hello:
    wasm: workloads/testdata/build/hello.wasm
    args: ["--name", "readme"]
    resources: { cpu: 0.1, memory: 32Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`,
  { baseDir: join(import.meta.dirname, '../../..') },
)
const { orderId } = await createOrder(tenant, { ...manifestOrderParameters(manifest), bidWindowSeconds: 30 })
while ((await getBids(tenant, { orderId })).length === 0) await new Promise((r) => setTimeout(r, 50))
const { leaseId } = await acceptBid(tenant, { orderId, provider: daemon.address })

const request = async (method: string, path: string, body?: string) => {
  const headers = await signGatewayRequest({
    account: alice,
    chainId: deployment.chainId,
    market: deployment.contracts.market,
    method,
    path,
    ...(body === undefined ? {} : { body }),
  })
  return await fetch(`${daemon.gatewayUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  })
}
const put = await request(
  'PUT',
  `/v1/leases/${leaseId}/manifest`,
  JSON.stringify(encodeManifestSubmission({ manifest, modules })),
)
console.log(`manifest: ${put.status} ${JSON.stringify(await put.json())}`)

type LeaseStatus = { status: string; services: { name: string; exitCode?: number }[] }
let status: LeaseStatus
do status = (await (await request('GET', `/v1/leases/${leaseId}`)).json()) as LeaseStatus
while (status.status === 'starting' || status.status === 'running')
console.log(`lease ${leaseId}: ${status.status}, exit code ${status.services[0]?.exitCode}`)
console.log((await (await request('GET', `/v1/leases/${leaseId}/logs?tail=2`)).text()).trimEnd())

await daemon.stop()
await anvil.stop()
await rm(dir, { recursive: true, force: true })
