// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { Ownable2Step } from "@openzeppelin/contracts/access/Ownable2Step.sol";

import { IAggregatorV3 } from "./interfaces/IAggregatorV3.sol";

/// @title PriceOracle
/// @notice The STOA/USD price (8 decimals) pushed by named updaters, read through the Chainlink
/// AggregatorV3 surface so that a real Chainlink feed can replace this contract. Every update is a
/// new round; old rounds stay readable.
/// @dev `maxStaleness` is the feed's promise (how often updaters push); consumers still enforce their
/// own maximum age on `updatedAt`, as they must with any Chainlink feed.
contract PriceOracle is IAggregatorV3, Ownable2Step {
    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @dev `caller` is not an updater.
    error OracleUnauthorizedUpdater(address caller);

    /// @dev Prices must be positive and fit the stored width.
    error OracleInvalidPrice(int256 answer);

    /// @dev No round `roundId` was recorded.
    error OracleRoundNotFound(uint80 roundId);

    /// @dev `maxStaleness` must lie in [MIN_STALENESS, MAX_STALENESS].
    error OracleInvalidStaleness(uint256 maxStaleness);

    /// @dev The zero address cannot be an updater.
    error OracleInvalidUpdater(address updater);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev Round `roundId` recorded `answer` at `updatedAt`.
    event PriceUpdated(uint80 indexed roundId, int256 answer, uint256 updatedAt);

    /// @dev `updater` was granted (`allowed`) or lost the right to push prices.
    event UpdaterSet(address indexed updater, bool allowed);

    /// @dev A parameter changed (`name` is the parameter's name, e.g. "maxStaleness").
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Decimals of every answer: 8, as Chainlink USD pairs.
    uint8 public constant override decimals = 8;
    /// @notice Implementation version.
    uint256 public constant override version = 1;
    /// @notice Bounds of `maxStaleness`, in seconds.
    uint32 public constant MIN_STALENESS = 1;
    uint32 public constant MAX_STALENESS = 7 days;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev One slot per round. int192 holds any 8-decimal price up to ~6e49 USD; uint64 seconds
    /// outlast the sun.
    struct Round {
        int192 answer;
        uint64 updatedAt;
    }

    mapping(uint80 roundId => Round) private _rounds;

    /// @notice The id of the latest round (rounds are numbered from 1).
    /// @dev uint80 is Chainlink's round id width; packed with `maxStaleness` in one slot.
    uint80 public latestRound;

    /// @notice The longest the updaters promise to leave the price un-updated, in seconds.
    uint32 public maxStaleness;

    /// @notice Whether `account` may push prices.
    mapping(address account => bool) public isUpdater;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner Manages updaters and parameters (not an updater itself).
    /// @param initialPrice First answer (round 1), 8 decimals, > 0.
    /// @param maxStaleness_ Promised update interval in seconds.
    constructor(address initialOwner, int256 initialPrice, uint32 maxStaleness_) Ownable(initialOwner) {
        _setMaxStaleness(maxStaleness_);
        _record(initialPrice);
    }

    /*//////////////////////////////////////////////////////////////
                           EXTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Records `answer` (8 decimals) as a new round, timestamped now.
    /// @dev Only updaters; `answer` must be > 0. Emits `PriceUpdated`.
    function updatePrice(int256 answer) external {
        if (!isUpdater[msg.sender]) revert OracleUnauthorizedUpdater(msg.sender);
        _record(answer);
    }

    /// @notice Grants or revokes the right to push prices.
    /// @dev Only the owner. Emits `UpdaterSet`.
    function setUpdater(address updater, bool allowed) external onlyOwner {
        if (updater == address(0)) revert OracleInvalidUpdater(updater);
        isUpdater[updater] = allowed;
        emit UpdaterSet(updater, allowed);
    }

    /// @notice Sets the promised update interval, in [MIN_STALENESS, MAX_STALENESS] seconds.
    /// @dev Only the owner. Emits `ParameterUpdated("maxStaleness", ...)`.
    function setMaxStaleness(uint32 maxStaleness_) external onlyOwner {
        _setMaxStaleness(maxStaleness_);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice "STOA / USD".
    function description() external pure override returns (string memory) {
        return "STOA / USD";
    }

    /// @inheritdoc IAggregatorV3
    /// @dev Reverts `OracleRoundNotFound` for a round never recorded.
    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        Round memory round = _rounds[roundId];
        if (round.updatedAt == 0) revert OracleRoundNotFound(roundId);
        return (roundId, round.answer, round.updatedAt, round.updatedAt, roundId);
    }

    /// @inheritdoc IAggregatorV3
    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint80 roundId = latestRound;
        Round memory round = _rounds[roundId];
        return (roundId, round.answer, round.updatedAt, round.updatedAt, roundId);
    }

    /// @notice Whether the latest price is within the promised `maxStaleness`.
    function isFresh() external view returns (bool) {
        // A validator's few seconds of timestamp leeway do not matter at staleness scales.
        // forge-lint: disable-next-line(block-timestamp)
        return block.timestamp - _rounds[latestRound].updatedAt <= maxStaleness;
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    function _record(int256 answer) internal {
        if (answer <= 0 || answer > type(int192).max) revert OracleInvalidPrice(answer);
        uint80 roundId;
        // Overflow not possible: one round per transaction; 2^80 transactions will never happen.
        unchecked {
            roundId = latestRound + 1;
        }
        // casting to 'int192' is safe because `answer` was checked to lie in (0, type(int192).max] above
        // forge-lint: disable-next-line(unsafe-typecast)
        _rounds[roundId] = Round({ answer: int192(answer), updatedAt: uint64(block.timestamp) });
        latestRound = roundId;
        emit PriceUpdated(roundId, answer, block.timestamp);
    }

    function _setMaxStaleness(uint32 maxStaleness_) internal {
        if (maxStaleness_ < MIN_STALENESS || maxStaleness_ > MAX_STALENESS) {
            revert OracleInvalidStaleness(maxStaleness_);
        }
        uint32 previous = maxStaleness;
        maxStaleness = maxStaleness_;
        emit ParameterUpdated("maxStaleness", previous, maxStaleness_);
    }
}
