// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import { Votes } from "@openzeppelin/contracts/governance/utils/Votes.sol";
import { ERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import { ERC20Votes } from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";

import { StoaToken } from "../src/StoaToken.sol";
import { StoaFixture } from "./utils/StoaFixture.sol";

contract StoaTokenTest is StoaFixture {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event MinterSet(address indexed minter, bool allowed);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    address internal alice;
    address internal bob;
    address internal minter;

    function setUp() public {
        deployCore();
        alice = _makeAddr("alice");
        bob = _makeAddr("bob");
        minter = _makeAddr("minter");
    }

    /*//////////////////////////////////////////////////////////////
                               METADATA
    //////////////////////////////////////////////////////////////*/

    function test_metadata() public {
        assertEq(token.name(), "Stoa");
        assertEq(token.symbol(), "STOA");
        assertEq(uint256(token.decimals()), 18);
        assertEq(token.totalSupply(), 0);
        assertEq(token.owner(), address(this));
        assertEq(token.CLOCK_MODE(), "mode=timestamp");
        assertEq(uint256(token.clock()), block.timestamp);
    }

    function test_constructor_zeroOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new StoaToken(address(0));
    }

    /*//////////////////////////////////////////////////////////////
                                MINTERS
    //////////////////////////////////////////////////////////////*/

    function test_setMinter_grantsAndRevokes() public {
        assertFalse(token.isMinter(minter));
        vm.expectEmit(true, true, true, true, address(token));
        emit MinterSet(minter, true);
        token.setMinter(minter, true);
        assertTrue(token.isMinter(minter));

        vm.expectEmit(true, true, true, true, address(token));
        emit MinterSet(minter, false);
        token.setMinter(minter, false);
        assertFalse(token.isMinter(minter));
    }

    function test_setMinter_notOwner_reverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        token.setMinter(alice, true);
    }

    function test_setMinter_zeroAddress_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(StoaToken.TokenInvalidMinter.selector, address(0)));
        token.setMinter(address(0), true);
    }

    function test_mint_byMinter() public {
        token.setMinter(minter, true);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(address(0), alice, 123e18);
        vm.prank(minter);
        token.mint(alice, 123e18);
        assertEq(token.balanceOf(alice), 123e18);
        assertEq(token.totalSupply(), 123e18);
    }

    function test_mint_notMinter_reverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(StoaToken.TokenUnauthorizedMinter.selector, alice));
        token.mint(alice, 1);
    }

    function test_mint_ownerIsNotImplicitlyMinter() public {
        token.setMinter(address(this), false);
        vm.expectRevert(abi.encodeWithSelector(StoaToken.TokenUnauthorizedMinter.selector, address(this)));
        token.mint(alice, 1);
    }

    function test_mint_revokedMinter_reverts() public {
        token.setMinter(minter, true);
        token.setMinter(minter, false);
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(StoaToken.TokenUnauthorizedMinter.selector, minter));
        token.mint(alice, 1);
    }

    function test_mint_creditsIsMinter() public {
        assertTrue(token.isMinter(address(credits)));
    }

    /*//////////////////////////////////////////////////////////////
                                BURNING
    //////////////////////////////////////////////////////////////*/

    function test_burn() public {
        _mintStoa(alice, 10e18);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(alice, address(0), 4e18);
        vm.prank(alice);
        token.burn(4e18);
        assertEq(token.balanceOf(alice), 6e18);
        assertEq(token.totalSupply(), 6e18);
    }

    function test_burn_moreThanBalance_reverts() public {
        _mintStoa(alice, 1e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 1e18, 2e18));
        token.burn(2e18);
    }

    function test_burnFrom_spendsAllowance() public {
        _mintStoa(alice, 10e18);
        vm.prank(alice);
        token.approve(bob, 5e18);
        vm.prank(bob);
        token.burnFrom(alice, 3e18);
        assertEq(token.balanceOf(alice), 7e18);
        assertEq(token.allowance(alice, bob), 2e18);
        assertEq(token.totalSupply(), 7e18);
    }

    function test_burnFrom_withoutAllowance_reverts() public {
        _mintStoa(alice, 10e18);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bob, 0, 1e18));
        token.burnFrom(alice, 1e18);
    }

    function testFuzz_mintBurn_supplyTracksBalances(uint256 minted, uint256 burned) public {
        minted = _bound(minted, 0, type(uint208).max);
        burned = _bound(burned, 0, minted);
        _mintStoa(alice, minted);
        vm.prank(alice);
        token.burn(burned);
        assertEq(token.balanceOf(alice), minted - burned);
        assertEq(token.totalSupply(), minted - burned);
    }

    function test_mint_aboveVotesSupplyCap_reverts() public {
        uint256 cap = type(uint208).max;
        _mintStoa(alice, cap);
        vm.expectRevert(abi.encodeWithSelector(ERC20Votes.ERC20ExceededSafeSupply.selector, cap + 1, cap));
        token.mint(alice, 1);
    }

    /*//////////////////////////////////////////////////////////////
                            VOTES (TIMESTAMP)
    //////////////////////////////////////////////////////////////*/

    function test_votes_checkpointedByTimestamp() public {
        _mintStoa(alice, 100e18);
        vm.prank(alice);
        token.delegate(alice);
        uint256 t0 = block.timestamp;
        assertEq(token.getVotes(alice), 100e18);

        vm.warp(t0 + 100);
        vm.prank(alice);
        assertTrue(token.transfer(bob, 40e18));
        assertEq(token.getVotes(alice), 60e18);

        vm.warp(t0 + 200);
        assertEq(uint256(token.clock()), t0 + 200);
        assertEq(token.getPastVotes(alice, t0), 100e18);
        assertEq(token.getPastVotes(alice, t0 + 99), 100e18);
        assertEq(token.getPastVotes(alice, t0 + 100), 60e18);
        assertEq(token.getPastTotalSupply(t0 + 150), 100e18);
        // Bob never delegated: his tokens carry no votes.
        assertEq(token.getVotes(bob), 0);
    }

    function test_votes_futureLookup_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, block.timestamp, uint48(block.timestamp))
        );
        token.getPastVotes(alice, block.timestamp);
    }

    /*//////////////////////////////////////////////////////////////
                                 PERMIT
    //////////////////////////////////////////////////////////////*/

    uint256 internal constant PERMIT_KEY = 0xA11CE;

    function test_permit_setsAllowance() public {
        address owner_ = vm.addr(PERMIT_KEY);
        _permit(PERMIT_KEY, bob, 7e18, 0, block.timestamp + 1 hours);
        assertEq(token.allowance(owner_, bob), 7e18);
        assertEq(token.nonces(owner_), 1);
    }

    function test_permit_replay_reverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        _permit(PERMIT_KEY, bob, 7e18, 0, deadline);
        // The token now expects nonce 1, so the signature over nonce 0 recovers another signer.
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(PERMIT_KEY, _permitDigest(vm.addr(PERMIT_KEY), bob, 7e18, 0, deadline));
        address recovered = ecrecover(_permitDigest(vm.addr(PERMIT_KEY), bob, 7e18, 1, deadline), v, r, s);
        vm.expectRevert(
            abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, vm.addr(PERMIT_KEY))
        );
        token.permit(vm.addr(PERMIT_KEY), bob, 7e18, deadline, v, r, s);
    }

    function test_permit_expired_reverts() public {
        uint256 deadline = block.timestamp - 1;
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        this.permitExternal(PERMIT_KEY, bob, 1, 0, deadline);
    }

    /// @dev External so `expectRevert` applies to the token call inside, not to signing.
    function permitExternal(uint256 key, address spender, uint256 value, uint256 nonce, uint256 deadline) external {
        _permit(key, spender, value, nonce, deadline);
    }

    /*//////////////////////////////////////////////////////////////
                               OWNERSHIP
    //////////////////////////////////////////////////////////////*/

    function test_ownership_twoStep() public {
        token.transferOwnership(alice);
        assertEq(token.owner(), address(this));
        assertEq(token.pendingOwner(), alice);

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, bob));
        token.acceptOwnership();

        vm.expectEmit(true, true, true, true, address(token));
        emit OwnershipTransferred(address(this), alice);
        vm.prank(alice);
        token.acceptOwnership();
        assertEq(token.owner(), alice);

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        token.setMinter(bob, true);
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _permit(uint256 key, address spender, uint256 value, uint256 nonce, uint256 deadline) internal {
        address owner_ = vm.addr(key);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _permitDigest(owner_, spender, value, nonce, deadline));
        token.permit(owner_, spender, value, deadline, v, r, s);
    }

    function _permitDigest(address owner_, address spender, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner_, spender, value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }
}
