// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { Ownable2Step } from "@openzeppelin/contracts/access/Ownable2Step.sol";
import { SignatureChecker } from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import { EIP712 } from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import { ICredits } from "./interfaces/ICredits.sol";
import { IProviderRegistry } from "./interfaces/IProviderRegistry.sol";
import { IStorageDeals } from "./interfaces/IStorageDeals.sol";
import { ShardMerkle } from "./lib/ShardMerkle.sol";

/// @title StorageDeals
/// @notice Storage deals with periodic proofs of storage (docs/storage-spec.md section 3). The owner
/// escrows every period of every shard up front; a shard's provider earns one period per proof made
/// inside the period's block window for a leaf the window's seed block hash picks; a missed period
/// slashes the provider and frees the shard for a repairer to hand to someone else; at the end the
/// unearned rest is refunded.
/// @dev Accounting per deal: `deposited == paid + refunded + escrow` at all times, and the contract's
/// credit balance is the sum of its deals' `escrow`. Escrow suffices by construction: each shard
/// proves each period at most once (`nextPeriod` only grows, also across a replacement), and each
/// period of each shard was escrowed. The proof path touches three cold slots (the deal's schedule,
/// the shard's hot word, its root) and writes one; see IStorageDeals for the layout. Credits and the
/// registry are trusted protocol contracts; state is updated before calling them.
contract StorageDeals is IStorageDeals, Ownable2Step, EIP712 {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The EIP-712 type a provider signs to take a shard.
    bytes32 public constant SHARD_ACCEPTANCE_TYPEHASH = keccak256(
        "ShardAcceptance(address owner,uint256 dealId,uint16 shardIndex,bytes32 root,uint64 size,uint8 erasureIndex,uint64 pricePerByteSecond,uint32 periodBlocks,uint32 periods,uint64 deadline)"
    );

    /// @notice Upper bound of `maxShards`.
    uint256 public constant MAX_SHARDS = 256;
    /// @notice Upper bound of `windowBlocks`: the seed block hash must stay readable for the window.
    uint256 public constant MAX_WINDOW_BLOCKS = 255;
    /// @notice Upper bound of a deal's `periods` (unpaid periods are counted in 24 bits).
    uint256 public constant MAX_PERIODS = type(uint24).max;
    /// @notice Largest shard: 2^32 - 1 leaves of `ShardMerkle.LEAF_SIZE` (512) bytes (the leaf count is stored in 32 bits), ~2 TiB.
    uint256 public constant MAX_SHARD_SIZE = (2 ** 32 - 1) * ShardMerkle.LEAF_SIZE;
    /// @notice `pricePerByteSecond` units per credit unit.
    uint256 public constant PRICE_SCALE = 1e18;

    /// @dev The `reason` passed to `ProviderRegistry.slash` for a missed proof.
    bytes32 private constant _MISSED_PROOF = "storage.missedProof";

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Parameters and the deal counter, one slot.
    struct Config {
        uint64 nextDealId;
        uint32 periodBlocks;
        uint32 windowBlocks;
        uint32 secondsPerBlock;
        uint16 maxShards;
    }

    /// @inheritdoc IStorageDeals
    ICredits public immutable override credits;
    /// @inheritdoc IStorageDeals
    IProviderRegistry public immutable override registry;

    Config private _config;
    /// @inheritdoc IStorageDeals
    uint96 public override missedProofSlash;

    mapping(uint256 dealId => Deal) private _deals;
    /// @dev Keyed by `dealId << 16 | shardIndex` (one hash per access).
    mapping(uint256 shardKey => Shard) private _shards;
    /// @dev Replacement acceptances already used, keyed by `keccak256(digest, provider)`: the signed
    /// struct does not name the provider, so two providers sign the same digest. (Creation acceptances
    /// name a fresh deal id and need no record.)
    mapping(bytes32 usedKey => bool) private _usedAcceptances;
    mapping(address account => uint256 dealId) private _indexOf;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner Sets the parameters (later a Timelock).
    /// @param credits_ The credits ledger; it must list this contract as a protocol contract.
    /// @param registry_ The provider registry; it must list this contract as a protocol contract (slash).
    /// @dev Defaults: periodBlocks 20, windowBlocks 10, secondsPerBlock 2, maxShards 256,
    /// missedProofSlash 100 STOA.
    constructor(address initialOwner, ICredits credits_, IProviderRegistry registry_)
        Ownable(initialOwner)
        EIP712("Stoa StorageDeals", "1")
    {
        if (address(credits_) == address(0) || address(registry_) == address(0)) revert StorageDealsZeroAddress();
        credits = credits_;
        registry = registry_;
        _config = Config({ nextDealId: 1, periodBlocks: 20, windowBlocks: 10, secondsPerBlock: 2, maxShards: 256 });
        missedProofSlash = 100e18;
        emit ParameterUpdated("periodBlocks", 0, 20);
        emit ParameterUpdated("windowBlocks", 0, 10);
        emit ParameterUpdated("secondsPerBlock", 0, 2);
        emit ParameterUpdated("maxShards", 0, 256);
        emit ParameterUpdated("missedProofSlash", 0, 100e18);
    }

    /*//////////////////////////////////////////////////////////////
                                  DEALS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStorageDeals
    function createDeal(DealTerms calldata terms, ShardSpec[] calldata shards, bytes[] calldata acceptances)
        external
        override
        returns (uint256 dealId)
    {
        Config memory config = _config;
        uint256 count = shards.length;
        if (count == 0 || count > config.maxShards) revert StorageDealsInvalidShardCount(count, config.maxShards);
        if (acceptances.length != count) revert StorageDealsAcceptanceCountMismatch(count, acceptances.length);
        _checkTerms(terms, count);

        dealId = config.nextDealId;
        // Overflow not possible: one id per transaction, 2^64 transactions are out of reach.
        unchecked {
            _config.nextDealId = config.nextDealId + 1;
        }
        uint256 paymentSum;
        // Bounded: count <= maxShards <= 256.
        for (uint256 i; i < count; ++i) {
            paymentSum += _assignShard(dealId, i, terms, shards[i], acceptances[i], config);
        }
        uint256 total = paymentSum * terms.periods;
        if (total > type(uint96).max) revert StorageDealsEscrowOverflow(total);

        Deal storage deal = _deals[dealId];
        deal.startBlock = uint64(block.number);
        deal.periodBlocks = config.periodBlocks;
        deal.windowBlocks = config.windowBlocks;
        deal.periods = terms.periods;
        // casting to 'uint16' is safe because count <= maxShards <= 256
        // forge-lint: disable-next-line(unsafe-typecast)
        deal.shardCount = uint16(count);
        deal.k = terms.k;
        deal.state = DealState.Active;
        deal.pieceSize = terms.pieceSize;
        deal.owner = msg.sender;
        // casting to 'uint96' is safe because total <= type(uint96).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        deal.escrow = uint96(total);
        deal.pricePerByteSecond = terms.pricePerByteSecond;
        // forge-lint: disable-next-line(unsafe-typecast)
        deal.deposited = uint96(total);
        _emitDealCreated(dealId, terms, count, config, total);
        credits.escrow(msg.sender, total);
    }

    /// @inheritdoc IStorageDeals
    function submitProof(
        uint256 dealId,
        uint16 shardIndex,
        uint32 period,
        bytes calldata leaf,
        bytes32[] calldata siblings
    ) external override {
        _prove(dealId, shardIndex, period, leaf, siblings);
    }

    /// @inheritdoc IStorageDeals
    function submitProofs(Proof[] calldata proofs) external override {
        uint256 count = proofs.length;
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        // Bounded by the calldata the caller pays for.
        for (uint256 i; i < count; ++i) {
            Proof calldata proof = proofs[i];
            _prove(proof.dealId, proof.shardIndex, proof.period, proof.leaf, proof.siblings);
            // Nothing a proof allocates outlives it (the inputs are calldata): reuse the memory, so
            // a batch does not pay for memory growing with every proof.
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
    }

    /// @inheritdoc IStorageDeals
    function markMissed(uint256 dealId, uint16 shardIndex, uint32 period) external override {
        Deal storage deal = _activeDeal(dealId);
        uint256 periods = deal.periods;
        if (period >= periods) revert StorageDealsPeriodOutOfRange(dealId, period, periods);
        // The window of `period` ends where the next period starts.
        uint256 windowEnd = uint256(deal.startBlock) + (uint256(period) + 1) * deal.periodBlocks;
        if (block.number < windowEnd) revert StorageDealsWindowNotClosed(dealId, period, windowEnd);
        Shard storage shard = _shardOf(dealId, deal, shardIndex);
        ShardState state = shard.state;
        if (state != ShardState.Active) revert StorageDealsShardNotActive(dealId, shardIndex, state);
        if (shard.nextPeriod > period) revert StorageDealsPeriodProven(dealId, shardIndex, period);

        address provider = shard.provider;
        // The provider keeps what it proved before the miss.
        uint256 owed = _collect(deal, shard);
        shard.state = ShardState.Lost;
        if (owed != 0) emit DealSettled(dealId, owed, deal.escrow);
        uint256 slashed = registry.slash(provider, missedProofSlash, msg.sender, _MISSED_PROOF);
        emit ShardLost(dealId, shardIndex, provider, period, slashed);
        if (owed != 0) credits.payout(provider, owed);
    }

    /// @inheritdoc IStorageDeals
    function replaceShard(uint256 dealId, uint16 shardIndex, address provider, uint64 deadline, bytes calldata acceptance)
        external
        override
    {
        Deal storage deal = _activeDeal(dealId);
        uint256 period = _currentPeriod(deal);
        uint256 periods = deal.periods;
        if (period >= periods) revert StorageDealsDealExpired(dealId, periods);
        Shard storage shard = _shardOf(dealId, deal, shardIndex);
        ShardState state = shard.state;
        if (state != ShardState.Lost) revert StorageDealsShardNotLost(dealId, shardIndex, state);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > deadline) revert StorageDealsAcceptanceExpired(deadline, block.timestamp);
        if (!registry.isActive(provider)) revert StorageDealsProviderNotActive(provider);
        _checkNotInDeal(dealId, deal.shardCount, provider);
        _useReplacementAcceptance(deal, shard, dealId, shardIndex, provider, deadline, acceptance);

        address previous = shard.provider;
        uint32 fromPeriod = shard.nextPeriod;
        // casting to 'uint32' is safe because period < periods, a uint32
        // forge-lint: disable-next-line(unsafe-typecast)
        if (period > fromPeriod) fromPeriod = uint32(period);
        shard.provider = provider;
        shard.nextPeriod = fromPeriod;
        shard.state = ShardState.Active;
        emit ShardReplaced(dealId, shardIndex, provider, previous, fromPeriod);
    }

    /// @inheritdoc IStorageDeals
    function settle(uint256 dealId) external override returns (uint256 paid) {
        Deal storage deal = _activeDeal(dealId);
        uint256 shardCount = deal.shardCount;
        bool ending = _currentPeriod(deal) >= deal.periods;
        address[] memory payees = new address[](shardCount);
        uint256[] memory amounts = new uint256[](shardCount);
        // Bounded: shardCount <= 256. Effects for every shard first, then the payouts.
        for (uint256 i; i < shardCount; ++i) {
            Shard storage shard = _shards[_shardKey(dealId, i)];
            uint256 owed = _collect(deal, shard);
            if (owed != 0) {
                payees[i] = shard.provider;
                amounts[i] = owed;
                paid += owed;
            }
            if (ending && shard.state == ShardState.Active) shard.state = ShardState.Ended;
        }
        uint256 escrowLeft = deal.escrow;
        emit DealSettled(dealId, paid, ending ? 0 : escrowLeft);
        if (ending) {
            deal.escrow = 0;
            deal.state = DealState.Ended;
            emit DealEnded(dealId, escrowLeft);
        }
        for (uint256 i; i < shardCount; ++i) {
            if (amounts[i] != 0) credits.payout(payees[i], amounts[i]);
        }
        if (ending && escrowLeft != 0) credits.release(deal.owner, escrowLeft);
    }

    /// @inheritdoc IStorageDeals
    function setIndex(uint256 dealId) external override {
        if (dealId != 0) {
            address owner_ = _deals[dealId].owner;
            if (owner_ == address(0)) revert StorageDealsUnknownDeal(dealId);
            if (owner_ != msg.sender) revert StorageDealsNotOwner(dealId, msg.sender);
        }
        _indexOf[msg.sender] = dealId;
        emit IndexSet(msg.sender, dealId);
    }

    /*//////////////////////////////////////////////////////////////
                               PARAMETERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the blocks per proving period of new deals (> windowBlocks, <= 2^32 - 1).
    /// @dev Only the owner. Acceptances sign it: change it only between deals. Emits `ParameterUpdated`.
    function setPeriodBlocks(uint256 value) external onlyOwner {
        if (value <= _config.windowBlocks || value > type(uint32).max) {
            revert StorageDealsInvalidParameter("periodBlocks", value);
        }
        emit ParameterUpdated("periodBlocks", _config.periodBlocks, value);
        // casting to 'uint32' is safe because value <= type(uint32).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        _config.periodBlocks = uint32(value);
    }

    /// @notice Sets the proving window of new deals in blocks (1 .. 255, < periodBlocks).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setWindowBlocks(uint256 value) external onlyOwner {
        if (value == 0 || value > MAX_WINDOW_BLOCKS || value >= _config.periodBlocks) {
            revert StorageDealsInvalidParameter("windowBlocks", value);
        }
        emit ParameterUpdated("windowBlocks", _config.windowBlocks, value);
        // casting to 'uint32' is safe because value <= 255 was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        _config.windowBlocks = uint32(value);
    }

    /// @notice Sets the seconds per block used to price a period (1 .. 3600).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setSecondsPerBlock(uint256 value) external onlyOwner {
        if (value == 0 || value > 3600) revert StorageDealsInvalidParameter("secondsPerBlock", value);
        emit ParameterUpdated("secondsPerBlock", _config.secondsPerBlock, value);
        // casting to 'uint32' is safe because value <= 3600 was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        _config.secondsPerBlock = uint32(value);
    }

    /// @notice Sets the most shards a new deal may have (1 .. 256).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setMaxShards(uint256 value) external onlyOwner {
        if (value == 0 || value > MAX_SHARDS) revert StorageDealsInvalidParameter("maxShards", value);
        emit ParameterUpdated("maxShards", _config.maxShards, value);
        // casting to 'uint16' is safe because value <= 256 was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        _config.maxShards = uint16(value);
    }

    /// @notice Sets the STOA slashed per missed period (0 disables slashing; faults still count).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setMissedProofSlash(uint256 value) external onlyOwner {
        if (value > type(uint96).max) revert StorageDealsInvalidParameter("missedProofSlash", value);
        emit ParameterUpdated("missedProofSlash", missedProofSlash, value);
        // casting to 'uint96' is safe because value <= type(uint96).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        missedProofSlash = uint96(value);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStorageDeals
    function nextDealId() external view override returns (uint256) {
        return _config.nextDealId;
    }

    /// @inheritdoc IStorageDeals
    function periodBlocks() external view override returns (uint32) {
        return _config.periodBlocks;
    }

    /// @inheritdoc IStorageDeals
    function windowBlocks() external view override returns (uint32) {
        return _config.windowBlocks;
    }

    /// @inheritdoc IStorageDeals
    function secondsPerBlock() external view override returns (uint32) {
        return _config.secondsPerBlock;
    }

    /// @inheritdoc IStorageDeals
    function maxShards() external view override returns (uint16) {
        return _config.maxShards;
    }

    /// @inheritdoc IStorageDeals
    function getDeal(uint256 dealId) external view override returns (Deal memory) {
        return _deals[dealId];
    }

    /// @inheritdoc IStorageDeals
    function getShard(uint256 dealId, uint16 shardIndex) external view override returns (Shard memory) {
        return _shards[_shardKey(dealId, shardIndex)];
    }

    /// @inheritdoc IStorageDeals
    function challengeOf(uint256 dealId, uint16 shardIndex, uint32 period)
        external
        view
        override
        returns (uint256 leafIndex)
    {
        Deal storage deal = _deals[dealId];
        if (deal.startBlock == 0) revert StorageDealsUnknownDeal(dealId);
        if (period >= deal.periods) revert StorageDealsPeriodOutOfRange(dealId, period, deal.periods);
        Shard storage shard = _shardOf(dealId, deal, shardIndex);
        uint256 seedBlock = _windowStart(deal.startBlock, deal.periodBlocks, deal.windowBlocks, period) - 1;
        bytes32 seed = blockhash(seedBlock);
        if (seed == bytes32(0)) revert StorageDealsChallengeUnavailable(dealId, period, seedBlock);
        return _challenge(seed, dealId, shardIndex, period, shard.leafCount);
    }

    /// @inheritdoc IStorageDeals
    function currentPeriod(uint256 dealId) external view override returns (uint256) {
        Deal storage deal = _deals[dealId];
        if (deal.startBlock == 0) revert StorageDealsUnknownDeal(dealId);
        return _currentPeriod(deal);
    }

    /// @inheritdoc IStorageDeals
    function provingWindow(uint256 dealId, uint32 period) external view override returns (uint256 start, uint256 end) {
        Deal storage deal = _deals[dealId];
        if (deal.startBlock == 0) revert StorageDealsUnknownDeal(dealId);
        start = _windowStart(deal.startBlock, deal.periodBlocks, deal.windowBlocks, period);
        end = start + deal.windowBlocks;
    }

    /// @inheritdoc IStorageDeals
    function indexOf(address account) external view override returns (uint256) {
        return _indexOf[account];
    }

    /// @inheritdoc IStorageDeals
    function acceptanceDigest(ShardAcceptance calldata a) external view override returns (bytes32) {
        return _acceptanceDigest(a);
    }

    /// @notice The EIP-712 domain separator (name "Stoa StorageDeals", version "1").
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    // Shard slot 0: nextPeriod (0) | unpaidPeriods (32) | state (56) | leafCount (64) | startBlock (96)
    // | periodBlocks (144) | windowBlocks (176) | periods (184) | size (208)
    uint256 private constant _S_UNPAID = 32;
    uint256 private constant _S_STATE = 56;
    uint256 private constant _S_LEAF_COUNT = 64;
    uint256 private constant _S_START_BLOCK = 96;
    uint256 private constant _S_PERIOD_BLOCKS = 144;
    uint256 private constant _S_WINDOW_BLOCKS = 176;
    uint256 private constant _S_PERIODS = 184;
    uint256 private constant _S_SIZE = 208;
    uint256 private constant _MASK8 = 0xff;
    uint256 private constant _MASK24 = 0xffffff;
    uint256 private constant _MASK32 = 0xffffffff;
    uint256 private constant _MASK48 = 0xffffffffffff;

    /// @dev The proof path: one cold word (state, schedule, progress) and the root read, one write.
    function _prove(
        uint256 dealId,
        uint16 shardIndex,
        uint32 period,
        bytes calldata leaf,
        bytes32[] calldata siblings
    ) private {
        Shard storage shard = _shards[_shardKey(dealId, shardIndex)];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(shard.slot)
        }
        bytes32 seed = _checkProvable(dealId, shardIndex, period, word);
        uint256 leafCount = (word >> _S_LEAF_COUNT) & _MASK32;
        uint256 leafIndex = _challenge(seed, dealId, shardIndex, period, leafCount);
        if (!ShardMerkle.verify(shard.root, leafCount, leafIndex, leaf, siblings)) {
            revert StorageDealsInvalidProof(dealId, shardIndex, period, leafIndex);
        }
        // Overflow not possible: nextPeriod = period + 1 <= periods < 2^24 keeps its 32 bits, and
        // unpaidPeriods <= proven periods <= periods < 2^24 keeps its 24 bits.
        unchecked {
            word += 1 | (uint256(1) << _S_UNPAID);
        }
        assembly ("memory-safe") {
            sstore(shard.slot, word)
        }
        emit ShardProven(dealId, shardIndex, period);
    }

    /// @dev Checks, from the shard's hot word, that the shard exists and is Active, that `period`
    /// exists and is the shard's next, and that this block is in the period's window; returns the
    /// challenge seed, the hash of the block before the window.
    function _checkProvable(uint256 dealId, uint256 shardIndex, uint256 period, uint256 word)
        private
        view
        returns (bytes32)
    {
        ShardState state = ShardState((word >> _S_STATE) & _MASK8);
        if (state != ShardState.Active) {
            if (state == ShardState.None) revert StorageDealsUnknownShard(dealId, shardIndex);
            revert StorageDealsShardNotActive(dealId, shardIndex, state);
        }
        uint256 periods = (word >> _S_PERIODS) & _MASK24;
        if (period >= periods) revert StorageDealsPeriodOutOfRange(dealId, period, periods);
        uint256 nextPeriod_ = word & _MASK32;
        if (period != nextPeriod_) revert StorageDealsPeriodNotNext(dealId, shardIndex, period, nextPeriod_);
        uint256 windowBlocks_ = (word >> _S_WINDOW_BLOCKS) & _MASK8;
        uint256 windowStart = _windowStart(
            (word >> _S_START_BLOCK) & _MASK48, (word >> _S_PERIOD_BLOCKS) & _MASK32, windowBlocks_, period
        );
        // Overflow and underflow not possible: the terms are below 2^90, and windowStart > startBlock >= 1
        // (windowBlocks < periodBlocks). The seed block windowStart - 1 is at most windowBlocks <= 255
        // blocks back inside the window, so its hash is readable.
        unchecked {
            if (block.number < windowStart || block.number >= windowStart + windowBlocks_) {
                revert StorageDealsOutsideWindow(dealId, period, windowStart, windowStart + windowBlocks_);
            }
            return blockhash(windowStart - 1);
        }
    }

    /// @dev Books the shard's proven, unpaid periods as paid (from the deal's escrow) and returns
    /// their credits; the caller pays them out to the shard's provider.
    function _collect(Deal storage deal, Shard storage shard) private returns (uint256 owed) {
        uint256 unpaid = shard.unpaidPeriods;
        if (unpaid == 0) return 0;
        owed = unpaid * shard.paymentPerPeriod;
        shard.unpaidPeriods = 0;
        // Underflow not possible, and the casts are safe: every period of every shard was escrowed
        // and is paid at most once, so owed <= escrow, and paid + owed <= deposited, both uint96.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            deal.escrow -= uint96(owed);
            // forge-lint: disable-next-line(unsafe-typecast)
            deal.paid += uint96(owed);
        }
    }

    /// @dev Validates, checks the acceptance of, and stores shard `index` of a new deal; returns its
    /// payment per period.
    function _assignShard(
        uint256 dealId,
        uint256 index,
        DealTerms calldata terms,
        ShardSpec calldata spec,
        bytes calldata acceptance,
        Config memory config
    ) private returns (uint256 payment) {
        address provider = spec.provider;
        if (spec.root == bytes32(0)) revert StorageDealsInvalidShard(index, "root", 0);
        if (spec.size == 0 || spec.size > MAX_SHARD_SIZE) revert StorageDealsInvalidShard(index, "size", spec.size);
        // Duplicates within this deal, marked in transient storage under a per-deal key.
        bytes32 mark = keccak256(abi.encode(dealId, provider));
        bool seen;
        assembly ("memory-safe") {
            seen := tload(mark)
            tstore(mark, 1)
        }
        if (seen) revert StorageDealsDuplicateProvider(provider);
        if (!registry.isActive(provider)) revert StorageDealsProviderNotActive(provider);
        // casting to 'uint16' is safe because index < count <= 256
        // forge-lint: disable-next-line(unsafe-typecast)
        _checkCreationAcceptance(dealId, uint16(index), terms, spec, acceptance, config.periodBlocks);
        // No overflow: size < 2^42, price < 2^64, periodBlocks and secondsPerBlock < 2^32.
        payment =
            uint256(spec.size) * terms.pricePerByteSecond * config.periodBlocks * config.secondsPerBlock / PRICE_SCALE;
        if (payment > type(uint64).max) revert StorageDealsEscrowOverflow(payment);
        _storeShard(dealId, index, spec, payment, terms.periods, config);
    }

    /// @dev Writes a new shard (Active, nothing proven, the deal's schedule from this block) and emits
    /// `ShardAssigned`.
    function _storeShard(
        uint256 dealId,
        uint256 index,
        ShardSpec calldata spec,
        uint256 payment,
        uint256 periods,
        Config memory config
    ) private {
        Shard storage shard = _shards[_shardKey(dealId, index)];
        // The fields fit: leafCount < 2^32 and size < 2^48 (size <= MAX_SHARD_SIZE), block numbers stay
        // below 2^48, windowBlocks <= 255, periods < 2^24.
        uint256 word = (uint256(ShardState.Active) << _S_STATE) | (ShardMerkle.leafCountOf(spec.size) << _S_LEAF_COUNT)
            | (block.number << _S_START_BLOCK) | (uint256(config.periodBlocks) << _S_PERIOD_BLOCKS)
            | (uint256(config.windowBlocks) << _S_WINDOW_BLOCKS) | (periods << _S_PERIODS)
            | (uint256(spec.size) << _S_SIZE);
        assembly ("memory-safe") {
            sstore(shard.slot, word)
        }
        shard.root = spec.root;
        shard.provider = spec.provider;
        // casting to 'uint64' is safe because the caller checked payment <= type(uint64).max
        // forge-lint: disable-next-line(unsafe-typecast)
        shard.paymentPerPeriod = uint64(payment);
        shard.erasureIndex = spec.erasureIndex;
        // casting to 'uint16' is safe because index < shard count <= 256
        // forge-lint: disable-next-line(unsafe-typecast)
        emit ShardAssigned(dealId, uint16(index), spec.provider, spec.root, spec.size, spec.erasureIndex, uint64(payment));
    }

    /// @dev Reverts unless `acceptance` is `spec.provider`'s signature of shard `shardIndex` of the deal
    /// the caller is creating.
    function _checkCreationAcceptance(
        uint256 dealId,
        uint16 shardIndex,
        DealTerms calldata terms,
        ShardSpec calldata spec,
        bytes calldata acceptance,
        uint32 periodBlocks_
    ) private view {
        bytes32 digest = _acceptanceDigest(
            ShardAcceptance({
                owner: msg.sender,
                dealId: dealId,
                shardIndex: shardIndex,
                root: spec.root,
                size: spec.size,
                erasureIndex: spec.erasureIndex,
                pricePerByteSecond: terms.pricePerByteSecond,
                periodBlocks: periodBlocks_,
                periods: terms.periods,
                deadline: terms.deadline
            })
        );
        if (!SignatureChecker.isValidSignatureNow(spec.provider, digest, acceptance)) {
            revert StorageDealsInvalidAcceptance(shardIndex, spec.provider);
        }
    }

    /// @dev Reverts when `provider` holds a shard of the deal (the Lost shard's provider included).
    function _checkNotInDeal(uint256 dealId, uint256 shardCount, address provider) private view {
        // Bounded: shardCount <= 256.
        for (uint256 i; i < shardCount; ++i) {
            if (_shards[_shardKey(dealId, i)].provider == provider) revert StorageDealsDuplicateProvider(provider);
        }
    }

    /// @dev Checks `provider`'s acceptance of the Lost shard's terms and spends it.
    function _useReplacementAcceptance(
        Deal storage deal,
        Shard storage shard,
        uint256 dealId,
        uint16 shardIndex,
        address provider,
        uint64 deadline,
        bytes calldata acceptance
    ) private {
        bytes32 digest = _acceptanceDigest(
            ShardAcceptance({
                owner: deal.owner,
                dealId: dealId,
                shardIndex: shardIndex,
                root: shard.root,
                size: shard.size,
                erasureIndex: shard.erasureIndex,
                pricePerByteSecond: deal.pricePerByteSecond,
                periodBlocks: deal.periodBlocks,
                periods: deal.periods,
                deadline: deadline
            })
        );
        bytes32 usedKey = keccak256(abi.encode(digest, provider));
        if (_usedAcceptances[usedKey]) revert StorageDealsAcceptanceUsed(digest, provider);
        if (!SignatureChecker.isValidSignatureNow(provider, digest, acceptance)) {
            revert StorageDealsInvalidAcceptance(shardIndex, provider);
        }
        _usedAcceptances[usedKey] = true;
    }

    function _checkTerms(DealTerms calldata terms, uint256 count) private view {
        if (terms.k == 0 || terms.k > count) revert StorageDealsInvalidTerms("k", terms.k);
        if (terms.periods == 0 || terms.periods > MAX_PERIODS) revert StorageDealsInvalidTerms("periods", terms.periods);
        uint256 pieceSize = terms.pieceSize;
        if (pieceSize == 0 || pieceSize % ShardMerkle.LEAF_SIZE != 0) {
            revert StorageDealsInvalidTerms("pieceSize", pieceSize);
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > terms.deadline) revert StorageDealsAcceptanceExpired(terms.deadline, block.timestamp);
    }

    function _emitDealCreated(uint256 dealId, DealTerms calldata terms, uint256 count, Config memory config, uint256 total)
        private
    {
        emit DealCreated(
            dealId,
            msg.sender,
            terms.k,
            // forge-lint: disable-next-line(unsafe-typecast)
            uint16(count),
            terms.pieceSize,
            terms.pricePerByteSecond,
            uint64(block.number),
            config.periodBlocks,
            config.windowBlocks,
            terms.periods,
            total
        );
    }

    /// @dev The EIP-712 digest of an acceptance: every member is static, so `abi.encode(typehash, a)`
    /// is the type hash followed by the members, as EIP-712's `encodeData` wants.
    function _acceptanceDigest(ShardAcceptance memory a) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(SHARD_ACCEPTANCE_TYPEHASH, a)));
    }

    /// @dev A deal that exists and has not ended.
    function _activeDeal(uint256 dealId) private view returns (Deal storage deal) {
        deal = _deals[dealId];
        DealState state = deal.state;
        if (state == DealState.None) revert StorageDealsUnknownDeal(dealId);
        if (state == DealState.Ended) revert StorageDealsDealEnded(dealId);
    }

    function _shardOf(uint256 dealId, Deal storage deal, uint256 shardIndex) private view returns (Shard storage) {
        if (shardIndex >= deal.shardCount) revert StorageDealsUnknownShard(dealId, shardIndex);
        return _shards[_shardKey(dealId, shardIndex)];
    }

    function _currentPeriod(Deal storage deal) private view returns (uint256) {
        return (block.number - deal.startBlock) / deal.periodBlocks;
    }

    /// @dev w_p = startBlock + (p + 1) * periodBlocks - windowBlocks (> startBlock: windowBlocks < periodBlocks).
    function _windowStart(uint256 startBlock, uint256 periodBlocks_, uint256 windowBlocks_, uint256 period)
        private
        pure
        returns (uint256)
    {
        // Overflow not possible: 64-bit start plus a 33-bit count times a 32-bit length.
        unchecked {
            return startBlock + (period + 1) * periodBlocks_ - windowBlocks_;
        }
    }

    /// @dev `uint256(keccak256(abi.encode(seed, dealId, shardIndex, period))) % leafCount`, hashed in
    /// memory past the free memory pointer without allocating (leafCount > 0: at least one leaf).
    function _challenge(bytes32 seed, uint256 dealId, uint256 shardIndex, uint256 period, uint256 leafCount)
        private
        pure
        returns (uint256 leafIndex)
    {
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore(buffer, seed)
            mstore(add(buffer, 0x20), dealId)
            mstore(add(buffer, 0x40), shardIndex)
            mstore(add(buffer, 0x60), period)
            leafIndex := mod(keccak256(buffer, 0x80), leafCount)
        }
    }

    function _shardKey(uint256 dealId, uint256 shardIndex) private pure returns (uint256) {
        return (dealId << 16) | shardIndex;
    }
}
