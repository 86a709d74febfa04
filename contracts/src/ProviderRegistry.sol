// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { Ownable2Step } from "@openzeppelin/contracts/access/Ownable2Step.sol";
import { SafeERC20 } from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { IMarketStats } from "./interfaces/IMarketStats.sol";
import { IProviderRegistry } from "./interfaces/IProviderRegistry.sol";
import { IStoaToken } from "./interfaces/IStoaToken.sol";

/// @title ProviderRegistry
/// @notice Compute and storage providers register an endpoint, a location and their capabilities,
/// and bond STOA as stake. Protocol contracts (Market, StorageDeals) check that a provider is active
/// before giving it work and slash its stake when a fault is confirmed: part of the slash pays the
/// reporter, the rest is burned. Unbonding takes `unbondingPeriod`, during which the stake can
/// still be slashed.
/// @dev A provider is keyed by its operator address (the key that bids and signs) and gets a compact
/// id (from 1, never reused) that Market stores instead of the address. "Jailed" means
/// `jailedUntil != 0`: after `jailedUntil` the provider must call `unjail()` to take work again.
contract ProviderRegistry is IProviderRegistry, Ownable2Step {
    using SafeCast for uint256;
    using SafeERC20 for IStoaToken;

    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    error RegistryProviderNotActive(address provider);
    error RegistryUnknownProvider(address provider);
    error RegistryAlreadyRegistered(address provider, uint32 id);
    error RegistryEmptyGatewayUrl();
    error RegistryGatewayUrlTooLong(uint256 length, uint256 maxLength);
    error RegistryTooManyAttributes(uint256 count, uint256 maxCount);
    error RegistryInvalidLocation(int32 latE5, int32 lonE5);
    error RegistryZeroAmount();
    error RegistryStakeBelowMinimum(uint256 stake, uint256 minStake);
    error RegistryInsufficientStake(address provider, uint256 stake, uint256 amount);
    error RegistryNothingToWithdraw(address provider);
    error RegistryStillUnbonding(address provider, uint256 releaseAt);
    error RegistryProviderJailed(address provider, uint256 jailedUntil);
    error RegistryNotJailed(address provider);
    error RegistryUnauthorizedProtocol(address caller);
    error RegistryInvalidProtocol(address protocol);
    error RegistryInvalidParameter(bytes32 name, uint256 value);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    event ProviderRegistered(address indexed provider, uint32 indexed id, uint16 region, string gatewayUrl);
    event ProviderUpdated(address indexed provider, uint32 indexed id, uint16 region, string gatewayUrl);
    /// @dev `amount` was bonded; `stake` is the bonded stake after it.
    event Staked(address indexed provider, uint256 amount, uint256 stake);
    /// @dev `amount` moved from bonded stake to unbonding; `unbonding` is the total now unbonding.
    event UnbondingStarted(address indexed provider, uint256 amount, uint256 unbonding, uint256 releaseAt);
    event Withdrawn(address indexed provider, uint256 amount);
    event ProviderSlashed(
        address indexed provider, uint256 slashed, uint256 toReporter, uint256 burned, bytes32 reason
    );
    event ProviderJailed(address indexed provider, uint256 until);
    event ProviderUnjailed(address indexed provider);
    event ProtocolSet(address indexed protocol, bool allowed);
    event MarketSet(address indexed market);
    /// @dev A parameter changed (`name` is the parameter's name, e.g. "minStake").
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Most attributes a provider may declare.
    uint256 public constant MAX_ATTRIBUTES = 16;
    /// @notice Longest gateway URL, in bytes.
    uint256 public constant MAX_GATEWAY_URL_LENGTH = 256;
    /// @notice Latitude and longitude bounds, degrees x 1e5.
    int32 public constant MAX_LAT_E5 = 90e5;
    int32 public constant MAX_LON_E5 = 180e5;
    /// @notice Upper bounds of `unbondingPeriod` and `jailDuration`.
    uint256 public constant MAX_UNBONDING_PERIOD = 365 days;
    uint256 public constant MAX_JAIL_DURATION = 365 days;
    uint256 internal constant BPS = 10_000;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Slot 0 is the hot slot: `activeProvider`, `stake`, `slash` read it first.
    /// Widths: uint32 ids allow 4.29e9 providers; uint96 stake holds 7.9e10 STOA (18 decimals), more
    /// than any one provider bonds (SafeCast reverts beyond); uint40 timestamps last until year 36812;
    /// uint8 recentFaults never exceeds `jailAfterFaults` (a uint8) because it resets on jailing;
    /// uint32 faults counts one per confirmed fault transaction.
    struct Record {
        // slot 0: 32 + 16 + 96 + 40 + 40 + 8 = 232 bits
        uint32 id;
        uint16 region;
        uint96 stake;
        uint40 jailedUntil;
        uint40 registeredAt;
        uint8 recentFaults;
        // slot 1: 96 + 40 + 32 + 32 + 32 = 232 bits
        uint96 unbonding;
        uint40 unbondingReleaseAt;
        uint32 faults;
        int32 latE5;
        int32 lonE5;
        // slot 2: 112 bits
        Capacity capacity;
        // own slots
        string gatewayUrl;
        Attribute[] attributes;
    }

    mapping(address provider => Record) private _records;
    mapping(uint32 id => address) private _providerById;

    /// @notice Bonded stake of all providers, and stake waiting out its unbonding period.
    /// @dev One slot: stake/unbond/withdraw/slash touch both. uint128 holds 3.4e20 STOA.
    uint128 public totalStaked;
    uint128 public totalUnbonding;

    /// @notice The minimum bonded stake (STOA wei) of an active provider.
    /// @dev Parameters share one slot with the provider count: 96 + 32 + 16 + 8 + 32 + 32 = 216 bits.
    uint96 public minStake;
    /// @notice Seconds between `beginUnbond` and `withdraw`.
    uint32 public unbondingPeriod;
    /// @notice Share of a slash paid to the reporter, in basis points (<= 10_000).
    uint16 public reporterShareBps;
    /// @notice Faults (since the last jailing) that jail a provider (>= 1).
    uint8 public jailAfterFaults;
    /// @notice Seconds a jailed provider must wait before `unjail`.
    uint32 public jailDuration;
    uint32 private _providerCount;

    /// @notice The Market whose lease counters `statsOf` reports (zero: none yet).
    address public market;

    /// @notice Whether `account` is a protocol contract (may slash).
    mapping(address account => bool) public isProtocol;

    /// @notice The token staked here.
    IStoaToken public immutable token;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner Manages parameters and protocol contracts (later a Timelock).
    /// @param token_ The STOA token.
    /// @dev Defaults: minStake 100 STOA, unbondingPeriod 7 days, reporterShareBps 5_000,
    /// jailAfterFaults 3, jailDuration 1 day.
    constructor(address initialOwner, IStoaToken token_) Ownable(initialOwner) {
        token = token_;
        _setMinStake(100e18);
        _setUnbondingPeriod(7 days);
        _setReporterShareBps(5_000);
        _setJailAfterFaults(3);
        _setJailDuration(1 days);
    }

    /*//////////////////////////////////////////////////////////////
                                MODIFIERS
    //////////////////////////////////////////////////////////////*/

    modifier onlyProtocol() {
        if (!isProtocol[msg.sender]) revert RegistryUnauthorizedProtocol(msg.sender);
        _;
    }

    /*//////////////////////////////////////////////////////////////
                        EXTERNAL FUNCTIONS: PROVIDERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers the caller as a provider and bonds `stakeAmount` STOA.
    /// @dev The caller must have approved `stakeAmount` to this contract and bond at least
    /// `minStake`. Assigns the next id. Emits `ProviderRegistered` then `Staked`.
    /// @return id The provider's id.
    function register(ProviderInfo calldata info, uint256 stakeAmount) external returns (uint32 id) {
        Record storage record = _records[msg.sender];
        if (record.id != 0) revert RegistryAlreadyRegistered(msg.sender, record.id);
        if (stakeAmount < minStake) revert RegistryStakeBelowMinimum(stakeAmount, minStake);
        _validate(info);

        id = ++_providerCount; // Checked: reverts after 2^32 - 1 providers.
        record.id = id;
        record.registeredAt = uint40(block.timestamp);
        _providerById[id] = msg.sender;
        _writeInfo(record, info);
        emit ProviderRegistered(msg.sender, id, info.region, info.gatewayUrl);

        _bond(record, stakeAmount);
    }

    /// @notice Replaces the caller's declared region, location, capacity, gateway URL and attributes.
    /// @dev The caller must be registered. Emits `ProviderUpdated`.
    function update(ProviderInfo calldata info) external {
        Record storage record = _registered(msg.sender);
        _validate(info);
        _writeInfo(record, info);
        emit ProviderUpdated(msg.sender, record.id, info.region, info.gatewayUrl);
    }

    /// @notice Bonds `amount` more STOA (pulled with transferFrom; approve first).
    /// @dev The caller must be registered; `amount > 0`. Emits `Staked`.
    function stake(uint256 amount) external {
        Record storage record = _registered(msg.sender);
        if (amount == 0) revert RegistryZeroAmount();
        _bond(record, amount);
    }

    /// @notice Moves `amount` of the caller's bonded stake to unbonding, withdrawable after
    /// `unbondingPeriod`. A second call adds to the unbonding amount and restarts the clock.
    /// @dev Unbonding stake no longer counts toward `minStake` but can still be slashed.
    /// Emits `UnbondingStarted`.
    function beginUnbond(uint256 amount) external {
        Record storage record = _registered(msg.sender);
        if (amount == 0) revert RegistryZeroAmount();
        uint96 bonded = record.stake;
        if (amount > bonded) revert RegistryInsufficientStake(msg.sender, bonded, amount);
        // casting to 'uint96' is safe because amount <= bonded, a uint96
        // forge-lint: disable-next-line(unsafe-typecast)
        uint96 moved = uint96(amount);
        uint96 unbonding = record.unbonding + moved; // Checked: a provider's total stake fits uint96.
        uint40 releaseAt = uint40(block.timestamp + unbondingPeriod);
        // Underflow not possible: moved <= bonded, and totalStaked == Σ stake >= bonded.
        unchecked {
            record.stake = bonded - moved;
            totalStaked -= moved;
        }
        totalUnbonding += moved;
        record.unbonding = unbonding;
        record.unbondingReleaseAt = releaseAt;
        emit UnbondingStarted(msg.sender, amount, unbonding, releaseAt);
    }

    /// @notice Sends the caller's unbonded stake back once its unbonding period is over.
    /// @dev Reverts `RegistryNothingToWithdraw` with nothing unbonding, `RegistryStillUnbonding`
    /// before release. Emits `Withdrawn`.
    /// @return amount The STOA sent.
    function withdraw() external returns (uint256 amount) {
        Record storage record = _registered(msg.sender);
        amount = record.unbonding;
        if (amount == 0) revert RegistryNothingToWithdraw(msg.sender);
        uint256 releaseAt = record.unbondingReleaseAt;
        // Timestamps: a validator's few seconds of leeway do not matter against days of unbonding.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < releaseAt) revert RegistryStillUnbonding(msg.sender, releaseAt);
        record.unbonding = 0;
        record.unbondingReleaseAt = 0;
        // Underflow not possible: totalUnbonding == Σ unbonding >= this provider's unbonding.
        // casting to 'uint128' is safe because amount was read from a uint96
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            totalUnbonding -= uint128(amount);
        }
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Lets a jailed provider take work again once `jailedUntil` has passed.
    /// @dev Reverts `RegistryNotJailed` if not jailed, `RegistryProviderJailed` before `jailedUntil`.
    /// Emits `ProviderUnjailed`.
    function unjail() external {
        Record storage record = _registered(msg.sender);
        uint256 until = record.jailedUntil;
        if (until == 0) revert RegistryNotJailed(msg.sender);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < until) revert RegistryProviderJailed(msg.sender, until);
        record.jailedUntil = 0;
        emit ProviderUnjailed(msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                        EXTERNAL FUNCTIONS: PROTOCOL
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProviderRegistry
    /// @dev A zero `reporter` gets nothing (everything is burned). A zero `amount` still counts the
    /// fault. Emits `ProviderSlashed`, and `ProviderJailed` when the fault jails the provider.
    function slash(address provider, uint256 amount, address reporter, bytes32 reason)
        external
        override
        onlyProtocol
        returns (uint256 slashed)
    {
        Record storage record = _records[provider];
        if (record.id == 0) revert RegistryUnknownProvider(provider);

        slashed = _takeStake(record, amount);
        uint256 toReporter = reporter == address(0) ? 0 : slashed * reporterShareBps / BPS;
        uint256 burned = slashed - toReporter;
        uint40 jailedUntil = _countFault(record);

        emit ProviderSlashed(provider, slashed, toReporter, burned, reason);
        if (jailedUntil != 0) emit ProviderJailed(provider, jailedUntil);

        if (toReporter != 0) token.safeTransfer(reporter, toReporter);
        if (burned != 0) token.burn(burned);
    }

    /*//////////////////////////////////////////////////////////////
                          EXTERNAL FUNCTIONS: OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows or disallows a protocol contract to slash.
    /// @dev Only the owner. Emits `ProtocolSet`.
    function setProtocol(address protocol, bool allowed) external onlyOwner {
        if (protocol == address(0)) revert RegistryInvalidProtocol(protocol);
        isProtocol[protocol] = allowed;
        emit ProtocolSet(protocol, allowed);
    }

    /// @notice Sets the Market whose lease counters `statsOf` reports (zero to stop reading).
    /// @dev Only the owner. Emits `MarketSet`.
    function setMarket(address market_) external onlyOwner {
        market = market_;
        emit MarketSet(market_);
    }

    /// @notice Sets the minimum bonded stake of an active provider (> 0, STOA wei).
    /// @dev Only the owner. Emits `ParameterUpdated("minStake", ...)`.
    function setMinStake(uint256 value) external onlyOwner {
        _setMinStake(value);
    }

    /// @notice Sets the unbonding period in seconds (<= 365 days).
    /// @dev Only the owner. Applies to unbondings started afterwards. Emits `ParameterUpdated`.
    function setUnbondingPeriod(uint256 value) external onlyOwner {
        _setUnbondingPeriod(value);
    }

    /// @notice Sets the reporter's share of a slash in basis points (<= 10_000).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setReporterShareBps(uint256 value) external onlyOwner {
        _setReporterShareBps(value);
    }

    /// @notice Sets how many faults jail a provider (1..255).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setJailAfterFaults(uint256 value) external onlyOwner {
        _setJailAfterFaults(value);
    }

    /// @notice Sets how long a jailing lasts in seconds (<= 365 days).
    /// @dev Only the owner. Emits `ParameterUpdated`.
    function setJailDuration(uint256 value) external onlyOwner {
        _setJailDuration(value);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProviderRegistry
    function activeProvider(address provider) external view override returns (uint32 id, uint16 region) {
        Record storage record = _records[provider];
        id = record.id;
        region = record.region;
        if (id == 0 || record.stake < minStake || record.jailedUntil != 0) {
            revert RegistryProviderNotActive(provider);
        }
    }

    /// @inheritdoc IProviderRegistry
    function isActive(address provider) external view override returns (bool) {
        Record storage record = _records[provider];
        return record.id != 0 && record.stake >= minStake && record.jailedUntil == 0;
    }

    /// @inheritdoc IProviderRegistry
    function providerAddress(uint32 id) external view override returns (address) {
        return _providerById[id];
    }

    /// @notice How many providers ever registered (ids run from 1 to this).
    function providerCount() external view returns (uint256) {
        return _providerCount;
    }

    /// @inheritdoc IProviderRegistry
    function stakeOf(address provider) external view override returns (uint256) {
        return _records[provider].stake;
    }

    /// @notice The full record of `provider` (all zero, `id == 0`, for an unknown address).
    function getProvider(address provider) external view returns (Provider memory p) {
        Record storage record = _records[provider];
        p.id = record.id;
        p.region = record.region;
        p.latE5 = record.latE5;
        p.lonE5 = record.lonE5;
        p.capacity = record.capacity;
        p.gatewayUrl = record.gatewayUrl;
        p.attributes = record.attributes;
        p.stake = record.stake;
        p.unbonding = record.unbonding;
        p.unbondingReleaseAt = record.unbondingReleaseAt;
        p.jailedUntil = record.jailedUntil;
        p.faults = record.faults;
        p.recentFaults = record.recentFaults;
        p.registeredAt = record.registeredAt;
    }

    /// @notice Public track record: leases won and completed (from the Market) and confirmed faults.
    /// @dev Lease counters are zero while no market is set. The Market counts a completion when the
    /// provider withdraws from the completed lease (see IMarketStats), so it lags until then.
    function statsOf(address provider)
        external
        view
        returns (uint256 leasesWon, uint256 leasesCompleted, uint256 faults)
    {
        faults = _records[provider].faults;
        address market_ = market;
        if (market_ != address(0)) {
            (uint32 won, uint32 completed,,,) = IMarketStats(market_).providerStats(provider);
            leasesWon = won;
            leasesCompleted = completed;
        }
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    function _registered(address provider) internal view returns (Record storage record) {
        record = _records[provider];
        if (record.id == 0) revert RegistryUnknownProvider(provider);
    }

    /// @dev Pulls `amount` STOA from the caller and adds it to the record's bonded stake.
    function _bond(Record storage record, uint256 amount) internal {
        uint96 bonded = (record.stake + amount).toUint96();
        record.stake = bonded;
        // casting to 'uint128' is safe because amount <= bonded, a uint96; the sum is checked
        // forge-lint: disable-next-line(unsafe-typecast)
        totalStaked += uint128(amount);
        emit Staked(msg.sender, amount, bonded);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _validate(ProviderInfo calldata info) internal pure {
        uint256 urlLength = bytes(info.gatewayUrl).length;
        if (urlLength == 0) revert RegistryEmptyGatewayUrl();
        if (urlLength > MAX_GATEWAY_URL_LENGTH) revert RegistryGatewayUrlTooLong(urlLength, MAX_GATEWAY_URL_LENGTH);
        if (info.attributes.length > MAX_ATTRIBUTES) {
            revert RegistryTooManyAttributes(info.attributes.length, MAX_ATTRIBUTES);
        }
        if (info.latE5 < -MAX_LAT_E5 || info.latE5 > MAX_LAT_E5 || info.lonE5 < -MAX_LON_E5 || info.lonE5 > MAX_LON_E5)
        {
            revert RegistryInvalidLocation(info.latE5, info.lonE5);
        }
    }

    function _writeInfo(Record storage record, ProviderInfo calldata info) internal {
        record.region = info.region;
        record.latE5 = info.latE5;
        record.lonE5 = info.lonE5;
        record.capacity = info.capacity;
        record.gatewayUrl = info.gatewayUrl;
        Attribute[] storage attributes = record.attributes;
        uint256 oldLength = attributes.length;
        uint256 newLength = info.attributes.length;
        // Bounded: both lengths are at most MAX_ATTRIBUTES.
        for (uint256 i; i < newLength; ++i) {
            if (i < oldLength) attributes[i] = info.attributes[i];
            else attributes.push(info.attributes[i]);
        }
        for (uint256 i = newLength; i < oldLength; ++i) {
            attributes.pop();
        }
    }

    /// @dev Removes up to `amount` from the record's bonded stake, then from its unbonding stake.
    function _takeStake(Record storage record, uint256 amount) internal returns (uint256 taken) {
        uint96 bonded = record.stake;
        uint96 unbonding = record.unbonding;
        // casting to 'uint96' is safe because each cast happens only when the value is below a uint96
        // forge-lint: disable-next-line(unsafe-typecast)
        uint96 fromBonded = amount < bonded ? uint96(amount) : bonded;
        uint96 fromUnbonding;
        // Underflow not possible: fromBonded <= bonded, fromUnbonding <= unbonding, and the totals
        // are sums over providers, so they hold at least this provider's part.
        unchecked {
            uint256 rest = amount - fromBonded;
            // forge-lint: disable-next-line(unsafe-typecast)
            fromUnbonding = rest < unbonding ? uint96(rest) : unbonding;
            unbonding -= fromUnbonding;
            record.stake = bonded - fromBonded;
            record.unbonding = unbonding;
            totalStaked -= fromBonded;
            totalUnbonding -= fromUnbonding;
            taken = uint256(fromBonded) + fromUnbonding;
        }
        if (unbonding == 0) record.unbondingReleaseAt = 0; // nothing left to release
    }

    /// @dev Counts a fault; jails when `jailAfterFaults` faults accumulated since the last jailing.
    /// Returns the jail end when this fault jailed the provider, else 0.
    function _countFault(Record storage record) internal returns (uint40 jailedUntil) {
        record.faults += 1; // Checked: 2^32 confirmed faults cannot happen; a revert beats a wrap.
        uint8 recent = record.recentFaults + 1; // <= jailAfterFaults <= 255: reset below on reaching it
        if (recent >= jailAfterFaults) {
            recent = 0;
            jailedUntil = uint40(block.timestamp + jailDuration);
            uint40 current = record.jailedUntil;
            if (current > jailedUntil) jailedUntil = current; // a longer jail already running stays
            record.jailedUntil = jailedUntil;
        }
        record.recentFaults = recent;
    }

    function _setMinStake(uint256 value) internal {
        if (value == 0 || value > type(uint96).max) revert RegistryInvalidParameter("minStake", value);
        uint256 previous = minStake;
        // casting to 'uint96' is safe because value <= type(uint96).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        minStake = uint96(value);
        emit ParameterUpdated("minStake", previous, value);
    }

    function _setUnbondingPeriod(uint256 value) internal {
        if (value > MAX_UNBONDING_PERIOD) revert RegistryInvalidParameter("unbondingPeriod", value);
        uint256 previous = unbondingPeriod;
        // casting to 'uint32' is safe because value <= MAX_UNBONDING_PERIOD was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        unbondingPeriod = uint32(value);
        emit ParameterUpdated("unbondingPeriod", previous, value);
    }

    function _setReporterShareBps(uint256 value) internal {
        if (value > BPS) revert RegistryInvalidParameter("reporterShareBps", value);
        uint256 previous = reporterShareBps;
        // casting to 'uint16' is safe because value <= BPS was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        reporterShareBps = uint16(value);
        emit ParameterUpdated("reporterShareBps", previous, value);
    }

    function _setJailAfterFaults(uint256 value) internal {
        if (value == 0 || value > type(uint8).max) revert RegistryInvalidParameter("jailAfterFaults", value);
        uint256 previous = jailAfterFaults;
        // casting to 'uint8' is safe because value <= type(uint8).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        jailAfterFaults = uint8(value);
        emit ParameterUpdated("jailAfterFaults", previous, value);
    }

    function _setJailDuration(uint256 value) internal {
        if (value > MAX_JAIL_DURATION) revert RegistryInvalidParameter("jailDuration", value);
        uint256 previous = jailDuration;
        // casting to 'uint32' is safe because value <= MAX_JAIL_DURATION was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        jailDuration = uint32(value);
        emit ParameterUpdated("jailDuration", previous, value);
    }
}
