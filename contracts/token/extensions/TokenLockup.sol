// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RulesWord} from "../TokenWords.sol";
import {TokenFreezable} from "./TokenFreezable.sol";

/**
 * @title TokenLockup
 * @notice Rule extension: no ordinary transfer before `lockupUntil` ({Reason.LockedUp}); mints, forced moves and
 * redemptions are not transfers between holders and are not locked up. Its field is `RulesWord` bits 16..55.
 */
abstract contract TokenLockup is TokenFreezable {
    function _checkParties(Move memory m, uint256 ruleWord) internal view virtual override returns (uint256 code) {
        code = super._checkParties(m, ruleWord);
        if (code != 0) return code;
        if (m.kind == _TRANSFER && block.timestamp < ((ruleWord >> RulesWord.LOCKUP_SHIFT) & type(uint40).max)) {
            return uint256(Reason.LockedUp);
        }
    }

    /// @dev Blocks ordinary transfers while block.timestamp < `lockupUntil` (0 = none; < 2**40).
    function _setLockupUntil(uint256 lockupUntil) internal {
        _lockupUntil = SafeCast.toUint40(lockupUntil);
        emit LockupSet(lockupUntil);
    }
}
