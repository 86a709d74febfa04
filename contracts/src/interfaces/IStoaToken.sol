// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import { IERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title IStoaToken
/// @notice The STOA token as the protocol contracts use it: ERC-20 with permit, burnable by its
/// holders, mintable only by contracts the owner made minters (Credits mints STOA on redeem).
interface IStoaToken is IERC20, IERC20Permit {
    /// @notice Mints `amount` STOA to `to`.
    /// @dev Only minters; reverts `TokenUnauthorizedMinter(caller)` otherwise.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the caller's STOA.
    function burn(uint256 amount) external;

    /// @notice Burns `amount` STOA of `account`, spending the caller's allowance from `account`.
    function burnFrom(address account, uint256 amount) external;

    /// @notice Whether `account` may mint.
    function isMinter(address account) external view returns (bool);
}
