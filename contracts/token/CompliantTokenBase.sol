// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ShortString, ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {RWAAccessed} from "../RWAAccessed.sol";
import {ICompliantToken} from "../interfaces/ICompliantToken.sol";
import {IIdentityRegistry, IdentityWord} from "../interfaces/IIdentityRegistry.sol";
import {IAssetRegistry, AssetStatus} from "../interfaces/IAssetRegistry.sol";
import {AccountWord, CounterWord, RulesWord, SupplyWord} from "./TokenWords.sol";

/**
 * @title CompliantTokenBase
 * @notice The state of an rwaledger token and its primitives: the ERC-20 state (one account word per wallet, one
 * holding word per multi-wallet investor, the supply word), the clone's immutable arguments, the identity registry
 * calls, the investor bookkeeping helpers, and the hooks the rule extensions override ({CompliantTokenCore} runs
 * them). Storage: slot 5 packs OpenZeppelin's `Pausable._paused` (byte 0) with the rule variables (flags, lock-up,
 * max holders, max balance): ONE SLOAD reads them all. Bit positions of every packed word are named in
 * TokenWords.sol and pinned against the compiler's layout by tests/contracts/test_contracts_layout.py.
 */
abstract contract CompliantTokenBase is ERC20, Pausable, RWAAccessed, ICompliantToken {
    using IdentityWord for uint256;
    using AccountWord for uint256;
    using SupplyWord for uint256;

    // ---- move kinds of {_plan}
    uint256 internal constant _TRANSFER = 0; // ordinary transfer / transferFrom
    uint256 internal constant _MINT = 1; // registrar mint
    uint256 internal constant _REDEEM = 2; // holder locks units for redemption (nothing moves): canTransfer(from, 0)
    uint256 internal constant _FORCED = 3; // forced transfer, registrar burn, redemption delivery
    uint256 internal constant _FORCED_FROZEN = 4; // the same, allowed to move frozen units
    uint256 internal constant _SKIP_ASSET_CHECK = 0x100; // a batch checks the asset's status once

    // ---- slot 5, packed after Pausable._paused (byte 0) in this order: {RulesWord}. Each field belongs to the
    // extension whose setter writes it (flags: this contract, country rules and holder limits).
    uint8 internal _flags;
    uint40 internal _lockupUntil; // TokenLockup
    uint32 internal _maxHolders; // TokenHolderLimits
    uint104 internal _maxBalance; // TokenHolderLimits

    uint256 internal _counters; // {CounterWord}: investors holding units (all, per category, foreign), frozen wallets
    uint256 internal _amounts; // {SupplyWord}: totalSupply | units held by foreign investors
    mapping(address wallet => uint256) internal _accounts; // {AccountWord}
    mapping(address investor => uint256) internal _holdings; // {AccountWord}: multi-wallet investors
    mapping(address holder => uint256) internal _encumbered; // units under liens (TokenLiens)
    mapping(address holder => uint256) internal _locked; // units locked for redemption (CommodityToken)
    /// @dev lost wallet => wallet its state was recovered to (liens and redemptions follow the chain).
    mapping(address lost => address) internal _successor;
    /// @dev ERC-3643 `onchainID()`: the token's identity contract, if the issuer set one.
    address internal _onchainID;

    /// @notice The shared identity registry.
    IIdentityRegistry public immutable identityRegistry;
    /// @notice The shared asset registry.
    address public immutable assetRegistry;

    /// @dev Everything {_plan} decides about one balance change, for {_apply}.
    struct Move {
        address from;
        address to;
        uint256 value;
        uint256 kind;
        uint256 fromParty; // identity party words
        uint256 toParty;
        uint256 fromAccount; // account words before the move
        uint256 toAccount;
        address fromInvestor;
        address toInvestor;
        uint256 fromHolding; // investor holdings (balance | class) before the move
        uint256 toHolding;
        uint256 fromClass; // current classes
        uint256 toClass;
        uint256 countersBefore; // counters with the reclassifications, before the sender leaves / recipient joins
        uint256 counters; // after the move (valid when countersChanged)
        bool countersChanged;
        bool joins; // the recipient investor joins the cap table
        bool same; // two wallets of one investor
        bool balancesOnly; // two existing single-wallet holders of one class: only the balances change
        bool recipientRules; // the recipient's rules apply: mints, transfers, forced moves (not burns, redemptions)
        uint256 partialUsed; // partially frozen units a forced move consumes
        uint256 frozenUsed; // frozen units it moves (all of them when the wallet is frozen)
        int256 foreignDelta; // change of the units held by foreign investors
        uint256 reclassified; // bit 0: the sender's investor was counted again under a new class; bit 1: the recipient's
    }

    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    constructor(address identityRegistry_, address authority_, address assetRegistry_)
        ERC20("", "")
        RWAAccessed(authority_)
    {
        if (identityRegistry_ == address(0) || assetRegistry_ == address(0)) revert ZeroAddress();
        identityRegistry = IIdentityRegistry(identityRegistry_);
        assetRegistry = assetRegistry_;
        _flags = RulesWord.FLAG_DISABLED; // the implementation itself can never move units; clones start at 0
    }

    // ------------------------------------------------------------------ ERC-20 from the clone's code and _accounts

    /// @notice Token name (from the clone's immutable arguments).
    /// @return The name.
    function name() public view override returns (string memory) {
        return ShortStrings.toString(ShortString.wrap(_arg(0)));
    }

    /// @notice Token symbol (from the clone's immutable arguments).
    /// @return The symbol.
    function symbol() public view override returns (string memory) {
        return ShortStrings.toString(ShortString.wrap(_arg(32)));
    }

    /// @notice Token decimals (from the clone's immutable arguments).
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return uint8(uint256(_arg(72)) >> 248);
    }

    /// @notice The asset id of this token in the {AssetRegistry}.
    /// @return The asset id.
    function assetId() public view returns (uint256) {
        return uint256(_arg(64)) >> 192;
    }

    /// @notice ISO 3166-1 numeric code of the asset's home country (0 = none): investors from any other country are
    /// foreign for the foreign-ownership caps.
    /// @return The code.
    function homeCountry() public view returns (uint256) {
        return uint256(_arg(73)) >> 240;
    }

    /// @notice The balance of a wallet.
    /// @param account The wallet.
    /// @return The balance.
    function balanceOf(address account) public view override returns (uint256) {
        return _accounts[account].balance();
    }

    /// @notice The total supply.
    /// @return The supply.
    function totalSupply() public view override returns (uint256) {
        return _amounts.supply();
    }


    // ---- the hooks the rule extensions override (each calls `super` first and returns its code if non-zero)

    /// @dev Rules about the parties, after the identity checks (codes 4..7). `m` has the party and account words.
    function _checkParties(Move memory m, uint256 ruleWord) internal view virtual returns (uint256) {}

    /// @dev Rules about what the investors would hold, after the balance checks and {_book} (codes 10, 11, 15..17);
    /// with `m.balancesOnly` (two existing single-wallet holders keeping their class) nothing was booked.
    function _checkHoldings(Move memory m, uint256 ruleWord) internal view virtual returns (uint256) {}

    /// @dev ERC-7943 `canSend` / `canReceive` of a verified wallet: account-level rules only.
    function _accountAllowed(address, uint256, bool, uint256) internal view virtual returns (bool) {
        return true;
    }

    /// @dev Frozen units of `wallet` (account word `a`) a forced move may consume (TokenFreezable).
    function _movableFrozen(address wallet, uint256 a) internal view virtual returns (uint256) {}

    /// @dev A forced move consumed `used` frozen units of `wallet` (TokenFreezable books and announces it).
    function _frozenUnitsMoved(address wallet, uint256 used) internal virtual {}

    /// @dev Account word `a` of a wallet whose balance grew or whose units were released, with any frozen amount
    /// set beyond what it covered taking them first (TokenFreezable; only wallets with `AccountWord.SHORT`).
    function _refreeze(address, uint256 a) internal view virtual returns (uint256) {
        return a;
    }

    /// @dev Reason code for a mint of `value` (0 = fine): the cap or the reserve.
    function _supplyCheck(uint256 value) internal view virtual returns (uint256);

    // ------------------------------------------------------------------ internals

    /// @dev Locks `amount` of `holder`'s free units (redemption requests).
    function _lockUnits(address holder, uint256 amount) internal {
        _locked[holder] += amount;
        _accounts[holder] = _accounts[holder].lock(amount);
    }

    /// @dev Unlocks `amount` of locked units of `holder`: for a delivery (`release` false: the units are burned
    /// next) or back to the holder (`release` true: a short frozen amount takes them first).
    function _unlockUnits(address holder, uint256 amount, bool release) internal {
        _locked[holder] -= amount;
        uint256 a = _accounts[holder].unlock(amount);
        if (release && a & AccountWord.SHORT != 0) a = _refreeze(holder, a);
        _accounts[holder] = a;
    }

    /// @dev Reverts {ArrayLengthMismatch} unless `a == b` and non-zero.
    function _sameLength(uint256 a, uint256 b) internal pure {
        if (a == 0 || a != b) revert ArrayLengthMismatch();
    }

    /// @dev The wallet that now holds `wallet`'s state (follows recoveries).
    function _current(address wallet) internal view returns (address) {
        address next = _successor[wallet];
        while (next != address(0)) {
            wallet = next;
            next = _successor[wallet];
        }
        return wallet;
    }

    /// @dev Liens and redemption requests of a recovered-from wallet resolve to its successor ({_current}), so none
    /// may start from it after the recovery.
    function _requireNotRecovered(address wallet) internal view {
        address successor = _successor[wallet];
        if (successor != address(0)) revert WalletRecovered(wallet, successor);
    }

    /// @dev Reverts unless `amount` is non-zero and within `holder`'s free balance.
    function _requireFree(address holder, uint256 amount) internal view {
        if (amount == 0) revert ZeroAmount();
        uint256 free = _accounts[holder].free();
        if (amount > free) revert AmountExceedsFreeBalance(holder, amount, free);
    }

    function _emitReclassified(address investor, uint256 cls) internal {
        emit HoldingReclassified(investor, uint8(cls & 3), cls & AccountWord.FOREIGN != 0);
    }

    /// @dev What an investor holds in this token: its wallet's account word for a single-wallet investor, else its
    /// holdings word (written on its first move after it got a second wallet; until then its first wallet's).
    function _holding(address wallet, address investor, uint256 party, uint256 account) internal view returns (uint256) {
        if (!party.multi()) return account & (AccountWord.UNITS | AccountWord.CLASS_MASK);
        uint256 h = _holdings[investor];
        if (h & AccountWord.INIT != 0) return h;
        uint256 first = investor == wallet ? account : _accounts[investor];
        return first & (AccountWord.UNITS | AccountWord.CLASS_MASK);
    }

    /// @dev The class an investor counts under now: category (bits 0..1) | foreign (bit 2).
    function _classOf(uint256 party, uint256 home) internal pure returns (uint256 cls) {
        cls = party.category() & 3;
        if (home != 0 && party.country() != home) cls |= AccountWord.FOREIGN;
    }

    /// @dev Moves a holding of `total` units from its counted class to `cls` in the counters (and foreign units).
    function _reclass(Move memory m, uint256 c, uint256 holding, uint256 cls, uint256 total)
        internal
        pure
        returns (uint256)
    {
        uint256 old = holding.class_();
        c = _countHolder(_countHolder(c, old, false), cls, true);
        if ((old ^ cls) & AccountWord.FOREIGN != 0) m.foreignDelta += cls & AccountWord.FOREIGN != 0 ? int256(total) : -int256(total);
        return c;
    }

    /// @dev Adds (or removes) one investor of class `cls` to the counters.
    function _countHolder(uint256 c, uint256 cls, bool add) internal pure returns (uint256) {
        uint256 d = 1; // field 0: all holders
        uint256 category = cls & 3;
        if (category != 0) d |= CounterWord.one(category);
        if (cls & AccountWord.FOREIGN != 0) d |= CounterWord.one(CounterWord.FOREIGN_HOLDERS);
        return add ? c + d : c - d;
    }

    function _assetActive() internal view returns (bool) {
        return IAssetRegistry(assetRegistry).statusOf(assetId()) == AssetStatus.Active;
    }

    /// @dev `identityRegistry.pairInfo(from, to)` without the ABI-coder overhead (hot path of every transfer).
    function _pairInfo(address from, address to) internal view returns (uint256 fromWord, uint256 toWord) {
        address registry = address(identityRegistry);
        bytes4 selector = IIdentityRegistry.pairInfo.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), from)
            mstore(add(m, 0x24), to)
            if iszero(and(gt(returndatasize(), 0x3f), staticcall(gas(), registry, m, 0x44, 0x00, 0x40))) {
                revert(0x00, 0x00)
            }
            fromWord := mload(0x00)
            toWord := mload(0x20)
        }
    }

    /// @dev `identityRegistry.infoOf(wallet)` without the ABI-coder overhead.
    function _infoOf(address wallet) internal view returns (uint256 word) {
        address registry = address(identityRegistry);
        bytes4 selector = IIdentityRegistry.infoOf.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), wallet)
            if iszero(and(gt(returndatasize(), 0x1f), staticcall(gas(), registry, m, 0x24, 0x00, 0x20))) {
                revert(0x00, 0x00)
            }
            word := mload(0x00)
        }
    }

    /// @dev The whole rules word (slot of `_paused`/`_flags`): paused byte 0, then the rule variables.
    function _rules() internal view returns (uint256 w) {
        assembly ("memory-safe") {
            w := sload(_flags.slot)
        }
    }

    /// @dev 32 bytes of the clone's immutable arguments starting at `offset` (zero-padded past the end).
    function _arg(uint256 offset) internal view returns (bytes32 w) {
        assembly ("memory-safe") {
            extcodecopy(address(), 0x00, add(0x2d, offset), 0x20)
            w := mload(0x00)
        }
    }
}
