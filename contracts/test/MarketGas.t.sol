// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IMarket } from "../src/interfaces/IMarket.sol";
import { MarketBase, VmExtra } from "./MarketBase.t.sol";

/// @notice Gas of each Market operation on the typical path, one transaction per test.
///
/// Run by `npm run gas` (script/gas-report.mjs) with `forge test --isolate`: every top-level call is
/// then its own transaction, so `lastCallGas` is what a receipt would show (21k base, calldata, cold
/// account and slot accesses, refunds). The script compares the logged figures with the goals; the
/// tests themselves check only that each operation did its job, so `forge snapshot` always records
/// (without `--isolate` the logged figures are not transaction gas: calls share warm state).
///
/// "Typical" means the market has been in use: `setUp` first runs a whole lease for the same tenant
/// and providers (order, bids, lease, settle, close), so the tenant's credit balance, the Market's
/// credit balance, the order counter and the providers' stats are non-zero, as on a live network.
/// Then each operation is measured on a fresh object in the state it would meet:
/// - createOrder: the tenant's next order (realistic resources, a 66-byte IPFS manifest URI).
/// - bid: the second bid on an open order, lower than the first (reads and moves the best bid).
/// - acceptBid: the tenant accepts the lower of two bids.
/// - settle: a periodic settle, one hour after the previous one.
/// - closeLease: the tenant ends a lease settled an hour before, the escrow is refunded.
/// Other operations are reported for information, without a goal. restartBidding is measured as a
/// keeper (a stranger) calls it in a stalled failover: on an order reopened after a fault whose window
/// closed with no bid, and on an order whose only (best) bidder unstaked since it bid.
contract MarketGasTest is MarketBase {
    /// @dev Decoded by forge (ds-test's log event) into `decoded_logs`, which the gas script reads.
    event log_named_uint(string key, uint256 val);

    uint256 internal orderToBid;
    uint256 internal orderToAccept;
    uint256 internal leaseToSettle;
    uint256 internal leaseToClose;
    uint256 internal orderToCancel;
    uint256 internal orderToTopUp;
    uint256 internal leaseToFault;
    uint256 internal leaseToWatch;
    uint256 internal leaseToDrop;
    uint256 internal orderToAutoAccept;
    uint256 internal leaseToCollect;
    uint256 internal orderToRestart;
    uint256 internal orderToRestartInactiveBest;

    function setUp() public override {
        super.setUp();

        // Warm-up: one complete lease for the tenant and both providers.
        (, uint256 firstLease) = _leased(PRICE);
        uint256 secondOrder = _createOrder();
        _bid(provider2, secondOrder, PRICE);
        uint256 secondLease = _accept(secondOrder, provider2);
        vm.warp(block.timestamp + 1 hours);
        market.settle(firstLease);
        vm.prank(tenant);
        market.closeLease(firstLease, bytes32(0));
        vm.prank(tenant);
        market.closeLease(secondLease, bytes32(0));
        leaseToCollect = firstLease; // completed, its earnings and its completion not collected yet

        orderToAccept = _createOrder();
        _bid(provider2, orderToAccept, PRICE);
        _bid(provider, orderToAccept, PRICE - 1);

        (, leaseToSettle) = _leased(PRICE);
        (, leaseToClose) = _leased(PRICE);
        (orderToTopUp,) = _leased(PRICE);
        (, leaseToFault) = _leased(PRICE);
        (, leaseToWatch) = _leased(PRICE);
        (, leaseToDrop) = _leased(PRICE);
        orderToCancel = _createOrder();
        (uint256 restartOrder, uint256 leaseToFailUnwatched) = _leased(PRICE);
        orderToRestart = restartOrder;
        orderToRestartInactiveBest = _createOrder();
        address leaver = _makeAddr("leaver");
        _registerProvider(leaver, EU_WEST);
        _bid(leaver, orderToRestartInactiveBest, PRICE);
        vm.prank(leaver);
        registry.beginUnbond(1); // below minStake: no longer active

        // A reopened order with two bids, waiting for acceptBestBid.
        orderToAutoAccept = _createOrder();
        _bid(provider3, orderToAutoAccept, PRICE);
        uint256 droppedLease = _accept(orderToAutoAccept, provider3);

        vm.warp(block.timestamp + 1 hours);
        market.settle(leaseToSettle);
        market.settle(leaseToClose);
        vm.prank(provider3);
        market.closeLease(droppedLease, "maintenance");
        vm.prank(tenant);
        market.reportFault(leaseToFailUnwatched, "unreachable"); // reopens; nobody bids before the deadline
        _bid(provider, orderToAutoAccept, PRICE);
        _bid(provider2, orderToAutoAccept, PRICE - 1);

        vm.warp(block.timestamp + 1 hours);
        orderToBid = _createOrder();
        _bid(provider2, orderToBid, PRICE);
    }

    /// @dev Logs the gas of the call just made for script/gas-report.mjs, which holds the goals.
    function _record(string memory operation) internal {
        emit log_named_uint(string.concat("gas:", operation), VmExtra(address(vm)).lastCallGas().gasTotalUsed);
    }

    /*//////////////////////////////////////////////////////////////
                   OPERATIONS WITH A GOAL (SECTION 8)
    //////////////////////////////////////////////////////////////*/

    function test_gas_createOrder() public {
        IMarket.OrderParams memory p = _params();
        vm.prank(tenant);
        uint256 orderId = market.createOrder(p);
        _record("createOrder");
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Open));
    }

    function test_gas_bid() public {
        vm.prank(provider);
        market.bid(orderToBid, PRICE - 1);
        _record("bid");
        assertEq(market.getOrder(orderToBid).bestBidProvider, providerId);
    }

    function test_gas_acceptBid() public {
        vm.prank(tenant);
        uint256 leaseId = market.acceptBid(orderToAccept, provider);
        _record("acceptBid");
        assertEq(market.getLease(leaseId).provider, provider);
    }

    function test_gas_settle() public {
        uint256 earnedBefore = market.getLease(leaseToSettle).earned;
        market.settle(leaseToSettle);
        _record("settle");
        assertGt(market.getLease(leaseToSettle).earned, earnedBefore);
    }

    function test_gas_closeLease() public {
        vm.prank(tenant);
        market.closeLease(leaseToClose, bytes32(0));
        _record("closeLease");
        assertEq(uint8(market.getLease(leaseToClose).reason), uint8(IMarket.CloseReason.TenantClosed));
    }

    /*//////////////////////////////////////////////////////////////
                        OTHER OPERATIONS (NO GOAL)
    //////////////////////////////////////////////////////////////*/

    function test_gas_acceptBestBid() public {
        uint256 leaseId = market.acceptBestBid(orderToAutoAccept);
        _record("acceptBestBid");
        assertEq(market.getLease(leaseId).provider, provider2);
    }

    function test_gas_restartBidding() public {
        vm.prank(stranger);
        market.restartBidding(orderToRestart);
        _record("restartBidding (anyone, no bids)");
        assertEq(uint256(market.getOrder(orderToRestart).round), 2);
    }

    function test_gas_restartBiddingInactiveBestBidder() public {
        vm.prank(stranger);
        market.restartBidding(orderToRestartInactiveBest);
        _record("restartBidding (anyone, best bidder inactive)");
        assertEq(uint256(market.getOrder(orderToRestartInactiveBest).round), 1);
    }

    function test_gas_topUp() public {
        vm.prank(tenant);
        market.topUp(orderToTopUp, 50e6);
        _record("topUp");
    }

    function test_gas_cancelOrder() public {
        vm.prank(tenant);
        market.cancelOrder(orderToCancel);
        _record("cancelOrder");
    }

    function test_gas_closeLeaseByProvider() public {
        vm.prank(provider);
        market.closeLease(leaseToDrop, "maintenance");
        _record("closeLease (provider, reopens)");
        assertEq(uint8(market.getOrder(leaseToDrop >> 32).state), uint8(IMarket.OrderState.Open));
    }

    function test_gas_reportFaultByTenant() public {
        vm.prank(tenant);
        market.reportFault(leaseToFault, "unreachable");
        _record("reportFault (tenant, reopens)");
    }

    function test_gas_reportFaultByWatcher() public {
        vm.prank(watcher);
        market.reportFault(leaseToWatch, "unreachable");
        _record("reportFault (watcher quorum, slash, reopens)");
        assertEq(uint8(market.getLease(leaseToWatch).reason), uint8(IMarket.CloseReason.FaultConfirmed));
    }

    function test_gas_withdrawEarnings() public {
        vm.prank(provider);
        market.withdrawEarnings(_leaseIds(leaseToSettle));
        _record("withdrawEarnings (1 active lease)");
    }

    /// @dev Where a completion is counted in `leasesCompleted` (moved out of the tenant's close).
    function test_gas_withdrawEarningsCompletedLease() public {
        vm.prank(provider);
        market.withdrawEarnings(_leaseIds(leaseToCollect));
        _record("withdrawEarnings (1 completed lease, counts it)");
        assertTrue(market.getLease(leaseToCollect).completionCounted);
    }
}
