// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";
import { Ownable2Step } from "@openzeppelin/contracts/access/Ownable2Step.sol";
import { Math } from "@openzeppelin/contracts/utils/math/Math.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { IAggregatorV3 } from "./interfaces/IAggregatorV3.sol";
import { ICredits } from "./interfaces/ICredits.sol";
import { IStoaToken } from "./interfaces/IStoaToken.sol";

/// @title Credits
/// @notice Non-transferable USD credits (6 decimals, 1 unit = 1e-6 USD) that pay for compute and
/// storage, so a tenant's bill never moves with the token price. Credits enter by `buy` (STOA burned
/// at the oracle price) or `issue` (a fiat on-ramp that took USD), move only through protocol
/// contracts (escrow, refunds, earnings payouts), and leave by `redeem`: a provider's earned credits
/// become newly minted STOA at the oracle price, less a protocol fee that is burned.
/// @dev ERC-20 read surface (name, symbol, decimals, balanceOf, totalSupply) and an ERC-20
/// `Transfer` event for every balance change so explorers and wallets follow balances; there is no
/// transfer or approve.
///
/// Accounting: `totalSupply == totalBought + totalIssued - totalRedeemed` at all times, where
/// `totalRedeemed` counts every credit a redeem removes, the burned fee included
/// (`totalFeesBurned` is the fee part of `totalRedeemed`, kept for reporting).
contract Credits is ICredits, Ownable2Step {
    using SafeCast for uint256;

    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    error CreditsStalePrice(uint256 updatedAt, uint256 maxPriceAge);
    error CreditsInvalidPrice(int256 price);
    error CreditsZeroOutput(uint256 amountIn);
    error CreditsZeroAmount();
    error CreditsSlippage(uint256 amountOut, uint256 minAmountOut);
    error CreditsInsufficientBalance(address account, uint256 balance, uint256 needed);
    error CreditsInsufficientRedeemable(address account, uint256 redeemable, uint256 needed);
    error CreditsInvalidReceiver(address receiver);
    error CreditsInvalidSender(address sender);
    error CreditsUnauthorizedIssuer(address caller);
    error CreditsUnauthorizedProtocol(address caller);
    error CreditsInvalidRole(address account);
    error CreditsInvalidOracle(address oracle, uint8 decimals);
    error CreditsInvalidParameter(bytes32 name, uint256 value);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev ERC-20 event, emitted for every balance change (`from`/`to` zero for mint/burn).
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @dev `account` burned `stoaAmount` STOA for `credits` at `price` (8 decimals).
    event CreditsBought(address indexed account, uint256 stoaAmount, uint256 credits, uint256 price);
    event CreditsIssued(address indexed to, uint256 amount, bytes32 paymentRef);
    /// @dev `account` spent `amount` redeemable credits; `fee` of them were burned as protocol fee,
    /// the rest bought `stoa` newly minted STOA.
    event CreditsRedeemed(address indexed account, uint256 amount, uint256 fee, uint256 stoa);
    /// @dev A protocol contract paid `amount` earned (redeemable) credits to `to`.
    event EarningsPaid(address indexed protocol, address indexed to, uint256 amount);
    event IssuerSet(address indexed issuer, bool allowed);
    event ProtocolSet(address indexed protocol, bool allowed);
    event OracleSet(address indexed oracle);
    /// @dev A parameter changed (`name` is the parameter's name, e.g. "redeemFeeBps").
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice ERC-20 metadata: "Stoa Credits", "sUSD", 6 decimals (1 unit = 1e-6 USD).
    string public constant name = "Stoa Credits";
    /// @notice "sUSD".
    string public constant symbol = "sUSD";
    /// @notice 6: one credit unit is one millionth of a US dollar.
    uint8 public constant decimals = 6;

    /// @notice STOA wei per credit unit at a price of 1 (8 decimals): 10**(18 + 8 - 6).
    uint256 public constant CONVERSION_SCALE = 1e20;
    /// @notice Decimals the price feed must report.
    uint8 public constant ORACLE_DECIMALS = 8;
    /// @notice Upper bound of `redeemFeeBps` (20 %).
    uint256 public constant MAX_REDEEM_FEE_BPS = 2_000;
    /// @notice Upper bound of `maxPriceAge`.
    uint256 public constant MAX_PRICE_AGE = 7 days;
    uint256 internal constant BPS = 10_000;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev One slot per account, the protocol-contract flag included: `escrow`, `release` and
    /// `payout` load the calling protocol's account for its balance anyway, so the authorisation
    /// costs no cold slot of its own (a separate mapping cost ~2.1k gas per protocol move).
    /// 120 bits are enough for `redeemable`: redeemable <= balance <= totalSupply, and the supply is
    /// a uint120 whose every mint is checked, so no balance ever reaches 2^120 credit units
    /// (1.3e30 USD). Amounts are cast with SafeCast so an absurd one reverts instead of wrapping.
    struct Account {
        uint128 balance;
        uint120 redeemable; // earned credits, always <= balance
        bool isProtocol; // may escrow, release and pay out (set by the owner)
    }

    mapping(address account => Account) private _accounts;

    /// @dev Supply and the buy counter share a slot (buy writes both); issue and redeem counters
    /// share the next. The supply is capped at 2^120 - 1 units by checked arithmetic (see Account).
    /// Cumulative counters in uint128 credit units last past 3.4e32 USD of volume.
    uint120 private _totalSupply;
    uint128 private _totalBought;
    uint128 private _totalIssued;
    uint128 private _totalRedeemed;
    uint128 private _totalFeesBurned;

    /// @notice Oldest oracle answer (seconds) accepted by `buy` and `redeem`.
    uint32 public maxPriceAge;
    /// @notice Protocol fee on redeem, in basis points (<= 2_000), burned.
    uint16 public redeemFeeBps;

    /// @notice STOA/USD feed, 8 decimals, AggregatorV3-shaped.
    IAggregatorV3 public oracle;

    /// @notice Whether `account` is a fiat on-ramp allowed to `issue`.
    mapping(address account => bool) public isIssuer;
    /// @notice The STOA token (burned by `buy`, minted by `redeem`; this contract must be a minter).
    IStoaToken public immutable token;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner Manages roles and parameters (later a Timelock).
    /// @param token_ The STOA token.
    /// @param oracle_ A STOA/USD feed with 8 decimals.
    /// @dev Defaults: maxPriceAge 1 hour, redeemFeeBps 100 (1 %).
    constructor(address initialOwner, IStoaToken token_, IAggregatorV3 oracle_) Ownable(initialOwner) {
        token = token_;
        _setOracle(oracle_);
        _setMaxPriceAge(1 hours);
        _setRedeemFeeBps(100);
    }

    /*//////////////////////////////////////////////////////////////
                                MODIFIERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Reads the flag from the caller's account slot, which the move then reads again warm for
    /// the caller's balance (100 gas instead of a separate cold slot's 2.1k).
    modifier onlyProtocol() {
        if (!_accounts[msg.sender].isProtocol) revert CreditsUnauthorizedProtocol(msg.sender);
        _;
    }

    /*//////////////////////////////////////////////////////////////
                        EXTERNAL FUNCTIONS: USERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Burns `stoaAmount` STOA of the caller and credits
    /// `stoaAmount * price / 1e20` credit units at the oracle price.
    /// @dev The caller must have approved `stoaAmount` STOA to this contract. Reverts on a stale or
    /// non-positive price, a zero result, or fewer than `minCredits`. Emits `Transfer` and
    /// `CreditsBought`.
    /// @return credits Credit units received.
    function buy(uint256 stoaAmount, uint256 minCredits) public returns (uint256 credits) {
        uint256 price = _price();
        credits = Math.mulDiv(stoaAmount, price, CONVERSION_SCALE);
        if (credits == 0) revert CreditsZeroOutput(stoaAmount);
        if (credits < minCredits) revert CreditsSlippage(credits, minCredits);

        _update(address(0), msg.sender, credits, false);
        _totalBought += credits.toUint128(); // Checked: cumulative, reverts rather than wraps.
        emit CreditsBought(msg.sender, stoaAmount, credits, price);
        token.burnFrom(msg.sender, stoaAmount);
    }

    /// @notice `buy` after an EIP-2612 permit of `stoaAmount` STOA to this contract.
    /// @dev A permit that fails (for instance because someone submitted it first) is ignored; the
    /// buy then needs an allowance that is already there.
    function buyWithPermit(uint256 stoaAmount, uint256 minCredits, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 credits)
    {
        try token.permit(msg.sender, address(this), stoaAmount, deadline, v, r, s) { } catch { }
        credits = buy(stoaAmount, minCredits);
    }

    /// @notice Spends `amount` of the caller's redeemable credits: `fee = amount * redeemFeeBps /
    /// 10_000` is burned as the protocol fee and `(amount - fee) * 1e20 / price` STOA is minted to
    /// the caller.
    /// @dev Reverts on a stale or non-positive price, `amount` above the caller's redeemable
    /// credits, a zero result, or less than `minStoa`. Emits `Transfer` and `CreditsRedeemed`.
    /// @return stoa STOA wei minted.
    function redeem(uint256 amount, uint256 minStoa) external returns (uint256 stoa) {
        if (amount == 0) revert CreditsZeroAmount();
        uint256 redeemable = _accounts[msg.sender].redeemable;
        if (amount > redeemable) revert CreditsInsufficientRedeemable(msg.sender, redeemable, amount);
        uint256 price = _price();
        uint256 fee = amount * redeemFeeBps / BPS; // amount <= redeemable < 2^128: no overflow.
        stoa = (amount - fee) * CONVERSION_SCALE / price; // < 2^128 * 1e20 < 2^256.
        if (stoa == 0) revert CreditsZeroOutput(amount);
        if (stoa < minStoa) revert CreditsSlippage(stoa, minStoa);

        _update(msg.sender, address(0), amount, true);
        // Casts are safe: fee <= amount <= redeemable, a uint120.
        // forge-lint: disable-next-line(unsafe-typecast)
        _totalRedeemed += uint128(amount);
        // forge-lint: disable-next-line(unsafe-typecast)
        _totalFeesBurned += uint128(fee);
        emit CreditsRedeemed(msg.sender, amount, fee, stoa);
        token.mint(msg.sender, stoa);
    }

    /*//////////////////////////////////////////////////////////////
                       EXTERNAL FUNCTIONS: ISSUERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Credits `amount` units to `to` against an off-chain payment `paymentRef`.
    /// @dev Only issuers (fiat on-ramps); `amount > 0`, `to` not zero. Issued credits are not
    /// redeemable. Emits `Transfer` and `CreditsIssued`.
    function issue(address to, uint256 amount, bytes32 paymentRef) external {
        if (!isIssuer[msg.sender]) revert CreditsUnauthorizedIssuer(msg.sender);
        if (amount == 0) revert CreditsZeroAmount();
        if (to == address(0)) revert CreditsInvalidReceiver(to);
        _update(address(0), to, amount, false);
        _totalIssued += amount.toUint128();
        emit CreditsIssued(to, amount, paymentRef);
    }

    /*//////////////////////////////////////////////////////////////
                       EXTERNAL FUNCTIONS: PROTOCOL
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICredits
    /// @dev Spends `from`'s non-redeemable credits first (its redeemable amount is clamped to the
    /// new balance). A zero amount is a no-op apart from the `Transfer` event. Reverts
    /// `CreditsInvalidSender` for `from == address(0)` (that would mint).
    function escrow(address from, uint256 amount) external override onlyProtocol {
        if (from == address(0)) revert CreditsInvalidSender(from);
        _update(from, msg.sender, amount, false);
    }

    /// @inheritdoc ICredits
    /// @dev Reverts `CreditsInvalidReceiver` for `to == address(0)`.
    function release(address to, uint256 amount) external override onlyProtocol {
        if (to == address(0)) revert CreditsInvalidReceiver(to);
        _update(msg.sender, to, amount, false);
    }

    /// @inheritdoc ICredits
    /// @dev Reverts `CreditsInvalidReceiver` for `to == address(0)`. Emits `Transfer` and
    /// `EarningsPaid`.
    function payout(address to, uint256 amount) external override onlyProtocol {
        if (to == address(0)) revert CreditsInvalidReceiver(to);
        _update(msg.sender, to, amount, true);
        emit EarningsPaid(msg.sender, to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                         EXTERNAL FUNCTIONS: OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows or disallows a fiat on-ramp to issue credits.
    /// @dev Only the owner. Emits `IssuerSet`.
    function setIssuer(address issuer, bool allowed) external onlyOwner {
        if (issuer == address(0)) revert CreditsInvalidRole(issuer);
        isIssuer[issuer] = allowed;
        emit IssuerSet(issuer, allowed);
    }

    /// @notice Allows or disallows a protocol contract to escrow, release and pay out credits.
    /// @dev Only the owner. Emits `ProtocolSet`.
    function setProtocol(address protocol, bool allowed) external onlyOwner {
        if (protocol == address(0)) revert CreditsInvalidRole(protocol);
        _accounts[protocol].isProtocol = allowed;
        emit ProtocolSet(protocol, allowed);
    }

    /// @notice Replaces the price feed (must report 8 decimals), e.g. by a Chainlink STOA/USD feed.
    /// @dev Only the owner. Emits `OracleSet`.
    function setOracle(IAggregatorV3 oracle_) external onlyOwner {
        _setOracle(oracle_);
    }

    /// @notice Sets the oldest accepted oracle answer, in seconds (1 .. 7 days).
    /// @dev Only the owner. Emits `ParameterUpdated("maxPriceAge", ...)`.
    function setMaxPriceAge(uint256 value) external onlyOwner {
        _setMaxPriceAge(value);
    }

    /// @notice Sets the redeem fee in basis points (<= 2_000).
    /// @dev Only the owner. Emits `ParameterUpdated("redeemFeeBps", ...)`.
    function setRedeemFeeBps(uint256 value) external onlyOwner {
        _setRedeemFeeBps(value);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICredits
    function balanceOf(address account) external view override returns (uint256) {
        return _accounts[account].balance;
    }

    /// @notice Whether `account` is a protocol contract allowed to escrow, release and pay out.
    function isProtocol(address account) external view returns (bool) {
        return _accounts[account].isProtocol;
    }

    /// @inheritdoc ICredits
    function redeemableOf(address account) external view override returns (uint256) {
        return _accounts[account].redeemable;
    }

    /// @inheritdoc ICredits
    function totalSupply() external view override returns (uint256) {
        return _totalSupply;
    }

    /// @notice Credits ever minted by `buy`.
    function totalBought() external view returns (uint256) {
        return _totalBought;
    }

    /// @notice Credits ever minted by `issue`.
    function totalIssued() external view returns (uint256) {
        return _totalIssued;
    }

    /// @notice Credits ever removed by `redeem`, the burned fees included.
    function totalRedeemed() external view returns (uint256) {
        return _totalRedeemed;
    }

    /// @notice The fee part of `totalRedeemed`: credits burned as protocol fees.
    function totalFeesBurned() external view returns (uint256) {
        return _totalFeesBurned;
    }

    /// @notice Credits `buy(stoaAmount, 0)` would give now (reverts like `buy` on a bad price).
    function quoteBuy(uint256 stoaAmount) external view returns (uint256 credits) {
        return Math.mulDiv(stoaAmount, _price(), CONVERSION_SCALE);
    }

    /// @notice Fee and STOA `redeem(amount, 0)` would give now (reverts like `redeem` on a bad price).
    function quoteRedeem(uint256 amount) external view returns (uint256 fee, uint256 stoa) {
        fee = Math.mulDiv(amount, redeemFeeBps, BPS);
        stoa = Math.mulDiv(amount - fee, CONVERSION_SCALE, _price());
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev The one place balances change. Mints when `from` is zero, burns when `to` is zero.
    /// `earned` marks credits that become (to a receiver) or come out of (from a redeemer) the
    /// redeemable part; any other debit clamps the sender's redeemable part to its new balance,
    /// so non-redeemable credits are spent first. Reads and writes each account slot whole (see
    /// ACCOUNT WORDS), so the protocol flag that shares it is kept.
    function _update(address from, address to, uint256 amount, bool earned) internal {
        uint120 value = amount.toUint120(); // No balance can reach 2^120 (see Account).
        if (from == address(0)) {
            _totalSupply += value; // Checked: caps the supply, which bounds every balance below.
        } else {
            Account storage sender = _accounts[from];
            uint256 word = _accountWord(sender);
            uint256 balance = word & _MASK128;
            if (balance < value) revert CreditsInsufficientBalance(from, balance, value);
            uint256 redeemable = (word >> _REDEEMABLE) & _MASK120;
            // Underflow not possible: value <= balance, checked above; in the redeem case
            // (`earned`, to == 0) value <= redeemable was checked by the caller.
            unchecked {
                balance -= value;
                if (earned && to == address(0)) redeemable -= value;
            }
            if (redeemable > balance) redeemable = balance;
            _setAccountWord(
                sender, (word & ~(_MASK128 | (_MASK120 << _REDEEMABLE))) | balance | (redeemable << _REDEEMABLE)
            );
        }

        if (to == address(0)) {
            // Underflow not possible: value <= a balance <= totalSupply.
            unchecked {
                _totalSupply -= value;
            }
        } else {
            Account storage receiver = _accounts[to];
            uint256 word = _accountWord(receiver);
            // Overflow not possible: balance + value <= totalSupply < 2^120 and redeemable <= balance,
            // so neither field carries into the one above it.
            unchecked {
                word += value;
                if (earned) word += uint256(value) << _REDEEMABLE;
            }
            _setAccountWord(receiver, word);
        }

        emit Transfer(from, to, amount);
    }

    /// @dev The oracle price (8 decimals), checked positive and not older than `maxPriceAge`.
    function _price() internal view returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = oracle.latestRoundData();
        if (answer <= 0) revert CreditsInvalidPrice(answer);
        // A timestamp in the future (a misbehaving feed) counts as age 0, not as an underflow. A
        // validator's few seconds of timestamp leeway do not matter at price-age scales.
        // forge-lint: disable-next-line(block-timestamp)
        uint256 age = block.timestamp > updatedAt ? block.timestamp - updatedAt : 0;
        if (age > maxPriceAge) revert CreditsStalePrice(updatedAt, maxPriceAge);
        // casting to 'uint256' is safe because answer > 0 was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint256(answer);
    }

    function _setOracle(IAggregatorV3 oracle_) internal {
        uint8 oracleDecimals = address(oracle_).code.length == 0 ? 0 : oracle_.decimals();
        if (oracleDecimals != ORACLE_DECIMALS) revert CreditsInvalidOracle(address(oracle_), oracleDecimals);
        oracle = oracle_;
        emit OracleSet(address(oracle_));
    }

    function _setMaxPriceAge(uint256 value) internal {
        if (value == 0 || value > MAX_PRICE_AGE) revert CreditsInvalidParameter("maxPriceAge", value);
        uint256 previous = maxPriceAge;
        // casting to 'uint32' is safe because value <= MAX_PRICE_AGE was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        maxPriceAge = uint32(value);
        emit ParameterUpdated("maxPriceAge", previous, value);
    }

    function _setRedeemFeeBps(uint256 value) internal {
        if (value > MAX_REDEEM_FEE_BPS) revert CreditsInvalidParameter("redeemFeeBps", value);
        uint256 previous = redeemFeeBps;
        // casting to 'uint16' is safe because value <= MAX_REDEEM_FEE_BPS was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        redeemFeeBps = uint16(value);
        emit ParameterUpdated("redeemFeeBps", previous, value);
    }

    /*//////////////////////////////////////////////////////////////
                              ACCOUNT WORDS
    //////////////////////////////////////////////////////////////*/

    // `_update` reads and writes an account's slot as one word: Solidity would copy the struct member
    // by member (a read-mask-write each), ~500 gas more per move. The offsets are `Account`'s layout
    // (members packed from the low bits in declaration order): balance (0) | redeemable (128) |
    // isProtocol (248). The views read the same slot through Solidity's layout.

    uint256 private constant _MASK120 = (1 << 120) - 1;
    uint256 private constant _MASK128 = (1 << 128) - 1;
    uint256 private constant _REDEEMABLE = 128;

    function _accountWord(Account storage account) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(account.slot)
        }
    }

    function _setAccountWord(Account storage account, uint256 word) private {
        assembly ("memory-safe") {
            sstore(account.slot, word)
        }
    }
}
