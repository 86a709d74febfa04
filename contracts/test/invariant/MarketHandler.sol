// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Vm } from "@prb/test/Vm.sol";

import { Credits } from "../../src/Credits.sol";
import { Market } from "../../src/Market.sol";
import { ProviderRegistry } from "../../src/ProviderRegistry.sol";
import { IMarket } from "../../src/interfaces/IMarket.sol";
import { HandlerBase } from "../utils/HandlerBase.sol";

/// @notice Drives the Market through random but mostly valid sequences of every state-changing call
/// (orders, bids, acceptance, bidding restarts, settles, top-ups, closes, cancels, tenant and watcher
/// faults, withdrawals) over fixed tenants, providers and watchers, with time jumps between calls. It
/// keeps ghost totals of what went in (deposits, top-ups) and out (refunds, withdrawals) per order and
/// per lease, for the invariant test to compare with the Market's own accounting, and each order's
/// last lease provider, which the market must keep from bidding again.
contract MarketHandler is HandlerBase {
    Market public immutable market;
    Credits public immutable credits;
    ProviderRegistry public immutable registry;

    address[] internal _tenants;
    address[] internal _providers;
    address[] internal _watchers;

    uint256[] internal _orderIds;
    uint256[] internal _leaseIds;

    /// @notice Credits put into an order: its deposit plus every top-up.
    mapping(uint256 orderId => uint256) public ghostDeposited;
    /// @notice Credits refunded to the order's tenant.
    mapping(uint256 orderId => uint256) public ghostRefunded;
    /// @notice Credits paid out to the lease's provider by `withdrawEarnings`.
    mapping(uint256 leaseId => uint256) public ghostWithdrawn;
    /// @notice The provider of the order's most recent lease (0 before its first): after that lease
    /// ends, the only provider the order refuses as `MarketPreviousProvider`, across restarted rounds.
    mapping(uint256 orderId => address) public ghostLastLeaseProvider;
    /// @notice How often each action ran to completion (for the call summary).
    mapping(bytes32 action => uint256) public calls;

    bytes32 internal immutable _EARNINGS_WITHDRAWN = IMarket.EarningsWithdrawn.selector;

    constructor(
        Market market_,
        Credits credits_,
        ProviderRegistry registry_,
        address[] memory tenants_,
        address[] memory providers_,
        address[] memory watchers_
    ) {
        market = market_;
        credits = credits_;
        registry = registry_;
        _tenants = tenants_;
        _providers = providers_;
        _watchers = watchers_;
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    function createOrder(
        uint256 tenantSeed,
        uint256 priceSeed,
        uint256 depositSeed,
        uint256 windowSeed,
        uint256 maskSeed,
        bool autoReopen,
        uint256 timeSeed
    ) external {
        _warp(timeSeed);
        address tenant = _tenants[tenantSeed % _tenants.length];
        IMarket.OrderParams memory p;
        p.resources = IMarket.Resources({ cpuMillis: 1000, memoryMiB: 1024, storageMiB: 1024, gpus: 0, gpuModel: 0 });
        p.maxPricePerSecond = uint64(_bound(priceSeed, 1, 1e9)); // up to $3.6/h
        uint256 minDeposit = uint256(p.maxPricePerSecond) * market.minDepositSeconds() / 1e6;
        // From the minimum (a minute at the maximum price) to ten hours: escrows do run out.
        p.deposit = uint64(_bound(depositSeed, minDeposit == 0 ? 1 : minDeposit, minDeposit * 600 + 1));
        p.bidWindow = uint32(_bound(windowSeed, 1 minutes, 6 hours));
        // Mostly any region; sometimes only the providers' region 8, sometimes only region 2.
        uint256 maskChoice = maskSeed % 4;
        p.regionMask = maskChoice == 0 ? uint32(1 << 8) : maskChoice == 1 ? uint32(1 << 2) : 0;
        p.manifestHash = keccak256(abi.encode(tenant, _orderIds.length));
        p.autoReopen = autoReopen;

        vm.prank(tenant);
        uint256 orderId = market.createOrder(p);
        _orderIds.push(orderId);
        ghostDeposited[orderId] = p.deposit;
        ++calls["createOrder"];
    }

    function bid(uint256 providerSeed, uint256 orderSeed, uint256 priceSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        (bool found, uint256 orderId) = _openOrder(orderSeed, true);
        if (!found) return;
        IMarket.Order memory o = market.getOrder(orderId);
        uint64 price = uint64(_bound(priceSeed, 1, o.maxPricePerSecond));
        // The first provider (from the seed on) whose bid the market takes; refusals must be the
        // expected ones.
        for (uint256 i; i < _providers.length; ++i) {
            address provider = _providers[(providerSeed % _providers.length + i) % _providers.length];
            if (!registry.isActive(provider)) continue;
            vm.prank(provider);
            try market.bid(orderId, price) {
                require(provider != ghostLastLeaseProvider[orderId], "last lease provider bid again");
                ++calls["bid"];
                return;
            } catch (bytes memory reason) {
                bytes4 selector = _selector(reason);
                require(
                    selector == IMarket.MarketRegionNotAllowed.selector || selector == IMarket.MarketAlreadyBid.selector
                        || selector == IMarket.MarketPreviousProvider.selector
                        || selector == IMarket.MarketTooManyBids.selector,
                    "unexpected bid revert"
                );
                if (selector == IMarket.MarketPreviousProvider.selector) {
                    require(provider == ghostLastLeaseProvider[orderId], "excluded a provider that was not last");
                }
                ++calls["bid.rejected"];
            }
        }
    }

    function acceptBid(uint256 orderSeed, uint256 providerSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        uint256 count = _orderIds.length;
        // The first open order (from the seed on) with a bid this round from a still active provider.
        for (uint256 k; k < count; ++k) {
            uint256 orderId = _orderIds[(orderSeed % count + k) % count];
            IMarket.Order memory o = market.getOrder(orderId);
            if (o.state != IMarket.OrderState.Open || o.bidCount == 0) continue;
            for (uint256 i; i < _providers.length; ++i) {
                address provider = _providers[(providerSeed % _providers.length + i) % _providers.length];
                IMarket.Bid memory b = market.getBid(orderId, registry.getProvider(provider).id);
                if (b.price == 0 || b.round != o.round || !registry.isActive(provider)) continue;
                vm.prank(o.tenant);
                uint256 leaseId = market.acceptBid(orderId, provider);
                _leaseIds.push(leaseId);
                ghostLastLeaseProvider[orderId] = provider;
                ++calls["acceptBid"];
                return;
            }
        }
    }

    function acceptBestBid(uint256 orderSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        (bool found, uint256 orderId) = _openOrder(orderSeed, false);
        if (!found) return;
        IMarket.Order memory o = market.getOrder(orderId);
        if (!o.autoReopen || o.bestBidProvider == 0) return;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= o.bidDeadline) vm.warp(uint256(o.bidDeadline) + 1);
        if (!registry.isActive(registry.providerAddress(o.bestBidProvider))) return;
        uint256 leaseId = market.acceptBestBid(orderId);
        _leaseIds.push(leaseId);
        ghostLastLeaseProvider[orderId] = market.getLease(leaseId).provider;
        ++calls["acceptBestBid"];
    }

    /// @dev Restarts bidding on an open order once its window has passed, by its tenant or by another
    /// tenant (a stranger to the order). The outcome must be the predicted one: a stranger is refused
    /// on an order without autoReopen and while the round's best bidder is still active.
    function restartBidding(uint256 orderSeed, uint256 callerSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        (bool found, uint256 orderId) = _openOrder(orderSeed, false);
        if (!found) return;
        IMarket.Order memory o = market.getOrder(orderId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= o.bidDeadline) vm.warp(uint256(o.bidDeadline) + 1);
        address caller = _tenants[callerSeed % _tenants.length];
        bytes memory expected;
        if (caller != o.tenant) {
            if (!o.autoReopen) {
                expected = abi.encodeWithSelector(IMarket.MarketNotTenant.selector, orderId, caller);
            } else if (o.bestBidProvider != 0) {
                address bestBidder = registry.providerAddress(o.bestBidProvider);
                if (registry.isActive(bestBidder)) {
                    expected =
                        abi.encodeWithSelector(IMarket.MarketBestBidderActive.selector, orderId, o.round, bestBidder);
                }
            }
        }
        vm.prank(caller);
        try market.restartBidding(orderId) {
            require(expected.length == 0, "restartBidding should have reverted");
            IMarket.Order memory after_ = market.getOrder(orderId);
            require(after_.round == o.round + 1, "round not advanced");
            require(after_.restartsSinceLease == o.restartsSinceLease + 1, "restart not counted");
            require(after_.bidCount == 0 && after_.bestBidProvider == 0, "bids not reset");
            // forge-lint: disable-next-line(block-timestamp)
            require(after_.bidDeadline == block.timestamp + o.bidWindow, "deadline not moved");
            require(after_.escrow == o.escrow && after_.state == IMarket.OrderState.Open, "escrow or state changed");
            ++calls["restartBidding"];
        } catch (bytes memory reason) {
            require(
                expected.length != 0 && keccak256(reason) == keccak256(expected), "unexpected restartBidding revert"
            );
            ++calls["restartBidding.refused"];
        }
    }

    function settle(uint256 leaseSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        (bool found, uint256 leaseId) = _activeLease(leaseSeed);
        if (!found) return;
        market.settle(leaseId);
        ++calls["settle"];
    }

    function topUp(uint256 orderSeed, uint256 payerSeed, uint256 amountSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        if (_orderIds.length == 0) return;
        uint256 orderId = _orderIds[orderSeed % _orderIds.length];
        IMarket.Order memory o = market.getOrder(orderId);
        if (o.state != IMarket.OrderState.Open && o.state != IMarket.OrderState.Leased) return;
        address payer = _tenants[payerSeed % _tenants.length]; // any tenant may pay for any order
        uint64 amount = uint64(_bound(amountSeed, 1, 50e6));
        vm.prank(payer);
        try market.topUp(orderId, amount) {
            ghostDeposited[orderId] += amount;
            ++calls["topUp"];
        } catch (bytes memory reason) {
            // Only refusal expected: the settle inside used up the escrow (the call reverts whole).
            require(_selector(reason) == IMarket.MarketEscrowExhausted.selector, "unexpected topUp revert");
            ++calls["topUp.exhausted"];
        }
    }

    function closeLease(uint256 leaseSeed, bool byTenant, uint256 timeSeed) external {
        _warp(timeSeed);
        (bool found, uint256 leaseId) = _activeLease(leaseSeed);
        if (!found) return;
        uint256 orderId = leaseId >> 32;
        address tenant = market.getOrder(orderId).tenant;
        address caller = byTenant ? tenant : market.getLease(leaseId).provider;
        uint256 before = credits.balanceOf(tenant);
        vm.prank(caller);
        market.closeLease(leaseId, "handler");
        ghostRefunded[orderId] += credits.balanceOf(tenant) - before;
        if (byTenant) ++calls["closeLease.tenant"];
        else ++calls["closeLease.provider"];
    }

    function cancelOrder(uint256 orderSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        // Tenants cancel now and then, not at every chance: orders must live to be leased.
        if (orderSeed % 3 != 0) return;
        (bool found, uint256 orderId) = _openOrder(orderSeed / 3, false);
        if (!found) return;
        IMarket.Order memory o = market.getOrder(orderId);
        uint256 before = credits.balanceOf(o.tenant);
        vm.prank(o.tenant);
        market.cancelOrder(orderId);
        ghostRefunded[orderId] += credits.balanceOf(o.tenant) - before;
        ++calls["cancelOrder"];
    }

    function reportFault(uint256 leaseSeed, uint256 reporterSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        // One in four reports comes from the tenant, the rest from watchers, who pile onto a lease
        // already reported when there is one (so the quorum of 2 is reached).
        bool byTenant = reporterSeed % 4 == 0;
        (bool found, uint256 leaseId) = byTenant ? (false, 0) : _reportedLease();
        if (!found) (found, leaseId) = _activeLease(leaseSeed);
        if (!found) return;
        uint256 orderId = leaseId >> 32;
        address tenant = market.getOrder(orderId).tenant;
        address reporter = byTenant ? tenant : _watchers[(reporterSeed / 4) % _watchers.length];
        if (!byTenant && market.hasReported(leaseId, reporter)) return;
        uint256 before = credits.balanceOf(tenant);
        vm.prank(reporter);
        market.reportFault(leaseId, "handler");
        ghostRefunded[orderId] += credits.balanceOf(tenant) - before;
        if (byTenant) ++calls["reportFault.tenant"];
        else ++calls["reportFault.watcher"];
    }

    function withdrawEarnings(uint256 providerSeed, uint256 leaseSeed, uint256 countSeed, uint256 timeSeed) external {
        _warp(timeSeed);
        address provider = _providers[providerSeed % _providers.length];
        // Up to three of the provider's leases, active or closed.
        uint256[] memory picked = new uint256[](3);
        uint256 count;
        uint256 wanted = _bound(countSeed, 1, 3);
        for (uint256 i; i < _leaseIds.length && count < wanted; ++i) {
            uint256 leaseId = _leaseIds[(leaseSeed % _leaseIds.length + i) % _leaseIds.length];
            if (market.getLease(leaseId).provider == provider) picked[count++] = leaseId;
        }
        if (count == 0) return;
        assembly ("memory-safe") {
            mstore(picked, count)
        }
        uint256 before = credits.balanceOf(provider);
        vm.recordLogs();
        vm.prank(provider);
        uint256 amount = market.withdrawEarnings(picked);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 sum;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != _EARNINGS_WITHDRAWN) continue;
            uint256 paid = abi.decode(logs[i].data, (uint256));
            ghostWithdrawn[uint256(logs[i].topics[1])] += paid;
            sum += paid;
        }
        require(sum == amount, "withdrawn events do not add up");
        require(credits.balanceOf(provider) - before == amount, "payout differs from return value");
        ++calls["withdrawEarnings"];
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + _bound(secondsSeed, 1, 8 hours));
        ++calls["warp"];
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function orderIds() external view returns (uint256[] memory) {
        return _orderIds;
    }

    function leaseIds() external view returns (uint256[] memory) {
        return _leaseIds;
    }

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    /*//////////////////////////////////////////////////////////////
                                 INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Moves time by 0 to 10 minutes (a third of the calls stay in the same second); the `warp`
    /// action makes the long jumps that run escrows out.
    function _warp(uint256 timeSeed) internal {
        if (timeSeed % 3 == 0) return;
        vm.warp(block.timestamp + _bound(timeSeed, 1, 10 minutes));
    }

    /// @dev An open order picked from `seed`, if any; `biddable`: its bid window must still be open.
    function _openOrder(uint256 seed, bool biddable) internal view returns (bool found, uint256 orderId) {
        uint256 count = _orderIds.length;
        for (uint256 i; i < count; ++i) {
            orderId = _orderIds[(seed % count + i) % count];
            IMarket.Order memory o = market.getOrder(orderId);
            if (o.state != IMarket.OrderState.Open) continue;
            // forge-lint: disable-next-line(block-timestamp)
            if (biddable && block.timestamp > o.bidDeadline) continue;
            return (true, orderId);
        }
        return (false, 0);
    }

    /// @dev The custom error selector at the start of revert data.
    function _selector(bytes memory reason) internal pure returns (bytes4 selector) {
        if (reason.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            selector := mload(add(reason, 0x20))
        }
    }

    /// @dev An active lease with a watcher report short of the quorum, if any.
    function _reportedLease() internal view returns (bool found, uint256 leaseId) {
        for (uint256 i; i < _leaseIds.length; ++i) {
            IMarket.Lease memory l = market.getLease(_leaseIds[i]);
            if (l.state == IMarket.LeaseState.Active && l.faultReports != 0) return (true, _leaseIds[i]);
        }
        return (false, 0);
    }

    /// @dev An active lease picked from `seed`, if any.
    function _activeLease(uint256 seed) internal view returns (bool found, uint256 leaseId) {
        uint256 count = _leaseIds.length;
        for (uint256 i; i < count; ++i) {
            leaseId = _leaseIds[(seed % count + i) % count];
            if (market.getLease(leaseId).state == IMarket.LeaseState.Active) return (true, leaseId);
        }
        return (false, 0);
    }
}
