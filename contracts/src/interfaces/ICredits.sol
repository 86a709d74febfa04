// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ICredits
/// @notice USD credits with 6 decimals (1 unit = 1e-6 USD). Credits cannot be transferred
/// between users: they enter by `buy` (burning STOA at the oracle price) or `issue` (a fiat
/// on-ramp), move only through protocol contracts (escrow, refunds, earnings payouts) and
/// leave by `redeem` (earned credits into newly minted STOA) or by burning.
interface ICredits {
    /*//////////////////////////////////////////////////////////////
                               PROTOCOL MOVES
    //////////////////////////////////////////////////////////////*/

    /// @notice Pulls `amount` credits from `from` into the calling protocol contract's balance.
    /// @dev Only protocol contracts. Used to fund escrow (orders, top-ups, storage deals).
    function escrow(address from, uint256 amount) external;

    /// @notice Returns `amount` credits from the calling protocol contract to `to` (a refund).
    /// @dev Only protocol contracts. Refunded credits are not redeemable for STOA.
    function release(address to, uint256 amount) external;

    /// @notice Pays `amount` earned credits from the calling protocol contract to `to`.
    /// @dev Only protocol contracts. Paid credits become redeemable for STOA by `to`.
    function payout(address to, uint256 amount) external;

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    function balanceOf(address account) external view returns (uint256);
    function redeemableOf(address account) external view returns (uint256);
    function totalSupply() external view returns (uint256);
}
