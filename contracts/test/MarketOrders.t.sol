// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { Credits } from "../src/Credits.sol";
import { Market } from "../src/Market.sol";
import { ProviderRegistry } from "../src/ProviderRegistry.sol";
import { ICredits } from "../src/interfaces/ICredits.sol";
import { IMarket } from "../src/interfaces/IMarket.sol";
import { IProviderRegistry } from "../src/interfaces/IProviderRegistry.sol";
import { MarketBase } from "./MarketBase.t.sol";

/// @notice Market: construction, orders, bids, acceptance, top-ups, cancellation, parameters, views
/// and the packed storage layout.
contract MarketOrdersTest is MarketBase {
    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_constructor_setsWiringAndDefaults() public {
        assertEq(market.owner(), address(this));
        assertEq(address(market.credits()), address(credits));
        assertEq(address(market.registry()), address(registry));
        assertEq(market.PRICE_SCALE(), 1e6);
        assertEq(market.nextOrderId(), 1);
        assertEq(uint256(market.maxBidsPerOrder()), 32);
        assertEq(uint256(market.minBidWindow()), 1);
        assertEq(uint256(market.maxBidWindow()), 1 days);
        assertEq(uint256(market.minDepositSeconds()), 60);
        assertEq(uint256(market.faultQuorum()), 1);
        assertEq(uint256(market.faultSlashBps()), 1_000);
    }

    function test_constructor_revertsOnZeroCredits() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketZeroAddress.selector));
        new Market(address(this), ICredits(address(0)), registry);
    }

    function test_constructor_revertsOnZeroRegistry() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketZeroAddress.selector));
        new Market(address(this), credits, IProviderRegistry(address(0)));
    }

    function test_constructor_revertsOnZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new Market(address(0), credits, registry);
    }

    /*//////////////////////////////////////////////////////////////
                               CREATE ORDER
    //////////////////////////////////////////////////////////////*/

    function test_createOrder_storesOrderAndEscrowsDeposit() public {
        IMarket.OrderParams memory p = _params();
        p.regionMask = EU_WEST_MASK | US_WEST_MASK;
        uint256 tenantBefore = credits.balanceOf(tenant);

        uint256 orderId = _createOrder(tenant, p);

        assertEq(orderId, 1);
        assertEq(market.nextOrderId(), 2);
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(o.tenant, tenant);
        assertTrue(o.autoReopen);
        assertEq(uint256(o.bidCount), 0);
        assertEq(uint256(o.bestBidProvider), 0);
        assertEq(uint256(o.bidDeadline), block.timestamp + BID_WINDOW);
        assertEq(o.manifestHash, p.manifestHash);
        assertEq(uint256(o.escrow), DEPOSIT);
        assertEq(uint256(o.maxPricePerSecond), MAX_PRICE);
        assertEq(uint256(o.regionMask), p.regionMask);
        assertEq(uint256(o.bidWindow), BID_WINDOW);
        assertEq(uint256(o.round), 0);
        assertEq(uint8(o.state), uint8(IMarket.OrderState.Open));
        assertEq(credits.balanceOf(tenant), tenantBefore - DEPOSIT);
        assertEq(credits.balanceOf(address(market)), DEPOSIT);
        assertEq(market.currentLeaseId(orderId), 0);

        assertEq(_createOrder(otherTenant, _params()), 2);
        assertEq(market.nextOrderId(), 3);
    }

    function test_createOrder_emitsOrderCreated() public {
        IMarket.OrderParams memory p = _params();
        p.resources.gpus = 2;
        p.resources.gpuModel = "A100";
        p.regionMask = EU_WEST_MASK;
        p.autoReopen = false;
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderCreated(
            1,
            tenant,
            p.resources,
            p.regionMask,
            MAX_PRICE,
            DEPOSIT,
            uint40(block.timestamp + BID_WINDOW),
            p.manifestHash,
            p.manifestUri,
            false
        );
        _createOrder(tenant, p);
        assertFalse(market.getOrder(1).autoReopen);
    }

    /// @dev The event is copied from calldata in assembly: it must equal Solidity's encoding for any
    /// URI length (empty, within a word, on and across word boundaries) and any resources.
    function testFuzz_createOrder_eventMatchesSolidityEncoding(
        bytes memory uri,
        uint32 cpu,
        uint32 memoryMiB,
        uint32 storageMiB,
        uint16 gpus,
        bytes32 gpuModel,
        uint32 regionMask,
        bool autoReopen
    ) public {
        if (uri.length > 300) assembly ("memory-safe") { mstore(uri, 300) }
        IMarket.OrderParams memory p = _params();
        p.resources = IMarket.Resources(cpu, memoryMiB, storageMiB, gpus, gpuModel);
        p.manifestUri = string(uri);
        p.regionMask = regionMask;
        p.autoReopen = autoReopen;
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderCreated(
            1,
            tenant,
            p.resources,
            regionMask,
            MAX_PRICE,
            DEPOSIT,
            uint40(block.timestamp + BID_WINDOW),
            p.manifestHash,
            p.manifestUri,
            autoReopen
        );
        _createOrder(tenant, p);
    }

    function test_createOrder_eventForUriLengthsAroundWordBoundaries() public {
        uint256[6] memory lengths = [uint256(0), 1, 31, 32, 33, 64];
        bytes memory alphabet = "abcdefghijklmnopqrstuvwxyz";
        for (uint256 i; i < lengths.length; ++i) {
            bytes memory uri = new bytes(lengths[i]);
            for (uint256 j; j < uri.length; ++j) {
                uri[j] = alphabet[j % 26];
            }
            IMarket.OrderParams memory p = _params();
            p.manifestUri = string(uri);
            uint256 expectedId = market.nextOrderId();
            vm.expectEmit(true, true, true, true, address(market));
            emit IMarket.OrderCreated(
                expectedId,
                tenant,
                p.resources,
                0,
                MAX_PRICE,
                DEPOSIT,
                uint40(block.timestamp + BID_WINDOW),
                p.manifestHash,
                p.manifestUri,
                true
            );
            _createOrder(tenant, p);
        }
    }

    function test_createOrder_rejectsNonCanonicalResources() public {
        bytes memory data = abi.encodeCall(IMarket.createOrder, (_params()));
        // Head: selector, tuple offset, then Resources.cpuMillis: give it a 33rd bit.
        assembly ("memory-safe") {
            let word := add(data, 0x44)
            mstore(word, or(mload(word), shl(32, 1)))
        }
        vm.prank(tenant);
        (bool ok, bytes memory returned) = address(market).call(data);
        assertFalse(ok);
        assertEq(returned.length, 0);
        assertEq(market.nextOrderId(), 1);
    }

    function test_createOrder_revertsWhenBidWindowTooShort() public {
        IMarket.OrderParams memory p = _params();
        p.bidWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketBidWindowOutOfRange.selector, 0, 1, 1 days));
        _createOrder(tenant, p);
    }

    function test_createOrder_revertsWhenBidWindowTooLong() public {
        IMarket.OrderParams memory p = _params();
        p.bidWindow = 1 days + 1;
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketBidWindowOutOfRange.selector, 1 days + 1, 1, 1 days));
        _createOrder(tenant, p);
    }

    function test_createOrder_acceptsBidWindowBounds() public {
        IMarket.OrderParams memory p = _params();
        p.bidWindow = 1;
        _createOrder(tenant, p);
        p.bidWindow = 1 days;
        uint256 orderId = _createOrder(tenant, p);
        assertEq(uint256(market.getOrder(orderId).bidDeadline), block.timestamp + 1 days);
    }

    function test_createOrder_revertsOnZeroMaxPrice() public {
        IMarket.OrderParams memory p = _params();
        p.maxPricePerSecond = 0;
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketZeroMaxPrice.selector));
        _createOrder(tenant, p);
    }

    function test_createOrder_revertsOnZeroDeposit() public {
        market.setMinDepositSeconds(0);
        IMarket.OrderParams memory p = _params();
        p.deposit = 0;
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketDepositTooLow.selector, 0, 0));
        _createOrder(tenant, p);
    }

    function test_createOrder_revertsWhenDepositBelowMinimum() public {
        // 60 s at 300_000_000 price units per second = 18_000 credit units.
        IMarket.OrderParams memory p = _params();
        p.deposit = 17_999;
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketDepositTooLow.selector, 17_999, 18_000));
        _createOrder(tenant, p);
        p.deposit = 18_000;
        _createOrder(tenant, p);
    }

    /// @dev createOrder reads its bounds from the packed parameter word and bumps the order counter in
    /// the same word: any owner setting is enforced exactly and the counter leaves its neighbours be.
    function testFuzz_createOrder_readsParametersFromConfigWord(
        uint32 minWindow,
        uint32 maxWindow,
        uint32 depositSeconds,
        uint32 bidWindow
    ) public {
        minWindow = uint32(_bound(minWindow, 1, type(uint32).max));
        maxWindow = uint32(_bound(maxWindow, minWindow, type(uint32).max));
        depositSeconds = uint32(_bound(depositSeconds, 0, 30 days));
        uint256 window = _bound(bidWindow, minWindow - 1, uint256(maxWindow) + 1);
        if (window > type(uint32).max) window = type(uint32).max;
        market.setBidWindowBounds(minWindow, maxWindow);
        market.setMinDepositSeconds(depositSeconds);
        market.setMaxBidsPerOrder(255);
        market.setFaultQuorum(255);
        market.setFaultSlashBps(10_000);

        IMarket.OrderParams memory p = _params();
        // casting to 'uint32' is safe because window was capped at type(uint32).max above
        // forge-lint: disable-next-line(unsafe-typecast)
        p.bidWindow = uint32(window);
        uint256 minDeposit = uint256(p.maxPricePerSecond) * depositSeconds / PRICE_SCALE;
        bool accepted;
        if (window < minWindow || window > maxWindow) {
            vm.expectRevert(
                abi.encodeWithSelector(IMarket.MarketBidWindowOutOfRange.selector, window, minWindow, maxWindow)
            );
        } else if (p.deposit < minDeposit) {
            vm.expectRevert(abi.encodeWithSelector(IMarket.MarketDepositTooLow.selector, p.deposit, minDeposit));
        } else {
            accepted = true;
        }
        _createOrder(tenant, p);

        assertEq(market.nextOrderId(), accepted ? 2 : 1);
        assertEq(uint256(market.maxBidsPerOrder()), 255);
        assertEq(uint256(market.minBidWindow()), minWindow);
        assertEq(uint256(market.maxBidWindow()), maxWindow);
        assertEq(uint256(market.minDepositSeconds()), depositSeconds);
        assertEq(uint256(market.faultQuorum()), 255);
        assertEq(uint256(market.faultSlashBps()), 10_000);
    }

    function test_createOrder_revertsOnZeroManifestHash() public {
        IMarket.OrderParams memory p = _params();
        p.manifestHash = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketZeroManifestHash.selector));
        _createOrder(tenant, p);
    }

    function test_createOrder_revertsWithoutCredits() public {
        vm.expectRevert(
            abi.encodeWithSelector(Credits.CreditsInsufficientBalance.selector, stranger, 0, uint256(DEPOSIT))
        );
        _createOrder(stranger, _params());
    }

    /*//////////////////////////////////////////////////////////////
                                   BID
    //////////////////////////////////////////////////////////////*/

    function test_bid_recordsBidAndBest() public {
        uint256 orderId = _createOrder();
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BidPlaced(orderId, provider, 0, PRICE);
        _bid(provider, orderId, PRICE);

        IMarket.Bid memory b = market.getBid(orderId, providerId);
        assertEq(uint256(b.price), PRICE);
        assertEq(uint256(b.round), 0);
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint256(o.bidCount), 1);
        assertEq(uint256(o.bestBidProvider), providerId);
    }

    function test_bid_lowerBidBecomesBestTiesKeepFirst() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE); // tie: first stays best
        assertEq(uint256(market.getOrder(orderId).bestBidProvider), providerId);
        _bid(provider3, orderId, PRICE - 1); // strictly lower: new best
        assertEq(uint256(market.getOrder(orderId).bestBidProvider), provider3Id);
        assertEq(uint256(market.getOrder(orderId).bidCount), 3);
    }

    function test_bid_higherBidDoesNotBecomeBest() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE - 10);
        _bid(provider2, orderId, PRICE);
        assertEq(uint256(market.getOrder(orderId).bestBidProvider), providerId);
    }

    function test_bid_atMaxPriceAndAtDeadline() public {
        uint256 orderId = _createOrder();
        vm.warp(block.timestamp + BID_WINDOW); // the deadline itself is still inside the window
        _bid(provider, orderId, MAX_PRICE);
        assertEq(uint256(market.getBid(orderId, providerId).price), MAX_PRICE);
    }

    function test_bid_revertsOnUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, 7, IMarket.OrderState.None));
        _bid(provider, 7, PRICE);
    }

    function test_bid_revertsOnLeasedOrder() public {
        (uint256 orderId,) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, orderId, IMarket.OrderState.Leased));
        _bid(provider2, orderId, PRICE);
    }

    function test_bid_revertsOnCancelledOrder() public {
        uint256 orderId = _createOrder();
        vm.prank(tenant);
        market.cancelOrder(orderId);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, orderId, IMarket.OrderState.Closed));
        _bid(provider, orderId, PRICE);
    }

    function test_bid_revertsAfterDeadline() public {
        uint256 orderId = _createOrder();
        uint40 deadline = uint40(block.timestamp + BID_WINDOW);
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketBidWindowClosed.selector, orderId, deadline, uint256(deadline) + 1)
        );
        _bid(provider, orderId, PRICE);
    }

    function test_bid_revertsOnZeroPrice() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketZeroPrice.selector, orderId));
        _bid(provider, orderId, 0);
    }

    function test_bid_revertsAboveMaxPrice() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketBidAbovePrice.selector, orderId, MAX_PRICE + 1, MAX_PRICE));
        _bid(provider, orderId, MAX_PRICE + 1);
    }

    function test_bid_revertsForUnregisteredProvider() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, stranger));
        _bid(stranger, orderId, PRICE);
    }

    function test_bid_revertsForUnstakedProvider() public {
        uint256 orderId = _createOrder();
        vm.prank(provider);
        registry.beginUnbond(1); // bonded stake drops below minStake
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider));
        _bid(provider, orderId, PRICE);
    }

    function test_bid_revertsForJailedProvider() public {
        // Three confirmed faults jail the provider (fixture: jailAfterFaults = 3); enough stake that
        // the slashes alone would not deactivate it.
        _addStake(provider, 1_000e18);
        for (uint256 i; i < JAIL_AFTER_FAULTS; ++i) {
            (, uint256 leaseId) = _leased(PRICE);
            vm.prank(watcher);
            market.reportFault(leaseId, "down");
        }
        assertFalse(registry.isActive(provider));
        assertGt(registry.stakeOf(provider), MIN_STAKE);
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider));
        _bid(provider, orderId, PRICE);
    }

    function test_bid_revertsOutsideRegionMask() public {
        IMarket.OrderParams memory p = _params();
        p.regionMask = EU_WEST_MASK;
        uint256 orderId = _createOrder(tenant, p);
        _bid(provider, orderId, PRICE); // EU_WEST: allowed
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketRegionNotAllowed.selector, orderId, US_WEST, EU_WEST_MASK));
        _bid(provider3, orderId, PRICE);
    }

    function test_bid_regionAbove31OnlyWithAnyRegion() public {
        address farAway = _makeAddr("farAway");
        _registerProvider(farAway, 40);
        uint256 anyRegion = _createOrder();
        _bid(farAway, anyRegion, PRICE);

        IMarket.OrderParams memory p = _params();
        p.regionMask = type(uint32).max;
        uint256 masked = _createOrder(tenant, p);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketRegionNotAllowed.selector, masked, 40, type(uint32).max));
        _bid(farAway, masked, PRICE);
    }

    function test_bid_revertsOnSecondBidInRound() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketAlreadyBid.selector, orderId, provider, 0));
        _bid(provider, orderId, PRICE - 1);
    }

    function test_bid_revertsAtMaxBids() public {
        market.setMaxBidsPerOrder(2);
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketTooManyBids.selector, orderId, 2));
        _bid(provider3, orderId, PRICE);
    }

    function test_bid_previousProviderExcludedOnReopenOnly() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.prank(provider);
        market.closeLease(leaseId, "leaving");
        assertEq(uint256(market.getOrder(orderId).round), 1);

        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE);

        // Others bid in round 1; the round-0 bid of provider2 would not count, its new one does.
        _bid(provider2, orderId, PRICE);
        assertEq(uint256(market.getBid(orderId, provider2Id).round), 1);
        uint256 secondLease = _accept(orderId, provider2);
        vm.prank(provider2);
        market.closeLease(secondLease, "leaving too");

        // Round 2: only provider2 (the previous lease's provider) is excluded; provider is back.
        _bid(provider, orderId, PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider2));
        _bid(provider2, orderId, PRICE);
    }

    function test_bid_newRoundResetsCountAndBest() public {
        market.setMaxBidsPerOrder(2);
        uint256 orderId = _createOrder();
        _bid(provider2, orderId, PRICE);
        _bid(provider, orderId, PRICE - 5);
        uint256 leaseId = _accept(orderId, provider);
        vm.prank(tenant);
        market.reportFault(leaseId, "down");

        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint256(o.bidCount), 0);
        assertEq(uint256(o.bestBidProvider), 0);
        // provider2 bid in round 0 and may bid again in round 1; the cap counts this round only.
        _bid(provider2, orderId, PRICE);
        _bid(provider3, orderId, PRICE - 1);
        assertEq(uint256(market.getOrder(orderId).bestBidProvider), provider3Id);
    }

    /*//////////////////////////////////////////////////////////////
                               ACCEPT BID
    //////////////////////////////////////////////////////////////*/

    function test_acceptBid_createsLease() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE - 1);
        uint256 expectedLease = market.leaseIdOf(orderId, 0);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseCreated(expectedLease, orderId, provider, PRICE);
        vm.prank(tenant);
        uint256 leaseId = market.acceptBid(orderId, provider); // not the best: the tenant chooses

        assertEq(leaseId, expectedLease);
        assertEq(leaseId, (orderId << 32) | 0);
        IMarket.Lease memory l = market.getLease(leaseId);
        assertEq(l.provider, provider);
        assertEq(uint256(l.pricePerSecond), PRICE);
        assertEq(uint256(l.startedAt), block.timestamp);
        assertEq(uint256(l.settledAt), block.timestamp);
        assertEq(uint256(l.earned), 0);
        assertEq(uint256(l.dust), 0);
        assertEq(uint8(l.state), uint8(IMarket.LeaseState.Active));
        assertEq(uint8(l.reason), uint8(IMarket.CloseReason.None));
        assertEq(uint256(l.faultReports), 0);
        assertEq(uint8(market.getOrder(orderId).state), uint8(IMarket.OrderState.Leased));
        assertEq(market.currentLeaseId(orderId), leaseId);
        assertEq(_stats(provider)[0], 1);
        (uint256 won,,) = registry.statsOf(provider);
        assertEq(won, 1);
    }

    function test_acceptBid_afterDeadline() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        vm.warp(block.timestamp + 1 days);
        uint256 leaseId = _accept(orderId, provider);
        assertEq(uint256(market.getLease(leaseId).startedAt), block.timestamp);
    }

    function test_acceptBid_revertsForNonTenant() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotTenant.selector, orderId, stranger));
        vm.prank(stranger);
        market.acceptBid(orderId, provider);
    }

    function test_acceptBid_revertsOnLeasedOrder() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE);
        _accept(orderId, provider);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, orderId, IMarket.OrderState.Leased));
        vm.prank(tenant);
        market.acceptBid(orderId, provider2);
    }

    function test_acceptBid_revertsWithoutBid() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNoBid.selector, orderId, provider, 0));
        vm.prank(tenant);
        market.acceptBid(orderId, provider);
    }

    function test_acceptBid_revertsForBidOfEarlierRound() public {
        uint256 orderId = _createOrder();
        _bid(provider2, orderId, PRICE);
        _bid(provider, orderId, PRICE);
        uint256 leaseId = _accept(orderId, provider);
        vm.prank(provider);
        market.closeLease(leaseId, "bye");
        // provider2's bid is from round 0; the order is in round 1.
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNoBid.selector, orderId, provider2, 1));
        vm.prank(tenant);
        market.acceptBid(orderId, provider2);
    }

    function test_acceptBid_revertsForProviderNoLongerActive() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        vm.prank(provider);
        registry.beginUnbond(1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider));
        vm.prank(tenant);
        market.acceptBid(orderId, provider);
    }

    /*//////////////////////////////////////////////////////////////
                             ACCEPT BEST BID
    //////////////////////////////////////////////////////////////*/

    function test_acceptBestBid_acceptsLowestAfterDeadline() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE - 7);
        _bid(provider3, orderId, PRICE - 7); // tie: provider2 stays best
        vm.warp(block.timestamp + BID_WINDOW + 1);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseCreated(market.leaseIdOf(orderId, 0), orderId, provider2, PRICE - 7);
        vm.prank(stranger); // anyone
        uint256 leaseId = market.acceptBestBid(orderId);
        assertEq(market.getLease(leaseId).provider, provider2);
        assertEq(uint256(market.getLease(leaseId).pricePerSecond), PRICE - 7);
    }

    function test_acceptBestBid_revertsWhileWindowOpen() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        uint40 deadline = uint40(block.timestamp + BID_WINDOW);
        vm.warp(deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketBidWindowStillOpen.selector, orderId, deadline, uint256(deadline))
        );
        market.acceptBestBid(orderId);
    }

    function test_acceptBestBid_revertsWithoutAutoReopen() public {
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        uint256 orderId = _createOrder(tenant, p);
        _bid(provider, orderId, PRICE);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketAutoReopenDisabled.selector, orderId));
        market.acceptBestBid(orderId);
    }

    function test_acceptBestBid_revertsWithoutBids() public {
        uint256 orderId = _createOrder();
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNoBids.selector, orderId, 0));
        market.acceptBestBid(orderId);
    }

    function test_acceptBestBid_revertsWhenNotOpen() public {
        (uint256 orderId,) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, orderId, IMarket.OrderState.Leased));
        market.acceptBestBid(orderId);
    }

    function test_acceptBestBid_revertsWhenBestBidderInactive() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        vm.prank(provider);
        registry.beginUnbond(1);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider));
        market.acceptBestBid(orderId);
    }

    /*//////////////////////////////////////////////////////////////
                             RESTART BIDDING
    //////////////////////////////////////////////////////////////*/

    /// @dev Jails `who` the real way: one confirmed fault on a lease of its own, with jailAfterFaults 1.
    function _jail(address who) internal {
        registry.setJailAfterFaults(1);
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        uint256 orderId = _createOrder(otherTenant, p);
        _bid(who, orderId, PRICE);
        uint256 leaseId = _accept(orderId, who);
        vm.prank(watcher);
        market.reportFault(leaseId, "down");
        assertFalse(registry.isActive(who));
    }

    function test_restartBidding_tenantStartsFreshRound() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE - 1);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint40 newDeadline = uint40(block.timestamp + BID_WINDOW);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BiddingRestarted(orderId, 1, newDeadline);
        vm.prank(tenant); // the tenant may restart even with an active best bidder
        market.restartBidding(orderId);

        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint8(o.state), uint8(IMarket.OrderState.Open));
        assertEq(uint256(o.round), 1);
        assertEq(uint256(o.restartsSinceLease), 1);
        assertEq(uint256(o.bidCount), 0);
        assertEq(uint256(o.bestBidProvider), 0);
        assertEq(uint256(o.bidDeadline), newDeadline);
        assertEq(uint256(o.escrow), DEPOSIT); // terms and escrow unchanged
        assertEq(uint256(o.maxPricePerSecond), MAX_PRICE);
        assertEq(uint256(o.bidWindow), BID_WINDOW);
        assertEq(o.tenant, tenant);
        assertTrue(o.autoReopen);
        assertEq(credits.balanceOf(address(market)), DEPOSIT);

        // Round-0 bids no longer count; their providers may bid again.
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNoBid.selector, orderId, provider2, 1));
        vm.prank(tenant);
        market.acceptBid(orderId, provider2);
        _bid(provider, orderId, PRICE - 2);
        assertEq(uint256(market.getBid(orderId, providerId).round), 1);
        assertEq(uint256(market.getOrder(orderId).bestBidProvider), providerId);
        uint256 leaseId = _accept(orderId, provider);
        assertEq(leaseId, market.leaseIdOf(orderId, 1));
        assertEq(uint256(market.getLease(leaseId).pricePerSecond), PRICE - 2);
    }

    function test_restartBidding_tenantWithoutAutoReopen() public {
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        uint256 orderId = _createOrder(tenant, p);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BiddingRestarted(orderId, 1, uint40(block.timestamp + BID_WINDOW));
        vm.prank(tenant);
        market.restartBidding(orderId);
        _bid(provider, orderId, PRICE);
        assertEq(uint256(market.getOrder(orderId).bidCount), 1);
    }

    function test_restartBidding_anyoneWhenNoBids() public {
        uint256 orderId = _createOrder();
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNoBids.selector, orderId, 0));
        market.acceptBestBid(orderId);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BiddingRestarted(orderId, 1, uint40(block.timestamp + BID_WINDOW));
        vm.prank(stranger);
        market.restartBidding(orderId);

        // A never-leased order excludes nobody.
        _bid(provider, orderId, PRICE);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint256 leaseId = market.acceptBestBid(orderId);
        assertEq(market.getLease(leaseId).provider, provider);
        assertEq(leaseId, market.leaseIdOf(orderId, 1));
    }

    function test_restartBidding_anyoneWhenBestBidderUnstaked() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE - 1); // best
        _bid(provider2, orderId, PRICE);
        vm.prank(provider);
        registry.beginUnbond(1); // below minStake: inactive
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider));
        market.acceptBestBid(orderId);

        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.BiddingRestarted(orderId, 1, uint40(block.timestamp + BID_WINDOW));
        vm.prank(stranger);
        market.restartBidding(orderId);

        // provider2's round-0 bid was discarded with the round: it bids again and wins unattended.
        _bid(provider2, orderId, PRICE);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        uint256 leaseId = market.acceptBestBid(orderId);
        assertEq(market.getLease(leaseId).provider, provider2);
    }

    function test_restartBidding_anyoneWhenBestBidderJailed() public {
        uint256 orderId = _createOrder();
        _bid(provider2, orderId, PRICE - 1); // best
        _bid(provider3, orderId, PRICE);
        _jail(provider2);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider2));
        market.acceptBestBid(orderId);

        vm.prank(stranger);
        market.restartBidding(orderId);
        assertEq(uint256(market.getOrder(orderId).round), 1);
        // A jailed provider cannot bid in the new round either.
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, provider2));
        _bid(provider2, orderId, PRICE - 2);
        _bid(provider3, orderId, PRICE);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint256 leaseId = market.acceptBestBid(orderId);
        assertEq(market.getLease(leaseId).provider, provider3);
    }

    function test_restartBidding_revertsWhileWindowOpen() public {
        uint256 orderId = _createOrder();
        uint40 deadline = uint40(block.timestamp + BID_WINDOW);
        vm.warp(deadline); // bids are still accepted at the deadline itself
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketBidWindowStillOpen.selector, orderId, deadline, uint256(deadline))
        );
        vm.prank(tenant);
        market.restartBidding(orderId);
    }

    function test_restartBidding_revertsWhenNotOpen() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, 99, IMarket.OrderState.None));
        market.restartBidding(99);

        (uint256 leasedOrder,) = _leased(PRICE);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, leasedOrder, IMarket.OrderState.Leased)
        );
        vm.prank(tenant);
        market.restartBidding(leasedOrder);

        uint256 cancelled = _createOrder();
        vm.prank(tenant);
        market.cancelOrder(cancelled);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, cancelled, IMarket.OrderState.Closed)
        );
        vm.prank(tenant);
        market.restartBidding(cancelled);
    }

    function test_restartBidding_revertsForStrangerWithoutAutoReopen() public {
        IMarket.OrderParams memory p = _params();
        p.autoReopen = false;
        uint256 orderId = _createOrder(tenant, p);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotTenant.selector, orderId, stranger));
        vm.prank(stranger);
        market.restartBidding(orderId);
    }

    function test_restartBidding_revertsForStrangerWhileBestBidderActive() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        vm.prank(provider2);
        registry.beginUnbond(1); // an inactive provider that is not the best bidder changes nothing
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketBestBidderActive.selector, orderId, 0, provider));
        vm.prank(stranger);
        market.restartBidding(orderId);
        // ...and the round ends in a lease as intended.
        uint256 leaseId = market.acceptBestBid(orderId);
        assertEq(market.getLease(leaseId).provider, provider);
    }

    /// @dev The provider whose lease ended stays excluded through rounds restarted without a lease,
    /// and only until the next lease: then the exclusion moves to that lease's provider.
    function test_restartBidding_keepsLastLeaseProviderExcluded() public {
        (uint256 orderId, uint256 firstLease) = _leased(PRICE);
        vm.prank(tenant);
        market.reportFault(firstLease, "down"); // round 1
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        market.restartBidding(orderId); // round 2
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        market.restartBidding(orderId); // round 3
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint256(o.round), 3);
        assertEq(uint256(o.restartsSinceLease), 2);

        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE);
        uint256 secondLease = _accept(orderId, provider2);
        assertEq(secondLease, market.leaseIdOf(orderId, 3));
        assertEq(uint256(market.getOrder(orderId).restartsSinceLease), 2); // unused while leased

        vm.prank(provider2);
        market.closeLease(secondLease, "leaving"); // round 4: the reopen resets the count
        o = market.getOrder(orderId);
        assertEq(uint256(o.round), 4);
        assertEq(uint256(o.restartsSinceLease), 0);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        market.restartBidding(orderId); // round 5, last lease still round 3's
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider2));
        _bid(provider2, orderId, PRICE);
        _bid(provider, orderId, PRICE); // the first lease's provider is back
    }

    /// @dev Restarts before the first lease do not make anyone "previous": the lookup finds no lease.
    function test_restartBidding_beforeFirstLeaseThenReopen() public {
        uint256 orderId = _createOrder();
        for (uint256 i; i < 2; ++i) {
            vm.warp(block.timestamp + BID_WINDOW + 1);
            vm.prank(stranger);
            market.restartBidding(orderId);
        }
        assertEq(uint256(market.getOrder(orderId).restartsSinceLease), 2);
        _bid(provider, orderId, PRICE);
        uint256 leaseId = _accept(orderId, provider);
        assertEq(leaseId, market.leaseIdOf(orderId, 2));
        vm.prank(provider);
        market.closeLease(leaseId, "bye"); // round 3
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        market.restartBidding(orderId); // round 4: last lease is round 2's
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE);
    }

    /// @dev Any number of restarts, any waits: the round counts them, the deadline follows the
    /// restart, the escrow stays, and the last lease's provider stays excluded.
    function testFuzz_restartBidding_roundsAndExclusion(uint8 restarts, uint32 wait) public {
        restarts = uint8(_bound(restarts, 1, 20));
        wait = uint32(_bound(wait, 1, 30 days));
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.prank(provider);
        market.closeLease(leaseId, "bye"); // round 1, same second: nothing earned
        for (uint256 i; i < restarts; ++i) {
            vm.warp(uint256(market.getOrder(orderId).bidDeadline) + wait);
            vm.prank(stranger);
            market.restartBidding(orderId);
            IMarket.Order memory o = market.getOrder(orderId);
            assertEq(uint256(o.round), i + 2);
            assertEq(uint256(o.restartsSinceLease), i + 1);
            assertEq(uint256(o.bidDeadline), block.timestamp + BID_WINDOW);
            assertEq(uint256(o.escrow), DEPOSIT);
        }
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketPreviousProvider.selector, orderId, provider));
        _bid(provider, orderId, PRICE);
        _bid(provider2, orderId, PRICE);
        assertEq(uint256(market.getBid(orderId, provider2Id).round), uint256(restarts) + 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 TOP UP
    //////////////////////////////////////////////////////////////*/

    function test_topUp_openOrderByAnyone() public {
        uint256 orderId = _createOrder();
        _fundCredits(stranger, 5e6);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderToppedUp(orderId, stranger, 5e6, DEPOSIT + 5e6);
        vm.prank(stranger);
        market.topUp(orderId, 5e6);
        assertEq(_escrowOf(orderId), DEPOSIT + 5e6);
        assertEq(credits.balanceOf(stranger), 0);
        assertEq(credits.balanceOf(address(market)), DEPOSIT + 5e6);

        // Refunds go to the tenant, whoever paid.
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.prank(tenant);
        market.cancelOrder(orderId);
        assertEq(credits.balanceOf(tenant), tenantBefore + DEPOSIT + 5e6);
    }

    function test_topUp_settlesActiveLeaseFirst() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        uint256 owed = _owed(PRICE, 1 hours);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.LeaseSettled(leaseId, owed, DEPOSIT - owed);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderToppedUp(orderId, tenant, 1e6, SafeCast.toUint64(DEPOSIT - owed + 1e6));
        vm.prank(tenant);
        market.topUp(orderId, 1e6);
        assertEq(uint256(market.getLease(leaseId).earned), owed);
        assertEq(uint256(market.getLease(leaseId).settledAt), block.timestamp);
    }

    function test_topUp_revertsOnZeroAmount() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketZeroAmount.selector));
        vm.prank(tenant);
        market.topUp(orderId, 0);
    }

    function test_topUp_revertsOnClosedOrUnknownOrder() public {
        uint256 orderId = _createOrder();
        vm.prank(tenant);
        market.cancelOrder(orderId);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketOrderNotActive.selector, orderId, IMarket.OrderState.Closed)
        );
        vm.prank(tenant);
        market.topUp(orderId, 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotActive.selector, 99, IMarket.OrderState.None));
        vm.prank(tenant);
        market.topUp(99, 1);
    }

    function test_topUp_revertsWhenSettleExhaustsEscrow() public {
        IMarket.OrderParams memory p = _params();
        p.deposit = 1e6; // one hour at $1/h
        (uint256 orderId, uint256 leaseId) = _leased(p, PRICE);
        vm.warp(block.timestamp + 2 hours);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketEscrowExhausted.selector, orderId, leaseId));
        vm.prank(tenant);
        market.topUp(orderId, 1e6);
        // Nothing changed: the lease is still active until someone settles it.
        assertEq(uint8(market.getLease(leaseId).state), uint8(IMarket.LeaseState.Active));
    }

    function test_topUp_revertsOnEscrowOverflow() public {
        uint256 orderId = _createOrder();
        uint64 room = type(uint64).max - DEPOSIT;
        _fundCredits(tenant, uint256(room) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketEscrowOverflow.selector, orderId, uint256(DEPOSIT), uint256(room) + 1)
        );
        vm.prank(tenant);
        market.topUp(orderId, room + 1);
        vm.prank(tenant);
        market.topUp(orderId, room);
        assertEq(_escrowOf(orderId), type(uint64).max);
    }

    function test_topUp_overflowCountsUnwithdrawnEarnings() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        market.settle(leaseId);
        uint256 earned = market.getLease(leaseId).earned;
        uint256 escrowNow = _escrowOf(orderId);
        uint256 room = type(uint64).max - escrowNow - earned;
        _fundCredits(tenant, room + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketEscrowOverflow.selector, orderId, escrowNow, room + 1));
        vm.prank(tenant);
        market.topUp(orderId, SafeCast.toUint64(room + 1));
    }

    function test_topUp_revertsWithoutCredits() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInsufficientBalance.selector, stranger, 0, 1));
        vm.prank(stranger);
        market.topUp(orderId, 1);
    }

    /*//////////////////////////////////////////////////////////////
                               CANCEL ORDER
    //////////////////////////////////////////////////////////////*/

    function test_cancelOrder_refundsEscrow() public {
        uint256 orderId = _createOrder();
        _bid(provider, orderId, PRICE);
        uint256 tenantBefore = credits.balanceOf(tenant);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.OrderClosed(orderId, DEPOSIT);
        vm.prank(tenant);
        market.cancelOrder(orderId);
        assertEq(credits.balanceOf(tenant), tenantBefore + DEPOSIT);
        assertEq(credits.balanceOf(address(market)), 0);
        IMarket.Order memory o = market.getOrder(orderId);
        assertEq(uint8(o.state), uint8(IMarket.OrderState.Closed));
        assertEq(uint256(o.escrow), 0);
        // Refunds are not earnings: not redeemable.
        assertEq(credits.redeemableOf(tenant), 0);
    }

    function test_cancelOrder_revertsForNonTenant() public {
        uint256 orderId = _createOrder();
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketNotTenant.selector, orderId, stranger));
        vm.prank(stranger);
        market.cancelOrder(orderId);
    }

    function test_cancelOrder_revertsWhenLeasedOrClosed() public {
        (uint256 orderId,) = _leased(PRICE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, orderId, IMarket.OrderState.Leased));
        vm.prank(tenant);
        market.cancelOrder(orderId);

        uint256 other = _createOrder();
        vm.prank(tenant);
        market.cancelOrder(other);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketOrderNotOpen.selector, other, IMarket.OrderState.Closed));
        vm.prank(tenant);
        market.cancelOrder(other);
    }

    /*//////////////////////////////////////////////////////////////
                                PARAMETERS
    //////////////////////////////////////////////////////////////*/

    /// @dev A parameter's name as the events and errors carry it.
    function _name(bytes32 name) internal pure returns (bytes32) {
        return name;
    }

    function test_setWatcher() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.WatcherSet(stranger, true);
        market.setWatcher(stranger, true);
        assertTrue(market.isWatcher(stranger));
        market.setWatcher(stranger, false);
        assertFalse(market.isWatcher(stranger));
    }

    function test_setWatcher_revertsOnZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketInvalidWatcher.selector, address(0)));
        market.setWatcher(address(0), true);
    }

    function test_setMaxBidsPerOrder() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.ParameterUpdated("maxBidsPerOrder", 32, 255);
        market.setMaxBidsPerOrder(255);
        assertEq(uint256(market.maxBidsPerOrder()), 255);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketInvalidParameter.selector, _name("maxBidsPerOrder"), 0));
        market.setMaxBidsPerOrder(0);
    }

    function test_setBidWindowBounds() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.ParameterUpdated("minBidWindow", 1, 10);
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.ParameterUpdated("maxBidWindow", 1 days, 10);
        market.setBidWindowBounds(10, 10);
        assertEq(uint256(market.minBidWindow()), 10);
        assertEq(uint256(market.maxBidWindow()), 10);

        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketInvalidParameter.selector, _name("minBidWindow"), 0));
        market.setBidWindowBounds(0, 10);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketInvalidParameter.selector, _name("maxBidWindow"), 9));
        market.setBidWindowBounds(10, 9);
    }

    function test_setMinDepositSeconds() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.ParameterUpdated("minDepositSeconds", 60, 30 days);
        market.setMinDepositSeconds(30 days);
        assertEq(uint256(market.minDepositSeconds()), 30 days);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.MarketInvalidParameter.selector, _name("minDepositSeconds"), 30 days + 1)
        );
        market.setMinDepositSeconds(30 days + 1);
    }

    function test_setFaultQuorum() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.ParameterUpdated("faultQuorum", 1, 3);
        market.setFaultQuorum(3);
        assertEq(uint256(market.faultQuorum()), 3);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketInvalidParameter.selector, _name("faultQuorum"), 0));
        market.setFaultQuorum(0);
    }

    function test_setFaultSlashBps() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit IMarket.ParameterUpdated("faultSlashBps", 1_000, 10_000);
        market.setFaultSlashBps(10_000);
        assertEq(uint256(market.faultSlashBps()), 10_000);
        vm.expectRevert(abi.encodeWithSelector(IMarket.MarketInvalidParameter.selector, _name("faultSlashBps"), 10_001));
        market.setFaultSlashBps(10_001);
    }

    function test_setters_onlyOwner() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        market.setWatcher(stranger, true);
        vm.expectRevert(unauthorized);
        market.setMaxBidsPerOrder(1);
        vm.expectRevert(unauthorized);
        market.setBidWindowBounds(1, 2);
        vm.expectRevert(unauthorized);
        market.setMinDepositSeconds(1);
        vm.expectRevert(unauthorized);
        market.setFaultQuorum(1);
        vm.expectRevert(unauthorized);
        market.setFaultSlashBps(1);
        vm.stopPrank();
    }

    function test_ownership_twoStep() public {
        market.transferOwnership(stranger);
        assertEq(market.owner(), address(this));
        vm.prank(stranger);
        market.acceptOwnership();
        assertEq(market.owner(), stranger);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function testFuzz_leaseIdOf(uint64 orderId, uint32 round) public {
        uint256 leaseId = market.leaseIdOf(orderId, round);
        assertEq(leaseId >> 32, orderId);
        assertEq(leaseId & type(uint32).max, round);
    }

    function test_currentLeaseId_followsOrderState() public {
        uint256 orderId = _createOrder();
        assertEq(market.currentLeaseId(orderId), 0);
        _bid(provider, orderId, PRICE);
        uint256 leaseId = _accept(orderId, provider);
        assertEq(market.currentLeaseId(orderId), leaseId);
        vm.prank(provider);
        market.closeLease(leaseId, "");
        assertEq(market.currentLeaseId(orderId), 0); // reopened, no lease yet
        _bid(provider2, orderId, PRICE);
        uint256 next = _accept(orderId, provider2);
        assertEq(next, market.leaseIdOf(orderId, 1));
        assertEq(market.currentLeaseId(orderId), next);
        assertEq(market.currentLeaseId(12_345), 0);
    }

    function test_unknownIdsReadAsZero() public {
        assertEq(market.getOrder(5).tenant, address(0));
        assertEq(uint8(market.getOrder(5).state), uint8(IMarket.OrderState.None));
        assertEq(market.getLease(5).provider, address(0));
        assertEq(uint256(market.getBid(5, 1).price), 0);
        (uint256 owed, uint256 escrowAfter) = market.pendingSettlement(5 << 32);
        assertEq(owed, 0);
        assertEq(escrowAfter, 0);
        assertEq(_stats(stranger)[0], 0);
    }

    /*//////////////////////////////////////////////////////////////
                              STORAGE LAYOUT
    //////////////////////////////////////////////////////////////*/

    // Storage slots (forge inspect Market storageLayout): 2 _config, 3 _orders, 4 _bids, 5 _leases,
    // 6 _stats.

    function _mappingSlot(uint256 key, uint256 slot) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(key, slot)));
    }

    /// @dev An order is 3 slots, a lease 2, a bid 1, a provider's stats 1, config + counter 1: the
    /// word after each is untouched, and the packed words decode to what the views return.
    function test_storageLayout_isPacked() public {
        (uint256 orderId, uint256 leaseId) = _leased(PRICE);
        vm.warp(block.timestamp + 1 hours);
        market.settle(leaseId);

        uint256 orderSlot = _mappingSlot(orderId, 3);
        IMarket.Order memory o = market.getOrder(orderId);
        uint256 word0 = uint256(vm.load(address(market), bytes32(orderSlot)));
        assertEq(address(SafeCast.toUint160(word0 & type(uint160).max)), o.tenant);
        assertEq((word0 >> 160) & 0xff, 1); // autoReopen
        assertEq((word0 >> 176) & 0xffffffff, uint256(o.bestBidProvider));
        assertEq((word0 >> 208) & 0xffffffffff, uint256(o.bidDeadline));
        assertEq(uint256(vm.load(address(market), bytes32(orderSlot + 1))), uint256(o.manifestHash));
        uint256 word2 = uint256(vm.load(address(market), bytes32(orderSlot + 2)));
        assertEq(word2 & type(uint64).max, uint256(o.escrow));
        assertEq((word2 >> 64) & type(uint64).max, uint256(o.maxPricePerSecond));
        assertEq((word2 >> 224) & 0xff, uint256(uint8(IMarket.OrderState.Leased)));
        assertEq(uint256(vm.load(address(market), bytes32(orderSlot + 3))), 0);

        uint256 leaseSlot = _mappingSlot(leaseId, 5);
        IMarket.Lease memory l = market.getLease(leaseId);
        uint256 lease0 = uint256(vm.load(address(market), bytes32(leaseSlot)));
        assertEq(address(SafeCast.toUint160(lease0 & type(uint160).max)), l.provider);
        assertEq(lease0 >> 160, uint256(l.pricePerSecond));
        uint256 lease1 = uint256(vm.load(address(market), bytes32(leaseSlot + 1)));
        assertEq(lease1 & 0xffffffffff, uint256(l.startedAt));
        assertEq((lease1 >> 40) & 0xffffffffff, uint256(l.settledAt));
        assertEq((lease1 >> 80) & type(uint64).max, uint256(l.earned));
        assertEq((lease1 >> 144) & 0xffffff, uint256(l.dust));
        assertEq((lease1 >> 168) & 0xff, uint256(uint8(IMarket.LeaseState.Active)));
        assertEq(uint256(vm.load(address(market), bytes32(leaseSlot + 2))), 0);

        uint256 bidSlot = uint256(keccak256(abi.encode(uint256(providerId), _mappingSlot(orderId, 4))));
        assertEq(uint256(vm.load(address(market), bytes32(bidSlot))), PRICE); // price | round 0 << 64
        assertEq(uint256(vm.load(address(market), bytes32(bidSlot + 1))), 0);

        uint256 statsSlot = uint256(keccak256(abi.encode(provider, uint256(6))));
        assertEq(uint256(vm.load(address(market), bytes32(statsSlot))), 1); // leasesWon = 1
        assertEq(uint256(vm.load(address(market), bytes32(statsSlot + 1))), 0);

        uint256 config = uint256(vm.load(address(market), bytes32(uint256(2))));
        assertEq(config & type(uint64).max, 2); // nextOrderId
        assertEq(uint256(vm.load(address(market), bytes32(uint256(3)))), 0); // mapping root, unused
    }

    /// @dev `restartsSinceLease` fills order slot 2's top 24 bits, where `_startRound` writes it; a
    /// reopen clears it and keeps the rest of the word.
    function test_storageLayout_restartsSinceLeaseInSlot2() public {
        uint256 orderId = _createOrder();
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        market.restartBidding(orderId);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.prank(stranger);
        market.restartBidding(orderId);

        uint256 orderSlot = _mappingSlot(orderId, 3);
        IMarket.Order memory o = market.getOrder(orderId);
        uint256 word0 = uint256(vm.load(address(market), bytes32(orderSlot)));
        assertEq((word0 >> 168) & 0xff, 0); // bidCount
        assertEq((word0 >> 208) & 0xffffffffff, uint256(o.bidDeadline));
        uint256 word2 = uint256(vm.load(address(market), bytes32(orderSlot + 2)));
        assertEq(word2 & type(uint64).max, DEPOSIT);
        assertEq((word2 >> 160) & 0xffffffff, BID_WINDOW);
        assertEq((word2 >> 192) & 0xffffffff, 2); // round
        assertEq((word2 >> 224) & 0xff, uint256(uint8(IMarket.OrderState.Open)));
        assertEq(word2 >> 232, 2); // restartsSinceLease
        assertEq(uint256(o.restartsSinceLease), 2);

        _bid(provider, orderId, PRICE);
        uint256 leaseId = _accept(orderId, provider);
        vm.prank(provider);
        market.closeLease(leaseId, "");
        word2 = uint256(vm.load(address(market), bytes32(orderSlot + 2)));
        assertEq((word2 >> 192) & 0xffffffff, 3); // round
        assertEq((word2 >> 224) & 0xff, uint256(uint8(IMarket.OrderState.Open)));
        assertEq(word2 >> 232, 0);
        assertEq(word2 & type(uint64).max, DEPOSIT); // closed in the same second: nothing earned
    }
}
