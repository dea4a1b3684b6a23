// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title CanonicalText
 * @notice The canonical ASCII forms the registry accepts, checked byte by byte, so that no client can register a
 * spelling variant of a parcel, a symbol or a document name. The service maps what people type into these forms
 * (`rwaledger.canonical`); both sides are tested against the same vectors (`tests/vectors/canonical.json`).
 *
 * A canonical text is one or more *parts* of alphanumerics separated by exactly one separator: no separator first,
 * last or next to another, and no other byte.
 *
 * | form            | alphanumerics | separators | length  |
 * |-----------------|---------------|------------|---------|
 * | legal reference | `A-Z 0-9`     | `/ - .`    | 1..128  |
 * | jurisdiction    | `A-Z` (exactly two letters, ISO 3166-1 alpha-2) | none | 2 |
 * | symbol          | `A-Z 0-9`     | `-`        | 1..11   |
 * | document name   | `a-z 0-9`     | `-`        | 1..64   |
 */
library CanonicalText {
    /// @dev Returned by the checks when the text is canonical.
    uint256 internal constant OK = type(uint256).max;

    uint256 private constant _UPPER = ((1 << 26) - 1) << 0x41; // A..Z
    uint256 private constant _LOWER = ((1 << 26) - 1) << 0x61; // a..z
    uint256 private constant _DIGITS = ((1 << 10) - 1) << 0x30; // 0..9
    uint256 private constant _DASH = 1 << 0x2d;
    uint256 private constant _REF_SEPARATORS = (1 << 0x2d) | (1 << 0x2e) | (1 << 0x2f); // - . /

    /// @notice Position of the first byte of `text` that breaks the legal-reference form, or {OK}.
    function legalReference(bytes memory text) internal pure returns (uint256) {
        return _check(text, _UPPER | _DIGITS, _REF_SEPARATORS, 128);
    }

    /// @notice Position of the first byte of `text` that breaks the symbol form, or {OK}.
    function symbol(bytes memory text) internal pure returns (uint256) {
        return _check(text, _UPPER | _DIGITS, _DASH, 11);
    }

    /// @notice Position of the first byte of `text` that breaks the document-name form, or {OK}.
    function documentName(bytes memory text) internal pure returns (uint256) {
        return _check(text, _LOWER | _DIGITS, _DASH, 64);
    }

    /// @notice Whether `code` is two upper-case ASCII letters.
    function jurisdiction(bytes2 code) internal pure returns (bool) {
        return _UPPER & (1 << uint8(code[0])) != 0 && _UPPER & (1 << uint8(code[1])) != 0;
    }

    /// @dev `alnum` and `seps` are 256-bit sets of byte values. A text longer than `maxLength` fails at
    /// `maxLength`; an empty one at 0. The byte loop is in assembly (about 25 gas a byte instead of 90).
    function _check(bytes memory text, uint256 alnum, uint256 seps, uint256 maxLength)
        private
        pure
        returns (uint256 result)
    {
        uint256 n = text.length;
        if (n == 0) return 0;
        if (n > maxLength) return maxLength;
        assembly ("memory-safe") {
            let ptr := add(text, 0x20)
            let afterSeparator := 1 // a separator may not come first
            result := not(0)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let bit := shl(byte(0, mload(add(ptr, i))), 1)
                switch iszero(and(alnum, bit))
                case 0 { afterSeparator := 0 }
                default {
                    if or(iszero(and(seps, bit)), afterSeparator) {
                        result := i
                        break
                    }
                    afterSeparator := 1
                }
            }
            if and(eq(result, not(0)), afterSeparator) { result := sub(n, 1) } // nor last
        }
    }
}
