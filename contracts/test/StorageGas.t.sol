// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IStorageDeals } from "../src/interfaces/IStorageDeals.sol";
import { ShardMerkle } from "../src/lib/ShardMerkle.sol";
import { VmExtra } from "./MarketBase.t.sol";
import { StorageBase } from "./StorageBase.t.sol";
import { MerkleTree } from "./utils/MerkleTree.sol";

/// @notice Gas of StorageDeals operations, one transaction per test, measured as MarketGasTest does
/// (`npm run gas`: `forge test --isolate`, `vm.lastCallGas()` is the receipt's gas).
///
/// The proof figures are for a 1 GiB shard: 2^21 leaves of 512 bytes, so a proof is a 512-byte leaf of
/// random-looking non-zero bytes and 21 siblings (1,184 bytes of payload). Every leaf of these test
/// shards is the same, so the tree is built in 21 hashes and every challenge has the same path; the
/// contract cannot tell. Measured:
/// - submitProof: one proof in its own transaction (pays the 21k base alone);
/// - submitProofs: a provider daemon's batch, one proof for each of 10 deals in the same period, the
///   figure reported per proof (total / 10): the goal (<= 45k) is judged on it;
/// - createDeal: a client's second deal of 6 shards (1 GiB each), six signatures checked.
/// "Typical": the client already made a deal and the contract already holds credits, so the measured
/// calls meet warm-ish balances as on a live network (cold slots per transaction, non-zero balances).
contract StorageGasTest is StorageBase {
    /// @dev Decoded by forge into `decoded_logs`, which the gas script reads.
    event log_named_uint(string key, uint256 val);

    uint64 internal constant GIB = 1 << 30;
    uint256 internal constant BATCH = 10;
    /// @dev Levels of a 1 GiB shard's tree: log2(2^30 / 512).
    uint256 internal constant GIB_DEPTH = 21;

    bytes internal leaf;
    bytes32 internal root;
    bytes32[] internal siblings;
    uint256 internal singleDeal;
    uint256[] internal batchDeals;

    function setUp() public override {
        super.setUp();
        leaf = MerkleTree.leafOf("stoa.gas.leaf", 0);
        for (uint256 i; i < leaf.length; ++i) {
            if (leaf[i] == 0) leaf[i] = 0x5a; // every calldata byte non-zero: the costly case
        }
        assertEq(leaf.length, ShardMerkle.LEAF_SIZE);
        assertEq(ShardMerkle.leafCountOf(GIB), 2 ** GIB_DEPTH);
        (root, siblings) = MerkleTree.uniformTree(leaf, GIB_DEPTH);

        // Warm-up deal (client's first), then the deals whose proofs are measured.
        _gibDeal(6, 0);
        singleDeal = _gibDeal(1, 0);
        for (uint256 i; i < BATCH; ++i) {
            batchDeals.push(_gibDeal(1, 1)); // one provider, one shard in each of 10 deals
        }
        _rollToWindow(singleDeal, 0); // every deal started in this block: same windows
    }

    /// @dev A deal of `count` 1 GiB shards with the uniform tree, providers from `first`, 12 periods.
    function _gibDeal(uint256 count, uint256 first) internal returns (uint256 dealId) {
        dealId = deals.nextDealId();
        (IStorageDeals.DealTerms memory terms, IStorageDeals.ShardSpec[] memory specs, bytes[] memory sigs) =
            _gibArgs(dealId, count, first);
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
    }

    function _gibArgs(uint256 dealId, uint256 count, uint256 first)
        internal
        view
        returns (IStorageDeals.DealTerms memory terms, IStorageDeals.ShardSpec[] memory specs, bytes[] memory sigs)
    {
        terms = _terms(12);
        terms.k = 1;
        terms.pieceSize = 16 << 20;
        terms.pricePerByteSecond = 771_600; // about USD 2 per TB-month
        specs = new IStorageDeals.ShardSpec[](count);
        for (uint256 i; i < count; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            specs[i] = IStorageDeals.ShardSpec({ provider: providers[first + i], root: root, size: GIB, erasureIndex: uint8(i) });
        }
        sigs = _signAll(client, dealId, specs, terms);
    }

    function _record(string memory operation, uint256 gas) internal {
        emit log_named_uint(string.concat("gas:", operation), gas);
    }

    function _lastGas() internal view returns (uint256) {
        return VmExtra(address(vm)).lastCallGas().gasTotalUsed;
    }

    function test_gas_submitProof() public {
        deals.submitProof(singleDeal, 0, 0, leaf, siblings);
        _record("submitProof (1 GiB shard, single)", _lastGas());
        assertEq(uint256(deals.getShard(singleDeal, 0).unpaidPeriods), 1);
    }

    function test_gas_submitProofs() public {
        IStorageDeals.Proof[] memory proofs = new IStorageDeals.Proof[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            proofs[i] = IStorageDeals.Proof({ dealId: batchDeals[i], shardIndex: 0, period: 0, leaf: leaf, siblings: siblings });
        }
        deals.submitProofs(proofs);
        uint256 total = _lastGas();
        _record("submitProofs (batch of 10, total)", total);
        _record("submitProof (1 GiB shard, per proof in a batch of 10)", total / BATCH);
        for (uint256 i; i < BATCH; ++i) {
            assertEq(uint256(deals.getShard(batchDeals[i], 0).unpaidPeriods), 1);
        }
    }

    function test_gas_createDeal() public {
        uint256 dealId = deals.nextDealId();
        (IStorageDeals.DealTerms memory terms, IStorageDeals.ShardSpec[] memory specs, bytes[] memory sigs) =
            _gibArgs(dealId, 6, 2);
        vm.prank(client);
        deals.createDeal(terms, specs, sigs);
        _record("createDeal (6 shards)", _lastGas());
        assertEq(uint256(deals.getDeal(dealId).shardCount), 6);
    }
}
