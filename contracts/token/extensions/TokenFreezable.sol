// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IToken} from "@tokenysolutions/t-rex/contracts/token/IToken.sol";
import {IERC7943Fungible} from "../../interfaces/standards/IERC7943.sol";
import {CompliantTokenCore} from "../CompliantTokenCore.sol";
import {AccountWord, CounterWord} from "../TokenWords.sol";

/**
 * @title TokenFreezable
 * @notice Rule extension: wallet freezes (ERC-3643 `setAddressFrozen`) and frozen amounts (ERC-3643
 * `freezePartialTokens`, ERC-7943 `setFrozenTokens`). A frozen wallet neither sends ({Reason.SenderFrozen}) nor
 * receives ({Reason.RecipientFrozen}); frozen units are unavailable ({Reason.InsufficientUnlockedBalance}) and move
 * only in a forced move that includes them.
 * @dev The frozen amount set may exceed what the wallet covers (ERC-7943): the covered part is in the account word's
 * unavailable field, the rest freezes units as they arrive or are released (`AccountWord.SHORT`).
 */
abstract contract TokenFreezable is CompliantTokenCore {
    using AccountWord for uint256;

    mapping(address holder => uint256) internal _frozenTokens; // the frozen amount set (may exceed the balance)

    function _checkParties(Move memory m, uint256 ruleWord) internal view virtual override returns (uint256 code) {
        code = super._checkParties(m, ruleWord);
        if (code != 0) return code;
        if (m.kind != _FORCED_FROZEN && m.fromAccount & AccountWord.FROZEN != 0) return uint256(Reason.SenderFrozen);
        if (m.recipientRules && m.toAccount & AccountWord.FROZEN != 0) return uint256(Reason.RecipientFrozen);
    }

    function _accountAllowed(address account, uint256 party, bool receiving, uint256 ruleWord)
        internal
        view
        virtual
        override
        returns (bool)
    {
        return super._accountAllowed(account, party, receiving, ruleWord) && !_accounts[account].isFrozen();
    }

    function _movableFrozen(address wallet, uint256 a) internal view virtual override returns (uint256) {
        return _effectiveFrozen(wallet, a, _frozenTokens[wallet]);
    }

    /// @dev ERC-7943: a forced move of frozen units unfreezes them first, `Frozen` before `Transfer`.
    function _frozenUnitsMoved(address wallet, uint256 used) internal virtual override {
        uint256 left = _frozenTokens[wallet] - used;
        _frozenTokens[wallet] = left;
        emit IERC7943Fungible.Frozen(wallet, left);
    }

    function _refreeze(address wallet, uint256 a) internal view virtual override returns (uint256) {
        uint256 declared = _frozenTokens[wallet];
        uint256 others = _encumbered[wallet] + _locked[wallet];
        uint256 room = a.balance() - others;
        uint256 covered = declared < room ? declared : room;
        a = a.withUnavailable(others + covered);
        return declared > covered ? a : a & ~AccountWord.SHORT;
    }

    /// @dev Sets `wallet`'s frozen amount to `amount`, which may exceed what the wallet can cover: the covered part is
    /// unavailable now, the rest freezes units as they arrive or are released. Emits ERC-3643's `TokensFrozen` /
    /// `TokensUnfrozen` with the change and ERC-7943's `Frozen` with the new amount.
    function _setFrozen(address wallet, uint256 amount) internal {
        uint256 old = _frozenTokens[wallet];
        uint256 a = _accounts[wallet];
        uint256 others = a.unavailable() - _effectiveFrozen(wallet, a, old); // encumbered + locked
        uint256 room = a.balance() - others;
        uint256 covered = amount < room ? amount : room;
        a = a.withUnavailable(others + covered);
        _accounts[wallet] = amount > covered ? a | AccountWord.SHORT : a & ~AccountWord.SHORT;
        _frozenTokens[wallet] = amount;
        if (amount > old) emit IToken.TokensFrozen(wallet, amount - old);
        else if (amount < old) emit IToken.TokensUnfrozen(wallet, old - amount);
        emit IERC7943Fungible.Frozen(wallet, amount);
    }

    /// @dev ERC-3643 `freezePartialTokens`: at most the free balance.
    function _freezePartial(address wallet, uint256 amount) internal {
        _requireFree(wallet, amount);
        _setFrozen(wallet, _frozenTokens[wallet] + amount);
    }

    /// @dev ERC-3643 `unfreezePartialTokens`: at most the frozen amount.
    function _unfreezePartial(address wallet, uint256 amount) internal {
        uint256 frozen = _frozenTokens[wallet];
        if (amount == 0) revert ZeroAmount();
        if (amount > frozen) revert AmountExceedsFrozen(wallet, amount, frozen);
        _setFrozen(wallet, frozen - amount);
    }

    /// @dev Freezes or unfreezes a whole wallet, keeping the frozen-wallet count.
    function _setAddressFrozen(address wallet, bool freeze) internal {
        uint256 a = _accounts[wallet];
        if (a.isFrozen() != freeze) {
            _accounts[wallet] = a ^ AccountWord.FROZEN;
            if (freeze) _counters += CounterWord.one(CounterWord.FROZEN_WALLETS);
            else _counters -= CounterWord.one(CounterWord.FROZEN_WALLETS);
        }
        emit IToken.AddressFrozen(wallet, freeze, msg.sender);
    }

    /// @dev The part of `declared` frozen units that account word `a` holds unavailable.
    function _effectiveFrozen(address wallet, uint256 a, uint256 declared) internal view returns (uint256) {
        if (a & AccountWord.SHORT == 0) return declared;
        return a.unavailable() - _encumbered[wallet] - _locked[wallet];
    }
}
