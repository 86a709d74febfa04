// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { ShardMerkle } from "../../src/lib/ShardMerkle.sol";

/// @notice Builds shard Merkle trees in memory exactly as docs/storage-spec.md section 2 says (the
/// reference the on-chain verifier is tested against): leaf hashes, pairs hashed level by level, an
/// odd last node promoted, proofs from bottom to top without the promoted levels.
library MerkleTree {
    /// @dev Deterministic pseudo-random leaves of `LEAF_SIZE` (512) bytes: leaf `i` of `seed` is 16 keccak words.
    function leafOf(bytes32 seed, uint256 i) internal pure returns (bytes memory leaf) {
        leaf = new bytes(ShardMerkle.LEAF_SIZE);
        bytes32 word = keccak256(abi.encode(seed, i));
        for (uint256 offset; offset < ShardMerkle.LEAF_SIZE; offset += 32) {
            assembly ("memory-safe") {
                mstore(add(add(leaf, 0x20), offset), word)
            }
            word = keccak256(abi.encode(word));
        }
    }

    /// @dev Level 0 (leaf hashes) of `leafCount` leaves of `seed`.
    function leafHashes(bytes32 seed, uint256 leafCount) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](leafCount);
        for (uint256 i; i < leafCount; ++i) {
            hashes[i] = ShardMerkle.hashLeaf(leafOf(seed, i));
        }
    }

    /// @dev The level above `level`: pairs hashed, an odd last node promoted.
    function up(bytes32[] memory level) internal pure returns (bytes32[] memory next) {
        uint256 width = level.length;
        next = new bytes32[]((width + 1) / 2);
        for (uint256 j; j < next.length; ++j) {
            next[j] = 2 * j + 1 < width ? ShardMerkle.hashNode(level[2 * j], level[2 * j + 1]) : level[2 * j];
        }
    }

    /// @dev The root over level-0 hashes.
    function rootOf(bytes32[] memory hashes) internal pure returns (bytes32) {
        bytes32[] memory level = hashes;
        while (level.length > 1) {
            level = up(level);
        }
        return level[0];
    }

    /// @dev The proof of leaf `index` over level-0 `hashes`: siblings bottom to top.
    function proofOf(bytes32[] memory hashes, uint256 index) internal pure returns (bytes32[] memory siblings) {
        bytes32[] memory buffer = new bytes32[](256);
        uint256 count;
        bytes32[] memory level = hashes;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) buffer[count++] = level[sibling];
            level = up(level);
            index >>= 1;
        }
        siblings = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            siblings[i] = buffer[i];
        }
    }

    /// @dev Siblings of leaf `index` in a tree of `2^depth` leaves where every leaf is `leaf`, with the
    /// root: level `l` is then one repeated node, so a 1 GiB shard (2^21 leaves, depth 21) costs 21 hashes.
    function uniformTree(bytes memory leaf, uint256 depth)
        internal
        pure
        returns (bytes32 root, bytes32[] memory siblings)
    {
        siblings = new bytes32[](depth);
        bytes32 node = ShardMerkle.hashLeaf(leaf);
        for (uint256 l; l < depth; ++l) {
            siblings[l] = node;
            node = ShardMerkle.hashNode(node, node);
        }
        root = node;
    }
}
