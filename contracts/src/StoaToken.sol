// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { Ownable2Step } from "@openzeppelin/contracts/access/Ownable2Step.sol";
import { ERC20 } from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import { ERC20Burnable } from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import { ERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import { ERC20Votes } from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import { IERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import { Nonces } from "@openzeppelin/contracts/utils/Nonces.sol";

import { IStoaToken } from "./interfaces/IStoaToken.sol";

/// @title StoaToken
/// @notice STOA, the protocol token (18 decimals): ERC-20 with EIP-2612 permit, burnable by its
/// holders, and with ERC-5805 votes for the Governor. Votes are checkpointed by timestamp, so
/// time-based voting periods mean the same on every chain.
/// @dev Nothing is minted at deployment. Minting is reserved to minters the owner names: Credits
/// mints STOA when providers redeem earned credits, a later Rewards contract mints emissions.
contract StoaToken is ERC20, ERC20Permit, ERC20Votes, ERC20Burnable, Ownable2Step, IStoaToken {
    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @dev `caller` is not a minter.
    error TokenUnauthorizedMinter(address caller);

    /// @dev The zero address cannot be a minter.
    error TokenInvalidMinter(address minter);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev `minter` was granted (`allowed`) or lost the right to mint.
    event MinterSet(address indexed minter, bool allowed);

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStoaToken
    mapping(address account => bool) public override isMinter;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner Receives ownership (minter management); later a Timelock.
    constructor(address initialOwner) ERC20("Stoa", "STOA") ERC20Permit("Stoa") Ownable(initialOwner) { }

    /*//////////////////////////////////////////////////////////////
                           EXTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Grants or revokes the right to mint.
    /// @dev Only the owner. Emits `MinterSet`.
    function setMinter(address minter, bool allowed) external onlyOwner {
        if (minter == address(0)) revert TokenInvalidMinter(minter);
        isMinter[minter] = allowed;
        emit MinterSet(minter, allowed);
    }

    /// @inheritdoc IStoaToken
    function mint(address to, uint256 amount) external override {
        if (!isMinter[msg.sender]) revert TokenUnauthorizedMinter(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc IStoaToken
    function burn(uint256 amount) public override(ERC20Burnable, IStoaToken) {
        super.burn(amount);
    }

    /// @inheritdoc IStoaToken
    function burnFrom(address account, uint256 amount) public override(ERC20Burnable, IStoaToken) {
        super.burnFrom(account, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The votes clock: the block timestamp (ERC-6372).
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice Describes the votes clock (ERC-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice The current EIP-2612 / delegation nonce of `owner`.
    function nonces(address owner) public view override(ERC20Permit, IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev Every balance change goes through here: ERC-20 accounting plus vote checkpoints.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
