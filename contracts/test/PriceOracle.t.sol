// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { PriceOracle } from "../src/PriceOracle.sol";
import { StoaFixture } from "./utils/StoaFixture.sol";

contract PriceOracleTest is StoaFixture {
    event PriceUpdated(uint80 indexed roundId, int256 answer, uint256 updatedAt);
    event UpdaterSet(address indexed updater, bool allowed);
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    address internal stranger;

    function setUp() public {
        deployCore();
        stranger = _makeAddr("stranger");
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_constructor_recordsRoundOne() public {
        assertEq(uint256(oracle.decimals()), 8);
        assertEq(oracle.description(), "STOA / USD");
        assertEq(oracle.version(), 1);
        assertEq(uint256(oracle.maxStaleness()), 1 hours);
        assertEq(uint256(oracle.latestRound()), 1);
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            oracle.latestRoundData();
        assertEq(uint256(roundId), 1);
        assertEq(answer, INITIAL_PRICE);
        assertEq(startedAt, START_TIME);
        assertEq(updatedAt, START_TIME);
        assertEq(uint256(answeredInRound), 1);
        assertTrue(oracle.isFresh());
        assertEq(oracle.owner(), address(this));
        assertFalse(oracle.isUpdater(address(this)));
    }

    function test_constructor_emitsEvents() public {
        vm.expectEmit(true, true, true, true);
        emit ParameterUpdated("maxStaleness", 0, 600);
        vm.expectEmit(true, true, true, true);
        emit PriceUpdated(1, 42, block.timestamp);
        new PriceOracle(address(this), 42, 600);
    }

    function test_constructor_nonPositivePrice_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidPrice.selector, int256(0)));
        new PriceOracle(address(this), 0, 1 hours);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidPrice.selector, int256(-1)));
        new PriceOracle(address(this), -1, 1 hours);
    }

    function test_constructor_badStaleness_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidStaleness.selector, 0));
        new PriceOracle(address(this), 1, 0);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidStaleness.selector, 7 days + 1));
        new PriceOracle(address(this), 1, 7 days + 1);
    }

    /*//////////////////////////////////////////////////////////////
                              UPDATE PRICE
    //////////////////////////////////////////////////////////////*/

    function test_updatePrice_newRound() public {
        vm.warp(START_TIME + 600);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit PriceUpdated(2, 61_234_567, START_TIME + 600);
        vm.prank(priceUpdater);
        oracle.updatePrice(61_234_567);

        (uint80 roundId, int256 answer,, uint256 updatedAt,) = oracle.latestRoundData();
        assertEq(uint256(roundId), 2);
        assertEq(answer, 61_234_567);
        assertEq(updatedAt, START_TIME + 600);

        // The first round stays readable.
        (uint80 oldId, int256 oldAnswer, uint256 oldStarted, uint256 oldUpdated, uint80 oldAnswered) =
            oracle.getRoundData(1);
        assertEq(uint256(oldId), 1);
        assertEq(oldAnswer, INITIAL_PRICE);
        assertEq(oldStarted, START_TIME);
        assertEq(oldUpdated, START_TIME);
        assertEq(uint256(oldAnswered), 1);
    }

    function testFuzz_updatePrice_roundTrips(uint256 priceSeed, uint32 delay) public {
        int256 price = SafeCast.toInt256(_bound(priceSeed, 1, uint256(uint192(type(int192).max))));
        vm.warp(START_TIME + delay);
        vm.prank(priceUpdater);
        oracle.updatePrice(price);
        (uint80 roundId, int256 answer,, uint256 updatedAt,) = oracle.getRoundData(2);
        assertEq(uint256(roundId), 2);
        assertEq(answer, price);
        assertEq(updatedAt, START_TIME + uint256(delay));
    }

    function test_updatePrice_notUpdater_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleUnauthorizedUpdater.selector, stranger));
        oracle.updatePrice(1);
    }

    function test_updatePrice_ownerIsNotUpdater_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleUnauthorizedUpdater.selector, address(this)));
        oracle.updatePrice(1);
    }

    function test_updatePrice_invalidPrice_reverts() public {
        vm.startPrank(priceUpdater);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidPrice.selector, int256(0)));
        oracle.updatePrice(0);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidPrice.selector, type(int256).min));
        oracle.updatePrice(type(int256).min);
        int256 tooBig = int256(type(int192).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidPrice.selector, tooBig));
        oracle.updatePrice(tooBig);
        vm.stopPrank();
        assertEq(uint256(oracle.latestRound()), 1);
    }

    function test_getRoundData_unknownRound_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleRoundNotFound.selector, uint80(2)));
        oracle.getRoundData(2);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleRoundNotFound.selector, uint80(0)));
        oracle.getRoundData(0);
    }

    /*//////////////////////////////////////////////////////////////
                               FRESHNESS
    //////////////////////////////////////////////////////////////*/

    function test_isFresh_boundary() public {
        vm.warp(START_TIME + 1 hours);
        assertTrue(oracle.isFresh());
        vm.warp(START_TIME + 1 hours + 1);
        assertFalse(oracle.isFresh());
        vm.prank(priceUpdater);
        oracle.updatePrice(INITIAL_PRICE);
        assertTrue(oracle.isFresh());
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    function test_setUpdater() public {
        vm.expectEmit(true, true, true, true, address(oracle));
        emit UpdaterSet(stranger, true);
        oracle.setUpdater(stranger, true);
        assertTrue(oracle.isUpdater(stranger));
        vm.prank(stranger);
        oracle.updatePrice(7);

        vm.expectEmit(true, true, true, true, address(oracle));
        emit UpdaterSet(stranger, false);
        oracle.setUpdater(stranger, false);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleUnauthorizedUpdater.selector, stranger));
        oracle.updatePrice(7);
    }

    function test_setUpdater_zero_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidUpdater.selector, address(0)));
        oracle.setUpdater(address(0), true);
    }

    function test_setUpdater_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        oracle.setUpdater(stranger, true);
    }

    function test_setMaxStaleness() public {
        vm.expectEmit(true, true, true, true, address(oracle));
        emit ParameterUpdated("maxStaleness", 1 hours, 7 days);
        oracle.setMaxStaleness(7 days);
        assertEq(uint256(oracle.maxStaleness()), 7 days);
        oracle.setMaxStaleness(1);
        assertEq(uint256(oracle.maxStaleness()), 1);
    }

    function test_setMaxStaleness_outOfBounds_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidStaleness.selector, 0));
        oracle.setMaxStaleness(0);
        vm.expectRevert(abi.encodeWithSelector(PriceOracle.OracleInvalidStaleness.selector, 7 days + 1));
        oracle.setMaxStaleness(7 days + 1);
    }

    function test_setMaxStaleness_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        oracle.setMaxStaleness(60);
    }
}
