// The gateway and the lease manager against a real anvil, the real contracts, real SQLite, real HTTP
// and the real runtimes: the signature matrix (401/403, nothing changed), manifest checks, a WASM
// job from manifest to status, logs and results, a Docker job and a web service behind the ingress
// when Docker is here, the settle loop, the reconciler after a tenant close, the manifest timeout,
// a manifest fetched from the order's data: URI, and CORS for pages on other origins.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { closeReasonName, marketAbi, textToBytes32 } from '@stoa/protocol'
import { acceptBid, closeLease, getCreditBalance, getLease } from '@stoa/sdk'
import { getContractEvents } from 'viem/actions'
import type { LeaseView, ResultView } from '../src/index.ts'
import {
  type Devnet,
  dockerWithBusybox,
  manifestOf,
  orderFor,
  signedFetch,
  startDaemon,
  startDevnet,
  stopAllDaemons,
  submissionBody,
  type TestDaemon,
  waitFor,
} from './daemon-fixture.ts'

let devnet: Devnet
let provider: TestDaemon
const hasDocker = dockerWithBusybox()

const helloYaml = (name = 'stoa') => `
version: "1"
services:
  hello:
    wasm: workloads/testdata/build/hello.wasm
    args: ["--name", "${name}"]
    resources: { cpu: 0.1, memory: 32Mi, storage: 4Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`

before(async () => {
  devnet = await startDevnet({ providers: 2 })
  provider = await startDaemon(devnet, devnet.providerKeys[0] as `0x${string}`, {
    overrides: { leases: { settleIntervalMs: 3_600_000 } },
  })
})
after(async () => {
  await stopAllDaemons()
  await devnet?.stop()
})

/** Creates an order for the manifest, waits for `target`'s bid, accepts it; returns the lease. */
async function leaseFor(target: TestDaemon, yaml: string, options: { manifestUri?: string } = {}) {
  const parsed = await manifestOf(yaml)
  const { orderId } = await orderFor(devnet.alice, parsed.manifest, { bidWindowSeconds: 60, ...options })
  await waitFor(() => target.components.store.getBid(orderId, 0)?.status === 'placed', {
    what: `a bid on order ${orderId}`,
  })
  const { leaseId } = await acceptBid(devnet.alice, { orderId, provider: target.address })
  return { ...parsed, orderId, leaseId }
}

async function leaseStatus(target: TestDaemon, leaseId: bigint): Promise<LeaseView> {
  const response = await signedFetch(target, devnet.alice.account, 'GET', `/v1/leases/${leaseId}`)
  assert.equal(response.status, 200, await response.clone().text())
  return (await response.json()) as LeaseView
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } }
  return { status: response.status, code: body.error.code, message: body.error.message }
}

describe('signed requests', () => {
  let lease: Awaited<ReturnType<typeof leaseFor>>

  before(async () => {
    lease = await leaseFor(provider, helloYaml('auth'))
  })

  test('unsigned, forged, malformed, replayed and expired requests get 401 with a code', async () => {
    const path = `/v1/leases/${lease.leaseId}`
    const unsigned = await fetch(`${provider.gatewayUrl}${path}`)
    assert.deepEqual((await errorOf(unsigned)).code, 'missing-signature')
    assert.equal(unsigned.status, 401)

    // Signed for another path, sent to this one.
    const forged = await signedFetch(provider, devnet.alice.account, 'GET', `${path}/logs`, {
      sendPath: path,
    })
    assert.deepEqual([forged.status, (await errorOf(forged)).code], [401, 'bad-signature'])

    // A manifest body changed after signing.
    const body = submissionBody(lease.manifest, lease.modules)
    const tampered = await signedFetch(provider, devnet.alice.account, 'PUT', `${path}/manifest`, {
      body,
      sendBody: body.replace('auth', 'evil'),
    })
    assert.deepEqual([tampered.status, (await errorOf(tampered)).code], [401, 'bad-signature'])

    const garbage = await fetch(`${provider.gatewayUrl}${path}`, {
      headers: {
        'x-stoa-signature': '0x1234',
        'x-stoa-signer': devnet.alice.account.address,
        'x-stoa-nonce': '1',
        'x-stoa-expiry': '1',
      },
    })
    assert.deepEqual([garbage.status, (await errorOf(garbage)).code], [401, 'malformed'])

    const nonce = 424242n
    const first = await signedFetch(provider, devnet.alice.account, 'GET', path, { nonce })
    assert.equal(first.status, 200)
    const replayed = await signedFetch(provider, devnet.alice.account, 'GET', path, { nonce })
    assert.deepEqual([replayed.status, (await errorOf(replayed)).code], [401, 'replayed'])

    const now = Math.floor(Date.now() / 1000)
    const expired = await signedFetch(provider, devnet.alice.account, 'GET', path, { expiry: now - 5 })
    assert.deepEqual([expired.status, (await errorOf(expired)).code], [401, 'expired'])
    const farFuture = await signedFetch(provider, devnet.alice.account, 'GET', path, { expiry: now + 3600 })
    assert.deepEqual([farFuture.status, (await errorOf(farFuture)).code], [401, 'expiry-too-far'])
  })

  test("another account's valid signature gets 403, and nothing changed", async () => {
    const path = `/v1/leases/${lease.leaseId}`
    const body = submissionBody(lease.manifest, lease.modules)
    const put = await signedFetch(provider, devnet.bob.account, 'PUT', `${path}/manifest`, { body })
    assert.deepEqual([put.status, (await errorOf(put)).code], [403, 'not-tenant'])
    const nonce = 987_654_321n
    const get = await signedFetch(provider, devnet.bob.account, 'GET', path, { nonce })
    assert.deepEqual([get.status, (await errorOf(get)).code], [403, 'not-tenant'])
    // The refused request spent no nonce: the table has no row for it (useNonce adds it now).
    assert.equal(
      provider.components.store.useNonce(
        devnet.bob.account.address,
        nonce,
        Math.floor(Date.now() / 1000) + 60,
      ),
      true,
    )
    const logs = await signedFetch(provider, devnet.bob.account, 'GET', `${path}/logs`)
    assert.equal(logs.status, 403)
    // None of the refused requests (here and above) started anything.
    const status = await leaseStatus(provider, lease.leaseId)
    assert.equal(status.status, 'waiting-manifest')
    assert.deepEqual(status.services, [])
    assert.equal(provider.components.store.getLease(lease.leaseId)?.manifestAt, undefined)
    const workloads = await provider.components.runtimes.wasm?.list()
    assert.equal(
      workloads?.some((w) => w.leaseId === lease.leaseId),
      false,
    )
  })

  test('CORS: a preflight needs no signature; signed and storage responses allow any origin', async () => {
    const origin = 'http://console.example:5173'
    const path = `/v1/leases/${lease.leaseId}`
    const preflight = await fetch(`${provider.gatewayUrl}${path}/manifest`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers':
          'content-type,x-stoa-signature,x-stoa-signer,x-stoa-nonce,x-stoa-expiry',
      },
    })
    assert.equal(preflight.status, 204, await preflight.clone().text())
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*')
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /\bPUT\b/)
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/)
    for (const header of [
      'content-type',
      'x-stoa-signature',
      'x-stoa-signer',
      'x-stoa-nonce',
      'x-stoa-expiry',
    ])
      assert.ok(allowed.includes(header), `${header} is allowed (got ${allowed.join(', ')})`)

    const signed = await signedFetch(provider, devnet.alice.account, 'GET', path, {
      extraHeaders: { origin },
    })
    assert.equal(signed.status, 200)
    assert.equal(signed.headers.get('access-control-allow-origin'), '*')
    assert.match(signed.headers.get('access-control-expose-headers') ?? '', /x-stoa-sha256/)
    // A refused request still says so to the page (it can read the 401's JSON).
    const unsigned = await fetch(`${provider.gatewayUrl}${path}`, { headers: { origin } })
    assert.deepEqual([unsigned.status, unsigned.headers.get('access-control-allow-origin')], [401, '*'])

    // The storage routes live in their own Fastify context on the same app.
    const storagePreflight = await fetch(`${provider.gatewayUrl}/v1/storage/uploads`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-stoa-signature',
      },
    })
    assert.equal(storagePreflight.status, 204)
    assert.equal(storagePreflight.headers.get('access-control-allow-origin'), '*')
    const info = await fetch(`${provider.gatewayUrl}/v1/storage/info`, { headers: { origin } })
    assert.deepEqual([info.status, info.headers.get('access-control-allow-origin')], [200, '*'])
  })

  test('a manifest whose hash is not the order’s is refused with 409 manifest-hash-mismatch', async () => {
    const other = await manifestOf(helloYaml('other'))
    const response = await signedFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/leases/${lease.leaseId}/manifest`,
      {
        body: submissionBody(other.manifest, other.modules),
      },
    )
    const error = await errorOf(response)
    assert.equal(error.status, 409)
    assert.equal(error.code, 'manifest-hash-mismatch')
    assert.match(error.message, new RegExp(lease.manifest.services.hello ? other.hash : ''))
    assert.equal((await leaseStatus(provider, lease.leaseId)).status, 'waiting-manifest')
  })

  test('bad JSON, a bad manifest and an unknown lease get 4xx with a clear code', async () => {
    const path = `/v1/leases/${lease.leaseId}/manifest`
    const badJson = await signedFetch(provider, devnet.alice.account, 'PUT', path, { body: '{"manifest":' })
    assert.deepEqual([badJson.status, (await errorOf(badJson)).code], [400, 'invalid-json'])
    const badManifest = await signedFetch(provider, devnet.alice.account, 'PUT', path, {
      body: JSON.stringify({ manifest: { version: '2' } }),
    })
    const invalid = await errorOf(badManifest)
    assert.deepEqual([invalid.status, invalid.code], [400, 'invalid-manifest'])
    assert.match(invalid.message, /manifest\./)
    const unknown = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${(999n << 32n) | 0n}`,
    )
    assert.deepEqual([unknown.status, (await errorOf(unknown)).code], [404, 'lease-not-found'])
    const notNumber = await signedFetch(provider, devnet.alice.account, 'GET', '/v1/leases/abc')
    assert.deepEqual([notNumber.status, (await errorOf(notNumber)).code], [400, 'invalid-lease-id'])
    const huge = await signedFetch(provider, devnet.alice.account, 'PUT', path, {
      body: 'x'.repeat(17 * 1024 * 1024),
    })
    assert.deepEqual([huge.status, (await errorOf(huge)).code], [413, 'body-too-large'])
  })
})

describe('a WASM job', () => {
  let lease: Awaited<ReturnType<typeof leaseFor>>

  test('a manifest accepted by the tenant runs; status, logs and results come back over signed requests', async () => {
    lease = await leaseFor(provider, helloYaml('job'))
    const accepted = await signedFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/leases/${lease.leaseId}/manifest`,
      {
        body: submissionBody(lease.manifest, lease.modules),
      },
    )
    assert.equal(accepted.status, 202)
    assert.deepEqual(await accepted.json(), { leaseId: lease.leaseId.toString(), status: 'starting' })

    const done = await waitFor(
      async () => {
        const status = await leaseStatus(provider, lease.leaseId)
        return status.status === 'exited' ? status : undefined
      },
      { what: 'the job to exit' },
    )
    assert.deepEqual(done.services, [
      { name: 'hello', kind: 'job', runtime: 'wasm', status: 'exited', exitCode: 0 },
    ])

    const logs = await signedFetch(provider, devnet.alice.account, 'GET', `/v1/leases/${lease.leaseId}/logs`)
    assert.equal(logs.status, 200)
    assert.match(logs.headers.get('content-type') ?? '', /text\/plain/)
    const text = await logs.text()
    assert.match(text, /hello from wasm: --name job/)
    assert.match(text, /a line on stderr/)
    const tail = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/logs?service=hello&tail=1`,
    )
    assert.equal((await tail.text()).trim().split('\n').length, 1)

    const results = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/results`,
    )
    const listing = (await results.json()) as { files: ResultView[] }
    const expected = createHash('sha256').update('hello, results\n').digest('hex')
    assert.deepEqual(listing.files, [{ service: 'hello', name: 'hello.txt', size: 15, sha256: expected }])
    const file = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/results/hello.txt`,
    )
    assert.equal(file.status, 200)
    assert.equal(file.headers.get('x-stoa-sha256'), expected)
    assert.equal(await file.text(), 'hello, results\n')
    const missing = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/results/nope.txt`,
    )
    assert.deepEqual([missing.status, (await errorOf(missing)).code], [404, 'result-not-found'])
    const traversal = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/results/..%2F..%2Fstate.db`,
    )
    assert.equal(traversal.status, 404)

    // A second PUT of the same manifest changes nothing.
    const again = await signedFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/leases/${lease.leaseId}/manifest`,
      {
        body: submissionBody(lease.manifest, lease.modules),
      },
    )
    assert.equal(again.status, 202)
  })

  test('the settle loop moves escrow to earnings and withdraws them to the provider', async () => {
    const before = await getCreditBalance(devnet.alice, { account: provider.address })
    await devnet.warp(3600)
    const report = await provider.services.settler.settleAll()
    const settled = report.settled.find((entry) => entry.leaseId === lease.leaseId)
    assert.ok(settled && settled.amount > 0n, 'the lease was settled')
    assert.ok(report.withdrawn >= settled.amount)
    const after = await getCreditBalance(devnet.alice, { account: provider.address })
    assert.equal(after.balance - before.balance, report.withdrawn)
    assert.equal(after.redeemable - before.redeemable, report.withdrawn)
    const onchain = await getLease(devnet.alice, { leaseId: lease.leaseId })
    assert.equal(onchain?.earned, 0n)
    assert.equal(provider.components.store.getLease(lease.leaseId)?.settledTotal, settled.amount)
    const metrics = await (await fetch(`${provider.gatewayUrl}/metrics`)).text()
    assert.match(metrics, /stoa_provider_settles_total\{result="ok"\} [1-9]/)
    assert.match(metrics, /stoa_provider_leases_active [1-9]/)
  })

  test('after the tenant closes the lease, the reconciler removes its workload', async () => {
    // Without the chain service, only the reconciler can notice.
    await provider.services.chain.stop()
    try {
      await closeLease(devnet.alice, { leaseId: lease.leaseId })
      assert.ok((await provider.components.runtimes.wasm?.list())?.some((w) => w.leaseId === lease.leaseId))
      // The reconciler's own periodic pass may get there between the close and this call; either way
      // the pass below must leave the workload gone and the lease closed.
      await provider.services.reconciler.reconcile()
      assert.equal(
        (await provider.components.runtimes.wasm?.list())?.some((w) => w.leaseId === lease.leaseId),
        false,
      )
      assert.equal(provider.components.store.getLease(lease.leaseId)?.status, 'closed')
      assert.equal(provider.components.store.getReservation(lease.orderId), undefined)
      assert.equal((await leaseStatus(provider, lease.leaseId)).status, 'closed')
    } finally {
      await provider.services.chain.start()
    }
  })
})

describe('manifest sources and deadlines', () => {
  test('a lease with no manifest in time is closed by the provider with the note "manifest-timeout"', async () => {
    const impatient = await startDaemon(devnet, devnet.providerKeys[1] as `0x${string}`, {
      overrides: {
        leases: { manifestTimeoutMs: 1_000 },
        region: 'eu-west',
        pricing: { usdPerHour: { cpu: '0.001', memoryGiB: '0.001' } },
      },
    })
    try {
      const lease = await leaseFor(impatient, helloYaml('timeout'))
      const closed = await waitFor(
        async () => {
          const onchain = await getLease(devnet.alice, { leaseId: lease.leaseId })
          return onchain?.state === 'Closed' ? onchain : undefined
        },
        { what: 'the provider to close the lease', timeoutMs: 20_000 },
      )
      assert.equal(closed.closeReason, 'ProviderClosed')
      const [log] = await getContractEvents(devnet.alice, {
        address: devnet.deployment.contracts.market,
        abi: marketAbi,
        eventName: 'LeaseClosed',
        args: { leaseId: lease.leaseId },
        fromBlock: 0n,
        strict: true,
      })
      assert.equal(log?.args.note, textToBytes32('manifest-timeout'))
      assert.equal(closeReasonName(log?.args.reason ?? 0), 'ProviderClosed')
      await waitFor(() => impatient.components.store.getLease(lease.leaseId)?.status === 'closed')
    } finally {
      await impatient.stop()
    }
  })

  test('a manifest published with the order (data: URI) is fetched and run without the tenant', async () => {
    const parsed = await manifestOf(helloYaml('from-uri'))
    const uri = `data:application/json;base64,${Buffer.from(submissionBody(parsed.manifest, parsed.modules)).toString('base64')}`
    const lease = await leaseFor(provider, helloYaml('from-uri'), { manifestUri: uri })
    const done = await waitFor(
      async () => {
        const status = await leaseStatus(provider, lease.leaseId)
        return status.status === 'exited' ? status : undefined
      },
      { what: 'the job from the URI to run' },
    )
    assert.equal(done.services[0]?.exitCode, 0)
    const logs = await (
      await signedFetch(provider, devnet.alice.account, 'GET', `/v1/leases/${lease.leaseId}/logs`)
    ).text()
    assert.match(logs, /--name from-uri/)
    // A second deploy (the reconciler acting on a list read before the first one finished) leaves
    // the lease as it is: it does not start the workloads again and fail on finding them there.
    await provider.services.leases.deploy(lease.leaseId)
    const again = await leaseStatus(provider, lease.leaseId)
    assert.equal(again.status, 'exited')
    assert.equal(again.services[0]?.exitCode, 0)
  })
})

describe('Docker workloads', { skip: hasDocker ? false : 'no Docker engine or stoa/busybox:1 image' }, () => {
  test('a container job runs; its logs and result files come back', async () => {
    const lease = await leaseFor(
      provider,
      `
version: "1"
services:
  numbers:
    image: stoa/busybox:1
    kind: job
    command: ["sh", "-c", "echo counting; seq 1 5 > /results/numbers.txt; echo done"]
    resources: { cpu: 0.2, memory: 32Mi, storage: 8Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`,
    )
    const put = await signedFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/leases/${lease.leaseId}/manifest`,
      {
        body: submissionBody(lease.manifest, lease.modules),
      },
    )
    assert.equal(put.status, 202)
    const done = await waitFor(
      async () => {
        const status = await leaseStatus(provider, lease.leaseId)
        return status.status === 'exited' || status.status === 'failed' ? status : undefined
      },
      { what: 'the container job', timeoutMs: 30_000 },
    )
    assert.deepEqual(done.services, [
      { name: 'numbers', kind: 'job', runtime: 'docker', status: 'exited', exitCode: 0 },
    ])
    const logs = await (
      await signedFetch(provider, devnet.alice.account, 'GET', `/v1/leases/${lease.leaseId}/logs`)
    ).text()
    assert.equal(logs, 'counting\ndone\n')
    const file = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/results/numbers.txt`,
    )
    assert.equal(await file.text(), '1\n2\n3\n4\n5\n')
    await closeLease(devnet.alice, { leaseId: lease.leaseId })
    await waitFor(
      async () =>
        !(await provider.components.runtimes.docker?.list())?.some((w) => w.leaseId === lease.leaseId),
      {
        what: 'the container to be removed',
      },
    )
  })

  test('a web service is reachable through the ingress; 502 JSON once it is down; logs follow', async () => {
    const lease = await leaseFor(
      provider,
      `
version: "1"
services:
  web:
    image: stoa/busybox:1
    command: ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
    expose: [{ port: 8080, http: true }]
    resources: { cpu: 0.25, memory: 32Mi, storage: 8Mi }
placement: { regions: [eu-west], maxUsdPerHour: "0.05" }
deposit: { usd: "1" }
`,
    )
    const put = await signedFetch(
      provider,
      devnet.alice.account,
      'PUT',
      `/v1/leases/${lease.leaseId}/manifest`,
      {
        body: submissionBody(lease.manifest, lease.modules),
      },
    )
    assert.equal(put.status, 202)
    const running = await waitFor(
      async () => {
        const status = await leaseStatus(provider, lease.leaseId)
        return status.status === 'running' ? status : undefined
      },
      { what: 'the web service', timeoutMs: 30_000 },
    )
    const url = running.services[0]?.url
    assert.equal(url, `${provider.ingressUrl}/l/${lease.leaseId}/web/`)
    const page = await waitFor(
      async () => {
        const response = await fetch(url as string)
        return response.status === 200 ? await response.text() : undefined
      },
      { what: 'httpd to answer' },
    )
    assert.match(page, /Hello from a Stoa provider/)
    // Without the trailing slash: a redirect under the prefix.
    const bare = await fetch(`${provider.ingressUrl}/l/${lease.leaseId}/web`, { redirect: 'manual' })
    assert.equal(bare.status, 308)
    const probe = await fetch(`${provider.ingressUrl}/l/${lease.leaseId}/`)
    assert.equal(probe.status, 200)
    assert.equal(((await probe.json()) as { healthy: boolean }).healthy, true)

    // Follow the access log: httpd -v logs the request made through the ingress.
    const follow = await signedFetch(
      provider,
      devnet.alice.account,
      'GET',
      `/v1/leases/${lease.leaseId}/logs?follow=1`,
    )
    assert.equal(follow.status, 200)
    const reader = follow.body?.getReader()
    await fetch(`${url}index.html`)
    let seen = ''
    await waitFor(
      async () => {
        const chunk = await reader?.read()
        seen += Buffer.from(chunk?.value ?? new Uint8Array()).toString('utf8')
        return /GET|index\.html|response/i.test(seen)
      },
      { what: 'a followed log line', timeoutMs: 10_000 },
    )
    await reader?.cancel()

    // Kill the container behind the daemon's back: the ingress answers 502 JSON, the probe 503.
    const docker = provider.components.runtimes.docker
    assert.ok(docker)
    const workloadId = `lease-${lease.leaseId}-web`
    const { execFileSync } = await import('node:child_process')
    execFileSync('docker', ['kill', `stoa-${provider.address.toLowerCase()}-${workloadId}`])
    const down = await fetch(url as string)
    assert.equal(down.status, 502)
    assert.deepEqual(((await down.json()) as { error: { code: string } }).error.code, 'service-unavailable')
    const unhealthy = await fetch(`${provider.ingressUrl}/l/${lease.leaseId}/`)
    assert.equal(unhealthy.status, 503)
    const unknown = await fetch(`${provider.ingressUrl}/l/${lease.leaseId}/nope/`)
    assert.deepEqual(
      [unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code],
      [404, 'service-not-found'],
    )
    await closeLease(devnet.alice, { leaseId: lease.leaseId })
    await waitFor(async () => !(await docker.list()).some((w) => w.leaseId === lease.leaseId), {
      what: 'the container to be removed',
    })
  })
})
