// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Bytes} from "@openzeppelin/contracts/utils/Bytes.sol";
import {SSTORE2} from "solady/utils/SSTORE2.sol";
import {RWAAccessed, REGISTRAR_ROLE} from "./RWAAccessed.sol";
import {IAssetRegistry, AssetKind, AssetStatus, AssetParams} from "./interfaces/IAssetRegistry.sol";
import {CanonicalText} from "./utils/CanonicalText.sol";

/**
 * @title AssetRegistry
 * @notice One record per real-world asset (a property or a commodity stock), its append-only document history, and
 * the link to the asset's token. Records are created only by the {TokenFactory} (set once by the admin), so a
 * token can only enter the registry through the factory, in the same transaction that creates it.
 * @dev One parcel, one token: the jurisdiction and the legal reference must be in canonical ASCII form
 * ({CanonicalText}: checked byte by byte, so no client can register a case, spacing or Unicode variant) and the key
 * `keccak256(abi.encodePacked(jurisdiction, legalReference))` maps to the asset id; the same reference in the same
 * jurisdiction can never be registered twice (retired assets keep their key). The reference as written in the land
 * record is kept beside it (`displayReference`). Symbols are canonical and unique across the registry too.
 * Storage: the legal reference, its display form and the metadata URI of an asset are kept together as the code
 * of a small data contract (Solady's SSTORE2: `0x00 ‖ uint16 len(legalReference) ‖ uint16 len(displayReference) ‖
 * legalReference ‖ displayReference ‖ URI`) whose address is one slot. Realistic references and ipfs:// URIs are
 * over 31 bytes, where storage strings cost a slot per 32 bytes plus one; as code they cost 200 gas a byte.
 */
contract AssetRegistry is RWAAccessed, IAssetRegistry {
    /// @dev The fixed fields of a record: exactly one slot (20 + 1 + 1 + 2 + 3 + 5 = 32 bytes).
    struct AssetCore {
        address token;
        AssetKind kind;
        AssetStatus status;
        bytes2 jurisdiction;
        bytes3 valuationCurrency;
        uint40 valuationDate;
    }

    /// @notice A full asset record as returned by {asset}.
    struct Asset {
        address token;
        AssetKind kind;
        AssetStatus status;
        bytes2 jurisdiction;
        bytes3 valuationCurrency;
        uint40 valuationDate;
        uint256 valuationAmount;
        string legalReference;
        string displayReference;
        string metadataURI;
    }

    /// @notice One version of an asset document.
    /// @dev Slot 0 packs assetId, supersedes, supersededBy and effectiveDate (8 + 8 + 8 + 5 bytes); then the hash,
    /// the name and the uri.
    struct Document {
        uint64 assetId;
        uint64 supersedes;
        uint64 supersededBy;
        uint40 effectiveDate;
        bytes32 sha256Hash;
        string name;
        string uri;
    }

    /// @notice The factory allowed to register assets (zero until set). Packed with the asset counter: one slot.
    address public factory;
    uint64 private _assetCount;
    uint64 private _documentCount;

    /// @dev The second slot of a record: the SSTORE2 pointer to its texts and the valuation amount.
    struct AssetExtra {
        address text; // legal reference, display reference and metadata URI (SSTORE2)
        uint96 valuationAmount; // minor currency units
    }

    mapping(uint256 assetId => AssetCore) private _core;
    mapping(uint256 assetId => AssetExtra) private _extra;
    mapping(bytes32 key => uint256 assetId) private _assetIdByKey;
    mapping(bytes32 symbolHash => uint256 assetId) private _assetIdBySymbol;

    mapping(uint256 documentId => Document) private _documents;
    mapping(uint256 assetId => uint256[]) private _assetDocuments;
    mapping(uint256 assetId => mapping(bytes32 nameHash => uint256 documentId)) private _currentDocument;

    /// @notice The factory address was set (once).
    /// @param factory The factory.
    event FactorySet(address indexed factory);
    /// @notice An asset was registered and linked to its token.
    /// @param assetId The new asset id.
    /// @param kind 0 Property, 1 Commodity.
    /// @param jurisdiction ISO 3166-1 alpha-2 (2 ASCII bytes).
    /// @param legalReference The legal reference (parcel no., warehouse receipt no.), canonical form.
    /// @param displayReference The reference as written (empty when it is the canonical form).
    /// @param metadataURI The metadata URI.
    /// @param token The asset's token.
    /// @param symbol The token's symbol.
    event AssetRegistered(
        uint256 indexed assetId,
        AssetKind kind,
        bytes2 indexed jurisdiction,
        string legalReference,
        string displayReference,
        string metadataURI,
        address indexed token,
        string symbol
    );
    /// @notice The status of an asset changed.
    /// @param assetId The asset.
    /// @param previousStatus The old status (0 Registered, 1 Active, 2 Suspended, 3 Retired).
    /// @param newStatus The new status.
    event AssetStatusChanged(uint256 indexed assetId, AssetStatus previousStatus, AssetStatus newStatus);
    /// @notice The valuation of an asset changed.
    /// @param assetId The asset.
    /// @param amount Valuation in minor currency units.
    /// @param currency ISO 4217 (3 ASCII bytes).
    /// @param valuationDate Unix time of the valuation.
    event ValuationUpdated(uint256 indexed assetId, uint256 amount, bytes3 currency, uint40 valuationDate);
    /// @notice The metadata URI of an asset changed.
    /// @param assetId The asset.
    /// @param metadataURI The new URI.
    event MetadataURIUpdated(uint256 indexed assetId, string metadataURI);
    /// @notice A document version was appended to an asset's history.
    /// @param assetId The asset.
    /// @param documentId The new document id (global, starts at 1).
    /// @param name The document name (versions of one document share it).
    /// @param uri Where the document is stored.
    /// @param sha256Hash SHA-256 of the document bytes.
    /// @param effectiveDate Unix time from which the document is effective.
    /// @param supersedes The id of the version this one replaces (0 = none).
    event DocumentAdded(
        uint256 indexed assetId,
        uint256 indexed documentId,
        string name,
        string uri,
        bytes32 sha256Hash,
        uint40 effectiveDate,
        uint256 indexed supersedes
    );

    /// @notice The same legal reference is already registered in that jurisdiction.
    /// @param jurisdiction ISO 3166-1 alpha-2.
    /// @param legalReference The legal reference.
    /// @param existingAssetId The asset that holds it.
    error AssetAlreadyRegistered(bytes2 jurisdiction, string legalReference, uint256 existingAssetId);
    /// @notice No asset has this id.
    /// @param assetId The id.
    error AssetNotFound(uint256 assetId);
    /// @notice The caller is not the factory.
    /// @param caller The caller.
    error NotFactory(address caller);
    /// @notice The factory is already set.
    error FactoryAlreadySet();
    /// @notice The token is the zero address.
    error InvalidAssetParams();
    /// @notice The jurisdiction is not two upper-case ASCII letters.
    /// @param jurisdiction The rejected code.
    error JurisdictionNotCanonical(bytes2 jurisdiction);
    /// @notice The legal reference is not in canonical form ({CanonicalText}).
    /// @param legalReference The rejected reference.
    /// @param position The first offending byte (its length when empty or too long).
    error LegalReferenceNotCanonical(string legalReference, uint256 position);
    /// @notice The symbol is not in canonical form ({CanonicalText}).
    /// @param symbol The rejected symbol.
    /// @param position The first offending byte.
    error SymbolNotCanonical(string symbol, uint256 position);
    /// @notice Another asset's token already uses this symbol.
    /// @param symbol The symbol.
    /// @param existingAssetId The asset that holds it.
    error SymbolTaken(string symbol, uint256 existingAssetId);
    /// @notice The document name is not in canonical form ({CanonicalText}).
    /// @param name The rejected name.
    /// @param position The first offending byte.
    error DocumentNameNotCanonical(string name, uint256 position);
    /// @notice The asset is retired: its record takes no new documents.
    /// @param assetId The asset.
    error AssetRetired(uint256 assetId);
    /// @notice A valuation amount of 2**96 minor units or more.
    /// @param amount The rejected amount.
    error ValuationTooLarge(uint256 amount);
    /// @notice The legal reference and metadata URI together exceed the 24,576-byte code size limit.
    /// @param length Their stored length in bytes.
    error TextTooLong(uint256 length);
    /// @notice The status change is not allowed: status only moves forward (Registered -> Active -> Suspended ->
    /// Retired), except Suspended -> Active; a no-op change is refused too.
    /// @param assetId The asset.
    /// @param current The current status.
    /// @param requested The requested status.
    error InvalidStatusTransition(uint256 assetId, AssetStatus current, AssetStatus requested);
    /// @notice No document has this id.
    /// @param documentId The id.
    error DocumentNotFound(uint256 documentId);
    /// @notice The superseded document belongs to another asset.
    /// @param documentId The superseded document.
    /// @param assetId The asset of the new document.
    error DocumentAssetMismatch(uint256 documentId, uint256 assetId);
    /// @notice The document was already superseded.
    /// @param documentId The document.
    /// @param supersededBy The version that superseded it.
    error DocumentAlreadySuperseded(uint256 documentId, uint256 supersededBy);
    /// @notice A new version must keep the name of the version it supersedes.
    /// @param documentId The superseded document.
    error DocumentNameMismatch(uint256 documentId);
    /// @notice A current document with this name exists: the new one must supersede it.
    /// @param assetId The asset.
    /// @param name The name.
    /// @param currentDocumentId The current version.
    error DocumentNameTaken(uint256 assetId, string name, uint256 currentDocumentId);

    /// @param authority_ The {RWAAccess} contract.
    constructor(address authority_) RWAAccessed(authority_) {}

    // ------------------------------------------------------------------ factory

    /// @notice Sets the factory, once. DEFAULT_ADMIN_ROLE.
    /// @param factory_ The {TokenFactory}.
    function setFactory(address factory_) external onlyRole(bytes32(0)) {
        if (factory != address(0)) revert FactoryAlreadySet();
        if (factory_ == address(0)) revert ZeroAddress();
        factory = factory_;
        emit FactorySet(factory_);
    }

    /// @inheritdoc IAssetRegistry
    function nextAssetId() external view returns (uint256) {
        return uint256(_assetCount) + 1;
    }

    /// @inheritdoc IAssetRegistry
    function registerAsset(AssetKind kind, AssetParams calldata p, address token, string calldata symbol)
        external
        returns (uint256 assetId)
    {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        if (token == address(0)) revert InvalidAssetParams();
        (bytes32 key, bytes32 symbolHash) = _uniqueKeys(p, symbol);
        assetId = ++_assetCount;
        _assetIdByKey[key] = assetId;
        _assetIdBySymbol[symbolHash] = assetId;
        _core[assetId] = AssetCore(token, kind, AssetStatus.Registered, p.jurisdiction, p.valuationCurrency, p.valuationDate);
        _extra[assetId] = AssetExtra(
            _writeText(p.legalReference, p.displayReference, p.metadataURI), _toValuation(p.valuationAmount)
        );
        _emitRegistered(assetId, kind, p, token, symbol);
    }

    /// @dev Checks the canonical forms and the uniqueness of the parcel and the symbol; returns their keys.
    function _uniqueKeys(AssetParams calldata p, string calldata symbol)
        private
        view
        returns (bytes32 key, bytes32 symbolHash)
    {
        if (!CanonicalText.jurisdiction(p.jurisdiction)) revert JurisdictionNotCanonical(p.jurisdiction);
        uint256 bad = CanonicalText.legalReference(bytes(p.legalReference));
        if (bad != CanonicalText.OK) revert LegalReferenceNotCanonical(p.legalReference, bad);
        bad = CanonicalText.symbol(bytes(symbol));
        if (bad != CanonicalText.OK) revert SymbolNotCanonical(symbol, bad);
        key = keccak256(abi.encodePacked(p.jurisdiction, p.legalReference));
        uint256 existing = _assetIdByKey[key];
        if (existing != 0) revert AssetAlreadyRegistered(p.jurisdiction, p.legalReference, existing);
        symbolHash = keccak256(bytes(symbol));
        existing = _assetIdBySymbol[symbolHash];
        if (existing != 0) revert SymbolTaken(symbol, existing);
    }

    function _emitRegistered(uint256 assetId, AssetKind kind, AssetParams calldata p, address token, string calldata symbol)
        private
    {
        emit AssetRegistered(
            assetId, kind, p.jurisdiction, p.legalReference, p.displayReference, p.metadataURI, token, symbol
        );
        if (p.valuationAmount != 0 || p.valuationDate != 0) {
            emit ValuationUpdated(assetId, p.valuationAmount, p.valuationCurrency, p.valuationDate);
        }
    }

    // ------------------------------------------------------------------ registrar

    /// @notice Changes the status of an asset: forward only (Registered -> Active -> Suspended -> Retired), except
    /// Suspended -> Active; Retired is final. Tokens mint only while their asset is Active. REGISTRAR_ROLE.
    /// @dev To halt trading at once, pause the token; Suspended stops issuance and tells the public why.
    /// @param assetId The asset.
    /// @param newStatus The new status.
    function setStatus(uint256 assetId, AssetStatus newStatus) external onlyRole(REGISTRAR_ROLE) {
        AssetCore storage c = _existing(assetId);
        AssetStatus current = c.status;
        bool resume = current == AssetStatus.Suspended && newStatus == AssetStatus.Active;
        if (uint8(newStatus) <= uint8(current) && !resume) {
            revert InvalidStatusTransition(assetId, current, newStatus);
        }
        c.status = newStatus;
        emit AssetStatusChanged(assetId, current, newStatus);
    }

    /// @notice Records a new valuation. REGISTRAR_ROLE.
    /// @param assetId The asset.
    /// @param amount Valuation in minor units of `currency`.
    /// @param currency ISO 4217 (3 ASCII bytes, e.g. "PKR").
    /// @param valuationDate Unix time of the valuation.
    function updateValuation(uint256 assetId, uint256 amount, bytes3 currency, uint40 valuationDate)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        AssetCore storage c = _existing(assetId);
        c.valuationCurrency = currency;
        c.valuationDate = valuationDate;
        _extra[assetId].valuationAmount = _toValuation(amount);
        emit ValuationUpdated(assetId, amount, currency, valuationDate);
    }

    /// @notice Replaces the metadata URI of an asset. REGISTRAR_ROLE.
    /// @param assetId The asset.
    /// @param uri The new URI.
    function setMetadataURI(uint256 assetId, string calldata uri) external onlyRole(REGISTRAR_ROLE) {
        _existing(assetId);
        AssetExtra storage x = _extra[assetId];
        (string memory legalReference, string memory display,) = _readText(x.text);
        x.text = _writeText(legalReference, display, uri);
        emit MetadataURIUpdated(assetId, uri);
    }

    /// @notice Appends a document version to the history of an asset that is not Retired; nothing is ever
    /// overwritten or deleted. REGISTRAR_ROLE.
    /// @dev Each name has one version chain. `supersedes == 0` starts a chain and requires that no current document
    /// of that name exists; otherwise `supersedes` must exist, belong to `assetId`, not be superseded already and
    /// carry the same name (so it is the current version of that name).
    /// @param assetId The asset.
    /// @param name Document name in canonical form ({CanonicalText}), e.g. "title-deed".
    /// @param uri Where the document is stored.
    /// @param sha256Hash SHA-256 of the document bytes.
    /// @param effectiveDate Unix time from which the document is effective.
    /// @param supersedes Id of the version this one replaces, or 0.
    /// @return documentId The new document id.
    function addDocument(
        uint256 assetId,
        string calldata name,
        string calldata uri,
        bytes32 sha256Hash,
        uint40 effectiveDate,
        uint256 supersedes
    ) external onlyRole(REGISTRAR_ROLE) returns (uint256 documentId) {
        if (_existing(assetId).status == AssetStatus.Retired) revert AssetRetired(assetId);
        uint256 bad = CanonicalText.documentName(bytes(name));
        if (bad != CanonicalText.OK) revert DocumentNameNotCanonical(name, bad);
        bytes32 nameHash = keccak256(bytes(name));
        uint256 current = _currentDocument[assetId][nameHash];
        documentId = ++_documentCount;
        if (supersedes == 0) {
            if (current != 0) revert DocumentNameTaken(assetId, name, current);
        } else {
            Document storage old = _documents[supersedes];
            if (old.assetId == 0) revert DocumentNotFound(supersedes);
            if (old.assetId != assetId) revert DocumentAssetMismatch(supersedes, assetId);
            if (old.supersededBy != 0) revert DocumentAlreadySuperseded(supersedes, old.supersededBy);
            if (current != supersedes) revert DocumentNameMismatch(supersedes);
            old.supersededBy = uint64(documentId);
        }
        _currentDocument[assetId][nameHash] = documentId;
        _documents[documentId] = Document(uint64(assetId), uint64(supersedes), 0, effectiveDate, sha256Hash, name, uri);
        _assetDocuments[assetId].push(documentId);
        emit DocumentAdded(assetId, documentId, name, uri, sha256Hash, effectiveDate, supersedes);
    }

    // ------------------------------------------------------------------ views

    /// @notice The number of registered assets (ids are 1..assetCount).
    /// @return The count.
    function assetCount() external view returns (uint256) {
        return _assetCount;
    }

    /// @notice The full record of an asset.
    /// @param assetId The asset.
    /// @return The record.
    function asset(uint256 assetId) external view returns (Asset memory) {
        AssetCore memory c = _existing(assetId);
        AssetExtra memory x = _extra[assetId];
        (string memory legalReference, string memory display, string memory uri) = _readText(x.text);
        return Asset(
            c.token,
            c.kind,
            c.status,
            c.jurisdiction,
            c.valuationCurrency,
            c.valuationDate,
            x.valuationAmount,
            legalReference,
            display,
            uri
        );
    }

    /// @notice The token of an asset.
    /// @param assetId The asset.
    /// @return The token address.
    function tokenOf(uint256 assetId) external view returns (address) {
        return _existing(assetId).token;
    }

    /// @notice The status of an asset.
    /// @param assetId The asset.
    /// @return The status.
    function statusOf(uint256 assetId) external view override returns (AssetStatus) {
        return _existing(assetId).status;
    }

    /// @notice The metadata URI of an asset.
    /// @param assetId The asset.
    /// @return The URI.
    function metadataURI(uint256 assetId) external view returns (string memory) {
        _existing(assetId);
        (,, string memory uri) = _readText(_extra[assetId].text);
        return uri;
    }

    /// @notice The asset registered under a legal reference in a jurisdiction (0 = none).
    /// @param jurisdiction ISO 3166-1 alpha-2.
    /// @param legalReference The legal reference.
    /// @return The asset id, or 0.
    function assetIdOf(bytes2 jurisdiction, string calldata legalReference) external view returns (uint256) {
        return _assetIdByKey[keccak256(abi.encodePacked(jurisdiction, legalReference))];
    }

    /// @notice The asset whose token has this symbol (0 = none).
    /// @param symbol The symbol (canonical form).
    /// @return The asset id, or 0.
    function assetIdOfSymbol(string calldata symbol) external view returns (uint256) {
        return _assetIdBySymbol[keccak256(bytes(symbol))];
    }

    /// @notice The total number of documents of all assets (ids are 1..documentCount).
    /// @return The count.
    function documentCount() external view returns (uint256) {
        return _documentCount;
    }

    /// @notice One document version.
    /// @param documentId The document.
    /// @return The document (supersededBy = 0 while current).
    function document(uint256 documentId) external view returns (Document memory) {
        Document memory d = _documents[documentId];
        if (d.assetId == 0) revert DocumentNotFound(documentId);
        return d;
    }

    /// @notice All document ids of an asset, oldest first (all versions).
    /// @param assetId The asset.
    /// @return The ids.
    function documentIds(uint256 assetId) external view returns (uint256[] memory) {
        return _assetDocuments[assetId];
    }

    /// @notice The current (latest, not superseded) version of the document called `name` (0 = none).
    /// @param assetId The asset.
    /// @param name The document name.
    /// @return documentId The current version id, or 0.
    function currentDocument(uint256 assetId, string calldata name) external view returns (uint256 documentId) {
        return _currentDocument[assetId][keccak256(bytes(name))];
    }

    function _toValuation(uint256 amount) private pure returns (uint96) {
        if (amount >> 96 != 0) revert ValuationTooLarge(amount);
        return uint96(amount);
    }

    function _existing(uint256 assetId) private view returns (AssetCore storage c) {
        c = _core[assetId];
        if (c.token == address(0)) revert AssetNotFound(assetId);
    }

    // ------------------------------------------------------------------ text storage (SSTORE2)

    /// @dev Stores `uint16(len(legalReference)) ‖ uint16(len(display)) ‖ legalReference ‖ display ‖ uri` with Solady's
    /// SSTORE2 (as the code of a new contract, after the STOP byte SSTORE2 puts first) and returns its address.
    function _writeText(string memory legalReference, string memory display, string memory uri)
        private
        returns (address pointer)
    {
        uint256 displayLength = bytes(display).length;
        if (displayLength > type(uint16).max) revert TextTooLong(displayLength);
        bytes memory data =
            abi.encodePacked(uint16(bytes(legalReference).length), uint16(displayLength), legalReference, display, uri);
        if (data.length >= 24_576) revert TextTooLong(data.length); // code = STOP ‖ data, at most 24,576 bytes
        pointer = SSTORE2.write(data);
    }

    /// @dev Reads back what {_writeText} stored.
    function _readText(address pointer)
        private
        view
        returns (string memory legalReference, string memory display, string memory uri)
    {
        bytes memory data = SSTORE2.read(pointer);
        uint256 legalEnd = 4 + ((uint256(uint8(data[0])) << 8) | uint8(data[1]));
        uint256 displayEnd = legalEnd + ((uint256(uint8(data[2])) << 8) | uint8(data[3]));
        legalReference = string(Bytes.slice(data, 4, legalEnd));
        display = string(Bytes.slice(data, legalEnd, displayEnd));
        uri = string(Bytes.slice(data, displayEnd));
    }
}
