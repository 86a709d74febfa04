// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { ShardMerkle } from "../../src/lib/ShardMerkle.sol";

/// @notice Exposes `ShardMerkle` for tests outside Solidity: the protocol package's TypeScript test
/// deploys this artifact (out/MerkleHarness.sol/MerkleHarness.json) on anvil and checks that the
/// contract accepts the proofs the TypeScript tree builds and rejects altered ones. Keep the name and
/// the signatures: that test codes against them.
contract MerkleHarness {
    /// @notice `ShardMerkle.verify`: whether `leaf` at `leafIndex` of a `leafCount`-leaf tree proves
    /// `root` through `siblings` (bottom to top).
    function verify(
        bytes32 root,
        uint256 leafCount,
        uint256 leafIndex,
        bytes calldata leaf,
        bytes32[] calldata siblings
    ) external view returns (bool) {
        return ShardMerkle.verify(root, leafCount, leafIndex, leaf, siblings);
    }

    /// @notice `ShardMerkle.leafCountOf`: `max(1, ceil(size / LEAF_SIZE))`.
    function leafCountOf(uint256 size) external pure returns (uint256) {
        return ShardMerkle.leafCountOf(size);
    }
}
