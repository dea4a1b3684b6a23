// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice Kind of a registered real-world asset.
enum AssetKind {
    Property,
    Commodity
}

/// @notice Life-cycle status of a registered asset.
enum AssetStatus {
    Registered,
    Active,
    Suspended,
    Retired
}

/// @notice What the factory supplies to register an asset.
/// @param jurisdiction ISO 3166-1 alpha-2 code as two ASCII bytes (e.g. "PK" = 0x504b).
/// @param legalReference Land-registry parcel number, warehouse receipt number...; unique per jurisdiction.
/// @param metadataURI Off-chain metadata (e.g. ipfs://...).
/// @param valuationAmount Valuation in minor units of `valuationCurrency` (0 = not valued yet).
/// @param valuationCurrency ISO 4217 code as three ASCII bytes (e.g. "PKR").
/// @param valuationDate Unix time of the valuation.
struct AssetParams {
    bytes2 jurisdiction;
    string legalReference;
    string metadataURI;
    uint256 valuationAmount;
    bytes3 valuationCurrency;
    uint40 valuationDate;
}

/// @title IAssetRegistry
/// @notice The part of the asset registry the factory calls.
interface IAssetRegistry {
    /// @notice Id the next registered asset will get.
    /// @return The next asset id (ids start at 1).
    function nextAssetId() external view returns (uint256);

    /// @notice Registers an asset linked to its token. Callable only by the factory.
    /// @param kind Property or Commodity.
    /// @param params The asset record.
    /// @param token The asset's token (already created by the factory).
    /// @return assetId The new asset id.
    function registerAsset(AssetKind kind, AssetParams calldata params, address token)
        external
        returns (uint256 assetId);
}
