// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

// The role ids, defined once: {RWAAccess} publishes these values, the contracts check them, and the Python library
// reads them from the compiler's output (rwaledger.constants).

/// @dev OpenZeppelin AccessControl's `DEFAULT_ADMIN_ROLE`: administers every role (and the token's `setOnchainID`).
bytes32 constant ADMIN_ROLE = 0x00;
/// @dev keccak256("REGISTRAR_ROLE")
bytes32 constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
/// @dev keccak256("COMPLIANCE_ROLE")
bytes32 constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
/// @dev keccak256("CUSTODIAN_ROLE")
bytes32 constant CUSTODIAN_ROLE = keccak256("CUSTODIAN_ROLE");
/// @dev keccak256("GUARDIAN_ROLE"): may pause a token and nothing else (unpausing is the compliance officer's).
bytes32 constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

/**
 * @title RWAAccessed
 * @notice Base for every contract governed by the shared {RWAAccess} authority.
 * @dev The authority address is an `immutable`: in a token implementation it lives in the implementation's code,
 * so every EIP-1167 clone shares it for free (no storage slot, no SLOAD). Unauthorized callers are refused with
 * OpenZeppelin's `IAccessControl.AccessControlUnauthorizedAccount(account, neededRole)`.
 */
abstract contract RWAAccessed {
    /// @notice The shared role authority ({RWAAccess}).
    IAccessControl public immutable authority;

    /// @notice A required address argument is the zero address.
    error ZeroAddress();

    /// @param authority_ The {RWAAccess} contract.
    constructor(address authority_) {
        if (authority_ == address(0)) revert ZeroAddress();
        authority = IAccessControl(authority_);
    }

    /// @dev Reverts with `AccessControlUnauthorizedAccount(msg.sender, role)` unless the caller holds `role`.
    modifier onlyRole(bytes32 role) {
        _checkRole(role);
        _;
    }

    /// @dev Reverts unless `msg.sender` holds `role` in the authority.
    function _checkRole(bytes32 role) internal view {
        if (!authority.hasRole(role, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
        }
    }

    /// @dev Whether `account` holds `role` in the authority.
    function _hasRole(bytes32 role, address account) internal view returns (bool) {
        return authority.hasRole(role, account);
    }
}
