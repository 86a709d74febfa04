// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";

import { StorageDeals } from "../src/StorageDeals.sol";
import { IProviderRegistry } from "../src/interfaces/IProviderRegistry.sol";
import { IStorageDeals } from "../src/interfaces/IStorageDeals.sol";
import { ShardMerkle } from "../src/lib/ShardMerkle.sol";
import { StorageBase } from "./StorageBase.t.sol";
import { MerkleTree } from "./utils/MerkleTree.sol";

/// @notice StorageDeals unit tests: every function's happy path and every revert.
contract StorageDealsTest is StorageBase {
    uint32 internal constant PERIODS = 3;

    event DealCreated(
        uint256 indexed dealId,
        address indexed owner,
        uint8 k,
        uint16 shardCount,
        uint32 pieceSize,
        uint64 pricePerByteSecond,
        uint64 startBlock,
        uint32 periodBlocks,
        uint32 windowBlocks,
        uint32 periods,
        uint256 escrow
    );
    event ShardProven(uint256 indexed dealId, uint16 shardIndex, uint32 period);
    event ShardLost(
        uint256 indexed dealId, uint16 indexed shardIndex, address indexed provider, uint32 period, uint256 slashed
    );
    event ShardReplaced(
        uint256 indexed dealId, uint16 indexed shardIndex, address indexed provider, address previousProvider, uint32 fromPeriod
    );
    event DealEnded(uint256 indexed dealId, uint256 refund);

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_constructor_defaults() public {
        assertEq(address(deals.credits()), address(credits));
        assertEq(address(deals.registry()), address(registry));
        assertEq(deals.nextDealId(), 1);
        assertEq(uint256(deals.periodBlocks()), PERIOD_BLOCKS);
        assertEq(uint256(deals.windowBlocks()), WINDOW_BLOCKS);
        assertEq(uint256(deals.secondsPerBlock()), SECONDS_PER_BLOCK);
        assertEq(uint256(deals.maxShards()), 256);
        assertEq(uint256(deals.missedProofSlash()), MISSED_PROOF_SLASH);
        assertEq(
            deals.SHARD_ACCEPTANCE_TYPEHASH(),
            keccak256(
                "ShardAcceptance(address owner,uint256 dealId,uint16 shardIndex,bytes32 root,uint64 size,uint8 erasureIndex,uint64 pricePerByteSecond,uint32 periodBlocks,uint32 periods,uint64 deadline)"
            )
        );
    }

    function test_constructor_revertsOnZeroAddress() public {
        vm.expectRevert(IStorageDeals.StorageDealsZeroAddress.selector);
        new StorageDeals(address(this), credits, IProviderRegistry(address(0)));
    }

    /// @dev The digest is EIP-712 over the domain {"Stoa StorageDeals", "1", chainid, contract}.
    function test_acceptanceDigest_matchesEip712() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardAcceptance memory a = _acceptance(client, 1, 0, _specs(1, 1, 0)[0], terms);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Stoa StorageDeals"),
                keccak256("1"),
                block.chainid,
                address(deals)
            )
        );
        assertEq(deals.domainSeparator(), domain);
        bytes32 structHash = keccak256(
            abi.encode(
                deals.SHARD_ACCEPTANCE_TYPEHASH(),
                a.owner,
                a.dealId,
                a.shardIndex,
                a.root,
                a.size,
                a.erasureIndex,
                a.pricePerByteSecond,
                a.periodBlocks,
                a.periods,
                a.deadline
            )
        );
        assertEq(deals.acceptanceDigest(a), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    /*//////////////////////////////////////////////////////////////
                               CREATE DEAL
    //////////////////////////////////////////////////////////////*/

    function test_createDeal_storesDealAndShardsAndEscrows() public {
        uint256 balanceBefore = credits.balanceOf(client);
        uint256 escrow = 3 * _payment(SHARD_SIZE) * PERIODS;
        vm.expectEmit(address(deals));
        emit DealCreated(1, client, 2, 3, 4096, PRICE, uint64(block.number), PERIOD_BLOCKS, WINDOW_BLOCKS, PERIODS, escrow);
        uint256 dealId = _createDeal(3, PERIODS, 0);
        assertEq(dealId, 1);
        assertEq(deals.nextDealId(), 2);

        IStorageDeals.Deal memory d = deals.getDeal(dealId);
        assertEq(uint256(d.startBlock), block.number);
        assertEq(uint256(d.periodBlocks), PERIOD_BLOCKS);
        assertEq(uint256(d.windowBlocks), WINDOW_BLOCKS);
        assertEq(uint256(d.periods), PERIODS);
        assertEq(uint256(d.shardCount), 3);
        assertEq(uint256(d.k), 2);
        assertEq(uint8(d.state), uint8(IStorageDeals.DealState.Active));
        assertEq(uint256(d.pieceSize), 4096);
        assertEq(d.owner, client);
        assertEq(uint256(d.escrow), escrow);
        assertEq(uint256(d.pricePerByteSecond), PRICE);
        assertEq(uint256(d.deposited), escrow);
        assertEq(uint256(d.paid), 0);
        assertGt(escrow, 0);

        for (uint16 i; i < 3; ++i) {
            IStorageDeals.Shard memory s = deals.getShard(dealId, i);
            assertEq(s.provider, providers[i]);
            assertEq(uint256(s.nextPeriod), 0);
            assertEq(uint256(s.unpaidPeriods), 0);
            assertEq(uint8(s.state), uint8(IStorageDeals.ShardState.Active));
            assertEq(uint256(s.leafCount), SHARD_LEAVES);
            assertEq(SHARD_LEAVES, 16);
            assertEq(s.root, _rootOf(dealId, i, SHARD_SIZE));
            assertEq(uint256(s.size), SHARD_SIZE);
            assertEq(uint256(s.erasureIndex), i);
            assertEq(uint256(s.paymentPerPeriod), _payment(SHARD_SIZE));
        }
        assertEq(credits.balanceOf(client), balanceBefore - escrow);
        assertEq(credits.balanceOf(address(deals)), escrow);
    }

    function test_createDeal_revertsOnShardCount() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidShardCount.selector, 0, 256));
        deals.createDeal(terms, new IStorageDeals.ShardSpec[](0), new bytes[](0));
        deals.setMaxShards(2);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 3, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidShardCount.selector, 3, 2));
        deals.createDeal(terms, specs, new bytes[](3));
    }

    function test_createDeal_revertsOnAcceptanceCount() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsAcceptanceCountMismatch.selector, 2, 1));
        deals.createDeal(terms, specs, new bytes[](1));
    }

    function test_createDeal_revertsOnTerms() public {
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        terms.k = 3;
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidTerms.selector, bytes32("k"), 3));
        deals.createDeal(terms, specs, new bytes[](2));
        terms.k = 0;
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidTerms.selector, bytes32("k"), 0));
        deals.createDeal(terms, specs, new bytes[](2));
        terms = _terms(0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidTerms.selector, bytes32("periods"), 0));
        deals.createDeal(terms, specs, new bytes[](2));
        terms = _terms(1 << 24);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidTerms.selector, bytes32("periods"), 1 << 24)
        );
        deals.createDeal(terms, specs, new bytes[](2));
        terms = _terms(PERIODS);
        terms.pieceSize = 1000;
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidTerms.selector, bytes32("pieceSize"), 1000)
        );
        deals.createDeal(terms, specs, new bytes[](2));
        terms.pieceSize = 768; // a multiple of 256 but not of the 512-byte leaf
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidTerms.selector, bytes32("pieceSize"), 768)
        );
        deals.createDeal(terms, specs, new bytes[](2));
    }

    function test_createDeal_revertsOnExpiredAcceptance() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        bytes[] memory sigs = _signAll(client, 1, specs, terms);
        vm.warp(uint256(terms.deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsAcceptanceExpired.selector, terms.deadline, block.timestamp)
        );
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
    }

    function test_createDeal_revertsOnInvalidShard() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        specs[0].root = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidShard.selector, 0, bytes32("root"), 0));
        deals.createDeal(terms, specs, new bytes[](2));
        specs = _specs(1, 2, 0);
        specs[0].size = 0;
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidShard.selector, 0, bytes32("size"), 0));
        deals.createDeal(terms, specs, new bytes[](2));
        uint256 tooLarge = deals.MAX_SHARD_SIZE() + 1;
        specs[0].size = uint64(tooLarge);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidShard.selector, 0, bytes32("size"), tooLarge)
        );
        deals.createDeal(terms, specs, new bytes[](2));
    }

    /// @dev A signature by another key, or over other terms (a forged root), is refused.
    function test_createDeal_revertsOnForgedAcceptance() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        bytes[] memory sigs = _signAll(client, 1, specs, terms);
        sigs[1] = _sign(keyOf[providers[5]], _acceptance(client, 1, 1, specs[1], terms));
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidAcceptance.selector, 1, providers[1]));
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);

        sigs = _signAll(client, 1, specs, terms);
        specs[0].root = keccak256("another root");
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidAcceptance.selector, 0, providers[0]));
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
    }

    /// @dev Acceptances signed for one owner cannot be used by another.
    function test_createDeal_revertsOnOtherOwner() public {
        _fundCredits(stranger, 1_000e6);
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        bytes[] memory sigs = _signAll(client, 1, specs, terms);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidAcceptance.selector, 0, providers[0]));
        vm.prank(stranger);
        deals.createDeal(terms, specs, sigs);
    }

    /// @dev A replayed acceptance names the deal id it was signed for, which is taken.
    function test_createDeal_revertsOnReplayedAcceptance() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        bytes[] memory sigs = _signAll(client, 1, specs, terms);
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidAcceptance.selector, 0, providers[0]));
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
    }

    function test_createDeal_revertsOnDuplicateProvider() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 3, 0);
        specs[2].provider = providers[0];
        bytes[] memory sigs = _signAll(client, 1, specs, terms);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDuplicateProvider.selector, providers[0]));
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
    }

    function test_createDeal_revertsOnInactiveProvider() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        bytes[] memory sigs = _signAll(client, 1, specs, terms);
        vm.prank(providers[1]);
        registry.beginUnbond(1); // below minStake
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsProviderNotActive.selector, providers[1]));
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
    }

    function test_createDeal_revertsWithoutCredits() public {
        IStorageDeals.DealTerms memory terms = _terms(PERIODS);
        IStorageDeals.ShardSpec[] memory specs = _specs(1, 2, 0);
        bytes[] memory sigs = _signAll(stranger, 1, specs, terms);
        vm.expectRevert();
        vm.prank(stranger);
        deals.createDeal(terms, specs, sigs);
    }

    /*//////////////////////////////////////////////////////////////
                                 PROOFS
    //////////////////////////////////////////////////////////////*/

    function test_schedule_windowsAndCurrentPeriod() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        uint256 start = block.number;
        (uint256 w0, uint256 e0) = deals.provingWindow(dealId, 0);
        assertEq(w0, start + PERIOD_BLOCKS - WINDOW_BLOCKS);
        assertEq(e0, start + PERIOD_BLOCKS);
        (uint256 w2,) = deals.provingWindow(dealId, 2);
        assertEq(w2, start + 3 * PERIOD_BLOCKS - WINDOW_BLOCKS);
        assertEq(deals.currentPeriod(dealId), 0);
        vm.roll(start + PERIOD_BLOCKS);
        assertEq(deals.currentPeriod(dealId), 1);
    }

    function test_challengeOf_followsSpecFormula() public {
        uint256 dealId = _createDeal(2, PERIODS, 0);
        (uint256 w0,) = deals.provingWindow(dealId, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsChallengeUnavailable.selector, dealId, 0, w0 - 1));
        deals.challengeOf(dealId, 1, 0);
        vm.roll(w0);
        uint256 expected = uint256(keccak256(abi.encode(blockhash(w0 - 1), dealId, uint256(1), uint256(0)))) % SHARD_LEAVES;
        assertEq(deals.challengeOf(dealId, 1, 0), expected);
    }

    function test_submitProof_creditsOnePeriod() public {
        uint256 dealId = _createDeal(2, PERIODS, 0);
        _rollToWindow(dealId, 0);
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, 1, 0);
        vm.expectEmit(address(deals));
        emit ShardProven(dealId, 1, 0);
        vm.prank(stranger); // anyone may submit
        deals.submitProof(dealId, 1, 0, leaf, siblings);
        IStorageDeals.Shard memory s = deals.getShard(dealId, 1);
        assertEq(uint256(s.nextPeriod), 1);
        assertEq(uint256(s.unpaidPeriods), 1);
        assertEq(uint256(deals.getShard(dealId, 0).nextPeriod), 0);
    }

    /// @dev The last block of the window still counts.
    function test_submitProof_lastBlockOfWindow() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        (, uint256 end) = deals.provingWindow(dealId, 0);
        vm.roll(end - 1);
        _prove(dealId, 0, 0);
        assertEq(uint256(deals.getShard(dealId, 0).nextPeriod), 1);
    }

    function test_submitProofs_batch() public {
        uint256 first = _createDeal(2, PERIODS, 0);
        uint256 second = _createDeal(2, PERIODS, 0);
        _rollToWindow(first, 0); // both deals started in the same block
        IStorageDeals.Proof[] memory proofs = new IStorageDeals.Proof[](3);
        proofs[0] = _proofStruct(first, 0, 0);
        proofs[1] = _proofStruct(first, 1, 0);
        proofs[2] = _proofStruct(second, 1, 0);
        deals.submitProofs(proofs);
        assertEq(uint256(deals.getShard(first, 0).unpaidPeriods), 1);
        assertEq(uint256(deals.getShard(first, 1).unpaidPeriods), 1);
        assertEq(uint256(deals.getShard(second, 0).unpaidPeriods), 0);
        assertEq(uint256(deals.getShard(second, 1).unpaidPeriods), 1);
    }

    /// @dev One invalid proof reverts the whole batch.
    function test_submitProofs_revertsOnOneInvalid() public {
        uint256 dealId = _createDeal(2, PERIODS, 0);
        _rollToWindow(dealId, 0);
        IStorageDeals.Proof[] memory proofs = new IStorageDeals.Proof[](2);
        proofs[0] = _proofStruct(dealId, 0, 0);
        proofs[1] = _proofStruct(dealId, 1, 0);
        proofs[1].leaf[7] ^= 0x01;
        uint256 leafIndex = deals.challengeOf(dealId, 1, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidProof.selector, dealId, 1, 0, leafIndex)
        );
        deals.submitProofs(proofs);
    }

    function test_submitProof_revertsOnForgedProof() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        _rollToWindow(dealId, 0);
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, 0, 0);
        uint256 leafIndex = deals.challengeOf(dealId, 0, 0);
        bytes memory forged = bytes.concat(leaf);
        forged[ShardMerkle.LEAF_SIZE - 1] ^= 0x80;
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidProof.selector, dealId, 0, 0, leafIndex)
        );
        deals.submitProof(dealId, 0, 0, forged, siblings);
        // Another leaf of the shard, with its own valid path, is not the challenged one.
        uint256 other = (leafIndex + 1) % SHARD_LEAVES;
        bytes32 seed = _dataSeed(dealId, 0);
        bytes memory otherLeaf = MerkleTree.leafOf(seed, other);
        bytes32[] memory otherSiblings = MerkleTree.proofOf(MerkleTree.leafHashes(seed, SHARD_LEAVES), other);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidProof.selector, dealId, 0, 0, leafIndex)
        );
        deals.submitProof(dealId, 0, 0, otherLeaf, otherSiblings);
        // A short leaf.
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidProof.selector, dealId, 0, 0, leafIndex)
        );
        deals.submitProof(dealId, 0, 0, new bytes(ShardMerkle.LEAF_SIZE - 1), siblings);
        // A leaf of the former size (1 KiB) is refused too.
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidProof.selector, dealId, 0, 0, leafIndex)
        );
        deals.submitProof(dealId, 0, 0, new bytes(1024), siblings);
    }

    function test_submitProof_revertsOutsideWindow() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        (uint256 start, uint256 end) = deals.provingWindow(dealId, 0);
        vm.roll(start);
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, 0, 0);
        vm.roll(start - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsOutsideWindow.selector, dealId, 0, start, end)
        );
        deals.submitProof(dealId, 0, 0, leaf, siblings);
        vm.roll(end);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsOutsideWindow.selector, dealId, 0, start, end)
        );
        deals.submitProof(dealId, 0, 0, leaf, siblings);
    }

    /// @dev Period 1 cannot be proven while period 0 is the shard's next (it was missed), and a
    /// proven period cannot be proven again.
    function test_submitProof_revertsOnWrongPeriod() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        _rollToWindow(dealId, 0);
        _prove(dealId, 0, 0);
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsPeriodNotNext.selector, dealId, 0, 0, 1));
        deals.submitProof(dealId, 0, 0, leaf, siblings);

        uint256 other = _createDeal(1, PERIODS, 1);
        _rollToWindow(other, 1);
        (leaf, siblings) = _proof(other, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsPeriodNotNext.selector, other, 0, 1, 0));
        deals.submitProof(other, 0, 1, leaf, siblings);
    }

    function test_submitProof_revertsOnUnknownDealShardOrPeriod() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        _rollToWindow(dealId, 0);
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, 0, 0);
        // An unknown deal has no shards.
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownShard.selector, 9, 0));
        deals.submitProof(9, 0, 0, leaf, siblings);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownShard.selector, dealId, 1));
        deals.submitProof(dealId, 1, 0, leaf, siblings);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsPeriodOutOfRange.selector, dealId, PERIODS, PERIODS)
        );
        deals.submitProof(dealId, 0, PERIODS, leaf, siblings);
    }

    function test_submitProof_revertsOnLostShard() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        vm.roll(block.number + PERIOD_BLOCKS);
        deals.markMissed(dealId, 0, 0);
        _rollToWindow(dealId, 1);
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, 0, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStorageDeals.StorageDealsShardNotActive.selector, dealId, 0, IStorageDeals.ShardState.Lost
            )
        );
        deals.submitProof(dealId, 0, 1, leaf, siblings);
    }

    /*//////////////////////////////////////////////////////////////
                               MARK MISSED
    //////////////////////////////////////////////////////////////*/

    function test_markMissed_slashesPaysProvenAndLosesShard() public {
        uint256 dealId = _createDeal(2, PERIODS, 0);
        address provider = providers[1];
        _rollToWindow(dealId, 0);
        _prove(dealId, 1, 0);
        (, uint256 end1) = deals.provingWindow(dealId, 1);
        vm.roll(end1); // period 1's window closed without a proof
        uint256 stakeBefore = registry.stakeOf(provider);
        uint256 reporterBefore = token.balanceOf(stranger);
        vm.expectEmit(address(deals));
        emit ShardLost(dealId, 1, provider, 1, MISSED_PROOF_SLASH);
        vm.prank(stranger);
        deals.markMissed(dealId, 1, 1);

        IStorageDeals.Shard memory s = deals.getShard(dealId, 1);
        assertEq(uint8(s.state), uint8(IStorageDeals.ShardState.Lost));
        assertEq(uint256(s.unpaidPeriods), 0);
        assertEq(registry.stakeOf(provider), stakeBefore - MISSED_PROOF_SLASH);
        assertEq(token.balanceOf(stranger) - reporterBefore, MISSED_PROOF_SLASH * REPORTER_SHARE_BPS / 10_000);
        assertEq(registry.getProvider(provider).faults, 1);
        // The proven period was paid.
        assertEq(credits.balanceOf(provider), _payment(SHARD_SIZE));
        assertEq(uint256(deals.getDeal(dealId).paid), _payment(SHARD_SIZE));
    }

    function test_markMissed_reverts() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        (uint256 start, uint256 end) = deals.provingWindow(dealId, 0);
        vm.roll(end - 1);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsWindowNotClosed.selector, dealId, 0, end));
        deals.markMissed(dealId, 0, 0);
        vm.roll(start);
        _prove(dealId, 0, 0);
        vm.roll(end);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsPeriodProven.selector, dealId, 0, 0));
        deals.markMissed(dealId, 0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsPeriodOutOfRange.selector, dealId, PERIODS, PERIODS)
        );
        deals.markMissed(dealId, 0, PERIODS);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownShard.selector, dealId, 1));
        deals.markMissed(dealId, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownDeal.selector, 7));
        deals.markMissed(7, 0, 0);

        vm.roll(block.number + PERIOD_BLOCKS);
        deals.markMissed(dealId, 0, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStorageDeals.StorageDealsShardNotActive.selector, dealId, 0, IStorageDeals.ShardState.Lost
            )
        );
        deals.markMissed(dealId, 0, 1);

        vm.roll(block.number + PERIODS * PERIOD_BLOCKS);
        deals.settle(dealId);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDealEnded.selector, dealId));
        deals.markMissed(dealId, 0, 2);
    }

    /*//////////////////////////////////////////////////////////////
                              REPLACE SHARD
    //////////////////////////////////////////////////////////////*/

    function _replacementSig(uint256 dealId, uint16 shardIndex, address provider, uint64 deadline)
        internal
        view
        returns (bytes memory)
    {
        IStorageDeals.Deal memory d = deals.getDeal(dealId);
        IStorageDeals.Shard memory s = deals.getShard(dealId, shardIndex);
        return _sign(
            keyOf[provider],
            IStorageDeals.ShardAcceptance({
                owner: d.owner,
                dealId: dealId,
                shardIndex: shardIndex,
                root: s.root,
                size: s.size,
                erasureIndex: s.erasureIndex,
                pricePerByteSecond: d.pricePerByteSecond,
                periodBlocks: d.periodBlocks,
                periods: d.periods,
                deadline: deadline
            })
        );
    }

    /// @dev Shard 1 of a 2-shard deal lost in period 0.
    function _lostShardDeal() internal returns (uint256 dealId) {
        dealId = _createDeal(2, PERIODS, 0);
        vm.roll(block.number + PERIOD_BLOCKS);
        deals.markMissed(dealId, 1, 0);
    }

    function test_replaceShard_newProviderProvesAndIsPaid() public {
        uint256 dealId = _lostShardDeal();
        address newProvider = providers[5];
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _replacementSig(dealId, 1, newProvider, deadline);
        vm.expectEmit(address(deals));
        emit ShardReplaced(dealId, 1, newProvider, providers[1], 1);
        vm.prank(stranger);
        deals.replaceShard(dealId, 1, newProvider, deadline, sig);
        IStorageDeals.Shard memory s = deals.getShard(dealId, 1);
        assertEq(s.provider, newProvider);
        assertEq(uint8(s.state), uint8(IStorageDeals.ShardState.Active));
        assertEq(uint256(s.nextPeriod), 1);

        _rollToWindow(dealId, 1);
        _prove(dealId, 1, 1);
        _rollToWindow(dealId, 2);
        _prove(dealId, 1, 2);
        deals.settle(dealId);
        assertEq(credits.balanceOf(newProvider), 2 * _payment(SHARD_SIZE));
    }

    function test_replaceShard_reverts() public {
        uint256 dealId = _lostShardDeal();
        uint64 deadline = uint64(block.timestamp + 1 hours);
        // Not Lost.
        bytes memory sig = _replacementSig(dealId, 0, providers[5], deadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStorageDeals.StorageDealsShardNotLost.selector, dealId, 0, IStorageDeals.ShardState.Active
            )
        );
        deals.replaceShard(dealId, 0, providers[5], deadline, sig);
        // A provider of the deal, and the provider that lost the shard.
        sig = _replacementSig(dealId, 1, providers[0], deadline);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDuplicateProvider.selector, providers[0]));
        deals.replaceShard(dealId, 1, providers[0], deadline, sig);
        // The provider that lost the shard (restaked, so still active) may not take it back.
        _addStake(providers[1], MIN_STAKE);
        sig = _replacementSig(dealId, 1, providers[1], deadline);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDuplicateProvider.selector, providers[1]));
        deals.replaceShard(dealId, 1, providers[1], deadline, sig);
        // Inactive provider.
        vm.prank(providers[6]);
        registry.beginUnbond(1);
        sig = _replacementSig(dealId, 1, providers[6], deadline);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsProviderNotActive.selector, providers[6]));
        deals.replaceShard(dealId, 1, providers[6], deadline, sig);
        // Forged: signed by another key, or for another deadline.
        sig = _replacementSig(dealId, 1, providers[7], deadline);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidAcceptance.selector, 1, providers[5]));
        deals.replaceShard(dealId, 1, providers[5], deadline, sig);
        sig = _replacementSig(dealId, 1, providers[5], deadline);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidAcceptance.selector, 1, providers[5]));
        deals.replaceShard(dealId, 1, providers[5], deadline + 1, sig);
        // Expired.
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsAcceptanceExpired.selector, deadline, block.timestamp)
        );
        deals.replaceShard(dealId, 1, providers[5], deadline, sig);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownShard.selector, dealId, 2));
        deals.replaceShard(dealId, 2, providers[5], deadline, sig);
    }

    /// @dev A used replacement acceptance cannot put its provider back after it lost the shard again.
    function test_replaceShard_revertsOnReplayedAcceptance() public {
        uint256 dealId = _lostShardDeal();
        address newProvider = providers[5];
        _addStake(newProvider, MIN_STAKE); // stays active after a slash
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sig = _replacementSig(dealId, 1, newProvider, deadline);
        deals.replaceShard(dealId, 1, newProvider, deadline, sig);
        (, uint256 end1) = deals.provingWindow(dealId, 1);
        vm.roll(end1);
        deals.markMissed(dealId, 1, 1);
        // The replaced-out provider is still in slot 1 (Lost): it counts as a duplicate first.
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDuplicateProvider.selector, newProvider));
        deals.replaceShard(dealId, 1, newProvider, deadline, sig);
        // Replaced by someone else, then lost again: the first acceptance is spent.
        bytes memory sig6 = _replacementSig(dealId, 1, providers[6], deadline);
        deals.replaceShard(dealId, 1, providers[6], deadline, sig6);
        // providers[6] starts at period 2 and misses it; then the deal has run out.
        (, uint256 end2) = deals.provingWindow(dealId, 2);
        vm.roll(end2);
        deals.markMissed(dealId, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDealExpired.selector, dealId, PERIODS));
        deals.replaceShard(dealId, 1, newProvider, deadline, sig);
    }

    function test_replaceShard_revertsOnUsedAcceptance() public {
        uint256 dealId = _createDeal(2, 6, 0);
        vm.roll(block.number + PERIOD_BLOCKS);
        deals.markMissed(dealId, 1, 0);
        address a = providers[5];
        address b = providers[6];
        _addStake(a, MIN_STAKE);
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes memory sigA = _replacementSig(dealId, 1, a, deadline);
        deals.replaceShard(dealId, 1, a, deadline, sigA);
        vm.roll(block.number + 2 * PERIOD_BLOCKS);
        deals.markMissed(dealId, 1, 1); // a missed period 1
        deals.replaceShard(dealId, 1, b, deadline, _replacementSig(dealId, 1, b, deadline));
        vm.roll(block.number + 2 * PERIOD_BLOCKS);
        deals.markMissed(dealId, 1, 3); // b missed period 3
        // a is no longer in any slot; its old acceptance is spent.
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", deals.domainSeparator(), _structHash(dealId, deadline)));
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsAcceptanceUsed.selector, digest, a));
        deals.replaceShard(dealId, 1, a, deadline, sigA);
    }

    function _structHash(uint256 dealId, uint64 deadline) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                deals.SHARD_ACCEPTANCE_TYPEHASH(),
                client,
                dealId,
                uint16(1),
                _rootOf(dealId, 1, SHARD_SIZE),
                SHARD_SIZE,
                uint8(1),
                PRICE,
                PERIOD_BLOCKS,
                uint32(6),
                deadline
            )
        );
    }

    /*//////////////////////////////////////////////////////////////
                                 SETTLE
    //////////////////////////////////////////////////////////////*/

    function test_settle_paysProvenPeriodsThenRefundsAndEnds() public {
        uint256 dealId = _createDeal(2, PERIODS, 0);
        uint256 payment = _payment(SHARD_SIZE);
        uint256 deposited = 2 * payment * PERIODS;
        uint256 clientAfterDeposit = credits.balanceOf(client);
        _rollToWindow(dealId, 0);
        _prove(dealId, 0, 0);
        _prove(dealId, 1, 0);
        assertEq(deals.settle(dealId), 2 * payment);
        assertEq(credits.balanceOf(providers[0]), payment);
        assertEq(credits.redeemableOf(providers[0]), payment);
        assertEq(deals.settle(dealId), 0); // nothing new
        _rollToWindow(dealId, 1);
        _prove(dealId, 0, 1);
        // Period 2 unproven by both; after the last window the rest is refunded.
        (, uint256 end2) = deals.provingWindow(dealId, 2);
        vm.roll(end2);
        vm.expectEmit(address(deals));
        emit DealEnded(dealId, deposited - 3 * payment);
        assertEq(deals.settle(dealId), payment);
        IStorageDeals.Deal memory d = deals.getDeal(dealId);
        assertEq(uint8(d.state), uint8(IStorageDeals.DealState.Ended));
        assertEq(uint256(d.escrow), 0);
        assertEq(uint256(d.paid), 3 * payment);
        assertEq(credits.balanceOf(client), clientAfterDeposit + deposited - 3 * payment);
        assertEq(credits.balanceOf(address(deals)), 0);
        assertEq(uint8(deals.getShard(dealId, 0).state), uint8(IStorageDeals.ShardState.Ended));
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsDealEnded.selector, dealId));
        deals.settle(dealId);
    }

    /// @dev The last period's window end is the deal's end: a settle one block earlier does not end it.
    function test_settle_beforeEndKeepsEscrow() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        (, uint256 end2) = deals.provingWindow(dealId, PERIODS - 1);
        vm.roll(end2 - 1);
        deals.settle(dealId);
        assertEq(uint8(deals.getDeal(dealId).state), uint8(IStorageDeals.DealState.Active));
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownDeal.selector, 5));
        deals.settle(5);
    }

    /*//////////////////////////////////////////////////////////////
                                  INDEX
    //////////////////////////////////////////////////////////////*/

    function test_setIndex() public {
        uint256 dealId = _createDeal(1, PERIODS, 0);
        vm.prank(client);
        deals.setIndex(dealId);
        assertEq(deals.indexOf(client), dealId);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsNotOwner.selector, dealId, stranger));
        vm.prank(stranger);
        deals.setIndex(dealId);
        vm.expectRevert(abi.encodeWithSelector(IStorageDeals.StorageDealsUnknownDeal.selector, 4));
        vm.prank(client);
        deals.setIndex(4);
        vm.prank(client);
        deals.setIndex(0);
        assertEq(deals.indexOf(client), 0);
    }

    /*//////////////////////////////////////////////////////////////
                               PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function test_parameters_setAndBounds() public {
        deals.setPeriodBlocks(300);
        assertEq(uint256(deals.periodBlocks()), 300);
        deals.setWindowBlocks(255);
        assertEq(uint256(deals.windowBlocks()), 255);
        deals.setSecondsPerBlock(12);
        assertEq(uint256(deals.secondsPerBlock()), 12);
        deals.setMaxShards(10);
        assertEq(uint256(deals.maxShards()), 10);
        deals.setMissedProofSlash(5e18);
        assertEq(uint256(deals.missedProofSlash()), 5e18);

        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidParameter.selector, bytes32("windowBlocks"), 256)
        );
        deals.setWindowBlocks(256);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidParameter.selector, bytes32("windowBlocks"), 0)
        );
        deals.setWindowBlocks(0);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidParameter.selector, bytes32("periodBlocks"), 255)
        );
        deals.setPeriodBlocks(255); // must exceed windowBlocks (255)
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidParameter.selector, bytes32("maxShards"), 257)
        );
        deals.setMaxShards(257);
        vm.expectRevert(
            abi.encodeWithSelector(IStorageDeals.StorageDealsInvalidParameter.selector, bytes32("secondsPerBlock"), 0)
        );
        deals.setSecondsPerBlock(0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStorageDeals.StorageDealsInvalidParameter.selector, bytes32("missedProofSlash"), uint256(1) << 96
            )
        );
        deals.setMissedProofSlash(uint256(1) << 96);

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        deals.setMaxShards(5);
    }

    /*//////////////////////////////////////////////////////////////
                                  FUZZ
    //////////////////////////////////////////////////////////////*/

    /// @dev The challenge is always a leaf of the shard, whatever its size, deal, shard and period.
    /// forge-config: default.fuzz.runs = 256
    /// forge-config: ci.fuzz.runs = 1024
    function testFuzz_challenge_belowLeafCount(uint64 sizeSeed, uint256 periodSeed, uint256 rollSeed) public {
        uint64 size = uint64(_bound(sizeSeed, 1, deals.MAX_SHARD_SIZE()));
        uint32 periods = 5;
        uint256 dealId = deals.nextDealId();
        IStorageDeals.DealTerms memory terms = _terms(periods);
        terms.k = 1;
        terms.pricePerByteSecond = 1;
        IStorageDeals.ShardSpec[] memory specs = new IStorageDeals.ShardSpec[](1);
        specs[0] = IStorageDeals.ShardSpec({ provider: providers[0], root: keccak256("r"), size: size, erasureIndex: 0 });
        bytes[] memory sigs = _signAll(client, dealId, specs, terms);
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint32 period = uint32(periodSeed % periods);
        (uint256 start, uint256 end) = deals.provingWindow(dealId, period);
        vm.roll(_bound(rollSeed, start, end - 1));
        uint256 leafIndex = deals.challengeOf(dealId, 0, period);
        assertLt(leafIndex, ShardMerkle.leafCountOf(size));
        assertEq(uint256(deals.getShard(dealId, 0).leafCount), ShardMerkle.leafCountOf(size));
    }

    /// @dev Escrow = shards x periods x floor(size x price x periodBlocks x secondsPerBlock / 1e18).
    /// forge-config: default.fuzz.runs = 128
    /// forge-config: ci.fuzz.runs = 512
    function testFuzz_createDeal_escrowsEveryPeriod(uint64 sizeSeed, uint64 priceSeed, uint32 periodsSeed) public {
        uint64 size = uint64(_bound(sizeSeed, 1, 1 << 40));
        uint64 price = uint64(_bound(priceSeed, 0, 1e9));
        uint32 periods = uint32(_bound(periodsSeed, 1, 10_000));
        uint256 dealId = deals.nextDealId();
        IStorageDeals.DealTerms memory terms = _terms(periods);
        terms.pricePerByteSecond = price;
        IStorageDeals.ShardSpec[] memory specs = _specs(dealId, 2, 0);
        specs[0].size = size;
        specs[1].size = size;
        bytes[] memory sigs = _signAll(client, dealId, specs, terms);
        uint256 perPeriod = uint256(size) * price * PERIOD_BLOCKS * SECONDS_PER_BLOCK / 1e18;
        if (perPeriod != 0) _fundCredits(client, 2 * perPeriod * periods);
        uint256 before = credits.balanceOf(client);
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
        assertEq(before - credits.balanceOf(client), 2 * perPeriod * periods);
        assertEq(uint256(deals.getDeal(dealId).escrow), 2 * perPeriod * periods);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _proofStruct(uint256 dealId, uint16 shardIndex, uint32 period)
        internal
        view
        returns (IStorageDeals.Proof memory proof)
    {
        (bytes memory leaf, bytes32[] memory siblings) = _proof(dealId, shardIndex, period);
        proof = IStorageDeals.Proof({
            dealId: dealId,
            shardIndex: shardIndex,
            period: period,
            leaf: leaf,
            siblings: siblings
        });
    }

    function _addStake(address provider, uint256 amount) internal {
        _mintStoa(provider, amount);
        vm.prank(provider);
        token.approve(address(registry), amount);
        vm.prank(provider);
        registry.stake(amount);
    }
}
