// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { Credits } from "../../src/Credits.sol";
import { PriceOracle } from "../../src/PriceOracle.sol";
import { StoaToken } from "../../src/StoaToken.sol";
import { HandlerBase } from "../utils/HandlerBase.sol";

/// @notice Drives Credits with buy, issue, escrow, release, payout, redeem, protocol-flag changes,
/// price updates and time, over a fixed set of actors plus one fake protocol contract. Keeps an
/// independent model of every balance, redeemable amount and protocol flag (the flag shares the
/// account's slot with its balances), and ghost totals of everything minted and burned.
contract CreditsHandler is HandlerBase {
    uint256 internal constant SCALE = 1e20;

    Credits public immutable credits;
    StoaToken public immutable token;
    PriceOracle public immutable oracle;
    address public immutable issuer;
    address public immutable updater;
    address public immutable protocol;

    address[] internal _actors;

    // Independent model of the ledger.
    mapping(address account => uint256) public modelBalance;
    mapping(address account => uint256) public modelRedeemable;
    mapping(address account => bool) public modelIsProtocol;

    // Ghost totals (credit units unless named STOA).
    uint256 public ghostBought;
    uint256 public ghostIssued;
    uint256 public ghostRedeemed;
    uint256 public ghostFees;
    uint256 public ghostStoaMinted;
    uint256 public ghostStoaBurned;

    mapping(bytes32 action => uint256) public calls;

    constructor(
        Credits credits_,
        StoaToken token_,
        PriceOracle oracle_,
        address issuer_,
        address updater_,
        address protocol_,
        address[] memory actors_
    ) {
        credits = credits_;
        token = token_;
        oracle = oracle_;
        issuer = issuer_;
        updater = updater_;
        protocol = protocol_;
        _actors = actors_;
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    function buy(uint256 actorSeed, uint256 stoaAmount) external {
        address actor = _actor(actorSeed);
        stoaAmount = _bound(stoaAmount, 1e12, 1e25);
        uint256 price = _freshPrice();
        uint256 expected = stoaAmount * price / SCALE;
        if (expected == 0) return;

        token.mint(actor, stoaAmount);
        ghostStoaMinted += stoaAmount;
        vm.prank(actor);
        token.approve(address(credits), stoaAmount);
        vm.prank(actor);
        uint256 got = credits.buy(stoaAmount, expected);
        require(got == expected, "buy: conversion");
        ghostStoaBurned += stoaAmount;

        modelBalance[actor] += got;
        ghostBought += got;
        calls["buy"]++;
    }

    function issue(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = _bound(amount, 1, 1e13);
        vm.prank(issuer);
        credits.issue(actor, amount, bytes32(calls["issue"]));
        modelBalance[actor] += amount;
        ghostIssued += amount;
        calls["issue"]++;
    }

    function escrow(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = _bound(amount, 0, modelBalance[actor]);
        vm.prank(protocol);
        credits.escrow(actor, amount);
        _debit(actor, amount);
        modelBalance[protocol] += amount;
        calls["escrow"]++;
    }

    function release(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = _bound(amount, 0, modelBalance[protocol]);
        vm.prank(protocol);
        credits.release(actor, amount);
        _debit(protocol, amount);
        modelBalance[actor] += amount;
        calls["release"]++;
    }

    function payout(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = _bound(amount, 0, modelBalance[protocol]);
        vm.prank(protocol);
        credits.payout(actor, amount);
        _debit(protocol, amount);
        modelBalance[actor] += amount;
        modelRedeemable[actor] += amount;
        calls["payout"]++;
    }

    function redeem(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint256 redeemable = modelRedeemable[actor];
        if (redeemable == 0) return;
        amount = _bound(amount, 1, redeemable);
        uint256 price = _freshPrice();
        uint256 fee = amount * credits.redeemFeeBps() / 10_000;
        uint256 expected = (amount - fee) * SCALE / price;
        if (expected == 0) return;

        vm.prank(actor);
        uint256 stoa = credits.redeem(amount, expected);
        require(stoa == expected, "redeem: conversion");
        ghostStoaMinted += stoa;

        modelBalance[actor] -= amount;
        modelRedeemable[actor] -= amount;
        ghostRedeemed += amount;
        ghostFees += fee;
        calls["redeem"]++;
    }

    /// @dev Flags or unflags an actor as a protocol contract while it holds balances; the actor's
    /// balance changes go on as before.
    function setActorProtocol(uint256 actorSeed, bool allowed) external {
        address actor = _actor(actorSeed);
        vm.prank(credits.owner());
        credits.setProtocol(actor, allowed);
        modelIsProtocol[actor] = allowed;
        calls["setActorProtocol"]++;
    }

    function updatePrice(uint256 price) external {
        price = _bound(price, 1e6, 1e10); // 0.01 .. 100 USD per STOA
        vm.prank(updater);
        oracle.updatePrice(SafeCast.toInt256(price));
        calls["updatePrice"]++;
    }

    function setRedeemFee(uint256 feeBps) external {
        feeBps = _bound(feeBps, 0, 2_000);
        vm.prank(credits.owner());
        credits.setRedeemFeeBps(feeBps);
        calls["setRedeemFee"]++;
    }

    function warp(uint256 seconds_) external {
        seconds_ = _bound(seconds_, 0, 2 hours);
        vm.warp(block.timestamp + seconds_);
        calls["warp"]++;
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev Model of a non-redeem debit: balance down, redeemable clamped to the new balance.
    function _debit(address account, uint256 amount) internal {
        uint256 balance = modelBalance[account] - amount;
        modelBalance[account] = balance;
        if (modelRedeemable[account] > balance) modelRedeemable[account] = balance;
    }

    /// @dev The current price, refreshed first when older than Credits accepts.
    function _freshPrice() internal returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = oracle.latestRoundData();
        uint256 age = block.timestamp - updatedAt;
        if (age > credits.maxPriceAge()) {
            vm.prank(updater);
            oracle.updatePrice(answer);
        }
        return SafeCast.toUint256(answer);
    }
}
