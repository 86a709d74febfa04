import { BaseError } from '@stoa/protocol'

const docsPath = 'packages/storage/README.md#erasure-coding'

export type ShardSizeMismatchErrorType = ShardSizeMismatchError & { name: 'ShardSizeMismatchError' }

/** Shards of one stripe must all have the same length; `index` names the first one that does not. */
export class ShardSizeMismatchError extends BaseError {
  index: number
  size: number
  expected: number
  constructor(parameters: { index: number; size: number; expected: number }) {
    const { index, size, expected } = parameters
    super(`Shard ${index} is ${size} bytes long, but the other shards are ${expected} bytes long.`, {
      name: 'ShardSizeMismatchError',
      metaMessages: ['Every shard of an erasure-coded stripe has the same length; pad the data first.'],
      docsPath,
    })
    this.index = index
    this.size = size
    this.expected = expected
  }
}

export type NotEnoughShardsErrorType = NotEnoughShardsError & { name: 'NotEnoughShardsError' }

/** Fewer than k shards are present: the data cannot be rebuilt. */
export class NotEnoughShardsError extends BaseError {
  available: number
  needed: number
  constructor(parameters: { available: number; needed: number; total: number }) {
    const { available, needed, total } = parameters
    super(`Only ${available} of ${total} shards are present; rebuilding needs any ${needed} of them.`, {
      name: 'NotEnoughShardsError',
      metaMessages: [`A ${needed}-of-${total} code survives the loss of at most ${total - needed} shards.`],
      docsPath,
    })
    this.available = available
    this.needed = needed
  }
}
