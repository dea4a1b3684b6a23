// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.20;

/// @title ERC-1404: Simple Restricted Token Standard
/// @notice The two functions ERC-1404 (ethereum/EIPs issue #1404, "Simple Restricted Token Standard") adds to an
/// ERC-20, with the signatures the standard defines. The standard's text declares them on an abstract `ERC1404 is
/// ERC20` contract as `public view`; as an interface they are `external view`, which gives the same selectors:
/// `detectTransferRestriction(address,address,uint256)` 0xd4ce1415 and `messageForTransferRestriction(uint8)` 0x7f4ab1dd
/// (checked by tests/contracts/test_contracts_standards.py).
interface IERC1404 {
    /// @notice Detects if a transfer will be reverted and if so returns an appropriate reference code.
    /// @param from Sending address.
    /// @param to Receiving address.
    /// @param value Amount of tokens being transferred.
    /// @return Code by which to reference message for rejection reasoning (0 = no restriction).
    function detectTransferRestriction(address from, address to, uint256 value) external view returns (uint8);

    /// @notice Returns a human-readable message for a given restriction code.
    /// @param restrictionCode Identifier for looking up a message.
    /// @return Text showing the restriction's reasoning.
    function messageForTransferRestriction(uint8 restrictionCode) external view returns (string memory);
}
