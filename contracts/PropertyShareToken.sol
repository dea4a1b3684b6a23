// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {CompliantToken} from "./CompliantToken.sol";

/**
 * @title PropertyShareToken
 * @notice Fractional shares of one registered property: a permissioned ERC-20 with a fixed number of shares (the
 * cap), 0 decimals by default. Deployed once as the shared implementation; every property gets an EIP-1167 clone
 * with immutable arguments from the {TokenFactory}.
 * @dev Clone immutable arguments (90 bytes, appended to the clone's code, read with EXTCODECOPY):
 *   [0, 32)  name    (OpenZeppelin ShortString: UTF-8 bytes left-aligned, length in the last byte; <= 31 bytes)
 *   [32, 64) symbol  (ShortString)
 *   [64, 72) assetId (uint64, big-endian)
 *   [72, 73) decimals (uint8)
 *   [73, 75) homeCountry (uint16, ISO 3166-1 numeric)
 *   [75, 90) cap     (uint120, big-endian) - the fixed number of shares (in base units)
 */
contract PropertyShareToken is CompliantToken {
    /// @param identityRegistry_ The shared {IdentityRegistry}.
    /// @param authority_ The shared {RWAAccess}.
    /// @param assetRegistry_ The shared {AssetRegistry}.
    /// @param tokenModule_ The shared {CompliantTokenModule}.
    constructor(address identityRegistry_, address authority_, address assetRegistry_, address tokenModule_)
        CompliantToken(identityRegistry_, authority_, assetRegistry_, tokenModule_)
    {}

    /// @notice The fixed number of shares (maximum total supply, in base units).
    /// @return The cap.
    function cap() public view returns (uint256) {
        return uint256(_arg(75)) >> 136;
    }

    /// @dev Mints may never bring the supply above the cap.
    function _supplyCheck(uint256 value) internal view override returns (uint256) {
        return value > cap() - totalSupply() ? uint256(Reason.CapExceeded) : 0;
    }
}
