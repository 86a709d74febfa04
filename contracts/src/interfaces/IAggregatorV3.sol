// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IAggregatorV3
/// @notice The read surface of a Chainlink AggregatorV3 price feed. Stoa's PriceOracle implements
/// it, so a real Chainlink STOA/USD feed can replace it without changing consumers.
interface IAggregatorV3 {
    /// @notice Decimals of `answer` (8 for USD pairs).
    function decimals() external view returns (uint8);

    /// @notice Human-readable pair, e.g. "STOA / USD".
    function description() external view returns (string memory);

    /// @notice Version of the feed implementation.
    function version() external view returns (uint256);

    /// @notice The data of round `roundId`.
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice The data of the latest round.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
