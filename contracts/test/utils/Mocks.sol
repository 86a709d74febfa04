// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IAggregatorV3 } from "../../src/interfaces/IAggregatorV3.sol";
import { IMarketStats } from "../../src/interfaces/IMarketStats.sol";

/// @notice A feed whose answer, timestamp and decimals a test sets freely (including the bad values
/// PriceOracle refuses to publish: zero, negative, future timestamps, other decimals).
contract MockAggregator is IAggregatorV3 {
    uint8 public override decimals;
    int256 public answer;
    uint256 public updatedAt;

    constructor(uint8 decimals_, int256 answer_, uint256 updatedAt_) {
        decimals = decimals_;
        answer = answer_;
        updatedAt = updatedAt_;
    }

    function set(int256 answer_, uint256 updatedAt_) external {
        answer = answer_;
        updatedAt = updatedAt_;
    }

    function description() external pure override returns (string memory) {
        return "MOCK / USD";
    }

    function version() external pure override returns (uint256) {
        return 0;
    }

    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        return (roundId, answer, updatedAt, updatedAt, roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        return (1, answer, updatedAt, updatedAt, 1);
    }
}

    /// @notice Stands in for Market's `providerStats` so the registry's `statsOf` can be tested alone.
    contract MockMarketStats is IMarketStats {
        struct Stats {
            uint32 leasesWon;
            uint32 leasesCompleted;
            uint32 closedByProvider;
            uint32 tenantFaultReports;
            uint32 confirmedFaults;
        }

        mapping(address provider => Stats) public override providerStats;

        function setStats(address provider, Stats calldata stats) external {
            providerStats[provider] = stats;
        }
    }
