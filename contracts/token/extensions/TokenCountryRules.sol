// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {IdentityWord} from "../../interfaces/IIdentityRegistry.sol";
import {RulesWord} from "../TokenWords.sol";
import {TokenLockup} from "./TokenLockup.sol";

/**
 * @title TokenCountryRules
 * @notice Rule extension: the recipient investor's country must be on the allowlist, or off the blocklist
 * ({Reason.CountryNotAllowed}); ERC-7943 `canReceive` asks it too. Its flags are `RulesWord.ALLOWLIST` / `BLOCKLIST`.
 */
abstract contract TokenCountryRules is TokenLockup {
    using BitMaps for BitMaps.BitMap;
    using IdentityWord for uint256;

    BitMaps.BitMap internal _countries; // ISO 3166-1 numeric codes 0..1023 on the list

    function _checkParties(Move memory m, uint256 ruleWord) internal view virtual override returns (uint256 code) {
        code = super._checkParties(m, ruleWord);
        if (code != 0) return code;
        if (m.recipientRules && ruleWord & (RulesWord.ALLOWLIST | RulesWord.BLOCKLIST) != 0) {
            if (_countries.get(m.toParty.country()) != (ruleWord & RulesWord.ALLOWLIST != 0)) {
                return uint256(Reason.CountryNotAllowed);
            }
        }
    }

    function _accountAllowed(address account, uint256 party, bool receiving, uint256 ruleWord)
        internal
        view
        virtual
        override
        returns (bool)
    {
        return super._accountAllowed(account, party, receiving, ruleWord) && (!receiving || _countryAllowed(party, ruleWord));
    }

    function _countryAllowed(uint256 party, uint256 ruleWord) private view returns (bool) {
        if (ruleWord & (RulesWord.ALLOWLIST | RulesWord.BLOCKLIST) == 0) return true;
        return _countries.get(party.country()) == (ruleWord & RulesWord.ALLOWLIST != 0);
    }

    /// @dev Sets the mode: 0 None, 1 Allowlist, 2 Blocklist.
    function _setCountryRestriction(CountryMode mode) internal {
        uint8 f = _flags & ~(RulesWord.FLAG_ALLOWLIST | RulesWord.FLAG_BLOCKLIST);
        if (mode == CountryMode.Allowlist) f |= RulesWord.FLAG_ALLOWLIST;
        else if (mode == CountryMode.Blocklist) f |= RulesWord.FLAG_BLOCKLIST;
        _flags = f;
        emit CountryRestrictionSet(mode);
    }

    /// @dev Adds countries to, or removes them from, the list (codes 0..1023).
    function _setCountriesListed(uint16[] calldata countries, bool listed) internal {
        for (uint256 i; i < countries.length; ++i) {
            uint16 c = countries[i];
            if (c > 1023) revert InvalidCountry(c);
            _countries.setTo(c, listed);
        }
        emit CountriesListed(countries, listed);
    }

    /// @dev The mode the flags say.
    function _countryMode() internal view returns (CountryMode) {
        uint8 f = _flags;
        if (f & RulesWord.FLAG_ALLOWLIST != 0) return CountryMode.Allowlist;
        return f & RulesWord.FLAG_BLOCKLIST != 0 ? CountryMode.Blocklist : CountryMode.None;
    }
}
