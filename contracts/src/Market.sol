// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { Ownable2Step } from "@openzeppelin/contracts/access/Ownable2Step.sol";

import { ICredits } from "./interfaces/ICredits.sol";
import { IMarket } from "./interfaces/IMarket.sol";
import { IMarketStats } from "./interfaces/IMarketStats.sol";
import { IProviderRegistry } from "./interfaces/IProviderRegistry.sol";

/// @title Market
/// @notice Orders, bids and leases for compute, paid per second from per-order escrow in credits.
/// A tenant creates an order with a deposit; active providers bid a price per second; the tenant
/// accepts a bid (or, on an auto-reopen order, anyone accepts the lowest once bidding closed) and the
/// lease streams escrow to the provider. Settlement is lazy and exact: the sub-unit remainder (`dust`)
/// carries from settle to settle, so `n` settles pay exactly `floor(price * totalSeconds / 1e6)`.
/// When the provider closes the lease or a fault ends it, an auto-reopen order goes back to bidding
/// with the escrow that is left and a new provider takes the workload over; a round that ends with no
/// usable bid starts again (`restartBidding`, open to anyone on an auto-reopen order), so failover
/// does not stall while nobody watches.
/// @dev Credits and the registry are trusted protocol contracts set at construction; every function
/// still updates its own state before calling them (checks-effects-interactions) and no external
/// call is made inside a settle, so a settle never re-enters. Storage is packed (see IMarket): an
/// order is 3 slots, a bid 1, a lease 2, a provider's counters 1, and every parameter plus the order
/// counter share one slot, so the hot paths touch as few cold slots as possible.
contract Market is IMarket, Ownable2Step {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMarket
    uint256 public constant override PRICE_SCALE = 1e6;

    /// @dev Basis points in one.
    uint256 private constant _BPS = 10_000;

    /// @dev Upper bound of `minDepositSeconds`.
    uint32 private constant _MAX_MIN_DEPOSIT_SECONDS = 30 days;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Parameters and the order counter, one slot: `createOrder` reads the bounds and bumps the
    /// counter with a single cold access.
    struct Config {
        uint64 nextOrderId;
        uint8 maxBidsPerOrder;
        uint32 minBidWindow;
        uint32 maxBidWindow;
        uint32 minDepositSeconds;
        uint8 faultQuorum;
        uint16 faultSlashBps;
    }

    /// @dev A provider's lease counters, one slot (read by ProviderRegistry.statsOf).
    struct ProviderStats {
        uint32 leasesWon;
        uint32 leasesCompleted;
        uint32 closedByProvider;
        uint32 tenantFaultReports;
        uint32 confirmedFaults;
    }

    /// @inheritdoc IMarket
    ICredits public immutable override credits;

    /// @inheritdoc IMarket
    IProviderRegistry public immutable override registry;

    Config private _config;

    mapping(uint256 orderId => Order) private _orders;

    /// @dev Keyed by the registry's compact provider id.
    mapping(uint256 orderId => mapping(uint32 providerId => Bid)) private _bids;

    mapping(uint256 leaseId => Lease) private _leases;

    mapping(address provider => ProviderStats) private _stats;

    /// @inheritdoc IMarket
    mapping(address account => bool) public override isWatcher;

    /// @inheritdoc IMarket
    mapping(uint256 leaseId => mapping(address watcher => bool)) public override hasReported;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner Receives ownership (parameters, watchers); later a Timelock.
    /// @param credits_ The credits ledger; it must list this market as a protocol contract.
    /// @param registry_ The provider registry; it must list this market as a protocol contract.
    constructor(address initialOwner, ICredits credits_, IProviderRegistry registry_) Ownable(initialOwner) {
        if (address(credits_) == address(0) || address(registry_) == address(0)) revert MarketZeroAddress();
        credits = credits_;
        registry = registry_;
        _config = Config({
            nextOrderId: 1,
            maxBidsPerOrder: 32,
            minBidWindow: 1,
            maxBidWindow: 1 days,
            minDepositSeconds: 60,
            faultQuorum: 1,
            faultSlashBps: 1_000
        });
    }

    /*//////////////////////////////////////////////////////////////
                          ORDERS AND BIDS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMarket
    function createOrder(OrderParams calldata p) external override returns (uint256 orderId) {
        uint256 configWord = _configWord();
        uint32 bidWindow = p.bidWindow;
        {
            // casting to 'uint32' is safe because each keeps exactly its field's 32 bits
            // forge-lint: disable-next-line(unsafe-typecast)
            uint32 minWindow = uint32(configWord >> _C_MIN_BID_WINDOW);
            // forge-lint: disable-next-line(unsafe-typecast)
            uint32 maxWindow = uint32(configWord >> _C_MAX_BID_WINDOW);
            if (bidWindow < minWindow || bidWindow > maxWindow) {
                revert MarketBidWindowOutOfRange(bidWindow, minWindow, maxWindow);
            }
        }
        uint64 maxPrice = p.maxPricePerSecond;
        if (maxPrice == 0) revert MarketZeroMaxPrice();
        uint64 deposit = p.deposit;
        uint256 minDeposit;
        // Overflow not possible: a uint64 price times a uint32 number of seconds is below 2^96.
        unchecked {
            minDeposit = uint256(maxPrice) * ((configWord >> _C_MIN_DEPOSIT_SECONDS) & _MASK32) / PRICE_SCALE;
        }
        if (deposit == 0 || deposit < minDeposit) revert MarketDepositTooLow(deposit, minDeposit);
        bytes32 manifestHash = p.manifestHash;
        if (manifestHash == bytes32(0)) revert MarketZeroManifestHash();

        orderId = configWord & _MASK64;
        // Overflow not possible: nextOrderId is the word's low 64 bits and grows by one per
        // transaction; 2^64 transactions are out of reach, so the increment never carries into
        // maxBidsPerOrder.
        unchecked {
            _setConfigWord(configWord + 1);
        }
        uint40 bidDeadline;
        // Overflow not possible, and casting to 'uint40' is safe: now + a uint32 window fits 40 bits
        // until the year 36812.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            bidDeadline = uint40(block.timestamp + bidWindow);
        }
        _writeNewOrder(
            _orders[orderId], p.autoReopen, bidDeadline, manifestHash, deposit, maxPrice, p.regionMask, bidWindow
        );
        _emitOrderCreated(orderId, p, bidDeadline);
        credits.escrow(msg.sender, deposit);
    }

    /// @inheritdoc IMarket
    function bid(uint256 orderId, uint64 pricePerSecond) external override {
        Order storage order = _orders[orderId];
        _checkBidTerms(orderId, order, pricePerSecond);
        (uint32 providerId, uint16 region) = registry.activeProvider(msg.sender);
        uint32 regionMask = order.regionMask;
        if (regionMask != 0 && (region > 31 || (regionMask >> region) & 1 == 0)) {
            revert MarketRegionNotAllowed(orderId, region, regionMask);
        }
        uint32 round = order.round;
        mapping(uint32 => Bid) storage orderBids = _bids[orderId];
        Bid storage previousBid = orderBids[providerId];
        if (previousBid.round == round && previousBid.price != 0) revert MarketAlreadyBid(orderId, msg.sender, round);
        uint8 bidCount = order.bidCount;
        uint8 maxBids = _config.maxBidsPerOrder;
        if (bidCount >= maxBids) revert MarketTooManyBids(orderId, maxBids);
        // Round 0 has no previous lease: the typical path skips the lookup.
        if (round != 0 && _lastLeaseProvider(orderId, order, round) == msg.sender) {
            revert MarketPreviousProvider(orderId, msg.sender);
        }

        orderBids[providerId] = Bid({ price: pricePerSecond, round: round });
        uint32 best = order.bestBidProvider;
        if (best == 0 || pricePerSecond < orderBids[best].price) order.bestBidProvider = providerId;
        // Overflow not possible: bidCount < maxBidsPerOrder <= 255.
        unchecked {
            order.bidCount = bidCount + 1;
        }
        emit BidPlaced(orderId, msg.sender, round, pricePerSecond);
    }

    /// @inheritdoc IMarket
    function acceptBid(uint256 orderId, address provider) external override returns (uint256 leaseId) {
        Order storage order = _orders[orderId];
        if (msg.sender != order.tenant) revert MarketNotTenant(orderId, msg.sender);
        OrderState state = order.state;
        if (state != OrderState.Open) revert MarketOrderNotOpen(orderId, state);
        (uint32 providerId,) = registry.activeProvider(provider);
        return _startLease(orderId, order, provider, providerId);
    }

    /// @inheritdoc IMarket
    function acceptBestBid(uint256 orderId) external override returns (uint256 leaseId) {
        Order storage order = _orders[orderId];
        OrderState state = order.state;
        if (state != OrderState.Open) revert MarketOrderNotOpen(orderId, state);
        if (!order.autoReopen) revert MarketAutoReopenDisabled(orderId);
        uint40 bidDeadline = order.bidDeadline;
        // Timestamps: a validator's few seconds of leeway only shift the deadline by as much.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= bidDeadline) revert MarketBidWindowStillOpen(orderId, bidDeadline, block.timestamp);
        uint32 best = order.bestBidProvider;
        if (best == 0) revert MarketNoBids(orderId, order.round);
        address provider = registry.providerAddress(best);
        // The best bidder must still be active (not jailed or unstaked since it bid).
        registry.activeProvider(provider);
        return _startLease(orderId, order, provider, best);
    }

    /// @inheritdoc IMarket
    function restartBidding(uint256 orderId) external override {
        Order storage order = _orders[orderId];
        OrderState state = order.state;
        if (state != OrderState.Open) revert MarketOrderNotOpen(orderId, state);
        uint40 bidDeadline = order.bidDeadline;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= bidDeadline) revert MarketBidWindowStillOpen(orderId, bidDeadline, block.timestamp);
        if (msg.sender != order.tenant) {
            if (!order.autoReopen) revert MarketNotTenant(orderId, msg.sender);
            // Anyone may restart a round that cannot end in a lease unattended: `acceptBestBid` needs a
            // best bid from a provider that is still active.
            uint32 best = order.bestBidProvider;
            if (best != 0) {
                address bestBidder = registry.providerAddress(best);
                if (registry.isActive(bestBidder)) revert MarketBestBidderActive(orderId, order.round, bestBidder);
            }
        }
        // Checked addition (uint24): each restart needs the window (>= 1 s) to have passed, so 2^24
        // restarts without a lease take over a year of calls; then this reverts rather than wrap, and
        // the tenant can still cancel.
        uint256 restartsSinceLease = order.restartsSinceLease + 1;
        (uint32 round, uint40 newDeadline) =
            _startRound(order, _orderWord(order, 0), _orderWord(order, 2), restartsSinceLease);
        emit BiddingRestarted(orderId, round, newDeadline);
    }

    /// @inheritdoc IMarket
    function topUp(uint256 orderId, uint64 amount) external override {
        if (amount == 0) revert MarketZeroAmount();
        Order storage order = _orders[orderId];
        OrderState state = order.state;
        uint256 activeEarned;
        if (state == OrderState.Leased) {
            uint256 leaseId = _leaseIdOf(orderId, order.round);
            Lease storage lease = _leases[leaseId];
            (bool exhausted,) = _settle(leaseId, lease, order, false);
            if (exhausted) revert MarketEscrowExhausted(orderId, leaseId);
            activeEarned = lease.earned;
        } else if (state != OrderState.Open) {
            revert MarketOrderNotActive(orderId, state);
        }
        uint256 escrowBalance = order.escrow;
        // Keeps `escrow + active lease earnings <= uint64.max`, which makes settle's additions safe.
        if (escrowBalance + amount + activeEarned > type(uint64).max) {
            revert MarketEscrowOverflow(orderId, escrowBalance, amount);
        }
        // casting to 'uint64' is safe because the sum was bounded just above
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 newEscrow = uint64(escrowBalance + amount);
        order.escrow = newEscrow;
        emit OrderToppedUp(orderId, msg.sender, amount, newEscrow);
        credits.escrow(msg.sender, amount);
    }

    /// @inheritdoc IMarket
    function cancelOrder(uint256 orderId) external override {
        Order storage order = _orders[orderId];
        address tenant = order.tenant;
        if (msg.sender != tenant) revert MarketNotTenant(orderId, msg.sender);
        OrderState state = order.state;
        if (state != OrderState.Open) revert MarketOrderNotOpen(orderId, state);
        uint64 refund = order.escrow;
        order.escrow = 0;
        order.state = OrderState.Closed;
        emit OrderClosed(orderId, refund);
        // An open order always holds escrow (deposit > 0; reopening needs escrow > 0).
        credits.release(tenant, refund);
    }

    /*//////////////////////////////////////////////////////////////
                                  LEASES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMarket
    function settle(uint256 leaseId) external override {
        Lease storage lease = _leases[leaseId];
        LeaseState state = lease.state;
        if (state != LeaseState.Active) revert MarketLeaseNotActive(leaseId, state);
        _settle(leaseId, lease, _orders[leaseId >> 32], false);
    }

    /// @inheritdoc IMarket
    function closeLease(uint256 leaseId, bytes32 note) external override {
        Lease storage lease = _leases[leaseId];
        LeaseState state = lease.state;
        if (state != LeaseState.Active) revert MarketLeaseNotActive(leaseId, state);
        Order storage order = _orders[leaseId >> 32];
        address tenant = order.tenant;
        CloseReason reason;
        if (msg.sender == tenant) reason = CloseReason.TenantClosed;
        else if (msg.sender == lease.provider) reason = CloseReason.ProviderClosed;
        else revert MarketNotLeaseParty(leaseId, msg.sender);

        // A settle that exhausts the escrow already closed the lease (InsufficientFunds).
        (bool exhausted, uint256 settled) = _settle(leaseId, lease, order, true);
        if (exhausted) return;
        uint256 refund = _endLease(leaseId, lease, order, reason, note, settled);
        if (refund != 0) credits.release(tenant, refund);
    }

    /// @inheritdoc IMarket
    function reportFault(uint256 leaseId, bytes32 evidence) external override {
        Lease storage lease = _leases[leaseId];
        LeaseState state = lease.state;
        if (state != LeaseState.Active) revert MarketLeaseNotActive(leaseId, state);
        Order storage order = _orders[leaseId >> 32];
        address tenant = order.tenant;
        uint256 refund = msg.sender == tenant
            ? _reportByTenant(leaseId, lease, order, evidence)
            : _reportByWatcher(leaseId, lease, order, evidence);
        if (refund != 0) credits.release(tenant, refund);
    }

    /// @inheritdoc IMarket
    function withdrawEarnings(uint256[] calldata leaseIds) external override returns (uint256 amount) {
        uint256 count = leaseIds.length;
        uint256 completions;
        for (uint256 i; i < count; ++i) {
            uint256 leaseId = leaseIds[i];
            Lease storage lease = _leases[leaseId];
            if (lease.provider != msg.sender) revert MarketNotLeaseProvider(leaseId, msg.sender);
            if (lease.state == LeaseState.Active) _settle(leaseId, lease, _orders[leaseId >> 32], false);
            uint256 earned = lease.earned;
            if (earned != 0) {
                lease.earned = 0;
                amount += earned;
                emit EarningsWithdrawn(leaseId, msg.sender, earned);
            }
            // A completed lease enters `leasesCompleted` here, once: the close left the provider's
            // stats slot alone (see IMarketStats); the mark shares the lease slot read just above.
            if (lease.state == LeaseState.Closed && !lease.completionCounted && _isCompletion(lease.reason)) {
                lease.completionCounted = true;
                ++completions;
            }
        }
        // casting to 'uint32' is safe because completions <= leaseIds.length, and 2^32 lease ids of
        // calldata (128 GiB) cannot be sent; the checked addition reverts rather than wrap the counter
        // forge-lint: disable-next-line(unsafe-typecast)
        if (completions != 0) _stats[msg.sender].leasesCompleted += uint32(completions);
        if (amount != 0) credits.payout(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                  ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMarket
    function setWatcher(address watcher, bool allowed) external override onlyOwner {
        if (watcher == address(0)) revert MarketInvalidWatcher(watcher);
        isWatcher[watcher] = allowed;
        emit WatcherSet(watcher, allowed);
    }

    /// @inheritdoc IMarket
    function setMaxBidsPerOrder(uint8 value) external override onlyOwner {
        if (value == 0) revert MarketInvalidParameter("maxBidsPerOrder", value);
        uint256 previous = _config.maxBidsPerOrder;
        _config.maxBidsPerOrder = value;
        emit ParameterUpdated("maxBidsPerOrder", previous, value);
    }

    /// @inheritdoc IMarket
    function setBidWindowBounds(uint32 minWindow, uint32 maxWindow) external override onlyOwner {
        if (minWindow == 0) revert MarketInvalidParameter("minBidWindow", minWindow);
        if (maxWindow < minWindow) revert MarketInvalidParameter("maxBidWindow", maxWindow);
        Config storage config = _config;
        uint256 previousMin = config.minBidWindow;
        uint256 previousMax = config.maxBidWindow;
        config.minBidWindow = minWindow;
        config.maxBidWindow = maxWindow;
        emit ParameterUpdated("minBidWindow", previousMin, minWindow);
        emit ParameterUpdated("maxBidWindow", previousMax, maxWindow);
    }

    /// @inheritdoc IMarket
    function setMinDepositSeconds(uint32 value) external override onlyOwner {
        if (value > _MAX_MIN_DEPOSIT_SECONDS) revert MarketInvalidParameter("minDepositSeconds", value);
        uint256 previous = _config.minDepositSeconds;
        _config.minDepositSeconds = value;
        emit ParameterUpdated("minDepositSeconds", previous, value);
    }

    /// @inheritdoc IMarket
    function setFaultQuorum(uint8 value) external override onlyOwner {
        if (value == 0) revert MarketInvalidParameter("faultQuorum", value);
        uint256 previous = _config.faultQuorum;
        _config.faultQuorum = value;
        emit ParameterUpdated("faultQuorum", previous, value);
    }

    /// @inheritdoc IMarket
    function setFaultSlashBps(uint16 value) external override onlyOwner {
        if (value > _BPS) revert MarketInvalidParameter("faultSlashBps", value);
        uint256 previous = _config.faultSlashBps;
        _config.faultSlashBps = value;
        emit ParameterUpdated("faultSlashBps", previous, value);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMarket
    function getOrder(uint256 orderId) external view override returns (Order memory) {
        return _orders[orderId];
    }

    /// @inheritdoc IMarket
    function getLease(uint256 leaseId) external view override returns (Lease memory) {
        return _leases[leaseId];
    }

    /// @inheritdoc IMarket
    function getBid(uint256 orderId, uint32 providerId) external view override returns (Bid memory) {
        return _bids[orderId][providerId];
    }

    /// @inheritdoc IMarket
    function leaseIdOf(uint256 orderId, uint32 round) external pure override returns (uint256) {
        return _leaseIdOf(orderId, round);
    }

    /// @inheritdoc IMarket
    function currentLeaseId(uint256 orderId) external view override returns (uint256) {
        Order storage order = _orders[orderId];
        return order.state == OrderState.Leased ? _leaseIdOf(orderId, order.round) : 0;
    }

    /// @inheritdoc IMarket
    function pendingSettlement(uint256 leaseId) external view override returns (uint256 owed, uint256 escrowAfter) {
        Lease storage lease = _leases[leaseId];
        uint256 escrowBalance = _orders[leaseId >> 32].escrow;
        if (lease.state != LeaseState.Active) return (0, escrowBalance);
        owed = (uint256(lease.pricePerSecond) * (block.timestamp - lease.settledAt) + lease.dust) / PRICE_SCALE;
        if (owed >= escrowBalance) return (escrowBalance, 0);
        return (owed, escrowBalance - owed);
    }

    /// @inheritdoc IMarketStats
    function providerStats(address provider)
        external
        view
        override
        returns (
            uint32 leasesWon,
            uint32 leasesCompleted,
            uint32 closedByProvider,
            uint32 tenantFaultReports,
            uint32 confirmedFaults
        )
    {
        ProviderStats memory stats = _stats[provider];
        return (
            stats.leasesWon,
            stats.leasesCompleted,
            stats.closedByProvider,
            stats.tenantFaultReports,
            stats.confirmedFaults
        );
    }

    /// @inheritdoc IMarket
    function nextOrderId() external view override returns (uint256) {
        return _config.nextOrderId;
    }

    /// @inheritdoc IMarket
    function maxBidsPerOrder() external view override returns (uint8) {
        return _config.maxBidsPerOrder;
    }

    /// @inheritdoc IMarket
    function minBidWindow() external view override returns (uint32) {
        return _config.minBidWindow;
    }

    /// @inheritdoc IMarket
    function maxBidWindow() external view override returns (uint32) {
        return _config.maxBidWindow;
    }

    /// @inheritdoc IMarket
    function minDepositSeconds() external view override returns (uint32) {
        return _config.minDepositSeconds;
    }

    /// @inheritdoc IMarket
    function faultQuorum() external view override returns (uint8) {
        return _config.faultQuorum;
    }

    /// @inheritdoc IMarket
    function faultSlashBps() external view override returns (uint16) {
        return _config.faultSlashBps;
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev `(orderId << 32) | round`. Order ids are below 2^64, so the id never truncates.
    function _leaseIdOf(uint256 orderId, uint32 round) private pure returns (uint256) {
        return (orderId << 32) | round;
    }

    /// @dev Whether a lease that closed for `reason` completed: the tenant ended it or it used its
    /// escrow up. Completions count in `leasesCompleted`, the other reasons in their own counters.
    function _isCompletion(CloseReason reason) private pure returns (bool) {
        return reason == CloseReason.TenantClosed || reason == CloseReason.InsufficientFunds;
    }

    /// @dev Writes a new order's three slots whole (see PACKED STORAGE WORDS).
    function _writeNewOrder(
        Order storage order,
        bool autoReopen,
        uint40 bidDeadline,
        bytes32 manifestHash,
        uint64 deposit,
        uint64 maxPrice,
        uint32 regionMask,
        uint32 bidWindow
    ) private {
        // bidCount, bestBidProvider and round start at zero.
        _setOrderWord(
            order,
            0,
            uint256(uint160(msg.sender)) | (_toUint(autoReopen) << _O0_AUTO_REOPEN)
                | (uint256(bidDeadline) << _O0_BID_DEADLINE)
        );
        _setOrderWord(order, 1, uint256(manifestHash));
        _setOrderWord(
            order,
            2,
            uint256(deposit) | (uint256(maxPrice) << _O2_MAX_PRICE) | (uint256(regionMask) << _O2_REGION_MASK)
                | (uint256(bidWindow) << _O2_BID_WINDOW) | (uint256(OrderState.Open) << _O2_STATE)
        );
    }

    /// @dev Emits `OrderCreated` by copying the calldata tuple: its ABI encoding is the event's data
    /// after the tenant word, with `bidWindow` replaced by `bidDeadline` (same member positions) and
    /// the string's offset moved one word on. Saves ~1.5k gas against Solidity re-encoding the struct
    /// and string. The members not read elsewhere are checked for canonical encoding here (the others
    /// were read, hence checked, by Solidity's decoder), so the log is exactly what
    /// `emit OrderCreated(...)` would produce; the tests compare the two with `vm.expectEmit`.
    function _emitOrderCreated(uint256 orderId, OrderParams calldata p, uint40 bidDeadline) private {
        string calldata uri = p.manifestUri; // Solidity checks offset and length against calldatasize.
        bytes32 topic0 = OrderCreated.selector;
        assembly ("memory-safe") {
            // Resources: three uint32 and a uint16 (gpuModel is a bytes32, any value is canonical).
            if or(
                or(gt(calldataload(p), 0xffffffff), gt(calldataload(add(p, 0x20)), 0xffffffff)),
                or(gt(calldataload(add(p, 0x40)), 0xffffffff), gt(calldataload(add(p, 0x60)), 0xffff))
            ) { revert(0, 0) }
            // Scratch memory past the free pointer, not kept: memory-safe.
            let ptr := mload(0x40)
            mstore(ptr, caller()) // word 0: tenant
            calldatacopy(add(ptr, 0x20), p, 0x180) // words 1-12: the tuple's 12 head words
            mstore(add(ptr, 0x120), bidDeadline) // word 9: bidWindow -> bidDeadline
            mstore(add(ptr, 0x160), 0x1a0) // word 11: the string's offset, canonical
            let length := uri.length
            mstore(add(ptr, 0x1a0), length)
            let padded := and(add(length, 31), not(31))
            if padded { mstore(add(ptr, add(0x1a0, padded)), 0) } // zero the last word's padding
            calldatacopy(add(ptr, 0x1c0), uri.offset, length)
            log2(ptr, add(0x1c0, padded), topic0, orderId)
        }
    }

    /// @dev The tenant's fault report: the lease ends at once, without a slash. Makes no external call.
    /// @return refund Escrow owed to the tenant (see `_endLease`).
    function _reportByTenant(uint256 leaseId, Lease storage lease, Order storage order, bytes32 evidence)
        private
        returns (uint256 refund)
    {
        (bool exhausted, uint256 settled) = _settle(leaseId, lease, order, true);
        // The lease ran out of escrow: it closed for that reason and there is nothing left to report.
        if (exhausted) return 0;
        emit FaultReported(leaseId, msg.sender, true, lease.faultReports, evidence);
        return _endLease(leaseId, lease, order, CloseReason.FaultReportedByTenant, evidence, settled);
    }

    /// @dev A watcher's fault report: counted once per watcher; the report that reaches the quorum ends
    /// the lease and slashes the provider (the registry's calls come after this market's effects).
    /// @return refund Escrow owed to the tenant (see `_endLease`).
    function _reportByWatcher(uint256 leaseId, Lease storage lease, Order storage order, bytes32 evidence)
        private
        returns (uint256 refund)
    {
        address provider = lease.provider;
        if (!isWatcher[msg.sender] || msg.sender == provider) revert MarketNotReporter(leaseId, msg.sender);
        if (hasReported[leaseId][msg.sender]) revert MarketAlreadyReported(leaseId, msg.sender);
        uint8 reports;
        // Overflow not possible: every report that reaches the quorum (<= 255) closes the lease, so an
        // active lease holds fewer than 255 reports.
        unchecked {
            reports = lease.faultReports + 1;
        }
        Config memory config = _config;
        bool confirmed = reports >= config.faultQuorum;
        (bool exhausted, uint256 settled) = _settle(leaseId, lease, order, confirmed);
        // The lease ran out of escrow: it closed for that reason and there is nothing left to report.
        if (exhausted) return 0;

        hasReported[leaseId][msg.sender] = true;
        lease.faultReports = reports;
        emit FaultReported(leaseId, msg.sender, false, reports, evidence);
        if (!confirmed) return 0;

        uint256 slashAmount = registry.stakeOf(provider) * config.faultSlashBps / _BPS;
        refund = _endLease(leaseId, lease, order, CloseReason.FaultConfirmed, evidence, settled);
        // Called even for a zero amount: the registry counts the fault (and jails repeat offenders).
        uint256 slashed = registry.slash(provider, slashAmount, msg.sender, evidence);
        emit FaultConfirmed(leaseId, provider, slashed, evidence);
    }

    /// @dev The provider of the order's last lease, whose bid the order refuses until another lease
    /// has run; address(0) when it never had one. `round` (the current one, > 0) follows the last
    /// lease's round by one plus the rounds restarted since without a lease.
    function _lastLeaseProvider(uint256 orderId, Order storage order, uint32 round) private view returns (address) {
        uint24 restartsSinceLease = order.restartsSinceLease;
        // Every round so far was started by `restartBidding`: no lease ever ran.
        if (restartsSinceLease >= round) return address(0);
        // Underflow not possible: restartsSinceLease < round.
        unchecked {
            return _leases[_leaseIdOf(orderId, round - 1 - restartsSinceLease)].provider;
        }
    }

    /// @dev The order-side bid checks: open, within the bid window, 0 < price <= maximum.
    function _checkBidTerms(uint256 orderId, Order storage order, uint64 pricePerSecond) private view {
        OrderState state = order.state;
        if (state != OrderState.Open) revert MarketOrderNotOpen(orderId, state);
        uint40 bidDeadline = order.bidDeadline;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > bidDeadline) revert MarketBidWindowClosed(orderId, bidDeadline, block.timestamp);
        if (pricePerSecond == 0) revert MarketZeroPrice(orderId);
        uint64 maxPrice = order.maxPricePerSecond;
        if (pricePerSecond > maxPrice) revert MarketBidAbovePrice(orderId, pricePerSecond, maxPrice);
    }

    /// @dev Turns the provider's bid in the current round into a lease starting now.
    function _startLease(uint256 orderId, Order storage order, address provider, uint32 providerId)
        private
        returns (uint256 leaseId)
    {
        uint32 round = order.round;
        Bid memory accepted = _bids[orderId][providerId];
        if (accepted.round != round || accepted.price == 0) revert MarketNoBid(orderId, provider, round);

        leaseId = _leaseIdOf(orderId, round);
        order.state = OrderState.Leased;
        Lease storage lease = _leases[leaseId];
        _setLeaseWord(lease, 0, uint256(uint160(provider)) | (uint256(accepted.price) << _L0_PRICE));
        // startedAt = settledAt = now; earned, dust, reason and faultReports start at zero.
        _setLeaseWord(
            lease, 1, block.timestamp | (block.timestamp << _L1_SETTLED_AT) | (uint256(LeaseState.Active) << _L1_STATE)
        );
        ++_stats[provider].leasesWon;
        emit LeaseCreated(leaseId, orderId, provider, accepted.price);
    }

    /// @dev The one place where escrow becomes earnings. Books `price * elapsed + dust` price units
    /// since the last settle; whole credit units move from the order's escrow to the lease, the
    /// remainder carries as dust. When the escrow cannot cover the accrual (or is used up exactly),
    /// the lease gets all of it and closes with `InsufficientFunds`. Makes no external call.
    /// One event per settle: `LeaseSettled` when the lease runs on, else the `LeaseClosed` that ends it
    /// carries the amount (`settled`). `closing`: the caller ends the lease right after and passes
    /// `paid` to `_endLease`, so this settle emits nothing.
    /// @return exhausted Whether the lease closed here.
    /// @return paid Credits this settle moved from escrow to the lease.
    function _settle(uint256 leaseId, Lease storage lease, Order storage order, bool closing)
        private
        returns (bool exhausted, uint256 paid)
    {
        uint256 leaseWord = _leaseWord(lease, 1);
        uint256 settledAt = (leaseWord >> _L1_SETTLED_AT) & _MASK40;
        // Nothing accrued within the block. (Validators' timestamp leeway only moves accrual by seconds.)
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp == settledAt) return (false, 0);

        uint256 orderWord = _orderWord(order, 2);
        uint256 escrowBalance = orderWord & _MASK64;
        uint256 owedScaled;
        uint256 dust;
        uint256 escrowLeft;
        // Overflow and underflow not possible: settledAt is a past block timestamp, a uint64 price
        // times a 40-bit interval is below 2^104 and dust is below 2^24; paid <= escrowBalance; and
        // earned + paid <= earned + escrow <= uint64.max (kept by topUp), so the earned field cannot
        // spill into its neighbours. Timestamps fit their 40 bits until the year 36812.
        unchecked {
            owedScaled = (_leaseWord(lease, 0) >> _L0_PRICE) * (block.timestamp - settledAt)
                + ((leaseWord >> _L1_DUST) & _MASK24);
            paid = owedScaled / PRICE_SCALE;
            if (paid < escrowBalance) {
                dust = owedScaled % PRICE_SCALE;
            } else {
                // The escrow runs out: pay all of it; a closed lease keeps no dust.
                paid = escrowBalance;
                exhausted = true;
            }
            escrowLeft = escrowBalance - paid;
            uint256 earned = ((leaseWord >> _L1_EARNED) & _MASK64) + paid;
            leaseWord = (leaseWord & ~((_MASK40 << _L1_SETTLED_AT) | (_MASK64 << _L1_EARNED) | (_MASK24 << _L1_DUST)))
                | (block.timestamp << _L1_SETTLED_AT) | (earned << _L1_EARNED) | (dust << _L1_DUST);
        }
        _setLeaseWord(lease, 1, leaseWord);
        _setOrderWord(order, 2, (orderWord & ~_MASK64) | escrowLeft);
        if (exhausted) _endLease(leaseId, lease, order, CloseReason.InsufficientFunds, bytes32(0), paid);
        else if (!closing) emit LeaseSettled(leaseId, paid, escrowLeft);
    }

    /// @dev Closes a settled lease, counts it in the provider's stats (a completion only later, in
    /// `withdrawEarnings`), and either reopens the order (a provider close or a fault, `autoReopen`,
    /// escrow left) or closes it. `settled` is what the settle just before moved (reported in
    /// `LeaseClosed`). Makes no external call: the caller refunds the returned amount to the tenant
    /// after its own effects.
    /// @return refund Escrow the order gave up (0 when it reopened), owed to the tenant.
    function _endLease(
        uint256 leaseId,
        Lease storage lease,
        Order storage order,
        CloseReason reason,
        bytes32 note,
        uint256 settled
    ) private returns (uint256 refund) {
        uint256 leaseWord = _leaseWord(lease, 1);
        _setLeaseWord(
            lease,
            1,
            (leaseWord & ~((_MASK8 << _L1_STATE) | (_MASK8 << _L1_REASON))) | (uint256(LeaseState.Closed) << _L1_STATE)
                | (uint256(reason) << _L1_REASON)
        );
        address provider = address(uint160(_leaseWord(lease, 0)));
        uint256 orderId = leaseId >> 32;
        uint256 orderWord = _orderWord(order, 2);
        uint256 escrowLeft = orderWord & _MASK64;

        // A completion is counted when the provider withdraws from the lease (`withdrawEarnings`),
        // which saves the tenant's close the provider's cold stats slot (~5k gas). The other outcomes
        // count here: they are rarer and the reopen writes more anyway.
        if (!_isCompletion(reason)) {
            ProviderStats storage stats = _stats[provider];
            if (reason == CloseReason.ProviderClosed) ++stats.closedByProvider;
            else if (reason == CloseReason.FaultReportedByTenant) ++stats.tenantFaultReports;
            else ++stats.confirmedFaults;

            uint256 orderWord0 = _orderWord(order, 0);
            if (escrowLeft != 0 && (orderWord0 >> _O0_AUTO_REOPEN) & 1 != 0) {
                emit LeaseClosed(leaseId, orderId, provider, reason, note, settled, 0);
                _reopen(orderId, order, orderWord0, orderWord);
                return 0;
            }
        }
        refund = escrowLeft;
        _setOrderWord(
            order, 2, (orderWord & ~(_MASK64 | (_MASK8 << _O2_STATE))) | (uint256(OrderState.Closed) << _O2_STATE)
        );
        emit LeaseClosed(leaseId, orderId, provider, reason, note, settled, refund);
    }

    /// @dev Starts the next bidding round of an order whose lease just ended (so the round before
    /// this one is the last lease's). Takes the order's slots 0 and 2 as last read.
    function _reopen(uint256 orderId, Order storage order, uint256 orderWord0, uint256 orderWord2) private {
        (uint32 round, uint40 bidDeadline) = _startRound(order, orderWord0, orderWord2, 0);
        // casting to 'uint64' is safe because escrow is the low 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        emit OrderReopened(orderId, round, uint64(orderWord2), bidDeadline);
    }

    /// @dev Starts the order's next bidding round: round + 1, no bids, no best bid, bids open until
    /// now + bidWindow, state Open. `restartsSinceLease` is stored as given: 0 from `_reopen`, one more
    /// than before from `restartBidding` (see IMarket.Order). Takes the order's slots 0 and 2 as last
    /// read and writes both whole.
    function _startRound(Order storage order, uint256 orderWord0, uint256 orderWord2, uint256 restartsSinceLease)
        private
        returns (uint32 round, uint40 bidDeadline)
    {
        // Checked addition: each round needs a lease or a passed bid window (>= 1 s) before it, so 2^32
        // rounds cannot happen; a revert beats a wrap.
        // casting to 'uint32' is safe because it keeps exactly the round's 32 bits (state sits above)
        // forge-lint: disable-next-line(unsafe-typecast)
        round = uint32(orderWord2 >> _O2_ROUND) + 1;
        // casting to 'uint40' is safe because now plus a uint32 window fits 40 bits until the year 36812
        // forge-lint: disable-next-line(unsafe-typecast)
        bidDeadline = uint40(block.timestamp + ((orderWord2 >> _O2_BID_WINDOW) & _MASK32));
        _setOrderWord(
            order,
            2,
            (orderWord2 & ~((_MASK32 << _O2_ROUND) | (_MASK8 << _O2_STATE) | (_MASK24 << _O2_RESTARTS)))
                | (uint256(round) << _O2_ROUND) | (uint256(OrderState.Open) << _O2_STATE)
                | (restartsSinceLease << _O2_RESTARTS)
        );
        _setOrderWord(
            order,
            0,
            (orderWord0 & ~((_MASK8 << _O0_BID_COUNT) | (_MASK32 << _O0_BEST_BID) | (_MASK40 << _O0_BID_DEADLINE)))
                | (uint256(bidDeadline) << _O0_BID_DEADLINE)
        );
    }

    /*//////////////////////////////////////////////////////////////
                           PACKED STORAGE WORDS
    //////////////////////////////////////////////////////////////*/

    // The hot paths (createOrder, acceptBid, settle, close) read and write whole slots. Solidity writes
    // a struct member by member, a read-mask-write each (~200 gas per member after the first in a
    // slot), which adds about 2k gas to a close. The offsets are Config's, IMarket.Order's and
    // IMarket.Lease's layout (members packed from the low bits, in declaration order); the parameter
    // getters, `getOrder` and `getLease` decode the same slots with Solidity's layout and the unit
    // tests compare field by field.

    uint256 private constant _MASK8 = 0xff;
    uint256 private constant _MASK24 = 0xffffff;
    uint256 private constant _MASK32 = 0xffffffff;
    uint256 private constant _MASK40 = 0xffffffffff;
    uint256 private constant _MASK64 = 0xffffffffffffffff;

    // Order slot 0: tenant (0) | autoReopen (160) | bidCount (168) | bestBidProvider (176) | bidDeadline (208)
    uint256 private constant _O0_AUTO_REOPEN = 160;
    uint256 private constant _O0_BID_COUNT = 168;
    uint256 private constant _O0_BEST_BID = 176;
    uint256 private constant _O0_BID_DEADLINE = 208;
    // Order slot 1: manifestHash.
    // Order slot 2: escrow (0) | maxPricePerSecond (64) | regionMask (128) | bidWindow (160) | round (192)
    // | state (224) | restartsSinceLease (232)
    uint256 private constant _O2_MAX_PRICE = 64;
    uint256 private constant _O2_REGION_MASK = 128;
    uint256 private constant _O2_BID_WINDOW = 160;
    uint256 private constant _O2_ROUND = 192;
    uint256 private constant _O2_STATE = 224;
    uint256 private constant _O2_RESTARTS = 232;
    // Config: nextOrderId (0) | maxBidsPerOrder (64) | minBidWindow (72) | maxBidWindow (104)
    // | minDepositSeconds (136) | faultQuorum (168) | faultSlashBps (176)
    uint256 private constant _C_MIN_BID_WINDOW = 72;
    uint256 private constant _C_MAX_BID_WINDOW = 104;
    uint256 private constant _C_MIN_DEPOSIT_SECONDS = 136;
    // Lease slot 0: provider (0) | pricePerSecond (160)
    uint256 private constant _L0_PRICE = 160;
    // Lease slot 1: startedAt (0) | settledAt (40) | earned (80) | dust (144) | state (168) | reason (176)
    // | faultReports (184) | completionCounted (192)
    uint256 private constant _L1_SETTLED_AT = 40;
    uint256 private constant _L1_EARNED = 80;
    uint256 private constant _L1_DUST = 144;
    uint256 private constant _L1_STATE = 168;
    uint256 private constant _L1_REASON = 176;

    function _configWord() private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(_config.slot)
        }
    }

    function _setConfigWord(uint256 word) private {
        assembly ("memory-safe") {
            sstore(_config.slot, word)
        }
    }

    function _orderWord(Order storage order, uint256 index) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(add(order.slot, index))
        }
    }

    function _setOrderWord(Order storage order, uint256 index, uint256 word) private {
        assembly ("memory-safe") {
            sstore(add(order.slot, index), word)
        }
    }

    function _leaseWord(Lease storage lease, uint256 index) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(add(lease.slot, index))
        }
    }

    function _setLeaseWord(Lease storage lease, uint256 index, uint256 word) private {
        assembly ("memory-safe") {
            sstore(add(lease.slot, index), word)
        }
    }

    function _toUint(bool value) private pure returns (uint256 result) {
        assembly ("memory-safe") {
            result := value
        }
    }
}
