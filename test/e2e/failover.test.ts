/**
 * End to end, failover: the busybox web service (examples/web-service.yaml, eu-west or us-east) runs on
 * one of two real provider daemons; the SDK's watchLease probes it (250 ms, 3 failures); the provider
 * running it is killed with kill -9 (its whole process group), and the service must answer again through
 * the other provider's ingress with nothing else done. Needs Docker and the stoa/busybox:1 image;
 * without them it FAILS, saying so. STOA_SKIP_DOCKER=1 skips it on purpose.
 * Run: node --import tsx --test test/e2e/failover.test.ts
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { deploy, getLease, getOrder, type WatchLeaseProgressEvent, watchLease } from '@stoa/sdk'
import {
  alive,
  type E2eDevnet,
  eventually,
  repositoryRoot,
  requireDocker,
  skipDocker,
  sleep,
  startE2eDevnet,
} from './devnet.ts'

const NAMESPACE = `fo${process.pid % 1000}`
const WEB_SERVICE = { path: join(repositoryRoot, 'examples/web-service.yaml') }
const PAGE = /Hello from a Stoa provider/

describe('failover end to end (devnet, real provider daemons, kill -9)', {
  skip: skipDocker ? 'STOA_SKIP_DOCKER=1' : false,
  timeout: 600_000,
}, () => {
  let net: E2eDevnet | undefined
  const watcher = new AbortController()
  let watching: Promise<unknown> | undefined

  before(async () => {
    await requireDocker()
    net = await startE2eDevnet({ providers: 2, namespace: NAMESPACE, docker: true })
  })

  after(async () => {
    watcher.abort()
    await watching
    await net?.stop()
    if (net) {
      assert.equal(net.anvilPid !== undefined && alive(net.anvilPid), false, 'anvil left running')
      for (const provider of net.providers)
        assert.equal(alive(-provider.pid), false, `${provider.name} left running`)
      assert.deepEqual(await net.allContainers(), [], 'containers left behind')
    }
  })

  it('answers again through another provider after kill -9 of the one running it', async () => {
    const devnet = net as E2eDevnet
    const alice = devnet.clientOf('alice')
    const deployed = await deploy(alice, { manifest: WEB_SERVICE, bidWindowSeconds: 1, timeoutMs: 120_000 })
    const firstUrl = deployed.services[0]?.url
    assert.ok(firstUrl, 'the service has an ingress URL')
    assert.match(await (await fetch(firstUrl)).text(), PAGE)

    const events: WatchLeaseProgressEvent[] = []
    let watchingSince = false
    watching = watchLease(alice, {
      orderId: deployed.orderId,
      manifest: WEB_SERVICE,
      probeIntervalMs: 250,
      failuresBeforeReport: 3,
      probeTimeoutMs: 1_000,
      signal: watcher.signal,
      onProgress: (event) => {
        events.push(event)
        if (event.type === 'watch:watching') watchingSince = true
      },
    }).catch((error: unknown) => error)
    await eventually('watchLease starts watching', async () => (watchingSince ? true : undefined), 30_000)
    await sleep(1_000) // a few healthy probes first

    const victim = devnet.providers.find((p) => p.address.toLowerCase() === deployed.provider.toLowerCase())
    assert.ok(victim, 'the lease is on one of the devnet providers')
    const other = devnet.providers.find((p) => p !== victim)
    assert.ok(other?.ingressUrl, 'the other provider has an ingress')
    process.kill(-victim.pid, 'SIGKILL')
    const killedAt = performance.now()

    // Nothing else is done: the watcher reports the fault, the order reopens, the other provider wins it.
    const answered = await eventually(
      'the service answers through the other provider',
      async () => {
        const running = events.findLast((event) => event.type === 'watch:running')
        const url = running?.type === 'watch:running' ? running.detail.services[0]?.url : undefined
        if (!url) return undefined
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
        if (response.status !== 200) return undefined
        const body = await response.text()
        return PAGE.test(body)
          ? { url, detail: running?.type === 'watch:running' ? running.detail : undefined }
          : undefined
      },
      60_000,
    )
    const seconds = (performance.now() - killedAt) / 1000
    console.log(`kill -9 → answering again through ${other.name}: ${seconds.toFixed(1)} s`)
    assert.ok(
      answered.url.startsWith(other.ingressUrl.replace(/\/$/, '')),
      `${answered.url} is on ${other.name}`,
    )

    const order = await getOrder(alice, { orderId: deployed.orderId })
    assert.ok(order?.leaseId, 'the order is leased again')
    assert.notEqual(order.leaseId, deployed.leaseId)
    assert.equal(answered.detail?.leaseId, order.leaseId)
    const lease = await getLease(alice, { leaseId: order.leaseId })
    assert.equal(lease?.state, 'Active')
    assert.equal(
      lease?.provider.toLowerCase(),
      other.address.toLowerCase(),
      'the new lease is the other provider’s',
    )
    assert.notEqual(lease?.provider.toLowerCase(), victim.address.toLowerCase())
  })
})
