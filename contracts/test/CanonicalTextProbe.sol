// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {CanonicalText} from "../utils/CanonicalText.sol";

/// @title CanonicalTextProbe
/// @notice TEST ONLY: exposes {CanonicalText} so that the Solidity and Python canonical forms are tested against the
/// same vectors (tests/vectors/canonical.json). Each check returns the first offending position, or
/// type(uint256).max when the text is canonical.
contract CanonicalTextProbe {
    /// @notice See {CanonicalText-legalReference}.
    /// @param text The text.
    /// @return The first offending position, or type(uint256).max.
    function legalReference(string calldata text) external pure returns (uint256) {
        return CanonicalText.legalReference(bytes(text));
    }

    /// @notice See {CanonicalText-symbol}.
    /// @param text The text.
    /// @return The first offending position, or type(uint256).max.
    function symbol(string calldata text) external pure returns (uint256) {
        return CanonicalText.symbol(bytes(text));
    }

    /// @notice See {CanonicalText-documentName}.
    /// @param text The text.
    /// @return The first offending position, or type(uint256).max.
    function documentName(string calldata text) external pure returns (uint256) {
        return CanonicalText.documentName(bytes(text));
    }

    /// @notice See {CanonicalText-jurisdiction}.
    /// @param code The code.
    /// @return Whether it is two upper-case letters.
    function jurisdiction(bytes2 code) external pure returns (bool) {
        return CanonicalText.jurisdiction(code);
    }
}
