// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IdentityWord} from "../../interfaces/IIdentityRegistry.sol";
import {AccountWord, CounterWord, RulesWord, SupplyWord} from "../TokenWords.sol";
import {TokenCountryRules} from "./TokenCountryRules.sol";

/**
 * @title TokenHolderLimits
 * @notice Rule extension: limits that count investors, not wallets. The most an investor may hold over all its
 * wallets ({Reason.MaxBalanceExceeded}); how many investors may hold units ({Reason.MaxHoldersExceeded}), per
 * category ({Reason.CategoryHoldersExceeded}) and from outside the home country ({Reason.ForeignHoldersExceeded});
 * the share of the supply foreign investors may hold ({Reason.ForeignShareExceeded}). A cap never fails a move in
 * which the sender investor leaves the cap table, and a holder above a cap set later keeps its units.
 * @dev The counters it compares are booked by {CompliantTokenCore-_book} on every move; its own storage is the caps
 * word ({CounterWord}) and the `maxHolders` / `maxBalance` fields of the rules word ({RulesWord}).
 */
abstract contract TokenHolderLimits is TokenCountryRules {
    using IdentityWord for uint256;
    using AccountWord for uint256;
    using CounterWord for uint256;
    using SupplyWord for uint256;

    uint256 internal _caps; // {CounterWord}: fields 1..3 category caps, 4 foreign holder cap; foreign share bps

    function _checkHoldings(Move memory m, uint256 ruleWord) internal view virtual override returns (uint256 code) {
        code = super._checkHoldings(m, ruleWord);
        if (code != 0) return code;
        uint256 maxBalance = (ruleWord >> RulesWord.MAX_BALANCE_SHIFT) & type(uint104).max;
        if (m.balancesOnly) {
            uint256 toBalance = m.toAccount & AccountWord.UNITS; // a single-wallet investor: its wallet
            if (maxBalance != 0 && (toBalance > maxBalance || m.value > maxBalance - toBalance)) {
                return uint256(Reason.MaxBalanceExceeded);
            }
            return 0;
        }
        if (m.to != address(0) && maxBalance != 0) {
            uint256 toTotal = m.toHolding & AccountWord.UNITS;
            if (toTotal > maxBalance || m.value > maxBalance - toTotal) return uint256(Reason.MaxBalanceExceeded);
        }
        if (m.joins) {
            code = _holderCaps(ruleWord, m.countersBefore, m.counters, m.toClass);
            if (code != 0) return code;
        }
        if (m.value > AccountWord.UNITS) return 0; // a huge mint: the cap refuses it
        return _foreignShare(m, ruleWord);
    }

    /// @dev Holder caps for an investor joining (`before` / `afterJoin`: counters without and with it; `before` still
    /// counts a sender that leaves in the same move, so such a move never fails a cap it keeps).
    function _holderCaps(uint256 ruleWord, uint256 before, uint256 afterJoin, uint256 cls) private view returns (uint256) {
        uint256 maxHolders = (ruleWord >> RulesWord.MAX_HOLDERS_SHIFT) & type(uint32).max;
        uint256 holders = (afterJoin >> (32 * CounterWord.HOLDERS)) & 0xffffffff;
        if (maxHolders != 0 && holders > maxHolders && holders > ((before >> (32 * CounterWord.HOLDERS)) & 0xffffffff)) {
            return uint256(Reason.MaxHoldersExceeded);
        }
        if (ruleWord & RulesWord.CAPS == 0) return 0;
        uint256 caps = _caps;
        if (_exceeds(caps, before, afterJoin, cls & 3)) return uint256(Reason.CategoryHoldersExceeded);
        if (cls & AccountWord.FOREIGN != 0 && _exceeds(caps, before, afterJoin, CounterWord.FOREIGN_HOLDERS)) {
            return uint256(Reason.ForeignHoldersExceeded);
        }
        return 0;
    }

    /// @dev Whether counter `i` goes above its cap (0 = none) with the join.
    function _exceeds(uint256 caps, uint256 before, uint256 afterJoin, uint256 i) private pure returns (bool) {
        uint256 cap = (caps >> (32 * i)) & 0xffffffff;
        uint256 count = (afterJoin >> (32 * i)) & 0xffffffff;
        return cap != 0 && count > cap && count > ((before >> (32 * i)) & 0xffffffff);
    }

    /// @dev The foreign share cap, for a move that raises the foreign-held units.
    function _foreignShare(Move memory m, uint256 ruleWord) private view returns (uint256) {
        bool isMint = m.from == address(0);
        if (m.to == address(0) || m.toClass & AccountWord.FOREIGN == 0) return 0;
        if (ruleWord & RulesWord.CAPS == 0 || m.value == 0 || (!isMint && m.fromClass & AccountWord.FOREIGN != 0)) return 0;
        uint256 bps = (_caps >> CounterWord.SHARE_SHIFT) & 0xffff;
        if (bps == 0) return 0;
        uint256 amounts = _amounts;
        uint256 supply = (amounts & AccountWord.UNITS) + (isMint ? m.value : 0);
        uint256 foreign = uint256(int256((amounts >> SupplyWord.FOREIGN_SHIFT) & AccountWord.UNITS) + m.foreignDelta);
        return foreign * 10_000 > bps * supply ? uint256(Reason.ForeignShareExceeded) : 0;
    }

    /// @dev Max investors holding units (0 = unlimited, < 2**32).
    function _setMaxHolders(uint256 maxHolders) internal {
        _maxHolders = SafeCast.toUint32(maxHolders);
        emit MaxHoldersSet(maxHolders);
    }

    /// @dev Max balance per investor over all its wallets (0 = unlimited, < 2**104).
    function _setMaxBalance(uint256 maxBalance) internal {
        _maxBalance = SafeCast.toUint104(maxBalance);
        emit MaxBalanceSet(maxBalance);
    }

    /// @dev Holder caps per category (0 = unlimited, each < 2**32).
    function _setCategoryHolderCaps(uint256 retail, uint256 accredited, uint256 institutional) internal {
        if ((retail | accredited | institutional) > type(uint32).max) revert InvalidCap();
        _setCaps(_caps.withField(1, retail).withField(2, accredited).withField(3, institutional));
        emit CategoryHolderCapsSet(retail, accredited, institutional);
    }

    /// @dev Foreign-ownership caps: investors (< 2**32) and share of the supply (0..10,000 bps); 0 = unlimited.
    function _setForeignCaps(uint256 maxForeignHolders, uint256 maxForeignShareBps) internal {
        if (maxForeignHolders > type(uint32).max || maxForeignShareBps > 10_000) revert InvalidCap();
        _setCaps(_caps.withField(CounterWord.FOREIGN_HOLDERS, maxForeignHolders).withShareBps(maxForeignShareBps));
        emit ForeignCapsSet(maxForeignHolders, maxForeignShareBps);
    }

    function _setCaps(uint256 caps) private {
        _caps = caps;
        if (caps != 0) _flags |= RulesWord.FLAG_CAPS;
        else _flags &= ~RulesWord.FLAG_CAPS;
    }

    /// @dev Counts `wallet`'s investor again under its current category and home/foreign class.
    function _syncInvestor(address wallet) internal {
        uint256 party = _infoOf(wallet);
        address investor = party.investor(wallet);
        uint256 account = _accounts[wallet];
        uint256 holding = _holding(wallet, investor, party, account);
        uint256 total = holding.balance();
        uint256 cls = _classOf(party, homeCountry());
        if (total == 0 || holding.class_() == cls) return;
        Move memory m;
        _counters = _reclass(m, _counters, holding, cls, total);
        uint256 amounts = _amounts;
        _amounts = SupplyWord.pack(amounts.supply(), uint256(int256(amounts.foreignUnits()) + m.foreignDelta));
        if (party.multi()) _holdings[investor] = holding.withClass(cls) | AccountWord.INIT;
        else _accounts[wallet] = account.withClass(cls);
        _emitReclassified(investor, cls);
    }
}
