// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestStablecoin
/// @notice TEST ONLY: "Test USD" (TUSD), 6 decimals, anyone may mint. Pays distributions in tests.
contract TestStablecoin is ERC20 {
    constructor() ERC20("Test USD", "TUSD") {}

    /// @notice Token decimals.
    /// @return 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (open to anyone; test only).
    /// @param to The recipient.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
