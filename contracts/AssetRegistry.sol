// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Bytes} from "@openzeppelin/contracts/utils/Bytes.sol";
import {RWAAccessed, REGISTRAR_ROLE} from "./RWAAccessed.sol";
import {IAssetRegistry, AssetKind, AssetStatus, AssetParams} from "./interfaces/IAssetRegistry.sol";

/**
 * @title AssetRegistry
 * @notice One record per real-world asset (a property or a commodity stock), its append-only document history, and
 * the link to the asset's token. Records are created only by the {TokenFactory} (set once by the admin), so a
 * token can only enter the registry through the factory, in the same transaction that creates it.
 * @dev Uniqueness: the key `keccak256(abi.encodePacked(jurisdiction, legalReference))` (2 bytes then the UTF-8
 * bytes of the string) maps to the asset id; the same legal reference in the same jurisdiction can never be
 * registered twice (retired assets keep their key). Normalise legal references off-chain (case, spacing).
 * Storage: the legal reference and the metadata URI of an asset are kept together as the code of a small data
 * contract (SSTORE2: `0x00 ‖ uint16 length of the legal reference ‖ legal reference ‖ URI`) whose address is one
 * slot. Realistic references and ipfs:// URIs are over 31 bytes, where storage strings cost a slot per 32 bytes
 * plus one; as code they cost 200 gas a byte, which is what keeps creating an asset's token under 300,000 gas.
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

    mapping(uint256 assetId => AssetCore) private _core;
    mapping(uint256 assetId => uint256) private _valuationAmount;
    mapping(uint256 assetId => address) private _text; // SSTORE2 pointer: legal reference and metadata URI
    mapping(bytes32 key => uint256 assetId) private _assetIdByKey;

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
    /// @param legalReference The legal reference (parcel no., warehouse receipt no.).
    /// @param metadataURI The metadata URI.
    /// @param token The asset's token.
    /// @param valuationAmount Valuation in minor currency units.
    /// @param valuationCurrency ISO 4217 (3 ASCII bytes).
    /// @param valuationDate Unix time of the valuation.
    /// @param key keccak256(abi.encodePacked(jurisdiction, legalReference)).
    event AssetRegistered(
        uint256 indexed assetId,
        AssetKind kind,
        bytes2 indexed jurisdiction,
        string legalReference,
        string metadataURI,
        address indexed token,
        uint256 valuationAmount,
        bytes3 valuationCurrency,
        uint40 valuationDate,
        bytes32 key
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
    /// @notice Jurisdiction, legal reference or token is empty.
    error InvalidAssetParams();
    /// @notice The legal reference and metadata URI together exceed the 24,576-byte code size limit.
    /// @param length Their stored length in bytes.
    error TextTooLong(uint256 length);
    /// @notice The status change is not allowed (no-op, or the asset is Retired, which is final).
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
    /// @notice Empty document name.
    error EmptyDocumentName();

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
    function registerAsset(AssetKind kind, AssetParams calldata p, address token) external returns (uint256 assetId) {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        if (p.jurisdiction == bytes2(0) || bytes(p.legalReference).length == 0 || token == address(0)) {
            revert InvalidAssetParams();
        }
        bytes32 key = keccak256(abi.encodePacked(p.jurisdiction, p.legalReference));
        uint256 existing = _assetIdByKey[key];
        if (existing != 0) revert AssetAlreadyRegistered(p.jurisdiction, p.legalReference, existing);

        assetId = ++_assetCount;
        _assetIdByKey[key] = assetId;
        _core[assetId] = AssetCore(token, kind, AssetStatus.Registered, p.jurisdiction, p.valuationCurrency, p.valuationDate);
        if (p.valuationAmount != 0) _valuationAmount[assetId] = p.valuationAmount;
        _text[assetId] = _writeText(p.legalReference, p.metadataURI);

        emit AssetRegistered(
            assetId,
            kind,
            p.jurisdiction,
            p.legalReference,
            p.metadataURI,
            token,
            p.valuationAmount,
            p.valuationCurrency,
            p.valuationDate,
            key
        );
    }

    // ------------------------------------------------------------------ registrar

    /// @notice Changes the status of an asset. Retired is final. REGISTRAR_ROLE.
    /// @dev Status is informational for the ledger; to halt trading, pause the token.
    /// @param assetId The asset.
    /// @param newStatus The new status (must differ from the current one).
    function setStatus(uint256 assetId, AssetStatus newStatus) external onlyRole(REGISTRAR_ROLE) {
        AssetCore storage c = _existing(assetId);
        AssetStatus current = c.status;
        if (current == AssetStatus.Retired || current == newStatus) {
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
        _valuationAmount[assetId] = amount;
        emit ValuationUpdated(assetId, amount, currency, valuationDate);
    }

    /// @notice Replaces the metadata URI of an asset. REGISTRAR_ROLE.
    /// @param assetId The asset.
    /// @param uri The new URI.
    function setMetadataURI(uint256 assetId, string calldata uri) external onlyRole(REGISTRAR_ROLE) {
        _existing(assetId);
        (string memory legalReference,) = _readText(_text[assetId]);
        _text[assetId] = _writeText(legalReference, uri);
        emit MetadataURIUpdated(assetId, uri);
    }

    /// @notice Appends a document version to an asset's history; nothing is ever overwritten or deleted.
    /// REGISTRAR_ROLE.
    /// @dev Each name has one version chain. `supersedes == 0` starts a chain and requires that no current document
    /// of that name exists; otherwise `supersedes` must exist, belong to `assetId`, not be superseded already and
    /// carry the same name (so it is the current version of that name).
    /// @param assetId The asset.
    /// @param name Document name, e.g. "Title deed" (non-empty).
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
        _existing(assetId);
        if (bytes(name).length == 0) revert EmptyDocumentName();
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
        (string memory legalReference, string memory uri) = _readText(_text[assetId]);
        return Asset(
            c.token,
            c.kind,
            c.status,
            c.jurisdiction,
            c.valuationCurrency,
            c.valuationDate,
            _valuationAmount[assetId],
            legalReference,
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
    function statusOf(uint256 assetId) external view returns (AssetStatus) {
        return _existing(assetId).status;
    }

    /// @notice The metadata URI of an asset.
    /// @param assetId The asset.
    /// @return The URI.
    function metadataURI(uint256 assetId) external view returns (string memory) {
        _existing(assetId);
        (, string memory uri) = _readText(_text[assetId]);
        return uri;
    }

    /// @notice The asset registered under a legal reference in a jurisdiction (0 = none).
    /// @param jurisdiction ISO 3166-1 alpha-2.
    /// @param legalReference The legal reference.
    /// @return The asset id, or 0.
    function assetIdOf(bytes2 jurisdiction, string calldata legalReference) external view returns (uint256) {
        return _assetIdByKey[keccak256(abi.encodePacked(jurisdiction, legalReference))];
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

    function _existing(uint256 assetId) private view returns (AssetCore storage c) {
        c = _core[assetId];
        if (c.token == address(0)) revert AssetNotFound(assetId);
    }

    // ------------------------------------------------------------------ text storage (SSTORE2)

    /// @dev Deploys `0x00 ‖ uint16(len(legalReference)) ‖ legalReference ‖ uri` as the runtime code of a new contract
    /// (the leading STOP makes it uncallable) and returns its address.
    function _writeText(string memory legalReference, string memory uri) private returns (address pointer) {
        uint256 legalLength = bytes(legalReference).length;
        if (legalLength > type(uint16).max) revert InvalidAssetParams();
        bytes memory data = abi.encodePacked(bytes1(0x00), uint16(legalLength), legalReference, uri);
        if (data.length > 24_576) revert TextTooLong(data.length);
        // PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN: returns the 12-byte header's tail as code
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length), hex"80600c6000396000f3", data);
        assembly ("memory-safe") {
            pointer := create(0, add(init, 0x20), mload(init))
        }
        if (pointer == address(0)) revert TextTooLong(data.length);
    }

    /// @dev Reads back what {_writeText} stored.
    function _readText(address pointer) private view returns (string memory legalReference, string memory uri) {
        bytes memory code = pointer.code;
        uint256 legalEnd = 3 + ((uint256(uint8(code[1])) << 8) | uint8(code[2]));
        legalReference = string(Bytes.slice(code, 3, legalEnd));
        uri = string(Bytes.slice(code, legalEnd));
    }
}
