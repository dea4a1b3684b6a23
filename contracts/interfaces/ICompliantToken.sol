// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @dev The ERC-1404 message of every {ICompliantToken.Reason}, in code order, each ended by a newline:
/// `messageForTransferRestriction(code)` returns line `code`. The Python library reads this constant from the
/// compiler's output (`rwaledger.constants.REASON_TEXT`), and the README's reason table repeats it (checked by a test).
string constant REASON_MESSAGES =
    "no restriction\n"
    "the token is paused\n"
    "the sender has no valid KYC identity (unregistered, removed, lost or expired)\n"
    "the recipient has no valid KYC identity (unregistered, removed, lost or expired)\n"
    "the sender's wallet is frozen\n"
    "the recipient's wallet is frozen\n"
    "the token is still in its lock-up period\n"
    "the recipient's country is not allowed for this token\n"
    "the sender does not hold that many units\n"
    "part of the sender's balance is frozen, under a lien or locked for redemption\n"
    "the recipient investor (all its wallets) would exceed the maximum balance per investor\n"
    "a new investor would exceed the token's maximum number of holders\n"
    "the mint would exceed the asset's fixed number of shares\n"
    "the mint would exceed the attested custody reserve\n"
    "this address is the shared implementation, not a token\n"
    "a new investor would exceed the holder cap of its category\n"
    "a new foreign investor would exceed the cap on foreign holders\n"
    "investors from outside the home country would hold more than their cap\n"
    "the asset is not active in the registry (register, then activate it; retired assets never mint)\n";

/**
 * @title ICompliantToken
 * @notice The reason codes, events and errors of rwaledger's permissioned tokens (`draft-IERC6093.sol` style: every
 * declaration in one interface, none in the contracts). The events the standards define are not repeated here: the
 * tokens emit ERC-7943's `ForcedTransfer` and `Frozen` and T-REX (ERC-3643) `IToken`'s `AddressFrozen`,
 * `TokensFrozen`, `TokensUnfrozen` and `RecoverySuccess` from the standards' own interface files.
 */
interface ICompliantToken {
    /// @notice Reason codes of {canTransfer} and {TransferNotAllowed} (ERC-1066 spirit). Stable: append only.
    enum Reason {
        Ok, // 0
        Paused, // 1  token paused
        SenderNotVerified, // 2  sender is no active wallet of a registered investor, or the KYC expired
        RecipientNotVerified, // 3  recipient is no active wallet of a registered investor, or the KYC expired
        SenderFrozen, // 4  sender wallet frozen
        RecipientFrozen, // 5  recipient wallet frozen
        LockedUp, // 6  block.timestamp < lockupUntil
        CountryNotAllowed, // 7  recipient's country not allowed (allowlist) or blocked (blocklist)
        InsufficientBalance, // 8  balance < amount
        InsufficientUnlockedBalance, // 9  balance - frozen - encumbered - locked < amount
        MaxBalanceExceeded, // 10 the recipient investor's wallets would hold more than maxBalance
        MaxHoldersExceeded, // 11 a new investor would exceed maxHolders
        CapExceeded, // 12 property: totalSupply would exceed the share cap
        ReserveExceeded, // 13 commodity: totalSupply would exceed the attested reserve
        Disabled, // 14 the contract is the shared implementation, not a token
        CategoryHoldersExceeded, // 15 a new investor would exceed the holder cap of its category
        ForeignHoldersExceeded, // 16 a new foreign investor would exceed the foreign holder cap
        ForeignShareExceeded, // 17 foreign investors would hold more than the foreign share cap
        AssetNotActive // 18 mint while the asset is not Active in the registry
    }

    /// @notice Country restriction modes.
    enum CountryMode {
        None, // 0 no country rule
        Allowlist, // 1 recipient country must be listed
        Blocklist // 2 recipient country must not be listed
    }

    // ------------------------------------------------------------------ events

    /// @notice Units were minted for an allocation.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param ref The allocation's reference (mints once per token).
    event Minted(address indexed to, uint256 amount, bytes32 indexed ref);
    /// @notice An allocation of a batch was already minted (same reference, recipient and amount): skipped.
    /// @param ref The allocation's reference.
    /// @param to The recipient.
    /// @param amount The amount.
    event MintSkipped(bytes32 indexed ref, address indexed to, uint256 amount);
    /// @notice A batch mint finished (each minted allocation also emitted {Minted} and {Transfer}).
    /// @param minted Allocations minted.
    /// @param skipped Allocations already minted before.
    /// @param total Sum of the amounts minted.
    event BatchMinted(uint256 minted, uint256 skipped, uint256 total);
    /// @notice Units were burned by the registrar or delivered by the custodian.
    /// @param from The holder.
    /// @param amount The amount.
    /// @param reason Reference of the reason (e.g. a court order or a redemption reference).
    /// @param frozenUnitsMoved How many of the units were frozen (only with the explicit flag).
    event Burned(address indexed from, uint256 amount, bytes32 reason, uint256 frozenUnitsMoved);
    /// @notice A lien now encumbers part of a holder's units.
    /// @param lienId The lien id (per token, starts at 1).
    /// @param holder The holder.
    /// @param beneficiary Who may release it (besides the registrar), e.g. the lending bank.
    /// @param amount The encumbered amount.
    /// @param reason Reference of the reason (loan number...).
    /// @param documentHash SHA-256 of the lien document.
    event LienCreated(
        uint256 indexed lienId,
        address indexed holder,
        address indexed beneficiary,
        uint256 amount,
        bytes32 reason,
        bytes32 documentHash
    );
    /// @notice A lien was released.
    /// @param lienId The lien.
    /// @param holder The holder whose units are released (the recovered-to wallet after a recovery).
    /// @param beneficiary The lien beneficiary.
    /// @param amount The amount released.
    /// @param releasedBy The registrar or the beneficiary.
    event LienReleased(
        uint256 indexed lienId, address indexed holder, address indexed beneficiary, uint256 amount, address releasedBy
    );
    /// @notice A lien's beneficiary changed (e.g. the bank moved to a new key).
    /// @param lienId The lien.
    /// @param previousBeneficiary The old beneficiary (can no longer release it).
    /// @param newBeneficiary The new beneficiary.
    /// @param changedBy The old beneficiary or the registrar.
    event LienBeneficiaryChanged(
        uint256 indexed lienId, address indexed previousBeneficiary, address indexed newBeneficiary, address changedBy
    );
    /// @notice What a recovery moved (besides the balance, also in {Transfer}).
    /// @param lostWallet The lost wallet.
    /// @param newWallet The new wallet.
    /// @param amount The balance moved.
    /// @param frozen Whether the wallet freeze moved (new wallet frozen).
    /// @param frozenTokens Partially frozen amount moved.
    /// @param encumbered Lien-encumbered amount moved (the liens now point at the new wallet).
    /// @param locked Redemption-locked amount moved.
    event WalletStateRecovered(
        address indexed lostWallet,
        address indexed newWallet,
        uint256 amount,
        bool frozen,
        uint256 frozenTokens,
        uint256 encumbered,
        uint256 locked
    );
    /// @notice An investor's holding was counted again under its current category / home-or-foreign class (after
    /// the compliance officer changed its category or country).
    /// @param investor The investor id.
    /// @param category The category it now counts under.
    /// @param foreign Whether it now counts as foreign.
    event HoldingReclassified(address indexed investor, uint8 category, bool foreign);
    /// @notice The country restriction mode changed.
    /// @param mode 0 None, 1 Allowlist, 2 Blocklist.
    event CountryRestrictionSet(CountryMode mode);
    /// @notice Countries were added to / removed from the country list.
    /// @param countries ISO 3166-1 numeric codes.
    /// @param listed True = added, false = removed.
    event CountriesListed(uint16[] countries, bool listed);
    /// @notice The maximum number of investors holding units changed (0 = unlimited).
    /// @param maxHolders The new maximum.
    event MaxHoldersSet(uint256 maxHolders);
    /// @notice The maximum balance per investor (all its wallets) changed (0 = unlimited).
    /// @param maxBalance The new maximum.
    event MaxBalanceSet(uint256 maxBalance);
    /// @notice The lock-up end changed (ordinary transfers blocked while block.timestamp < lockupUntil).
    /// @param lockupUntil The new end (unix seconds, 0 = none).
    event LockupSet(uint256 lockupUntil);
    /// @notice The holder caps per investor category changed (0 = unlimited).
    /// @param retail Max retail investors.
    /// @param accredited Max accredited investors.
    /// @param institutional Max institutional investors.
    event CategoryHolderCapsSet(uint256 retail, uint256 accredited, uint256 institutional);
    /// @notice The foreign-ownership caps changed (0 = unlimited).
    /// @param maxForeignHolders Max investors from outside the home country.
    /// @param maxForeignShareBps Max share of the supply they may hold, in basis points.
    event ForeignCapsSet(uint256 maxForeignHolders, uint256 maxForeignShareBps);
    /// @notice Why the registrar forced a move (emitted right after ERC-7943's `ForcedTransfer`, which carries
    /// from, to and amount).
    /// @param reason Reference of the legal basis (e.g. court order number; 0 for a call without one).
    /// @param frozenUnitsMoved How many of the units were frozen (only with the explicit flag).
    event ForcedTransferReason(bytes32 reason, uint256 frozenUnitsMoved);

    // ------------------------------------------------------------------ errors

    /// @notice A mint, transfer or burn breaks a rule.
    /// @param from The sender (0 for a mint).
    /// @param to The recipient (0 for a burn).
    /// @param amount The amount.
    /// @param reason The {Reason} code.
    error TransferNotAllowed(address from, address to, uint256 amount, Reason reason);
    /// @notice This allocation reference was already used on this token.
    /// @param ref The reference.
    error ReferenceAlreadyUsed(bytes32 ref);
    /// @notice A batch reuses a minted reference for another recipient or amount.
    /// @param ref The reference.
    error ReferenceConflict(bytes32 ref);
    /// @notice The allocation reference is zero.
    error InvalidReference();
    /// @notice The arrays of a batch call differ in length (or are empty).
    error ArrayLengthMismatch();
    /// @notice The amount is zero.
    error ZeroAmount();
    /// @notice The amount exceeds the holder's free (unlocked) balance.
    /// @param holder The holder.
    /// @param amount The amount asked.
    /// @param free The free balance.
    error AmountExceedsFreeBalance(address holder, uint256 amount, uint256 free);
    /// @notice The amount exceeds the holder's partially frozen units.
    /// @param holder The holder.
    /// @param amount The amount asked.
    /// @param frozen The frozen amount.
    error AmountExceedsFrozen(address holder, uint256 amount, uint256 frozen);
    /// @notice No lien has this id, or it was already released.
    /// @param lienId The lien.
    error LienNotActive(uint256 lienId);
    /// @notice A country code is above 1023.
    /// @param country The code.
    error InvalidCountry(uint16 country);
    /// @notice A cap is out of range (holder caps < 2**32, share cap <= 10,000 basis points).
    error InvalidCap();
    /// @notice Recovery needs two different non-zero wallets, an active new wallet and a lost wallet with units or
    /// token state.
    /// @param lostWallet The lost wallet.
    /// @param newWallet The new wallet.
    error InvalidRecovery(address lostWallet, address newWallet);
    /// @notice Recovery moves units only between two wallets of the same investor.
    /// @param lostWallet The lost wallet.
    /// @param newWallet The new wallet.
    error RecoveryNotSameInvestor(address lostWallet, address newWallet);
    /// @notice The compliance officer has not replaced this wallet as lost in the identity registry.
    /// @param wallet The wallet.
    error WalletNotLost(address wallet);
    /// @notice The wallet was recovered from (its liens and redemption requests follow its successor), so no new
    /// lien or redemption request may start from it.
    /// @param wallet The recovered-from wallet.
    /// @param successor The wallet it was recovered to.
    error WalletRecovered(address wallet, address successor);
    /// @notice A forced transfer from a wallet to itself (it would move nothing but could unfreeze units).
    /// @param wallet The wallet.
    error ForcedSelfTransfer(address wallet);
    /// @notice The function exists for ERC-3643 conformance but this token does not support it: its name, symbol,
    /// identity registry and compliance are fixed when the asset is tokenized (see contracts/README.md).
    /// @param selector The selector of the refused function.
    error Unsupported(bytes4 selector);
}
