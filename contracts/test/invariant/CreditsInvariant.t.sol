// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { StoaFixture } from "../utils/StoaFixture.sol";
import { CreditsHandler } from "./CreditsHandler.sol";

/// @notice Credits accounting holds after any sequence of buy, issue, escrow, release, payout,
/// redeem, protocol-flag changes, price updates, fee changes and time jumps (256 runs x 64 calls, see
/// foundry.toml).
contract CreditsInvariantTest is StoaFixture {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    CreditsHandler internal handler;
    address internal protocol;
    address[] internal _targets;
    FuzzSelector[] internal _selectors;

    function setUp() public {
        deployCore();
        protocol = _makeAddr("protocol");
        credits.setProtocol(protocol, true);

        address[] memory actors = new address[](4);
        actors[0] = _makeAddr("tenant.a");
        actors[1] = _makeAddr("tenant.b");
        actors[2] = _makeAddr("provider.a");
        actors[3] = _makeAddr("provider.b");
        handler = new CreditsHandler(credits, token, oracle, issuer, priceUpdater, protocol, actors);
        token.setMinter(address(handler), true);
        // The handler changes the fee as the owner would.
        credits.transferOwnership(address(handler));
        vm.prank(address(handler));
        credits.acceptOwnership();

        _targets.push(address(handler));
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = CreditsHandler.buy.selector;
        selectors[1] = CreditsHandler.issue.selector;
        selectors[2] = CreditsHandler.escrow.selector;
        selectors[3] = CreditsHandler.release.selector;
        selectors[4] = CreditsHandler.payout.selector;
        selectors[5] = CreditsHandler.redeem.selector;
        selectors[6] = CreditsHandler.updatePrice.selector;
        selectors[7] = CreditsHandler.setRedeemFee.selector;
        selectors[8] = CreditsHandler.warp.selector;
        selectors[9] = CreditsHandler.setActorProtocol.selector;
        _selectors.push(FuzzSelector({ addr: address(handler), selectors: selectors }));
    }

    /// @dev Read by forge: only the handler is called.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    /// @dev Read by forge: the handler's actions (not its views).
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev The supply identity: totalRedeemed counts the burned fee too.
    function invariant_supplyIdentity() public {
        assertEq(credits.totalSupply(), credits.totalBought() + credits.totalIssued() - credits.totalRedeemed());
        assertLte(credits.totalFeesBurned(), credits.totalRedeemed());
    }

    function invariant_countersMatchGhosts() public {
        assertEq(credits.totalBought(), handler.ghostBought());
        assertEq(credits.totalIssued(), handler.ghostIssued());
        assertEq(credits.totalRedeemed(), handler.ghostRedeemed());
        assertEq(credits.totalFeesBurned(), handler.ghostFees());
    }

    function invariant_balancesSumToSupply() public {
        address[] memory actors = handler.actors();
        uint256 sum = credits.balanceOf(protocol);
        for (uint256 i; i < actors.length; ++i) {
            sum += credits.balanceOf(actors[i]);
        }
        assertEq(sum, credits.totalSupply());
    }

    function invariant_redeemableWithinBalanceAndMatchesModel() public {
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            assertLte(credits.redeemableOf(a), credits.balanceOf(a));
            assertEq(credits.balanceOf(a), handler.modelBalance(a));
            assertEq(credits.redeemableOf(a), handler.modelRedeemable(a));
        }
        assertEq(credits.balanceOf(protocol), handler.modelBalance(protocol));
        assertLte(credits.redeemableOf(protocol), credits.balanceOf(protocol));
    }

    /// @dev The protocol flag lives in the account's slot: no balance change ever alters it.
    function invariant_protocolFlagsMatchModel() public {
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            assertEq(credits.isProtocol(actors[i]), handler.modelIsProtocol(actors[i]));
        }
        assertTrue(credits.isProtocol(protocol));
    }

    function invariant_stoaSupplyMatchesGhosts() public {
        assertEq(token.totalSupply(), handler.ghostStoaMinted() - handler.ghostStoaBurned());
    }

    function afterInvariant() public {
        // Not an assertion on values: makes sure the run exercised the flows it claims to.
        emit LogNamedUint256("buy", handler.calls("buy"));
        emit LogNamedUint256("redeem", handler.calls("redeem"));
        emit LogNamedUint256("payout", handler.calls("payout"));
    }
}
