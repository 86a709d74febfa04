// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IMarket } from "../../src/interfaces/IMarket.sol";
import { MarketBase } from "../MarketBase.t.sol";
import { MarketHandler } from "./MarketHandler.sol";

/// @notice Market accounting holds after any sequence of orders, bids, acceptances, bidding restarts,
/// settles, top-ups, closes, cancels, faults and withdrawals with time jumps (foundry.toml: 256 runs x
/// 64 calls). The handler's calls are meant to succeed (expected refusals are caught and checked there),
/// so any revert fails the run: its checks (`require`) would otherwise pass unnoticed.
/// forge-config: default.invariant.fail-on-revert = true
contract MarketInvariantsTest is MarketBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    MarketHandler internal handler;
    address[] internal _targets;
    FuzzSelector[] internal _selectors;

    function setUp() public override {
        super.setUp();
        // Quorum 2 of 3 watchers: partial reports stay on active leases, confirmed ones slash.
        address watcher3 = _makeAddr("watcher3");
        market.setWatcher(watcher3, true);
        market.setFaultQuorum(2);

        address[] memory tenants = new address[](3);
        tenants[0] = tenant;
        tenants[1] = otherTenant;
        tenants[2] = _makeAddr("thirdTenant");
        for (uint256 i; i < tenants.length; ++i) {
            _fundCredits(tenants[i], 1e15);
        }
        address[] memory providers = new address[](4);
        providers[0] = provider;
        providers[1] = provider2;
        providers[2] = provider3; // region 2: refused by region-8-only orders
        providers[3] = _makeAddr("provider4");
        _registerProvider(providers[3], EU_WEST);
        for (uint256 i; i < providers.length; ++i) {
            _addStake(providers[i], 1_000e18); // slashes take a while to deactivate; jailing still happens
        }
        address[] memory watchers = new address[](3);
        watchers[0] = watcher;
        watchers[1] = watcher2;
        watchers[2] = watcher3;

        handler = new MarketHandler(market, credits, registry, tenants, providers, watchers);

        _targets.push(address(handler));
        bytes4[] memory selectors = new bytes4[](12);
        selectors[0] = MarketHandler.createOrder.selector;
        selectors[1] = MarketHandler.bid.selector;
        selectors[2] = MarketHandler.acceptBid.selector;
        selectors[3] = MarketHandler.acceptBestBid.selector;
        selectors[4] = MarketHandler.settle.selector;
        selectors[5] = MarketHandler.topUp.selector;
        selectors[6] = MarketHandler.closeLease.selector;
        selectors[7] = MarketHandler.cancelOrder.selector;
        selectors[8] = MarketHandler.reportFault.selector;
        selectors[9] = MarketHandler.withdrawEarnings.selector;
        selectors[10] = MarketHandler.warp.selector;
        selectors[11] = MarketHandler.restartBidding.selector;
        _selectors.push(FuzzSelector({ addr: address(handler), selectors: selectors }));
    }

    /// @dev Read by forge: only the handler is called.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    /// @dev Read by forge: the handler's actions (not its views).
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev (a) The Market holds exactly the escrow of its orders plus its leases' unwithdrawn earnings.
    function invariant_creditsHeldEqualEscrowPlusEarnings() public {
        uint256[] memory orders = handler.orderIds();
        uint256[] memory leases = handler.leaseIds();
        uint256 sum;
        for (uint256 i; i < orders.length; ++i) {
            sum += market.getOrder(orders[i]).escrow;
        }
        for (uint256 i; i < leases.length; ++i) {
            sum += market.getLease(leases[i]).earned;
        }
        assertEq(credits.balanceOf(address(market)), sum);
    }

    /// @dev (b) Per order, every credit put in is still in escrow, paid to one of its leases (earned or
    /// withdrawn) or refunded, so payouts plus refunds never exceed deposits; no lease got more than
    /// its order ever held.
    function invariant_orderMoneyIsConserved() public {
        uint256[] memory orders = handler.orderIds();
        uint256[] memory leases = handler.leaseIds();
        for (uint256 i; i < orders.length; ++i) {
            uint256 orderId = orders[i];
            uint256 deposited = handler.ghostDeposited(orderId);
            uint256 paid;
            for (uint256 j; j < leases.length; ++j) {
                if (leases[j] >> 32 != orderId) continue;
                uint256 leasePaid = market.getLease(leases[j]).earned + handler.ghostWithdrawn(leases[j]);
                assertLte(leasePaid, deposited, "lease paid more than its order held");
                paid += leasePaid;
            }
            uint256 refunded = handler.ghostRefunded(orderId);
            assertLte(paid + refunded, deposited, "paid + refunded above deposits");
            assertEq(market.getOrder(orderId).escrow + paid + refunded, deposited, "credits unaccounted");
        }
    }

    /// @dev (c) A lease is never paid for time it did not run: paid <= price * active seconds / 1e6,
    /// with equality (exact accrual, dust carried) unless the escrow ran out.
    function invariant_leaseNeverOverpaysTime() public {
        uint256[] memory leases = handler.leaseIds();
        for (uint256 i; i < leases.length; ++i) {
            IMarket.Lease memory l = market.getLease(leases[i]);
            uint256 paid = l.earned + handler.ghostWithdrawn(leases[i]);
            assertLte(l.settledAt, block.timestamp);
            uint256 accrued = uint256(l.pricePerSecond) * (l.settledAt - l.startedAt);
            assertLte(paid, accrued / PRICE_SCALE, "paid for more time than ran");
            if (l.reason != IMarket.CloseReason.InsufficientFunds) {
                assertEq(paid, accrued / PRICE_SCALE, "accrual not exact");
                assertEq(uint256(l.dust), accrued % PRICE_SCALE, "dust not the remainder");
            }
        }
    }

    /// @dev Orders and leases agree: an open order has escrow for the next lease, a leased one has
    /// exactly one active lease (its current round's) backed by escrow, a closed one holds nothing.
    function invariant_statesAreConsistent() public {
        uint256[] memory orders = handler.orderIds();
        for (uint256 i; i < orders.length; ++i) {
            IMarket.Order memory o = market.getOrder(orders[i]);
            if (o.state == IMarket.OrderState.Open) {
                assertGt(o.escrow, 0, "open order without escrow");
            } else if (o.state == IMarket.OrderState.Leased) {
                assertGt(o.escrow, 0, "active lease without escrow");
                uint256 leaseId = market.currentLeaseId(orders[i]);
                assertEq(leaseId, market.leaseIdOf(orders[i], o.round));
                assertEq(uint8(market.getLease(leaseId).state), uint8(IMarket.LeaseState.Active));
            } else {
                assertEq(uint8(o.state), uint8(IMarket.OrderState.Closed));
                assertEq(o.escrow, 0, "closed order holds escrow");
            }
        }
        uint256[] memory leases = handler.leaseIds();
        for (uint256 i; i < leases.length; ++i) {
            IMarket.Lease memory l = market.getLease(leases[i]);
            if (l.state != IMarket.LeaseState.Active) continue;
            IMarket.Order memory o = market.getOrder(leases[i] >> 32);
            assertEq(uint8(o.state), uint8(IMarket.OrderState.Leased));
            assertEq(uint256(o.round), leases[i] & type(uint32).max);
        }
    }

    /// @dev The look-back behind the previous-provider exclusion: rounds restarted since the last lease
    /// never outnumber the rounds; on an open order the round `round - 1 - restartsSinceLease` holds
    /// the order's most recent lease (the one the handler saw start last), or, when every round was
    /// restarted, the order never had a lease.
    function invariant_lastLeaseIsFoundThroughRestarts() public {
        uint256[] memory orders = handler.orderIds();
        for (uint256 i; i < orders.length; ++i) {
            IMarket.Order memory o = market.getOrder(orders[i]);
            assertLte(uint256(o.restartsSinceLease), uint256(o.round), "more restarts than rounds");
            if (o.state != IMarket.OrderState.Open) continue;
            address lastProvider = handler.ghostLastLeaseProvider(orders[i]);
            if (o.restartsSinceLease == o.round) {
                assertEq(lastProvider, address(0), "restarted order had a lease");
            } else {
                uint256 leaseId = market.leaseIdOf(orders[i], o.round - 1 - o.restartsSinceLease);
                assertEq(market.getLease(leaseId).provider, lastProvider, "last lease not found");
                assertEq(uint8(market.getLease(leaseId).state), uint8(IMarket.LeaseState.Closed));
            }
        }
    }

    /// @dev Every lease won ends in exactly one outcome: leasesWon == completed + closed by provider +
    /// tenant fault reports + confirmed faults + still active. Completions count at the provider's
    /// withdrawal: leasesCompleted is exactly the provider's leases marked `completionCounted`, only
    /// completed leases (TenantClosed, InsufficientFunds) are ever marked, and the completed ones not
    /// marked yet make up the difference.
    function invariant_statsAddUp() public {
        address[] memory providers = handler.providers();
        uint256[] memory leases = handler.leaseIds();
        for (uint256 p; p < providers.length; ++p) {
            uint256 active;
            uint256 won;
            uint256 counted;
            uint256 completedUncounted;
            for (uint256 i; i < leases.length; ++i) {
                IMarket.Lease memory l = market.getLease(leases[i]);
                if (l.provider != providers[p]) continue;
                ++won;
                if (l.state == IMarket.LeaseState.Active) ++active;
                bool completed = l.state == IMarket.LeaseState.Closed
                    && (l.reason == IMarket.CloseReason.TenantClosed
                        || l.reason == IMarket.CloseReason.InsufficientFunds);
                if (l.completionCounted) {
                    assertTrue(completed, "counted a lease that did not complete");
                    ++counted;
                } else if (completed) {
                    ++completedUncounted;
                }
            }
            uint32[5] memory s = _stats(providers[p]);
            assertEq(uint256(s[0]), won, "leasesWon");
            assertEq(uint256(s[1]), counted, "leasesCompleted");
            assertEq(uint256(s[0]), uint256(s[1]) + completedUncounted + s[2] + s[3] + s[4] + active, "outcomes");
        }
    }
}
