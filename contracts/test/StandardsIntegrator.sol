// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IToken} from "@tokenysolutions/t-rex/contracts/token/IToken.sol";
import {IIdentityRegistry} from "@tokenysolutions/t-rex/contracts/registry/interface/IIdentityRegistry.sol";
import {IERC7943Fungible} from "../interfaces/standards/IERC7943.sol";
import {IERC1404} from "../interfaces/standards/IERC1404.sol";

/**
 * @title StandardsIntegrator
 * @notice Test contract: a venue / custodian that knows nothing of rwaledger. It imports only the standards'
 * interface files (ERC-165, ERC-20, T-REX `IToken` as published, ERC-7943 and ERC-1404) and drives a token through
 * them: checks, transfers, freezes, forced transfers, recovery. tests/contracts/test_contracts_standards.py runs it
 * on both chains.
 */
contract StandardsIntegrator {
    /// @dev ERC-7943's fungible interface id as its Specification states it.
    bytes4 public constant ERC7943_FUNGIBLE = 0x3edbb4c4;

    /// @notice The interface ids this integrator computes from the standards' files.
    function ids() external pure returns (bytes4 erc165, bytes4 erc7943, bytes4 erc20, bytes4 erc1404, bytes4 erc3643) {
        return (
            type(IERC165).interfaceId, type(IERC7943Fungible).interfaceId,
            type(IERC20).interfaceId, type(IERC1404).interfaceId, type(IToken).interfaceId
        );
    }

    /// @notice What the token claims through ERC-165, for each id of {ids} and one it must not claim.
    function claims(address token) external view returns (bool[6] memory claimed) {
        IERC165 t = IERC165(token);
        claimed = [
            t.supportsInterface(type(IERC165).interfaceId),
            t.supportsInterface(ERC7943_FUNGIBLE),
            t.supportsInterface(type(IERC20).interfaceId),
            t.supportsInterface(type(IERC1404).interfaceId),
            t.supportsInterface(type(IToken).interfaceId),
            t.supportsInterface(0xffffffff)
        ];
    }

    /// @notice A venue's pre-trade check, through each standard.
    /// @return allowed ERC-7943 `canTransfer`.
    /// @return complianceAllowed ERC-3643 `compliance().canTransfer`.
    /// @return code ERC-1404 `detectTransferRestriction`.
    /// @return message ERC-1404 `messageForTransferRestriction(code)`.
    function precheck(address token, address from, address to, uint256 amount)
        external
        view
        returns (bool allowed, bool complianceAllowed, uint8 code, string memory message)
    {
        allowed = IERC7943Fungible(token).canTransfer(from, to, amount);
        complianceAllowed = IToken(token).compliance().canTransfer(from, to, amount);
        code = IERC1404(token).detectTransferRestriction(from, to, amount);
        message = IERC1404(token).messageForTransferRestriction(code);
    }

    /// @notice A custodian's onboarding check of one wallet (ERC-7943 and the ERC-3643 identity registry).
    function eligibility(address token, address account)
        external
        view
        returns (bool canSend, bool canReceive, bool verified, bool contained)
    {
        IIdentityRegistry registry = IToken(token).identityRegistry();
        canSend = IERC7943Fungible(token).canSend(account);
        canReceive = IERC7943Fungible(token).canReceive(account);
        verified = registry.isVerified(account);
        contained = registry.contains(account);
    }

    /// @notice A wallet's country (identity registry) and freezes (ERC-3643 wallet freeze, ERC-7943 frozen amount).
    function standing(address token, address account)
        external
        view
        returns (uint16 country, bool frozen, uint256 frozenTokens)
    {
        country = IToken(token).identityRegistry().investorCountry(account);
        frozen = IToken(token).isFrozen(account);
        frozenTokens = IERC7943Fungible(token).getFrozenTokens(account);
    }

    /// @notice Settles a sale out of the integrator's own holding: checked with ERC-7943 first, then ERC-20.
    function settle(address token, address to, uint256 amount) external returns (bool) {
        require(IERC7943Fungible(token).canTransfer(address(this), to, amount), "integrator: refused by canTransfer");
        return IERC20(token).transfer(to, amount);
    }

    /// @notice Settles many sales in one ERC-3643 `batchTransfer`.
    function settleMany(address token, address[] calldata to, uint256[] calldata amounts) external {
        IToken(token).batchTransfer(to, amounts);
    }

    // ---- agent actions (the integrator holds the token's agent roles in these tests)

    function issue(address token, address to, uint256 amount) external {
        IToken(token).mint(to, amount);
    }

    function redeem(address token, address from, uint256 amount) external {
        IToken(token).burn(from, amount);
    }

    function freezeAmount(address token, address account, uint256 amount) external returns (bool) {
        return IERC7943Fungible(token).setFrozenTokens(account, amount);
    }

    function freezePart(address token, address account, uint256 amount) external {
        IToken(token).freezePartialTokens(account, amount);
    }

    function freezeWallet(address token, address account, bool freeze) external {
        IToken(token).setAddressFrozen(account, freeze);
    }

    function seize(address token, address from, address to, uint256 amount) external returns (bool) {
        return IERC7943Fungible(token).forcedTransfer(from, to, amount);
    }

    function recover(address token, address lostWallet, address newWallet, address investorId) external returns (bool) {
        return IToken(token).recoveryAddress(lostWallet, newWallet, investorId);
    }

    function halt(address token) external {
        IToken(token).pause();
    }

    function resume(address token) external {
        IToken(token).unpause();
    }

    /// @notice ERC-3643 token information.
    function information(address token)
        external
        view
        returns (string memory name, string memory symbol, uint8 decimals, string memory version, address onchainID, bool paused)
    {
        IToken t = IToken(token);
        return (t.name(), t.symbol(), t.decimals(), t.version(), t.onchainID(), t.paused());
    }
}
