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
/// with the escrow that is left and a new provider takes the workload over.
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
        Config memory config = _config;
        uint32 bidWindow = p.bidWindow;
        if (bidWindow < config.minBidWindow || bidWindow > config.maxBidWindow) {
            revert MarketBidWindowOutOfRange(bidWindow, config.minBidWindow, config.maxBidWindow);
        }
        uint64 maxPrice = p.maxPricePerSecond;
        if (maxPrice == 0) revert MarketZeroMaxPrice();
        uint64 deposit = p.deposit;
        uint256 minDeposit = uint256(maxPrice) * config.minDepositSeconds / PRICE_SCALE;
        if (deposit == 0 || deposit < minDeposit) revert MarketDepositTooLow(deposit, minDeposit);
        if (p.manifestHash == bytes32(0)) revert MarketZeroManifestHash();

        orderId = config.nextOrderId;
        // Overflow not possible: one id per transaction, 2^64 transactions are out of reach.
        unchecked {
            // casting to 'uint64' is safe because of the same bound
            // forge-lint: disable-next-line(unsafe-typecast)
            _config.nextOrderId = uint64(orderId + 1);
        }
        // casting to 'uint40' is safe because now + a uint32 window fits 40 bits until the year 36812
        // forge-lint: disable-next-line(unsafe-typecast)
        uint40 bidDeadline = uint40(block.timestamp + bidWindow);
        _writeNewOrder(_orders[orderId], p.autoReopen, bidDeadline, p.manifestHash, deposit, maxPrice, p.regionMask, bidWindow);
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
        // Underflow not possible: round != 0 is checked first.
        if (round != 0 && _leases[_leaseIdOf(orderId, round - 1)].provider == msg.sender) {
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
    function topUp(uint256 orderId, uint64 amount) external override {
        if (amount == 0) revert MarketZeroAmount();
        Order storage order = _orders[orderId];
        OrderState state = order.state;
        uint256 activeEarned;
        if (state == OrderState.Leased) {
            uint256 leaseId = _leaseIdOf(orderId, order.round);
            Lease storage lease = _leases[leaseId];
            if (_settle(leaseId, lease, order)) revert MarketEscrowExhausted(orderId, leaseId);
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
        _settle(leaseId, lease, _orders[leaseId >> 32]);
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
        if (_settle(leaseId, lease, order)) return;
        uint256 refund = _endLease(leaseId, lease, order, reason, note);
        if (refund != 0) credits.release(tenant, refund);
    }

    /// @inheritdoc IMarket
    function reportFault(uint256 leaseId, bytes32 evidence) external override {
        Lease storage lease = _leases[leaseId];
        LeaseState state = lease.state;
        if (state != LeaseState.Active) revert MarketLeaseNotActive(leaseId, state);
        Order storage order = _orders[leaseId >> 32];
        address tenant = order.tenant;

        if (msg.sender == tenant) {
            if (_settle(leaseId, lease, order)) return;
            emit FaultReported(leaseId, msg.sender, true, lease.faultReports, evidence);
            uint256 tenantRefund = _endLease(leaseId, lease, order, CloseReason.FaultReportedByTenant, evidence);
            if (tenantRefund != 0) credits.release(tenant, tenantRefund);
            return;
        }

        address provider = lease.provider;
        if (!isWatcher[msg.sender] || msg.sender == provider) revert MarketNotReporter(leaseId, msg.sender);
        if (hasReported[leaseId][msg.sender]) revert MarketAlreadyReported(leaseId, msg.sender);
        // The lease ran out of escrow: it closed for that reason and there is nothing left to report.
        if (_settle(leaseId, lease, order)) return;

        hasReported[leaseId][msg.sender] = true;
        uint8 reports;
        // Overflow not possible: every report that reaches the quorum (<= 255) closes the lease, so an
        // active lease holds fewer than 255 reports.
        unchecked {
            reports = lease.faultReports + 1;
        }
        lease.faultReports = reports;
        emit FaultReported(leaseId, msg.sender, false, reports, evidence);

        Config memory config = _config;
        if (reports < config.faultQuorum) return;

        uint256 slashAmount = registry.stakeOf(provider) * config.faultSlashBps / _BPS;
        uint256 refund = _endLease(leaseId, lease, order, CloseReason.FaultConfirmed, evidence);
        // Called even for a zero amount: the registry counts the fault (and jails repeat offenders).
        uint256 slashed = registry.slash(provider, slashAmount, msg.sender, evidence);
        emit FaultConfirmed(leaseId, provider, slashed, evidence);
        if (refund != 0) credits.release(tenant, refund);
    }

    /// @inheritdoc IMarket
    function withdrawEarnings(uint256[] calldata leaseIds) external override returns (uint256 amount) {
        uint256 count = leaseIds.length;
        for (uint256 i; i < count; ++i) {
            uint256 leaseId = leaseIds[i];
            Lease storage lease = _leases[leaseId];
            if (lease.provider != msg.sender) revert MarketNotLeaseProvider(leaseId, msg.sender);
            if (lease.state == LeaseState.Active) _settle(leaseId, lease, _orders[leaseId >> 32]);
            uint256 earned = lease.earned;
            if (earned != 0) {
                lease.earned = 0;
                amount += earned;
                emit EarningsWithdrawn(leaseId, msg.sender, earned);
            }
        }
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
    function pendingSettlement(uint256 leaseId)
        external
        view
        override
        returns (uint256 owed, uint256 escrowAfter)
    {
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

    /// @dev Writes a new order's three slots whole. Solidity would write a struct member by member
    /// (a read-mask-write per field, ~1.5k gas more on this hot path); the layout is IMarket.Order's,
    /// which `getOrder` decodes, so the tests check these shifts.
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
        // slot 0: tenant | autoReopen << 160 | bidCount (0) << 168 | bestBidProvider (0) << 176 | bidDeadline << 208
        // slot 2: escrow | maxPricePerSecond << 64 | regionMask << 128 | bidWindow << 160 | round (0) << 192
        //         | state << 224
        uint256 open = uint256(OrderState.Open);
        assembly ("memory-safe") {
            let slot := order.slot
            sstore(slot, or(caller(), or(shl(160, autoReopen), shl(208, bidDeadline))))
            sstore(add(slot, 1), manifestHash)
            sstore(
                add(slot, 2),
                or(or(deposit, shl(64, maxPrice)), or(or(shl(128, regionMask), shl(160, bidWindow)), shl(224, open)))
            )
        }
    }

    /// @dev Split out of `createOrder` to keep its stack shallow.
    function _emitOrderCreated(uint256 orderId, OrderParams calldata p, uint40 bidDeadline) private {
        emit OrderCreated(
            orderId,
            msg.sender,
            p.resources,
            p.regionMask,
            p.maxPricePerSecond,
            p.deposit,
            bidDeadline,
            p.manifestHash,
            p.manifestUri,
            p.autoReopen
        );
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
        _leases[leaseId] = Lease({
            provider: provider,
            pricePerSecond: accepted.price,
            // casting to 'uint40' is safe because timestamps fit 40 bits until the year 36812
            // forge-lint: disable-next-line(unsafe-typecast)
            startedAt: uint40(block.timestamp),
            // forge-lint: disable-next-line(unsafe-typecast)
            settledAt: uint40(block.timestamp),
            earned: 0,
            dust: 0,
            state: LeaseState.Active,
            reason: CloseReason.None,
            faultReports: 0
        });
        ++_stats[provider].leasesWon;
        emit LeaseCreated(leaseId, orderId, provider, accepted.price);
    }

    /// @dev The one place where escrow becomes earnings. Books `price * elapsed + dust` price units
    /// since the last settle; whole credit units move from the order's escrow to the lease, the
    /// remainder carries as dust. When the escrow cannot cover the accrual (or is used up exactly),
    /// the lease gets all of it and closes with `InsufficientFunds`. Makes no external call.
    /// @return exhausted Whether the lease closed here.
    function _settle(uint256 leaseId, Lease storage lease, Order storage order) private returns (bool exhausted) {
        uint256 settledAt = lease.settledAt;
        // Nothing accrued within the block. (Validators' timestamp leeway only moves accrual by seconds.)
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp == settledAt) return false;
        // Underflow not possible: settledAt is a past block timestamp. The product is below 2^104
        // (uint64 price times a uint40 interval) and dust is below 2^24: no overflow either.
        uint256 owedScaled;
        unchecked {
            owedScaled = uint256(lease.pricePerSecond) * (block.timestamp - settledAt) + lease.dust;
        }
        uint256 owed = owedScaled / PRICE_SCALE;
        uint256 escrowBalance = order.escrow;
        // casting to 'uint40' is safe because timestamps fit 40 bits until the year 36812
        // forge-lint: disable-next-line(unsafe-typecast)
        lease.settledAt = uint40(block.timestamp);

        if (owed < escrowBalance) {
            // Casts and additions safe: owed < escrow <= uint64.max, escrow + earned <= uint64.max
            // (kept by topUp), and the remainder of a division by 1e6 is below 2^24.
            unchecked {
                // forge-lint: disable-next-line(unsafe-typecast)
                order.escrow = uint64(escrowBalance - owed);
                // forge-lint: disable-next-line(unsafe-typecast)
                lease.earned += uint64(owed);
                // forge-lint: disable-next-line(unsafe-typecast)
                lease.dust = uint24(owedScaled % PRICE_SCALE);
                emit LeaseSettled(leaseId, owed, escrowBalance - owed);
            }
            return false;
        }

        // Addition safe: escrow + earned <= uint64.max (kept by topUp); the cast reads back a uint64.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            lease.earned += uint64(escrowBalance);
        }
        lease.dust = 0;
        order.escrow = 0;
        emit LeaseSettled(leaseId, escrowBalance, 0);
        _endLease(leaseId, lease, order, CloseReason.InsufficientFunds, bytes32(0));
        return true;
    }

    /// @dev Closes a settled lease, counts it in the provider's stats, and either reopens the order
    /// (a provider close or a fault, `autoReopen`, escrow left) or closes it. Makes no external call:
    /// the caller refunds the returned amount to the tenant after its own effects.
    /// @return refund Escrow the order gave up (0 when it reopened), owed to the tenant.
    function _endLease(uint256 leaseId, Lease storage lease, Order storage order, CloseReason reason, bytes32 note)
        private
        returns (uint256 refund)
    {
        lease.state = LeaseState.Closed;
        lease.reason = reason;
        address provider = lease.provider;
        ProviderStats storage stats = _stats[provider];
        uint256 orderId = leaseId >> 32;
        if (reason == CloseReason.TenantClosed || reason == CloseReason.InsufficientFunds) {
            ++stats.leasesCompleted;
        } else {
            if (reason == CloseReason.ProviderClosed) ++stats.closedByProvider;
            else if (reason == CloseReason.FaultReportedByTenant) ++stats.tenantFaultReports;
            else ++stats.confirmedFaults;

            uint64 escrowLeft = order.escrow;
            if (escrowLeft != 0 && order.autoReopen) {
                uint32 round = order.round + 1;
                // casting to 'uint40' is safe because now + a uint32 window fits 40 bits until the year 36812
                // forge-lint: disable-next-line(unsafe-typecast)
                uint40 bidDeadline = uint40(block.timestamp + order.bidWindow);
                order.round = round;
                order.state = OrderState.Open;
                order.bidCount = 0;
                order.bestBidProvider = 0;
                order.bidDeadline = bidDeadline;
                emit LeaseClosed(leaseId, orderId, provider, reason, note, 0);
                emit OrderReopened(orderId, round, escrowLeft, bidDeadline);
                return 0;
            }
        }
        refund = order.escrow;
        order.escrow = 0;
        order.state = OrderState.Closed;
        emit LeaseClosed(leaseId, orderId, provider, reason, note, refund);
        emit OrderClosed(orderId, refund);
    }
}
