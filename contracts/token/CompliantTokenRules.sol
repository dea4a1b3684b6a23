// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TokenRecovery} from "./extensions/TokenRecovery.sol";


/**
 * @title CompliantTokenRules
 * @notice The composition of rwaledger's token rules: the base ({CompliantTokenCore}) and one extension per rule,
 * stacked in this order, each on the one before (so a hook costs one internal call per rule that overrides it, with
 * no pass-through override): TokenFreezable, TokenLockup, TokenCountryRules ({_checkParties}: reason codes 4..7),
 * TokenHolderLimits ({_checkHoldings}: 10, 11, 15..17), TokenLiens, TokenIssuance, TokenRecovery. Each override
 * calls `super` first, so rules run, and report, in stack order. Both halves of a
 * token, the implementation ({CompliantToken}) and the {CompliantTokenModule}, inherit exactly this contract, so they
 * share its storage layout (pinned by tests/contracts/test_contracts_layout.py).
 *
 * Adding a rule is one extension file overriding one hook, inserted in the stack (and its setter in the module):
 * see contracts/README.md, "Adding a rule".
 */
abstract contract CompliantTokenRules is TokenRecovery {}
