import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { type AnvilInstance, devnetAccount, startAnvil } from '@stoa/sdk/devnet'
import fc from 'fast-check'
import { type Abi, type Address, createPublicClient, createWalletClient, type Hex, http, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { createMerkleBuilder, LEAF_SIZE, leafCountOf, proofSiblings, verifyProof } from '../src/index.ts'

// The contract side of the tree (contracts/src/lib/ShardMerkle.sol through its test harness) must
// accept exactly the proofs the TypeScript verifier accepts: providers build proofs here and the
// chain checks them there.
const artifactPath = new URL('../../../contracts/out/MerkleHarness.sol/MerkleHarness.json', import.meta.url)
const artifact = JSON.parse(readFileSync(artifactPath, 'utf8')) as { abi: Abi; bytecode: { object: Hex } }

type Proof = {
  root: Uint8Array
  leafCount: number
  leafIndex: number
  leaf: Uint8Array
  siblings: Uint8Array[]
}

describe('Merkle proofs: TypeScript and Solidity agree', () => {
  let anvil: AnvilInstance
  let harness: Address
  let publicClient: ReturnType<typeof createPublicClient>

  before(async () => {
    anvil = await startAnvil()
    const account = privateKeyToAccount(devnetAccount('deployer').privateKey)
    const transport = http(anvil.rpcUrl)
    const wallet = createWalletClient({ account, chain: foundry, transport })
    publicClient = createPublicClient({ chain: foundry, transport })
    const hash = await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode.object })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    assert.ok(receipt.contractAddress)
    harness = receipt.contractAddress
  })

  after(async () => {
    await anvil?.stop()
  })

  const onChain = async (proof: Proof): Promise<boolean> =>
    (await publicClient.readContract({
      address: harness,
      abi: artifact.abi,
      functionName: 'verify',
      args: [
        toHex(proof.root),
        BigInt(proof.leafCount),
        BigInt(proof.leafIndex),
        toHex(proof.leaf),
        proof.siblings.map((s) => toHex(s)),
      ],
    })) as boolean

  test('leafCountOf matches', async () => {
    for (const size of [0, 1, 511, 512, 513, 1023, 1024, 1025, 5 * 512, 5 * 1024, 1 << 30]) {
      const count = await publicClient.readContract({
        address: harness,
        abi: artifact.abi,
        functionName: 'leafCountOf',
        args: [BigInt(size)],
      })
      assert.equal(count, BigInt(leafCountOf(size)))
    }
  })

  test('random trees, valid and mutated proofs (fast-check, fixed seed)', async () => {
    const mutations = [
      'none',
      'leaf byte',
      'sibling byte',
      'drop sibling',
      'extra sibling',
      'other index',
      'other leaf count',
      'short leaf',
      'root byte',
    ] as const
    let accepted = 0
    let checked = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.constantFrom(...mutations),
        fc.nat(),
        async (leafCount, indexSeed, mutation, pick) => {
          const size = leafCount * LEAF_SIZE - (pick % LEAF_SIZE)
          const data = new Uint8Array(Math.max(0, size))
          for (let i = 0; i < data.length; i++) data[i] = (i * 31 + pick) & 0xff
          const builder = createMerkleBuilder({ keepLevelsFrom: 0 })
          builder.update(data)
          const tree = builder.finish()
          const leafIndex = indexSeed % tree.leafCount
          const siblings = proofSiblings(leafIndex, tree.leafCount, (level, index) =>
            (tree.levels.get(level) as Uint8Array).slice(index * 32, index * 32 + 32),
          )
          const leaf = new Uint8Array(LEAF_SIZE)
          leaf.set(data.subarray(leafIndex * LEAF_SIZE, (leafIndex + 1) * LEAF_SIZE))
          const proof: Proof = { root: tree.root, leafCount: tree.leafCount, leafIndex, leaf, siblings }
          const flip = (bytes: Uint8Array, at: number) => {
            const copy = bytes.slice()
            copy[at % copy.length] = (copy[at % copy.length] as number) ^ 1
            return copy
          }
          switch (mutation) {
            case 'leaf byte':
              proof.leaf = flip(leaf, pick)
              break
            case 'sibling byte':
              if (siblings.length > 0)
                proof.siblings = siblings.map((s, i) => (i === pick % siblings.length ? flip(s, pick) : s))
              break
            case 'drop sibling':
              proof.siblings = siblings.filter((_, i) => i !== pick % Math.max(1, siblings.length))
              break
            case 'extra sibling':
              proof.siblings = [...siblings, tree.root]
              break
            case 'other index':
              proof.leafIndex = (leafIndex + 1 + (pick % (tree.leafCount + 1))) % (tree.leafCount + 2)
              break
            case 'other leaf count':
              proof.leafCount = Math.max(0, tree.leafCount + (pick % 2 === 0 ? 1 : -1) * (1 + (pick % 5)))
              break
            case 'short leaf':
              proof.leaf = leaf.subarray(0, LEAF_SIZE - 1 - (pick % 100))
              break
            case 'root byte':
              proof.root = flip(tree.root, pick)
              break
          }
          const expected = verifyProof(proof)
          if (mutation === 'none') assert.ok(expected, 'a fresh proof verifies in TypeScript')
          assert.equal(
            await onChain(proof),
            expected,
            `${mutation}: leaf ${proof.leafIndex} of ${proof.leafCount}`,
          )
          checked++
          if (expected) accepted++
        },
      ),
      { seed: 4242, numRuns: 60 },
    )
    assert.ok(
      accepted > 0 && accepted < checked,
      `${accepted} of ${checked} accepted: both outcomes were exercised`,
    )
  })
})
