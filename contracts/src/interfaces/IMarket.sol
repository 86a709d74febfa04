// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { ICredits } from "./ICredits.sol";
import { IMarketStats } from "./IMarketStats.sol";
import { IProviderRegistry } from "./IProviderRegistry.sol";

/// @title IMarket
/// @notice The compute marketplace: a tenant posts an order with a deposit, staked providers bid a
/// price per second, the tenant (or, for an auto-reopen order, anyone after the bid deadline) accepts
/// a bid, and the resulting lease streams the order's escrow to the provider second by second.
/// Settlement is lazy: `settle` is permissionless and every state change touching a lease settles
/// it first. When a lease ends by the provider's hand or by a fault, an auto-reopen order goes back
/// to bidding with the escrow that is left, so the workload moves to another provider; a round whose
/// window closes without a usable bid starts again (`restartBidding`).
/// @dev Units: credits have 6 decimals; prices are in 1e-12 USD per second (`PRICE_SCALE` = 1e6
/// price units per credit unit). Lease ids are `(orderId << 32) | round`.
interface IMarket is IMarketStats {
    /*//////////////////////////////////////////////////////////////
                                  TYPES
    //////////////////////////////////////////////////////////////*/

    enum OrderState {
        None,
        Open,
        Leased,
        Closed
    }

    enum LeaseState {
        None,
        Active,
        Closed
    }

    enum CloseReason {
        None,
        TenantClosed,
        ProviderClosed,
        InsufficientFunds,
        FaultReportedByTenant,
        FaultConfirmed
    }

    /// @notice What a workload needs. Not stored: emitted in `OrderCreated` for providers to read.
    struct Resources {
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 storageMiB;
        uint16 gpus;
        bytes32 gpuModel;
    }

    /// @notice The arguments of `createOrder`.
    struct OrderParams {
        Resources resources;
        uint32 regionMask; // bit r set = region code r allowed (codes 0..31); 0 = any region
        uint64 maxPricePerSecond; // 1e-12 USD per second
        uint64 deposit; // credits escrowed from the caller
        uint32 bidWindow; // seconds bids stay open, at creation and at every reopen
        bytes32 manifestHash; // sha256 of the canonical manifest
        string manifestUri; // where providers may fetch the manifest (may be empty)
        bool autoReopen; // reopen for bids after a provider close or a fault
    }

    /// @notice An order: three storage slots.
    struct Order {
        // slot 0
        address tenant;
        bool autoReopen;
        uint8 bidCount; // bids in the current round
        uint32 bestBidProvider; // provider id of the lowest bid this round (first wins ties); 0 = none
        uint40 bidDeadline; // bids are accepted while block.timestamp <= bidDeadline
        // slot 1
        bytes32 manifestHash;
        // slot 2
        uint64 escrow; // credits held for this order, shared by its leases one after another
        uint64 maxPricePerSecond;
        uint32 regionMask;
        uint32 bidWindow;
        uint32 round; // 0 at creation, +1 at every reopen and every restart of bidding
        OrderState state;
        // Rounds started by `restartBidding` since the order's last lease ended (0 at creation and
        // after every reopen). The last lease, whose provider may not bid, is that of round
        // `round - 1 - restartsSinceLease`; there is none while `restartsSinceLease == round`.
        uint24 restartsSinceLease;
    }

    /// @notice A provider's bid on an order: one slot, keyed by (orderId, provider id).
    /// @dev A bid counts for the current round only when `round == order.round` and `price != 0`.
    struct Bid {
        uint64 price;
        uint32 round;
    }

    /// @notice A lease: two storage slots.
    struct Lease {
        // slot 0, written once
        address provider;
        uint64 pricePerSecond;
        // slot 1
        uint40 startedAt;
        uint40 settledAt; // accrual has been booked up to here
        uint64 earned; // settled credits the provider has not withdrawn yet
        uint24 dust; // accrued price units below one credit unit (< PRICE_SCALE), carried forward
        LeaseState state;
        CloseReason reason;
        uint8 faultReports; // distinct watcher reports so far
        // A completed lease (TenantClosed, InsufficientFunds) already counted in its provider's
        // `leasesCompleted`: set by the provider's first `withdrawEarnings` naming it after the close.
        bool completionCounted;
    }

    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @dev A constructor argument is the zero address.
    error MarketZeroAddress();
    /// @dev `bidWindow` is outside [`minBidWindow`, `maxBidWindow`].
    error MarketBidWindowOutOfRange(uint32 bidWindow, uint32 minBidWindow, uint32 maxBidWindow);
    /// @dev An order's maximum price must be positive.
    error MarketZeroMaxPrice();
    /// @dev `deposit` is zero or below `maxPricePerSecond * minDepositSeconds / PRICE_SCALE`.
    error MarketDepositTooLow(uint256 deposit, uint256 minDeposit);
    /// @dev An order needs a manifest hash.
    error MarketZeroManifestHash();
    /// @dev The order is not open for bids or acceptance (`state` is its current state).
    error MarketOrderNotOpen(uint256 orderId, OrderState state);
    /// @dev The order is neither open nor leased: it cannot be topped up.
    error MarketOrderNotActive(uint256 orderId, OrderState state);
    /// @dev The bid window closed at `bidDeadline`; it is `timestamp`.
    error MarketBidWindowClosed(uint256 orderId, uint40 bidDeadline, uint256 timestamp);
    /// @dev The bid window is still open until `bidDeadline`; it is `timestamp`.
    error MarketBidWindowStillOpen(uint256 orderId, uint40 bidDeadline, uint256 timestamp);
    /// @dev The provider's region is not in the order's region mask.
    error MarketRegionNotAllowed(uint256 orderId, uint16 region, uint32 regionMask);
    /// @dev A bid must be positive.
    error MarketZeroPrice(uint256 orderId);
    /// @dev The bid is above the order's maximum price.
    error MarketBidAbovePrice(uint256 orderId, uint256 price, uint256 maxPrice);
    /// @dev The provider already bid in this round.
    error MarketAlreadyBid(uint256 orderId, address provider, uint32 round);
    /// @dev The order already has `maxBidsPerOrder` bids in this round.
    error MarketTooManyBids(uint256 orderId, uint8 maxBidsPerOrder);
    /// @dev The provider of the previous lease cannot bid on the reopened order.
    error MarketPreviousProvider(uint256 orderId, address provider);
    /// @dev Only the order's tenant may do this.
    error MarketNotTenant(uint256 orderId, address caller);
    /// @dev `provider` has no bid in the order's current round.
    error MarketNoBid(uint256 orderId, address provider, uint32 round);
    /// @dev `acceptBestBid` needs an order with `autoReopen` set.
    error MarketAutoReopenDisabled(uint256 orderId);
    /// @dev Nobody bid in the order's current round.
    error MarketNoBids(uint256 orderId, uint32 round);
    /// @dev Only the tenant may restart bidding while the round's best bidder (`provider`, bid in
    /// `round`) is still active: anyone can accept that bid with `acceptBestBid`.
    error MarketBestBidderActive(uint256 orderId, uint32 round, address provider);
    /// @dev The lease is not active (`state` is its current state).
    error MarketLeaseNotActive(uint256 leaseId, LeaseState state);
    /// @dev Only the lease's tenant or provider may close it.
    error MarketNotLeaseParty(uint256 leaseId, address caller);
    /// @dev Only the lease's provider may withdraw its earnings.
    error MarketNotLeaseProvider(uint256 leaseId, address caller);
    /// @dev Only the lease's tenant or a watcher (not the lease's provider) may report a fault.
    error MarketNotReporter(uint256 leaseId, address caller);
    /// @dev The watcher already reported this lease.
    error MarketAlreadyReported(uint256 leaseId, address watcher);
    /// @dev The amount must be positive.
    error MarketZeroAmount();
    /// @dev `escrow + amount` (plus the active lease's unwithdrawn earnings) would exceed uint64.
    error MarketEscrowOverflow(uint256 orderId, uint256 escrow, uint256 amount);
    /// @dev Settling the active lease used up the escrow and closed it: the top-up came too late.
    error MarketEscrowExhausted(uint256 orderId, uint256 leaseId);
    /// @dev An owner setter got a value outside its bounds.
    error MarketInvalidParameter(bytes32 name, uint256 value);
    /// @dev The zero address cannot be a watcher.
    error MarketInvalidWatcher(address watcher);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice An order was created and its deposit escrowed. Resources and the manifest URI live
    /// only in this log; it carries everything a provider weighs before bidding.
    /// @dev `tenant` is data, not a topic (~100 gas less per order, needed for the createOrder gas
    /// goal). To list a tenant's orders, filter the credits `Transfer(tenant, market)` logs (each
    /// deposit is one, in the order's transaction) or read `getOrder(orderId).tenant`.
    event OrderCreated(
        uint256 indexed orderId,
        address tenant,
        Resources resources,
        uint32 regionMask,
        uint64 maxPricePerSecond,
        uint64 deposit,
        uint40 bidDeadline,
        bytes32 manifestHash,
        string manifestUri,
        bool autoReopen
    );
    /// @notice `provider` bid `price` per second in `round`.
    event BidPlaced(uint256 indexed orderId, address indexed provider, uint32 round, uint64 price);
    /// @notice A bid was accepted: the lease runs from now at `pricePerSecond`.
    event LeaseCreated(
        uint256 indexed leaseId, uint256 indexed orderId, address indexed provider, uint64 pricePerSecond
    );
    /// @notice `amount` credits moved from the order's escrow to the lease's earnings; the lease runs on.
    /// @dev A settle that ends the lease (a close, a fault, the escrow running out) emits no
    /// `LeaseSettled`: its amount is `LeaseClosed.settled`.
    event LeaseSettled(uint256 indexed leaseId, uint256 amount, uint256 escrowLeft);
    /// @notice The lease ended. `settled` credits moved from escrow to the lease in the final settle
    /// (0 when it was already settled this block); `refund` is what went back to the tenant (0 when
    /// the order reopens, with the escrow that `OrderReopened` reports).
    event LeaseClosed(
        uint256 indexed leaseId,
        uint256 indexed orderId,
        address indexed provider,
        CloseReason reason,
        bytes32 note,
        uint256 settled,
        uint256 refund
    );
    /// @notice The order went back to bidding for `round` with `escrow` left, bids until `bidDeadline`.
    event OrderReopened(uint256 indexed orderId, uint32 round, uint64 escrow, uint40 bidDeadline);
    /// @notice An open order whose bid window had closed took bids again (`restartBidding`): `round`
    /// starts with no bids and bids are accepted until `bidDeadline`. The escrow did not change.
    event BiddingRestarted(uint256 indexed orderId, uint32 round, uint40 bidDeadline);
    /// @notice The tenant cancelled the open order (`cancelOrder`); `refund` credits went back to it.
    /// @dev Only `cancelOrder` emits it. An order that ends with its lease has no event of its own
    /// (1.4k gas on every close): after `LeaseClosed` the order is Closed, its escrow (`refund`)
    /// returned, unless `OrderReopened` follows in the same transaction.
    event OrderClosed(uint256 indexed orderId, uint256 refund);
    /// @notice `from` added `amount` credits to the order's escrow, which is now `escrow`.
    event OrderToppedUp(uint256 indexed orderId, address indexed from, uint64 amount, uint64 escrow);
    /// @notice A fault was reported on the lease. For watchers, `reports` is the count so far.
    event FaultReported(
        uint256 indexed leaseId, address indexed reporter, bool byTenant, uint8 reports, bytes32 evidence
    );
    /// @notice Watchers reached the quorum: the provider was slashed `slashed` STOA.
    event FaultConfirmed(uint256 indexed leaseId, address indexed provider, uint256 slashed, bytes32 evidence);
    /// @notice The provider withdrew `amount` earned credits of the lease.
    event EarningsWithdrawn(uint256 indexed leaseId, address indexed provider, uint256 amount);
    /// @notice `watcher` may (or may no longer) report faults.
    event WatcherSet(address indexed watcher, bool allowed);
    /// @notice An owner parameter changed (`name` is the parameter's name, e.g. "faultQuorum").
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    /*//////////////////////////////////////////////////////////////
                               ORDERS AND BIDS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates an order and escrows `p.deposit` credits from the caller, who becomes its tenant.
    /// @dev The caller needs `p.deposit` credits. `p.bidWindow` must lie in [minBidWindow, maxBidWindow],
    /// `p.maxPricePerSecond > 0`, `p.deposit > 0` and at least `maxPricePerSecond * minDepositSeconds / 1e6`,
    /// `p.manifestHash != 0`. Emits `OrderCreated`.
    /// @return orderId The new order's id (ids start at 1).
    function createOrder(OrderParams calldata p) external returns (uint256 orderId);

    /// @notice Bids `pricePerSecond` on an open order, as the calling provider.
    /// @dev The caller must be an active provider (registered, staked, not jailed) in a region the
    /// order allows, bid at most once per round, before the bid deadline (inclusive), with
    /// 0 < price <= the order's maximum, while fewer than `maxBidsPerOrder` bids exist this round; on a
    /// reopened order the provider of the last lease cannot bid, also in rounds started by
    /// `restartBidding` after it, until another lease has run. Emits `BidPlaced`.
    function bid(uint256 orderId, uint64 pricePerSecond) external;

    /// @notice Accepts `provider`'s bid in the current round: the lease starts now.
    /// @dev Only the tenant, while the order is open (before or after the bid deadline). The provider
    /// must still be active. Emits `LeaseCreated`.
    /// @return leaseId `leaseIdOf(orderId, round)`.
    function acceptBid(uint256 orderId, address provider) external returns (uint256 leaseId);

    /// @notice Accepts the lowest bid of the current round (first wins ties) once the bid deadline has
    /// passed. Anyone may call it; this is how a reopened order finds a new provider unattended.
    /// @dev Only for orders with `autoReopen`; the best bidder must still be active. When the round
    /// ended without a usable bid, `restartBidding` starts the next one. Emits `LeaseCreated`.
    /// @return leaseId `leaseIdOf(orderId, round)`.
    function acceptBestBid(uint256 orderId) external returns (uint256 leaseId);

    /// @notice Starts a fresh bidding round on an open order whose bid window has closed, so a workload
    /// that found no usable bid can still move: round + 1, no bids (earlier rounds' bids no longer
    /// count), bids accepted until now + the order's bid window. Escrow and terms do not change.
    /// @dev Needs `block.timestamp > bidDeadline`. The tenant may always restart. Anyone else only on
    /// an order with `autoReopen` whose round has no bid, or whose best bidder is no longer active in
    /// the registry (jailed, unstaked), since then `acceptBestBid` cannot succeed; otherwise it reverts
    /// `MarketNotTenant` (no autoReopen) or `MarketBestBidderActive` (accept that bid instead). The
    /// provider of the order's last lease stays excluded from bidding. Emits `BiddingRestarted`.
    function restartBidding(uint256 orderId) external;

    /// @notice Adds `amount` credits from the caller to the order's escrow (anyone may pay).
    /// @dev The order must be open or leased; an active lease is settled first, and if that settle
    /// exhausts the escrow the call reverts `MarketEscrowExhausted`. Refunds always go to the tenant.
    /// Emits `OrderToppedUp`.
    function topUp(uint256 orderId, uint64 amount) external;

    /// @notice Cancels an open order (no lease running) and refunds its escrow to the tenant.
    /// @dev Only the tenant. Emits `OrderClosed`.
    function cancelOrder(uint256 orderId) external;

    /*//////////////////////////////////////////////////////////////
                                  LEASES
    //////////////////////////////////////////////////////////////*/

    /// @notice Books the lease's accrual since its last settle: `price * elapsed` (exact, with dust)
    /// moves from the order's escrow to the lease's earnings. Anyone may call it.
    /// @dev When the accrual uses the escrow up (or more), the provider gets what is left and the lease
    /// closes with `InsufficientFunds` (the order closes). Emits `LeaseSettled` when time has passed
    /// and the lease runs on, `LeaseClosed` (carrying the amount) when it closes.
    function settle(uint256 leaseId) external;

    /// @notice Ends an active lease, by its tenant or its provider, after settling it.
    /// @dev The tenant's close (`TenantClosed`) closes the order and refunds the escrow. The provider's
    /// close (`ProviderClosed`) reopens an auto-reopen order that has escrow left, else refunds. If the
    /// settle itself exhausts the escrow, the lease closes with `InsufficientFunds` instead.
    /// A completed lease (`TenantClosed`, `InsufficientFunds`) enters the provider's `leasesCompleted`
    /// at its provider's next `withdrawEarnings`, not here (see IMarketStats). Emits `LeaseClosed`,
    /// which carries the final settle's amount (then `OrderReopened` when the order reopens).
    function closeLease(uint256 leaseId, bytes32 note) external;

    /// @notice Reports that the lease's provider is failing.
    /// @dev By the tenant: the lease closes at once (`FaultReportedByTenant`), no slash. By a watcher:
    /// one report per watcher; at `faultQuorum` reports the lease closes (`FaultConfirmed`) and the
    /// provider is slashed `stake * faultSlashBps / 10_000`, the reporter receiving the registry's
    /// reporter share. Either way an auto-reopen order with escrow left reopens, else is refunded.
    /// Emits `FaultReported`, and on closing `LeaseClosed` (with the final settle's amount),
    /// `OrderReopened` (if it reopens) and `FaultConfirmed` (watchers); a watcher report short of the
    /// quorum emits `LeaseSettled` first when time has passed.
    function reportFault(uint256 leaseId, bytes32 evidence) external;

    /// @notice Pays the caller the unwithdrawn earnings of `leaseIds` (each must be the caller's lease),
    /// settling the active ones first, in one credits payout. Also counts each completed lease
    /// (TenantClosed or InsufficientFunds) not counted yet in the caller's `leasesCompleted`, even
    /// when nothing is left to pay: a provider names its closed leases here to have them counted.
    /// @dev Emits `EarningsWithdrawn` per lease that paid something.
    /// @return amount Credits paid out.
    function withdrawEarnings(uint256[] calldata leaseIds) external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                  ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows or disallows `watcher` to report faults. Only the owner.
    function setWatcher(address watcher, bool allowed) external;
    /// @notice Sets the most bids an order takes per round (1..255). Only the owner.
    function setMaxBidsPerOrder(uint8 value) external;
    /// @notice Sets the bid window bounds (1 <= minWindow <= maxWindow). Only the owner.
    function setBidWindowBounds(uint32 minWindow, uint32 maxWindow) external;
    /// @notice Sets how many seconds at the maximum price a deposit must cover (<= 30 days). Only the owner.
    function setMinDepositSeconds(uint32 value) external;
    /// @notice Sets how many distinct watcher reports confirm a fault (>= 1). Only the owner.
    function setFaultQuorum(uint8 value) external;
    /// @notice Sets the share of stake slashed for a confirmed fault (<= 10_000 bps). Only the owner.
    function setFaultSlashBps(uint16 value) external;

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The credits ledger that holds escrow (immutable).
    function credits() external view returns (ICredits);
    /// @notice The provider registry consulted for bids and slashing (immutable).
    function registry() external view returns (IProviderRegistry);
    /// @notice Price units (1e-12 USD per second) per credit unit: 1e6.
    function PRICE_SCALE() external view returns (uint256);
    /// @notice The order (all zero for an unknown id).
    function getOrder(uint256 orderId) external view returns (Order memory);
    /// @notice The lease (all zero for an unknown id).
    function getLease(uint256 leaseId) external view returns (Lease memory);
    /// @notice The last bid of provider `providerId` (a registry id) on the order, in any round.
    function getBid(uint256 orderId, uint32 providerId) external view returns (Bid memory);
    /// @notice The lease id of an order's round: `(orderId << 32) | round`.
    function leaseIdOf(uint256 orderId, uint32 round) external pure returns (uint256);
    /// @notice The order's active lease, or 0 when none runs.
    function currentLeaseId(uint256 orderId) external view returns (uint256);
    /// @notice What `settle` would move now: `owed` credits to the provider, `escrowAfter` left.
    /// @dev For an inactive lease: (0, the order's escrow).
    function pendingSettlement(uint256 leaseId) external view returns (uint256 owed, uint256 escrowAfter);
    /// @notice The id the next order will get.
    function nextOrderId() external view returns (uint256);
    /// @notice Whether `account` may report faults as a watcher.
    function isWatcher(address account) external view returns (bool);
    /// @notice Whether `watcher` already reported the lease.
    function hasReported(uint256 leaseId, address watcher) external view returns (bool);
    /// @notice The most bids an order takes per round (default 32).
    function maxBidsPerOrder() external view returns (uint8);
    /// @notice The shortest bid window an order may ask for, in seconds (default 1).
    function minBidWindow() external view returns (uint32);
    /// @notice The longest bid window an order may ask for, in seconds (default 1 day).
    function maxBidWindow() external view returns (uint32);
    /// @notice Seconds at its maximum price an order's deposit must cover (default 60).
    function minDepositSeconds() external view returns (uint32);
    /// @notice Distinct watcher reports that confirm a fault (default 1).
    function faultQuorum() external view returns (uint8);
    /// @notice Share of the provider's bonded stake slashed per confirmed fault, in bps (default 1_000).
    function faultSlashBps() external view returns (uint16);
}
