// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// SHARED TEST BASE — keep stable. Market, StorageDeals and other test suites extend this fixture;
// add helpers if needed, but do not rename, remove or change the behaviour of existing ones.

import { PRBTest } from "@prb/test/PRBTest.sol";

import { Credits } from "../../src/Credits.sol";
import { PriceOracle } from "../../src/PriceOracle.sol";
import { ProviderRegistry } from "../../src/ProviderRegistry.sol";
import { StoaToken } from "../../src/StoaToken.sol";
import { IProviderRegistry } from "../../src/interfaces/IProviderRegistry.sol";

/// @notice Deploys and wires the core contracts exactly as the devnet deploy does (spec
/// "Deployment and wiring", steps 1-4), with the test contract as owner, plus helpers.
abstract contract StoaFixture is PRBTest {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev 0.50 USD per STOA, 8 decimals.
    int256 internal constant INITIAL_PRICE = 50_000_000;
    uint32 internal constant ORACLE_MAX_STALENESS = 1 hours;
    uint256 internal constant MAX_PRICE_AGE = 1 hours;
    uint256 internal constant REDEEM_FEE_BPS = 100;
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant UNBONDING_PERIOD = 7 days;
    uint256 internal constant REPORTER_SHARE_BPS = 5_000;
    uint256 internal constant JAIL_AFTER_FAULTS = 3;
    uint256 internal constant JAIL_DURATION = 1 days;

    /// @dev Start time for tests, so timestamp arithmetic never starts at 1.
    uint256 internal constant START_TIME = 1_750_000_000;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    StoaToken internal token;
    PriceOracle internal oracle;
    Credits internal credits;
    ProviderRegistry internal registry;

    /// @dev Holds the Credits issuer role (fiat on-ramp) for `_fundCredits`.
    address internal issuer;
    /// @dev Holds the PriceOracle updater role.
    address internal priceUpdater;

    uint256 private _fundNonce;

    /*//////////////////////////////////////////////////////////////
                                DEPLOYMENT
    //////////////////////////////////////////////////////////////*/

    /// @dev Deploys StoaToken, PriceOracle, Credits and ProviderRegistry owned by this contract, makes
    /// Credits and this contract STOA minters, names `issuer` and `priceUpdater`. Market wiring
    /// (credits.setProtocol, registry.setProtocol, registry.setMarket) is left to the suite that
    /// deploys a Market.
    function deployCore() internal {
        vm.warp(START_TIME);
        issuer = _makeAddr("issuer");
        priceUpdater = _makeAddr("priceUpdater");

        token = new StoaToken(address(this));
        oracle = new PriceOracle(address(this), INITIAL_PRICE, ORACLE_MAX_STALENESS);
        oracle.setUpdater(priceUpdater, true);
        credits = new Credits(address(this), token, oracle);
        token.setMinter(address(credits), true);
        registry = new ProviderRegistry(address(this), token);

        token.setMinter(address(this), true);
        credits.setIssuer(issuer, true);
        credits.setMaxPriceAge(MAX_PRICE_AGE);
        credits.setRedeemFeeBps(REDEEM_FEE_BPS);
        registry.setMinStake(MIN_STAKE);
        registry.setUnbondingPeriod(UNBONDING_PERIOD);
        registry.setReporterShareBps(REPORTER_SHARE_BPS);
        registry.setJailAfterFaults(JAIL_AFTER_FAULTS);
        registry.setJailDuration(JAIL_DURATION);

        vm.label(address(token), "StoaToken");
        vm.label(address(oracle), "PriceOracle");
        vm.label(address(credits), "Credits");
        vm.label(address(registry), "ProviderRegistry");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev `x` mapped into [min, max] (inclusive), identity when already inside.
    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "_bound: min > max");
        if (x >= min && x <= max) return x;
        // No overflow: reaching here means [min, max] is not the whole uint256 range.
        uint256 size = max - min + 1;
        return min + x % size;
    }

    /// @dev A deterministic, labelled address for `name`.
    function _makeAddr(string memory name) internal returns (address account) {
        account = address(uint160(uint256(keccak256(abi.encodePacked("stoa.fixture", name)))));
        vm.label(account, name);
    }

    /// @dev Issues `amount` (non-redeemable) credits to `to` through the issuer role.
    function _fundCredits(address to, uint256 amount) internal {
        bytes32 paymentRef = keccak256(abi.encode("fixture", to, amount, ++_fundNonce));
        vm.prank(issuer);
        credits.issue(to, amount, paymentRef);
    }

    /// @dev Mints `amount` STOA to `to` (this contract is a minter).
    function _mintStoa(address to, uint256 amount) internal {
        token.mint(to, amount);
    }

    /// @dev Mints `minStake` STOA to `provider`, approves and registers it in `region` with
    /// `_providerInfo(region)`. Returns its id.
    function _registerProvider(address provider, uint16 region) internal returns (uint32 id) {
        uint256 stakeAmount = registry.minStake();
        _mintStoa(provider, stakeAmount);
        vm.prank(provider);
        token.approve(address(registry), stakeAmount);
        vm.prank(provider);
        id = registry.register(_providerInfo(region), stakeAmount);
    }

    /// @dev A valid provider declaration in `region` (Paris, 4 CPUs, 8 GiB, 1 attribute).
    function _providerInfo(uint16 region) internal pure returns (IProviderRegistry.ProviderInfo memory info) {
        info.region = region;
        info.latE5 = 4_885_661;
        info.lonE5 = 235_222;
        info.capacity = IProviderRegistry.Capacity({ cpuMillis: 4000, memoryMiB: 8192, storageGiB: 100, gpus: 0 });
        info.gatewayUrl = "https://provider.example:8443";
        info.attributes = new IProviderRegistry.Attribute[](1);
        info.attributes[0] = IProviderRegistry.Attribute({ key: "arch", value: "amd64" });
    }
}
