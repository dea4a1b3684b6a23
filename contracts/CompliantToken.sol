// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ShortString, ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {RWAAccessed, REGISTRAR_ROLE, COMPLIANCE_ROLE} from "./RWAAccessed.sol";
import {IIdentityRegistry, IdentityWord} from "./interfaces/IIdentityRegistry.sol";
import {IAssetRegistry, AssetStatus} from "./interfaces/IAssetRegistry.sol";

/**
 * @title CompliantToken
 * @notice Abstract permissioned ERC-20 of rwaledger (ERC-3643 / T-REX style). A concrete token is an EIP-1167 clone
 * *with immutable arguments* created by the {TokenFactory}: name, symbol, decimals, asset id, home country and cap
 * (or unit) are appended to the clone's bytecode, so a clone needs no initialization and no configuration storage.
 *
 * Trust model (see contracts/README.md):
 * - Limits count *investors*, not wallets: `maxBalance` caps the sum of an investor's wallets, `maxHolders` and the
 *   category / foreign caps count investors, and a move between two wallets of one investor changes no count.
 * - The registrar mints (once per allocation reference), burns and forces transfers, always within the recipient's
 *   rules (verified, not frozen, country, max balance, holder caps); a forced move overrides only the sender's
 *   consent and the lock-up. Units under a lien or locked for redemption never move; frozen units move only with an
 *   explicit flag, which the event records. Recovery moves units only to another wallet of the same investor.
 * - Paused: no unit moves (transfers, mints, burns, forced transfers, redemptions), except recovery.
 * - Mints need the asset to be Active in the {AssetRegistry}.
 *
 * Every rule is decided by ONE function, {_plan}, which both the balance changes and the {canTransfer} /
 * {canForceTransfer} views run, so a view always predicts the outcome.
 *
 * Storage:
 * - slot 5 packs OpenZeppelin's `Pausable._paused` (byte 0) with the rules (flags, lock-up, max holders, max
 *   balance): ONE SLOAD reads them all.
 * - per wallet ONE slot ({_accounts}): balance (bits 0..119) | unavailable = frozen + encumbered + locked
 *   (120..239) | wallet frozen (240) | the class the holding was counted under (242..244). OpenZeppelin's own
 *   `_balances` and `_totalSupply` are not used (`balanceOf`, `totalSupply` and `_update` are overridden).
 * - per multi-wallet investor one slot ({_holdings}): the sum of its wallets and its counted class.
 * - counters (holders, per category, foreign holders, frozen wallets) and caps: one slot each, touched only when
 *   an investor joins or leaves the cap table (or changes class).
 */
abstract contract CompliantToken is ERC20, Pausable, RWAAccessed {
    using BitMaps for BitMaps.BitMap;
    using IdentityWord for uint256;

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

    // ---- move kinds of {_plan}
    uint256 internal constant _TRANSFER = 0; // ordinary transfer / transferFrom
    uint256 internal constant _MINT = 1; // registrar mint
    uint256 internal constant _REDEEM = 2; // holder locks units for redemption (nothing moves): canTransfer(from, 0)
    uint256 internal constant _FORCED = 3; // forced transfer, registrar burn, redemption delivery
    uint256 internal constant _FORCED_FROZEN = 4; // the same, allowed to move frozen units
    uint256 private constant _SKIP_ASSET_CHECK = 0x100; // a batch checks the asset's status once

    // ---- rules word (slot of `_paused`): byte 0 paused, then the variables below
    uint256 private constant _FLAG_DISABLED = 1;
    uint256 private constant _FLAG_ALLOWLIST = 2;
    uint256 private constant _FLAG_BLOCKLIST = 4;
    uint256 private constant _FLAG_CAPS = 8; // some category / foreign cap is set

    // ---- account and holding words
    uint256 private constant _MASK = (1 << 120) - 1; // balance bits, and (>> 120) unavailable bits
    uint256 private constant _FROZEN = 1 << 240;
    uint256 private constant _CLASS_SHIFT = 242; // 3 bits: category (2 bits) | foreign (bit 2)
    uint256 private constant _CLASS_MASK = 7 << 242;
    uint256 private constant _INIT = 1 << 248; // holdings word written (else: the first wallet's balance)
    uint256 private constant _FOREIGN = 4;

    // ---- counters word: 32-bit fields
    uint256 private constant _HOLDERS = 0; // field 0: investors holding units; 1..3: per category
    uint256 private constant _FOREIGN_HOLDERS = 4;
    uint256 private constant _FROZEN_WALLETS = 5;
    // caps word: fields 1..3 category caps, 4 foreign holder cap; bits 160..175 foreign share cap (basis points)
    uint256 private constant _SHARE_SHIFT = 160;

    // ---- slot 5, packed after Pausable._paused (byte 0); keep the order, {_rules} reads the whole word ----
    uint8 private _flags; // bits   8..15
    uint40 private _lockupUntil; // bits  16..55
    uint32 private _maxHolders; // bits  56..87
    uint104 private _maxBalance; // bits  88..191

    uint256 private _counters;
    uint256 private _caps;
    uint256 private _amounts; // totalSupply (bits 0..119) | units held by foreign investors (120..239)
    mapping(address wallet => uint256) private _accounts;
    mapping(address investor => uint256) private _holdings;
    mapping(address holder => uint256) private _frozenTokens;
    mapping(address holder => uint256) private _encumbered;
    mapping(address holder => uint256) private _locked;
    BitMaps.BitMap private _countries;
    mapping(bytes32 ref => bytes32 allocation) private _allocations;

    /// @dev Lien record, two slots.
    struct Lien {
        address holder;
        uint96 amount;
        address beneficiary;
        bool released;
    }

    uint256 private _lienCount;
    mapping(uint256 lienId => Lien) private _liens;
    /// @dev lost wallet => wallet its state was recovered to (liens and redemptions follow the chain).
    mapping(address lost => address) private _successor;

    /// @notice The shared identity registry.
    IIdentityRegistry public immutable identityRegistry;
    /// @notice The shared asset registry.
    address public immutable assetRegistry;

    /// @dev Everything {_plan} decides about one balance change, for {_apply}.
    struct Move {
        address from;
        address to;
        uint256 value;
        uint256 kind;
        uint256 fromParty; // identity party words
        uint256 toParty;
        uint256 fromAccount; // account words before the move
        uint256 toAccount;
        address fromInvestor;
        address toInvestor;
        uint256 fromHolding; // investor holdings (balance | class) before the move
        uint256 toHolding;
        uint256 fromClass; // current classes
        uint256 toClass;
        uint256 counters; // after the move (valid when countersChanged)
        bool countersChanged;
        bool same; // two wallets of one investor
        bool balancesOnly; // two existing single-wallet holders of one class: only the balances change
        uint256 partialUsed; // partially frozen units a forced move consumes
        uint256 frozenUsed; // frozen units it moves (all of them when the wallet is frozen)
        int256 foreignDelta; // change of the units held by foreign investors
        uint256 reclassified; // bit 0: the sender's investor was counted again under a new class; bit 1: the recipient's
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
    /// @notice The registrar moved units without the holder's consent, within the recipient's rules.
    /// @param from The holder.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param reason Reference of the legal basis (e.g. court order number).
    /// @param frozenUnitsMoved How many of the units were frozen (only with the explicit flag).
    event ForcedTransfer(
        address indexed from, address indexed to, uint256 amount, bytes32 reason, uint256 frozenUnitsMoved
    );
    /// @notice A wallet was frozen or unfrozen (ERC-3643).
    /// @param wallet The wallet.
    /// @param isFrozen The new state.
    /// @param by The compliance officer (or the registrar, when a recovery carries a freeze over).
    event AddressFrozen(address indexed wallet, bool indexed isFrozen, address indexed by);
    /// @notice Part of a wallet's units were frozen (ERC-3643, plus the new total).
    /// @param wallet The wallet.
    /// @param amount The amount frozen now.
    /// @param totalFrozen The wallet's frozen amount afterwards.
    event TokensFrozen(address indexed wallet, uint256 amount, uint256 totalFrozen);
    /// @notice Part of a wallet's frozen units were unfrozen (ERC-3643, plus the new total).
    /// @param wallet The wallet.
    /// @param amount The amount unfrozen now.
    /// @param totalFrozen The wallet's frozen amount afterwards.
    event TokensUnfrozen(address indexed wallet, uint256 amount, uint256 totalFrozen);
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
    /// @notice A lost wallet's units and token state moved to another wallet of the same investor (ERC-3643).
    /// @param lostWallet The lost wallet (left empty and unfrozen).
    /// @param newWallet The new wallet.
    /// @param investorOnchainID The investor id both wallets belong to.
    event RecoverySuccess(address indexed lostWallet, address indexed newWallet, address indexed investorOnchainID);
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

    // ------------------------------------------------------------------ errors

    /// @notice A mint, transfer or burn breaks a rule.
    /// @param from The sender (0 for a mint).
    /// @param to The recipient (0 for a burn).
    /// @param amount The amount.
    /// @param reason The {Reason} code.
    error TransferNotAllowed(address from, address to, uint256 amount, uint8 reason);
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

    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    constructor(address identityRegistry_, address authority_, address assetRegistry_)
        ERC20("", "")
        RWAAccessed(authority_)
    {
        if (identityRegistry_ == address(0) || assetRegistry_ == address(0)) revert ZeroAddress();
        identityRegistry = IIdentityRegistry(identityRegistry_);
        assetRegistry = assetRegistry_;
        _flags = uint8(_FLAG_DISABLED); // the implementation itself can never move units; clones start at 0
    }

    // ------------------------------------------------------------------ ERC-20 from the clone's code and _accounts

    /// @notice Token name (from the clone's immutable arguments).
    /// @return The name.
    function name() public view override returns (string memory) {
        return ShortStrings.toString(ShortString.wrap(_arg(0)));
    }

    /// @notice Token symbol (from the clone's immutable arguments).
    /// @return The symbol.
    function symbol() public view override returns (string memory) {
        return ShortStrings.toString(ShortString.wrap(_arg(32)));
    }

    /// @notice Token decimals (from the clone's immutable arguments).
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return uint8(uint256(_arg(72)) >> 248);
    }

    /// @notice The asset id of this token in the {AssetRegistry}.
    /// @return The asset id.
    function assetId() public view returns (uint256) {
        return uint256(_arg(64)) >> 192;
    }

    /// @notice ISO 3166-1 numeric code of the asset's home country (0 = none): investors from any other country are
    /// foreign for the foreign-ownership caps.
    /// @return The code.
    function homeCountry() public view returns (uint256) {
        return uint256(_arg(73)) >> 240;
    }

    /// @notice The balance of a wallet.
    /// @param account The wallet.
    /// @return The balance.
    function balanceOf(address account) public view override returns (uint256) {
        return _accounts[account] & _MASK;
    }

    /// @notice The total supply.
    /// @return The supply.
    function totalSupply() public view override returns (uint256) {
        return _amounts & _MASK;
    }

    // ------------------------------------------------------------------ transfer rules

    /// @notice Whether `amount` could move from `from` to `to` now, and if not, why. Runs exactly the checks the
    /// move runs (`from == 0`: a mint; `to == 0`: a holder locking units for redemption).
    /// @param from The sender (0 = mint).
    /// @param to The recipient (0 = redemption request).
    /// @param amount The amount.
    /// @return ok True when allowed.
    /// @return reason The {Reason} code (0 when ok).
    function canTransfer(address from, address to, uint256 amount) external view returns (bool ok, uint8 reason) {
        uint256 kind = from == address(0) ? _MINT : (to == address(0) ? _REDEEM : _TRANSFER);
        (uint256 code,) = _plan(from, to, amount, kind);
        return (code == 0, uint8(code));
    }

    /// @notice Whether the registrar could force `amount` from `from` to `to` (`to == 0`: a burn) now, and if not,
    /// why. Runs exactly the checks {forcedTransfer} / {burn} run.
    /// @param from The holder.
    /// @param to The recipient (0 = burn).
    /// @param amount The amount.
    /// @param includeFrozen Whether frozen units may move.
    /// @return ok True when allowed.
    /// @return reason The {Reason} code (0 when ok).
    function canForceTransfer(address from, address to, uint256 amount, bool includeFrozen)
        external
        view
        returns (bool ok, uint8 reason)
    {
        if (from == to) revert ForcedSelfTransfer(from); // as {forcedTransfer}
        (uint256 code,) = _plan(from, to, amount, includeFrozen ? _FORCED_FROZEN : _FORCED);
        return (code == 0, uint8(code));
    }

    /// @notice Whether `account` may hold, send and receive units (and be paid distributions): a verified wallet
    /// that is not frozen.
    /// @param account The wallet.
    /// @return True when allowed.
    function canTransact(address account) public view returns (bool) {
        return _accounts[account] & _FROZEN == 0 && identityRegistry.isVerified(account);
    }

    /// @notice Who is paid what `account` is entitled to (its successor after a recovery), and whether that wallet
    /// may be paid now ({canTransact}). What the {DistributionManager} asks before paying a claim.
    /// @param account The entitled wallet.
    /// @return payee The wallet that now holds `account`'s units.
    /// @return allowed Whether `payee` may be paid.
    function payeeOf(address account) external view returns (address payee, bool allowed) {
        payee = _current(account);
        allowed = canTransact(payee);
    }

    /// @dev OpenZeppelin's ERC20 routes `transfer` and `transferFrom` here (its `_mint` / `_burn` are never used).
    function _update(address from, address to, uint256 value) internal override {
        _move(from, to, value, _TRANSFER);
    }

    /// @dev Plans a move, reverts {TransferNotAllowed} if a rule refuses it, else applies it.
    function _move(address from, address to, uint256 value, uint256 kind) internal returns (uint256 frozenUsed) {
        (uint256 code, Move memory m) = _plan(from, to, value, kind);
        if (code != 0) revert TransferNotAllowed(from, to, value, uint8(code));
        _apply(m);
        return m.frozenUsed;
    }

    /// @dev THE transfer rules. Returns the {Reason} code (the first rule that fails, in the order of the enum's
    /// README table) and everything {_apply} needs.
    function _plan(address from, address to, uint256 value, uint256 kind)
        internal
        view
        returns (uint256 code, Move memory m)
    {
        bool skipAssetCheck = kind & _SKIP_ASSET_CHECK != 0;
        kind &= 0xff;
        (m.from, m.to, m.value, m.kind) = (from, to, value, kind);
        uint256 ruleWord = _rules();
        if (ruleWord & (_FLAG_DISABLED << 8) != 0) return (uint256(Reason.Disabled), m);
        if (ruleWord & 0xff != 0) return (uint256(Reason.Paused), m);
        bool isMint = from == address(0);
        bool isBurn = to == address(0);
        if (isMint && !skipAssetCheck && !_assetActive()) return (uint256(Reason.AssetNotActive), m);

        if (isMint) m.toParty = _infoOf(to);
        else if (isBurn) m.fromParty = _infoOf(from);
        else (m.fromParty, m.toParty) = _pairInfo(from, to);
        bool recipientRules = !isBurn || isMint; // mints (also "to 0": refused, unverified), transfers, forced
        if ((kind == _TRANSFER || kind == _REDEEM) && !m.fromParty.verified()) {
            return (uint256(Reason.SenderNotVerified), m);
        }
        if (recipientRules && !m.toParty.verified()) return (uint256(Reason.RecipientNotVerified), m);
        if (!isMint) m.fromAccount = _accounts[from];
        if (!isBurn) m.toAccount = _accounts[to];
        if (kind != _FORCED_FROZEN && m.fromAccount & _FROZEN != 0) return (uint256(Reason.SenderFrozen), m);
        if (recipientRules && m.toAccount & _FROZEN != 0) return (uint256(Reason.RecipientFrozen), m);
        if (kind == _TRANSFER && block.timestamp < (ruleWord >> 16) & 0xffffffffff) return (uint256(Reason.LockedUp), m);
        if (recipientRules && ruleWord & ((_FLAG_ALLOWLIST | _FLAG_BLOCKLIST) << 8) != 0) {
            bool listed = _countries.get(m.toParty.country());
            if (listed != (ruleWord & (_FLAG_ALLOWLIST << 8) != 0)) return (uint256(Reason.CountryNotAllowed), m);
        }
        if (!isMint) {
            code = _balanceRules(m);
            if (code != 0 || kind == _REDEEM || from == to) return (code, m); // a self-transfer changes nothing else
        }
        if (!isMint && !isBurn && _balancesOnly(m)) {
            uint256 maxBalance = ruleWord >> 88 & ((1 << 104) - 1);
            uint256 toBalance = m.toAccount & _MASK;
            if (maxBalance != 0 && (toBalance > maxBalance || value > maxBalance - toBalance)) {
                return (uint256(Reason.MaxBalanceExceeded), m);
            }
            return (0, m);
        }
        m.fromInvestor = isMint ? address(0) : m.fromParty.investor(from);
        m.toInvestor = isBurn ? address(0) : m.toParty.investor(to);
        if (!isMint && !isBurn && m.fromInvestor == m.toInvestor) {
            m.same = true; // two wallets of one investor: no count, limit or class changes
            m.fromHolding = _holding(from, m.fromInvestor, m.fromParty, m.fromAccount);
            return (0, m);
        }
        code = _investorRules(m, ruleWord);
        if (code == 0 && isMint) code = _supplyCheck(value);
    }

    /// @dev Whether a move between two different wallets is between two single-wallet investors (each wallet is its
    /// investor) who both hold units before and after it and keep the class they are counted under, at home or both
    /// abroad, and consumes no partially frozen units: then no count, class, foreign total or frozen amount changes,
    /// max balance is the only investor rule left, and {_apply} only moves the balances (the common transfer).
    function _balancesOnly(Move memory m) private view returns (bool) {
        uint256 fromAccount = m.fromAccount;
        uint256 toAccount = m.toAccount;
        if ((m.fromParty | m.toParty) & IdentityWord.MULTI != 0 || m.partialUsed != 0) return false;
        if (m.value >= fromAccount & _MASK || toAccount & _MASK == 0) return false; // someone leaves or joins
        uint256 home = homeCountry();
        uint256 fromClass = _classOf(m.fromParty, home);
        uint256 toClass = _classOf(m.toParty, home);
        if (fromClass != (fromAccount >> _CLASS_SHIFT) & 7 || toClass != (toAccount >> _CLASS_SHIFT) & 7) return false;
        if ((fromClass ^ toClass) & _FOREIGN != 0) return false;
        m.balancesOnly = true;
        return true;
    }

    /// @dev Balance and unlocked-balance rules of the sender.
    function _balanceRules(Move memory m) private view returns (uint256) {
        uint256 balance = m.fromAccount & _MASK;
        if (m.value > balance) return uint256(Reason.InsufficientBalance);
        uint256 free = balance - ((m.fromAccount >> 120) & _MASK);
        if (m.kind == _FORCED_FROZEN) {
            // frozen units may move (the wallet freeze is ignored), units under a lien or locked may not
            if (m.value > free) {
                uint256 partiallyFrozen = _frozenTokens[m.from];
                if (m.value - free > partiallyFrozen) return uint256(Reason.InsufficientUnlockedBalance);
                m.partialUsed = m.value - free;
            }
            m.frozenUsed = m.fromAccount & _FROZEN != 0 ? m.value : m.partialUsed; // a frozen wallet's units all are
            return 0;
        }
        return m.value > free ? uint256(Reason.InsufficientUnlockedBalance) : 0;
    }

    /// @dev Per-investor rules: max balance, holder counts and caps, foreign share; fills the counters and the
    /// foreign-units change.
    function _investorRules(Move memory m, uint256 ruleWord) private view returns (uint256 code) {
        bool isMint = m.from == address(0);
        bool isBurn = m.to == address(0);
        uint256 home = homeCountry();
        if (!isMint) {
            m.fromHolding = _holding(m.from, m.fromInvestor, m.fromParty, m.fromAccount);
            m.fromClass = _classOf(m.fromParty, home);
        }
        if (!isBurn) {
            m.toHolding = _holding(m.to, m.toInvestor, m.toParty, m.toAccount);
            m.toClass = _classOf(m.toParty, home);
            uint256 toTotal = m.toHolding & _MASK;
            uint256 maxBalance = ruleWord >> 88 & ((1 << 104) - 1);
            if (maxBalance != 0 && (toTotal > maxBalance || m.value > maxBalance - toTotal)) {
                return uint256(Reason.MaxBalanceExceeded);
            }
        }
        code = _countRules(m, ruleWord);
        if (code != 0) return code;
        if (m.value > _MASK) return isMint ? _supplyCheck(m.value) : 0; // a huge mint: no overflow, just the cap
        return _foreignRules(m, ruleWord);
    }

    /// @dev Holder counts: an investor leaving or joining the cap table, or counted again under a new class.
    function _countRules(Move memory m, uint256 ruleWord) private view returns (uint256) {
        uint256 fromTotal = m.fromHolding & _MASK; // 0 for a mint
        uint256 toTotal = m.toHolding & _MASK; // 0 for a burn
        bool fromLeaves = m.from != address(0) && m.value != 0 && m.value == fromTotal;
        bool toJoins = m.to != address(0) && m.value != 0 && toTotal == 0;
        bool reclassFrom = fromTotal != 0 && (m.fromHolding >> _CLASS_SHIFT) & 7 != m.fromClass;
        bool reclassTo = toTotal != 0 && (m.toHolding >> _CLASS_SHIFT) & 7 != m.toClass;
        if (!(fromLeaves || toJoins || reclassFrom || reclassTo)) return 0;
        uint256 c = _counters;
        if (reclassFrom) c = _reclass(m, c, m.fromHolding, m.fromClass, fromTotal);
        if (reclassTo) c = _reclass(m, c, m.toHolding, m.toClass, toTotal);
        m.reclassified = (reclassFrom ? 1 : 0) | (reclassTo ? 2 : 0);
        uint256 before = c;
        if (fromLeaves) c = _countHolder(c, m.fromClass, false);
        if (toJoins) {
            c = _countHolder(c, m.toClass, true);
            uint256 code = _holderRules(ruleWord, before, c, m.toClass);
            if (code != 0) return code;
        }
        (m.counters, m.countersChanged) = (c, true);
        return 0;
    }

    /// @dev Units held by foreign investors, and the foreign share cap for a move that raises them.
    function _foreignRules(Move memory m, uint256 ruleWord) private view returns (uint256) {
        bool isMint = m.from == address(0);
        int256 moved = int256(m.value); // <= 2**120
        if (!isMint && m.fromClass & _FOREIGN != 0) m.foreignDelta -= moved;
        if (m.to == address(0) || m.toClass & _FOREIGN == 0) return 0;
        m.foreignDelta += moved;
        if (ruleWord & (_FLAG_CAPS << 8) == 0 || m.value == 0 || (!isMint && m.fromClass & _FOREIGN != 0)) return 0;
        uint256 bps = (_caps >> _SHARE_SHIFT) & 0xffff;
        if (bps == 0) return 0;
        uint256 amounts = _amounts;
        uint256 supply = (amounts & _MASK) + (isMint ? m.value : 0);
        uint256 foreign = uint256(int256((amounts >> 120) & _MASK) + m.foreignDelta);
        return foreign * 10_000 > bps * supply ? uint256(Reason.ForeignShareExceeded) : 0;
    }

    /// @dev Holder-count rules for an investor joining (`before` / `afterJoin`: counters without and with it).
    function _holderRules(uint256 ruleWord, uint256 before, uint256 afterJoin, uint256 cls) private view returns (uint256) {
        // `before` still counts a sender that leaves in the same move: such a move never fails a cap it keeps
        uint256 maxHolders = (ruleWord >> 56) & 0xffffffff;
        uint256 holders = _field(afterJoin, _HOLDERS);
        if (maxHolders != 0 && holders > maxHolders && holders > _field(before, _HOLDERS)) {
            return uint256(Reason.MaxHoldersExceeded);
        }
        if (ruleWord & (_FLAG_CAPS << 8) == 0) return 0;
        uint256 caps = _caps;
        uint256 category = cls & 3;
        uint256 cap = _field(caps, category);
        if (cap != 0 && _field(afterJoin, category) > cap && _field(afterJoin, category) > _field(before, category)) {
            return uint256(Reason.CategoryHoldersExceeded);
        }
        cap = _field(caps, _FOREIGN_HOLDERS);
        if (
            cls & _FOREIGN != 0 && cap != 0 && _field(afterJoin, _FOREIGN_HOLDERS) > cap
                && _field(afterJoin, _FOREIGN_HOLDERS) > _field(before, _FOREIGN_HOLDERS)
        ) return uint256(Reason.ForeignHoldersExceeded);
        return 0;
    }

    /// @dev Applies a planned move.
    function _apply(Move memory m) private {
        (address from, address to, uint256 value) = (m.from, m.to, m.value);
        if (from == to) {
            emit Transfer(from, to, value); // a self-transfer moves nothing
            return;
        }
        if (m.balancesOnly) {
            unchecked {
                _accounts[from] = m.fromAccount - value; // value < the sender's balance
                _accounts[to] = m.toAccount + value; // the sum stays below the supply (< 2**120)
            }
            emit Transfer(from, to, value);
            return;
        }
        bool isMint = from == address(0);
        bool isBurn = to == address(0);
        if (!isMint) {
            uint256 a = m.fromAccount - value;
            uint256 used = m.partialUsed;
            if (used != 0) {
                uint256 left = _frozenTokens[from] - used;
                a -= used << 120;
                _frozenTokens[from] = left;
                emit TokensUnfrozen(from, used, left);
            }
            if (!m.same && !m.fromParty.multi()) a = (a & ~_CLASS_MASK) | (m.fromClass << _CLASS_SHIFT);
            _accounts[from] = a;
        }
        if (!isBurn) {
            uint256 b = m.toAccount + value;
            if (!m.same && !m.toParty.multi()) b = (b & ~_CLASS_MASK) | (m.toClass << _CLASS_SHIFT);
            _accounts[to] = b;
        }
        if (m.same) {
            if (m.fromParty.multi() && m.fromHolding & _INIT == 0) _holdings[m.fromInvestor] = m.fromHolding | _INIT;
        } else {
            if (!isMint && m.fromParty.multi()) {
                _holdings[m.fromInvestor] = ((m.fromHolding & _MASK) - value) | (m.fromClass << _CLASS_SHIFT) | _INIT;
            }
            if (!isBurn && m.toParty.multi()) {
                _holdings[m.toInvestor] = ((m.toHolding & _MASK) + value) | (m.toClass << _CLASS_SHIFT) | _INIT;
            }
            if (m.countersChanged) _counters = m.counters;
            if (m.reclassified & 1 != 0) _emitReclassified(m.fromInvestor, m.fromClass);
            if (m.reclassified & 2 != 0) _emitReclassified(m.toInvestor, m.toClass);
            if (isMint || isBurn || m.foreignDelta != 0) {
                uint256 amounts = _amounts;
                uint256 supply = amounts & _MASK;
                if (isMint) supply += value;
                else if (isBurn) supply -= value;
                uint256 foreign = uint256(int256((amounts >> 120) & _MASK) + m.foreignDelta);
                _amounts = supply | (foreign << 120);
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev Reason code for a mint of `value` (0 = fine): the cap or the reserve.
    function _supplyCheck(uint256 value) internal view virtual returns (uint256);

    // ------------------------------------------------------------------ registrar: mint, burn, forced moves

    /// @notice Mints `amount` to `to` for one allocation, once per reference. The asset must be Active and the
    /// token unpaused; the recipient's rules apply. REGISTRAR_ROLE.
    /// @param to A verified recipient.
    /// @param amount The amount.
    /// @param ref The allocation's reference (non-zero; reverts {ReferenceAlreadyUsed} once minted).
    function mint(address to, uint256 amount, bytes32 ref) external onlyRole(REGISTRAR_ROLE) {
        if (ref == bytes32(0)) revert InvalidReference();
        if (amount == 0) revert ZeroAmount();
        if (_allocations[ref] != bytes32(0)) revert ReferenceAlreadyUsed(ref);
        _allocations[ref] = _allocationDigest(to, amount);
        _move(address(0), to, amount, _MINT);
        emit Minted(to, amount, ref);
    }

    /// @notice Mints many allocations, one reference each. An allocation already minted with the same recipient
    /// and amount is skipped ({MintSkipped}), so a batch can be sent again after a crash, in any order or split
    /// differently; a minted reference with another recipient or amount reverts {ReferenceConflict}.
    /// REGISTRAR_ROLE.
    /// @param to The recipients.
    /// @param amounts The amounts.
    /// @param refs The allocations' references (non-zero).
    function batchMint(address[] calldata to, uint256[] calldata amounts, bytes32[] calldata refs)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        uint256 n = to.length;
        if (n == 0 || amounts.length != n || refs.length != n) revert ArrayLengthMismatch();
        uint256 total;
        uint256 minted;
        for (uint256 i; i < n; ++i) {
            // the asset's status is checked once per batch, with the first allocation minted
            if (_mintAllocation(to[i], amounts[i], refs[i], minted == 0 ? _MINT : _MINT | _SKIP_ASSET_CHECK)) {
                ++minted;
                total += amounts[i];
            }
        }
        emit BatchMinted(minted, n - minted, total);
    }

    /// @dev Mints one allocation of a batch; false when it was already minted (same recipient and amount).
    function _mintAllocation(address to, uint256 amount, bytes32 ref, uint256 kind) private returns (bool) {
        if (ref == bytes32(0)) revert InvalidReference();
        if (amount == 0) revert ZeroAmount();
        bytes32 digest = _allocationDigest(to, amount);
        bytes32 stored = _allocations[ref];
        if (stored != bytes32(0)) {
            if (stored != digest) revert ReferenceConflict(ref);
            emit MintSkipped(ref, to, amount);
            return false;
        }
        _allocations[ref] = digest;
        _move(address(0), to, amount, kind);
        emit Minted(to, amount, ref);
        return true;
    }

    /// @notice Whether an allocation reference was minted on this token.
    /// @param ref The reference.
    /// @return True when used.
    function isReferenceUsed(bytes32 ref) external view returns (bool) {
        return _allocations[ref] != bytes32(0);
    }

    /// @notice What an allocation reference minted: `keccak256(abi.encode(to, amount))`, or 0 when unused.
    /// @param ref The reference.
    /// @return The digest.
    function allocationOf(bytes32 ref) external view returns (bytes32) {
        return _allocations[ref];
    }

    /// @notice Burns `amount` of `from` (e.g. a court order). Units under a lien or locked for redemption are never
    /// burned; frozen units only with `includeFrozen`. REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param amount The amount.
    /// @param reason Reference of the reason.
    /// @param includeFrozen Whether frozen units (of a frozen wallet, or partially frozen) may be burned.
    function burn(address from, uint256 amount, bytes32 reason, bool includeFrozen) external onlyRole(REGISTRAR_ROLE) {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        uint256 frozenUsed = _move(from, address(0), amount, includeFrozen ? _FORCED_FROZEN : _FORCED);
        emit Burned(from, amount, reason, frozenUsed);
    }

    /// @notice Moves units without the holder's consent (court order...). Overrides only the sender's consent
    /// (verification) and the lock-up: the recipient must be verified, not frozen and within the country, max
    /// balance and holder caps; units under a lien or locked for redemption never move; frozen units move only
    /// with `includeFrozen`, which the event records. REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param reason Reference of the legal basis.
    /// @param includeFrozen Whether frozen units (of a frozen wallet, or partially frozen) may move.
    /// @return True (ERC-3643 compatibility).
    function forcedTransfer(address from, address to, uint256 amount, bytes32 reason, bool includeFrozen)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (bool)
    {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (from == to) revert ForcedSelfTransfer(from);
        uint256 frozenUsed = _move(from, to, amount, includeFrozen ? _FORCED_FROZEN : _FORCED);
        emit ForcedTransfer(from, to, amount, reason, frozenUsed);
        return true;
    }

    /// @notice Moves a lost wallet's whole balance and token state (wallet freeze, frozen units, lien-encumbered and
    /// redemption-locked units) to another wallet of the SAME investor, after the compliance officer replaced the
    /// lost wallet in the identity registry; liens (with their beneficiaries) and redemption requests follow.
    /// Works while paused (it changes no owner). REGISTRAR_ROLE.
    /// @param lostWallet The lost wallet (Lost in the registry, holding units or token state).
    /// @param newWallet An active wallet of the same investor.
    /// @return True (ERC-3643 compatibility).
    function recoveryAddress(address lostWallet, address newWallet) external onlyRole(REGISTRAR_ROLE) returns (bool) {
        (address investor, uint256 lost) = _checkRecovery(lostWallet, newWallet);
        uint256 neu = _accounts[newWallet];
        bool frozen = lost & _FROZEN != 0;
        if (frozen && neu & _FROZEN != 0) _counters -= 1 << (32 * _FROZEN_WALLETS); // two freezes become one
        _accounts[newWallet] = (neu + (lost & _MASK) + (lost & (_MASK << 120))) | (lost & _FROZEN);
        delete _accounts[lostWallet];
        uint256 frozenTokens = _moveComponent(_frozenTokens, lostWallet, newWallet);
        uint256 encumbered = _moveComponent(_encumbered, lostWallet, newWallet);
        uint256 locked = _moveComponent(_locked, lostWallet, newWallet);
        _successor[lostWallet] = newWallet;
        emit Transfer(lostWallet, newWallet, lost & _MASK);
        if (frozen) {
            emit AddressFrozen(lostWallet, false, msg.sender);
            emit AddressFrozen(newWallet, true, msg.sender);
        }
        if (frozenTokens != 0) {
            emit TokensUnfrozen(lostWallet, frozenTokens, 0);
            emit TokensFrozen(newWallet, frozenTokens, _frozenTokens[newWallet]);
        }
        emit RecoverySuccess(lostWallet, newWallet, investor);
        emit WalletStateRecovered(lostWallet, newWallet, lost & _MASK, frozen, frozenTokens, encumbered, locked);
        return true;
    }

    /// @dev The checks of {recoveryAddress}; returns the investor and the lost wallet's account word, and makes sure
    /// the investor's sum no longer depends on its first wallet's balance.
    function _checkRecovery(address lostWallet, address newWallet) private returns (address investor, uint256 lost) {
        if (lostWallet == address(0) || newWallet == address(0) || lostWallet == newWallet) {
            revert InvalidRecovery(lostWallet, newWallet);
        }
        if (_rules() & (_FLAG_DISABLED << 8) != 0) {
            revert TransferNotAllowed(lostWallet, newWallet, 0, uint8(Reason.Disabled));
        }
        (uint256 lostParty, uint256 newParty) = _pairInfo(lostWallet, newWallet);
        investor = lostParty.investor(lostWallet);
        if (lostParty == 0 || newParty.investor(newWallet) != investor) {
            revert RecoveryNotSameInvestor(lostWallet, newWallet);
        }
        if (newParty & IdentityWord.ELIGIBLE == 0) revert InvalidRecovery(lostWallet, newWallet);
        if (identityRegistry.walletStatus(lostWallet) != 3) revert WalletNotLost(lostWallet);
        _requireNotRecovered(lostWallet); // its liens and requests already follow its successor
        lost = _accounts[lostWallet];
        if (lost & ~_CLASS_MASK == 0) revert InvalidRecovery(lostWallet, newWallet);
        if (lostParty.multi()) {
            uint256 h = _holding(lostWallet, investor, lostParty, lost);
            if (h & _INIT == 0) _holdings[investor] = h | _INIT;
        }
    }

    /// @notice Counts `wallet`'s investor again under its current category and home/foreign class (after the
    /// compliance officer changed them). Anyone may call it; a move does it too.
    /// @param wallet Any wallet of the investor.
    function syncInvestor(address wallet) external {
        uint256 party = _infoOf(wallet);
        address investor = party.investor(wallet);
        uint256 account = _accounts[wallet];
        uint256 holding = _holding(wallet, investor, party, account);
        uint256 total = holding & _MASK;
        uint256 cls = _classOf(party, homeCountry());
        if (total == 0 || (holding >> _CLASS_SHIFT) & 7 == cls) return;
        Move memory m;
        _counters = _reclass(m, _counters, holding, cls, total);
        uint256 amounts = _amounts;
        _amounts = (amounts & _MASK) | (uint256(int256((amounts >> 120) & _MASK) + m.foreignDelta) << 120);
        if (party.multi()) _holdings[investor] = (holding & ~_CLASS_MASK) | (cls << _CLASS_SHIFT) | _INIT;
        else _accounts[wallet] = (account & ~_CLASS_MASK) | (cls << _CLASS_SHIFT);
        _emitReclassified(investor, cls);
    }

    function _emitReclassified(address investor, uint256 cls) private {
        emit HoldingReclassified(investor, uint8(cls & 3), cls & _FOREIGN != 0);
    }

    // ------------------------------------------------------------------ liens

    /// @notice Encumbers `amount` of `holder`'s free units under a lien. REGISTRAR_ROLE.
    /// @param holder The holder.
    /// @param beneficiary Who may release the lien besides the registrar (e.g. the lending bank).
    /// @param amount The amount (<= free balance, < 2**96).
    /// @param reason Reference of the reason (loan number...).
    /// @param documentHash SHA-256 of the lien document.
    /// @return lienId The new lien id (per token, starts at 1).
    function createLien(address holder, address beneficiary, uint256 amount, bytes32 reason, bytes32 documentHash)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 lienId)
    {
        if (beneficiary == address(0) || holder == address(0)) revert ZeroAddress();
        _requireNotRecovered(holder);
        _requireFree(holder, amount);
        lienId = ++_lienCount;
        _liens[lienId] = Lien(holder, SafeCast.toUint96(amount), beneficiary, false);
        _encumbered[holder] += amount;
        _accounts[holder] += amount << 120;
        emit LienCreated(lienId, holder, beneficiary, amount, reason, documentHash);
    }

    /// @notice Releases a lien. REGISTRAR_ROLE or the lien's beneficiary.
    /// @param lienId The lien.
    function releaseLien(uint256 lienId) external {
        Lien storage l = _activeLien(lienId);
        address beneficiary = l.beneficiary;
        if (msg.sender != beneficiary) _checkRole(REGISTRAR_ROLE);
        l.released = true;
        address holder = _current(l.holder);
        uint256 amount = l.amount;
        _encumbered[holder] -= amount;
        _accounts[holder] -= amount << 120;
        emit LienReleased(lienId, holder, beneficiary, amount, msg.sender);
    }

    /// @notice Gives an active lien a new beneficiary (the bank moved to a new key, or lost the old one): the old
    /// beneficiary can no longer release it. The current beneficiary or REGISTRAR_ROLE.
    /// @param lienId The lien.
    /// @param newBeneficiary The new beneficiary (non-zero).
    function changeLienBeneficiary(uint256 lienId, address newBeneficiary) external {
        Lien storage l = _activeLien(lienId);
        address previous = l.beneficiary;
        if (msg.sender != previous) _checkRole(REGISTRAR_ROLE);
        if (newBeneficiary == address(0)) revert ZeroAddress();
        l.beneficiary = newBeneficiary;
        emit LienBeneficiaryChanged(lienId, previous, newBeneficiary, msg.sender);
    }

    /// @notice A lien.
    /// @param lienId The lien.
    /// @return holder The encumbered holder (following recoveries).
    /// @return beneficiary The beneficiary.
    /// @return amount The amount.
    /// @return released Whether it was released.
    function lien(uint256 lienId)
        external
        view
        returns (address holder, address beneficiary, uint256 amount, bool released)
    {
        Lien memory l = _liens[lienId];
        return (l.holder == address(0) ? address(0) : _current(l.holder), l.beneficiary, l.amount, l.released);
    }

    /// @notice Number of liens ever created (ids 1..lienCount).
    /// @return The count.
    function lienCount() external view returns (uint256) {
        return _lienCount;
    }

    // ------------------------------------------------------------------ compliance: freezes, pause, rules

    /// @notice Freezes or unfreezes a whole wallet (both as sender and as recipient). COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param freeze True to freeze.
    function setAddressFrozen(address wallet, bool freeze) external onlyRole(COMPLIANCE_ROLE) {
        uint256 a = _accounts[wallet];
        if ((a & _FROZEN != 0) != freeze) {
            _accounts[wallet] = a ^ _FROZEN;
            if (freeze) _counters += 1 << (32 * _FROZEN_WALLETS);
            else _counters -= 1 << (32 * _FROZEN_WALLETS);
        }
        emit AddressFrozen(wallet, freeze, msg.sender);
    }

    /// @notice Freezes part of a wallet's free units. COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param amount The amount (<= free balance).
    function freezePartialTokens(address wallet, uint256 amount) external onlyRole(COMPLIANCE_ROLE) {
        _requireFree(wallet, amount);
        uint256 total = _frozenTokens[wallet] + amount;
        _frozenTokens[wallet] = total;
        _accounts[wallet] += amount << 120;
        emit TokensFrozen(wallet, amount, total);
    }

    /// @notice Unfreezes part of a wallet's frozen units. COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param amount The amount (<= frozen units).
    function unfreezePartialTokens(address wallet, uint256 amount) external onlyRole(COMPLIANCE_ROLE) {
        uint256 frozen = _frozenTokens[wallet];
        if (amount == 0) revert ZeroAmount();
        if (amount > frozen) revert AmountExceedsFrozen(wallet, amount, frozen);
        _frozenTokens[wallet] = frozen - amount;
        _accounts[wallet] -= amount << 120;
        emit TokensUnfrozen(wallet, amount, frozen - amount);
    }

    /// @notice Pauses the token: no unit moves (recovery excepted). COMPLIANCE_ROLE.
    function pause() external onlyRole(COMPLIANCE_ROLE) {
        _pause();
    }

    /// @notice Resumes the token. COMPLIANCE_ROLE.
    function unpause() external onlyRole(COMPLIANCE_ROLE) {
        _unpause();
    }

    /// @notice Sets the country restriction mode. COMPLIANCE_ROLE.
    /// @param mode 0 None, 1 Allowlist (recipient country must be listed), 2 Blocklist (must not be listed).
    function setCountryRestriction(CountryMode mode) external onlyRole(COMPLIANCE_ROLE) {
        uint8 f = _flags & ~uint8(_FLAG_ALLOWLIST | _FLAG_BLOCKLIST);
        if (mode == CountryMode.Allowlist) f |= uint8(_FLAG_ALLOWLIST);
        else if (mode == CountryMode.Blocklist) f |= uint8(_FLAG_BLOCKLIST);
        _flags = f;
        emit CountryRestrictionSet(mode);
    }

    /// @notice Adds countries to or removes them from the country list (used by the current mode). COMPLIANCE_ROLE.
    /// @param countries ISO 3166-1 numeric codes (0..1023).
    /// @param listed True to add, false to remove.
    function setCountriesListed(uint16[] calldata countries, bool listed) external onlyRole(COMPLIANCE_ROLE) {
        for (uint256 i; i < countries.length; ++i) {
            uint16 c = countries[i];
            if (c > 1023) revert InvalidCountry(c);
            _countries.setTo(c, listed);
        }
        emit CountriesListed(countries, listed);
    }

    /// @notice Sets the maximum number of investors holding units (0 = unlimited); holders above it are not
    /// affected. COMPLIANCE_ROLE.
    /// @param maxHolders_ The maximum (< 2**32).
    function setMaxHolders(uint256 maxHolders_) external onlyRole(COMPLIANCE_ROLE) {
        _maxHolders = SafeCast.toUint32(maxHolders_);
        emit MaxHoldersSet(maxHolders_);
    }

    /// @notice Sets the maximum balance per investor, summed over its wallets (0 = unlimited). COMPLIANCE_ROLE.
    /// @param maxBalance_ The maximum (< 2**104).
    function setMaxBalance(uint256 maxBalance_) external onlyRole(COMPLIANCE_ROLE) {
        _maxBalance = SafeCast.toUint104(maxBalance_);
        emit MaxBalanceSet(maxBalance_);
    }

    /// @notice Blocks ordinary transfers while block.timestamp < `lockupUntil` (0 = no lock-up). COMPLIANCE_ROLE.
    /// @param lockupUntil_ Unix seconds (< 2**40).
    function setLockupUntil(uint256 lockupUntil_) external onlyRole(COMPLIANCE_ROLE) {
        _lockupUntil = SafeCast.toUint40(lockupUntil_);
        emit LockupSet(lockupUntil_);
    }

    /// @notice Caps the number of investors of each category holding units (0 = unlimited), e.g. "at most 500
    /// retail holders"; holders above a cap are not affected. COMPLIANCE_ROLE.
    /// @param retail Max retail investors (< 2**32).
    /// @param accredited Max accredited investors (< 2**32).
    /// @param institutional Max institutional investors (< 2**32).
    function setCategoryHolderCaps(uint256 retail, uint256 accredited, uint256 institutional)
        external
        onlyRole(COMPLIANCE_ROLE)
    {
        if ((retail | accredited | institutional) >> 32 != 0) revert InvalidCap();
        uint256 keep = _caps & ~(uint256((1 << 96) - 1) << 32);
        _setCaps(keep | (retail << 32) | (accredited << 64) | (institutional << 96));
        emit CategoryHolderCapsSet(retail, accredited, institutional);
    }

    /// @notice Caps what investors from outside the home country may hold (0 = unlimited): their number, and their
    /// share of the supply in basis points (e.g. 4,000 = "at most 40% held from outside PK"). COMPLIANCE_ROLE.
    /// @param maxForeignHolders Max foreign investors (< 2**32).
    /// @param maxForeignShareBps Max foreign share, 0..10,000 basis points.
    function setForeignCaps(uint256 maxForeignHolders, uint256 maxForeignShareBps) external onlyRole(COMPLIANCE_ROLE) {
        if (maxForeignHolders >> 32 != 0 || maxForeignShareBps > 10_000) revert InvalidCap();
        uint256 keep = _caps & ~((uint256(0xffffffff) << 128) | (uint256(0xffff) << _SHARE_SHIFT));
        _setCaps(keep | (maxForeignHolders << 128) | (maxForeignShareBps << _SHARE_SHIFT));
        emit ForeignCapsSet(maxForeignHolders, maxForeignShareBps);
    }

    // ------------------------------------------------------------------ views

    /// @notice The current rules.
    /// @return countryMode 0 None, 1 Allowlist, 2 Blocklist.
    /// @return lockupUntil Lock-up end (unix seconds).
    /// @return maxHolders Maximum investors holding units (0 = unlimited).
    /// @return maxBalance Maximum balance per investor (0 = unlimited).
    function rules()
        external
        view
        returns (CountryMode countryMode, uint256 lockupUntil, uint256 maxHolders, uint256 maxBalance)
    {
        uint8 f = _flags;
        countryMode = f & _FLAG_ALLOWLIST != 0
            ? CountryMode.Allowlist
            : (f & _FLAG_BLOCKLIST != 0 ? CountryMode.Blocklist : CountryMode.None);
        return (countryMode, _lockupUntil, _maxHolders, _maxBalance);
    }

    /// @notice The holder caps.
    /// @return retail Max retail investors (0 = unlimited).
    /// @return accredited Max accredited investors.
    /// @return institutional Max institutional investors.
    /// @return foreignHolders Max foreign investors.
    /// @return foreignShareBps Max foreign share of the supply, basis points.
    function holderCaps()
        external
        view
        returns (uint256 retail, uint256 accredited, uint256 institutional, uint256 foreignHolders, uint256 foreignShareBps)
    {
        uint256 c = _caps;
        return (_field(c, 1), _field(c, 2), _field(c, 3), _field(c, _FOREIGN_HOLDERS), (c >> _SHARE_SHIFT) & 0xffff);
    }

    /// @notice How many investors hold units, in all and per category and class.
    /// @return holders Investors holding units.
    /// @return retail Retail investors holding units.
    /// @return accredited Accredited investors holding units.
    /// @return institutional Institutional investors holding units.
    /// @return foreignHolders Foreign investors holding units.
    /// @return foreignUnits Units held by foreign investors.
    function holderCounts()
        external
        view
        returns (
            uint256 holders,
            uint256 retail,
            uint256 accredited,
            uint256 institutional,
            uint256 foreignHolders,
            uint256 foreignUnits
        )
    {
        uint256 c = _counters;
        return (
            _field(c, _HOLDERS), _field(c, 1), _field(c, 2), _field(c, 3), _field(c, _FOREIGN_HOLDERS),
            (_amounts >> 120) & _MASK
        );
    }

    /// @notice Whether a country code is on the country list.
    /// @param country ISO 3166-1 numeric code.
    /// @return True when listed.
    function isCountryListed(uint16 country) external view returns (bool) {
        return _countries.get(country);
    }

    /// @notice Number of investors holding units (all their wallets count once).
    /// @return The count.
    function holderCount() external view returns (uint256) {
        return _field(_counters, _HOLDERS);
    }

    /// @notice Number of frozen wallets.
    /// @return The count.
    function frozenWalletCount() external view returns (uint256) {
        return _field(_counters, _FROZEN_WALLETS);
    }

    /// @notice What the investor owning `wallet` holds in all its wallets.
    /// @param wallet Any wallet of the investor.
    /// @return The sum of its wallets' balances.
    function investorBalanceOf(address wallet) external view returns (uint256) {
        uint256 party = _infoOf(wallet);
        return _holding(wallet, party.investor(wallet), party, _accounts[wallet]) & _MASK;
    }

    /// @notice Whether a wallet is frozen (ERC-3643).
    /// @param wallet The wallet.
    /// @return True when frozen.
    function isFrozen(address wallet) external view returns (bool) {
        return _accounts[wallet] & _FROZEN != 0;
    }

    /// @notice A wallet's partially frozen units (ERC-3643).
    /// @param wallet The wallet.
    /// @return The amount.
    function getFrozenTokens(address wallet) external view returns (uint256) {
        return _frozenTokens[wallet];
    }

    /// @notice A wallet's units encumbered by active liens.
    /// @param wallet The wallet.
    /// @return The amount.
    function encumberedBalanceOf(address wallet) external view returns (uint256) {
        return _encumbered[wallet];
    }

    /// @notice A wallet's units locked by pending redemption requests (commodity tokens).
    /// @param wallet The wallet.
    /// @return The amount.
    function lockedBalanceOf(address wallet) external view returns (uint256) {
        return _locked[wallet];
    }

    /// @notice A wallet's free balance: balance - frozen - encumbered - locked.
    /// @param wallet The wallet.
    /// @return The amount.
    function freeBalanceOf(address wallet) public view returns (uint256) {
        uint256 a = _accounts[wallet];
        return (a & _MASK) - ((a >> 120) & _MASK);
    }

    /// @notice The wallet that now holds `wallet`'s units and state (itself unless it was recovered from).
    /// @param wallet The wallet.
    /// @return The current wallet.
    function successorOf(address wallet) external view returns (address) {
        return _current(wallet);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Locks `amount` of `holder`'s free units (redemption requests).
    function _lockUnits(address holder, uint256 amount) internal {
        _locked[holder] += amount;
        _accounts[holder] += amount << 120;
    }

    /// @dev Unlocks `amount` of locked units of `holder`.
    function _unlockUnits(address holder, uint256 amount) internal {
        _locked[holder] -= amount;
        _accounts[holder] -= amount << 120;
    }

    /// @dev The wallet that now holds `wallet`'s state (follows recoveries).
    function _current(address wallet) internal view returns (address) {
        address next = _successor[wallet];
        while (next != address(0)) {
            wallet = next;
            next = _successor[wallet];
        }
        return wallet;
    }

    /// @dev Liens and redemption requests of a recovered-from wallet resolve to its successor ({_current}), so none
    /// may start from it after the recovery.
    function _requireNotRecovered(address wallet) internal view {
        address successor = _successor[wallet];
        if (successor != address(0)) revert WalletRecovered(wallet, successor);
    }

    /// @dev Reverts unless `amount` is non-zero and within `holder`'s free balance.
    function _requireFree(address holder, uint256 amount) internal view {
        if (amount == 0) revert ZeroAmount();
        uint256 free = freeBalanceOf(holder);
        if (amount > free) revert AmountExceedsFreeBalance(holder, amount, free);
    }

    function _activeLien(uint256 lienId) private view returns (Lien storage l) {
        l = _liens[lienId];
        if (l.beneficiary == address(0) || l.released) revert LienNotActive(lienId);
    }

    function _moveComponent(mapping(address => uint256) storage component, address from, address to)
        private
        returns (uint256 amount)
    {
        amount = component[from];
        if (amount != 0) {
            component[to] += amount;
            delete component[from];
        }
    }

    function _setCaps(uint256 caps) private {
        _caps = caps;
        if (caps != 0) _flags |= uint8(_FLAG_CAPS);
        else _flags &= ~uint8(_FLAG_CAPS);
    }

    /// @dev What an investor holds in this token: its wallet's account word for a single-wallet investor, else its
    /// holdings word (written on its first move after it got a second wallet; until then its first wallet's).
    function _holding(address wallet, address investor, uint256 party, uint256 account) private view returns (uint256) {
        if (!party.multi()) return account & (_MASK | _CLASS_MASK);
        uint256 h = _holdings[investor];
        if (h & _INIT != 0) return h;
        uint256 first = investor == wallet ? account : _accounts[investor];
        return first & (_MASK | _CLASS_MASK);
    }

    /// @dev The class an investor counts under now: category (bits 0..1) | foreign (bit 2).
    function _classOf(uint256 party, uint256 home) private pure returns (uint256 cls) {
        cls = party.category() & 3;
        if (home != 0 && party.country() != home) cls |= _FOREIGN;
    }

    /// @dev Moves a holding of `total` units from its counted class to `cls` in the counters (and foreign units).
    function _reclass(Move memory m, uint256 c, uint256 holding, uint256 cls, uint256 total)
        private
        pure
        returns (uint256)
    {
        uint256 old = (holding >> _CLASS_SHIFT) & 7;
        c = _countHolder(_countHolder(c, old, false), cls, true);
        if ((old ^ cls) & _FOREIGN != 0) m.foreignDelta += cls & _FOREIGN != 0 ? int256(total) : -int256(total);
        return c;
    }

    /// @dev Adds (or removes) one investor of class `cls` to the counters.
    function _countHolder(uint256 c, uint256 cls, bool add) private pure returns (uint256) {
        uint256 d = 1; // field 0: all holders
        uint256 category = cls & 3;
        if (category != 0) d |= 1 << (32 * category);
        if (cls & _FOREIGN != 0) d |= 1 << (32 * _FOREIGN_HOLDERS);
        return add ? c + d : c - d;
    }

    function _field(uint256 w, uint256 i) private pure returns (uint256) {
        return (w >> (32 * i)) & 0xffffffff;
    }

    function _allocationDigest(address to, uint256 amount) private pure returns (bytes32) {
        return keccak256(abi.encode(to, amount));
    }

    function _assetActive() private view returns (bool) {
        return IAssetRegistry(assetRegistry).statusOf(assetId()) == AssetStatus.Active;
    }

    /// @dev `identityRegistry.pairInfo(from, to)` without the ABI-coder overhead (hot path of every transfer).
    function _pairInfo(address from, address to) private view returns (uint256 fromWord, uint256 toWord) {
        address registry = address(identityRegistry);
        bytes4 selector = IIdentityRegistry.pairInfo.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), from)
            mstore(add(m, 0x24), to)
            if iszero(and(gt(returndatasize(), 0x3f), staticcall(gas(), registry, m, 0x44, 0x00, 0x40))) {
                revert(0x00, 0x00)
            }
            fromWord := mload(0x00)
            toWord := mload(0x20)
        }
    }

    /// @dev `identityRegistry.infoOf(wallet)` without the ABI-coder overhead.
    function _infoOf(address wallet) private view returns (uint256 word) {
        address registry = address(identityRegistry);
        bytes4 selector = IIdentityRegistry.infoOf.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), wallet)
            if iszero(and(gt(returndatasize(), 0x1f), staticcall(gas(), registry, m, 0x24, 0x00, 0x20))) {
                revert(0x00, 0x00)
            }
            word := mload(0x00)
        }
    }

    /// @dev The whole rules word (slot of `_paused`/`_flags`): paused byte 0, then the rule variables.
    function _rules() private view returns (uint256 w) {
        assembly ("memory-safe") {
            w := sload(_flags.slot)
        }
    }

    /// @dev 32 bytes of the clone's immutable arguments starting at `offset` (zero-padded past the end).
    function _arg(uint256 offset) internal view returns (bytes32 w) {
        assembly ("memory-safe") {
            extcodecopy(address(), 0x00, add(0x2d, offset), 0x20)
            w := mload(0x00)
        }
    }
}
