// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IdentityWord} from "../interfaces/IIdentityRegistry.sol";
import {IERC7943Fungible} from "../interfaces/standards/IERC7943.sol";
import {AccountWord, RulesWord, SupplyWord} from "./TokenWords.sol";
import {CompliantTokenBase} from "./CompliantTokenBase.sol";

/**
 * @title CompliantTokenCore
 * @notice The rules engine every rwaledger token rule extends: {_plan} decides every balance change (and every check
 * view runs it), {_apply} applies it. The rules themselves are extensions (`extensions/`), each overriding one hook
 * of {CompliantTokenBase} and calling `super`, so the first rule that fails decides the reason code:
 * - {_checkParties}: rules about the two parties (freezes, lock-up, country), after the identity checks;
 * - {_checkHoldings}: rules about what the investors would hold (max balance, holder caps, foreign ownership),
 *   after the balance checks and the bookkeeping of the move ({_book});
 * - {_accountAllowed}: ERC-7943's `canSend` / `canReceive` (account-level only).
 * The composition is {CompliantTokenRules}; the token implementation and its module both inherit it, so they share
 * one storage layout and one engine.
 */
abstract contract CompliantTokenCore is CompliantTokenBase {
    using IdentityWord for uint256;
    using AccountWord for uint256;

    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    constructor(address identityRegistry_, address authority_, address assetRegistry_)
        CompliantTokenBase(identityRegistry_, authority_, assetRegistry_)
    {}

    // ------------------------------------------------------------------ the rules engine

    /// @dev OpenZeppelin's ERC20 routes `transfer` and `transferFrom` here (its `_mint` / `_burn` are never used).
    function _update(address from, address to, uint256 value) internal override {
        _move(from, to, value, _TRANSFER);
    }

    /// @dev Plans a move, reverts {TransferNotAllowed} if a rule refuses it, else applies it.
    function _move(address from, address to, uint256 value, uint256 kind) internal returns (uint256 frozenUsed) {
        (uint256 code, Move memory m) = _plan(from, to, value, kind);
        if (code != 0) revert TransferNotAllowed(from, to, value, Reason(code));
        _apply(m);
        return m.frozenUsed;
    }

    /// @dev THE transfer rules. Returns the {Reason} code (the first rule that fails, in the order of the enum's
    /// README table) and everything {_apply} needs.
    function _plan(address from, address to, uint256 value, uint256 kind)
        internal
        view
        returns (uint256 code, Move memory m)
    {
        bool skipAssetCheck = kind & _SKIP_ASSET_CHECK != 0;
        kind &= 0xff;
        (m.from, m.to, m.value, m.kind) = (from, to, value, kind);
        uint256 ruleWord = _rules();
        if (ruleWord & RulesWord.DISABLED != 0) return (uint256(Reason.Disabled), m);
        if (ruleWord & RulesWord.PAUSED != 0) return (uint256(Reason.Paused), m);
        bool isMint = from == address(0);
        bool isBurn = to == address(0);
        if (isMint && !skipAssetCheck && !_assetActive()) return (uint256(Reason.AssetNotActive), m);

        if (isMint) m.toParty = _infoOf(to);
        else if (isBurn) m.fromParty = _infoOf(from);
        else (m.fromParty, m.toParty) = _pairInfo(from, to);
        if ((kind == _TRANSFER || kind == _REDEEM) && !m.fromParty.verified()) {
            return (uint256(Reason.SenderNotVerified), m);
        }
        m.recipientRules = !isBurn || isMint; // mints (also "to 0": refused, unverified), transfers, forced moves
        if (m.recipientRules && !m.toParty.verified()) return (uint256(Reason.RecipientNotVerified), m);
        if (!isMint) m.fromAccount = _accounts[from];
        if (!isBurn) m.toAccount = _accounts[to];
        code = _checkParties(m, ruleWord);
        if (code != 0) return (code, m);
        if (!isMint) {
            code = _balanceRules(m);
            if (code != 0 || kind == _REDEEM || from == to) return (code, m); // a self-transfer changes nothing else
        }
        if (!isMint && !isBurn && _balancesOnly(m)) return (_checkHoldings(m, ruleWord), m);
        m.fromInvestor = isMint ? address(0) : m.fromParty.investor(from);
        m.toInvestor = isBurn ? address(0) : m.toParty.investor(to);
        if (!isMint && !isBurn && m.fromInvestor == m.toInvestor) {
            m.same = true; // two wallets of one investor: no count, limit or class changes
            m.fromHolding = _holding(from, m.fromInvestor, m.fromParty, m.fromAccount);
            return (0, m);
        }
        _book(m);
        code = _checkHoldings(m, ruleWord);
        if (code == 0 && isMint) code = _supplyCheck(value);
    }


    /// @dev Whether a move between two different wallets is between two single-wallet investors (each wallet is its
    /// investor) who both hold units before and after it and keep the class they are counted under, at home or both
    /// abroad, and consumes no partially frozen units: then no count, class, foreign total or frozen amount changes,
    /// max balance is the only investor rule left, and {_apply} only moves the balances (the common transfer).
    function _balancesOnly(Move memory m) internal view returns (bool) {
        uint256 fromAccount = m.fromAccount;
        uint256 toAccount = m.toAccount;
        if ((m.fromParty | m.toParty) & IdentityWord.MULTI != 0 || m.partialUsed != 0 || toAccount & AccountWord.SHORT != 0) {
            return false; // a short-frozen recipient freezes what it receives
        }
        if (m.value >= (fromAccount & AccountWord.UNITS) || (toAccount & AccountWord.UNITS) == 0) return false; // someone leaves or joins
        uint256 home = homeCountry();
        uint256 fromClass = _classOf(m.fromParty, home);
        uint256 toClass = _classOf(m.toParty, home);
        if (fromClass != ((fromAccount >> AccountWord.CLASS_SHIFT) & 7) || toClass != ((toAccount >> AccountWord.CLASS_SHIFT) & 7)) return false;
        if ((fromClass ^ toClass) & AccountWord.FOREIGN != 0) return false;
        m.balancesOnly = true;
        return true;
    }

    /// @dev Balance and unlocked-balance rules of the sender.
    function _balanceRules(Move memory m) internal view returns (uint256) {
        uint256 balance = (m.fromAccount & AccountWord.UNITS);
        if (m.value > balance) return uint256(Reason.InsufficientBalance);
        uint256 free = balance - ((m.fromAccount >> AccountWord.UNAVAILABLE_SHIFT) & AccountWord.UNITS);
        if (m.kind == _FORCED_FROZEN) {
            // frozen units may move (the wallet freeze is ignored), units under a lien or locked may not
            if (m.value > free) {
                if (m.value - free > _movableFrozen(m.from, m.fromAccount)) {
                    return uint256(Reason.InsufficientUnlockedBalance);
                }
                m.partialUsed = m.value - free;
            }
            m.frozenUsed = m.fromAccount & AccountWord.FROZEN != 0 ? m.value : m.partialUsed; // a frozen wallet's units all are
            return 0;
        }
        return m.value > free ? uint256(Reason.InsufficientUnlockedBalance) : 0;
    }

    /// @dev Loads both investors' holdings and classes and books the move: the counters (an investor leaving or
    /// joining the cap table, or counted again under a new class) and the change of the foreign-held units. The
    /// counters are kept on every move, so a cap set later is right straight away; no rule is decided here.
    function _book(Move memory m) internal view {
        bool isMint = m.from == address(0);
        bool isBurn = m.to == address(0);
        uint256 home = homeCountry();
        if (!isMint) {
            m.fromHolding = _holding(m.from, m.fromInvestor, m.fromParty, m.fromAccount);
            m.fromClass = _classOf(m.fromParty, home);
        }
        if (!isBurn) {
            m.toHolding = _holding(m.to, m.toInvestor, m.toParty, m.toAccount);
            m.toClass = _classOf(m.toParty, home);
        }
        uint256 fromTotal = m.fromHolding & AccountWord.UNITS; // 0 for a mint
        uint256 toTotal = m.toHolding & AccountWord.UNITS; // 0 for a burn
        bool fromLeaves = !isMint && m.value != 0 && m.value == fromTotal;
        bool toJoins = !isBurn && m.value != 0 && toTotal == 0;
        bool reclassFrom = fromTotal != 0 && ((m.fromHolding >> AccountWord.CLASS_SHIFT) & 7) != m.fromClass;
        bool reclassTo = toTotal != 0 && ((m.toHolding >> AccountWord.CLASS_SHIFT) & 7) != m.toClass;
        if (fromLeaves || toJoins || reclassFrom || reclassTo) {
            uint256 c = _counters;
            if (reclassFrom) c = _reclass(m, c, m.fromHolding, m.fromClass, fromTotal);
            if (reclassTo) c = _reclass(m, c, m.toHolding, m.toClass, toTotal);
            m.reclassified = (reclassFrom ? 1 : 0) | (reclassTo ? 2 : 0);
            m.countersBefore = c; // still counts a sender that leaves in the same move
            if (fromLeaves) c = _countHolder(c, m.fromClass, false);
            if (toJoins) c = _countHolder(c, m.toClass, true);
            (m.counters, m.countersChanged, m.joins) = (c, true, toJoins);
        }
        if (m.value > AccountWord.UNITS) return; // a huge mint: refused by the cap, never booked
        int256 moved = int256(m.value);
        if (!isMint && m.fromClass & AccountWord.FOREIGN != 0) m.foreignDelta -= moved;
        if (!isBurn && m.toClass & AccountWord.FOREIGN != 0) m.foreignDelta += moved;
    }

    /// @dev Applies a planned move.
    function _apply(Move memory m) internal {
        (address from, address to, uint256 value) = (m.from, m.to, m.value);
        if (from == to) {
            emit Transfer(from, to, value); // a self-transfer moves nothing
            return;
        }
        if (m.balancesOnly) {
            unchecked {
                _accounts[from] = m.fromAccount - value; // value < the sender's balance
                _accounts[to] = m.toAccount + value; // the sum stays below the supply (< 2**120)
            }
            emit Transfer(from, to, value);
            return;
        }
        bool isMint = from == address(0);
        bool isBurn = to == address(0);
        if (!isMint) {
            uint256 a = m.fromAccount - value;
            uint256 used = m.partialUsed;
            if (used != 0) {
                a = (a - (used << AccountWord.UNAVAILABLE_SHIFT));
                _frozenUnitsMoved(from, used);
            }
            if (!m.same && !m.fromParty.multi()) a = ((a & ~AccountWord.CLASS_MASK) | (m.fromClass << AccountWord.CLASS_SHIFT));
            _accounts[from] = a;
        }
        if (!isBurn) {
            uint256 b = m.toAccount + value;
            if (b & AccountWord.SHORT != 0) b = _refreeze(to, b);
            if (!m.same && !m.toParty.multi()) b = ((b & ~AccountWord.CLASS_MASK) | (m.toClass << AccountWord.CLASS_SHIFT));
            _accounts[to] = b;
        }
        if (m.same) {
            if (m.fromParty.multi() && m.fromHolding & AccountWord.INIT == 0) _holdings[m.fromInvestor] = m.fromHolding | AccountWord.INIT;
        } else {
            if (!isMint && m.fromParty.multi()) {
                _holdings[m.fromInvestor] = ((m.fromHolding & AccountWord.UNITS) - value) | (m.fromClass << AccountWord.CLASS_SHIFT) | AccountWord.INIT;
            }
            if (!isBurn && m.toParty.multi()) {
                _holdings[m.toInvestor] = ((m.toHolding & AccountWord.UNITS) + value) | (m.toClass << AccountWord.CLASS_SHIFT) | AccountWord.INIT;
            }
            if (m.countersChanged) _counters = m.counters;
            if (m.reclassified & 1 != 0) _emitReclassified(m.fromInvestor, m.fromClass);
            if (m.reclassified & 2 != 0) _emitReclassified(m.toInvestor, m.toClass);
            if (isMint || isBurn || m.foreignDelta != 0) {
                uint256 amounts = _amounts;
                uint256 supply = (amounts & AccountWord.UNITS);
                if (isMint) supply += value;
                else if (isBurn) supply -= value;
                uint256 foreign = uint256(int256(((amounts >> SupplyWord.FOREIGN_SHIFT) & AccountWord.UNITS)) + m.foreignDelta);
                _amounts = supply | (foreign << SupplyWord.FOREIGN_SHIFT);
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev Burns `amount` of `from` (registrar); see {CompliantToken-burn}.
    function _burnUnits(address from, uint256 amount, bytes32 reason, bool includeFrozen) internal {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        uint256 frozenUsed = _move(from, address(0), amount, includeFrozen ? _FORCED_FROZEN : _FORCED);
        emit Burned(from, amount, reason, frozenUsed);
    }

    /// @dev Forces `amount` from `from` to `to` (registrar); see {CompliantToken-forcedTransfer}.
    function _forcedTransfer(address from, address to, uint256 amount, bytes32 reason, bool includeFrozen) internal {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (from == to) revert ForcedSelfTransfer(from);
        uint256 frozenUsed = _move(from, to, amount, includeFrozen ? _FORCED_FROZEN : _FORCED);
        emit IERC7943Fungible.ForcedTransfer(from, to, amount);
        emit ForcedTransferReason(reason, frozenUsed);
    }

    /// @dev ERC-7943 `canSend` / `canReceive`: a verified wallet of a token (not the implementation) that the rule
    /// extensions allow ({_accountAllowed}). No amount, no counterparty.
    function _eligible(address account, bool receiving) internal view returns (bool) {
        uint256 ruleWord = _rules();
        if (ruleWord & RulesWord.DISABLED != 0) return false;
        uint256 party = _infoOf(account);
        return party.verified() && _accountAllowed(account, party, receiving, ruleWord);
    }

}
