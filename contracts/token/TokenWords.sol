// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @dev A token's per-wallet account word (`CompliantTokenCore._accounts`) and per-investor holding word
/// (`_holdings`): every bit position has a name here, and only these functions read or write them.
///   bits   0..119  balance (account) / the sum of the investor's wallets (holding)
///   bits 120..239  unavailable units: the covered part of the frozen amount + encumbered (liens) + locked (redemptions)
///   bit  240       wallet frozen
///   bit  241       frozen short: the frozen amount set exceeds what the wallet covers (units it gets freeze first)
///   bits 242..244  the class the holding was counted under: category (2 bits) | foreign (bit 2)
///   bit  248       holding word written (else the investor's sum is still its first wallet's balance)
library AccountWord {
    uint256 internal constant UNITS = (1 << 120) - 1; // one amount field
    uint256 internal constant UNAVAILABLE_SHIFT = 120;
    uint256 internal constant UNAVAILABLE = UNITS << UNAVAILABLE_SHIFT;
    uint256 internal constant FROZEN = 1 << 240;
    uint256 internal constant SHORT = 1 << 241;
    uint256 internal constant CLASS_SHIFT = 242;
    uint256 internal constant CLASS_MASK = 7 << CLASS_SHIFT;
    uint256 internal constant INIT = 1 << 248;
    uint256 internal constant FOREIGN = 4; // the foreign bit of a class

    function balance(uint256 a) internal pure returns (uint256) {
        return a & UNITS;
    }

    function unavailable(uint256 a) internal pure returns (uint256) {
        return (a >> UNAVAILABLE_SHIFT) & UNITS;
    }

    /// @dev balance - unavailable (never negative: unavailable <= balance always holds).
    function free(uint256 a) internal pure returns (uint256) {
        return (a & UNITS) - ((a >> UNAVAILABLE_SHIFT) & UNITS);
    }

    /// @dev `a` with `units` more unavailable units.
    function lock(uint256 a, uint256 units) internal pure returns (uint256) {
        return a + (units << UNAVAILABLE_SHIFT);
    }

    /// @dev `a` with `units` fewer unavailable units.
    function unlock(uint256 a, uint256 units) internal pure returns (uint256) {
        return a - (units << UNAVAILABLE_SHIFT);
    }

    function withUnavailable(uint256 a, uint256 units) internal pure returns (uint256) {
        return (a & ~UNAVAILABLE) | (units << UNAVAILABLE_SHIFT);
    }

    function isFrozen(uint256 a) internal pure returns (bool) {
        return a & FROZEN != 0;
    }

    function class_(uint256 a) internal pure returns (uint256) {
        return (a >> CLASS_SHIFT) & 7;
    }

    function withClass(uint256 a, uint256 cls) internal pure returns (uint256) {
        return (a & ~CLASS_MASK) | (cls << CLASS_SHIFT);
    }
}

/// @dev The rules word: the slot OpenZeppelin's `Pausable._paused` sits in (slot 5, byte 0), with the rule variables
/// packed after it so ONE SLOAD reads them all. tests/contracts/test_contracts_layout.py pins these positions to the
/// compiler's storage layout.
///   byte 0         paused (OpenZeppelin)
///   bits   8..15   flags
///   bits  16..55   lockupUntil (uint40)
///   bits  56..87   maxHolders (uint32)
///   bits  88..191  maxBalance (uint104)
library RulesWord {
    uint256 internal constant PAUSED = 0xff;
    uint256 internal constant FLAGS_SHIFT = 8;
    // the flags (the `uint8 _flags` variable), and the same bits in the word
    uint8 internal constant FLAG_DISABLED = 1; // the contract is an implementation (or the module), not a token
    uint8 internal constant FLAG_ALLOWLIST = 2;
    uint8 internal constant FLAG_BLOCKLIST = 4;
    uint8 internal constant FLAG_CAPS = 8; // some category / foreign cap is set
    uint256 internal constant DISABLED = uint256(FLAG_DISABLED) << FLAGS_SHIFT;
    uint256 internal constant ALLOWLIST = uint256(FLAG_ALLOWLIST) << FLAGS_SHIFT;
    uint256 internal constant BLOCKLIST = uint256(FLAG_BLOCKLIST) << FLAGS_SHIFT;
    uint256 internal constant CAPS = uint256(FLAG_CAPS) << FLAGS_SHIFT;
    uint256 internal constant LOCKUP_SHIFT = 16;
    uint256 internal constant MAX_HOLDERS_SHIFT = 56;
    uint256 internal constant MAX_BALANCE_SHIFT = 88;
}

/// @dev The counters word and the caps word: 32-bit fields.
///   counters: field 0 investors holding units, 1..3 per category (retail, accredited, institutional), 4 foreign
///             investors, 5 frozen wallets
///   caps:     fields 1..3 category caps, 4 foreign holder cap; bits 160..175 the foreign share cap (basis points)
library CounterWord {
    uint256 internal constant HOLDERS = 0;
    uint256 internal constant FOREIGN_HOLDERS = 4;
    uint256 internal constant FROZEN_WALLETS = 5;
    uint256 internal constant SHARE_SHIFT = 160;

    function field(uint256 w, uint256 i) internal pure returns (uint256) {
        return (w >> (32 * i)) & 0xffffffff;
    }

    /// @dev One in field `i`, to add to or subtract from a word.
    function one(uint256 i) internal pure returns (uint256) {
        return 1 << (32 * i);
    }

    /// @dev `w` with field `i` set to `v` (< 2**32).
    function withField(uint256 w, uint256 i, uint256 v) internal pure returns (uint256) {
        return (w & ~(uint256(0xffffffff) << (32 * i))) | (v << (32 * i));
    }

    function shareBps(uint256 caps) internal pure returns (uint256) {
        return (caps >> SHARE_SHIFT) & 0xffff;
    }

    function withShareBps(uint256 caps, uint256 bps) internal pure returns (uint256) {
        return (caps & ~(uint256(0xffff) << SHARE_SHIFT)) | (bps << SHARE_SHIFT);
    }
}

/// @dev The supply word (`_amounts`): totalSupply (bits 0..119) | units held by foreign investors (120..239).
library SupplyWord {
    uint256 internal constant FOREIGN_SHIFT = 120;

    function supply(uint256 w) internal pure returns (uint256) {
        return w & AccountWord.UNITS;
    }

    function foreignUnits(uint256 w) internal pure returns (uint256) {
        return (w >> FOREIGN_SHIFT) & AccountWord.UNITS;
    }

    function pack(uint256 supply_, uint256 foreignUnits_) internal pure returns (uint256) {
        return supply_ | (foreignUnits_ << FOREIGN_SHIFT);
    }
}
