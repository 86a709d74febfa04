// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { PRBTest } from "@prb/test/PRBTest.sol";

import { ShardMerkle } from "../src/lib/ShardMerkle.sol";
import { MerkleHarness } from "./harness/MerkleHarness.sol";
import { MerkleTree } from "./utils/MerkleTree.sol";

/// @notice ShardMerkle against the reference tree builder (test/utils/MerkleTree.sol): real proofs of
/// random trees verify, any flipped bit of leaf, sibling, root or position does not.
contract ShardMerkleTest is PRBTest {
    MerkleHarness internal harness;

    function setUp() public {
        harness = new MerkleHarness();
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + x % (max - min + 1);
    }

    /*//////////////////////////////////////////////////////////////
                               FIXED CASES
    //////////////////////////////////////////////////////////////*/

    function test_leafCountOf() public {
        assertEq(harness.leafCountOf(0), 1);
        assertEq(harness.leafCountOf(1), 1);
        assertEq(ShardMerkle.LEAF_SIZE, 512);
        assertEq(harness.leafCountOf(512), 1);
        assertEq(harness.leafCountOf(513), 2);
        assertEq(harness.leafCountOf(1024), 2);
        assertEq(harness.leafCountOf(1 << 30), 1 << 21);
        assertEq(harness.leafCountOf(type(uint256).max), type(uint256).max / 512 + 1);
    }

    /// @dev One leaf: the root is the leaf hash, the proof has no sibling.
    function test_verify_singleLeaf() public {
        bytes memory leaf = MerkleTree.leafOf("one", 0);
        bytes32 root = ShardMerkle.hashLeaf(leaf);
        assertTrue(harness.verify(root, 1, 0, leaf, new bytes32[](0)));
        assertFalse(harness.verify(root, 1, 1, leaf, new bytes32[](0)), "index outside");
        assertFalse(harness.verify(root, 1, 0, leaf, new bytes32[](1)), "extra sibling");
    }

    /// @dev Three leaves: the third is promoted at level 0, so its proof is one sibling (node 01).
    function test_verify_promotedNode() public {
        bytes32[] memory hashes = MerkleTree.leafHashes("three", 3);
        bytes32 node01 = ShardMerkle.hashNode(hashes[0], hashes[1]);
        bytes32 root = ShardMerkle.hashNode(node01, hashes[2]);
        assertEq(MerkleTree.rootOf(hashes), root);
        bytes32[] memory siblings = new bytes32[](1);
        siblings[0] = node01;
        assertTrue(harness.verify(root, 3, 2, MerkleTree.leafOf("three", 2), siblings));
        bytes32[] memory proof0 = MerkleTree.proofOf(hashes, 0);
        assertEq(proof0.length, 2);
        assertEq(proof0[0], hashes[1]);
        assertEq(proof0[1], hashes[2]);
        assertTrue(harness.verify(root, 3, 0, MerkleTree.leafOf("three", 0), proof0));
    }

    /// @dev A leaf hash cannot pass as a node (domain separation) and the leaf must be exactly 512 bytes.
    function test_verify_rejectsWrongLeafSize() public {
        bytes memory shortLeaf = new bytes(ShardMerkle.LEAF_SIZE - 1);
        assertFalse(harness.verify(ShardMerkle.hashLeaf(shortLeaf), 1, 0, shortLeaf, new bytes32[](0)));
        bytes memory longLeaf = new bytes(ShardMerkle.LEAF_SIZE + 1);
        assertFalse(harness.verify(ShardMerkle.hashLeaf(longLeaf), 1, 0, longLeaf, new bytes32[](0)));
        // The former 1 KiB leaf size is refused too.
        longLeaf = new bytes(1024);
        assertFalse(harness.verify(ShardMerkle.hashLeaf(longLeaf), 1, 0, longLeaf, new bytes32[](0)));
    }

    /// @dev Missing siblings and a zero leaf count are refused.
    function test_verify_rejectsMissingSibling() public {
        bytes32[] memory hashes = MerkleTree.leafHashes("four", 4);
        bytes32 root = MerkleTree.rootOf(hashes);
        bytes32[] memory proof = MerkleTree.proofOf(hashes, 1);
        bytes32[] memory short = new bytes32[](1);
        short[0] = proof[0];
        bytes memory leaf = MerkleTree.leafOf("four", 1);
        assertTrue(harness.verify(root, 4, 1, leaf, proof));
        assertFalse(harness.verify(root, 4, 1, leaf, short));
        assertFalse(harness.verify(root, 0, 1, leaf, proof));
        assertFalse(harness.verify(root, 5, 1, leaf, proof), "other leaf count");
    }

    /// @dev 1 GiB shard: 2^21 leaves of 512 bytes, 21 siblings.
    function test_verify_oneGiBShard() public {
        bytes memory leaf = MerkleTree.leafOf("gib", 0);
        (bytes32 root, bytes32[] memory siblings) = MerkleTree.uniformTree(leaf, 21);
        assertEq(harness.leafCountOf(1 << 30), 1 << 21);
        assertTrue(harness.verify(root, 1 << 21, 1_234_567, leaf, siblings));
        assertFalse(harness.verify(root, (1 << 21) + 1, 1_234_567, leaf, siblings));
    }

    /*//////////////////////////////////////////////////////////////
                                  FUZZ
    //////////////////////////////////////////////////////////////*/

    /// @dev Every leaf of a random tree (1..40 leaves) verifies with its proof, and flipping any one bit
    /// of the leaf, a sibling or the root makes it fail.
    /// forge-config: default.fuzz.runs = 128
    /// forge-config: ci.fuzz.runs = 512
    function testFuzz_verify_realProofsPassFlippedBitsFail(
        bytes32 seed,
        uint256 countSeed,
        uint256 indexSeed,
        uint256 bitSeed
    ) public {
        uint256 leafCount = _bound(countSeed, 1, 40);
        uint256 index = indexSeed % leafCount;
        bytes32[] memory hashes = MerkleTree.leafHashes(seed, leafCount);
        bytes32 root = MerkleTree.rootOf(hashes);
        bytes32[] memory siblings = MerkleTree.proofOf(hashes, index);
        bytes memory leaf = MerkleTree.leafOf(seed, index);
        assertTrue(harness.verify(root, leafCount, index, leaf, siblings), "real proof");

        // Flip one bit somewhere in leaf || siblings || root.
        uint256 totalBits = (leaf.length + 32 * siblings.length + 32) * 8;
        uint256 bit = bitSeed % totalBits;
        uint256 byteIndex = bit / 8;
        bytes1 mask = bytes1(uint8(2 ** (bit % 8)));
        if (byteIndex < leaf.length) {
            leaf[byteIndex] ^= mask;
        } else if (byteIndex < leaf.length + 32 * siblings.length) {
            uint256 at = byteIndex - leaf.length;
            siblings[at / 32] ^= bytes32(mask) >> (8 * (at % 32));
        } else {
            root ^= bytes32(mask) >> (8 * (byteIndex - leaf.length - 32 * siblings.length));
        }
        assertFalse(harness.verify(root, leafCount, index, leaf, siblings), "flipped bit");
    }

    /// @dev A real proof does not pass for another index of the same tree.
    /// forge-config: default.fuzz.runs = 128
    /// forge-config: ci.fuzz.runs = 512
    function testFuzz_verify_wrongIndexFails(bytes32 seed, uint256 countSeed, uint256 indexSeed, uint256 otherSeed)
        public
    {
        uint256 leafCount = _bound(countSeed, 2, 40);
        uint256 index = indexSeed % leafCount;
        uint256 other = otherSeed % leafCount;
        if (other == index) other = (index + 1) % leafCount;
        bytes32[] memory hashes = MerkleTree.leafHashes(seed, leafCount);
        bytes memory leaf = MerkleTree.leafOf(seed, index);
        assertFalse(harness.verify(MerkleTree.rootOf(hashes), leafCount, other, leaf, MerkleTree.proofOf(hashes, index)));
    }
}
