import { createErasureCoder, NotEnoughShardsError } from '@stoa/storage'

// 4 data shards and 2 parity shards: any 4 of the 6 rebuild everything.
const coder = createErasureCoder({ k: 4, m: 2 })

// Split a segment into k equally long data shards (the last one zero-padded).
const segment = new TextEncoder().encode('Stoa keeps four of six shards apart.')
const shardSize = Math.ceil(segment.length / coder.k)
const data = Array.from({ length: coder.k }, (_, i) => {
  const shard = new Uint8Array(shardSize)
  shard.set(segment.subarray(i * shardSize, (i + 1) * shardSize))
  return shard
})
const parity = coder.encode(data)
console.log(parity.length, parity[0]?.length) // → 2 9

// Two providers vanish, one holding data and one holding parity: rebuild both in place.
const shards: (Uint8Array | undefined)[] = [data[0], undefined, data[2], data[3], undefined, parity[1]]
coder.reconstruct(shards)
const joined = new Uint8Array(coder.k * shardSize)
for (const [i, shard] of shards.slice(0, coder.k).entries()) joined.set(shard as Uint8Array, i * shardSize)
console.log(new TextDecoder().decode(joined.subarray(0, segment.length))) // → Stoa keeps four of six shards apart.
// A repaired parity shard has the same bytes, hence the same Merkle root on chain.
console.log(shards[4]?.every((byte, i) => byte === parity[0]?.[i])) // → true

// Three losses are one too many.
try {
  coder.reconstruct([data[0], undefined, undefined, undefined, parity[0], parity[1]])
} catch (error) {
  if (error instanceof NotEnoughShardsError) console.log(error.shortMessage) // → Only 3 of 6 shards are present; rebuilding needs any 4 of them.
}
