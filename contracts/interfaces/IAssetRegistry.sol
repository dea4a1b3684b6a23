// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice Kind of a registered real-world asset.
enum AssetKind {
    Property,
    Commodity
}

/// @notice Life-cycle status of a registered asset. It only moves forward (Registered -> Active -> Suspended ->
/// Retired), except Suspended -> Active; Retired is final. Tokens mint only while their asset is Active.
enum AssetStatus {
    Registered,
    Active,
    Suspended,
    Retired
}

/// @notice What the factory supplies to register an asset.
/// @param jurisdiction ISO 3166-1 alpha-2 code as two upper-case ASCII letters (e.g. "PK" = 0x504b).
/// @param legalReference Land-registry parcel number, warehouse receipt number... in canonical form (see
/// {CanonicalText}); unique per jurisdiction.
/// @param displayReference The reference as written in the land record (any UTF-8; empty when it is the
/// canonical form itself).
/// @param metadataURI Off-chain metadata (e.g. ipfs://...).
/// @param valuationAmount Valuation in minor units of `valuationCurrency` (0 = not valued yet).
/// @param valuationCurrency ISO 4217 code as three ASCII bytes (e.g. "PKR").
/// @param valuationDate Unix time of the valuation.
struct AssetParams {
    bytes2 jurisdiction;
    string legalReference;
    string displayReference;
    string metadataURI;
    uint256 valuationAmount;
    bytes3 valuationCurrency;
    uint40 valuationDate;
}

/// @title IAssetRegistry
/// @notice The part of the asset registry the factory and the tokens call.
interface IAssetRegistry {
    /// @notice Id the next registered asset will get.
    /// @return The next asset id (ids start at 1).
    function nextAssetId() external view returns (uint256);

    /// @notice Registers an asset linked to its token. Callable only by the factory.
    /// @param kind Property or Commodity.
    /// @param params The asset record.
    /// @param token The asset's token (already created by the factory).
    /// @param symbol The token's symbol (canonical, unique across the registry).
    /// @return assetId The new asset id.
    function registerAsset(AssetKind kind, AssetParams calldata params, address token, string calldata symbol)
        external
        returns (uint256 assetId);

    /// @notice The status of an asset.
    /// @param assetId The asset.
    /// @return The status.
    function statusOf(uint256 assetId) external view returns (AssetStatus);
}
