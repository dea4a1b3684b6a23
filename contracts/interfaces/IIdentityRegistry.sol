// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IIdentityRegistry
 * @notice What a token asks the shared identity registry on every transfer: one *party word* per wallet, already
 * resolved from the wallet to its investor.
 * @dev Party word layout (see {IdentityWord}):
 *   bits   0..15  country of the investor (uint16, ISO 3166-1 numeric)
 *   bits  16..79  KYC expiry of the investor (uint64, unix seconds)
 *   bits  80..87  investor category (uint8: 1 retail, 2 accredited, 3 institutional)
 *   bit   88      eligible: the investor is registered (not deleted) AND this wallet is one of its active wallets
 *   bit   90      multi-wallet: the investor has (or had) more than one wallet
 *   bits  96..255 investor id (the address of the investor's first wallet)
 * An all-zero word means "this wallet belongs to no investor".
 */
interface IIdentityRegistry {
    /// @notice Both parties' party words in one call (one call per transfer).
    /// @param from The sender.
    /// @param to The recipient.
    /// @return fromWord The sender's party word.
    /// @return toWord The recipient's party word.
    function pairInfo(address from, address to) external view returns (uint256 fromWord, uint256 toWord);

    /// @notice One wallet's party word.
    /// @param wallet The wallet.
    /// @return word The party word.
    function infoOf(address wallet) external view returns (uint256 word);

    /// @notice Whether `wallet` is an active wallet of a registered investor whose KYC has not expired.
    /// @param wallet The wallet.
    /// @return True when verified.
    function isVerified(address wallet) external view returns (bool);

    /// @notice The investor a wallet belongs to (zero when none). A wallet never changes investor.
    /// @param wallet The wallet.
    /// @return The investor id.
    function investorOf(address wallet) external view returns (address);

    /// @notice The state of a wallet: 0 None (belongs to no investor), 1 Active, 2 Removed, 3 Lost (replaced by
    /// another wallet; final).
    /// @param wallet The wallet.
    /// @return The status.
    function walletStatus(address wallet) external view returns (uint8);
}

/// @dev Decoding helpers for party words (see {IIdentityRegistry}).
library IdentityWord {
    uint256 internal constant ELIGIBLE = 1 << 88;
    uint256 internal constant MULTI = 1 << 90;
    uint256 internal constant INVESTOR_SHIFT = 96;

    /// @dev Whether the word is an eligible wallet of an investor whose KYC expires after `block.timestamp`.
    function verified(uint256 w) internal view returns (bool) {
        return w & ELIGIBLE != 0 && uint64(w >> 16) > block.timestamp;
    }

    /// @dev The ISO 3166-1 numeric country of the investor.
    function country(uint256 w) internal pure returns (uint256) {
        return w & 0xffff;
    }

    /// @dev The investor category (1..3; 0 for no investor).
    function category(uint256 w) internal pure returns (uint256) {
        return (w >> 80) & 0xff;
    }

    /// @dev The investor id, or `wallet` itself when the wallet belongs to no investor (so that two unknown
    /// wallets are never "the same investor").
    function investor(uint256 w, address wallet) internal pure returns (address) {
        address id = address(uint160(w >> INVESTOR_SHIFT));
        return id == address(0) ? wallet : id;
    }

    /// @dev Whether the investor has (or had) several wallets, so that its holdings are summed by the token.
    function multi(uint256 w) internal pure returns (bool) {
        return w & MULTI != 0;
    }
}
