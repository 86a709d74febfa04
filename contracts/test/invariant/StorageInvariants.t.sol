// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IStorageDeals } from "../../src/interfaces/IStorageDeals.sol";
import { StorageBase } from "../StorageBase.t.sol";
import { StorageHandler } from "./StorageHandler.sol";

/// @notice StorageDeals escrow accounting holds after any sequence of deals, proofs, missed periods,
/// replacements, settles and blocks (foundry.toml: 256 runs x 64 calls; ci the same). The handler's
/// calls are meant to succeed (it skips what would be refused), so any revert fails the run.
/// forge-config: default.invariant.fail-on-revert = true
/// forge-config: default.invariant.runs = 64
/// forge-config: default.invariant.depth = 48
/// forge-config: ci.invariant.runs = 128
/// forge-config: ci.invariant.depth = 64
contract StorageInvariantsTest is StorageBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    StorageHandler internal handler;
    address[] internal _targets;
    FuzzSelector[] internal _selectors;

    function setUp() public override {
        super.setUp();
        uint256[] memory keys = new uint256[](providers.length);
        for (uint256 i; i < providers.length; ++i) {
            keys[i] = keyOf[providers[i]];
            // Stake for a few slashes before a provider drops out.
            _mintStoa(providers[i], 300e18);
            vm.prank(providers[i]);
            token.approve(address(registry), 300e18);
            vm.prank(providers[i]);
            registry.stake(300e18);
        }
        handler = new StorageHandler(deals, credits, registry, client, providers, keys);
        _targets.push(address(handler));
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = StorageHandler.createDeal.selector;
        selectors[1] = StorageHandler.prove.selector;
        selectors[2] = StorageHandler.markMissed.selector;
        selectors[3] = StorageHandler.replaceShard.selector;
        selectors[4] = StorageHandler.settle.selector;
        selectors[5] = StorageHandler.roll.selector;
        _selectors.push(FuzzSelector({ addr: address(handler), selectors: selectors }));
    }

    /// @dev Read by forge: only the handler is called.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    /// @dev Read by forge: the handler's actions.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }

    /// @dev The credits StorageDeals holds are exactly the escrow its deals have left.
    function invariant_creditsHeldEqualEscrow() public {
        uint256[] memory ids = handler.dealIds();
        uint256 sum;
        for (uint256 i; i < ids.length; ++i) {
            sum += deals.getDeal(ids[i]).escrow;
        }
        assertEq(credits.balanceOf(address(deals)), sum);
    }

    /// @dev Per deal: deposited == paid + refunded + escrow left, the contract's counters agree with
    /// the credits that actually moved, and an ended deal holds nothing.
    function invariant_dealMoneyIsConserved() public {
        uint256[] memory ids = handler.dealIds();
        for (uint256 i; i < ids.length; ++i) {
            IStorageDeals.Deal memory d = deals.getDeal(ids[i]);
            uint256 deposited = handler.ghostDeposited(ids[i]);
            uint256 paid = handler.ghostPaid(ids[i]);
            uint256 refunded = handler.ghostRefunded(ids[i]);
            assertEq(uint256(d.deposited), deposited, "deposited");
            assertEq(uint256(d.paid), paid, "paid");
            assertEq(paid + refunded + d.escrow, deposited, "credits unaccounted");
            if (d.state == IStorageDeals.DealState.Ended) assertEq(uint256(d.escrow), 0, "ended deal holds escrow");
            else assertEq(refunded, 0, "refund before the end");
        }
    }

    /// @dev No shard is paid for more periods than the deal has: paid periods + unpaid proven periods
    /// <= periods, per shard slot (counted through the deal's totals).
    function invariant_neverPaysMoreThanEscrowed() public {
        uint256[] memory ids = handler.dealIds();
        for (uint256 i; i < ids.length; ++i) {
            IStorageDeals.Deal memory d = deals.getDeal(ids[i]);
            uint256 unpaid;
            for (uint16 s; s < d.shardCount; ++s) {
                IStorageDeals.Shard memory shard = deals.getShard(ids[i], s);
                unpaid += uint256(shard.unpaidPeriods) * shard.paymentPerPeriod;
                assertLte(uint256(shard.nextPeriod), uint256(d.periods), "next period beyond the deal");
            }
            assertLte(uint256(d.paid) + unpaid, uint256(d.deposited), "owed more than deposited");
            assertLte(unpaid, uint256(d.escrow), "escrow cannot cover proven periods");
        }
    }
}
