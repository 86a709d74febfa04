// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IProviderRegistry (the part protocol contracts call)
/// @notice Providers register an endpoint and capabilities, stake STOA, and are slashed by
/// protocol contracts when a fault is confirmed.
interface IProviderRegistry {
    /// @notice Checks that `provider` may take new work (registered, stake at least the minimum,
    /// not jailed) and returns its compact id and region code.
    /// @dev Reverts `RegistryProviderNotActive(provider)` otherwise. Ids start at 1 and never change.
    function activeProvider(address provider) external view returns (uint32 id, uint16 region);

    /// @notice The address behind a provider id (address(0) for an unknown id).
    function providerAddress(uint32 id) external view returns (address);

    /// @notice Slashes up to `amount` STOA of `provider`'s stake (bonded first, then unbonding):
    /// `reporterShareBps` of it goes to `reporter`, the rest is burned. Counts a fault and jails the
    /// provider after `jailAfterFaults` faults.
    /// @dev Only protocol contracts. Returns the amount actually slashed.
    function slash(address provider, uint256 amount, address reporter, bytes32 reason) external returns (uint256 slashed);

    /// @notice The provider's bonded stake.
    function stakeOf(address provider) external view returns (uint256);
}
