// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { StorageDeals } from "../src/StorageDeals.sol";
import { IStorageDeals } from "../src/interfaces/IStorageDeals.sol";
import { ShardMerkle } from "../src/lib/ShardMerkle.sol";
import { MerkleTree } from "./utils/MerkleTree.sol";
import { StoaFixture } from "./utils/StoaFixture.sol";

/// @notice A deployed and wired core plus StorageDeals (credits and registry list it as a protocol
/// contract), a funded owner, providers with signing keys, and helpers that build shards as real
/// Merkle trees, sign acceptances and submit valid proofs.
abstract contract StorageBase is StoaFixture {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev In 1e-18 credit units per byte per second: far above the real price (about 771_600 for USD 2
    /// per TB-month) so that 8 KiB test shards earn a non-zero payment per period (327 units).
    uint64 internal constant PRICE = 1e15;
    uint32 internal constant PERIOD_BLOCKS = 20;
    uint32 internal constant WINDOW_BLOCKS = 10;
    uint32 internal constant SECONDS_PER_BLOCK = 2;
    uint256 internal constant MISSED_PROOF_SLASH = 100e18;
    uint256 internal constant PROVIDER_COUNT = 10;
    /// @dev Test shards are 8 KiB (16 leaves of 512 bytes) unless a test says otherwise.
    uint64 internal constant SHARD_SIZE = 8 * 1024;
    /// @dev Leaves of a test shard: 8 KiB / `ShardMerkle.LEAF_SIZE` (512 bytes).
    uint256 internal constant SHARD_LEAVES = SHARD_SIZE / ShardMerkle.LEAF_SIZE;
    uint256 internal constant START_BLOCK = 1_000;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    StorageDeals internal deals;
    address internal client;
    address internal stranger;
    address[] internal providers;
    mapping(address provider => uint256) internal keyOf;

    /*//////////////////////////////////////////////////////////////
                                  SETUP
    //////////////////////////////////////////////////////////////*/

    function setUp() public virtual {
        deployCore();
        vm.roll(START_BLOCK);
        deals = new StorageDeals(address(this), credits, registry);
        credits.setProtocol(address(deals), true);
        registry.setProtocol(address(deals), true);
        vm.label(address(deals), "StorageDeals");

        client = _makeAddr("client");
        stranger = _makeAddr("stranger");
        _fundCredits(client, 1_000_000e6);
        for (uint256 i; i < PROVIDER_COUNT; ++i) {
            uint256 key = uint256(keccak256(abi.encode("stoa.storage.provider", i)));
            address provider = vm.addr(key);
            vm.label(provider, string.concat("provider", vm.toString(i)));
            keyOf[provider] = key;
            providers.push(provider);
            _registerProvider(provider, 8);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev The shard data seed of (deal, shard): leaf i is MerkleTree.leafOf(seed, i).
    function _dataSeed(uint256 dealId, uint256 shardIndex) internal pure returns (bytes32) {
        return keccak256(abi.encode("shard", dealId, shardIndex));
    }

    function _rootOf(uint256 dealId, uint256 shardIndex, uint64 size) internal pure returns (bytes32) {
        return MerkleTree.rootOf(MerkleTree.leafHashes(_dataSeed(dealId, shardIndex), ShardMerkle.leafCountOf(size)));
    }

    function _terms(uint32 periods) internal view returns (IStorageDeals.DealTerms memory) {
        return IStorageDeals.DealTerms({
            k: 2,
            pieceSize: 4096,
            pricePerByteSecond: PRICE,
            periods: periods,
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    /// @dev Shards for deal `dealId` held by providers[first + i], 8 KiB each, erasure index i.
    function _specs(uint256 dealId, uint256 count, uint256 first)
        internal
        view
        returns (IStorageDeals.ShardSpec[] memory specs)
    {
        specs = new IStorageDeals.ShardSpec[](count);
        for (uint256 i; i < count; ++i) {
            specs[i] = IStorageDeals.ShardSpec({
                provider: providers[first + i],
                root: _rootOf(dealId, i, SHARD_SIZE),
                size: SHARD_SIZE,
                // forge-lint: disable-next-line(unsafe-typecast)
                erasureIndex: uint8(i)
            });
        }
    }

    function _acceptance(
        address owner,
        uint256 dealId,
        uint256 shardIndex,
        IStorageDeals.ShardSpec memory spec,
        IStorageDeals.DealTerms memory terms
    ) internal view returns (IStorageDeals.ShardAcceptance memory) {
        return IStorageDeals.ShardAcceptance({
            owner: owner,
            dealId: dealId,
            // forge-lint: disable-next-line(unsafe-typecast)
            shardIndex: uint16(shardIndex),
            root: spec.root,
            size: spec.size,
            erasureIndex: spec.erasureIndex,
            pricePerByteSecond: terms.pricePerByteSecond,
            periodBlocks: deals.periodBlocks(),
            periods: terms.periods,
            deadline: terms.deadline
        });
    }

    function _sign(uint256 key, IStorageDeals.ShardAcceptance memory a) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, deals.acceptanceDigest(a));
        return abi.encodePacked(r, s, v);
    }

    function _signAll(
        address owner,
        uint256 dealId,
        IStorageDeals.ShardSpec[] memory specs,
        IStorageDeals.DealTerms memory terms
    ) internal view returns (bytes[] memory sigs) {
        sigs = new bytes[](specs.length);
        for (uint256 i; i < specs.length; ++i) {
            sigs[i] = _sign(keyOf[specs[i].provider], _acceptance(owner, dealId, i, specs[i], terms));
        }
    }

    /// @dev A deal of `count` 8 KiB shards for `periods` periods by the client, providers from `first`.
    function _createDeal(uint256 count, uint32 periods, uint256 first) internal returns (uint256 dealId) {
        dealId = deals.nextDealId();
        IStorageDeals.DealTerms memory terms = _terms(periods);
        if (count < terms.k) terms.k = 1;
        IStorageDeals.ShardSpec[] memory specs = _specs(dealId, count, first);
        bytes[] memory sigs = _signAll(client, dealId, specs, terms);
        vm.prank(client);
        assertEq(deals.createDeal(terms, specs, sigs), dealId);
    }

    /// @dev Rolls to the first block of `period`'s window.
    function _rollToWindow(uint256 dealId, uint32 period) internal {
        (uint256 start,) = deals.provingWindow(dealId, period);
        vm.roll(start);
    }

    /// @dev A valid proof of the shard's challenge in `period` (this block must be in its window).
    function _proof(uint256 dealId, uint16 shardIndex, uint32 period)
        internal
        view
        returns (bytes memory leaf, bytes32[] memory siblings)
    {
        uint256 leafIndex = deals.challengeOf(dealId, shardIndex, period);
        bytes32 seed = _dataSeed(dealId, shardIndex);
        uint256 leafCount = deals.getShard(dealId, shardIndex).leafCount;
        leaf = MerkleTree.leafOf(seed, leafIndex);
        siblings = MerkleTree.proofOf(MerkleTree.leafHashes(seed, leafCount), leafIndex);
    }

    function _prove(uint256 dealId, uint16 shardIndex, uint32 period) internal {
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, shardIndex, period);
        deals.submitProof(dealId, shardIndex, period, leaf, siblings);
    }

    function _payment(uint64 size) internal pure returns (uint256) {
        return uint256(size) * PRICE * PERIOD_BLOCKS * SECONDS_PER_BLOCK / 1e18;
    }
}
