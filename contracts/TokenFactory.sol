// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {RWAAccessed, REGISTRAR_ROLE} from "./RWAAccessed.sol";
import {IAssetRegistry, AssetKind, AssetParams} from "./interfaces/IAssetRegistry.sol";

/**
 * @title TokenFactory
 * @notice The only way an asset enters the {AssetRegistry}: in ONE transaction it creates the asset's token as an
 * EIP-1167 clone (OpenZeppelin `Clones.cloneWithImmutableArgs`) of the shared implementation, with the token's
 * static configuration appended to the clone's code, and registers the asset record linked to that token.
 * @dev Name, symbol and unit must be at most 31 bytes (OpenZeppelin `ShortStrings.StringTooLong` otherwise); the
 * symbol must be canonical and unique (checked by the registry).
 *
 * Clone immutable arguments (appended to the clone's code, read by the token with EXTCODECOPY):
 *   [0, 32) name (ShortString) | [32, 64) symbol (ShortString) | [64, 72) assetId uint64 | [72] decimals uint8 |
 *   [73, 75) homeCountry uint16 | then [75, 90) cap uint120 (property) or [75, 107) unit (ShortString, commodity).
 */
contract TokenFactory is RWAAccessed {
    /// @notice Token configuration of a property share token.
    /// @param name ERC-20 name (<= 31 bytes).
    /// @param symbol ERC-20 symbol (<= 31 bytes).
    /// @param decimals ERC-20 decimals (0..18; 0 for whole shares).
    /// @param cap The fixed number of shares in base units (> 0, < 2**120).
    /// @param homeCountry ISO 3166-1 numeric code of the asset's jurisdiction: investors from any other country count
    /// as foreign for the foreign-ownership caps (0 = no home country: nobody is foreign).
    struct PropertyTokenParams {
        string name;
        string symbol;
        uint8 decimals;
        uint256 cap;
        uint16 homeCountry;
    }

    /// @notice Token configuration of a commodity token.
    /// @param name ERC-20 name (<= 31 bytes).
    /// @param symbol ERC-20 symbol (<= 31 bytes).
    /// @param decimals ERC-20 decimals (0..18).
    /// @param unit What one whole token stands for, e.g. "gram" (<= 31 bytes).
    /// @param homeCountry ISO 3166-1 numeric code of the asset's jurisdiction (0 = none), as for property tokens.
    struct CommodityTokenParams {
        string name;
        string symbol;
        uint8 decimals;
        string unit;
        uint16 homeCountry;
    }

    /// @notice The asset registry.
    IAssetRegistry public immutable registry;
    /// @notice The shared {PropertyShareToken} implementation.
    address public immutable propertyImplementation;
    /// @notice The shared {CommodityToken} implementation.
    address public immutable commodityImplementation;

    /// @notice A property asset and its share token were created.
    /// @param assetId The asset id.
    /// @param token The token (clone).
    /// @param name ERC-20 name.
    /// @param symbol ERC-20 symbol.
    /// @param decimals ERC-20 decimals.
    /// @param cap The fixed number of shares.
    event PropertyTokenCreated(
        uint256 indexed assetId, address indexed token, string name, string symbol, uint8 decimals, uint256 cap
    );
    /// @notice A commodity asset and its token were created.
    /// @param assetId The asset id.
    /// @param token The token (clone).
    /// @param name ERC-20 name.
    /// @param symbol ERC-20 symbol.
    /// @param decimals ERC-20 decimals.
    /// @param unit The unit, e.g. "gram".
    event CommodityTokenCreated(
        uint256 indexed assetId, address indexed token, string name, string symbol, uint8 decimals, string unit
    );

    /// @notice Decimals above 18.
    /// @param decimals The rejected value.
    error InvalidDecimals(uint8 decimals);
    /// @notice The share cap is zero.
    error ZeroCap();
    /// @notice The home country is not an ISO 3166-1 numeric code (0 or 1..999).
    /// @param homeCountry The rejected code.
    error InvalidHomeCountry(uint16 homeCountry);
    /// @notice The registry assigned an unexpected asset id (cannot happen while this factory is the registry's).
    /// @param expected The id baked into the clone.
    /// @param assigned The id the registry assigned.
    error AssetIdMismatch(uint256 expected, uint256 assigned);

    /// @param authority_ The {RWAAccess} contract.
    /// @param registry_ The {AssetRegistry}.
    /// @param propertyImplementation_ The {PropertyShareToken} implementation.
    /// @param commodityImplementation_ The {CommodityToken} implementation.
    constructor(
        address authority_,
        address registry_,
        address propertyImplementation_,
        address commodityImplementation_
    ) RWAAccessed(authority_) {
        if (registry_ == address(0) || propertyImplementation_ == address(0) || commodityImplementation_ == address(0))
        {
            revert ZeroAddress();
        }
        registry = IAssetRegistry(registry_);
        propertyImplementation = propertyImplementation_;
        commodityImplementation = commodityImplementation_;
    }

    /// @notice Creates a property share token and registers its asset (kind Property). REGISTRAR_ROLE.
    /// @param asset The asset record.
    /// @param token The token configuration.
    /// @return assetId The new asset id.
    /// @return tokenAddress The new token.
    function createPropertyToken(AssetParams calldata asset, PropertyTokenParams calldata token)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 assetId, address tokenAddress)
    {
        if (token.decimals > 18) revert InvalidDecimals(token.decimals);
        if (token.cap == 0) revert ZeroCap();
        if (token.homeCountry > 999) revert InvalidHomeCountry(token.homeCountry);
        assetId = registry.nextAssetId();
        bytes memory args = abi.encodePacked(
            ShortStrings.toShortString(token.name),
            ShortStrings.toShortString(token.symbol),
            uint64(assetId),
            token.decimals,
            token.homeCountry,
            SafeCast.toUint120(token.cap)
        );
        tokenAddress = _create(propertyImplementation, args, AssetKind.Property, asset, assetId, token.symbol);
        emit PropertyTokenCreated(assetId, tokenAddress, token.name, token.symbol, token.decimals, token.cap);
    }

    /// @notice Creates a commodity token and registers its asset (kind Commodity). REGISTRAR_ROLE.
    /// @param asset The asset record.
    /// @param token The token configuration.
    /// @return assetId The new asset id.
    /// @return tokenAddress The new token.
    function createCommodityToken(AssetParams calldata asset, CommodityTokenParams calldata token)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 assetId, address tokenAddress)
    {
        if (token.decimals > 18) revert InvalidDecimals(token.decimals);
        if (token.homeCountry > 999) revert InvalidHomeCountry(token.homeCountry);
        assetId = registry.nextAssetId();
        bytes memory args = abi.encodePacked(
            ShortStrings.toShortString(token.name),
            ShortStrings.toShortString(token.symbol),
            uint64(assetId),
            token.decimals,
            token.homeCountry,
            ShortStrings.toShortString(token.unit)
        );
        tokenAddress = _create(commodityImplementation, args, AssetKind.Commodity, asset, assetId, token.symbol);
        emit CommodityTokenCreated(assetId, tokenAddress, token.name, token.symbol, token.decimals, token.unit);
    }

    function _create(
        address implementation,
        bytes memory args,
        AssetKind kind,
        AssetParams calldata asset,
        uint256 id,
        string calldata symbol
    ) private returns (address tokenAddress) {
        tokenAddress = Clones.cloneWithImmutableArgs(implementation, args);
        uint256 assigned = registry.registerAsset(kind, asset, tokenAddress, symbol);
        if (assigned != id) revert AssetIdMismatch(id, assigned);
    }
}
