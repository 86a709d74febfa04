// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IProviderRegistry (the part protocol contracts call)
/// @notice Providers register an endpoint and capabilities, stake STOA, and are slashed by
/// protocol contracts when a fault is confirmed.
interface IProviderRegistry {
    /*//////////////////////////////////////////////////////////////
                                  TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice What a provider offers in total (advertised, not enforced on chain).
    struct Capacity {
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 storageGiB;
        uint16 gpus;
    }

    /// @notice A free-form capability, e.g. key "gpu.model" value "A100".
    struct Attribute {
        bytes32 key;
        bytes32 value;
    }

    /// @notice What a provider declares at `register` and `update`.
    /// @dev `region` is a region code (Market region masks use codes 0..31); `latE5`/`lonE5` are
    /// degrees x 1e5 within [-90e5, 90e5] / [-180e5, 180e5]; `gatewayUrl` is non-empty; at most
    /// 16 attributes.
    struct ProviderInfo {
        uint16 region;
        int32 latE5;
        int32 lonE5;
        Capacity capacity;
        string gatewayUrl;
        Attribute[] attributes;
    }

    /// @notice A provider's full public record (`id == 0` for an unknown address).
    struct Provider {
        uint32 id;
        uint16 region;
        int32 latE5;
        int32 lonE5;
        Capacity capacity;
        string gatewayUrl;
        Attribute[] attributes;
        uint96 stake;
        uint96 unbonding;
        uint40 unbondingReleaseAt;
        uint40 jailedUntil;
        uint32 faults;
        uint8 recentFaults;
        uint40 registeredAt;
    }

    /*//////////////////////////////////////////////////////////////
                      SURFACE USED BY PROTOCOL CONTRACTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Checks that `provider` may take new work (registered, stake at least the minimum,
    /// not jailed) and returns its compact id and region code.
    /// @dev Reverts `RegistryProviderNotActive(provider)` otherwise. Ids start at 1 and never change.
    function activeProvider(address provider) external view returns (uint32 id, uint16 region);

    /// @notice Whether `provider` may take new work: `activeProvider` would not revert.
    function isActive(address provider) external view returns (bool);

    /// @notice The address behind a provider id (address(0) for an unknown id).
    function providerAddress(uint32 id) external view returns (address);

    /// @notice Slashes up to `amount` STOA of `provider`'s stake (bonded first, then unbonding):
    /// `reporterShareBps` of it goes to `reporter`, the rest is burned. Counts a fault and jails the
    /// provider after `jailAfterFaults` faults.
    /// @dev Only protocol contracts. Returns the amount actually slashed.
    function slash(address provider, uint256 amount, address reporter, bytes32 reason)
        external
        returns (uint256 slashed);

    /// @notice The provider's bonded stake.
    function stakeOf(address provider) external view returns (uint256);
}
