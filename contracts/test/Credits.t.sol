// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { Credits } from "../src/Credits.sol";
import { IAggregatorV3 } from "../src/interfaces/IAggregatorV3.sol";
import { MockAggregator } from "./utils/Mocks.sol";
import { StoaFixture } from "./utils/StoaFixture.sol";

contract CreditsTest is StoaFixture {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event CreditsBought(address indexed account, uint256 stoaAmount, uint256 credits, uint256 price);
    event CreditsIssued(address indexed to, uint256 amount, bytes32 paymentRef);
    event CreditsRedeemed(address indexed account, uint256 amount, uint256 fee, uint256 stoa);
    event EarningsPaid(address indexed protocol, address indexed to, uint256 amount);
    event IssuerSet(address indexed issuer, bool allowed);
    event ProtocolSet(address indexed protocol, bool allowed);
    event OracleSet(address indexed oracle);
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    uint256 internal constant SCALE = 1e20; // 10**(18 + 8 - 6)
    uint256 internal constant PERMIT_KEY = 0xB0B;

    address internal alice;
    address internal provider;
    address internal protocol;
    address internal stranger;

    function setUp() public {
        deployCore();
        alice = _makeAddr("alice");
        provider = _makeAddr("provider");
        protocol = _makeAddr("protocol");
        stranger = _makeAddr("stranger");
        credits.setProtocol(protocol, true);
    }

    /*//////////////////////////////////////////////////////////////
                          METADATA AND DEFAULTS
    //////////////////////////////////////////////////////////////*/

    function test_metadataAndDefaults() public {
        assertEq(credits.name(), "Stoa Credits");
        assertEq(credits.symbol(), "sUSD");
        assertEq(uint256(credits.decimals()), 6);
        assertEq(credits.totalSupply(), 0);
        assertEq(address(credits.token()), address(token));
        assertEq(address(credits.oracle()), address(oracle));
        assertEq(credits.owner(), address(this));

        Credits fresh = new Credits(address(this), token, oracle);
        assertEq(uint256(fresh.maxPriceAge()), 1 hours);
        assertEq(uint256(fresh.redeemFeeBps()), 100);
    }

    function test_constructor_oracleWithOtherDecimals_reverts() public {
        MockAggregator feed18 = new MockAggregator(18, 1e18, block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidOracle.selector, address(feed18), uint8(18)));
        new Credits(address(this), token, feed18);
    }

    function test_constructor_oracleWithoutCode_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidOracle.selector, stranger, uint8(0)));
        new Credits(address(this), token, IAggregatorV3(stranger));
    }

    /*//////////////////////////////////////////////////////////////
                                  BUY
    //////////////////////////////////////////////////////////////*/

    function test_buy_fixedValues() public {
        _mintAndApprove(alice, 10e18);
        vm.prank(alice);
        uint256 got = credits.buy(10e18, 5e6);
        // 10 STOA at 0.50 USD = 5 USD = 5_000_000 credit units.
        assertEq(got, 5e6);
        assertEq(credits.balanceOf(alice), 5e6);
        assertEq(credits.redeemableOf(alice), 0);
        assertEq(credits.totalSupply(), 5e6);
        assertEq(credits.totalBought(), 5e6);
        assertEq(token.balanceOf(alice), 0);
        assertEq(token.totalSupply(), 0);
        assertEq(token.allowance(alice, address(credits)), 0);
    }

    function test_buy_roundsDown() public {
        // 1.23456789012345678 STOA at 0.50 = 0.61728394506... USD -> 617_283 units.
        _mintAndApprove(alice, 1_234_567_890_123_456_780);
        vm.prank(alice);
        assertEq(credits.buy(1_234_567_890_123_456_780, 0), 617_283);
    }

    function test_buy_emitsEvents() public {
        _mintAndApprove(alice, 10e18);
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(address(0), alice, 5e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit CreditsBought(alice, 10e18, 5e6, 50_000_000);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(alice, address(0), 10e18);
        vm.prank(alice);
        credits.buy(10e18, 0);
    }

    function testFuzz_buy_matchesFormula(uint256 stoaAmount, uint256 price) public {
        stoaAmount = _bound(stoaAmount, 0, 1e30);
        price = _bound(price, 1, 1e16); // up to 100M USD per STOA
        _setPrice(SafeCast.toInt256(price));
        _mintAndApprove(alice, stoaAmount);
        uint256 expected = stoaAmount * price / SCALE;
        if (expected == 0) {
            vm.expectRevert(abi.encodeWithSelector(Credits.CreditsZeroOutput.selector, stoaAmount));
        }
        vm.prank(alice);
        uint256 got = credits.buy(stoaAmount, 0);
        if (expected == 0) return;
        assertEq(got, expected);
        assertEq(credits.balanceOf(alice), expected);
        assertEq(credits.totalBought(), expected);
        assertEq(token.totalSupply(), 0);
        // Never more USD value than the STOA burned.
        assertLte(got * SCALE, stoaAmount * price);
    }

    function test_buy_priceAtMaxAge_succeeds() public {
        _mintAndApprove(alice, 2e18);
        vm.warp(START_TIME + MAX_PRICE_AGE);
        vm.prank(alice);
        assertEq(credits.buy(2e18, 0), 1e6);
    }

    function test_buy_stalePrice_reverts() public {
        _mintAndApprove(alice, 2e18);
        vm.warp(START_TIME + MAX_PRICE_AGE + 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsStalePrice.selector, START_TIME, MAX_PRICE_AGE));
        credits.buy(2e18, 0);
    }

    function test_buy_futureTimestamp_countsAsFresh() public {
        MockAggregator feed = new MockAggregator(8, 1e8, block.timestamp + 1 days);
        credits.setOracle(feed);
        _mintAndApprove(alice, 1e18);
        vm.prank(alice);
        assertEq(credits.buy(1e18, 0), 1e6);
    }

    function test_buy_nonPositivePrice_reverts() public {
        _mintAndApprove(alice, 1e18);
        _setPrice(0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidPrice.selector, int256(0)));
        credits.buy(1e18, 0);
        _setPrice(-5);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidPrice.selector, int256(-5)));
        credits.buy(1e18, 0);
    }

    function test_buy_zeroOutput_reverts() public {
        // 1e12 - 1 wei of STOA at 0.50 USD is below one credit unit (2e12 wei = 1 unit).
        _mintAndApprove(alice, 2e12);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsZeroOutput.selector, 2e12 - 1));
        credits.buy(2e12 - 1, 0);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsZeroOutput.selector, 0));
        credits.buy(0, 0);
        assertEq(credits.buy(2e12, 0), 1);
        vm.stopPrank();
    }

    function test_buy_slippage_reverts() public {
        _mintAndApprove(alice, 10e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsSlippage.selector, 5e6, 5e6 + 1));
        credits.buy(10e18, 5e6 + 1);
    }

    function test_buy_withoutAllowance_reverts() public {
        _mintStoa(alice, 10e18);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(credits), 0, 10e18)
        );
        credits.buy(10e18, 0);
    }

    function test_buy_withoutBalance_reverts() public {
        vm.prank(alice);
        token.approve(address(credits), 10e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 10e18));
        credits.buy(10e18, 0);
    }

    /*//////////////////////////////////////////////////////////////
                             BUY WITH PERMIT
    //////////////////////////////////////////////////////////////*/

    function test_buyWithPermit() public {
        address signer = vm.addr(PERMIT_KEY);
        _mintStoa(signer, 4e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PERMIT_KEY, _permitDigest(signer, 4e18, 0, deadline));
        vm.prank(signer);
        uint256 got = credits.buyWithPermit(4e18, 2e6, deadline, v, r, s);
        assertEq(got, 2e6);
        assertEq(credits.balanceOf(signer), 2e6);
        assertEq(token.balanceOf(signer), 0);
        assertEq(token.nonces(signer), 1);
    }

    function test_buyWithPermit_permitAlreadyUsed_stillBuys() public {
        address signer = vm.addr(PERMIT_KEY);
        _mintStoa(signer, 4e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PERMIT_KEY, _permitDigest(signer, 4e18, 0, deadline));
        // Someone front-runs the permit; the buy must not be griefed by the failing permit.
        token.permit(signer, address(credits), 4e18, deadline, v, r, s);
        vm.prank(signer);
        assertEq(credits.buyWithPermit(4e18, 0, deadline, v, r, s), 2e6);
    }

    function test_buyWithPermit_invalidPermitWithoutAllowance_reverts() public {
        address signer = vm.addr(PERMIT_KEY);
        _mintStoa(signer, 4e18);
        uint256 deadline = block.timestamp + 1 hours;
        // Signed by another key: the permit fails, no allowance exists, so the burn fails.
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PERMIT_KEY + 1, _permitDigest(signer, 4e18, 0, deadline));
        vm.prank(signer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(credits), 0, 4e18)
        );
        credits.buyWithPermit(4e18, 0, deadline, v, r, s);
    }

    /*//////////////////////////////////////////////////////////////
                                 ISSUE
    //////////////////////////////////////////////////////////////*/

    function test_issue() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(address(0), alice, 25e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit CreditsIssued(alice, 25e6, "stripe:pi_123");
        vm.prank(issuer);
        credits.issue(alice, 25e6, "stripe:pi_123");
        assertEq(credits.balanceOf(alice), 25e6);
        assertEq(credits.redeemableOf(alice), 0);
        assertEq(credits.totalIssued(), 25e6);
        assertEq(credits.totalSupply(), 25e6);
    }

    function testFuzz_issue(address to, uint256 amount) public {
        vm.assume(to != address(0));
        amount = _bound(amount, 1, type(uint120).max);
        vm.prank(issuer);
        credits.issue(to, amount, bytes32(0));
        assertEq(credits.balanceOf(to), amount);
        assertEq(credits.totalSupply(), amount);
        assertEq(credits.totalIssued(), amount);
    }

    function test_issue_notIssuer_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsUnauthorizedIssuer.selector, stranger));
        credits.issue(alice, 1, bytes32(0));
    }

    function test_issue_zeroAmount_reverts() public {
        vm.prank(issuer);
        vm.expectRevert(Credits.CreditsZeroAmount.selector);
        credits.issue(alice, 0, bytes32(0));
    }

    function test_issue_zeroReceiver_reverts() public {
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidReceiver.selector, address(0)));
        credits.issue(address(0), 1, bytes32(0));
    }

    /// @dev The supply is a uint120 (so `redeemable` fits 120 bits next to the protocol flag).
    function test_issue_aboveSupplyCap_reverts() public {
        _fundCredits(alice, type(uint120).max);
        vm.prank(issuer);
        // The supply would pass uint120: checked arithmetic panics with code 0x11.
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        credits.issue(alice, 1, bytes32(0));
    }

    function test_issue_amountAboveUint120_reverts() public {
        uint256 amount = uint256(type(uint120).max) + 1;
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 120, amount));
        credits.issue(alice, amount, bytes32(0));
    }

    /*//////////////////////////////////////////////////////////////
                             PROTOCOL MOVES
    //////////////////////////////////////////////////////////////*/

    function test_escrow_movesToProtocol() public {
        _fundCredits(alice, 10e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(alice, protocol, 4e6);
        vm.prank(protocol);
        credits.escrow(alice, 4e6);
        assertEq(credits.balanceOf(alice), 6e6);
        assertEq(credits.balanceOf(protocol), 4e6);
        assertEq(credits.totalSupply(), 10e6);
    }

    function test_escrow_notProtocol_reverts() public {
        _fundCredits(alice, 10e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsUnauthorizedProtocol.selector, stranger));
        credits.escrow(alice, 1);
    }

    function test_escrow_revokedProtocol_reverts() public {
        credits.setProtocol(protocol, false);
        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsUnauthorizedProtocol.selector, protocol));
        credits.escrow(alice, 0);
    }

    function test_escrow_insufficientBalance_reverts() public {
        _fundCredits(alice, 10e6);
        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInsufficientBalance.selector, alice, 10e6, 10e6 + 1));
        credits.escrow(alice, 10e6 + 1);
    }

    function test_escrow_fromZeroAddress_reverts() public {
        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidSender.selector, address(0)));
        credits.escrow(address(0), 1);
        assertEq(credits.totalSupply(), 0);
    }

    function test_escrow_zeroAmount_isNoop() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(alice, protocol, 0);
        vm.prank(protocol);
        credits.escrow(alice, 0);
        assertEq(credits.balanceOf(alice), 0);
        assertEq(credits.balanceOf(protocol), 0);
    }

    function test_escrow_spendsNonRedeemableFirst() public {
        _earn(provider, 100e6); // redeemable
        _fundCredits(provider, 50e6); // not redeemable
        assertEq(credits.balanceOf(provider), 150e6);
        assertEq(credits.redeemableOf(provider), 100e6);

        vm.prank(protocol);
        credits.escrow(provider, 40e6);
        assertEq(credits.balanceOf(provider), 110e6);
        assertEq(credits.redeemableOf(provider), 100e6); // issued credits went first

        vm.prank(protocol);
        credits.escrow(provider, 80e6);
        assertEq(credits.balanceOf(provider), 30e6);
        assertEq(credits.redeemableOf(provider), 30e6); // clamped to the balance
    }

    function test_release_refundIsNotRedeemable() public {
        _fundCredits(alice, 10e6);
        vm.prank(protocol);
        credits.escrow(alice, 10e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(protocol, alice, 3e6);
        vm.prank(protocol);
        credits.release(alice, 3e6);
        assertEq(credits.balanceOf(alice), 3e6);
        assertEq(credits.redeemableOf(alice), 0);
        assertEq(credits.balanceOf(protocol), 7e6);
    }

    function test_release_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsUnauthorizedProtocol.selector, stranger));
        credits.release(alice, 1);

        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidReceiver.selector, address(0)));
        credits.release(address(0), 1);

        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInsufficientBalance.selector, protocol, 0, 1));
        credits.release(alice, 1);
    }

    function test_payout_isRedeemable() public {
        _fundCredits(alice, 10e6);
        vm.prank(protocol);
        credits.escrow(alice, 10e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(protocol, provider, 6e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit EarningsPaid(protocol, provider, 6e6);
        vm.prank(protocol);
        credits.payout(provider, 6e6);
        assertEq(credits.balanceOf(provider), 6e6);
        assertEq(credits.redeemableOf(provider), 6e6);
        assertEq(credits.balanceOf(protocol), 4e6);
    }

    function test_payout_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsUnauthorizedProtocol.selector, stranger));
        credits.payout(provider, 1);

        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidReceiver.selector, address(0)));
        credits.payout(address(0), 1);

        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInsufficientBalance.selector, protocol, 0, 5));
        credits.payout(provider, 5);
    }

    function testFuzz_protocolMoves_conserveSupply(uint256 funded, uint256 escrowed, uint256 paid, uint256 refunded)
        public
    {
        funded = _bound(funded, 1, 1e18);
        escrowed = _bound(escrowed, 0, funded);
        paid = _bound(paid, 0, escrowed);
        refunded = _bound(refunded, 0, escrowed - paid);
        _fundCredits(alice, funded);
        vm.startPrank(protocol);
        credits.escrow(alice, escrowed);
        credits.payout(provider, paid);
        credits.release(alice, refunded);
        vm.stopPrank();
        assertEq(credits.balanceOf(alice), funded - escrowed + refunded);
        assertEq(credits.redeemableOf(alice), 0);
        assertEq(credits.balanceOf(provider), paid);
        assertEq(credits.redeemableOf(provider), paid);
        assertEq(credits.balanceOf(protocol), escrowed - paid - refunded);
        assertEq(credits.totalSupply(), funded);
    }

    /*//////////////////////////////////////////////////////////////
                                 REDEEM
    //////////////////////////////////////////////////////////////*/

    function test_redeem_fixedValues() public {
        _earn(provider, 100e6);
        vm.prank(provider);
        uint256 stoa = credits.redeem(100e6, 198e18);
        // fee = 1% of 100 USD = 1 USD, burned; 99 USD at 0.50 USD = 198 STOA.
        assertEq(stoa, 198e18);
        assertEq(token.balanceOf(provider), 198e18);
        assertEq(credits.balanceOf(provider), 0);
        assertEq(credits.redeemableOf(provider), 0);
        assertEq(credits.totalRedeemed(), 100e6);
        assertEq(credits.totalFeesBurned(), 1e6);
        assertEq(credits.totalSupply(), 0);
        assertEq(credits.totalSupply(), credits.totalBought() + credits.totalIssued() - credits.totalRedeemed());
    }

    function test_redeem_emitsEvents() public {
        _earn(provider, 100e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit Transfer(provider, address(0), 100e6);
        vm.expectEmit(true, true, true, true, address(credits));
        emit CreditsRedeemed(provider, 100e6, 1e6, 198e18);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(address(0), provider, 198e18);
        vm.prank(provider);
        credits.redeem(100e6, 0);
    }

    function test_redeem_partial_keepsRestRedeemable() public {
        _earn(provider, 100e6);
        _fundCredits(provider, 7e6);
        vm.prank(provider);
        credits.redeem(30e6, 0);
        assertEq(credits.balanceOf(provider), 77e6);
        assertEq(credits.redeemableOf(provider), 70e6);
    }

    function test_redeem_feeRoundsDown() public {
        _earn(provider, 199);
        vm.prank(provider);
        uint256 stoa = credits.redeem(199, 0);
        // fee = 199 * 100 / 10_000 = 1.99 -> 1 unit; 198 units at 0.50 = 396e12 wei.
        assertEq(credits.totalFeesBurned(), 1);
        assertEq(stoa, 396e12);
    }

    function testFuzz_redeem_matchesFormula(uint256 amount, uint256 feeBps, uint256 price) public {
        amount = _bound(amount, 1, 1e24);
        feeBps = _bound(feeBps, 0, 2_000);
        price = _bound(price, 1, 1e16);
        credits.setRedeemFeeBps(feeBps);
        _setPrice(SafeCast.toInt256(price));
        _earn(provider, amount);

        uint256 fee = amount * feeBps / 10_000;
        uint256 expected = (amount - fee) * SCALE / price;
        if (expected == 0) {
            vm.expectRevert(abi.encodeWithSelector(Credits.CreditsZeroOutput.selector, amount));
        }
        vm.prank(provider);
        uint256 stoa = credits.redeem(amount, 0);
        if (expected == 0) return;
        assertEq(stoa, expected);
        assertEq(token.balanceOf(provider), expected);
        assertEq(credits.totalFeesBurned(), fee);
        assertEq(credits.totalRedeemed(), amount);
        assertEq(credits.totalSupply(), 0);
        // The STOA minted is never worth more than the credits net of the fee.
        assertLte(stoa * price, (amount - fee) * SCALE);
    }

    function testFuzz_buyThenRedeem_neverProfits(uint256 stoaAmount, uint256 price, uint256 feeBps) public {
        price = _bound(price, 1e4, 1e12);
        stoaAmount = _bound(stoaAmount, (SCALE + price - 1) / price, 1e30); // at least one credit unit
        feeBps = _bound(feeBps, 0, 2_000);
        credits.setRedeemFeeBps(feeBps);
        _setPrice(SafeCast.toInt256(price));
        _mintAndApprove(alice, stoaAmount);
        vm.prank(alice);
        uint256 bought = credits.buy(stoaAmount, 1);
        // Route the bought credits through a "lease" back to alice as earnings.
        vm.startPrank(protocol);
        credits.escrow(alice, bought);
        credits.payout(alice, bought);
        vm.stopPrank();
        vm.prank(alice);
        uint256 back = credits.redeem(bought, 0);
        // Rounding and the fee only ever lose STOA on a round trip.
        assertLte(back, stoaAmount);
        assertEq(token.totalSupply(), back);
    }

    function test_redeem_zeroAmount_reverts() public {
        vm.prank(provider);
        vm.expectRevert(Credits.CreditsZeroAmount.selector);
        credits.redeem(0, 0);
    }

    function test_redeem_issuedCreditsAreNotRedeemable() public {
        _fundCredits(alice, 10e6);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInsufficientRedeemable.selector, alice, 0, 1));
        credits.redeem(1, 0);
    }

    function test_redeem_aboveRedeemable_reverts() public {
        _earn(provider, 5e6);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInsufficientRedeemable.selector, provider, 5e6, 5e6 + 1));
        credits.redeem(5e6 + 1, 0);
    }

    function test_redeem_stalePrice_reverts() public {
        _earn(provider, 5e6);
        vm.warp(START_TIME + MAX_PRICE_AGE + 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsStalePrice.selector, START_TIME, MAX_PRICE_AGE));
        credits.redeem(5e6, 0);
    }

    function test_redeem_nonPositivePrice_reverts() public {
        _earn(provider, 5e6);
        _setPrice(-1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidPrice.selector, int256(-1)));
        credits.redeem(5e6, 0);
    }

    function test_redeem_slippage_reverts() public {
        _earn(provider, 100e6);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsSlippage.selector, 198e18, 198e18 + 1));
        credits.redeem(100e6, 198e18 + 1);
    }

    function test_redeem_zeroOutput_reverts() public {
        _earn(provider, 1);
        _setPrice(1e21); // one credit unit buys less than one STOA wei
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsZeroOutput.selector, 1));
        credits.redeem(1, 0);
    }

    function test_redeem_notMinter_reverts() public {
        _earn(provider, 100e6);
        token.setMinter(address(credits), false);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSignature("TokenUnauthorizedMinter(address)", address(credits)));
        credits.redeem(100e6, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                 QUOTES
    //////////////////////////////////////////////////////////////*/

    function testFuzz_quotes_matchExecution(uint256 stoaAmount, uint256 price) public {
        stoaAmount = _bound(stoaAmount, 1e18, 1e27);
        price = _bound(price, 1e6, 1e10);
        _setPrice(SafeCast.toInt256(price));
        _mintAndApprove(alice, stoaAmount);
        uint256 quoted = credits.quoteBuy(stoaAmount);
        vm.prank(alice);
        assertEq(credits.buy(stoaAmount, 0), quoted);

        _earn(provider, quoted);
        (uint256 fee, uint256 stoaQuoted) = credits.quoteRedeem(quoted);
        vm.prank(provider);
        assertEq(credits.redeem(quoted, 0), stoaQuoted);
        assertEq(credits.totalFeesBurned(), fee);
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    function test_setIssuer() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit IssuerSet(stranger, true);
        credits.setIssuer(stranger, true);
        assertTrue(credits.isIssuer(stranger));
        credits.setIssuer(stranger, false);
        assertFalse(credits.isIssuer(stranger));
    }

    function test_setProtocol() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit ProtocolSet(stranger, true);
        credits.setProtocol(stranger, true);
        assertTrue(credits.isProtocol(stranger));
        vm.expectEmit(true, true, true, true, address(credits));
        emit ProtocolSet(stranger, false);
        credits.setProtocol(stranger, false);
        assertFalse(credits.isProtocol(stranger));
    }

    /// @dev The flag shares the account's slot with its balances: setting it keeps them, and no
    /// balance change (up to the supply cap, where a carry would reach the flag) touches it.
    function testFuzz_protocolFlagAndBalancesShareTheSlot(uint256 amount) public {
        amount = _bound(amount, 8, type(uint120).max);
        // An account that already holds credits becomes a protocol contract: its balance stays.
        address other = _makeAddr("other.protocol");
        _fundCredits(other, 7);
        credits.setProtocol(other, true);
        assertEq(credits.balanceOf(other), 7);
        vm.prank(other);
        credits.release(alice, 7);

        _fundCredits(alice, amount - 7);
        vm.prank(protocol);
        credits.escrow(alice, amount);
        // The whole supply, earned, lands on the other protocol account: balance and redeemable at
        // the cap, right below the flag.
        vm.prank(protocol);
        credits.payout(other, amount);
        assertEq(credits.balanceOf(other), amount);
        assertEq(credits.redeemableOf(other), amount);
        assertTrue(credits.isProtocol(other));
        assertTrue(credits.isProtocol(protocol));
        assertEq(credits.balanceOf(protocol), 0);

        // Revoking keeps the balances; the revoked account can no longer move credits.
        credits.setProtocol(other, false);
        assertFalse(credits.isProtocol(other));
        assertEq(credits.balanceOf(other), amount);
        assertEq(credits.redeemableOf(other), amount);
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsUnauthorizedProtocol.selector, other));
        credits.release(alice, 1);

        // The flag of the one still set stays; an account never set has none.
        vm.prank(protocol);
        credits.release(alice, 0);
        assertTrue(credits.isProtocol(protocol));
        assertFalse(credits.isProtocol(alice));
    }

    function test_roleSetters_zeroAddress_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidRole.selector, address(0)));
        credits.setIssuer(address(0), true);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidRole.selector, address(0)));
        credits.setProtocol(address(0), true);
    }

    function test_setOracle() public {
        MockAggregator feed = new MockAggregator(8, 2e8, block.timestamp);
        vm.expectEmit(true, true, true, true, address(credits));
        emit OracleSet(address(feed));
        credits.setOracle(feed);
        assertEq(address(credits.oracle()), address(feed));
        assertEq(credits.quoteBuy(1e18), 2e6);
    }

    function test_setOracle_wrongDecimals_reverts() public {
        MockAggregator feed = new MockAggregator(6, 2e6, block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(Credits.CreditsInvalidOracle.selector, address(feed), uint8(6)));
        credits.setOracle(feed);
    }

    function test_setMaxPriceAge() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit ParameterUpdated("maxPriceAge", 1 hours, 7 days);
        credits.setMaxPriceAge(7 days);
        assertEq(uint256(credits.maxPriceAge()), 7 days);
        vm.expectRevert(_paramError("maxPriceAge", 0));
        credits.setMaxPriceAge(0);
        vm.expectRevert(_paramError("maxPriceAge", 7 days + 1));
        credits.setMaxPriceAge(7 days + 1);
    }

    function test_setRedeemFeeBps() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit ParameterUpdated("redeemFeeBps", 100, 2_000);
        credits.setRedeemFeeBps(2_000);
        assertEq(uint256(credits.redeemFeeBps()), 2_000);
        vm.expectRevert(_paramError("redeemFeeBps", 2_001));
        credits.setRedeemFeeBps(2_001);
    }

    function test_ownerSetters_notOwner_reverts() public {
        bytes memory err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(err);
        credits.setIssuer(stranger, true);
        vm.expectRevert(err);
        credits.setProtocol(stranger, true);
        vm.expectRevert(err);
        credits.setOracle(oracle);
        vm.expectRevert(err);
        credits.setMaxPriceAge(60);
        vm.expectRevert(err);
        credits.setRedeemFeeBps(0);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                               ACCOUNTING
    //////////////////////////////////////////////////////////////*/

    function test_accounting_supplyIdentity() public {
        _mintAndApprove(alice, 100e18);
        vm.prank(alice);
        credits.buy(100e18, 0); // +50e6 bought
        _fundCredits(alice, 20e6); // +20e6 issued
        vm.startPrank(protocol);
        credits.escrow(alice, 60e6);
        credits.payout(provider, 45e6);
        credits.release(alice, 5e6);
        vm.stopPrank();
        vm.prank(provider);
        credits.redeem(40e6, 0); // -40e6 redeemed, 0.4e6 of it fee

        assertEq(credits.totalBought(), 50e6);
        assertEq(credits.totalIssued(), 20e6);
        assertEq(credits.totalRedeemed(), 40e6);
        assertEq(credits.totalFeesBurned(), 0.4e6);
        assertEq(credits.totalSupply(), 30e6);
        assertEq(credits.totalSupply(), credits.totalBought() + credits.totalIssued() - credits.totalRedeemed());
        assertEq(
            credits.balanceOf(alice) + credits.balanceOf(provider) + credits.balanceOf(protocol), credits.totalSupply()
        );
        assertEq(credits.balanceOf(protocol), 10e6);
        assertEq(credits.redeemableOf(provider), 5e6);
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _paramError(bytes32 name, uint256 value) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Credits.CreditsInvalidParameter.selector, name, value);
    }

    function _mintAndApprove(address account, uint256 amount) internal {
        _mintStoa(account, amount);
        vm.prank(account);
        token.approve(address(credits), amount);
    }

    /// @dev Gives `account` `amount` redeemable credits the way a Market does: escrow then payout.
    function _earn(address account, uint256 amount) internal {
        address tenant = _makeAddr("earn.tenant");
        _fundCredits(tenant, amount);
        vm.startPrank(protocol);
        credits.escrow(tenant, amount);
        credits.payout(account, amount);
        vm.stopPrank();
    }

    /// @dev Pushes a new oracle round at the current time.
    function _setPrice(int256 price) internal {
        if (price > 0) {
            vm.prank(priceUpdater);
            oracle.updatePrice(price);
        } else {
            credits.setOracle(new MockAggregator(8, price, block.timestamp));
        }
    }

    function _permitDigest(address owner_, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 typehash =
            keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
        bytes32 structHash = keccak256(abi.encode(typehash, owner_, address(credits), value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }
}
