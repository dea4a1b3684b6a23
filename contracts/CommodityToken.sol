// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ShortString, ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {CompliantToken} from "./CompliantToken.sol";
import {CUSTODIAN_ROLE} from "./RWAAccessed.sol";

import {AccountWord, CounterWord, RulesWord, SupplyWord} from "./token/TokenWords.sol";
/**
 * @title CommodityToken
 * @notice Fungible units (grams, kilograms, bales...) of one registered commodity stock, minted only against custody
 * lots a CUSTODIAN attests: `totalSupply() <= attestedReserve()` always holds, where the reserve is the running sum
 * of the active lots' quantities (an accumulator, no loops). Holders redeem physical delivery through a
 * request -> fulfil / reject flow; requested units are locked (counted as unavailable) until the custodian acts.
 * @dev Clone immutable arguments (107 bytes, appended to the clone's code):
 *   [0, 32) name (ShortString), [32, 64) symbol (ShortString), [64, 72) assetId (uint64), [72, 73) decimals (uint8),
 *   [73, 75) homeCountry (uint16), [75, 107) unit (ShortString, e.g. "gram").
 */
contract CommodityToken is CompliantToken {
    using AccountWord for uint256;
    using CounterWord for uint256;
    using SupplyWord for uint256;
    /// @notice Life cycle of a custody lot.
    enum LotStatus {
        None,
        Active,
        Retired
    }

    /// @notice Life cycle of a redemption request.
    enum RedemptionStatus {
        None,
        Pending,
        Fulfilled,
        Rejected
    }

    /// @notice A custody lot: slot 0 packs quantity, attestation time and status.
    struct Lot {
        uint128 quantity;
        uint40 attestedAt;
        LotStatus status;
        bytes32 receiptHash;
        string vault;
    }

    /// @notice A redemption request: slot 0 packs holder and status.
    struct Redemption {
        address holder;
        RedemptionStatus status;
        uint256 amount;
        bytes32 deliveryRef;
    }

    uint256 private _reserve;
    uint256 private _redemptionCount;
    mapping(bytes32 lotId => Lot) private _lots;
    mapping(uint256 requestId => Redemption) private _redemptions;

    /// @notice A custodian attested a new custody lot; the reserve grew by `quantity`.
    /// @param lotId The lot id (e.g. the custodian's lot number, hashed or left-aligned ASCII).
    /// @param vault Where the lot is stored.
    /// @param quantity Units attested (token base units).
    /// @param receiptHash Hash of the warehouse receipt.
    /// @param reserve The attested reserve afterwards.
    /// @param custodian The attesting custodian.
    event LotAttested(
        bytes32 indexed lotId, string vault, uint256 quantity, bytes32 receiptHash, uint256 reserve, address indexed custodian
    );
    /// @notice A lot's quantity was reduced (not via redemption).
    /// @param lotId The lot.
    /// @param amount Units removed.
    /// @param quantity The lot's quantity afterwards.
    /// @param reserve The attested reserve afterwards.
    /// @param reason Reference of the reason (audit finding, loss report...).
    event LotReduced(bytes32 indexed lotId, uint256 amount, uint256 quantity, uint256 reserve, bytes32 reason);
    /// @notice A lot was retired (its whole remaining quantity left the reserve).
    /// @param lotId The lot.
    /// @param quantity Units removed from the reserve.
    /// @param reserve The attested reserve afterwards.
    /// @param reason Reference of the reason.
    event LotRetired(bytes32 indexed lotId, uint256 quantity, uint256 reserve, bytes32 reason);
    /// @notice A holder asked for physical delivery; `amount` is locked.
    /// @param requestId The request id (per token, starts at 1).
    /// @param holder The holder.
    /// @param amount Units locked.
    /// @param deliveryRef The holder's delivery reference.
    event RedemptionRequested(uint256 indexed requestId, address indexed holder, uint256 amount, bytes32 deliveryRef);
    /// @notice The custodian delivered: the locked units were burned and taken out of one or more lots and the
    /// reserve (one {LotDrawn} per lot).
    /// @param requestId The request.
    /// @param holder The holder whose units were burned (follows recoveries).
    /// @param amount Units burned.
    /// @param reserve The attested reserve afterwards.
    event RedemptionFulfilled(uint256 indexed requestId, address indexed holder, uint256 amount, uint256 reserve);
    /// @notice Part of a redemption was delivered from a lot.
    /// @param requestId The request.
    /// @param lotId The lot.
    /// @param amount Units taken from the lot.
    /// @param lotQuantity The lot's quantity afterwards.
    event LotDrawn(uint256 indexed requestId, bytes32 indexed lotId, uint256 amount, uint256 lotQuantity);
    /// @notice The custodian rejected a request; the units are unlocked.
    /// @param requestId The request.
    /// @param holder The holder (follows recoveries).
    /// @param amount Units unlocked.
    /// @param reason Reference of the reason.
    event RedemptionRejected(uint256 indexed requestId, address indexed holder, uint256 amount, bytes32 reason);

    /// @notice A lot with this id already exists (ids are never reused).
    /// @param lotId The lot.
    error LotAlreadyExists(bytes32 lotId);
    /// @notice The lot does not exist or is retired.
    /// @param lotId The lot.
    error LotNotActive(bytes32 lotId);
    /// @notice The lot (or the lots together) hold fewer units than asked.
    /// @param lotId The lot.
    /// @param quantity Units in the lot.
    /// @param requested Units asked.
    error LotQuantityExceeded(bytes32 lotId, uint256 quantity, uint256 requested);
    /// @notice Reducing or retiring a lot would leave the reserve below the supply.
    /// @param reserve The reserve it would leave.
    /// @param supply The current total supply.
    error ReserveBelowSupply(uint256 reserve, uint256 supply);
    /// @notice The request is not pending.
    /// @param requestId The request.
    error RedemptionNotPending(uint256 requestId);
    /// @notice The lot id is zero.
    error InvalidLotId();
    /// @notice The reserve would reach 2**120 units.
    /// @param reserve The reserve it would reach.
    error ReserveTooLarge(uint256 reserve);

    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    /// @param tokenModule_ The shared {CompliantTokenModule}.
    constructor(address identityRegistry_, address authority_, address assetRegistry_, address tokenModule_)
        CompliantToken(identityRegistry_, authority_, assetRegistry_, tokenModule_)
    {}

    /// @notice The unit one whole token stands for (from the clone's immutable arguments), e.g. "gram".
    /// @return The unit.
    function unit() external view returns (string memory) {
        return ShortStrings.toString(ShortString.wrap(_arg(75)));
    }

    // ------------------------------------------------------------------ custody lots (CUSTODIAN_ROLE)

    /// @notice Attests a new custody lot; the reserve grows by `quantity`. CUSTODIAN_ROLE.
    /// @param lotId Unique non-zero lot id.
    /// @param vault Where the lot is stored.
    /// @param quantity Units (token base units, > 0, < 2**128).
    /// @param receiptHash Hash of the warehouse receipt.
    function attestLot(bytes32 lotId, string calldata vault, uint256 quantity, bytes32 receiptHash)
        external
        onlyRole(CUSTODIAN_ROLE)
    {
        if (lotId == bytes32(0)) revert InvalidLotId();
        if (quantity == 0) revert ZeroAmount();
        Lot storage l = _lots[lotId];
        if (l.status != LotStatus.None) revert LotAlreadyExists(lotId);
        l.quantity = SafeCast.toUint128(quantity);
        l.attestedAt = uint40(block.timestamp);
        l.status = LotStatus.Active;
        l.receiptHash = receiptHash;
        l.vault = vault;
        uint256 reserve = _reserve + quantity;
        if (reserve > AccountWord.UNITS) revert ReserveTooLarge(reserve);
        _reserve = reserve;
        emit LotAttested(lotId, vault, quantity, receiptHash, reserve, msg.sender);
    }

    /// @notice Removes `amount` units from an active lot (the reserve may not fall below the supply).
    /// CUSTODIAN_ROLE.
    /// @param lotId The lot.
    /// @param amount Units to remove (> 0, <= lot quantity).
    /// @param reason Reference of the reason.
    function reduceLot(bytes32 lotId, uint256 amount, bytes32 reason) external onlyRole(CUSTODIAN_ROLE) {
        if (amount == 0) revert ZeroAmount();
        Lot storage l = _activeLot(lotId);
        uint256 quantity = l.quantity;
        if (amount > quantity) revert LotQuantityExceeded(lotId, quantity, amount);
        uint256 reserve = _lowerReserve(amount);
        l.quantity = uint128(quantity - amount);
        emit LotReduced(lotId, amount, quantity - amount, reserve, reason);
    }

    /// @notice Retires an active lot; its remaining quantity leaves the reserve (which may not fall below the
    /// supply). CUSTODIAN_ROLE.
    /// @param lotId The lot.
    /// @param reason Reference of the reason.
    function retireLot(bytes32 lotId, bytes32 reason) external onlyRole(CUSTODIAN_ROLE) {
        Lot storage l = _activeLot(lotId);
        uint256 quantity = l.quantity;
        uint256 reserve = _lowerReserve(quantity);
        l.quantity = 0;
        l.status = LotStatus.Retired;
        emit LotRetired(lotId, quantity, reserve, reason);
    }

    // ------------------------------------------------------------------ redemption

    /// @notice Asks the custodian for physical delivery of `amount` units; they are locked until the custodian
    /// fulfils or rejects. The caller must be verified, not frozen, the token not paused, and `amount` within the
    /// caller's free balance (otherwise {TransferNotAllowed} with the matching reason, as `canTransfer(caller, 0,
    /// amount)` predicts).
    /// @param amount Units to redeem (> 0).
    /// @param deliveryRef The holder's delivery reference.
    /// @return requestId The request id (per token, starts at 1).
    function requestRedemption(uint256 amount, bytes32 deliveryRef) external returns (uint256 requestId) {
        if (amount == 0) revert ZeroAmount();
        _requireNotRecovered(msg.sender);
        (uint256 code,) = _plan(msg.sender, address(0), amount, _REDEEM);
        if (code != 0) revert TransferNotAllowed(msg.sender, address(0), amount, Reason(code));
        _lockUnits(msg.sender, amount);
        requestId = ++_redemptionCount;
        _redemptions[requestId] = Redemption(msg.sender, RedemptionStatus.Pending, amount, deliveryRef);
        emit RedemptionRequested(requestId, msg.sender, amount, deliveryRef);
    }

    /// @notice Delivers a pending request from one or more lots, drawn in the order given until the request is
    /// met: burns the locked units and removes them from the lots and the reserve. Not while the token is paused
    /// or the holder's wallet is frozen (reject instead). CUSTODIAN_ROLE.
    /// @param requestId The request.
    /// @param lotIds Active lots holding together at least the requested units.
    function fulfilRedemption(uint256 requestId, bytes32[] calldata lotIds) external onlyRole(CUSTODIAN_ROLE) {
        Redemption storage r = _pending(requestId);
        uint256 amount = r.amount;
        uint256 left = amount;
        for (uint256 i; i < lotIds.length && left != 0; ++i) {
            Lot storage l = _activeLot(lotIds[i]);
            uint256 quantity = l.quantity;
            uint256 take = left < quantity ? left : quantity;
            l.quantity = uint128(quantity - take);
            left -= take;
            emit LotDrawn(requestId, lotIds[i], take, quantity - take);
        }
        if (left != 0) revert LotQuantityExceeded(lotIds.length == 1 ? lotIds[0] : bytes32(0), amount - left, amount);
        address holder = _current(r.holder);
        r.status = RedemptionStatus.Fulfilled;
        _unlockUnits(holder, amount, false); // delivered: burned next
        _move(holder, address(0), amount, _FORCED);
        uint256 reserve = _reserve - amount;
        _reserve = reserve;
        emit RedemptionFulfilled(requestId, holder, amount, reserve);
    }

    /// @notice Rejects a pending request; the units are unlocked. CUSTODIAN_ROLE.
    /// @param requestId The request.
    /// @param reason Reference of the reason.
    function rejectRedemption(uint256 requestId, bytes32 reason) external onlyRole(CUSTODIAN_ROLE) {
        Redemption storage r = _pending(requestId);
        address holder = _current(r.holder);
        r.status = RedemptionStatus.Rejected;
        _unlockUnits(holder, r.amount, true);
        emit RedemptionRejected(requestId, holder, r.amount, reason);
    }

    // ------------------------------------------------------------------ views

    /// @notice The attested reserve: sum of the active lots' quantities (always >= totalSupply()).
    /// @return The reserve.
    function attestedReserve() external view returns (uint256) {
        return _reserve;
    }

    /// @notice A custody lot.
    /// @param lotId The lot.
    /// @return The lot (status None = unknown).
    function lot(bytes32 lotId) external view returns (Lot memory) {
        return _lots[lotId];
    }

    /// @notice A redemption request.
    /// @param requestId The request.
    /// @return holder The holder (follows recoveries).
    /// @return status 0 None, 1 Pending, 2 Fulfilled, 3 Rejected.
    /// @return amount The units.
    /// @return deliveryRef The delivery reference.
    function redemption(uint256 requestId)
        external
        view
        returns (address holder, RedemptionStatus status, uint256 amount, bytes32 deliveryRef)
    {
        Redemption memory r = _redemptions[requestId];
        return (r.holder == address(0) ? address(0) : _current(r.holder), r.status, r.amount, r.deliveryRef);
    }

    /// @notice Number of redemption requests ever made (ids 1..redemptionCount).
    /// @return The count.
    function redemptionCount() external view returns (uint256) {
        return _redemptionCount;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Mints may never bring the supply above the attested reserve.
    function _supplyCheck(uint256 value) internal view override returns (uint256) {
        return value > _reserve - totalSupply() ? uint256(Reason.ReserveExceeded) : 0;
    }

    function _activeLot(bytes32 lotId) private view returns (Lot storage l) {
        l = _lots[lotId];
        if (l.status != LotStatus.Active) revert LotNotActive(lotId);
    }

    function _pending(uint256 requestId) private view returns (Redemption storage r) {
        r = _redemptions[requestId];
        if (r.status != RedemptionStatus.Pending) revert RedemptionNotPending(requestId);
    }

    function _lowerReserve(uint256 amount) private returns (uint256 reserve) {
        reserve = _reserve - amount;
        uint256 supply = totalSupply();
        if (reserve < supply) revert ReserveBelowSupply(reserve, supply);
        _reserve = reserve;
    }
}
