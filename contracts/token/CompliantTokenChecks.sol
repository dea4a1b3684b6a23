// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IToken} from "@tokenysolutions/t-rex/contracts/token/IToken.sol";
import {COMPLIANCE_ROLE} from "../RWAAccessed.sol";
import {IERC7943Fungible} from "../interfaces/standards/IERC7943.sol";
import {IERC1404} from "../interfaces/standards/IERC1404.sol";
import {CompliantTokenRules} from "./CompliantTokenRules.sol";
import {AccountWord} from "./TokenWords.sol";

/**
 * @title CompliantTokenChecks
 * @notice Part of a token implementation ({CompliantToken}): what integrators ask before a move, through the
 * standards (ERC-7943 `canTransfer` / `canSend` / `canReceive` / frozen amounts, ERC-1404
 * `detectTransferRestriction`, ERC-165), and the registrar's and the distribution manager's own checks. Every check
 * runs the rules engine the move runs.
 */
abstract contract CompliantTokenChecks is CompliantTokenRules, IERC7943Fungible {
    using AccountWord for uint256;

    // ------------------------------------------------------------------ the standards' checks

    /// @notice Whether `amount` could move from `from` to `to` now (ERC-7943; also what ERC-3643's
    /// `compliance().canTransfer` answers, see {CompliantTokenModule-compliance}). Runs exactly the checks the move
    /// runs (`from == 0`: a mint; `to == 0`: a holder locking units for redemption). {detectTransferRestriction}
    /// says why not.
    /// @param from The sender (0 = mint).
    /// @param to The recipient (0 = redemption request).
    /// @param amount The amount.
    /// @return allowed True when allowed.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool allowed) {
        return _check(from, to, amount) == 0;
    }

    /// @notice ERC-1404: the {Reason} code a move of `value` from `from` to `to` would fail with now, 0 when it
    /// would succeed (`messageForTransferRestriction` explains a code). The same checks as {canTransfer}.
    /// @param from The sender (0 = mint).
    /// @param to The recipient (0 = redemption request).
    /// @param value The amount.
    /// @return The {Reason} code.
    function detectTransferRestriction(address from, address to, uint256 value) external view returns (uint8) {
        return uint8(_check(from, to, value));
    }


    /// @notice Whether the registrar could force `amount` from `from` to `to` (`to == 0`: a burn) now, and if not,
    /// why. Runs exactly the checks {forcedTransfer} / {burn} run.
    /// @param from The holder.
    /// @param to The recipient (0 = burn).
    /// @param amount The amount.
    /// @param includeFrozen Whether frozen units may move.
    /// @return ok True when allowed.
    /// @return reason The {Reason} code (0 when ok).
    function canForceTransfer(address from, address to, uint256 amount, bool includeFrozen)
        external
        view
        returns (bool ok, uint8 reason)
    {
        if (from == to) revert ForcedSelfTransfer(from); // as {forcedTransfer}
        (uint256 code,) = _plan(from, to, amount, includeFrozen ? _FORCED_FROZEN : _FORCED);
        return (code == 0, uint8(code));
    }

    /// @notice Whether `account` may hold, send and receive units (and be paid distributions): a verified wallet
    /// that is not frozen.
    /// @param account The wallet.
    /// @return True when allowed.
    function canTransact(address account) public view returns (bool) {
        return _accounts[account] & AccountWord.FROZEN == 0 && identityRegistry.isVerified(account);
    }

    /// @notice Who is paid what `account` is entitled to (its successor after a recovery), and whether that wallet
    /// may be paid now ({canTransact}). What the {DistributionManager} asks before paying a claim.
    /// @param account The entitled wallet.
    /// @return payee The wallet that now holds `account`'s units.
    /// @return allowed Whether `payee` may be paid.
    function payeeOf(address account) external view returns (address payee, bool allowed) {
        payee = _current(account);
        allowed = canTransact(payee);
    }

    /// @notice ERC-7943: whether `account` may send units at all: a verified wallet, not frozen (of a token, not of
    /// the implementation). Never reverts; amounts and counterparties are {canTransfer}'s.
    /// @param account The wallet.
    /// @return allowed True when allowed.
    function canSend(address account) external view returns (bool allowed) {
        return _eligible(account, false);
    }

    /// @notice ERC-7943: whether `account` may receive units at all: as {canSend}, and its investor's country passes
    /// the token's country rule.
    /// @param account The wallet.
    /// @return allowed True when allowed.
    function canReceive(address account) external view returns (bool allowed) {
        return _eligible(account, true);
    }

    /// @notice ERC-165: ERC-165, ERC-20, ERC-7943 fungible (0x3edbb4c4, the EIP's value), ERC-1404 (its two functions)
    /// and ERC-3643 (`type(IToken).interfaceId` of T-REX 4.1.6: ERC-3643 defines no id).
    /// @param interfaceId The interface id.
    /// @return True when supported.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC7943Fungible).interfaceId
            || interfaceId == type(IERC20).interfaceId || interfaceId == type(IERC1404).interfaceId
            || interfaceId == type(IToken).interfaceId;
    }

    /// @dev The reason code of a move (`from == 0` a mint, `to == 0` a redemption lock).
    function _check(address from, address to, uint256 amount) private view returns (uint256 code) {
        uint256 kind = from == address(0) ? _MINT : (to == address(0) ? _REDEEM : _TRANSFER);
        (code,) = _plan(from, to, amount, kind);
    }

    // ------------------------------------------------------------------ ERC-7943 freezes

    /// @notice ERC-7943: sets `account`'s frozen amount to `amount` (overwrites, like `approve`). It may exceed the
    /// balance: the part the wallet cannot cover now freezes units as they arrive or are released. COMPLIANCE_ROLE.
    /// @param account The wallet.
    /// @param amount The new frozen amount.
    /// @return result True.
    function setFrozenTokens(address account, uint256 amount) external onlyRole(COMPLIANCE_ROLE) returns (bool result) {
        _setFrozen(account, amount);
        return true;
    }

    /// @notice A wallet's frozen amount, as set (ERC-7943 / ERC-3643; may exceed its balance).
    /// @param account The wallet.
    /// @return amount The amount.
    function getFrozenTokens(address account) external view returns (uint256 amount) {
        return _frozenTokens[account];
    }

    /// @notice Whether a wallet is frozen (ERC-3643).
    /// @param wallet The wallet.
    /// @return True when frozen.
    function isFrozen(address wallet) external view returns (bool) {
        return _accounts[wallet] & AccountWord.FROZEN != 0;
    }

    /// @notice A wallet's free balance: balance - frozen - encumbered - locked.
    /// @param wallet The wallet.
    /// @return The amount.
    function freeBalanceOf(address wallet) external view returns (uint256) {
        uint256 a = _accounts[wallet];
        return a.free();
    }
}
