// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {IToken} from "@tokenysolutions/t-rex/contracts/token/IToken.sol";
import {ADMIN_ROLE, REGISTRAR_ROLE, COMPLIANCE_ROLE} from "../RWAAccessed.sol";
import {REASON_MESSAGES} from "../interfaces/ICompliantToken.sol";
import {IdentityWord} from "../interfaces/IIdentityRegistry.sol";
import {CompliantTokenCore} from "./CompliantTokenCore.sol";
import {TokenRulesAdmin} from "./module/TokenRulesAdmin.sol";
import {TokenViews} from "./module/TokenViews.sol";

/// @dev ERC-3643 `version()` of rwaledger's tokens.
string constant TOKEN_VERSION = "rwaledger-1";

import {AccountWord, CounterWord, RulesWord, SupplyWord} from "./TokenWords.sol";
/**
 * @title CompliantTokenModule
 * @notice The part of every rwaledger token that is not on a hot path: the rules and their setters, freezes,
 * liens, pause, the ERC-3643 batch and information calls, ERC-1404 messages and views. Deployed once; a token
 * implementation ({CompliantToken}) reaches it from its fallback by DELEGATECALL, so it always runs on a token
 * clone's storage, with the same layout and the same rules engine ({CompliantTokenCore}). Called directly it is
 * disabled like an implementation (no unit can move in its own storage).
 */
contract CompliantTokenModule is TokenRulesAdmin, TokenViews {
    using AccountWord for uint256;
    using CounterWord for uint256;
    using SupplyWord for uint256;
    using BitMaps for BitMaps.BitMap;
    using IdentityWord for uint256;

    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    constructor(address identityRegistry_, address authority_, address assetRegistry_)
        CompliantTokenCore(identityRegistry_, authority_, assetRegistry_)
    {}

    // ------------------------------------------------------------------ ERC-1404 messages

    /// @notice ERC-1404: what a {Reason} code of `detectTransferRestriction` means (the README's rule table).
    /// @param restrictionCode The code.
    /// @return The message ("unknown restriction" for a code no rule has).
    function messageForTransferRestriction(uint8 restrictionCode) external pure returns (string memory) {
        bytes memory all = bytes(REASON_MESSAGES);
        uint256 start;
        uint256 line;
        for (uint256 i; i < all.length; ++i) {
            if (all[i] != "\n") continue;
            if (line == restrictionCode) {
                bytes memory out = new bytes(i - start);
                for (uint256 k; k < out.length; ++k) {
                    out[k] = all[start + k];
                }
                return string(out);
            }
            (start, line) = (i + 1, line + 1);
        }
        return "unknown restriction";
    }

    // ------------------------------------------------------------------ ERC-3643 batch calls

    /// @notice ERC-3643 `batchTransfer`: transfers from the caller to each recipient; all or nothing.
    /// @param toList The recipients.
    /// @param amounts The amounts.
    function batchTransfer(address[] calldata toList, uint256[] calldata amounts) external {
        _sameLength(toList.length, amounts.length);
        for (uint256 i; i < toList.length; ++i) {
            _transfer(msg.sender, toList[i], amounts[i]);
        }
    }

    /// @notice ERC-3643 `batchForcedTransfer`: `forcedTransfer(from, to, amount)` for each triple (frozen units
    /// included, no reason reference). REGISTRAR_ROLE.
    /// @param fromList The holders.
    /// @param toList The recipients.
    /// @param amounts The amounts.
    function batchForcedTransfer(address[] calldata fromList, address[] calldata toList, uint256[] calldata amounts)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        _sameLength(fromList.length, toList.length);
        _sameLength(fromList.length, amounts.length);
        for (uint256 i; i < fromList.length; ++i) {
            _forcedTransfer(fromList[i], toList[i], amounts[i], bytes32(0), true);
        }
    }

    /// @notice ERC-3643 `batchBurn`: `burn(user, amount)` for each pair (frozen units included). REGISTRAR_ROLE.
    /// @param userAddresses The holders.
    /// @param amounts The amounts.
    function batchBurn(address[] calldata userAddresses, uint256[] calldata amounts) external onlyRole(REGISTRAR_ROLE) {
        _sameLength(userAddresses.length, amounts.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _burnUnits(userAddresses[i], amounts[i], bytes32(0), true);
        }
    }

    /// @notice ERC-3643 `batchSetAddressFrozen`. COMPLIANCE_ROLE.
    /// @param userAddresses The wallets.
    /// @param freeze The new states.
    function batchSetAddressFrozen(address[] calldata userAddresses, bool[] calldata freeze)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        _sameLength(userAddresses.length, freeze.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _setAddressFrozen(userAddresses[i], freeze[i]);
        }
    }

    /// @notice ERC-3643 `batchFreezePartialTokens`. COMPLIANCE_ROLE.
    /// @param userAddresses The wallets.
    /// @param amounts The amounts to freeze (each <= the wallet's free balance).
    function batchFreezePartialTokens(address[] calldata userAddresses, uint256[] calldata amounts)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        _sameLength(userAddresses.length, amounts.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _freezePartial(userAddresses[i], amounts[i]);
        }
    }

    /// @notice ERC-3643 `batchUnfreezePartialTokens`. COMPLIANCE_ROLE.
    /// @param userAddresses The wallets.
    /// @param amounts The amounts to unfreeze (each <= the wallet's frozen amount).
    function batchUnfreezePartialTokens(address[] calldata userAddresses, uint256[] calldata amounts)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        _sameLength(userAddresses.length, amounts.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _unfreezePartial(userAddresses[i], amounts[i]);
        }
    }

    // ------------------------------------------------------------------ ERC-3643 token information

    /// @notice ERC-3643 `compliance()`: the contract answering `canTransfer(from, to, amount)` with a bool. It is the
    /// token itself: its rules are its own (no separate compliance contract to bind or swap).
    /// @return The token's address.
    function compliance() external view returns (address) {
        return address(this);
    }

    /// @notice ERC-3643 `onchainID()`: the token's identity contract (0 until the admin sets one).
    /// @return The address.
    function onchainID() external view returns (address) {
        return _onchainID;
    }

    /// @notice ERC-3643 `version()`.
    /// @return The version of rwaledger's token contracts.
    function version() external pure returns (string memory) {
        return TOKEN_VERSION;
    }

    /// @notice ERC-3643 `setOnchainID`: records the token's identity contract; emits `UpdatedTokenInformation`.
    /// ADMIN_ROLE (OpenZeppelin's DEFAULT_ADMIN_ROLE).
    /// @param onchainID_ The identity contract (0 clears it).
    function setOnchainID(address onchainID_) external onlyRole(ADMIN_ROLE) {
        _onchainID = onchainID_;
        emit IToken.UpdatedTokenInformation(name(), symbol(), decimals(), TOKEN_VERSION, onchainID_);
    }

    /// @notice ERC-3643 `setName`: not supported, the name is fixed when the asset is tokenized (it is part of the
    /// registry record); reverts {Unsupported} for every caller.
    function setName(string calldata) external pure {
        revert Unsupported(msg.sig);
    }

    /// @notice ERC-3643 `setSymbol`: not supported, the symbol is fixed and unique in the asset registry; reverts
    /// {Unsupported} for every caller.
    function setSymbol(string calldata) external pure {
        revert Unsupported(msg.sig);
    }

    /// @notice ERC-3643 `setIdentityRegistry`: not supported, every token shares the stack's identity registry;
    /// reverts {Unsupported} for every caller.
    function setIdentityRegistry(address) external pure {
        revert Unsupported(msg.sig);
    }

    /// @notice ERC-3643 `setCompliance`: not supported, the rules are the token's own ({compliance} is the token);
    /// reverts {Unsupported} for every caller.
    function setCompliance(address) external pure {
        revert Unsupported(msg.sig);
    }

    // ------------------------------------------------------------------ internals

    /// @dev The module never mints (mints are the implementation's).
    function _supplyCheck(uint256) internal pure override returns (uint256) {
        return uint256(Reason.Disabled);
    }
}
