// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RWAAccessed, COMPLIANCE_ROLE, REGISTRAR_ROLE} from "./RWAAccessed.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";

/**
 * @title IdentityRegistry
 * @notice The investor-identity registry shared by every rwaledger token: wallet -> (country, KYC expiry, investor
 * category). A wallet is *verified* while its identity exists and `kycExpiry > block.timestamp`.
 * @dev One identity is ONE storage word, so a token's compliance check costs one SLOAD per party, and a token asks
 * for both parties of a transfer in ONE call ({pairInfo}). Word layout (the Solidity packing of {Identity}):
 *   bits   0..15  country    (uint16, ISO 3166-1 numeric, 1..999, e.g. 586 = Pakistan)
 *   bits  16..79  kycExpiry  (uint64, unix seconds)
 *   bits  80..87  category   (uint8: 1 retail, 2 accredited, 3 institutional)
 *   bits  88..95  exists     (bool)
 */
contract IdentityRegistry is RWAAccessed, IIdentityRegistry {
    /// @notice One investor identity (one storage slot).
    struct Identity {
        uint16 country;
        uint64 kycExpiry;
        uint8 category;
        bool exists;
    }

    mapping(address wallet => Identity) private _identities;

    /// @notice An identity was registered.
    /// @param wallet The investor wallet.
    /// @param country ISO 3166-1 numeric country code.
    /// @param kycExpiry Unix time at which the KYC expires.
    /// @param category Investor category (1 retail, 2 accredited, 3 institutional).
    event IdentityRegistered(address indexed wallet, uint16 indexed country, uint64 kycExpiry, uint8 category);
    /// @notice The country of an identity changed.
    /// @param wallet The investor wallet.
    /// @param country The new ISO 3166-1 numeric country code.
    event CountryUpdated(address indexed wallet, uint16 indexed country);
    /// @notice The KYC expiry of an identity changed.
    /// @param wallet The investor wallet.
    /// @param kycExpiry The new unix expiry time.
    event KycExpiryUpdated(address indexed wallet, uint64 kycExpiry);
    /// @notice The investor category of an identity changed.
    /// @param wallet The investor wallet.
    /// @param category The new category (1 retail, 2 accredited, 3 institutional).
    event CategoryUpdated(address indexed wallet, uint8 category);
    /// @notice An identity was deleted.
    /// @param wallet The investor wallet.
    event IdentityRemoved(address indexed wallet);
    /// @notice An identity was moved from a lost wallet to a new wallet (the lost wallet has no identity any more).
    /// @param lostWallet The wallet that lost its identity.
    /// @param newWallet The wallet that now holds it.
    /// @param country ISO 3166-1 numeric country code (unchanged).
    /// @param kycExpiry KYC expiry (unchanged).
    /// @param category Investor category (unchanged).
    /// @param recoveredBy The registrar / compliance officer who moved it.
    event IdentityRecovered(
        address indexed lostWallet,
        address indexed newWallet,
        uint16 country,
        uint64 kycExpiry,
        uint8 category,
        address indexed recoveredBy
    );

    /// @notice `wallet` already has an identity.
    /// @param wallet The wallet.
    error IdentityAlreadyRegistered(address wallet);
    /// @notice `wallet` has no identity.
    /// @param wallet The wallet.
    error IdentityNotFound(address wallet);
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

    /// @param authority_ The {RWAAccess} contract.
    constructor(address authority_) RWAAccessed(authority_) {}

    // ------------------------------------------------------------------ writes (COMPLIANCE_ROLE)

    /// @notice Registers the identity of `wallet`. COMPLIANCE_ROLE.
    /// @param wallet The investor wallet (must have no identity yet).
    /// @param country ISO 3166-1 numeric country code, 1..999.
    /// @param kycExpiry Unix time at which the KYC expires.
    /// @param category 1 retail, 2 accredited, 3 institutional.
    function registerIdentity(address wallet, uint16 country, uint64 kycExpiry, uint8 category)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        _register(wallet, country, kycExpiry, category);
    }

    /// @notice Registers many identities at once (same rules as {registerIdentity}). COMPLIANCE_ROLE.
    /// @param wallets The investor wallets.
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

    /// @notice Changes the country of an existing identity. COMPLIANCE_ROLE.
    /// @param wallet The investor wallet.
    /// @param country The new ISO 3166-1 numeric country code, 1..999.
    function updateCountry(address wallet, uint16 country) external onlyRole(COMPLIANCE_ROLE) {
        _checkCountry(country);
        _existing(wallet).country = country;
        emit CountryUpdated(wallet, country);
    }

    /// @notice Changes the KYC expiry of an existing identity. COMPLIANCE_ROLE.
    /// @param wallet The investor wallet.
    /// @param kycExpiry The new unix expiry time (a past time un-verifies the wallet).
    function updateKycExpiry(address wallet, uint64 kycExpiry) external onlyRole(COMPLIANCE_ROLE) {
        _existing(wallet).kycExpiry = kycExpiry;
        emit KycExpiryUpdated(wallet, kycExpiry);
    }

    /// @notice Changes the investor category of an existing identity. COMPLIANCE_ROLE.
    /// @param wallet The investor wallet.
    /// @param category The new category, 1..3.
    function updateCategory(address wallet, uint8 category) external onlyRole(COMPLIANCE_ROLE) {
        _checkCategory(category);
        _existing(wallet).category = category;
        emit CategoryUpdated(wallet, category);
    }

    /// @notice Deletes the identity of `wallet` (it is no longer verified). COMPLIANCE_ROLE.
    /// @param wallet The investor wallet.
    function deleteIdentity(address wallet) external onlyRole(COMPLIANCE_ROLE) {
        _existing(wallet);
        delete _identities[wallet];
        emit IdentityRemoved(wallet);
    }

    /// @notice Moves the identity of a lost wallet to a new wallet (ERC-3643 `recoveryAddress` semantics; recover the
    /// token balances with each token's `recoveryAddress`). REGISTRAR_ROLE or COMPLIANCE_ROLE.
    /// @param lostWallet The wallet whose identity moves (must have one).
    /// @param newWallet The receiving wallet (must have none).
    function recoverIdentity(address lostWallet, address newWallet) external {
        if (!_hasRole(REGISTRAR_ROLE, msg.sender)) _checkRole(COMPLIANCE_ROLE);
        Identity memory id = _existing(lostWallet);
        if (newWallet == address(0)) revert InvalidWallet();
        if (_identities[newWallet].exists) revert IdentityAlreadyRegistered(newWallet);
        _identities[newWallet] = id;
        delete _identities[lostWallet];
        emit IdentityRecovered(lostWallet, newWallet, id.country, id.kycExpiry, id.category, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether `wallet` has an identity whose KYC has not expired (`kycExpiry > block.timestamp`).
    /// @param wallet The wallet.
    /// @return True when verified.
    function isVerified(address wallet) external view returns (bool) {
        Identity storage id = _identities[wallet];
        return id.exists && id.kycExpiry > block.timestamp;
    }

    /// @notice The identity of `wallet` (all zero when none).
    /// @param wallet The wallet.
    /// @return country ISO 3166-1 numeric code.
    /// @return kycExpiry Unix KYC expiry.
    /// @return category Investor category.
    /// @return exists Whether an identity is registered.
    function identity(address wallet)
        external
        view
        returns (uint16 country, uint64 kycExpiry, uint8 category, bool exists)
    {
        Identity memory id = _identities[wallet];
        return (id.country, id.kycExpiry, id.category, id.exists);
    }

    /// @inheritdoc IIdentityRegistry
    function pairInfo(address from, address to) external view returns (uint256 fromWord, uint256 toWord) {
        assembly ("memory-safe") {
            mstore(0x20, _identities.slot)
            mstore(0x00, from)
            fromWord := sload(keccak256(0x00, 0x40))
            mstore(0x00, to)
            toWord := sload(keccak256(0x00, 0x40))
        }
    }

    /// @inheritdoc IIdentityRegistry
    function infoOf(address wallet) external view returns (uint256 word) {
        assembly ("memory-safe") {
            mstore(0x20, _identities.slot)
            mstore(0x00, wallet)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    // ------------------------------------------------------------------ internals

    function _register(address wallet, uint16 country, uint64 kycExpiry, uint8 category) private {
        if (wallet == address(0)) revert InvalidWallet();
        _checkCountry(country);
        _checkCategory(category);
        Identity storage id = _identities[wallet];
        if (id.exists) revert IdentityAlreadyRegistered(wallet);
        _identities[wallet] = Identity(country, kycExpiry, category, true);
        emit IdentityRegistered(wallet, country, kycExpiry, category);
    }

    function _existing(address wallet) private view returns (Identity storage id) {
        id = _identities[wallet];
        if (!id.exists) revert IdentityNotFound(wallet);
    }

    function _checkCountry(uint16 country) private pure {
        if (country == 0 || country > 999) revert InvalidCountry(country);
    }

    function _checkCategory(uint8 category) private pure {
        if (category == 0 || category > 3) revert InvalidCategory(category);
    }
}
