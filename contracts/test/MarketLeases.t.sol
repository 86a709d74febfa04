// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import { Vm } from "@prb/test/Vm.sol";

import { ProviderRegistry } from "../src/ProviderRegistry.sol";
import { IMarket } from "../src/interfaces/IMarket.sol";
import { MarketBase } from "./MarketBase.t.sol";

/// @notice Market: settlement (exact accrual with dust, escrow exhaustion), closing, faults with the
/// watcher quorum and real slashing, reopening and failover, earnings withdrawal.
contract MarketLeasesTest is MarketBase {
    /*//////////////////////////////////////////////////////////////
                                  SETTLE
    //////////////////////////////////////////////////////////////*/

    function test_settle_paysAccrualAndCarriesDust() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        // 277_777_778 * 3600 = 1_000_000_000_800 price units: 1_000_000 credit units, 800 left as dust.
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseSettled(leaseId, 1_000_000, DEPOSIT - 1_000_000);
        vm.prank(stranger); // permissionless
        market.settle(leaseId);

        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint256(l.earned), 1_000_000);
        assertEq(uint256(l.dust), 800);
        assertEq(uint256(l.settledAt), block.timestamp);
        assertEq(_escrowOf(orderId), DEPOSIT - 1_000_000);

        vm.warp(block.timestamp + 1 hours);
        market.settle(leaseId);
        l = market.getLease(leaseId);
        assertEq(uint256(l.earned), 2_000_000);
        assertEq(uint256(l.dust), 1_600);
    }

    /// @dev 1 price unit per second: a credit unit every 1e6 seconds, only through the dust carry.
    function test_settle_dustAccumulatesIntoWholeUnits() public {
        IMarket.OrderParams memory p = _params();
        p.maxPricePerSecond = 1;
        p.deposit = 10;
        (, uint256 leaseId) = _leased(p, 1);
        for (uint256 i; i < 3; ++i) {
            vm.warp(block.timestamp + 400_000);
            market.settle(leaseId);
        }
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint256(l.earned), 1); // floor(1.2e6 / 1e6)
        assertEq(uint256(l.dust), 200_000);
    }

    function test_settle_sameSecondChangesNothing() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.recordLogs();
        market.settle(leaseId);
        assertEq(vm.getRecordedLogs().length, 0);
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint256(l.earned), 0);
        assertEq(uint256(l.settledAt), block.timestamp);
    }

    /// @dev However the time is cut into settles, the lease earns exactly floor(price * total / 1e6),
    /// and the dust left is the exact remainder.
    function testFuzz_settle_splitAccrualEqualsSingleAccrual(uint64 price, uint32[6] memory steps) public {
        price = uint64(_bound(price, 1, 1e12)); // up to $1 per second
        IMarket.OrderParams memory p = _params();
        p.maxPricePerSecond = price;
        p.deposit = uint64(1) << 62;
        _fundCredits(tenant, p.deposit);
        (uint256 orderId, uint256 leaseId) = _leased(p, price);

        uint256 total;
        for (uint256 i; i < steps.length; ++i) {
            uint256 step = _bound(steps[i], 0, 30 days);
            total += step;
            vm.warp(block.timestamp + step);
            market.settle(leaseId);
            IMarket.Lease memory l = market.getLease(leaseId);
            assertEq(uint256(l.earned), uint256(price) * total / PRICE_SCALE, "earned");
            assertEq(uint256(l.dust), uint256(price) * total % PRICE_SCALE, "dust");
        }
        assertEq(_escrowOf(orderId) + market.getLease(leaseId).earned, p.deposit);
    }

    function test_settle_exhaustedEscrowClosesLease() public {
        IMarket.OrderParams memory p = _params();
        p.deposit = 1e6; // one hour at $1/h
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 2 hours);

        // One event: the settle that ends the lease reports its amount in LeaseClosed, not LeaseSettled.
        vm.recordLogs();
        market.settle(leaseId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], IMarket.LeaseClosed.selector);
        assertEq(logs[0].topics[1], bytes32(leaseId));
        assertEq(logs[0].topics[2], bytes32(orderId));
        assertEq(logs[0].topics[3], bytes32(uint256(uint160(provider))));
        assertEq(logs[0].data, abi.encode(IMarket.CloseReason.InsufficientFunds, bytes32(0), uint256(1e6), uint256(0)));

        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint256(l.earned), 1e6);
        assertEq(uint256(l.dust), 0);
        assertEq(uint8(l.state), uint8(IMarket.LeaseState.Closed));
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.InsufficientFunds));
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint256(o.escrow), 0);
        assertEq(uint8(o.state), uint8(IMarket.OrderState.Closed)); // no reopen without escrow
        assertEq(market.currentLeaseId(orderId), 0);
        // A lease that ran out is a completion, counted when the provider withdraws from it.
        assertEq(_stats(provider)[1], 0);
        vm.prank(provider);
        market.withdrawEarnings(_leaseIds(leaseId));
        assertEq(_stats(provider)[1], 1);
        assertTrue(market.getLease(leaseId).completionCounted);
    }

    function test_settle_escrowUsedUpExactlyClosesLease() public {
        IMarket.OrderParams memory p = _params();
        p.maxPricePerSecond = 1e6; // one credit unit per second
        p.deposit = 100;
        (, uint256 leaseId) = _leased(p, 1e6);
        vm.warp(block.timestamp + 99);
        market.settle(leaseId);
        assertEq(uint8(market.getLease(leaseId).state), uint8(IMarket.LeaseState.Active));
        vm.warp(block.timestamp + 1);
        market.settle(leaseId);
        assertEq(uint8(market.getLease(leaseId).state), uint8(IMarket.LeaseState.Closed));
        assertEq(uint256(market.getLease(leaseId).earned), 100);
    }

    /// @dev Never more than the escrow; exactly the accrual while it lasts.
    function testFuzz_settle_neverPaysMoreThanEscrow(uint64 price, uint64 deposit, uint32[4] memory steps) public {
        price = uint64(_bound(price, 1, 1e12));
        uint256 minDeposit = uint256(price) * 60 / PRICE_SCALE;
        deposit = uint64(_bound(deposit, minDeposit == 0 ? 1 : minDeposit, 1e12));
        IMarket.OrderParams memory p = _params();
        p.maxPricePerSecond = price;
        p.deposit = deposit;
        _fundCredits(tenant, deposit);
        (uint256 orderId, uint256 leaseId) = _leased(p, price);

        uint256 total;
        for (uint256 i; i < steps.length; ++i) {
            total += _bound(steps[i], 1, 10 days);
            vm.warp(block.timestamp + _bound(steps[i], 1, 10 days));
            if (market.getLease(leaseId).state != IMarket.LeaseState.Active) break;
            market.settle(leaseId);
            uint256 accrued = uint256(price) * total / PRICE_SCALE;
            IMarket.Lease memory l = market.getLease(leaseId);
            uint256 expected = accrued < deposit ? accrued : deposit;
            assertEq(uint256(l.earned), expected, "earned");
            assertLte(uint256(l.earned), deposit, "above escrow");
            assertEq(uint256(l.earned) + _escrowOf(orderId), deposit, "conservation");
            bool exhausted = accrued >= deposit;
            assertEq(l.state == IMarket.LeaseState.Closed, exhausted, "closed iff exhausted");
        }
        assertEq(credits.balanceOf(address(market)), deposit);
    }

    function test_settle_revertsOnInactiveLease() public {
        uint256 unknown = market.leaseIdOf(3, 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketLeaseNotActive.selector, unknown, IMarket.LeaseState.None));
        market.settle(unknown);

        (, uint256 leaseId) = _leased(PRICE);
        vm.prank(tenant);
        market.closeLease(leaseId, "");
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketLeaseNotActive.selector, leaseId, IMarket.LeaseState.Closed)
        );
        market.settle(leaseId);
    }

    function testFuzz_pendingSettlement_matchesSettle(uint64 deposit, uint32 elapsed) public {
        deposit = uint64(_bound(deposit, 18_000, 10e6));
        IMarket.OrderParams memory p = _params();
        p.deposit = deposit;
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + _bound(elapsed, 0, 30 days));
        (uint256 owed, uint256 escrowAfter) = market.pendingSettlement(leaseId);
        market.settle(leaseId);
        assertEq(uint256(market.getLease(leaseId).earned), owed);
        assertEq(_escrowOf(orderId), escrowAfter);
        if (market.getLease(leaseId).state == IMarket.LeaseState.Closed) {
            (owed, escrowAfter) = market.pendingSettlement(leaseId);
            assertEq(owed, 0);
            assertEq(escrowAfter, 0);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               CLOSE LEASE
    //////////////////////////////////////////////////////////////*/

    function test_closeLease_byTenantSettlesAndRefunds() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        uint256 tenantBefore = credits.balanceOf(tenant);
        uint256 refund = DEPOSIT - 1_000_000;

        vm.recordLogs();
        vm.prank(tenant);
        market.closeLease(leaseId, "done");
        Vm.Log[] memory logs = vm.getRecordedLogs();

        // LeaseClosed (with the final settle's amount: no LeaseSettled), then the credits Transfer of
        // the refund; no OrderClosed.
        assertEq(logs.length, 2);
        assertEq(logs[0].topics[0], IMarket.LeaseClosed.selector);
        assertEq(logs[0].topics[1], bytes32(leaseId));
        assertEq(logs[0].topics[2], bytes32(orderId));
        assertEq(logs[0].topics[3], bytes32(uint256(uint160(provider))));
        bytes32 note = "done";
        assertEq(logs[0].data, abi.encode(IMarket.CloseReason.TenantClosed, note, uint256(1_000_000), refund));
        assertEq(logs[1].emitter, address(credits));

        assertEq(credits.balanceOf(tenant), tenantBefore + refund);
        assertEq(credits.balanceOf(address(market)), 1_000_000); // the provider's unwithdrawn earnings
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint8(l.state), uint8(IMarket.LeaseState.Closed));
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.TenantClosed));
        assertEq(uint256(l.earned), 1_000_000);
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint8(o.state), uint8(IMarket.OrderState.Closed)); // even with autoReopen
        assertEq(uint256(o.escrow), 0);
        uint32[5] memory s = _stats(provider);
        assertEq(s[0], 1);
        assertEq(s[1], 0); // the completion counts at the provider's withdrawal
        assertEq(s[2], 0);
        assertFalse(l.completionCounted);

        vm.prank(provider);
        market.withdrawEarnings(_leaseIds(leaseId));
        s = _stats(provider);
        assertEq(s[0], 1);
        assertEq(s[1], 1);
        assertTrue(market.getLease(leaseId).completionCounted);
        (, uint256 completed,) = registry.statsOf(provider);
        assertEq(completed, 1);
    }

    /// @dev A tenant close returns exactly what was not earned: earned + refund == deposit.
    function testFuzz_closeLease_refundIsDepositMinusEarnings(uint64 deposit, uint32 elapsed) public {
        deposit = uint64(_bound(deposit, 18_000, 1_000e6));
        IMarket.OrderParams memory p = _params();
        p.deposit = deposit;
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        uint256 t = _bound(elapsed, 0, 60 days);
        vm.warp(block.timestamp + t);
        uint256 tenantBefore = credits.balanceOf(tenant);

        vm.prank(tenant);
        market.closeLease(leaseId, "");

        uint256 accrued = _owed(PRICE, t);
        uint256 earned = accrued < deposit ? accrued : deposit;
        assertEq(uint256(market.getLease(leaseId).earned), earned);
        assertEq(credits.balanceOf(tenant) - tenantBefore, deposit - earned);
        assertEq(_escrowOf(orderId), 0);
        IMarket.CloseReason expectedReason =
            accrued >= deposit ? IMarket.CloseReason.InsufficientFunds : IMarket.CloseReason.TenantClosed;
        assertEq(uint8(market.getLease(leaseId).reason), uint8(expectedReason));
    }

    function test_closeLease_byProviderReopensOrder() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        uint256 tenantBefore = credits.balanceOf(tenant);
        uint64 escrowLeft = DEPOSIT - 1_000_000;
        uint40 deadline = uint40(block.timestamp + BID_WINDOW);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseClosed(
            leaseId, orderId, provider, IMarket.CloseReason.ProviderClosed, "maintenance", 1_000_000, 0
        );
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderReopened(orderId, 1, escrowLeft, deadline);
        vm.prank(provider);
        market.closeLease(leaseId, "maintenance");

        assertEq(credits.balanceOf(tenant), tenantBefore); // no refund: the escrow stays for round 1
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint8(o.state), uint8(IMarket.OrderState.Open));
        assertEq(uint256(o.round), 1);
        assertEq(uint256(o.escrow), escrowLeft);
        assertEq(uint256(o.bidDeadline), deadline);
        assertEq(uint256(o.bidCount), 0);
        assertEq(uint256(o.bestBidProvider), 0);
        assertEq(o.tenant, tenant);
        assertTrue(o.autoReopen);
        assertEq(uint256(o.maxPricePerSecond), MAX_PRICE);
        assertEq(uint256(o.bidWindow), BID_WINDOW);
        assertEq(o.manifestHash, _params().manifestHash);
        uint32[5] memory s = _stats(provider);
        assertEq(s[1], 0);
        assertEq(s[2], 1); // closedByProvider
    }

    function test_closeLease_byProviderWithoutAutoReopenRefunds() public {
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 1 hours);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseClosed(
            leaseId, orderId, provider, IMarket.CloseReason.ProviderClosed, bytes32(0), 1_000_000, DEPOSIT - 1_000_000
        );
        vm.prank(provider);
        market.closeLease(leaseId, bytes32(0));
        assertEq(credits.balanceOf(tenant), tenantBefore + DEPOSIT - 1_000_000);
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Closed));
        assertEq(uint256(market.getOrder(orderId).round), 0);
    }

    function test_closeLease_whenSettleExhaustsClosesForInsufficientFunds() public {
        IMarket.OrderParams memory p = _params();
        p.deposit = 1e6;
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 2 hours);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.prank(provider);
        market.closeLease(leaseId, "bye");
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.InsufficientFunds));
        assertEq(uint256(l.earned), 1e6);
        assertEq(credits.balanceOf(tenant), tenantBefore);
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Closed)); // no escrow: no reopen
        uint32[5] memory s = _stats(provider);
        assertEq(s[1], 0); // a completion: counted at withdrawal
        assertEq(s[2], 0); // not a provider close
    }

    function test_closeLease_revertsForStranger() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotLeaseParty.selector, leaseId, stranger));
        vm.prank(stranger);
        market.closeLease(leaseId, "");
    }

    function test_closeLease_revertsOnInactiveLease() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.prank(tenant);
        market.closeLease(leaseId, "");
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketLeaseNotActive.selector, leaseId, IMarket.LeaseState.Closed)
        );
        vm.prank(provider);
        market.closeLease(leaseId, "");
    }

    /*//////////////////////////////////////////////////////////////
                               REPORT FAULT
    //////////////////////////////////////////////////////////////*/

    function test_reportFault_byTenantClosesWithoutSlashAndReopens() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 30 minutes);
        uint256 stakeBefore = registry.stakeOf(provider);
        uint256 owed = _owed(PRICE, 30 minutes);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.FaultReported(leaseId, tenant, true, 0, "unreachable");
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseClosed(
            leaseId, orderId, provider, IMarket.CloseReason.FaultReportedByTenant, "unreachable", owed, 0
        );
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderReopened(
            orderId, 1, SafeCast.toUint64(DEPOSIT - owed), SafeCast.toUint40(block.timestamp + BID_WINDOW)
        );
        vm.prank(tenant);
        market.reportFault(leaseId, "unreachable");

        assertEq(registry.stakeOf(provider), stakeBefore);
        (,, uint256 faults) = registry.statsOf(provider);
        assertEq(faults, 0);
        assertEq(_stats(provider)[3], 1); // tenantFaultReports
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Open));
        assertEq(uint256(market.getLease(leaseId).earned), owed); // paid up to the report
    }

    function test_reportFault_byTenantWithoutAutoReopenRefunds() public {
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.prank(tenant);
        market.reportFault(leaseId, "bad");
        assertEq(credits.balanceOf(tenant), tenantBefore + DEPOSIT);
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Closed));
    }

    function test_reportFault_watcherQuorumOfOneSlashesAndReopens() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 10 minutes);
        uint256 stake = registry.stakeOf(provider);
        uint256 slash = stake * 1_000 / 10_000;
        uint256 toReporter = slash * REPORTER_SHARE_BPS / 10_000;
        uint256 supplyBefore = token.totalSupply();

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.FaultReported(leaseId, watcher, false, 1, "probe failed x3");
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseClosed(
            leaseId,
            orderId,
            provider,
            IMarket.CloseReason.FaultConfirmed,
            "probe failed x3",
            _owed(PRICE, 10 minutes),
            0
        );
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderRegistry.ProviderSlashed(provider, slash, toReporter, slash - toReporter, "probe failed x3");
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.FaultConfirmed(leaseId, provider, slash, "probe failed x3");
        vm.prank(watcher);
        market.reportFault(leaseId, "probe failed x3");

        assertEq(registry.stakeOf(provider), stake - slash);
        assertEq(token.balanceOf(watcher), toReporter);
        assertEq(token.totalSupply(), supplyBefore - (slash - toReporter));
        (,, uint256 faults) = registry.statsOf(provider);
        assertEq(faults, 1);
        assertEq(_stats(provider)[4], 1); // confirmedFaults
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.FaultConfirmed));
        assertEq(uint256(l.faultReports), 1);
        assertEq(uint256(market.getOrder(orderId).round), 1);
        assertTrue(market.hasReported(leaseId, watcher));
    }

    function test_reportFault_quorumOfTwoNeedsTwoWatchers() public {
        market.setFaultQuorum(2);
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        uint256 stake = registry.stakeOf(provider);
        vm.warp(block.timestamp + 1 hours);

        // Short of the quorum the lease runs on: its settle emits LeaseSettled as usual.
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseSettled(leaseId, 1_000_000, DEPOSIT - 1_000_000);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.FaultReported(leaseId, watcher, false, 1, "a");
        vm.prank(watcher);
        market.reportFault(leaseId, "a");
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint8(l.state), uint8(IMarket.LeaseState.Active));
        assertEq(uint256(l.faultReports), 1);
        assertEq(registry.stakeOf(provider), stake);

        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketAlreadyReported.selector, leaseId, watcher));
        vm.prank(watcher);
        market.reportFault(leaseId, "a again");

        vm.warp(block.timestamp + 1 minutes);
        // The quorum ends the lease: the final settle's amount (the dust carried) is in LeaseClosed.
        uint256 settled = _owed(PRICE, 1 hours + 1 minutes) - 1_000_000;
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.FaultReported(leaseId, watcher2, false, 2, "b");
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseClosed(leaseId, orderId, provider, IMarket.CloseReason.FaultConfirmed, "b", settled, 0);
        vm.prank(watcher2);
        market.reportFault(leaseId, "b");
        l = market.getLease(leaseId);
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.FaultConfirmed));
        assertEq(uint256(l.faultReports), 2);
        uint256 slash = stake / 10;
        assertEq(registry.stakeOf(provider), stake - slash);
        // The reporter that reached the quorum gets the reporter share.
        assertEq(token.balanceOf(watcher2), slash * REPORTER_SHARE_BPS / 10_000);
        assertEq(token.balanceOf(watcher), 0);
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Open));
    }

    function test_reportFault_zeroSlashStillCountsFault() public {
        market.setFaultSlashBps(0);
        (, uint256 leaseId) = _leased(PRICE);
        uint256 stake = registry.stakeOf(provider);
        vm.prank(watcher);
        market.reportFault(leaseId, "x");
        assertEq(registry.stakeOf(provider), stake);
        (,, uint256 faults) = registry.statsOf(provider);
        assertEq(faults, 1);
    }

    function test_reportFault_watcherWithoutAutoReopenRefunds() public {
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.prank(watcher);
        market.reportFault(leaseId, "x");
        assertEq(credits.balanceOf(tenant), tenantBefore + DEPOSIT);
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Closed));
    }

    function test_reportFault_onExhaustedLeaseClosesForInsufficientFunds() public {
        IMarket.OrderParams memory p = _params();
        p.deposit = 1e6;
        (, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 2 hours);
        uint256 stake = registry.stakeOf(provider);
        vm.prank(watcher);
        market.reportFault(leaseId, "x");
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.InsufficientFunds));
        assertEq(uint256(l.faultReports), 0);
        assertEq(registry.stakeOf(provider), stake);
        assertFalse(market.hasReported(leaseId, watcher));

        (, uint256 second) = _leased(p, PRICE);
        vm.warp(block.timestamp + 2 hours);
        vm.prank(tenant);
        market.reportFault(second, "x");
        assertEq(uint8(market.getLease(second).reason), uint8(IMarket.CloseReason.InsufficientFunds));
        assertEq(_stats(provider)[3], 0);
    }

    function test_reportFault_revertsForNonWatcher() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotReporter.selector, leaseId, stranger));
        vm.prank(stranger);
        market.reportFault(leaseId, "");

        market.setWatcher(watcher, false);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotReporter.selector, leaseId, watcher));
        vm.prank(watcher);
        market.reportFault(leaseId, "");
    }

    function test_reportFault_revertsForProviderOnOwnLease() public {
        market.setWatcher(provider, true);
        (, uint256 leaseId) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotReporter.selector, leaseId, provider));
        vm.prank(provider);
        market.reportFault(leaseId, "");
    }

    function test_reportFault_revertsOnInactiveLease() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.prank(tenant);
        market.closeLease(leaseId, "");
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketLeaseNotActive.selector, leaseId, IMarket.LeaseState.Closed)
        );
        vm.prank(watcher);
        market.reportFault(leaseId, "");
    }

    /*//////////////////////////////////////////////////////////////
                                 FAILOVER
    //////////////////////////////////////////////////////////////*/

    /// @dev The whole automatic failover: a watcher confirms a fault, the order reopens with the
    /// escrow left, the failed provider cannot bid, anyone accepts the best bid after the window,
    /// the new lease runs on the same escrow, and every credit ends up paid or refunded.
    function test_failover_endToEnd() public {
        _addStake(provider, 1_000e18); // still active after the slash: the exclusion is what stops it
        (uint256 orderId, uint256 firstLease) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(watcher);
        market.reportFault(firstLease, "down");
        uint256 firstEarned = market.getLease(firstLease).earned;
        assertEq(firstEarned, 1_000_000);

        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE);
        _bid(provider3, orderId, PRICE / 2);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        uint256 secondLease = market.acceptBestBid(orderId);
        assertEq(secondLease, market.leaseIdOf(orderId, 1));
        assertEq(market.getLease(secondLease).provider, provider3);

        vm.warp(block.timestamp + 2 hours);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.prank(tenant);
        market.closeLease(secondLease, "");
        uint256 secondEarned = market.getLease(secondLease).earned;
        assertEq(secondEarned, _owed(PRICE / 2, 2 hours));
        uint256 refund = credits.balanceOf(tenant) - tenantBefore;
        assertEq(firstEarned + secondEarned + refund, DEPOSIT);

        // Both providers withdraw; the market ends empty.
        vm.prank(provider);
        assertEq(market.withdrawEarnings(_leaseIds(firstLease)), firstEarned);
        vm.prank(provider3);
        assertEq(market.withdrawEarnings(_leaseIds(secondLease)), secondEarned);
        assertEq(credits.balanceOf(address(market)), 0);
    }

    /// @dev Failover with nobody watching and nobody bidding at first: a watcher confirms a fault, the
    /// reopened round gets no bid, a stranger restarts bidding, a new provider bids and a stranger
    /// accepts it. The faulty provider stays excluded across the restarted round; the escrow waits
    /// untouched through the stall. Fixed values: $1 per hour, $100 deposit.
    function test_failover_restartsBiddingWhenNoBidsCame() public {
        _addStake(provider, 1_000e18); // still active after the slash: the exclusion is what stops it
        (uint256 orderId, uint256 firstLease) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(watcher);
        market.reportFault(firstLease, "down");
        assertEq(uint256(market.getLease(firstLease).earned), 1_000_000);
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint256(o.round), 1);
        assertEq(uint256(o.escrow), 99_000_000);
        uint40 firstDeadline = o.bidDeadline;
        assertEq(uint256(firstDeadline), START_TIME + 1 hours + BID_WINDOW);

        // The window passes without a bid: the old stall (no bid possible, nothing to accept).
        vm.warp(uint256(firstDeadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNoBids.selector, orderId, 1));
        market.acceptBestBid(orderId);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketBidWindowClosed.selector, orderId, firstDeadline, firstDeadline + 1)
        );
        _bid(provider2, orderId, PRICE / 2);

        uint40 secondDeadline = firstDeadline + 1 + BID_WINDOW;
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BiddingRestarted(orderId, 2, secondDeadline);
        vm.prank(stranger);
        market.restartBidding(orderId);
        o = market.getOrder(orderId);
        assertEq(uint256(o.round), 2);
        assertEq(uint256(o.restartsSinceLease), 1);
        assertEq(uint256(o.bidDeadline), secondDeadline);
        assertEq(uint256(o.escrow), 99_000_000);

        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE / 4);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BidPlaced(orderId, provider2, 2, 138_888_889);
        _bid(provider2, orderId, PRICE / 2);

        vm.warp(uint256(secondDeadline) + 1);
        uint256 expectedLease = (orderId << 32) | 2;
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseCreated(expectedLease, orderId, provider2, 138_888_889);
        vm.prank(stranger);
        uint256 secondLease = market.acceptBestBid(orderId);
        assertEq(secondLease, expectedLease);
        assertEq(uint256(market.getLease(secondLease).startedAt), uint256(secondDeadline) + 1);

        // Two hours at $0.50/h: 1_000_000 credits (138_888_889 * 7_200 = 1_000_000_000_800 price units).
        vm.warp(block.timestamp + 2 hours);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.prank(tenant);
        market.closeLease(secondLease, "");
        assertEq(uint256(market.getLease(secondLease).earned), 1_000_000);
        assertEq(uint256(market.getLease(secondLease).dust), 800);
        assertEq(credits.balanceOf(tenant) - tenantBefore, 98_000_000);

        vm.prank(provider);
        assertEq(market.withdrawEarnings(_leaseIds(firstLease)), 1_000_000);
        vm.prank(provider2);
        assertEq(market.withdrawEarnings(_leaseIds(secondLease)), 1_000_000);
        assertEq(credits.balanceOf(address(market)), 0);
    }

    /// @dev The reopened round's best bidder is jailed before anyone accepts: `acceptBestBid` cannot
    /// succeed, so anyone restarts the round and the next best provider takes the workload.
    function test_failover_restartsBiddingWhenBestBidderJailed() public {
        (uint256 orderId, uint256 firstLease) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(tenant);
        market.reportFault(firstLease, "down"); // reopens round 1
        _bid(provider2, orderId, PRICE / 2); // best
        _bid(provider3, orderId, PRICE);

        // provider2 is jailed for a fault on another lease (jailAfterFaults 1).
        registry.setJailAfterFaults(1);
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        uint256 otherOrder = _createOrder(otherTenant, p);
        _bid(provider2, otherOrder, PRICE);
        uint256 otherLease = _accept(otherOrder, provider2);
        vm.prank(watcher);
        market.reportFault(otherLease, "down");
        assertFalse(registry.isActive(provider2));

        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider2));
        market.acceptBestBid(orderId);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BiddingRestarted(orderId, 2, SafeCast.toUint40(block.timestamp + BID_WINDOW));
        vm.prank(stranger);
        market.restartBidding(orderId);

        // provider3 bids again in round 2 (its round-1 bid went with the round); provider stays excluded.
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE);
        _bid(provider3, orderId, PRICE);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        uint256 secondLease = market.acceptBestBid(orderId);
        assertEq(secondLease, market.leaseIdOf(orderId, 2));
        assertEq(market.getLease(secondLease).provider, provider3);
        assertEq(uint256(market.getOrder(orderId).escrow), DEPOSIT - 1_000_000);
    }

    /*//////////////////////////////////////////////////////////////
                            WITHDRAW EARNINGS
    //////////////////////////////////////////////////////////////*/

    function test_withdrawEarnings_settlesAndPaysAllLeases() public {
        (, uint256 closedLease) = _leased(PRICE);
        (, uint256 activeLease) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(tenant);
        market.closeLease(closedLease, "");

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.EarningsWithdrawn(closedLease, provider, 1_000_000);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseSettled(activeLease, 1_000_000, DEPOSIT - 1_000_000);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.EarningsWithdrawn(activeLease, provider, 1_000_000);
        vm.prank(provider);
        uint256 amount = market.withdrawEarnings(_leaseIds(closedLease, activeLease));

        assertEq(amount, 2_000_000);
        assertEq(credits.balanceOf(provider), 2_000_000);
        assertEq(credits.redeemableOf(provider), 2_000_000); // earnings are redeemable for STOA
        assertEq(uint256(market.getLease(closedLease).earned), 0);
        assertEq(uint256(market.getLease(activeLease).earned), 0);
        assertEq(uint256(market.getLease(activeLease).dust), 800); // dust stays with the lease
        assertEq(credits.balanceOf(address(market)), DEPOSIT - 1_000_000);

        // Again: nothing left, no payout, no event.
        vm.recordLogs();
        vm.prank(provider);
        assertEq(market.withdrawEarnings(_leaseIds(closedLease)), 0);
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_withdrawEarnings_duplicateIdsPayOnce() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(provider);
        assertEq(market.withdrawEarnings(_leaseIds(leaseId, leaseId)), 1_000_000);
    }

    function test_withdrawEarnings_settleThatExhaustsStillPays() public {
        IMarket.OrderParams memory p = _params();
        p.deposit = 1e6;
        (, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 3 hours);
        vm.prank(provider);
        assertEq(market.withdrawEarnings(_leaseIds(leaseId)), 1e6);
        assertEq(uint8(market.getLease(leaseId).reason), uint8(IMarket.CloseReason.InsufficientFunds));
    }

    /// @dev leasesCompleted counts a completed lease once, at the first withdrawal that names it, also
    /// when nothing is left to pay; active leases and the other close reasons do not count there.
    function test_withdrawEarnings_countsEachCompletionOnce() public {
        (, uint256 completedLease) = _leased(PRICE);
        (, uint256 emptyLease) = _leased(PRICE);
        (, uint256 droppedLease) = _leased(PRICE);
        (, uint256 activeLease) = _leased(PRICE);
        vm.prank(tenant);
        market.closeLease(emptyLease, ""); // same second: earned nothing
        vm.warp(block.timestamp + 1 hours);
        vm.prank(tenant);
        market.closeLease(completedLease, "");
        vm.prank(provider);
        market.closeLease(droppedLease, ""); // counted at the close, as closedByProvider
        assertEq(_stats(provider)[1], 0);
        assertEq(_stats(provider)[2], 1);

        uint256[] memory ids = new uint256[](5);
        (ids[0], ids[1], ids[2]) = (completedLease, completedLease, emptyLease);
        (ids[3], ids[4]) = (droppedLease, activeLease);
        vm.prank(provider);
        assertEq(market.withdrawEarnings(ids), 3_000_000); // an hour each: completed, dropped, active
        uint32[5] memory s = _stats(provider);
        assertEq(s[0], 4);
        assertEq(s[1], 2); // completedLease (listed twice) and emptyLease
        assertEq(s[2], 1);
        assertTrue(market.getLease(completedLease).completionCounted);
        assertTrue(market.getLease(emptyLease).completionCounted);
        assertFalse(market.getLease(droppedLease).completionCounted);
        assertFalse(market.getLease(activeLease).completionCounted);

        // Withdrawing again counts nothing more.
        vm.prank(provider);
        market.withdrawEarnings(ids);
        assertEq(_stats(provider)[1], 2);
    }

    /// @dev A settle inside the withdrawal that uses the escrow up completes the lease: it counts in
    /// the same call.
    function test_withdrawEarnings_countsLeaseItsSettleCompleted() public {
        IMarket.OrderParams memory p = _params();
        p.deposit = 1e6;
        (, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 3 hours);
        vm.prank(provider);
        market.withdrawEarnings(_leaseIds(leaseId));
        assertEq(_stats(provider)[1], 1);
        assertTrue(market.getLease(leaseId).completionCounted);
    }

    function test_withdrawEarnings_revertsForOthersLease() public {
        (, uint256 leaseId) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotLeaseProvider.selector, leaseId, provider2));
        vm.prank(provider2);
        market.withdrawEarnings(_leaseIds(leaseId));

        uint256 unknown = market.leaseIdOf(77, 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotLeaseProvider.selector, unknown, provider));
        vm.prank(provider);
        market.withdrawEarnings(_leaseIds(unknown));
    }

    function test_withdrawEarnings_emptyListPaysNothing() public {
        vm.prank(provider);
        assertEq(market.withdrawEarnings(new uint256[](0)), 0);
    }
}
