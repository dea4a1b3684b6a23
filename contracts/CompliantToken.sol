// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IToken} from "@tokenysolutions/t-rex/contracts/token/IToken.sol";
import {REGISTRAR_ROLE} from "./RWAAccessed.sol";
import {IdentityWord} from "./interfaces/IIdentityRegistry.sol";
import {CompliantTokenCore} from "./token/CompliantTokenCore.sol";
import {CompliantTokenChecks} from "./token/CompliantTokenChecks.sol";

import {AccountWord, CounterWord, RulesWord, SupplyWord} from "./token/TokenWords.sol";
/**
 * @title CompliantToken
 * @notice Abstract permissioned ERC-20 of rwaledger, speaking ERC-7943 (uRWA, fungible), ERC-1404 and the token
 * interface of ERC-3643 (T-REX 4.x `IToken`). A concrete token is an EIP-1167 clone *with immutable arguments*
 * created by the {TokenFactory}: name, symbol, decimals, asset id, home country and cap (or unit) are appended to the
 * clone's bytecode, so a clone needs no initialization and no configuration storage.
 *
 * Trust model (see contracts/README.md):
 * - Limits count *investors*, not wallets: `maxBalance` caps the sum of an investor's wallets, `maxHolders` and the
 *   category / foreign caps count investors, and a move between two wallets of one investor changes no count.
 * - The registrar mints (once per allocation reference), burns and forces transfers, always within the recipient's
 *   rules (verified, not frozen, country, max balance, holder caps); a forced move overrides only the sender's
 *   consent and the lock-up. Units under a lien or locked for redemption never move; frozen units move only with an
 *   explicit flag (the ERC-3643 / ERC-7943 three-argument calls set it, as those standards define), which the
 *   events record. Recovery moves units only to another wallet of the same investor.
 * - Paused: no unit moves (transfers, mints, burns, forced transfers, redemptions), except recovery.
 * - Mints need the asset to be Active in the {AssetRegistry}.
 *
 * Every rule is decided by ONE function, {_plan}, which both the balance changes and the {canTransfer} /
 * {detectTransferRestriction} / {canForceTransfer} views run, so a view always predicts the outcome.
 *
 * This contract holds the hot paths (transfers, issuance, forced moves, recovery, the standards' checks); every
 * other function (rules and their setters, freezes, liens, pause, the ERC-3643 batch calls, views) lives in the
 * shared {CompliantTokenModule}, which the fallback reaches by DELEGATECALL: same storage, same rules engine, and
 * room under the 24,576-byte code limit. A token's ABI is both contracts' ABIs together.
 */
abstract contract CompliantToken is CompliantTokenChecks {
    using AccountWord for uint256;
    using CounterWord for uint256;
    using SupplyWord for uint256;
    using IdentityWord for uint256;

    /// @notice The shared {CompliantTokenModule} every call this contract does not define is delegated to.
    address public immutable tokenModule;

    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    /// @param tokenModule_ The shared {CompliantTokenModule} (deployed with the same three addresses).
    constructor(address identityRegistry_, address authority_, address assetRegistry_, address tokenModule_)
        CompliantTokenCore(identityRegistry_, authority_, assetRegistry_)
    {
        if (tokenModule_.code.length == 0) revert ZeroAddress();
        tokenModule = tokenModule_;
    }

    /// @notice Every function of the {CompliantTokenModule}, run on this token's storage.
    fallback() external {
        address module = tokenModule;
        assembly ("memory-safe") {
            calldatacopy(0x00, 0x00, calldatasize())
            let ok := delegatecall(gas(), module, 0x00, calldatasize(), 0x00, 0x00)
            returndatacopy(0x00, 0x00, returndatasize())
            if iszero(ok) { revert(0x00, returndatasize()) }
            return(0x00, returndatasize())
        }
    }

    // ------------------------------------------------------------------ registrar: mint, burn, forced moves

    /// @notice Mints `amount` to `to` for one allocation, once per reference. The asset must be Active and the
    /// token unpaused; the recipient's rules apply. REGISTRAR_ROLE.
    /// @param to A verified recipient.
    /// @param amount The amount.
    /// @param ref The allocation's reference (non-zero; reverts {ReferenceAlreadyUsed} once minted).
    function mint(address to, uint256 amount, bytes32 ref) external onlyRole(REGISTRAR_ROLE) {
        _mintOnce(to, amount, ref);
    }

    /// @notice Mints many allocations, one reference each. An allocation already minted with the same recipient
    /// and amount is skipped ({MintSkipped}), so a batch can be sent again after a crash, in any order or split
    /// differently; a minted reference with another recipient or amount reverts {ReferenceConflict}.
    /// REGISTRAR_ROLE.
    /// @param to The recipients.
    /// @param amounts The amounts.
    /// @param refs The allocations' references (non-zero).
    function batchMint(address[] calldata to, uint256[] calldata amounts, bytes32[] calldata refs)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        uint256 n = to.length;
        if (n == 0 || amounts.length != n || refs.length != n) revert ArrayLengthMismatch();
        uint256 total;
        uint256 minted;
        for (uint256 i; i < n; ++i) {
            // the asset's status is checked once per batch, with the first allocation minted
            if (_mintAllocation(to[i], amounts[i], refs[i], minted == 0 ? _MINT : _MINT | _SKIP_ASSET_CHECK)) {
                ++minted;
                total += amounts[i];
            }
        }
        emit BatchMinted(minted, n - minted, total);
    }

    /// @notice ERC-3643 `mint`: mints `amount` to `to` WITHOUT an allocation reference, so unlike
    /// {mint(address,uint256,bytes32)} a repeated call mints again (rwaledger's tools always pass a reference). The
    /// same rules apply. REGISTRAR_ROLE.
    /// @param to A verified recipient.
    /// @param amount The amount (non-zero).
    function mint(address to, uint256 amount) external onlyRole(REGISTRAR_ROLE) {
        _mintUnreferenced(to, amount, _MINT);
    }

    /// @notice ERC-3643 `batchMint`: {mint(address,uint256)} for each pair, without references. REGISTRAR_ROLE.
    /// @param toList The recipients.
    /// @param amounts The amounts.
    function batchMint(address[] calldata toList, uint256[] calldata amounts) external onlyRole(REGISTRAR_ROLE) {
        uint256 n = toList.length;
        _sameLength(n, amounts.length);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            _mintUnreferenced(toList[i], amounts[i], i == 0 ? _MINT : _MINT | _SKIP_ASSET_CHECK);
            total += amounts[i];
        }
        emit BatchMinted(n, 0, total);
    }


    /// @notice Burns `amount` of `from` (e.g. a court order). Units under a lien or locked for redemption are never
    /// burned; frozen units only with `includeFrozen`. REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param amount The amount.
    /// @param reason Reference of the reason.
    /// @param includeFrozen Whether frozen units (of a frozen wallet, or partially frozen) may be burned.
    function burn(address from, uint256 amount, bytes32 reason, bool includeFrozen) external onlyRole(REGISTRAR_ROLE) {
        _burnUnits(from, amount, reason, includeFrozen);
    }

    /// @notice ERC-3643 `burn`: burns `amount` of `userAddress`, frozen units included as that standard defines
    /// (frozen units used are unfrozen first: `Frozen`); no reason reference. REGISTRAR_ROLE.
    /// @param userAddress The holder.
    /// @param amount The amount.
    function burn(address userAddress, uint256 amount) external onlyRole(REGISTRAR_ROLE) {
        _burnUnits(userAddress, amount, bytes32(0), true);
    }

    /// @notice Moves units without the holder's consent (court order...). Overrides only the sender's consent
    /// (verification) and the lock-up: the recipient must be verified, not frozen and within the country, max
    /// balance and holder caps; units under a lien or locked for redemption never move; frozen units move only
    /// with `includeFrozen`, which the event records. REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param reason Reference of the legal basis.
    /// @param includeFrozen Whether frozen units (of a frozen wallet, or partially frozen) may move.
    /// @return True (ERC-3643 compatibility).
    function forcedTransfer(address from, address to, uint256 amount, bytes32 reason, bool includeFrozen)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (bool)
    {
        _forcedTransfer(from, to, amount, reason, includeFrozen);
        return true;
    }

    /// @notice ERC-7943 / ERC-3643 `forcedTransfer`: as {forcedTransfer(address,address,uint256,bytes32,bool)} with
    /// no reason reference and frozen units included (those standards' meaning: frozen units used are unfrozen
    /// first, `Frozen` before `Transfer`). The recipient's rules still apply (ERC-7943's "canReceive" and more).
    /// REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @return result True; reverts on failure.
    function forcedTransfer(address from, address to, uint256 amount)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (bool result)
    {
        _forcedTransfer(from, to, amount, bytes32(0), true);
        return true;
    }

    /// @notice Moves a lost wallet's whole balance and token state (wallet freeze, frozen units, lien-encumbered and
    /// redemption-locked units) to another wallet of the SAME investor, after the compliance officer replaced the
    /// lost wallet in the identity registry; liens (with their beneficiaries) and redemption requests follow.
    /// Works while paused (it changes no owner). REGISTRAR_ROLE.
    /// @param lostWallet The lost wallet (Lost in the registry, holding units or token state).
    /// @param newWallet An active wallet of the same investor.
    /// @return True (ERC-3643 compatibility).
    function recoveryAddress(address lostWallet, address newWallet) external onlyRole(REGISTRAR_ROLE) returns (bool) {
        _recover(lostWallet, newWallet);
        return true;
    }

    /// @notice ERC-3643 `recoveryAddress`: as {recoveryAddress(address,address)}, where `investorOnchainID` must be
    /// the investor id both wallets belong to (rwaledger has no ONCHAINID: the investor id is its first wallet).
    /// REGISTRAR_ROLE.
    /// @param lostWallet The lost wallet.
    /// @param newWallet An active wallet of the same investor.
    /// @param investorOnchainID The investor id.
    /// @return True.
    function recoveryAddress(address lostWallet, address newWallet, address investorOnchainID)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (bool)
    {
        if (_recover(lostWallet, newWallet) != investorOnchainID) revert RecoveryNotSameInvestor(lostWallet, newWallet);
        return true;
    }



}
