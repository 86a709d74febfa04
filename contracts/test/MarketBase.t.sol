// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Market } from "../src/Market.sol";
import { IMarket } from "../src/interfaces/IMarket.sol";
import { StoaFixture } from "./utils/StoaFixture.sol";

/// @notice Cheatcodes newer than the `Vm` interface bundled with @prb/test 0.6.5.
interface VmExtra {
    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }

    /// @dev Gas of the last call made by the test; with `--isolate` it is the whole transaction's
    /// gas (21k base, calldata, cold accesses, refunds applied), like a receipt's `gasUsed`.
    function lastCallGas() external view returns (Gas memory gas);
}

/// @notice A deployed and wired core (token, oracle, credits, registry) plus a Market, funded tenants,
/// registered providers, watchers, and helpers to bring orders and leases into any state.
abstract contract MarketBase is StoaFixture {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev Price units (1e-12 USD/s) per credit unit.
    uint256 internal constant PRICE_SCALE = 1e6;
    /// @dev About $1.08 per hour.
    uint64 internal constant MAX_PRICE = 300_000_000;
    /// @dev $1.00 per hour (277_777_777.7…, so settles leave dust).
    uint64 internal constant PRICE = 277_777_778;
    /// @dev $100.
    uint64 internal constant DEPOSIT = 100e6;
    uint32 internal constant BID_WINDOW = 60;
    uint16 internal constant EU_WEST = 8;
    uint16 internal constant US_WEST = 2;
    /// @dev Region masks: bit r allows region code r.
    uint32 internal constant EU_WEST_MASK = 1 << 8;
    uint32 internal constant US_WEST_MASK = 1 << 2;
    uint256 internal constant TENANT_FUNDS = 10_000e6;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    Market internal market;

    address internal tenant;
    address internal otherTenant;
    address internal provider;
    address internal provider2;
    address internal provider3;
    address internal watcher;
    address internal watcher2;
    address internal stranger;

    uint32 internal providerId;
    uint32 internal provider2Id;
    uint32 internal provider3Id;

    /*//////////////////////////////////////////////////////////////
                                  SETUP
    //////////////////////////////////////////////////////////////*/

    function setUp() public virtual {
        deployCore();
        market = new Market(address(this), credits, registry);
        credits.setProtocol(address(market), true);
        registry.setProtocol(address(market), true);
        registry.setMarket(address(market));
        vm.label(address(market), "Market");

        tenant = _makeAddr("tenant");
        otherTenant = _makeAddr("otherTenant");
        provider = _makeAddr("provider");
        provider2 = _makeAddr("provider2");
        provider3 = _makeAddr("provider3");
        watcher = _makeAddr("watcher");
        watcher2 = _makeAddr("watcher2");
        stranger = _makeAddr("stranger");

        providerId = _registerProvider(provider, EU_WEST);
        provider2Id = _registerProvider(provider2, EU_WEST);
        provider3Id = _registerProvider(provider3, US_WEST);
        market.setWatcher(watcher, true);
        market.setWatcher(watcher2, true);

        _fundCredits(tenant, TENANT_FUNDS);
        _fundCredits(otherTenant, TENANT_FUNDS);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev A realistic order: 2 vCPU, 4 GiB, 10 GiB disk, any region, $100 deposit, auto-reopen.
    function _params() internal pure returns (IMarket.OrderParams memory p) {
        p.resources =
            IMarket.Resources({ cpuMillis: 2000, memoryMiB: 4096, storageMiB: 10_240, gpus: 0, gpuModel: bytes32(0) });
        p.regionMask = 0;
        p.maxPricePerSecond = MAX_PRICE;
        p.deposit = DEPOSIT;
        p.bidWindow = BID_WINDOW;
        p.manifestHash = keccak256("manifest v1");
        p.manifestUri = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
        p.autoReopen = true;
    }

    function _createOrder(address who, IMarket.OrderParams memory p) internal returns (uint256 orderId) {
        vm.prank(who);
        orderId = market.createOrder(p);
    }

    function _createOrder() internal returns (uint256 orderId) {
        return _createOrder(tenant, _params());
    }

    function _bid(address who, uint256 orderId, uint64 price) internal {
        vm.prank(who);
        market.bid(orderId, price);
    }

    function _accept(uint256 orderId, address who) internal returns (uint256 leaseId) {
        address orderTenant = market.getOrder(orderId).tenant;
        vm.prank(orderTenant);
        leaseId = market.acceptBid(orderId, who);
    }

    /// @dev A default order leased to `provider` at `price`.
    function _leased(uint64 price) internal returns (uint256 orderId, uint256 leaseId) {
        return _leased(_params(), price);
    }

    function _leased(IMarket.OrderParams memory p, uint64 price) internal returns (uint256 orderId, uint256 leaseId) {
        orderId = _createOrder(tenant, p);
        _bid(provider, orderId, price);
        leaseId = _accept(orderId, provider);
    }

    function _leaseIds(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    function _leaseIds(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
    }

    /// @dev Bonds `amount` more STOA for `who` (so slashes do not drop it below `minStake`).
    function _addStake(address who, uint256 amount) internal {
        _mintStoa(who, amount);
        vm.prank(who);
        token.approve(address(registry), amount);
        vm.prank(who);
        registry.stake(amount);
    }

    /// @dev Escrow the order holds.
    function _escrowOf(uint256 orderId) internal view returns (uint256) {
        return market.getOrder(orderId).escrow;
    }

    /// @dev `floor(price * seconds / 1e6)`: what a lease must have earned after `seconds`.
    function _owed(uint256 price, uint256 elapsed) internal pure returns (uint256) {
        return price * elapsed / PRICE_SCALE;
    }

    /// @dev The provider's stats as a tuple.
    function _stats(address who) internal view returns (uint32[5] memory s) {
        (s[0], s[1], s[2], s[3], s[4]) = market.providerStats(who);
    }
}
