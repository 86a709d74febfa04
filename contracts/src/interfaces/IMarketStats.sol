// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IMarketStats
/// @notice The per-provider lease counters the Market keeps (on the Market, so its hot paths make no
/// cross-contract call). ProviderRegistry.statsOf reads them from here.
interface IMarketStats {
    /// @notice Lease counters of `provider` (all zero for a provider that never won a lease).
    /// @dev Matches the public getter of Market's `providerStats` mapping (one packed slot).
    function providerStats(address provider)
        external
        view
        returns (
            uint32 leasesWon,
            uint32 leasesCompleted,
            uint32 closedByProvider,
            uint32 tenantFaultReports,
            uint32 confirmedFaults
        );
}
