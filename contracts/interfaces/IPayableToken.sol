// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IPayableToken
/// @notice What the {DistributionManager} asks a token about a payee before paying a distribution.
interface IPayableToken {
    /// @notice Who is paid what `account` is entitled to, and whether it may be paid now.
    /// @param account The entitled wallet.
    /// @return payee The wallet that now holds `account`'s units (`account` itself unless it was recovered from).
    /// @return allowed Whether `payee` may transact: a verified wallet that is not frozen.
    function payeeOf(address account) external view returns (address payee, bool allowed);
}
