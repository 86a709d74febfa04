// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { ProviderRegistry } from "../src/ProviderRegistry.sol";
import { IProviderRegistry } from "../src/interfaces/IProviderRegistry.sol";
import { MockMarketStats } from "./utils/Mocks.sol";
import { StoaFixture } from "./utils/StoaFixture.sol";

contract ProviderRegistryTest is StoaFixture {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event ProviderRegistered(address indexed provider, uint32 indexed id, uint16 region, string gatewayUrl);
    event ProviderUpdated(address indexed provider, uint32 indexed id, uint16 region, string gatewayUrl);
    event Staked(address indexed provider, uint256 amount, uint256 stake);
    event UnbondingStarted(address indexed provider, uint256 amount, uint256 unbonding, uint256 releaseAt);
    event Withdrawn(address indexed provider, uint256 amount);
    event ProviderSlashed(
        address indexed provider, uint256 slashed, uint256 toReporter, uint256 burned, bytes32 reason
    );
    event ProviderJailed(address indexed provider, uint256 until);
    event ProviderUnjailed(address indexed provider);
    event ProtocolSet(address indexed protocol, bool allowed);
    event MarketSet(address indexed market);
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    address internal alice; // a provider
    address internal bob; // a second provider
    address internal protocol;
    address internal reporter;
    address internal stranger;

    function setUp() public {
        deployCore();
        alice = _makeAddr("alice");
        bob = _makeAddr("bob");
        protocol = _makeAddr("protocol");
        reporter = _makeAddr("reporter");
        stranger = _makeAddr("stranger");
        registry.setProtocol(protocol, true);
    }

    /*//////////////////////////////////////////////////////////////
                                DEFAULTS
    //////////////////////////////////////////////////////////////*/

    function test_defaults() public {
        ProviderRegistry fresh = new ProviderRegistry(address(this), token);
        assertEq(uint256(fresh.minStake()), 100e18);
        assertEq(uint256(fresh.unbondingPeriod()), 7 days);
        assertEq(uint256(fresh.reporterShareBps()), 5_000);
        assertEq(uint256(fresh.jailAfterFaults()), 3);
        assertEq(uint256(fresh.jailDuration()), 1 days);
        assertEq(address(fresh.token()), address(token));
        assertEq(fresh.market(), address(0));
        assertEq(fresh.providerCount(), 0);
        assertEq(fresh.owner(), address(this));
    }

    /*//////////////////////////////////////////////////////////////
                                REGISTER
    //////////////////////////////////////////////////////////////*/

    function test_register_storesRecord() public {
        IProviderRegistry.ProviderInfo memory info = _richInfo();
        _mintAndApprove(alice, 150e18);
        vm.prank(alice);
        uint32 id = registry.register(info, 150e18);

        assertEq(uint256(id), 1);
        assertEq(registry.providerCount(), 1);
        assertEq(registry.providerAddress(1), alice);
        assertEq(registry.providerAddress(2), address(0));
        assertEq(registry.stakeOf(alice), 150e18);
        assertEq(uint256(registry.totalStaked()), 150e18);
        assertEq(token.balanceOf(address(registry)), 150e18);
        assertEq(token.balanceOf(alice), 0);

        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.id), 1);
        assertEq(uint256(p.region), 7);
        assertEq(int256(p.latE5), -3_386_882);
        assertEq(int256(p.lonE5), 15_120_930);
        assertEq(uint256(p.capacity.cpuMillis), 64_000);
        assertEq(uint256(p.capacity.memoryMiB), 262_144);
        assertEq(uint256(p.capacity.storageGiB), 4_000);
        assertEq(uint256(p.capacity.gpus), 8);
        assertEq(p.gatewayUrl, "https://syd.gpu.example");
        assertEq(p.attributes.length, 2);
        bytes32 gpuModel = "gpu.model";
        bytes32 a100 = "A100";
        bytes32 tier = "tier";
        assertEq(p.attributes[0].key, gpuModel);
        assertEq(p.attributes[0].value, a100);
        assertEq(p.attributes[1].key, tier);
        assertEq(uint256(p.stake), 150e18);
        assertEq(uint256(p.unbonding), 0);
        assertEq(uint256(p.jailedUntil), 0);
        assertEq(uint256(p.faults), 0);
        assertEq(uint256(p.registeredAt), START_TIME);

        (uint32 activeId, uint16 region) = registry.activeProvider(alice);
        assertEq(uint256(activeId), 1);
        assertEq(uint256(region), 7);
        assertTrue(registry.isActive(alice));
    }

    function test_register_assignsSequentialIds() public {
        assertEq(uint256(_registerProvider(alice, 1)), 1);
        assertEq(uint256(_registerProvider(bob, 2)), 2);
        assertEq(registry.providerAddress(2), bob);
        assertEq(registry.providerCount(), 2);
    }

    function test_register_emitsEvents() public {
        _mintAndApprove(alice, MIN_STAKE);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(4);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderRegistered(alice, 1, 4, info.gatewayUrl);
        vm.expectEmit(true, true, true, true, address(registry));
        emit Staked(alice, MIN_STAKE, MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(alice, address(registry), MIN_STAKE);
        vm.prank(alice);
        registry.register(info, MIN_STAKE);
    }

    function test_register_twice_reverts() public {
        _registerProvider(alice, 1);
        _mintAndApprove(alice, MIN_STAKE);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryAlreadyRegistered.selector, alice, uint32(1)));
        registry.register(info, MIN_STAKE);
    }

    function test_register_belowMinStake_reverts() public {
        _mintAndApprove(alice, MIN_STAKE);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.RegistryStakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        registry.register(info, MIN_STAKE - 1);
    }

    function test_register_withoutAllowance_reverts() public {
        _mintStoa(alice, MIN_STAKE);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), 0, MIN_STAKE)
        );
        registry.register(info, MIN_STAKE);
    }

    function test_register_emptyGatewayUrl_reverts() public {
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        info.gatewayUrl = "";
        _expectRegisterRevert(info, abi.encodeWithSelector(ProviderRegistry.RegistryEmptyGatewayUrl.selector));
    }

    function test_register_gatewayUrlTooLong_reverts() public {
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        info.gatewayUrl = string(new bytes(257));
        _expectRegisterRevert(
            info, abi.encodeWithSelector(ProviderRegistry.RegistryGatewayUrlTooLong.selector, 257, 256)
        );
        info.gatewayUrl = string(new bytes(256));
        _mintAndApprove(alice, MIN_STAKE);
        vm.prank(alice);
        registry.register(info, MIN_STAKE);
    }

    function test_register_tooManyAttributes_reverts() public {
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        info.attributes = new IProviderRegistry.Attribute[](17);
        _expectRegisterRevert(info, abi.encodeWithSelector(ProviderRegistry.RegistryTooManyAttributes.selector, 17, 16));
    }

    function test_register_sixteenAttributes_ok() public {
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        info.attributes = new IProviderRegistry.Attribute[](16);
        for (uint256 i; i < 16; ++i) {
            info.attributes[i] = IProviderRegistry.Attribute({ key: bytes32(i + 1), value: bytes32(i * 7) });
        }
        _mintAndApprove(alice, MIN_STAKE);
        vm.prank(alice);
        registry.register(info, MIN_STAKE);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.attributes.length, 16);
        assertEq(p.attributes[15].key, bytes32(uint256(16)));
        assertEq(p.attributes[15].value, bytes32(uint256(105)));
    }

    function test_register_badLocation_reverts() public {
        int32[4] memory lats = [int32(90e5 + 1), int32(-90e5 - 1), int32(0), int32(0)];
        int32[4] memory lons = [int32(0), int32(0), int32(180e5 + 1), int32(-180e5 - 1)];
        for (uint256 i; i < 4; ++i) {
            IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
            info.latE5 = lats[i];
            info.lonE5 = lons[i];
            _expectRegisterRevert(
                info, abi.encodeWithSelector(ProviderRegistry.RegistryInvalidLocation.selector, lats[i], lons[i])
            );
        }
    }

    function test_register_locationBounds_ok() public {
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        info.latE5 = -90e5;
        info.lonE5 = 180e5;
        _mintAndApprove(alice, MIN_STAKE);
        vm.prank(alice);
        registry.register(info, MIN_STAKE);
        assertEq(int256(registry.getProvider(alice).latE5), -90e5);
    }

    function test_register_stakeAboveUint96_reverts() public {
        uint256 huge = uint256(type(uint96).max) + 1;
        _mintAndApprove(alice, huge);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 96, huge));
        registry.register(info, huge);
    }

    /*//////////////////////////////////////////////////////////////
                                 UPDATE
    //////////////////////////////////////////////////////////////*/

    function test_update_replacesInfo() public {
        _registerProvider(alice, 1);
        IProviderRegistry.ProviderInfo memory info = _richInfo();
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderUpdated(alice, 1, 7, info.gatewayUrl);
        vm.prank(alice);
        registry.update(info);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.region), 7);
        assertEq(p.gatewayUrl, "https://syd.gpu.example");
        assertEq(p.attributes.length, 2);
        assertEq(uint256(p.capacity.gpus), 8);
        // Stake, id and registration time do not change.
        assertEq(uint256(p.id), 1);
        assertEq(uint256(p.stake), MIN_STAKE);
        assertEq(uint256(p.registeredAt), START_TIME);

        // Shrinking the attribute list drops the tail.
        info.attributes = new IProviderRegistry.Attribute[](0);
        vm.prank(alice);
        registry.update(info);
        assertEq(registry.getProvider(alice).attributes.length, 0);
    }

    function test_update_unknown_reverts() public {
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnknownProvider.selector, stranger));
        registry.update(info);
    }

    function test_update_invalidInfo_reverts() public {
        _registerProvider(alice, 1);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        info.gatewayUrl = "";
        vm.prank(alice);
        vm.expectRevert(ProviderRegistry.RegistryEmptyGatewayUrl.selector);
        registry.update(info);
    }

    /*//////////////////////////////////////////////////////////////
                                 STAKE
    //////////////////////////////////////////////////////////////*/

    function test_stake_addsToBond() public {
        _registerProvider(alice, 1);
        _mintAndApprove(alice, 25e18);
        vm.expectEmit(true, true, true, true, address(registry));
        emit Staked(alice, 25e18, MIN_STAKE + 25e18);
        vm.prank(alice);
        registry.stake(25e18);
        assertEq(registry.stakeOf(alice), MIN_STAKE + 25e18);
        assertEq(uint256(registry.totalStaked()), MIN_STAKE + 25e18);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE + 25e18);
    }

    function testFuzz_stake(uint256 amount) public {
        amount = _bound(amount, 1, type(uint96).max - MIN_STAKE);
        _registerProvider(alice, 1);
        _mintAndApprove(alice, amount);
        vm.prank(alice);
        registry.stake(amount);
        assertEq(registry.stakeOf(alice), MIN_STAKE + amount);
        assertEq(uint256(registry.totalStaked()), MIN_STAKE + amount);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE + amount);
    }

    function test_stake_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnknownProvider.selector, stranger));
        registry.stake(1);

        _registerProvider(alice, 1);
        vm.prank(alice);
        vm.expectRevert(ProviderRegistry.RegistryZeroAmount.selector);
        registry.stake(0);
    }

    /*//////////////////////////////////////////////////////////////
                           UNBOND AND WITHDRAW
    //////////////////////////////////////////////////////////////*/

    function test_beginUnbond_movesStake() public {
        _registerProvider(alice, 1);
        uint256 releaseAt = block.timestamp + UNBONDING_PERIOD;
        vm.expectEmit(true, true, true, true, address(registry));
        emit UnbondingStarted(alice, 30e18, 30e18, releaseAt);
        vm.prank(alice);
        registry.beginUnbond(30e18);

        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.stake), 70e18);
        assertEq(uint256(p.unbonding), 30e18);
        assertEq(uint256(p.unbondingReleaseAt), releaseAt);
        assertEq(uint256(registry.totalStaked()), 70e18);
        assertEq(uint256(registry.totalUnbonding()), 30e18);
        assertEq(token.balanceOf(address(registry)), 100e18);
        // Below the minimum bonded stake: no longer active.
        assertFalse(registry.isActive(alice));
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, alice));
        registry.activeProvider(alice);
    }

    function test_beginUnbond_secondCallAddsAndRestartsClock() public {
        _registerProvider(alice, 1);
        vm.prank(alice);
        registry.beginUnbond(10e18);
        vm.warp(block.timestamp + 3 days);
        uint256 releaseAt = block.timestamp + UNBONDING_PERIOD;
        vm.expectEmit(true, true, true, true, address(registry));
        emit UnbondingStarted(alice, 5e18, 15e18, releaseAt);
        vm.prank(alice);
        registry.beginUnbond(5e18);
        assertEq(uint256(registry.getProvider(alice).unbondingReleaseAt), releaseAt);

        // The first amount's old release time no longer applies.
        vm.warp(START_TIME + UNBONDING_PERIOD);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryStillUnbonding.selector, alice, releaseAt));
        registry.withdraw();
    }

    function test_beginUnbond_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnknownProvider.selector, stranger));
        registry.beginUnbond(1);

        _registerProvider(alice, 1);
        vm.startPrank(alice);
        vm.expectRevert(ProviderRegistry.RegistryZeroAmount.selector);
        registry.beginUnbond(0);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.RegistryInsufficientStake.selector, alice, MIN_STAKE, MIN_STAKE + 1)
        );
        registry.beginUnbond(MIN_STAKE + 1);
        vm.stopPrank();
    }

    function test_withdraw_afterRelease() public {
        _registerProvider(alice, 1);
        vm.prank(alice);
        registry.beginUnbond(MIN_STAKE);
        uint256 releaseAt = block.timestamp + UNBONDING_PERIOD;

        vm.warp(releaseAt - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryStillUnbonding.selector, alice, releaseAt));
        registry.withdraw();

        vm.warp(releaseAt);
        vm.expectEmit(true, true, true, true, address(registry));
        emit Withdrawn(alice, MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(address(registry), alice, MIN_STAKE);
        vm.prank(alice);
        assertEq(registry.withdraw(), MIN_STAKE);

        assertEq(token.balanceOf(alice), MIN_STAKE);
        assertEq(token.balanceOf(address(registry)), 0);
        assertEq(uint256(registry.totalUnbonding()), 0);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.unbonding), 0);
        assertEq(uint256(p.unbondingReleaseAt), 0);
        // Still registered (id kept), just without stake.
        assertEq(uint256(p.id), 1);
    }

    function testFuzz_unbondWithdraw(uint256 staked, uint256 unbonded, uint256 wait) public {
        staked = _bound(staked, MIN_STAKE, 1e27);
        unbonded = _bound(unbonded, 1, staked);
        wait = _bound(wait, 0, 2 * UNBONDING_PERIOD);
        _mintAndApprove(alice, staked);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(alice);
        registry.register(info, staked);
        vm.prank(alice);
        registry.beginUnbond(unbonded);
        uint256 releaseAt = block.timestamp + UNBONDING_PERIOD;
        vm.warp(block.timestamp + wait);
        // forge-lint: disable-next-line(block-timestamp)
        bool early = block.timestamp < releaseAt;
        if (early) {
            vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryStillUnbonding.selector, alice, releaseAt));
        }
        vm.prank(alice);
        uint256 out = registry.withdraw();
        if (early) {
            assertEq(uint256(registry.totalUnbonding()), unbonded);
            return;
        }
        assertEq(out, unbonded);
        assertEq(token.balanceOf(alice), unbonded);
        assertEq(registry.stakeOf(alice), staked - unbonded);
        assertEq(token.balanceOf(address(registry)), staked - unbonded);
        assertEq(uint256(registry.totalStaked()), staked - unbonded);
        assertEq(uint256(registry.totalUnbonding()), 0);
    }

    function test_withdraw_nothing_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnknownProvider.selector, stranger));
        registry.withdraw();

        _registerProvider(alice, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryNothingToWithdraw.selector, alice));
        registry.withdraw();
    }

    /*//////////////////////////////////////////////////////////////
                                 SLASH
    //////////////////////////////////////////////////////////////*/

    function test_slash_fixedSplit() public {
        _registerProvider(alice, 1);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderSlashed(alice, 10e18, 5e18, 5e18, "fault:1");
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(address(registry), reporter, 5e18);
        vm.expectEmit(true, true, true, true, address(token));
        emit Transfer(address(registry), address(0), 5e18);
        vm.prank(protocol);
        uint256 slashed = registry.slash(alice, 10e18, reporter, "fault:1");

        assertEq(slashed, 10e18);
        assertEq(registry.stakeOf(alice), 90e18);
        assertEq(token.balanceOf(reporter), 5e18);
        assertEq(token.balanceOf(address(registry)), 90e18);
        assertEq(token.totalSupply(), 95e18); // 5 burned
        assertEq(uint256(registry.totalStaked()), 90e18);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.faults), 1);
        assertEq(uint256(p.recentFaults), 1);
        assertEq(uint256(p.jailedUntil), 0);
    }

    function test_slash_takesUnbondingAfterBonded() public {
        _registerProvider(alice, 1);
        vm.prank(alice);
        registry.beginUnbond(60e18); // stake 40, unbonding 60
        vm.prank(protocol);
        uint256 slashed = registry.slash(alice, 70e18, reporter, bytes32(0));
        assertEq(slashed, 70e18);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.stake), 0);
        assertEq(uint256(p.unbonding), 30e18);
        assertEq(uint256(registry.totalStaked()), 0);
        assertEq(uint256(registry.totalUnbonding()), 30e18);
        assertEq(token.balanceOf(address(registry)), 30e18);
        assertEq(token.balanceOf(reporter), 35e18);
    }

    function test_slash_cappedAtTotalStake() public {
        _registerProvider(alice, 1);
        vm.prank(alice);
        registry.beginUnbond(60e18);
        vm.prank(protocol);
        uint256 slashed = registry.slash(alice, 1_000e18, reporter, bytes32(0));
        assertEq(slashed, 100e18);
        assertEq(registry.stakeOf(alice), 0);
        assertEq(uint256(registry.getProvider(alice).unbonding), 0);
        assertEq(uint256(registry.getProvider(alice).unbondingReleaseAt), 0); // nothing left to release
        assertEq(token.balanceOf(address(registry)), 0);
        assertEq(token.balanceOf(reporter), 50e18);
        assertEq(token.totalSupply(), 50e18);

        // Nothing left: a further slash takes nothing but still counts the fault.
        vm.prank(protocol);
        assertEq(registry.slash(alice, 1e18, reporter, bytes32(0)), 0);
        assertEq(uint256(registry.getProvider(alice).faults), 2);
    }

    function test_slash_zeroReporter_burnsAll() public {
        _registerProvider(alice, 1);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderSlashed(alice, 10e18, 0, 10e18, bytes32(0));
        vm.prank(protocol);
        registry.slash(alice, 10e18, address(0), bytes32(0));
        assertEq(token.totalSupply(), 90e18);
    }

    function test_slash_zeroAmount_countsFault() public {
        _registerProvider(alice, 1);
        vm.prank(protocol);
        assertEq(registry.slash(alice, 0, reporter, bytes32(0)), 0);
        assertEq(uint256(registry.getProvider(alice).faults), 1);
        assertEq(registry.stakeOf(alice), MIN_STAKE);
    }

    function testFuzz_slash_split(uint256 staked, uint256 unbonded, uint256 amount, uint256 shareBps) public {
        staked = _bound(staked, MIN_STAKE, 1e27);
        unbonded = _bound(unbonded, 0, staked);
        amount = _bound(amount, 0, 2e27);
        shareBps = _bound(shareBps, 0, 10_000);
        registry.setReporterShareBps(shareBps);
        _mintAndApprove(alice, staked);
        IProviderRegistry.ProviderInfo memory info = _providerInfo(1);
        vm.prank(alice);
        registry.register(info, staked);
        if (unbonded != 0) {
            vm.prank(alice);
            registry.beginUnbond(unbonded);
        }

        uint256 expectedSlashed = amount < staked ? amount : staked;
        uint256 expectedToReporter = expectedSlashed * shareBps / 10_000;
        uint256 fromBonded = expectedSlashed < staked - unbonded ? expectedSlashed : staked - unbonded;

        vm.prank(protocol);
        uint256 slashed = registry.slash(alice, amount, reporter, "fuzz");
        assertEq(slashed, expectedSlashed);
        assertEq(token.balanceOf(reporter), expectedToReporter);
        assertEq(token.totalSupply(), staked - (expectedSlashed - expectedToReporter));
        assertEq(registry.stakeOf(alice), staked - unbonded - fromBonded);
        assertEq(uint256(registry.getProvider(alice).unbonding), unbonded - (expectedSlashed - fromBonded));
        assertEq(
            token.balanceOf(address(registry)), uint256(registry.totalStaked()) + uint256(registry.totalUnbonding())
        );
        assertEq(token.balanceOf(address(registry)), staked - expectedSlashed);
    }

    function test_slash_jailsAfterFaultsThenUnjail() public {
        _registerProvider(alice, 1);
        vm.startPrank(protocol);
        registry.slash(alice, 0, reporter, bytes32(0));
        registry.slash(alice, 0, reporter, bytes32(0));
        assertTrue(registry.isActive(alice)); // two faults, full stake: still active
        uint256 until = block.timestamp + JAIL_DURATION;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderSlashed(alice, 1e18, 0.5e18, 0.5e18, bytes32(0));
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderJailed(alice, until);
        registry.slash(alice, 1e18, reporter, bytes32(0));
        vm.stopPrank();

        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.faults), 3);
        assertEq(uint256(p.recentFaults), 0);
        assertEq(uint256(p.jailedUntil), until);
        assertFalse(registry.isActive(alice));
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, alice));
        registry.activeProvider(alice);

        // Top up to the minimum again (the slash took 1 STOA); still jailed.
        _mintAndApprove(alice, 1e18);
        vm.prank(alice);
        registry.stake(1e18);
        assertFalse(registry.isActive(alice));

        vm.warp(until - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderJailed.selector, alice, until));
        registry.unjail();

        vm.warp(until);
        // Jail expiry alone does not reactivate: the provider must unjail.
        assertFalse(registry.isActive(alice));
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProviderUnjailed(alice);
        vm.prank(alice);
        registry.unjail();
        assertTrue(registry.isActive(alice));
        assertEq(uint256(registry.getProvider(alice).jailedUntil), 0);
    }

    function test_slash_whileJailed_neverShortensJail() public {
        registry.setJailAfterFaults(1);
        _registerProvider(alice, 1);
        vm.prank(protocol);
        registry.slash(alice, 0, reporter, bytes32(0));
        uint256 firstUntil = block.timestamp + JAIL_DURATION;
        assertEq(uint256(registry.getProvider(alice).jailedUntil), firstUntil);

        // Jail duration shortened, then another fault: the longer jail stays.
        registry.setJailDuration(1 hours);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(protocol);
        registry.slash(alice, 0, reporter, bytes32(0));
        assertEq(uint256(registry.getProvider(alice).jailedUntil), firstUntil);

        // A later fault extends it.
        registry.setJailDuration(2 days);
        vm.prank(protocol);
        registry.slash(alice, 0, reporter, bytes32(0));
        assertEq(uint256(registry.getProvider(alice).jailedUntil), block.timestamp + 2 days);
    }

    function test_slash_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnauthorizedProtocol.selector, stranger));
        registry.slash(alice, 1, reporter, bytes32(0));

        vm.prank(protocol);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnknownProvider.selector, alice));
        registry.slash(alice, 1, reporter, bytes32(0));
    }

    function test_unjail_notJailed_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryUnknownProvider.selector, stranger));
        registry.unjail();

        _registerProvider(alice, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryNotJailed.selector, alice));
        registry.unjail();
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_activeProvider_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, stranger));
        registry.activeProvider(stranger);
        assertFalse(registry.isActive(stranger));
    }

    function test_activeProvider_followsMinStake() public {
        _registerProvider(alice, 1);
        registry.setMinStake(MIN_STAKE + 1);
        assertFalse(registry.isActive(alice));
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryProviderNotActive.selector, alice));
        registry.activeProvider(alice);
        registry.setMinStake(MIN_STAKE);
        assertTrue(registry.isActive(alice));
    }

    function test_getProvider_unknownIsZero() public {
        IProviderRegistry.Provider memory p = registry.getProvider(stranger);
        assertEq(uint256(p.id), 0);
        assertEq(p.gatewayUrl, "");
        assertEq(registry.stakeOf(stranger), 0);
    }

    function test_statsOf() public {
        _registerProvider(alice, 1);
        vm.prank(protocol);
        registry.slash(alice, 0, reporter, bytes32(0));
        (uint256 won, uint256 completed, uint256 faults) = registry.statsOf(alice);
        assertEq(won, 0);
        assertEq(completed, 0);
        assertEq(faults, 1);

        MockMarketStats market = new MockMarketStats();
        market.setStats(alice, MockMarketStats.Stats(12, 9, 2, 1, 1));
        vm.expectEmit(true, true, true, true, address(registry));
        emit MarketSet(address(market));
        registry.setMarket(address(market));
        (won, completed, faults) = registry.statsOf(alice);
        assertEq(won, 12);
        assertEq(completed, 9);
        assertEq(faults, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    function test_setProtocol() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit ProtocolSet(stranger, true);
        registry.setProtocol(stranger, true);
        assertTrue(registry.isProtocol(stranger));
        registry.setProtocol(stranger, false);
        assertFalse(registry.isProtocol(stranger));
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.RegistryInvalidProtocol.selector, address(0)));
        registry.setProtocol(address(0), true);
    }

    function test_parameterSetters() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit ParameterUpdated("minStake", MIN_STAKE, 1);
        registry.setMinStake(1);
        assertEq(uint256(registry.minStake()), 1);

        vm.expectEmit(true, true, true, true, address(registry));
        emit ParameterUpdated("unbondingPeriod", UNBONDING_PERIOD, 365 days);
        registry.setUnbondingPeriod(365 days);
        assertEq(uint256(registry.unbondingPeriod()), 365 days);

        vm.expectEmit(true, true, true, true, address(registry));
        emit ParameterUpdated("reporterShareBps", REPORTER_SHARE_BPS, 10_000);
        registry.setReporterShareBps(10_000);
        assertEq(uint256(registry.reporterShareBps()), 10_000);

        vm.expectEmit(true, true, true, true, address(registry));
        emit ParameterUpdated("jailAfterFaults", JAIL_AFTER_FAULTS, 255);
        registry.setJailAfterFaults(255);
        assertEq(uint256(registry.jailAfterFaults()), 255);

        vm.expectEmit(true, true, true, true, address(registry));
        emit ParameterUpdated("jailDuration", JAIL_DURATION, 0);
        registry.setJailDuration(0);
        assertEq(uint256(registry.jailDuration()), 0);
    }

    function test_parameterSetters_outOfBounds_reverts() public {
        vm.expectRevert(_paramError("minStake", 0));
        registry.setMinStake(0);
        uint256 tooBig = uint256(type(uint96).max) + 1;
        vm.expectRevert(_paramError("minStake", tooBig));
        registry.setMinStake(tooBig);
        vm.expectRevert(_paramError("unbondingPeriod", 365 days + 1));
        registry.setUnbondingPeriod(365 days + 1);
        vm.expectRevert(_paramError("reporterShareBps", 10_001));
        registry.setReporterShareBps(10_001);
        vm.expectRevert(_paramError("jailAfterFaults", 0));
        registry.setJailAfterFaults(0);
        vm.expectRevert(_paramError("jailAfterFaults", 256));
        registry.setJailAfterFaults(256);
        vm.expectRevert(_paramError("jailDuration", 365 days + 1));
        registry.setJailDuration(365 days + 1);
    }

    function test_ownerSetters_notOwner_reverts() public {
        bytes memory err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(err);
        registry.setProtocol(stranger, true);
        vm.expectRevert(err);
        registry.setMarket(stranger);
        vm.expectRevert(err);
        registry.setMinStake(1);
        vm.expectRevert(err);
        registry.setUnbondingPeriod(1);
        vm.expectRevert(err);
        registry.setReporterShareBps(1);
        vm.expectRevert(err);
        registry.setJailAfterFaults(1);
        vm.expectRevert(err);
        registry.setJailDuration(1);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _paramError(bytes32 name, uint256 value) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ProviderRegistry.RegistryInvalidParameter.selector, name, value);
    }

    function _mintAndApprove(address account, uint256 amount) internal {
        _mintStoa(account, amount);
        vm.prank(account);
        token.approve(address(registry), amount);
    }

    function _expectRegisterRevert(IProviderRegistry.ProviderInfo memory info, bytes memory err) internal {
        _mintAndApprove(alice, MIN_STAKE);
        vm.prank(alice);
        vm.expectRevert(err);
        registry.register(info, MIN_STAKE);
    }

    function _richInfo() internal pure returns (IProviderRegistry.ProviderInfo memory info) {
        info.region = 7;
        info.latE5 = -3_386_882;
        info.lonE5 = 15_120_930;
        info.capacity =
            IProviderRegistry.Capacity({ cpuMillis: 64_000, memoryMiB: 262_144, storageGiB: 4_000, gpus: 8 });
        info.gatewayUrl = "https://syd.gpu.example";
        info.attributes = new IProviderRegistry.Attribute[](2);
        info.attributes[0] = IProviderRegistry.Attribute({ key: "gpu.model", value: "A100" });
        info.attributes[1] = IProviderRegistry.Attribute({ key: "tier", value: "gold" });
    }
}
