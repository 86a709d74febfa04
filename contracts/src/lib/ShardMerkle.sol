// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ShardMerkle
/// @notice Verifies a storage proof: one 512-byte leaf of a shard against the shard's Merkle root, as
/// docs/storage-spec.md section 2 defines the tree (sha256 with RFC 6962 domain separation, an odd
/// node at the end of a level promoted unchanged). The TypeScript implementation in the protocol
/// package builds the same trees; a test compares the two through `test/harness/MerkleHarness.sol`.
/// @dev Tree rules:
/// - leaves are exactly `LEAF_SIZE` bytes (the shard's last leaf zero-padded), `leafCount =
///   max(1, ceil(size / LEAF_SIZE))`;
/// - `leafHash = sha256(0x00 || leaf)`, `nodeHash = sha256(0x01 || left || right)`;
/// - level `l + 1` pairs nodes `(2j, 2j + 1)` of level `l`; the last node of a level with an odd
///   count is promoted unchanged, and a proof carries no sibling for that level;
/// - `siblings` run from the bottom (the leaf's sibling) to the top.
/// Hashing goes straight to the sha256 precompile (address 2) from memory past the free memory
/// pointer, which is never advanced: a proof allocates nothing.
library ShardMerkle {
    /// @notice Bytes per leaf.
    uint256 internal constant LEAF_SIZE = 512;

    /// @dev The sha256 precompile.
    uint256 private constant _SHA256 = 0x02;

    /// @notice Whether `leaf` (exactly `LEAF_SIZE` bytes) at `leafIndex` of a tree of `leafCount`
    /// leaves hashes up to `root` through `siblings` (bottom to top, none for a promoted level).
    /// @dev False (never a revert) for a leaf of another size, an index outside the tree, too few or
    /// too many siblings, or a root that does not match. Reverts only if the precompile call fails
    /// (out of gas).
    function verify(
        bytes32 root,
        uint256 leafCount,
        uint256 leafIndex,
        bytes calldata leaf,
        bytes32[] calldata siblings
    ) internal view returns (bool valid) {
        if (leaf.length != LEAF_SIZE || leafIndex >= leafCount) return false;
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            // Leaf hash: sha256(0x00 || leaf), 1 + LEAF_SIZE bytes.
            mstore8(buffer, 0x00)
            calldatacopy(add(buffer, 1), leaf.offset, LEAF_SIZE)
            if iszero(staticcall(gas(), _SHA256, buffer, add(LEAF_SIZE, 1), 0x00, 0x20)) { revert(0x00, 0x00) }

            // Node hash: sha256(0x01 || left || right), 65 bytes from buffer. The running node is
            // kept in memory at scratch 0x00 (where each hash lands) and copied into place.
            mstore8(buffer, 0x01)
            let left := add(buffer, 1)
            let index := leafIndex
            let last := sub(leafCount, 1) // index of the last node of the current level
            let next := siblings.offset
            let end := add(next, shl(5, siblings.length))
            // Bounded: `last` halves each level, so at most 256 rounds.
            for { } last { } {
                // A left node with no right neighbour (index == last, even) is promoted unchanged.
                if or(and(index, 1), lt(index, last)) {
                    if eq(next, end) {
                        // Too few siblings: fail (valid stays false).
                        end := 0
                        break
                    }
                    // Right child (odd index): sibling on the left, node on the right; else the reverse.
                    let nodeAt := shl(5, and(index, 1))
                    mstore(add(left, nodeAt), mload(0x00))
                    mstore(sub(add(left, 32), nodeAt), calldataload(next))
                    next := add(next, 0x20)
                    if iszero(staticcall(gas(), _SHA256, buffer, 65, 0x00, 0x20)) { revert(0x00, 0x00) }
                }
                index := shr(1, index)
                last := shr(1, last)
            }
            valid := and(eq(next, end), eq(mload(0x00), root))
        }
    }

    /// @notice Leaves of a shard of `size` bytes: `max(1, ceil(size / LEAF_SIZE))`.
    function leafCountOf(uint256 size) internal pure returns (uint256) {
        if (size == 0) return 1;
        // No overflow: computed as a quotient plus a 0/1 remainder flag.
        return size / LEAF_SIZE + (size % LEAF_SIZE == 0 ? 0 : 1);
    }

    /// @notice `sha256(0x00 || leaf)` for a leaf in memory (any length; proofs need `LEAF_SIZE`).
    /// @dev For tests and off-chain tooling that build trees in Solidity.
    function hashLeaf(bytes memory leaf) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), leaf));
    }

    /// @notice `sha256(0x01 || left || right)`.
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }
}
