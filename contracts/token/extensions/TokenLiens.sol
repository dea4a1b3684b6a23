// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {REGISTRAR_ROLE} from "../../RWAAccessed.sol";
import {AccountWord} from "../TokenWords.sol";
import {TokenHolderLimits} from "./TokenHolderLimits.sol";

/**
 * @title TokenLiens
 * @notice Extension: liens. A lien encumbers part of a holder's free units for a beneficiary (a lending bank): they
 * stay the holder's but never move (not even in a forced move) until the registrar or the beneficiary releases them;
 * after a recovery the lien follows the holder's new wallet.
 */
abstract contract TokenLiens is TokenHolderLimits {
    using AccountWord for uint256;

    /// @dev Lien record, two slots.
    struct Lien {
        address holder;
        uint96 amount;
        address beneficiary;
        bool released;
    }

    uint256 internal _lienCount;
    mapping(uint256 lienId => Lien) internal _liens;

    /// @dev Encumbers `amount` (<= free balance, < 2**96) of `holder` under a new lien for `beneficiary`.
    function _createLien(address holder, address beneficiary, uint256 amount, bytes32 reason, bytes32 documentHash)
        internal
        returns (uint256 lienId)
    {
        if (beneficiary == address(0) || holder == address(0)) revert ZeroAddress();
        _requireNotRecovered(holder);
        _requireFree(holder, amount);
        lienId = ++_lienCount;
        _liens[lienId] = Lien(holder, SafeCast.toUint96(amount), beneficiary, false);
        _encumbered[holder] += amount;
        _accounts[holder] = _accounts[holder].lock(amount);
        emit LienCreated(lienId, holder, beneficiary, amount, reason, documentHash);
    }

    /// @dev Releases a lien: the registrar or the lien's beneficiary.
    function _releaseLien(uint256 lienId) internal {
        Lien storage l = _activeLien(lienId);
        address beneficiary = l.beneficiary;
        if (msg.sender != beneficiary) _checkRole(REGISTRAR_ROLE);
        l.released = true;
        address holder = _current(l.holder);
        uint256 amount = l.amount;
        _encumbered[holder] -= amount;
        uint256 a = _accounts[holder].unlock(amount);
        _accounts[holder] = a & AccountWord.SHORT != 0 ? _refreeze(holder, a) : a; // a short frozen amount takes them first
        emit LienReleased(lienId, holder, beneficiary, amount, msg.sender);
    }

    /// @dev Gives an active lien a new beneficiary: the current beneficiary or the registrar.
    function _changeLienBeneficiary(uint256 lienId, address newBeneficiary) internal {
        Lien storage l = _activeLien(lienId);
        address previous = l.beneficiary;
        if (msg.sender != previous) _checkRole(REGISTRAR_ROLE);
        if (newBeneficiary == address(0)) revert ZeroAddress();
        l.beneficiary = newBeneficiary;
        emit LienBeneficiaryChanged(lienId, previous, newBeneficiary, msg.sender);
    }

    /// @dev An active lien.
    function _activeLien(uint256 lienId) internal view returns (Lien storage l) {
        l = _liens[lienId];
        if (l.beneficiary == address(0) || l.released) revert LienNotActive(lienId);
    }
}
