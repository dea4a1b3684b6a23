// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RWAAccessed, REGISTRAR_ROLE} from "./RWAAccessed.sol";
import {IPayableToken} from "./interfaces/IPayableToken.sol";

/**
 * @title DistributionManager
 * @notice Pays distributions (rent, dividends, storage rebates) to the holders of any token from a Merkle root
 * computed off-chain from balances at `recordBlock`; no bookkeeping is added to the tokens themselves.
 * @dev Leaf encoding (OpenZeppelin standard-merkle-tree, leaf types ["uint256", "address", "uint256"]):
 *   leaf = keccak256(bytes.concat(keccak256(abi.encode(uint256 index, address account, uint256 amount))))
 * Inner nodes hash the sorted pair: node = keccak256(abi.encodePacked(min(a, b), max(a, b))) (OpenZeppelin
 * `MerkleProof.verifyCalldata`, commutative keccak256). `index` is a unique 0-based position per distribution;
 * claimed indexes are kept in a bitmap. Claims are open while `block.timestamp <= expiry`; afterwards the
 * registrar may reclaim the unclaimed remainder once.
 *
 * Who is paid: an entitlement is paid to the wallet that now holds the entitled wallet's units (its successor
 * after a recovery), and only while that wallet may transact (verified and not frozen): one call,
 * `token.payeeOf(account)`; otherwise the claim is refused and may be made later, before expiry. The registrar can withhold
 * an entitlement (and release it again); what is never claimed returns at {reclaimExpired}. Funding books exactly
 * what the manager received: a payment token that delivers less than `totalAmount` (fee on transfer) is refused.
 */
contract DistributionManager is RWAAccessed {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    /// @notice A distribution. Slot 0: paymentToken, expiry, reclaimed; slot 1: root; slot 2: total, remaining;
    /// slot 3: token, recordBlock.
    struct Distribution {
        address paymentToken;
        uint40 expiry;
        bool reclaimed;
        bytes32 merkleRoot;
        uint128 total;
        uint128 remaining;
        address token;
        uint64 recordBlock;
    }

    uint256 private _count;
    mapping(uint256 distributionId => Distribution) private _distributions;
    /// @dev Two bits per leaf index, side by side so a claim reads one word: claimed (2 * index) and withheld
    /// (2 * index + 1).
    mapping(uint256 distributionId => BitMaps.BitMap) private _claims;

    /// @notice A distribution was funded and opened.
    /// @param distributionId The id (starts at 1).
    /// @param token The token whose holders are paid.
    /// @param paymentToken The ERC-20 paid out.
    /// @param total The amount pulled from the registrar.
    /// @param merkleRoot Root of the (index, account, amount) tree.
    /// @param recordBlock The block whose balances the tree reflects.
    /// @param expiry Last unix second at which claims are accepted.
    /// @param createdBy The registrar who funded it.
    event DistributionCreated(
        uint256 indexed distributionId,
        address indexed token,
        address indexed paymentToken,
        uint256 total,
        bytes32 merkleRoot,
        uint256 recordBlock,
        uint256 expiry,
        address createdBy
    );
    /// @notice A holder's entitlement was paid.
    /// @param distributionId The distribution.
    /// @param index The leaf index.
    /// @param account The entitled account (the tree's leaf).
    /// @param amount The amount paid.
    /// @param payee Who received it: `account`, or its successor after a recovery.
    event Claimed(uint256 indexed distributionId, uint256 index, address indexed account, uint256 amount, address payee);
    /// @notice The registrar withheld (or released) entitlements.
    /// @param distributionId The distribution.
    /// @param indexes The leaf indexes.
    /// @param withheld True = withheld, false = released.
    event EntitlementsWithheld(uint256 indexed distributionId, uint256[] indexes, bool withheld);
    /// @notice The unclaimed remainder of an expired distribution went back to the registrar.
    /// @param distributionId The distribution.
    /// @param amount The amount returned.
    /// @param to The registrar who reclaimed it.
    event DistributionReclaimed(uint256 indexed distributionId, uint256 amount, address indexed to);

    /// @notice No distribution has this id.
    /// @param distributionId The id.
    error DistributionNotFound(uint256 distributionId);
    /// @notice The leaf was already claimed.
    /// @param distributionId The distribution.
    /// @param index The leaf index.
    error AlreadyClaimed(uint256 distributionId, uint256 index);
    /// @notice The proof does not lead to the distribution's root.
    error InvalidProof();
    /// @notice The claim window closed.
    /// @param distributionId The distribution.
    /// @param expiry Its expiry.
    error DistributionExpired(uint256 distributionId, uint256 expiry);
    /// @notice The distribution has not expired yet.
    /// @param distributionId The distribution.
    /// @param expiry Its expiry.
    error DistributionNotExpired(uint256 distributionId, uint256 expiry);
    /// @notice The remainder was already reclaimed.
    /// @param distributionId The distribution.
    error AlreadyReclaimed(uint256 distributionId);
    /// @notice The claim exceeds what is left (the tree sums to more than the total).
    /// @param distributionId The distribution.
    /// @param amount The claim.
    /// @param remaining What is left.
    error InsufficientRemaining(uint256 distributionId, uint256 amount, uint256 remaining);
    /// @notice Invalid creation parameters (zero amount or root, expiry not in the future, record block in the future).
    error InvalidDistribution();
    /// @notice The payment token delivered another amount than asked (e.g. it takes a fee on transfer).
    /// @param expected The amount asked.
    /// @param received The amount the manager received.
    error FundingMismatch(uint256 expected, uint256 received);
    /// @notice The entitlement is withheld by the registrar.
    /// @param distributionId The distribution.
    /// @param index The leaf index.
    error EntitlementWithheld(uint256 distributionId, uint256 index);
    /// @notice The payee may not be paid now (unverified or frozen).
    /// @param distributionId The distribution.
    /// @param account The entitled account.
    /// @param payee The wallet that would be paid.
    error PayeeNotAllowed(uint256 distributionId, address account, address payee);

    /// @param authority_ The {RWAAccess} contract.
    constructor(address authority_) RWAAccessed(authority_) {}

    /// @notice Opens a distribution, pulling `totalAmount` of `paymentToken` from the caller (approve first).
    /// REGISTRAR_ROLE.
    /// @param token The token whose holders are paid.
    /// @param paymentToken The ERC-20 paid out.
    /// @param totalAmount Amount to pull (> 0, < 2**128); must equal the sum of the tree's amounts.
    /// @param merkleRoot Root of the tree (see the contract NatSpec for the leaf encoding).
    /// @param recordBlock The block whose balances the tree reflects (<= current block).
    /// @param expiry Last unix second at which claims are accepted (> now, < 2**40).
    /// @return distributionId The new id.
    function createDistribution(
        address token,
        address paymentToken,
        uint256 totalAmount,
        bytes32 merkleRoot,
        uint256 recordBlock,
        uint256 expiry
    ) external onlyRole(REGISTRAR_ROLE) returns (uint256 distributionId) {
        if (token == address(0) || paymentToken == address(0)) revert ZeroAddress();
        if (totalAmount == 0 || merkleRoot == bytes32(0) || expiry <= block.timestamp || recordBlock > block.number) {
            revert InvalidDistribution();
        }
        uint128 total = SafeCast.toUint128(totalAmount);
        distributionId = ++_count;
        _distributions[distributionId] = Distribution(
            paymentToken,
            SafeCast.toUint40(expiry),
            false,
            merkleRoot,
            total,
            total,
            token,
            SafeCast.toUint64(recordBlock)
        );
        uint256 balanceBefore = IERC20(paymentToken).balanceOf(address(this));
        IERC20(paymentToken).safeTransferFrom(msg.sender, address(this), totalAmount);
        uint256 received = IERC20(paymentToken).balanceOf(address(this)) - balanceBefore;
        if (received != totalAmount) revert FundingMismatch(totalAmount, received);
        emit DistributionCreated(
            distributionId, token, paymentToken, totalAmount, merkleRoot, recordBlock, expiry, msg.sender
        );
    }

    /// @notice Pays `account`'s entitlement to the wallet that now holds its units (anyone may submit; funds go to
    /// `account`, or to its successor after a recovery). Refused while that wallet is unverified or frozen, or while
    /// the registrar withholds the entitlement.
    /// @param distributionId The distribution.
    /// @param index The leaf index.
    /// @param account The entitled account.
    /// @param amount The entitled amount.
    /// @param proof Sibling hashes from leaf to root.
    function claim(
        uint256 distributionId,
        uint256 index,
        address account,
        uint256 amount,
        bytes32[] calldata proof
    ) external {
        Distribution storage d = _distributions[distributionId];
        address paymentToken = d.paymentToken;
        uint256 expiry = d.expiry;
        if (paymentToken == address(0)) revert DistributionNotFound(distributionId);
        if (block.timestamp > expiry) revert DistributionExpired(distributionId, expiry);
        if (index >> 254 != 0) revert InvalidProof(); // no tree has that many leaves (and 2 * index must not wrap)
        BitMaps.BitMap storage claims = _claims[distributionId];
        if (claims.get(2 * index)) revert AlreadyClaimed(distributionId, index);
        if (claims.get(2 * index + 1)) revert EntitlementWithheld(distributionId, index);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
        if (!MerkleProof.verifyCalldata(proof, d.merkleRoot, leaf)) revert InvalidProof();
        uint256 remaining = d.remaining;
        if (amount > remaining) revert InsufficientRemaining(distributionId, amount, remaining);
        (address payee, bool allowed) = IPayableToken(d.token).payeeOf(account);
        if (!allowed) revert PayeeNotAllowed(distributionId, account, payee);
        claims.set(2 * index);
        d.remaining = uint128(remaining - amount);
        IERC20(paymentToken).safeTransfer(payee, amount);
        emit Claimed(distributionId, index, account, amount, payee);
    }

    /// @notice Withholds entitlements from payment (or releases them): e.g. a court order or a sanctions hit.
    /// Withheld amounts stay in the manager and return at {reclaimExpired} if never released. REGISTRAR_ROLE.
    /// @param distributionId The distribution.
    /// @param indexes The leaf indexes.
    /// @param withheld True to withhold, false to release.
    function setWithheld(uint256 distributionId, uint256[] calldata indexes, bool withheld)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (_distributions[distributionId].paymentToken == address(0)) revert DistributionNotFound(distributionId);
        BitMaps.BitMap storage claims = _claims[distributionId];
        for (uint256 i; i < indexes.length; ++i) {
            if (indexes[i] >> 254 != 0) revert InvalidProof();
            claims.setTo(2 * indexes[i] + 1, withheld);
        }
        emit EntitlementsWithheld(distributionId, indexes, withheld);
    }

    /// @notice Whether an entitlement is withheld.
    /// @param distributionId The distribution.
    /// @param index The leaf index.
    /// @return True when withheld.
    function isWithheld(uint256 distributionId, uint256 index) external view returns (bool) {
        if (index >> 254 != 0) return false;
        return _claims[distributionId].get(2 * index + 1);
    }

    /// @notice Returns the unclaimed remainder of an expired distribution to the caller, once. REGISTRAR_ROLE.
    /// @param distributionId The distribution.
    function reclaimExpired(uint256 distributionId) external onlyRole(REGISTRAR_ROLE) {
        Distribution storage d = _distributions[distributionId];
        address paymentToken = d.paymentToken;
        if (paymentToken == address(0)) revert DistributionNotFound(distributionId);
        if (block.timestamp <= d.expiry) revert DistributionNotExpired(distributionId, d.expiry);
        if (d.reclaimed) revert AlreadyReclaimed(distributionId);
        uint256 amount = d.remaining;
        d.reclaimed = true;
        d.remaining = 0;
        IERC20(paymentToken).safeTransfer(msg.sender, amount);
        emit DistributionReclaimed(distributionId, amount, msg.sender);
    }

    /// @notice A distribution.
    /// @param distributionId The distribution.
    /// @return The record (paymentToken 0 = unknown id).
    function distribution(uint256 distributionId) external view returns (Distribution memory) {
        return _distributions[distributionId];
    }

    /// @notice Whether a leaf index was claimed.
    /// @param distributionId The distribution.
    /// @param index The leaf index.
    /// @return True when claimed.
    function isClaimed(uint256 distributionId, uint256 index) external view returns (bool) {
        if (index >> 254 != 0) return false;
        return _claims[distributionId].get(2 * index);
    }

    /// @notice Number of distributions (ids 1..distributionCount).
    /// @return The count.
    function distributionCount() external view returns (uint256) {
        return _count;
    }
}
