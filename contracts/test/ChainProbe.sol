// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ChainProbe
/// @notice A tiny contract the toolchain's own tests deploy: it exercises storage,
///         events, custom errors, reason strings, panics and block time.
contract ChainProbe {
    /// @notice The stored value.
    uint256 public value;
    /// @notice Who deployed the probe.
    address public immutable owner;

    /// @notice Emitted whenever the value changes.
    /// @param by Who changed it.
    /// @param oldValue The value before.
    /// @param newValue The value after.
    event ValueChanged(address indexed by, uint256 oldValue, uint256 newValue);

    /// @notice The caller is not the owner.
    /// @param caller The account that called.
    /// @param owner The owner.
    error NotOwner(address caller, address owner);

    /// @notice The value would exceed the limit.
    /// @param requested The value asked for.
    /// @param limit The largest value allowed.
    error TooLarge(uint256 requested, uint256 limit);

    /// @notice The time-locked action was tried before its time.
    /// @param unlocksAt When it becomes possible.
    error StillLocked(uint256 unlocksAt);

    /// @notice The largest value `set` accepts.
    uint256 public constant LIMIT = 1_000_000;
    /// @notice When `unlock` becomes callable.
    uint256 public immutable unlockTime;

    /// @param lockSeconds How long after deployment `timeLocked` stays locked.
    constructor(uint256 lockSeconds) {
        owner = msg.sender;
        unlockTime = block.timestamp + lockSeconds;
    }

    /// @notice Set the value (owner only, at most LIMIT).
    /// @param newValue The new value.
    function set(uint256 newValue) external {
        if (msg.sender != owner) revert NotOwner(msg.sender, owner);
        if (newValue > LIMIT) revert TooLarge(newValue, LIMIT);
        emit ValueChanged(msg.sender, value, newValue);
        value = newValue;
    }

    /// @notice Reverts with a reason string (tests the Error(string) path).
    function failWithReason() external pure {
        revert("probe: reason string");
    }

    /// @notice Divides by zero when `d` is 0 (tests the Panic path).
    /// @param d The divisor.
    /// @return The quotient 100 / d.
    function divide(uint256 d) external pure returns (uint256) {
        return 100 / d;
    }

    /// @notice Increments the value, but only once `unlockTime` has passed.
    function timeLocked() external {
        if (block.timestamp < unlockTime) revert StillLocked(unlockTime);
        emit ValueChanged(msg.sender, value, value + 1);
        value += 1;
    }
}
