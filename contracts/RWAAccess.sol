// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {
    REGISTRAR_ROLE as REGISTRAR,
    COMPLIANCE_ROLE as COMPLIANCE,
    CUSTODIAN_ROLE as CUSTODIAN,
    GUARDIAN_ROLE as GUARDIAN
} from "./RWAAccessed.sol";

/**
 * @title RWAAccess
 * @notice The single role authority of the rwaledger stack. Every other contract (registries, the factory,
 * every token clone, the distribution manager) holds this contract's address and asks it `hasRole`, so no
 * contract (and in particular no clone) carries role storage of its own.
 * @dev Plain OpenZeppelin {AccessControl}. `DEFAULT_ADMIN_ROLE` administers every role. Roles:
 * - `REGISTRAR_ROLE`  = keccak256("REGISTRAR_ROLE"): asset registration, mint, burn, forced transfer, recovery, liens,
 *   distributions.
 * - `COMPLIANCE_ROLE` = keccak256("COMPLIANCE_ROLE"): identities, transfer rules, freezes, pause.
 * - `CUSTODIAN_ROLE`  = keccak256("CUSTODIAN_ROLE"): custody lots, redemption fulfilment and rejection.
 * - `GUARDIAN_ROLE`   = keccak256("GUARDIAN_ROLE"): pause a token, nothing else. The one emergency act a single key
 *   may do while the other roles are held by multisig accounts: it stops trading and moves nothing; unpausing
 *   needs the compliance role (and so that Safe's threshold).
 */
contract RWAAccess is AccessControl {
    /// @notice Role of the registrar (asset registration, mint, burn, forced transfer, recovery, liens, distributions).
    bytes32 public constant REGISTRAR_ROLE = REGISTRAR;
    /// @notice Role of the compliance officer (identities, transfer rules, freezes, pause).
    bytes32 public constant COMPLIANCE_ROLE = COMPLIANCE;
    /// @notice Role of the custodian (custody lots, redemption fulfilment and rejection).
    bytes32 public constant CUSTODIAN_ROLE = CUSTODIAN;
    /// @notice Role of the pause guardian (pause a token; nothing else).
    bytes32 public constant GUARDIAN_ROLE = GUARDIAN;

    /// @notice The admin address given is the zero address.
    error ZeroAdmin();

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` (and nothing else; grant the operational roles explicitly).
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }
}
