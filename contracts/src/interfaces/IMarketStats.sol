// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IMarketStats
/// @notice The per-provider lease counters the Market keeps (on the Market, so its hot paths make no
/// cross-contract call). ProviderRegistry.statsOf reads them from here.
interface IMarketStats {
    /// @notice Lease counters of `provider` (all zero for a provider that never won a lease).
    /// `leasesWon` counts accepted bids; a lease won is still active or ended in exactly one outcome.
    /// `leasesCompleted` counts the leases that closed as TenantClosed or InsufficientFunds and
    /// that the provider has since named in `withdrawEarnings` (each once): completions are counted
    /// at the provider's withdrawal rather than in the tenant's close, which keeps this cold slot out
    /// of the close (~5k gas), so the counter lags a completion until the provider collects it. The
    /// other three count at the close itself.
    /// @dev One packed slot in Market.
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
