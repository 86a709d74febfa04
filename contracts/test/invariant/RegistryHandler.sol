// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { ProviderRegistry } from "../../src/ProviderRegistry.sol";
import { StoaToken } from "../../src/StoaToken.sol";
import { IProviderRegistry } from "../../src/interfaces/IProviderRegistry.sol";
import { HandlerBase } from "../utils/HandlerBase.sol";

/// @notice Drives ProviderRegistry with register, stake, beginUnbond, withdraw, slash (from a fake
/// protocol contract), unjail and time jumps over a fixed set of provider actors, recording ghost
/// totals of every STOA that enters and leaves the registry.
contract RegistryHandler is HandlerBase {
    ProviderRegistry public immutable registry;
    StoaToken public immutable token;
    address public immutable protocol;

    address[] internal _providers;
    address[] internal _reporters; // includes address(0): everything burned

    uint256 public ghostStakedIn; // STOA pulled by register + stake
    uint256 public ghostWithdrawn;
    uint256 public ghostSlashed;
    uint256 public ghostToReporters;
    uint256 public ghostBurned;
    uint256 public ghostMinted;
    uint256 public ghostRegistered;
    mapping(address provider => uint256) public ghostFaults;

    mapping(bytes32 action => uint256) public calls;

    constructor(ProviderRegistry registry_, StoaToken token_, address protocol_, address[] memory providers_) {
        registry = registry_;
        token = token_;
        protocol = protocol_;
        _providers = providers_;
        _reporters.push(address(0));
        _reporters.push(address(uint160(uint256(keccak256("reporter.1")))));
        _reporters.push(address(uint160(uint256(keccak256("reporter.2")))));
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    function register(uint256 seed, uint256 amount) external {
        address provider = _provider(seed);
        if (registry.getProvider(provider).id != 0) return;
        amount = _bound(amount, registry.minStake(), 1e24);
        _fund(provider, amount);
        IProviderRegistry.ProviderInfo memory info;
        info.region = SafeCast.toUint16(seed % 32);
        info.gatewayUrl = "https://p.example";
        vm.prank(provider);
        registry.register(info, amount);
        ghostStakedIn += amount;
        ghostRegistered++;
        calls["register"]++;
    }

    function stake(uint256 seed, uint256 amount) external {
        address provider = _provider(seed);
        if (registry.getProvider(provider).id == 0) return;
        amount = _bound(amount, 1, 1e24);
        _fund(provider, amount);
        vm.prank(provider);
        registry.stake(amount);
        ghostStakedIn += amount;
        calls["stake"]++;
    }

    function beginUnbond(uint256 seed, uint256 amount) external {
        address provider = _provider(seed);
        uint256 bonded = registry.stakeOf(provider);
        if (bonded == 0) return;
        amount = _bound(amount, 1, bonded);
        vm.prank(provider);
        registry.beginUnbond(amount);
        calls["beginUnbond"]++;
    }

    function withdraw(uint256 seed, uint256 extraWait) external {
        address provider = _provider(seed);
        IProviderRegistry.Provider memory p = registry.getProvider(provider);
        if (p.unbonding == 0) return;
        // Jump past the release time (forward only) so the withdrawal is valid.
        vm.warp(_max(block.timestamp, uint256(p.unbondingReleaseAt) + _bound(extraWait, 0, 1 days)));
        vm.prank(provider);
        uint256 amount = registry.withdraw();
        require(amount == p.unbonding, "withdraw: amount");
        ghostWithdrawn += amount;
        calls["withdraw"]++;
    }

    function slash(uint256 seed, uint256 amount, uint256 reporterSeed) external {
        address provider = _provider(seed);
        IProviderRegistry.Provider memory p = registry.getProvider(provider);
        if (p.id == 0) return;
        uint256 held = uint256(p.stake) + p.unbonding;
        amount = _bound(amount, 0, held * 2 + 1);
        address reporter = _reporters[reporterSeed % _reporters.length];

        uint256 expected = amount < held ? amount : held;
        uint256 toReporter = reporter == address(0) ? 0 : expected * registry.reporterShareBps() / 10_000;

        vm.prank(protocol);
        uint256 slashed = registry.slash(provider, amount, reporter, bytes32(seed));
        require(slashed == expected, "slash: amount");
        ghostSlashed += slashed;
        ghostToReporters += toReporter;
        ghostBurned += slashed - toReporter;
        ghostFaults[provider]++;
        calls["slash"]++;
    }

    function unjail(uint256 seed) external {
        address provider = _provider(seed);
        uint256 until = registry.getProvider(provider).jailedUntil;
        if (until == 0) return;
        vm.warp(_max(block.timestamp, until));
        vm.prank(provider);
        registry.unjail();
        calls["unjail"]++;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 0, 3 days));
        calls["warp"]++;
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    function reporters() external view returns (address[] memory) {
        return _reporters;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    function _provider(uint256 seed) internal view returns (address) {
        return _providers[seed % _providers.length];
    }

    function _fund(address provider, uint256 amount) internal {
        token.mint(provider, amount);
        ghostMinted += amount;
        vm.prank(provider);
        token.approve(address(registry), amount);
    }
}
