// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {REGISTRAR_ROLE, COMPLIANCE_ROLE, GUARDIAN_ROLE} from "../../RWAAccessed.sol";
import {CompliantTokenRules} from "../CompliantTokenRules.sol";

/**
 * @title TokenRulesAdmin
 * @notice Part of the {CompliantTokenModule}: the external setters of the rule extensions (each one line over the
 * extension's own internal setter, which validates, stores and emits), liens, wallet freezes, pause, and recounting
 * an investor.
 */
abstract contract TokenRulesAdmin is CompliantTokenRules {
    /// @notice Counts `wallet`'s investor again under its current category and home/foreign class (after the
    /// compliance officer changed them). Anyone may call it; a move does it too.
    /// @param wallet Any wallet of the investor.
    function syncInvestor(address wallet) external {
        _syncInvestor(wallet);
    }

    // ------------------------------------------------------------------ liens

    /// @notice Encumbers `amount` of `holder`'s free units under a lien. REGISTRAR_ROLE.
    /// @param holder The holder.
    /// @param beneficiary Who may release the lien besides the registrar (e.g. the lending bank).
    /// @param amount The amount (<= free balance, < 2**96).
    /// @param reason Reference of the reason (loan number...).
    /// @param documentHash SHA-256 of the lien document.
    /// @return lienId The new lien id (per token, starts at 1).
    function createLien(address holder, address beneficiary, uint256 amount, bytes32 reason, bytes32 documentHash)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 lienId)
    {
        return _createLien(holder, beneficiary, amount, reason, documentHash);
    }

    /// @notice Releases a lien. REGISTRAR_ROLE or the lien's beneficiary.
    /// @param lienId The lien.
    function releaseLien(uint256 lienId) external {
        _releaseLien(lienId);
    }

    /// @notice Gives an active lien a new beneficiary (the bank moved to a new key, or lost the old one): the old
    /// beneficiary can no longer release it. The current beneficiary or REGISTRAR_ROLE.
    /// @param lienId The lien.
    /// @param newBeneficiary The new beneficiary (non-zero).
    function changeLienBeneficiary(uint256 lienId, address newBeneficiary) external {
        _changeLienBeneficiary(lienId, newBeneficiary);
    }
    // ------------------------------------------------------------------ compliance: freezes, pause, rules

    /// @notice Freezes or unfreezes a whole wallet (both as sender and as recipient). COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param freeze True to freeze.
    function setAddressFrozen(address wallet, bool freeze) external onlyRole(COMPLIANCE_ROLE) {
        _setAddressFrozen(wallet, freeze);
    }

    /// @notice Freezes part of a wallet's free units (ERC-3643). COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param amount The amount (<= free balance).
    function freezePartialTokens(address wallet, uint256 amount) external onlyRole(COMPLIANCE_ROLE) {
        _freezePartial(wallet, amount);
    }

    /// @notice Unfreezes part of a wallet's frozen units (ERC-3643). COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param amount The amount (<= its frozen amount).
    function unfreezePartialTokens(address wallet, uint256 amount) external onlyRole(COMPLIANCE_ROLE) {
        _unfreezePartial(wallet, amount);
    }

    /// @notice Pauses the token: no unit moves (recovery excepted). COMPLIANCE_ROLE or GUARDIAN_ROLE (the pause
    /// guardian's only act: it stops trading and moves nothing; unpausing needs COMPLIANCE_ROLE).
    function pause() external {
        if (!_hasRole(GUARDIAN_ROLE, msg.sender)) _checkRole(COMPLIANCE_ROLE);
        _pause();
    }

    /// @notice Resumes the token. COMPLIANCE_ROLE.
    function unpause() external onlyRole(COMPLIANCE_ROLE) {
        _unpause();
    }

    /// @notice Sets the country restriction mode. COMPLIANCE_ROLE.
    /// @param mode 0 None, 1 Allowlist (recipient country must be listed), 2 Blocklist (must not be listed).
    function setCountryRestriction(CountryMode mode) external onlyRole(COMPLIANCE_ROLE) {
        _setCountryRestriction(mode);
    }

    /// @notice Adds countries to or removes them from the country list (used by the current mode). COMPLIANCE_ROLE.
    /// @param countries ISO 3166-1 numeric codes (0..1023).
    /// @param listed True to add, false to remove.
    function setCountriesListed(uint16[] calldata countries, bool listed) external onlyRole(COMPLIANCE_ROLE) {
        _setCountriesListed(countries, listed);
    }

    /// @notice Sets the maximum number of investors holding units (0 = unlimited); holders above it are not
    /// affected. COMPLIANCE_ROLE.
    /// @param maxHolders_ The maximum (< 2**32).
    function setMaxHolders(uint256 maxHolders_) external onlyRole(COMPLIANCE_ROLE) {
        _setMaxHolders(maxHolders_);
    }

    /// @notice Sets the maximum balance per investor, summed over its wallets (0 = unlimited). COMPLIANCE_ROLE.
    /// @param maxBalance_ The maximum (< 2**104).
    function setMaxBalance(uint256 maxBalance_) external onlyRole(COMPLIANCE_ROLE) {
        _setMaxBalance(maxBalance_);
    }

    /// @notice Blocks ordinary transfers while block.timestamp < `lockupUntil` (0 = no lock-up). COMPLIANCE_ROLE.
    /// @param lockupUntil_ Unix seconds (< 2**40).
    function setLockupUntil(uint256 lockupUntil_) external onlyRole(COMPLIANCE_ROLE) {
        _setLockupUntil(lockupUntil_);
    }

    /// @notice Caps the number of investors of each category holding units (0 = unlimited), e.g. "at most 500
    /// retail holders"; holders above a cap are not affected. COMPLIANCE_ROLE.
    /// @param retail Max retail investors (< 2**32).
    /// @param accredited Max accredited investors (< 2**32).
    /// @param institutional Max institutional investors (< 2**32).
    function setCategoryHolderCaps(uint256 retail, uint256 accredited, uint256 institutional)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        _setCategoryHolderCaps(retail, accredited, institutional);
    }

    /// @notice Caps what investors from outside the home country may hold (0 = unlimited): their number, and their
    /// share of the supply in basis points (e.g. 4,000 = "at most 40% held from outside PK"). COMPLIANCE_ROLE.
    /// @param maxForeignHolders Max foreign investors (< 2**32).
    /// @param maxForeignShareBps Max foreign share, 0..10,000 basis points.
    function setForeignCaps(uint256 maxForeignHolders, uint256 maxForeignShareBps) external onlyRole(COMPLIANCE_ROLE) {
        _setForeignCaps(maxForeignHolders, maxForeignShareBps);
    }
}
