// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Vm } from "@prb/test/Vm.sol";

/// @notice Shared bits of invariant handlers: cheatcodes and input bounding. Handlers are plain
/// contracts (not tests) that forge calls with random inputs; they turn those inputs into valid
/// protocol calls and record ghost totals to compare with the contracts' own accounting.
abstract contract HandlerBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev `x` mapped into [min, max] (inclusive).
    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "_bound: min > max");
        if (x >= min && x <= max) return x;
        return min + x % (max - min + 1); // no overflow: [min, max] is not the whole uint256 range here
    }
}
