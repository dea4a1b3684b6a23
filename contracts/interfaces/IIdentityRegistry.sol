// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IIdentityRegistry
 * @notice What a token asks the shared identity registry on every transfer.
 * @dev A returned word is the raw identity storage word:
 *   bits 0..15 country (uint16), bits 16..79 kycExpiry (uint64), bits 80..87 category (uint8), bits 88..95 exists.
 * An all-zero word means "no identity".
 */
interface IIdentityRegistry {
    /// @notice Both parties' raw identity words in one call (one call per transfer).
    /// @param from The sender.
    /// @param to The recipient.
    /// @return fromWord The sender's identity word.
    /// @return toWord The recipient's identity word.
    function pairInfo(address from, address to) external view returns (uint256 fromWord, uint256 toWord);

    /// @notice One wallet's raw identity word.
    /// @param wallet The wallet.
    /// @return word The identity word.
    function infoOf(address wallet) external view returns (uint256 word);
}

/// @dev Decoding helpers for identity words (see {IIdentityRegistry}).
library IdentityWord {
    /// @dev Whether the word is an existing identity whose KYC expires after `block.timestamp`.
    function verified(uint256 w) internal view returns (bool) {
        return (w >> 88) & 0xff != 0 && uint64(w >> 16) > block.timestamp;
    }

    /// @dev The ISO 3166-1 numeric country of the word.
    function country(uint256 w) internal pure returns (uint256) {
        return w & 0xffff;
    }
}
