// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {IdentityWord} from "../../interfaces/IIdentityRegistry.sol";
import {CompliantTokenRules} from "../CompliantTokenRules.sol";
import {AccountWord, CounterWord, SupplyWord} from "../TokenWords.sol";

/**
 * @title TokenViews
 * @notice Part of the {CompliantTokenModule}: what the rules, counters, liens and allocations of a token are.
 */
abstract contract TokenViews is CompliantTokenRules {
    using BitMaps for BitMaps.BitMap;
    using IdentityWord for uint256;
    using AccountWord for uint256;
    using CounterWord for uint256;
    using SupplyWord for uint256;

    // ------------------------------------------------------------------ allocations, liens

    /// @notice Whether an allocation reference was minted on this token.
    /// @param ref The reference.
    /// @return True when used.
    function isReferenceUsed(bytes32 ref) external view returns (bool) {
        return _allocations[ref] != bytes32(0);
    }

    /// @notice What an allocation reference minted: `keccak256(abi.encode(to, amount))`, or 0 when unused.
    /// @param ref The reference.
    /// @return The digest.
    function allocationOf(bytes32 ref) external view returns (bytes32) {
        return _allocations[ref];
    }

    /// @notice A lien.
    /// @param lienId The lien.
    /// @return holder The encumbered holder (following recoveries).
    /// @return beneficiary The beneficiary.
    /// @return amount The amount.
    /// @return released Whether it was released.
    function lien(uint256 lienId)
        external
        view
        returns (address holder, address beneficiary, uint256 amount, bool released)
    {
        Lien memory l = _liens[lienId];
        return (l.holder == address(0) ? address(0) : _current(l.holder), l.beneficiary, l.amount, l.released);
    }

    /// @notice Number of liens ever created (ids 1..lienCount).
    /// @return The count.
    function lienCount() external view returns (uint256) {
        return _lienCount;
    }
    // ------------------------------------------------------------------ views

    /// @notice The current rules.
    /// @return countryMode 0 None, 1 Allowlist, 2 Blocklist.
    /// @return lockupUntil Lock-up end (unix seconds).
    /// @return maxHolders Maximum investors holding units (0 = unlimited).
    /// @return maxBalance Maximum balance per investor (0 = unlimited).
    function rules()
        external
        view
        returns (CountryMode countryMode, uint256 lockupUntil, uint256 maxHolders, uint256 maxBalance)
    {
        return (_countryMode(), _lockupUntil, _maxHolders, _maxBalance);
    }

    /// @notice The holder caps.
    /// @return retail Max retail investors (0 = unlimited).
    /// @return accredited Max accredited investors.
    /// @return institutional Max institutional investors.
    /// @return foreignHolders Max foreign investors.
    /// @return foreignShareBps Max foreign share of the supply, basis points.
    function holderCaps()
        external
        view
        returns (uint256 retail, uint256 accredited, uint256 institutional, uint256 foreignHolders, uint256 foreignShareBps)
    {
        uint256 c = _caps;
        return (c.field(1), c.field(2), c.field(3), c.field(CounterWord.FOREIGN_HOLDERS), c.shareBps());
    }

    /// @notice How many investors hold units, in all and per category and class.
    /// @return holders Investors holding units.
    /// @return retail Retail investors holding units.
    /// @return accredited Accredited investors holding units.
    /// @return institutional Institutional investors holding units.
    /// @return foreignHolders Foreign investors holding units.
    /// @return foreignUnits Units held by foreign investors.
    function holderCounts()
        external
        view
        returns (
            uint256 holders,
            uint256 retail,
            uint256 accredited,
            uint256 institutional,
            uint256 foreignHolders,
            uint256 foreignUnits
        )
    {
        uint256 c = _counters;
        return (
            c.field(CounterWord.HOLDERS), c.field(1), c.field(2), c.field(3), c.field(CounterWord.FOREIGN_HOLDERS),
            _amounts.foreignUnits()
        );
    }

    /// @notice Whether a country code is on the country list.
    /// @param country ISO 3166-1 numeric code.
    /// @return True when listed.
    function isCountryListed(uint16 country) external view returns (bool) {
        return _countries.get(country);
    }

    /// @notice Number of investors holding units (all their wallets count once).
    /// @return The count.
    function holderCount() external view returns (uint256) {
        return _counters.field(CounterWord.HOLDERS);
    }

    /// @notice Number of frozen wallets.
    /// @return The count.
    function frozenWalletCount() external view returns (uint256) {
        return _counters.field(CounterWord.FROZEN_WALLETS);
    }

    /// @notice What the investor owning `wallet` holds in all its wallets.
    /// @param wallet Any wallet of the investor.
    /// @return The sum of its wallets' balances.
    function investorBalanceOf(address wallet) external view returns (uint256) {
        uint256 party = _infoOf(wallet);
        return _holding(wallet, party.investor(wallet), party, _accounts[wallet]) & AccountWord.UNITS;
    }

    /// @notice A wallet's units encumbered by active liens.
    /// @param wallet The wallet.
    /// @return The amount.
    function encumberedBalanceOf(address wallet) external view returns (uint256) {
        return _encumbered[wallet];
    }

    /// @notice A wallet's units locked by pending redemption requests (commodity tokens).
    /// @param wallet The wallet.
    /// @return The amount.
    function lockedBalanceOf(address wallet) external view returns (uint256) {
        return _locked[wallet];
    }

    /// @notice The wallet that now holds `wallet`'s units and state (itself unless it was recovered from).
    /// @param wallet The wallet.
    /// @return The current wallet.
    function successorOf(address wallet) external view returns (address) {
        return _current(wallet);
    }
}
