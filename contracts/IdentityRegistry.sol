// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RWAAccessed, COMPLIANCE_ROLE} from "./RWAAccessed.sol";
import {IIdentityRegistry, IdentityWord} from "./interfaces/IIdentityRegistry.sol";

/**
 * @title IdentityRegistry
 * @notice The investor registry shared by every rwaledger token. An *investor* (one country, one KYC expiry, one
 * category) owns one or more *wallets*. Only the compliance officer (COMPLIANCE_ROLE) creates, changes or moves
 * investors and wallets; no other role can make a wallet verified.
 *
 * - An investor's id is the address of its first wallet. A wallet belongs to at most one investor, ever: it can
 *   be removed (and added back to the same investor) but never re-assigned, so the holdings a token attributes to
 *   an investor never change behind its back.
 * - A wallet is *verified* while it is an active wallet of a registered (not deleted) investor whose KYC has not
 *   expired.
 * - A lost wallet is *replaced* ({replaceWallet}): it is marked Lost for good (it can never be verified again, so
 *   it can neither receive nor send), and the new wallet joins the same investor; each token then moves the lost
 *   wallet's units with its `recoveryAddress`, which only accepts a new wallet of the same investor.
 *
 * @dev One storage word per address, so registering an investor writes ONE slot and a token's compliance check
 * costs one SLOAD per party for a single-wallet investor (two for a second wallet). Stored word layout:
 *   bits   0..15  country    (investor records only)
 *   bits  16..79  kycExpiry  (investor records only)
 *   bits  80..87  category   (investor records only)
 *   bit   88      ACTIVE      investor registered and not deleted (records)
 *   bit   89      RECORD      the key is an investor id (the investor's first wallet)
 *   bit   90      MULTI       the investor has (or had) more than one wallet (records; never cleared)
 *   bit   91      WALLET_ON   the key, as a wallet, is active
 *   bit   92      WALLET_LOST the key, as a wallet, was replaced (final)
 *   bit   93      LINK        the key is a further wallet of the investor in bits 96..255
 *   bits  96..255 investor id (LINK words only)
 * {pairInfo} and {infoOf} return *party words* (see {IIdentityRegistry}), resolved from wallet to investor.
 */
contract IdentityRegistry is RWAAccessed, IIdentityRegistry {
    uint256 private constant _DATA = (1 << 88) - 1;
    uint256 private constant _ACTIVE = 1 << 88;
    uint256 private constant _RECORD = 1 << 89;
    uint256 private constant _MULTI = 1 << 90;
    uint256 private constant _WALLET_ON = 1 << 91;
    uint256 private constant _WALLET_LOST = 1 << 92;
    uint256 private constant _LINK = 1 << 93;
    uint256 private constant _ID_SHIFT = 96;

    /// @notice Wallet status codes of {walletStatus}.
    uint8 public constant WALLET_NONE = 0;
    uint8 public constant WALLET_ACTIVE = 1;
    uint8 public constant WALLET_REMOVED = 2;
    uint8 public constant WALLET_LOST = 3;

    mapping(address key => uint256) private _words;

    /// @notice An investor was registered (or a deleted one registered again), with its first wallet.
    /// @param investor The investor id (= its first wallet).
    /// @param country ISO 3166-1 numeric country code.
    /// @param kycExpiry Unix time at which the KYC expires.
    /// @param category Investor category (1 retail, 2 accredited, 3 institutional).
    event IdentityRegistered(address indexed investor, uint16 indexed country, uint64 kycExpiry, uint8 category);
    /// @notice The country of an investor changed.
    /// @param investor The investor id.
    /// @param country The new ISO 3166-1 numeric country code.
    event CountryUpdated(address indexed investor, uint16 indexed country);
    /// @notice The KYC expiry of an investor changed.
    /// @param investor The investor id.
    /// @param kycExpiry The new unix expiry time.
    event KycExpiryUpdated(address indexed investor, uint64 kycExpiry);
    /// @notice The category of an investor changed.
    /// @param investor The investor id.
    /// @param category The new category (1 retail, 2 accredited, 3 institutional).
    event CategoryUpdated(address indexed investor, uint8 category);
    /// @notice An investor was deleted: none of its wallets is verified any more (they stay bound to it).
    /// @param investor The investor id.
    event IdentityRemoved(address indexed investor);
    /// @notice A wallet was added to an investor (or a removed wallet added back).
    /// @param investor The investor id.
    /// @param wallet The wallet.
    event WalletAdded(address indexed investor, address indexed wallet);
    /// @notice A wallet of an investor was removed (it stays bound to the investor and may be added back).
    /// @param investor The investor id.
    /// @param wallet The wallet.
    event WalletRemoved(address indexed investor, address indexed wallet);
    /// @notice A lost wallet was replaced: it is Lost for good and `newWallet` is an active wallet of the investor.
    /// @param investor The investor id.
    /// @param lostWallet The lost wallet.
    /// @param newWallet Its replacement.
    event WalletReplaced(address indexed investor, address indexed lostWallet, address indexed newWallet);

    /// @notice `wallet` already is an active investor or a wallet of one.
    /// @param wallet The wallet.
    error IdentityAlreadyRegistered(address wallet);
    /// @notice `wallet` belongs to no investor.
    /// @param wallet The wallet.
    error IdentityNotFound(address wallet);
    /// @notice The investor of `wallet` is deleted.
    /// @param investor The investor id.
    error InvestorNotActive(address investor);
    /// @notice The country code is not an ISO 3166-1 numeric code (must be 1..999).
    /// @param country The rejected code.
    error InvalidCountry(uint16 country);
    /// @notice The investor category is not 1, 2 or 3.
    /// @param category The rejected category.
    error InvalidCategory(uint8 category);
    /// @notice The wallet is the zero address.
    error InvalidWallet();
    /// @notice The arrays of a batch call differ in length.
    error ArrayLengthMismatch();
    /// @notice `wallet` belongs to another investor (a wallet never changes investor).
    /// @param wallet The wallet.
    /// @param investor The investor it belongs to.
    error WalletBound(address wallet, address investor);
    /// @notice `wallet` was replaced as lost: it can never be used again.
    /// @param wallet The wallet.
    error WalletIsLost(address wallet);
    /// @notice `wallet` is not an active wallet.
    /// @param wallet The wallet.
    error WalletNotActive(address wallet);
    /// @notice `wallet` already is an active wallet of the investor.
    /// @param wallet The wallet.
    error WalletAlreadyActive(address wallet);

    /// @param authority_ The {RWAAccess} contract.
    constructor(address authority_) RWAAccessed(authority_) {}

    // ------------------------------------------------------------------ investors (COMPLIANCE_ROLE)

    /// @notice Registers an investor with its first wallet (its id), or registers a deleted investor again with
    /// new data (its wallets stay as they were). COMPLIANCE_ROLE.
    /// @param wallet The first wallet (= the investor id); must belong to no investor, or be a deleted investor's id.
    /// @param country ISO 3166-1 numeric country code, 1..999.
    /// @param kycExpiry Unix time at which the KYC expires.
    /// @param category 1 retail, 2 accredited, 3 institutional.
    function registerIdentity(address wallet, uint16 country, uint64 kycExpiry, uint8 category)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        _register(wallet, country, kycExpiry, category);
    }

    /// @notice Registers many investors at once (same rules as {registerIdentity}). COMPLIANCE_ROLE.
    /// @param wallets Their first wallets.
    /// @param countries Their ISO 3166-1 numeric country codes.
    /// @param kycExpiries Their KYC expiry times.
    /// @param categories Their investor categories.
    function batchRegisterIdentity(
        address[] calldata wallets,
        uint16[] calldata countries,
        uint64[] calldata kycExpiries,
        uint8[] calldata categories
    ) external onlyRole(COMPLIANCE_ROLE) {
        uint256 n = wallets.length;
        if (countries.length != n || kycExpiries.length != n || categories.length != n) revert ArrayLengthMismatch();
        for (uint256 i; i < n; ++i) {
            _register(wallets[i], countries[i], kycExpiries[i], categories[i]);
        }
    }

    /// @notice Changes the country of the investor `wallet` belongs to. COMPLIANCE_ROLE.
    /// @param wallet Any wallet of the investor (or its id).
    /// @param country The new ISO 3166-1 numeric country code, 1..999.
    function updateCountry(address wallet, uint16 country) external onlyRole(COMPLIANCE_ROLE) {
        _checkCountry(country);
        address id = _setData(wallet, 0, 0xffff, country);
        emit CountryUpdated(id, country);
    }

    /// @notice Changes the KYC expiry of the investor `wallet` belongs to (a past time un-verifies every wallet of
    /// the investor). COMPLIANCE_ROLE.
    /// @param wallet Any wallet of the investor (or its id).
    /// @param kycExpiry The new unix expiry time.
    function updateKycExpiry(address wallet, uint64 kycExpiry) external onlyRole(COMPLIANCE_ROLE) {
        address id = _setData(wallet, 16, type(uint64).max, kycExpiry);
        emit KycExpiryUpdated(id, kycExpiry);
    }

    /// @notice Changes the category of the investor `wallet` belongs to. COMPLIANCE_ROLE.
    /// @param wallet Any wallet of the investor (or its id).
    /// @param category The new category, 1..3.
    function updateCategory(address wallet, uint8 category) external onlyRole(COMPLIANCE_ROLE) {
        _checkCategory(category);
        address id = _setData(wallet, 80, 0xff, category);
        emit CategoryUpdated(id, category);
    }

    /// @notice Deletes the investor `wallet` belongs to: none of its wallets is verified any more; they stay bound
    /// to it, and {registerIdentity} of its id brings it back. COMPLIANCE_ROLE.
    /// @param wallet Any wallet of the investor (or its id).
    function deleteIdentity(address wallet) external onlyRole(COMPLIANCE_ROLE) {
        (address id, uint256 rec) = _record(wallet);
        if (rec & _ACTIVE == 0) revert InvestorNotActive(id);
        _words[id] = rec & ~_ACTIVE;
        emit IdentityRemoved(id);
    }

    // ------------------------------------------------------------------ wallets (COMPLIANCE_ROLE)

    /// @notice Adds `wallet` to the investor `investorWallet` belongs to: a wallet that belongs to no investor,
    /// or a removed wallet of this investor added back. COMPLIANCE_ROLE.
    /// @param investorWallet Any wallet of the investor (or its id); the investor must be registered.
    /// @param wallet The wallet to add.
    function addWallet(address investorWallet, address wallet) external onlyRole(COMPLIANCE_ROLE) {
        _addWallet(investorWallet, wallet);
    }

    /// @notice Adds many wallets at once (same rules as {addWallet}): `wallets[i]` joins the investor of
    /// `investorWallets[i]`. COMPLIANCE_ROLE.
    /// @param investorWallets For each wallet, any wallet of the investor it joins (or the investor's id).
    /// @param wallets The wallets to add.
    function batchAddWallets(address[] calldata investorWallets, address[] calldata wallets)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        if (investorWallets.length != wallets.length) revert ArrayLengthMismatch();
        for (uint256 i; i < wallets.length; ++i) {
            _addWallet(investorWallets[i], wallets[i]);
        }
    }

    /// @notice Removes an active wallet of an investor: it is no longer verified, stays bound to the investor and
    /// can be added back with {addWallet}. COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    function removeWallet(address wallet) external onlyRole(COMPLIANCE_ROLE) {
        uint256 w = _words[wallet];
        if (w & _WALLET_ON == 0) revert WalletNotActive(wallet);
        _words[wallet] = w & ~_WALLET_ON;
        emit WalletRemoved(_idOf(wallet, w), wallet);
    }

    /// @notice Replaces a lost wallet: `lostWallet` becomes Lost for good and `newWallet` (a wallet that belongs to
    /// no investor, or an active wallet of the same investor) is an active wallet of the investor. Then each token's
    /// `recoveryAddress(lostWallet, newWallet)` moves the lost wallet's units. COMPLIANCE_ROLE.
    /// @param lostWallet A wallet of an investor (active or removed, not already lost).
    /// @param newWallet The replacement.
    function replaceWallet(address lostWallet, address newWallet) external onlyRole(COMPLIANCE_ROLE) {
        uint256 w = _words[lostWallet];
        if (w == 0) revert IdentityNotFound(lostWallet);
        if (w & _WALLET_LOST != 0) revert WalletIsLost(lostWallet);
        if (newWallet == lostWallet) revert InvalidWallet();
        address id = _idOf(lostWallet, w);
        uint256 rec = lostWallet == id ? w : _words[id];
        _words[lostWallet] = (w & ~_WALLET_ON) | _WALLET_LOST;
        if (lostWallet == id) rec = _words[id];
        _bindWallet(id, rec, newWallet, true);
        emit WalletReplaced(id, lostWallet, newWallet);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IIdentityRegistry
    function isVerified(address wallet) external view returns (bool) {
        return IdentityWord.verified(_resolve(wallet));
    }

    /// @notice Whether `wallet` is an active wallet of a registered investor, whatever its KYC expiry (T-REX
    /// `IIdentityRegistry.contains`).
    /// @param wallet The wallet.
    /// @return True when it carries an identity.
    function contains(address wallet) external view returns (bool) {
        return _resolve(wallet) & _ACTIVE != 0;
    }

    /// @notice ISO 3166-1 numeric country of `wallet`'s investor, 0 when it belongs to none (T-REX
    /// `IIdentityRegistry.investorCountry`).
    /// @param wallet The wallet.
    /// @return The country code.
    function investorCountry(address wallet) external view returns (uint16) {
        uint256 w = _resolve(wallet);
        return w & _ACTIVE != 0 ? uint16(w) : 0;
    }

    /// @notice The identity `wallet` carries (its investor's data; all zero when it belongs to no investor).
    /// @param wallet The wallet.
    /// @return country ISO 3166-1 numeric code.
    /// @return kycExpiry Unix KYC expiry.
    /// @return category Investor category.
    /// @return exists Whether the investor is registered and the wallet active (verified once KYC is valid).
    function identity(address wallet)
        external
        view
        returns (uint16 country, uint64 kycExpiry, uint8 category, bool exists)
    {
        uint256 w = _resolve(wallet);
        return (uint16(w), uint64(w >> 16), uint8(w >> 80), w & _ACTIVE != 0);
    }

    /// @notice An investor's record.
    /// @param investorId The investor id.
    /// @return country ISO 3166-1 numeric code.
    /// @return kycExpiry Unix KYC expiry.
    /// @return category Investor category.
    /// @return active Whether the investor is registered and not deleted.
    /// @return multiWallet Whether it has (or had) more than one wallet.
    function investor(address investorId)
        external
        view
        returns (uint16 country, uint64 kycExpiry, uint8 category, bool active, bool multiWallet)
    {
        uint256 w = _words[investorId];
        if (w & _RECORD == 0) return (0, 0, 0, false, false);
        return (uint16(w), uint64(w >> 16), uint8(w >> 80), w & _ACTIVE != 0, w & _MULTI != 0);
    }

    /// @inheritdoc IIdentityRegistry
    function investorOf(address wallet) external view returns (address) {
        uint256 w = _words[wallet];
        return w == 0 ? address(0) : _idOf(wallet, w);
    }

    /// @inheritdoc IIdentityRegistry
    function walletStatus(address wallet) external view returns (uint8) {
        uint256 w = _words[wallet];
        if (w == 0) return WALLET_NONE;
        if (w & _WALLET_LOST != 0) return WALLET_LOST;
        return w & _WALLET_ON != 0 ? WALLET_ACTIVE : WALLET_REMOVED;
    }

    /// @inheritdoc IIdentityRegistry
    function pairInfo(address from, address to) external view returns (uint256 fromWord, uint256 toWord) {
        return (_resolve(from), _resolve(to));
    }

    /// @inheritdoc IIdentityRegistry
    function infoOf(address wallet) external view returns (uint256 word) {
        return _resolve(wallet);
    }

    // ------------------------------------------------------------------ internals

    function _addWallet(address investorWallet, address wallet) private {
        (address id, uint256 rec) = _record(investorWallet);
        if (rec & _ACTIVE == 0) revert InvestorNotActive(id);
        _bindWallet(id, rec, wallet, false);
        emit WalletAdded(id, wallet);
    }

    /// @dev The party word of `wallet`: its investor's data, eligibility and id (in assembly: it runs for both
    /// parties of every transfer).
    function _resolve(address wallet) private view returns (uint256 party) {
        assembly ("memory-safe") {
            mstore(0x00, wallet)
            mstore(0x20, _words.slot)
            let w := sload(keccak256(0x00, 0x40))
            if w {
                let id := wallet
                let rec := w
                if and(w, _LINK) {
                    id := shr(_ID_SHIFT, w)
                    mstore(0x00, id)
                    rec := sload(keccak256(0x00, 0x40))
                }
                // eligible (bit 88, = ACTIVE) when the investor is active and this wallet is on
                let eligible := mul(and(rec, _ACTIVE), iszero(iszero(and(w, _WALLET_ON))))
                party := or(or(and(rec, _DATA), eligible), or(and(rec, _MULTI), shl(_ID_SHIFT, id)))
            }
        }
    }

    function _idOf(address wallet, uint256 w) private pure returns (address) {
        return w & _LINK != 0 ? address(uint160(w >> _ID_SHIFT)) : wallet;
    }

    /// @dev The investor id and record word of the investor `wallet` belongs to.
    function _record(address wallet) private view returns (address id, uint256 rec) {
        uint256 w = _words[wallet];
        if (w == 0) revert IdentityNotFound(wallet);
        id = _idOf(wallet, w);
        rec = id == wallet ? w : _words[id];
    }

    function _setData(address wallet, uint256 shift, uint256 mask, uint256 value) private returns (address id) {
        uint256 rec;
        (id, rec) = _record(wallet);
        _words[id] = (rec & ~(mask << shift)) | (value << shift);
    }

    /// @dev Makes `wallet` an active wallet of investor `id` (record word `rec`).
    function _bindWallet(address id, uint256 rec, address wallet, bool allowActive) private {
        if (wallet == address(0)) revert InvalidWallet();
        uint256 w = _words[wallet];
        if (w == 0) {
            _words[wallet] = _LINK | _WALLET_ON | (uint256(uint160(id)) << _ID_SHIFT);
            if (rec & _MULTI == 0) _words[id] = rec | _MULTI;
            return;
        }
        address owner = _idOf(wallet, w);
        if (owner != id) revert WalletBound(wallet, owner);
        if (w & _WALLET_LOST != 0) revert WalletIsLost(wallet);
        if (w & _WALLET_ON != 0) {
            if (!allowActive) revert WalletAlreadyActive(wallet);
            return;
        }
        _words[wallet] = w | _WALLET_ON;
    }

    function _register(address wallet, uint16 country, uint64 kycExpiry, uint8 category) private {
        if (wallet == address(0)) revert InvalidWallet();
        _checkCountry(country);
        _checkCategory(category);
        uint256 w = _words[wallet];
        uint256 data = uint256(country) | (uint256(kycExpiry) << 16) | (uint256(category) << 80);
        if (w == 0) {
            _words[wallet] = data | _ACTIVE | _RECORD | _WALLET_ON;
        } else if (w & _RECORD != 0 && w & _ACTIVE == 0) {
            _words[wallet] = (w & ~_DATA) | data | _ACTIVE; // a deleted investor comes back, wallets unchanged
        } else {
            revert IdentityAlreadyRegistered(wallet);
        }
        emit IdentityRegistered(wallet, country, kycExpiry, category);
    }

    function _checkCountry(uint16 country) private pure {
        if (country == 0 || country > 999) revert InvalidCountry(country);
    }

    function _checkCategory(uint8 category) private pure {
        if (category == 0 || category > 3) revert InvalidCategory(category);
    }
}
