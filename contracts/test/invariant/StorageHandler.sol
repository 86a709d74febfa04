// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Credits } from "../../src/Credits.sol";
import { ProviderRegistry } from "../../src/ProviderRegistry.sol";
import { StorageDeals } from "../../src/StorageDeals.sol";
import { IStorageDeals } from "../../src/interfaces/IStorageDeals.sol";
import { ShardMerkle } from "../../src/lib/ShardMerkle.sol";
import { HandlerBase } from "../utils/HandlerBase.sol";
import { MerkleTree } from "../utils/MerkleTree.sol";

/// @notice Drives StorageDeals through random but valid sequences: deals of 1-3 small shards (real
/// Merkle trees of 1-5 leaves), proofs in their windows, missed periods, replacements, settles, and
/// blocks passing. Keeps ghost totals per deal of credits deposited, paid to providers and refunded
/// to the owner, measured as balance changes in Credits, for the invariant test to compare with the
/// contract's own accounting.
contract StorageHandler is HandlerBase {
    StorageDeals public immutable deals;
    Credits public immutable credits;
    ProviderRegistry public immutable registry;
    address public immutable client;

    address[] internal _providers;
    mapping(address provider => uint256) internal _keys;
    uint256[] internal _dealIds;

    mapping(uint256 dealId => uint256) public ghostDeposited;
    mapping(uint256 dealId => uint256) public ghostPaid;
    mapping(uint256 dealId => uint256) public ghostRefunded;
    mapping(bytes32 action => uint256) public calls;

    constructor(
        StorageDeals deals_,
        Credits credits_,
        ProviderRegistry registry_,
        address client_,
        address[] memory providers_,
        uint256[] memory keys_
    ) {
        deals = deals_;
        credits = credits_;
        registry = registry_;
        client = client_;
        _providers = providers_;
        for (uint256 i; i < keys_.length; ++i) {
            _keys[providers_[i]] = keys_[i];
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    function createDeal(uint256 countSeed, uint256 firstSeed, uint256 sizeSeed, uint256 periodsSeed) external {
        uint256 count = _bound(countSeed, 1, 3);
        uint256 dealId = deals.nextDealId();
        IStorageDeals.DealTerms memory terms = IStorageDeals.DealTerms({
            k: 1,
            pieceSize: uint32(ShardMerkle.LEAF_SIZE),
            pricePerByteSecond: uint64(1e15),
            periods: uint32(_bound(periodsSeed, 1, 4)),
            deadline: uint64(block.timestamp + 1 hours)
        });
        IStorageDeals.ShardSpec[] memory specs = new IStorageDeals.ShardSpec[](count);
        bytes[] memory sigs = new bytes[](count);
        uint256 first = firstSeed % _providers.length;
        for (uint256 i; i < count; ++i) {
            address provider = _providers[(first + i) % _providers.length];
            if (!registry.isActive(provider)) return; // slashed out: try another time
            uint64 size = uint64(_bound(sizeSeed >> (i * 16), 1, 5 * ShardMerkle.LEAF_SIZE));
            specs[i] = IStorageDeals.ShardSpec({
                provider: provider,
                root: rootOf(dealId, i, size),
                size: size,
                erasureIndex: uint8(i)
            });
            sigs[i] = _sign(provider, _acceptance(dealId, i, specs[i].root, size, uint8(i), terms));
        }
        uint256 before = credits.balanceOf(client);
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
        ghostDeposited[dealId] = before - credits.balanceOf(client);
        _dealIds.push(dealId);
        ++calls["createDeal"];
    }

    /// @dev Proves the shard's next period when this block is in its window.
    function prove(uint256 dealSeed, uint256 shardSeed) external {
        (bool found, uint256 dealId, uint16 shardIndex) = _pick(dealSeed, shardSeed);
        if (!found) return;
        IStorageDeals.Shard memory shard = deals.getShard(dealId, shardIndex);
        if (shard.state != IStorageDeals.ShardState.Active || shard.nextPeriod >= shard.periods) return;
        (uint256 start, uint256 end) = deals.provingWindow(dealId, shard.nextPeriod);
        if (block.number < start || block.number >= end) return;
        uint256 leafIndex = deals.challengeOf(dealId, shardIndex, shard.nextPeriod);
        bytes32 seed = dataSeed(dealId, shardIndex);
        bytes32[] memory siblings = MerkleTree.proofOf(MerkleTree.leafHashes(seed, shard.leafCount), leafIndex);
        deals.submitProof(dealId, shardIndex, shard.nextPeriod, MerkleTree.leafOf(seed, leafIndex), siblings);
        ++calls["prove"];
    }

    function markMissed(uint256 dealId_, uint256 shardSeed, address reporter) external {
        (bool found, uint256 dealId, uint16 shardIndex) = _pick(dealId_, shardSeed);
        if (!found || reporter == address(0)) return;
        IStorageDeals.Shard memory shard = deals.getShard(dealId, shardIndex);
        if (shard.state != IStorageDeals.ShardState.Active || shard.nextPeriod >= shard.periods) return;
        if (deals.currentPeriod(dealId) <= shard.nextPeriod) return; // window not closed yet
        uint256 before = credits.balanceOf(shard.provider);
        vm.prank(reporter);
        deals.markMissed(dealId, shardIndex, shard.nextPeriod);
        ghostPaid[dealId] += credits.balanceOf(shard.provider) - before;
        ++calls["markMissed"];
    }

    function replaceShard(uint256 dealSeed, uint256 shardSeed, uint256 providerSeed) external {
        (bool found, uint256 dealId, uint16 shardIndex) = _pick(dealSeed, shardSeed);
        if (!found) return;
        IStorageDeals.Shard memory shard = deals.getShard(dealId, shardIndex);
        IStorageDeals.Deal memory deal = deals.getDeal(dealId);
        if (shard.state != IStorageDeals.ShardState.Lost || deals.currentPeriod(dealId) >= deal.periods) return;
        address provider = _providers[providerSeed % _providers.length];
        if (!registry.isActive(provider)) return;
        for (uint16 i; i < deal.shardCount; ++i) {
            if (deals.getShard(dealId, i).provider == provider) return;
        }
        IStorageDeals.DealTerms memory terms = IStorageDeals.DealTerms({
            k: deal.k,
            pieceSize: deal.pieceSize,
            pricePerByteSecond: deal.pricePerByteSecond,
            periods: deal.periods,
            deadline: uint64(block.timestamp + 1 hours)
        });
        bytes memory sig =
            _sign(provider, _acceptance(dealId, shardIndex, shard.root, shard.size, shard.erasureIndex, terms));
        deals.replaceShard(dealId, shardIndex, provider, terms.deadline, sig);
        ++calls["replaceShard"];
    }

    function settle(uint256 dealSeed) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _dealIds[dealSeed % _dealIds.length];
        IStorageDeals.Deal memory deal = deals.getDeal(dealId);
        if (deal.state != IStorageDeals.DealState.Active) return;
        uint256[] memory before = new uint256[](deal.shardCount);
        for (uint16 i; i < deal.shardCount; ++i) {
            before[i] = credits.balanceOf(deals.getShard(dealId, i).provider);
        }
        uint256 clientBefore = credits.balanceOf(client);
        deals.settle(dealId);
        for (uint16 i; i < deal.shardCount; ++i) {
            ghostPaid[dealId] += credits.balanceOf(deals.getShard(dealId, i).provider) - before[i];
        }
        ghostRefunded[dealId] += credits.balanceOf(client) - clientBefore;
        ++calls["settle"];
    }

    function roll(uint256 blocksSeed) external {
        vm.roll(block.number + _bound(blocksSeed, 1, 15));
        vm.warp(block.timestamp + 2);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function dealIds() external view returns (uint256[] memory) {
        return _dealIds;
    }

    function dataSeed(uint256 dealId, uint256 shardIndex) public pure returns (bytes32) {
        return keccak256(abi.encode("handler shard", dealId, shardIndex));
    }

    function rootOf(uint256 dealId, uint256 shardIndex, uint64 size) public pure returns (bytes32) {
        return MerkleTree.rootOf(MerkleTree.leafHashes(dataSeed(dealId, shardIndex), ShardMerkle.leafCountOf(size)));
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    function _pick(uint256 dealSeed, uint256 shardSeed)
        internal
        view
        returns (bool found, uint256 dealId, uint16 shardIndex)
    {
        if (_dealIds.length == 0) return (false, 0, 0);
        dealId = _dealIds[dealSeed % _dealIds.length];
        IStorageDeals.Deal memory deal = deals.getDeal(dealId);
        if (deal.state != IStorageDeals.DealState.Active) return (false, 0, 0);
        shardIndex = uint16(shardSeed % deal.shardCount);
        found = true;
    }

    function _sign(address provider, IStorageDeals.ShardAcceptance memory acceptance)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_keys[provider], deals.acceptanceDigest(acceptance));
        return abi.encodePacked(r, s, v);
    }

    function _acceptance(
        uint256 dealId,
        uint256 shardIndex,
        bytes32 root,
        uint64 size,
        uint8 erasureIndex,
        IStorageDeals.DealTerms memory terms
    ) internal view returns (IStorageDeals.ShardAcceptance memory) {
        return IStorageDeals.ShardAcceptance({
            owner: client,
            dealId: dealId,
            shardIndex: uint16(shardIndex),
            root: root,
            size: size,
            erasureIndex: erasureIndex,
            pricePerByteSecond: terms.pricePerByteSecond,
            periodBlocks: deals.periodBlocks(),
            periods: terms.periods,
            deadline: terms.deadline
        });
    }
}
