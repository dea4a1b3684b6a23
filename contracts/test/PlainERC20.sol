// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title PlainERC20
/// @notice TEST ONLY: a plain OpenZeppelin ERC-20 with an owner mint; the gas-benchmark baseline.
contract PlainERC20 is ERC20, Ownable {
    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) Ownable(msg.sender) {}

    /// @notice Mints `amount` to `to`. Owner only.
    /// @param to The recipient.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
