// SPDX-License-Identifier: Apache-2.0
import {TokenLiens} from "./TokenLiens.sol";
pragma solidity 0.8.28;


/**
 * @title TokenIssuance
 * @notice Extension: issuance by allocation reference. Each token stores `ref -> keccak256(abi.encode(to, amount))`:
 * a reference mints once; a batch skips an allocation already minted with the same recipient and amount
 * (`MintSkipped`) and refuses one reused for anything else (`ReferenceConflict`), so a batch can be sent again after
 * a crash, in any order or split differently. ERC-3643's `mint(to, amount)` mints without a reference.
 */
abstract contract TokenIssuance is TokenLiens {
    mapping(bytes32 ref => bytes32 allocation) internal _allocations;

    /// @dev Mints one allocation; reverts {ReferenceAlreadyUsed} when the reference was used.
    function _mintOnce(address to, uint256 amount, bytes32 ref) internal {
        if (ref == bytes32(0)) revert InvalidReference();
        if (amount == 0) revert ZeroAmount();
        if (_allocations[ref] != bytes32(0)) revert ReferenceAlreadyUsed(ref);
        _allocations[ref] = _allocationDigest(to, amount);
        _move(address(0), to, amount, _MINT);
        emit Minted(to, amount, ref);
    }

    /// @dev Mints one allocation of a batch; false when it was already minted (same recipient and amount).
    function _mintAllocation(address to, uint256 amount, bytes32 ref, uint256 kind) internal returns (bool) {
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

    /// @dev Mints without an allocation reference (ERC-3643 `mint`).
    function _mintUnreferenced(address to, uint256 amount, uint256 kind) internal {
        if (amount == 0) revert ZeroAmount();
        _move(address(0), to, amount, kind);
        emit Minted(to, amount, bytes32(0));
    }

    function _allocationDigest(address to, uint256 amount) internal pure returns (bytes32) {
        return keccak256(abi.encode(to, amount));
    }
}
