import { formatCredits, formatStoa, parseCredits, parseStoa } from '@stoa/protocol'
import { createStoaClient } from '@stoa/sdk'
import { deployStoa, devnetAccount, fundDevnetAccounts, startAnvil } from '@stoa/sdk/devnet'
import { sha256, stringToHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

// A local chain with the contracts deployed and the devnet accounts funded (what `stoa devnet` runs).
const anvil = await startAnvil()
const deployment = await deployStoa({
  rpcUrl: anvil.rpcUrl,
  deployerKey: devnetAccount('deployer').privateKey,
})
await fundDevnetAccounts({ rpcUrl: anvil.rpcUrl, deployment })

const tenant = createStoaClient({
  deployment,
  account: privateKeyToAccount(devnetAccount('alice').privateKey),
})
const provider = createStoaClient({
  deployment,
  account: privateKeyToAccount(devnetAccount('provider1').privateKey),
})

// The tenant buys $5 of credits, burning STOA at the oracle price (approve, then buy).
const bought = await tenant.buyCredits({ credits: parseCredits('5') })
console.log(`bought $${formatCredits(bought.credits)} of credits for ${formatStoa(bought.stoaAmount)} STOA`)

// A provider registers in eu-west and bonds 100 STOA.
const { providerId } = await provider.registerProvider({
  gatewayUrl: 'http://127.0.0.1:8080',
  region: 'eu-west',
  capacity: { cpuMillis: 8_000, memoryMiB: 16_384, storageGiB: 200 },
  attributes: { 'gpu.model': 'none' },
  stake: parseStoa('100'),
})

// The tenant orders one core and 1 GiB in Europe, at most $0.10/h, with $2 in escrow.
const { orderId } = await tenant.createOrder({
  resources: { cpuMillis: 1_000, memoryMiB: 1_024 },
  regions: ['eu-west', 'eu-central'],
  maxUsdPerHour: '0.10',
  depositUsd: '2',
  bidWindowSeconds: 30,
  manifestHash: sha256(stringToHex('{"services":{"web":{"image":"busybox"}}}')),
})

// The provider bids; the tenant takes the cheapest bid, and the lease streams escrow per second.
await provider.bid({ orderId, usdPerHour: '0.08' })
const [best] = await tenant.getBids({ orderId })
if (!best) throw new Error('no bids')
const { leaseId } = await tenant.acceptBid({ orderId, provider: best.provider })
console.log(`order ${orderId}: lease ${leaseId} with provider #${providerId}`)

// Anyone may settle; the tenant closes the lease and gets the unspent escrow back.
await tenant.settle({ leaseId })
const { closed, refund } = await tenant.closeLease({ leaseId, note: 'done' })
const lease = await tenant.getLease({ leaseId })
console.log(
  `${closed?.reason}: $${formatCredits(refund)} refunded, $${formatCredits(lease?.earned ?? 0n)} earned`,
)

await anvil.stop()
