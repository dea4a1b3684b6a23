// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ShortString, ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {RWAAccessed, REGISTRAR_ROLE, COMPLIANCE_ROLE} from "./RWAAccessed.sol";
import {IIdentityRegistry, IdentityWord} from "./interfaces/IIdentityRegistry.sol";

/**
 * @title CompliantToken
 * @notice Abstract permissioned ERC-20 of rwaledger (ERC-3643 / T-REX style) with every transfer rule in one place.
 * A concrete token is an EIP-1167 clone *with immutable arguments* created by the {TokenFactory}: its static
 * configuration (name, symbol, decimals, asset id, cap or unit) is appended to the clone's bytecode, so a clone
 * needs no initialization transaction and no configuration storage (see "Deviation" in README.md).
 *
 * Transfer rules, evaluated by ONE function {_check} that both {_update} (every mint, transfer and burn) and the
 * {canTransfer} view run. Ordinary transfers (`from` and `to` non-zero):
 *   paused -> sender verified -> recipient verified -> sender not frozen -> recipient not frozen ->
 *   lock-up over -> recipient country allowed -> balance -> unlocked balance -> max balance -> max holders.
 * Mints: recipient verified, recipient not frozen, country, max balance, max holders, cap/reserve (NOT paused, NOT
 * lock-up: issuance while trading is paused is allowed). Holder-initiated burns (redemption requests, and
 * `canTransfer(from, 0, x)`): sender not frozen, balance, unlocked balance.
 * Forced moves (forcedTransfer, registrar burn, recoveryAddress, redemption fulfilment) skip pause, sender
 * verification, freezes, lock-up, country, max balance and max holders, but still require a verified recipient and
 * can never move units under a lien or locked for redemption. They may consume partially frozen units (which are
 * unfrozen first, emitting {TokensUnfrozen}, as in T-REX).
 *
 * Free (unlocked) balance = balance - frozenTokens - encumbered (liens) - lockedForRedemption.
 *
 * Storage: slot 5 holds OpenZeppelin's `Pausable._paused` (byte 0) followed by every rule variable, so one SLOAD
 * reads all rules; each holder's (frozen flag, total unavailable amount) is one slot; the identity registry answers
 * for both parties in one call. Registries and the authority are `immutable`s of the implementation (no SLOAD).
 */
abstract contract CompliantToken is ERC20, Pausable, RWAAccessed {
    using BitMaps for BitMaps.BitMap;
    using IdentityWord for uint256;

    /// @notice Reason codes of {canTransfer} and {TransferNotAllowed} (ERC-1066 spirit). Stable: append only.
    enum Reason {
        Ok, // 0
        Paused, // 1  token paused (ordinary transfers only)
        SenderNotVerified, // 2  sender has no identity or its KYC expired
        RecipientNotVerified, // 3  recipient has no identity or its KYC expired
        SenderFrozen, // 4  sender wallet frozen
        RecipientFrozen, // 5  recipient wallet frozen
        LockedUp, // 6  block.timestamp < lockupUntil
        CountryNotAllowed, // 7  recipient country not allowed (allowlist) or blocked (blocklist)
        InsufficientBalance, // 8  balance < amount
        InsufficientUnlockedBalance, // 9  balance - frozen - encumbered - locked < amount
        MaxBalanceExceeded, // 10 recipient balance would exceed maxBalance
        MaxHoldersExceeded, // 11 a new holder would exceed maxHolders
        CapExceeded, // 12 property: totalSupply would exceed the share cap
        ReserveExceeded, // 13 commodity: totalSupply would exceed the attested reserve
        Disabled // 14 the contract is the shared implementation, not a token
    }

    /// @notice Country restriction modes.
    enum CountryMode {
        None, // 0 no country rule
        Allowlist, // 1 recipient country must be listed
        Blocklist // 2 recipient country must not be listed
    }

    /// @dev Per-holder state, ONE slot: frozen flag (bits 0..7) and the total unavailable amount (bits 8..255) =
    /// frozenTokens + encumbered + lockedForRedemption. The components live in their own mappings, read only by
    /// administrative calls.
    struct Holder {
        bool frozen;
        uint248 unavailable;
    }

    uint256 private constant _FLAG_DISABLED = 1;
    uint256 private constant _FLAG_ALLOWLIST = 2;
    uint256 private constant _FLAG_BLOCKLIST = 4;

    // ---- slot 5, packed after Pausable._paused (byte 0); keep the order, {_rules} reads the whole word ----
    uint8 private _flags; // byte 1        bits   8..15
    uint40 private _lockupUntil; // bytes 2..6    bits  16..55
    uint32 private _maxHolders; // bytes 7..10   bits  56..87
    uint32 private _holderCount; // bytes 11..14  bits  88..119
    uint32 private _frozenWallets; // bytes 15..18  bits 120..151
    uint104 private _maxBalance; // bytes 19..31  bits 152..255

    mapping(address holder => Holder) private _holders;
    mapping(address holder => uint256) private _frozenTokens;
    mapping(address holder => uint256) private _encumbered;
    mapping(address holder => uint256) private _locked;
    BitMaps.BitMap private _countries;
    mapping(bytes32 ref => bool) private _usedRefs;

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

    // ------------------------------------------------------------------ events

    /// @notice Units were minted by the registrar.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param ref The idempotency reference (usable once per token).
    event Minted(address indexed to, uint256 amount, bytes32 indexed ref);
    /// @notice A batch mint finished (each item also emitted {Minted} and {Transfer}).
    /// @param ref The idempotency reference.
    /// @param count Number of mints.
    /// @param total Sum of the amounts.
    event BatchMinted(bytes32 indexed ref, uint256 count, uint256 total);
    /// @notice Units were burned by the registrar.
    /// @param from The holder.
    /// @param amount The amount.
    /// @param reason Reference of the reason (e.g. a court order or a redemption reference).
    event Burned(address indexed from, uint256 amount, bytes32 reason);
    /// @notice The registrar moved units without the holder's consent.
    /// @param from The holder.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param reason Reference of the legal basis (e.g. court order number).
    event ForcedTransfer(address indexed from, address indexed to, uint256 amount, bytes32 reason);
    /// @notice A wallet was frozen or unfrozen (ERC-3643).
    /// @param wallet The wallet.
    /// @param isFrozen The new state.
    /// @param by The compliance officer.
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
    /// @notice A lost wallet's units and token state moved to a new wallet (ERC-3643 name).
    /// @param lostWallet The lost wallet (left empty and unfrozen).
    /// @param newWallet The new wallet.
    /// @param amount The balance moved.
    /// @param frozen Whether the wallet freeze moved (new wallet frozen).
    /// @param frozenTokens Partially frozen amount moved.
    /// @param encumbered Lien-encumbered amount moved (the liens now point at the new wallet).
    /// @param locked Redemption-locked amount moved.
    event RecoverySuccess(
        address indexed lostWallet,
        address indexed newWallet,
        uint256 amount,
        bool frozen,
        uint256 frozenTokens,
        uint256 encumbered,
        uint256 locked
    );
    /// @notice The country restriction mode changed.
    /// @param mode 0 None, 1 Allowlist, 2 Blocklist.
    event CountryRestrictionSet(CountryMode mode);
    /// @notice Countries were added to / removed from the country list.
    /// @param countries ISO 3166-1 numeric codes.
    /// @param listed True = added, false = removed.
    event CountriesListed(uint16[] countries, bool listed);
    /// @notice The maximum number of holders changed (0 = unlimited).
    /// @param maxHolders The new maximum.
    event MaxHoldersSet(uint256 maxHolders);
    /// @notice The maximum balance per investor changed (0 = unlimited).
    /// @param maxBalance The new maximum.
    event MaxBalanceSet(uint256 maxBalance);
    /// @notice The lock-up end changed (ordinary transfers blocked while block.timestamp < lockupUntil).
    /// @param lockupUntil The new end (unix seconds, 0 = none).
    event LockupSet(uint256 lockupUntil);

    // ------------------------------------------------------------------ errors

    /// @notice A mint, transfer or burn breaks a rule.
    /// @param from The sender (0 for a mint).
    /// @param to The recipient (0 for a burn).
    /// @param amount The amount.
    /// @param reason The {Reason} code.
    error TransferNotAllowed(address from, address to, uint256 amount, uint8 reason);
    /// @notice The idempotency reference was already used on this token.
    /// @param ref The reference.
    error ReferenceAlreadyUsed(bytes32 ref);
    /// @notice The idempotency reference is zero.
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
    /// @notice Recovery needs a lost wallet holding units and a different, non-zero new wallet that was never itself
    /// recovered from.
    /// @param lostWallet The lost wallet.
    /// @param newWallet The new wallet.
    error InvalidRecovery(address lostWallet, address newWallet);
    /// @notice The wallet was recovered from (its liens and redemption requests follow its successor), so no new
    /// lien, redemption request or recovery may start from it.
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

    // ------------------------------------------------------------------ ERC-20 metadata from the clone's code

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

    // ------------------------------------------------------------------ transfer rules

    /// @notice Whether `amount` could move from `from` to `to` now, and if not, why. Runs exactly the check
    /// {_update} runs (`from == 0`: a mint; `to == 0`: a holder-initiated burn).
    /// @param from The sender (0 = mint).
    /// @param to The recipient (0 = burn).
    /// @param amount The amount.
    /// @return ok True when allowed.
    /// @return reason The {Reason} code (0 when ok).
    function canTransfer(address from, address to, uint256 amount) external view returns (bool ok, uint8 reason) {
        (uint256 code,,) = _check(from, to, amount, false);
        return (code == 0, uint8(code));
    }

    /// @dev The ONE place where ERC-20 balance changes are checked: every ordinary transfer, transferFrom and mint.
    function _update(address from, address to, uint256 value) internal override {
        _enforce(from, to, value, false);
    }

    /// @dev Checks a move, applies it with OpenZeppelin's ERC20 `_update`, and keeps the holder count.
    function _enforce(address from, address to, uint256 value, bool forced) internal {
        (uint256 code, uint256 holders, uint256 word) = _check(from, to, value, forced);
        if (code != 0) revert TransferNotAllowed(from, to, value, uint8(code));
        super._update(from, to, value);
        if (holders != (word >> 88) & 0xffffffff) _holderCount = uint32(holders);
    }

    /// @dev The transfer rules. Returns the {Reason} code, the holder count after the move and the rules word.
    function _check(address from, address to, uint256 value, bool forced)
        internal
        view
        returns (uint256 code, uint256 holders, uint256 word)
    {
        word = _rules();
        holders = (word >> 88) & 0xffffffff;
        if (word & (_FLAG_DISABLED << 8) != 0) return (uint256(Reason.Disabled), holders, word);
        bool isMint = from == address(0);
        bool isBurn = to == address(0);
        bool ordinary = !forced && !isMint && !isBurn;
        if (ordinary && word & 0xff != 0) return (uint256(Reason.Paused), holders, word);

        uint256 toId;
        if (!isBurn) {
            if (isMint) {
                toId = identityRegistry.infoOf(to);
            } else {
                uint256 fromId;
                (fromId, toId) = _pairInfo(from, to);
                if (!forced && !fromId.verified()) return (uint256(Reason.SenderNotVerified), holders, word);
            }
            if (!toId.verified()) return (uint256(Reason.RecipientNotVerified), holders, word);
        }

        uint256 fromState;
        if (!isMint) {
            fromState = _holderWord(from);
            if (!forced && fromState & 0xff != 0) return (uint256(Reason.SenderFrozen), holders, word);
        }
        if (!isBurn && !forced && (word >> 120) & 0xffffffff != 0) {
            // some wallet is frozen: look at the recipient
            if (_holderWord(to) & 0xff != 0) return (uint256(Reason.RecipientFrozen), holders, word);
        }
        if (ordinary && block.timestamp < (word >> 16) & 0xffffffffff) {
            return (uint256(Reason.LockedUp), holders, word);
        }
        if (!isBurn && !forced && word & ((_FLAG_ALLOWLIST | _FLAG_BLOCKLIST) << 8) != 0) {
            bool listed = _countries.get(toId.country());
            if (listed != (word & (_FLAG_ALLOWLIST << 8) != 0)) return (uint256(Reason.CountryNotAllowed), holders, word);
        }

        uint256 before = holders;
        if (from != to) {
            if (!isMint) {
                uint256 fromBal = balanceOf(from);
                if (fromBal < value) return (uint256(Reason.InsufficientBalance), holders, word);
                if (fromBal - value < fromState >> 8) return (uint256(Reason.InsufficientUnlockedBalance), holders, word);
                if (value != 0 && fromBal == value) --holders;
            }
            if (!isBurn) {
                uint256 toBal = balanceOf(to);
                if (!forced) {
                    uint256 maxBal = word >> 152;
                    if (maxBal != 0 && toBal + value > maxBal) return (uint256(Reason.MaxBalanceExceeded), holders, word);
                }
                if (value != 0 && toBal == 0) {
                    ++holders;
                    uint256 maxH = (word >> 56) & 0xffffffff;
                    if (!forced && maxH != 0 && holders > before && holders > maxH) {
                        return (uint256(Reason.MaxHoldersExceeded), before, word);
                    }
                }
            }
        } else if (!isMint) {
            // self-transfer: only the balance rules apply
            uint256 bal = balanceOf(from);
            if (bal < value) return (uint256(Reason.InsufficientBalance), holders, word);
            if (bal - value < fromState >> 8) return (uint256(Reason.InsufficientUnlockedBalance), holders, word);
        }
        if (isMint) {
            code = _supplyCheck(totalSupply() + value);
            if (code != 0) return (code, before, word);
        }
    }

    /// @dev Reason code for a mint that would bring the supply to `newSupply` (0 = fine).
    function _supplyCheck(uint256 newSupply) internal view virtual returns (uint256);

    // ------------------------------------------------------------------ registrar: mint, burn, forced moves

    /// @notice Mints `amount` to `to`, once per `ref`. REGISTRAR_ROLE.
    /// @param to A verified recipient.
    /// @param amount The amount.
    /// @param ref Idempotency reference (non-zero, never reused on this token; a re-run reverts).
    function mint(address to, uint256 amount, bytes32 ref) external onlyRole(REGISTRAR_ROLE) {
        _useRef(ref);
        _mint(to, amount);
        emit Minted(to, amount, ref);
    }

    /// @notice Mints to many recipients under one idempotency reference. REGISTRAR_ROLE.
    /// @param to The recipients.
    /// @param amounts The amounts.
    /// @param ref Idempotency reference for the whole batch.
    function batchMint(address[] calldata to, uint256[] calldata amounts, bytes32 ref)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        uint256 n = to.length;
        if (n == 0 || amounts.length != n) revert ArrayLengthMismatch();
        _useRef(ref);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            _mint(to[i], amounts[i]);
            total += amounts[i];
            emit Minted(to[i], amounts[i], ref);
        }
        emit BatchMinted(ref, n, total);
    }

    /// @notice Whether an idempotency reference was used on this token.
    /// @param ref The reference.
    /// @return True when used.
    function isReferenceUsed(bytes32 ref) external view returns (bool) {
        return _usedRefs[ref];
    }

    /// @notice Burns `amount` of `from` (forced semantics: ignores the wallet freeze, consumes partially frozen
    /// units if needed, never burns units under a lien or locked for redemption). REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param amount The amount.
    /// @param reason Reference of the reason.
    function burn(address from, uint256 amount, bytes32 reason) external onlyRole(REGISTRAR_ROLE) {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        _consumeFrozen(from, amount);
        _enforce(from, address(0), amount, true);
        emit Burned(from, amount, reason);
    }

    /// @notice Moves units without the holder's consent (court order...). Skips pause, sender verification,
    /// freezes, lock-up, country, max balance and max holders; requires a verified recipient; consumes partially
    /// frozen units if needed; NEVER moves units under a lien or locked for redemption. REGISTRAR_ROLE.
    /// @param from The holder.
    /// @param to The verified recipient.
    /// @param amount The amount.
    /// @param reason Reference of the legal basis.
    /// @return True (ERC-3643 compatibility).
    function forcedTransfer(address from, address to, uint256 amount, bytes32 reason)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (bool)
    {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (from == to) revert ForcedSelfTransfer(from);
        _consumeFrozen(from, amount);
        _enforce(from, to, amount, true);
        emit ForcedTransfer(from, to, amount, reason);
        return true;
    }

    /// @notice Moves a lost wallet's whole balance and its token state (freeze, frozen units, lien-encumbered and
    /// redemption-locked units) to a verified new wallet; liens and redemption requests follow. The new wallet must
    /// not be a wallet that was itself recovered from earlier. REGISTRAR_ROLE.
    /// @param lostWallet The lost wallet (must hold units).
    /// @param newWallet The verified new wallet.
    /// @return True (ERC-3643 compatibility).
    function recoveryAddress(address lostWallet, address newWallet) external onlyRole(REGISTRAR_ROLE) returns (bool) {
        uint256 amount = balanceOf(lostWallet);
        if (
            amount == 0 || newWallet == address(0) || newWallet == lostWallet || lostWallet == address(0)
                || _successor[newWallet] != address(0) // a recovered (lost) wallet is never reused: no cycles
        ) {
            revert InvalidRecovery(lostWallet, newWallet);
        }
        _requireNotRecovered(lostWallet);
        Holder storage lost = _holders[lostWallet];
        Holder storage neu = _holders[newWallet];
        bool wasFrozen = lost.frozen;
        uint256 frozenTokens = _frozenTokens[lostWallet];
        uint256 encumbered = _encumbered[lostWallet];
        uint256 locked = _locked[lostWallet];
        uint248 unavailable = lost.unavailable;

        if (wasFrozen) {
            if (neu.frozen) _frozenWallets -= 1; // the lost wallet's freeze merges into the new one
            neu.frozen = true;
        }
        neu.unavailable += unavailable;
        delete _holders[lostWallet];
        if (frozenTokens != 0) {
            _frozenTokens[newWallet] += frozenTokens;
            delete _frozenTokens[lostWallet];
        }
        if (encumbered != 0) {
            _encumbered[newWallet] += encumbered;
            delete _encumbered[lostWallet];
        }
        if (locked != 0) {
            _locked[newWallet] += locked;
            delete _locked[lostWallet];
        }
        _successor[lostWallet] = newWallet;
        _enforce(lostWallet, newWallet, amount, true);
        emit RecoverySuccess(lostWallet, newWallet, amount, wasFrozen, frozenTokens, encumbered, locked);
        return true;
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
        _holders[holder].unavailable += uint248(amount);
        emit LienCreated(lienId, holder, beneficiary, amount, reason, documentHash);
    }

    /// @notice Releases a lien. REGISTRAR_ROLE or the lien's beneficiary.
    /// @param lienId The lien.
    function releaseLien(uint256 lienId) external {
        Lien storage l = _liens[lienId];
        address beneficiary = l.beneficiary;
        if (beneficiary == address(0) || l.released) revert LienNotActive(lienId);
        if (msg.sender != beneficiary) _checkRole(REGISTRAR_ROLE);
        l.released = true;
        address holder = _current(l.holder);
        uint256 amount = l.amount;
        _encumbered[holder] -= amount;
        _holders[holder].unavailable -= uint248(amount);
        emit LienReleased(lienId, holder, beneficiary, amount, msg.sender);
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
        Holder storage h = _holders[wallet];
        if (h.frozen != freeze) {
            h.frozen = freeze;
            if (freeze) _frozenWallets += 1;
            else _frozenWallets -= 1;
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
        _holders[wallet].unavailable += uint248(amount);
        emit TokensFrozen(wallet, amount, total);
    }

    /// @notice Unfreezes part of a wallet's frozen units. COMPLIANCE_ROLE.
    /// @param wallet The wallet.
    /// @param amount The amount (<= frozen units).
    function unfreezePartialTokens(address wallet, uint256 amount) external onlyRole(COMPLIANCE_ROLE) {
        uint256 frozen = _frozenTokens[wallet];
        if (amount == 0) revert ZeroAmount();
        if (amount > frozen) revert AmountExceedsFrozen(wallet, amount, frozen);
        _unfreeze(wallet, amount, frozen);
    }

    /// @notice Pauses ordinary transfers (mints and forced moves still work). COMPLIANCE_ROLE.
    function pause() external onlyRole(COMPLIANCE_ROLE) {
        _pause();
    }

    /// @notice Resumes ordinary transfers. COMPLIANCE_ROLE.
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

    /// @notice Sets the maximum number of holders (0 = unlimited); existing holders above it are not affected.
    /// COMPLIANCE_ROLE.
    /// @param maxHolders_ The maximum (< 2**32).
    function setMaxHolders(uint256 maxHolders_) external onlyRole(COMPLIANCE_ROLE) {
        _maxHolders = SafeCast.toUint32(maxHolders_);
        emit MaxHoldersSet(maxHolders_);
    }

    /// @notice Sets the maximum balance per investor (0 = unlimited). COMPLIANCE_ROLE.
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

    // ------------------------------------------------------------------ views

    /// @notice The current rules.
    /// @return countryMode 0 None, 1 Allowlist, 2 Blocklist.
    /// @return lockupUntil Lock-up end (unix seconds).
    /// @return maxHolders Maximum holders (0 = unlimited).
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

    /// @notice Whether a country code is on the country list.
    /// @param country ISO 3166-1 numeric code.
    /// @return True when listed.
    function isCountryListed(uint16 country) external view returns (bool) {
        return _countries.get(country);
    }

    /// @notice Number of wallets with a non-zero balance.
    /// @return The count.
    function holderCount() external view returns (uint256) {
        return _holderCount;
    }

    /// @notice Number of frozen wallets.
    /// @return The count.
    function frozenWalletCount() external view returns (uint256) {
        return _frozenWallets;
    }

    /// @notice Whether a wallet is frozen (ERC-3643).
    /// @param wallet The wallet.
    /// @return True when frozen.
    function isFrozen(address wallet) external view returns (bool) {
        return _holders[wallet].frozen;
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
        return balanceOf(wallet) - _holders[wallet].unavailable;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Locks `amount` of `holder`'s free units (redemption requests).
    function _lockUnits(address holder, uint256 amount) internal {
        _locked[holder] += amount;
        _holders[holder].unavailable += uint248(amount);
    }

    /// @dev Unlocks `amount` of locked units of `holder`.
    function _unlockUnits(address holder, uint256 amount) internal {
        _locked[holder] -= amount;
        _holders[holder].unavailable -= uint248(amount);
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

    /// @dev Reverts unless `amount` is non-zero and within `holder`'s free balance.
    /// @dev Liens and redemption requests of a recovered-from wallet resolve to its successor ({_current}), so none
    /// may start from it after the recovery.
    function _requireNotRecovered(address wallet) internal view {
        address successor = _successor[wallet];
        if (successor != address(0)) revert WalletRecovered(wallet, successor);
    }

    function _requireFree(address holder, uint256 amount) internal view {
        if (amount == 0) revert ZeroAmount();
        uint256 free = freeBalanceOf(holder);
        if (amount > free) revert AmountExceedsFreeBalance(holder, amount, free);
    }

    /// @dev Forced moves: unfreezes as many partially frozen units as needed for `amount` to be movable.
    function _consumeFrozen(address holder, uint256 amount) private {
        uint256 free = freeBalanceOf(holder);
        if (amount > free) {
            uint256 frozen = _frozenTokens[holder];
            if (frozen != 0) {
                uint256 need = amount - free;
                _unfreeze(holder, need < frozen ? need : frozen, frozen);
            }
        }
    }

    function _unfreeze(address wallet, uint256 amount, uint256 frozen) private {
        uint256 total = frozen - amount;
        _frozenTokens[wallet] = total;
        _holders[wallet].unavailable -= uint248(amount);
        emit TokensUnfrozen(wallet, amount, total);
    }

    function _useRef(bytes32 ref) private {
        if (ref == bytes32(0)) revert InvalidReference();
        if (_usedRefs[ref]) revert ReferenceAlreadyUsed(ref);
        _usedRefs[ref] = true;
    }

    /// @dev `identityRegistry.pairInfo(from, to)` without the ABI-coder overhead (hot path of every transfer).
    function _pairInfo(address from, address to) private view returns (uint256 fromId, uint256 toId) {
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
            fromId := mload(0x00)
            toId := mload(0x20)
        }
    }

    /// @dev The whole rules word (slot of `_paused`/`_flags`): paused byte 0, then the rule variables.
    function _rules() private view returns (uint256 w) {
        assembly ("memory-safe") {
            w := sload(_flags.slot)
        }
    }

    /// @dev A holder's state word: frozen flag in bits 0..7, unavailable amount in bits 8..255.
    function _holderWord(address holder) private view returns (uint256 w) {
        Holder storage h = _holders[holder];
        assembly ("memory-safe") {
            w := sload(h.slot)
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
