// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IProviderRegistry } from "../../src/interfaces/IProviderRegistry.sol";
import { StoaFixture } from "../utils/StoaFixture.sol";
import { RegistryHandler } from "./RegistryHandler.sol";

/// @notice Registry stake accounting holds after any sequence of register, stake, beginUnbond,
/// withdraw, slash, unjail and time jumps (256 runs x 64 calls, see foundry.toml).
contract RegistryInvariantTest is StoaFixture {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    RegistryHandler internal handler;
    address internal protocol;
    address[] internal _targets;
    FuzzSelector[] internal _selectors;

    function setUp() public {
        deployCore();
        protocol = _makeAddr("protocol");
        registry.setProtocol(protocol, true);

        address[] memory providers = new address[](4);
        providers[0] = _makeAddr("provider.a");
        providers[1] = _makeAddr("provider.b");
        providers[2] = _makeAddr("provider.c");
        providers[3] = _makeAddr("provider.d");
        handler = new RegistryHandler(registry, token, protocol, providers);
        token.setMinter(address(handler), true);

        _targets.push(address(handler));
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = RegistryHandler.register.selector;
        selectors[1] = RegistryHandler.stake.selector;
        selectors[2] = RegistryHandler.beginUnbond.selector;
        selectors[3] = RegistryHandler.withdraw.selector;
        selectors[4] = RegistryHandler.slash.selector;
        selectors[5] = RegistryHandler.unjail.selector;
        selectors[6] = RegistryHandler.warp.selector;
        _selectors.push(FuzzSelector({ addr: address(handler), selectors: selectors }));
    }

    /// @dev Read by forge: only the handler is called.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    /// @dev Read by forge: the handler's actions (not its views).
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    function invariant_totalsEqualSums() public {
        address[] memory providers = handler.providers();
        uint256 sumStake;
        uint256 sumUnbonding;
        for (uint256 i; i < providers.length; ++i) {
            IProviderRegistry.Provider memory p = registry.getProvider(providers[i]);
            sumStake += p.stake;
            sumUnbonding += p.unbonding;
            assertEq(registry.stakeOf(providers[i]), p.stake);
        }
        assertEq(uint256(registry.totalStaked()), sumStake);
        assertEq(uint256(registry.totalUnbonding()), sumUnbonding);
    }

    function invariant_tokenBalanceCoversStake() public {
        uint256 held = token.balanceOf(address(registry));
        assertEq(held, uint256(registry.totalStaked()) + uint256(registry.totalUnbonding()));
        assertEq(held, handler.ghostStakedIn() - handler.ghostWithdrawn() - handler.ghostSlashed());
    }

    function invariant_slashSplitAndBurn() public {
        assertEq(handler.ghostSlashed(), handler.ghostToReporters() + handler.ghostBurned());
        address[] memory reporters = handler.reporters();
        uint256 paid;
        for (uint256 i = 1; i < reporters.length; ++i) {
            paid += token.balanceOf(reporters[i]);
        }
        assertEq(paid, handler.ghostToReporters());
        assertEq(token.totalSupply(), handler.ghostMinted() - handler.ghostBurned());
    }

    function invariant_recordsConsistent() public {
        address[] memory providers = handler.providers();
        assertEq(registry.providerCount(), handler.ghostRegistered());
        for (uint256 i; i < providers.length; ++i) {
            IProviderRegistry.Provider memory p = registry.getProvider(providers[i]);
            if (p.id == 0) {
                assertEq(uint256(p.stake) + p.unbonding, 0);
                continue;
            }
            assertEq(registry.providerAddress(p.id), providers[i]);
            assertEq(uint256(p.faults), handler.ghostFaults(providers[i]));
            assertLt(uint256(p.recentFaults), uint256(registry.jailAfterFaults()));
            if (p.unbonding == 0) assertEq(uint256(p.unbondingReleaseAt), 0);
            assertEq(registry.isActive(providers[i]), p.stake >= registry.minStake() && p.jailedUntil == 0);
        }
    }
}
