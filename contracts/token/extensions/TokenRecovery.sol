// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IToken} from "@tokenysolutions/t-rex/contracts/token/IToken.sol";
import {IdentityWord} from "../../interfaces/IIdentityRegistry.sol";
import {AccountWord, CounterWord, RulesWord} from "../TokenWords.sol";
import {TokenIssuance} from "./TokenIssuance.sol";

/**
 * @title TokenRecovery
 * @notice Extension: recovery of a lost wallet (ERC-3643 `recoveryAddress`). After the compliance officer replaced
 * the lost wallet in the identity registry, the registrar moves its whole balance and token state (wallet freeze,
 * frozen amount, lien-encumbered and redemption-locked units) to another wallet of the SAME investor; liens and
 * redemption requests follow ({CompliantTokenCore-_current}). Works while paused: it changes no owner.
 */
abstract contract TokenRecovery is TokenIssuance {
    using IdentityWord for uint256;
    using AccountWord for uint256;

    /// @dev Moves `lostWallet`'s units and state to `newWallet`; returns the investor id.
    function _recover(address lostWallet, address newWallet) internal returns (address investor) {
        uint256 lost;
        (investor, lost) = _checkRecovery(lostWallet, newWallet);
        uint256 neu = _accounts[newWallet];
        bool frozen = lost & AccountWord.FROZEN != 0;
        if (frozen && neu & AccountWord.FROZEN != 0) _counters -= CounterWord.one(CounterWord.FROZEN_WALLETS); // two freezes become one
        uint256 merged = (neu + (lost & (AccountWord.UNITS | AccountWord.UNAVAILABLE))) | (lost & (AccountWord.FROZEN | AccountWord.SHORT));
        delete _accounts[lostWallet];
        uint256 frozenTokens = _moveComponent(_frozenTokens, lostWallet, newWallet);
        uint256 encumbered = _moveComponent(_encumbered, lostWallet, newWallet);
        uint256 locked = _moveComponent(_locked, lostWallet, newWallet);
        _accounts[newWallet] = merged & AccountWord.SHORT != 0 ? _refreeze(newWallet, merged) : merged;
        _successor[lostWallet] = newWallet;
        emit Transfer(lostWallet, newWallet, lost.balance());
        if (frozen) {
            emit IToken.AddressFrozen(lostWallet, false, msg.sender);
            emit IToken.AddressFrozen(newWallet, true, msg.sender);
        }
        if (frozenTokens != 0) {
            emit IToken.TokensUnfrozen(lostWallet, frozenTokens);
            emit IToken.TokensFrozen(newWallet, frozenTokens);
        }
        emit IToken.RecoverySuccess(lostWallet, newWallet, investor);
        emit WalletStateRecovered(lostWallet, newWallet, lost.balance(), frozen, frozenTokens, encumbered, locked);
    }

    /// @dev The checks of {recoveryAddress}; returns the investor and the lost wallet's account word, and makes sure
    /// the investor's sum no longer depends on its first wallet's balance.
    function _checkRecovery(address lostWallet, address newWallet) private returns (address investor, uint256 lost) {
        if (lostWallet == address(0) || newWallet == address(0) || lostWallet == newWallet) {
            revert InvalidRecovery(lostWallet, newWallet);
        }
        if (_rules() & RulesWord.DISABLED != 0) {
            revert TransferNotAllowed(lostWallet, newWallet, 0, Reason.Disabled);
        }
        (uint256 lostParty, uint256 newParty) = _pairInfo(lostWallet, newWallet);
        investor = lostParty.investor(lostWallet);
        if (lostParty == 0 || newParty.investor(newWallet) != investor) {
            revert RecoveryNotSameInvestor(lostWallet, newWallet);
        }
        if (newParty & IdentityWord.ELIGIBLE == 0) revert InvalidRecovery(lostWallet, newWallet);
        if (identityRegistry.walletStatus(lostWallet) != 3) revert WalletNotLost(lostWallet);
        _requireNotRecovered(lostWallet); // its liens and requests already follow its successor
        lost = _accounts[lostWallet];
        if (lost & ~AccountWord.CLASS_MASK == 0) revert InvalidRecovery(lostWallet, newWallet);
        if (lostParty.multi()) {
            uint256 h = _holding(lostWallet, investor, lostParty, lost);
            if (h & AccountWord.INIT == 0) _holdings[investor] = h | AccountWord.INIT;
        }
    }

    function _moveComponent(mapping(address => uint256) storage component, address from, address to)
        private
        returns (uint256 amount)
    {
        amount = component[from];
        if (amount != 0) {
            component[to] += amount;
            delete component[from];
        }
    }
}
