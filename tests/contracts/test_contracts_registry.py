"""AssetRegistry: records created by the factory, one parcel one token (canonical legal references and jurisdictions,
unique canonical symbols), the display reference, the lifecycle (forward only, Suspended -> Active; minting only while
Active), valuation, metadata and the append-only documents with canonical names."""

import pytest

from rwaledger.errors import CustomErrorRevert

from contracts_kit import (
    ACTIVE, ASSET_NOT_ACTIVE, GAS, PK, PROPERTY_PARAMS, REGISTERED, RETIRED, SUSPENDED, ZERO, asset_params, b32,
    balance, create_commodity, create_property, event_names, events, mint_rejected, one_event, same, sha, transfer_ok,
)


def test_factory_record_has_every_field(world):
    reg = world.stack.registry
    jur, ref, display, uri, amount, cur, date = PROPERTY_PARAMS
    record = tuple(reg.functions.asset(world.prop_asset).call())
    assert record == (world.prop.address, 0, ACTIVE, jur, cur, date, amount, ref, display, uri)
    assert reg.functions.tokenOf(world.prop_asset).call() == world.prop.address
    assert reg.functions.statusOf(world.prop_asset).call() == ACTIVE
    assert reg.functions.metadataURI(world.prop_asset).call() == uri
    assert reg.functions.assetIdOf(jur, ref).call() == world.prop_asset
    assert reg.functions.assetIdOf(jur, ref + " ").call() == 0  # exact key
    assert reg.functions.assetIdOfSymbol("LHR12B").call() == world.prop_asset
    assert reg.functions.assetIdOfSymbol("KGOLD").call() == world.comm_asset
    assert reg.functions.assetIdOfSymbol("NOPE").call() == 0
    assert reg.functions.asset(world.comm_asset).call()[1] == 1  # Commodity
    assert reg.functions.asset(world.comm_asset).call()[8] == ""  # no display reference given
    assert reg.functions.assetCount().call() == 2 and reg.functions.nextAssetId().call() == 3
    assert reg.functions.factory().call() == world.stack.factory.address


def test_asset_registered_event_then_valuation_updated(world):
    reg = world.stack.registry
    f = world.stack.factory.functions
    params = (b"AE", "PARCEL-77", "Parcel 77 / Dubai Marina", "ipfs://x", 5_000_00, b"AED", 1_720_000_000)
    receipt = world.registrar.send(f.createPropertyToken(params, ("Marina 77", "MAR77", 0, 100, 784)))
    ev = one_event(reg, "AssetRegistered", receipt)
    token = one_event(world.stack.factory, "PropertyTokenCreated", receipt)["token"]
    assert ev["assetId"] == 3 and same(ev["token"], token) and ev["kind"] == 0
    assert (ev["jurisdiction"], ev["legalReference"], ev["displayReference"], ev["metadataURI"], ev["symbol"]) == (
        b"AE", "PARCEL-77", "Parcel 77 / Dubai Marina", "ipfs://x", "MAR77")
    assert "key" not in ev and "valuationAmount" not in ev
    val = one_event(reg, "ValuationUpdated", receipt)
    assert (val["assetId"], val["amount"], val["currency"], val["valuationDate"]) == (3, 5_000_00, b"AED", 1_720_000_000)
    assert event_names(reg, receipt) == ["AssetRegistered", "ValuationUpdated"]  # the registration comes first
    # without a valuation, no ValuationUpdated
    _, _, receipt = create_property(world, "PARCEL-78")
    assert events(reg, "ValuationUpdated", receipt) == [] and len(events(reg, "AssetRegistered", receipt)) == 1


def test_display_reference_is_stored_and_returned(world):
    reg = world.stack.registry
    display = "Plot № 42‐B, Phase 6 (DHA) — ‘as in the fard’"
    asset_id, _, receipt = create_property(world, "DHA-6-42B", display=display)
    assert one_event(reg, "AssetRegistered", receipt)["displayReference"] == display
    record = reg.functions.asset(asset_id).call()
    assert (record[7], record[8], record[9]) == ("DHA-6-42B", display, "ipfs://x")
    # setMetadataURI keeps both references
    world.registrar.send(reg.functions.setMetadataURI(asset_id, "ipfs://v2"))
    record = reg.functions.asset(asset_id).call()
    assert (record[7], record[8], record[9]) == ("DHA-6-42B", display, "ipfs://v2")


def test_same_reference_same_jurisdiction_reverts(world):
    jur, ref = PROPERTY_PARAMS[0], PROPERTY_PARAMS[1]
    f = world.stack.factory.functions
    world.registrar.reverts(
        f.createPropertyToken(asset_params(ref, jur), ("Dup", "DUP", 0, 100, PK)),
        "AssetAlreadyRegistered", jurisdiction=jur, legalReference=ref, existingAssetId=world.prop_asset)
    # the key is (jurisdiction, reference), whatever the kind or the display reference
    world.registrar.reverts(
        f.createCommodityToken(asset_params(ref, jur, display="another spelling"), ("Dup", "DUP", 0, "kg", PK)),
        "AssetAlreadyRegistered", existingAssetId=world.prop_asset)
    assert world.stack.registry.functions.assetCount().call() == 2


def test_same_reference_in_another_jurisdiction_is_accepted(world):
    reg = world.stack.registry
    ref = PROPERTY_PARAMS[1]
    asset_id, token, _ = create_property(world, ref, jurisdiction=b"AE")
    assert asset_id != world.prop_asset
    assert reg.functions.assetIdOf(b"AE", ref).call() == asset_id
    assert reg.functions.assetIdOf(b"PK", ref).call() == world.prop_asset
    assert reg.functions.tokenOf(asset_id).call() == token.address != world.prop.address


def test_retired_asset_keeps_its_key_and_symbol(world):
    world.set_status(world.prop_asset, RETIRED)
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params(PROPERTY_PARAMS[1]), ("Again", "AG", 0, 1, PK)),
                            "AssetAlreadyRegistered", existingAssetId=world.prop_asset)
    world.registrar.reverts(f.createPropertyToken(asset_params("OTHER-1"), ("Again", "LHR12B", 0, 1, PK)),
                            "SymbolTaken", symbol="LHR12B", existingAssetId=world.prop_asset)


# ------------------------------------------------------------------------------------------------- one parcel, one token

REF = PROPERTY_PARAMS[1]  # "LHR-GH-12B", registered in PK by the world
VARIANTS = [
    pytest.param("lhr-gh-12b", 0, id="lower-case"),
    pytest.param("LHR-gh-12B", 4, id="inner-lower-case"),
    pytest.param("LHR-GH  12B", 6, id="double-space"),
    pytest.param("LHR-GH 12B", 6, id="space"),
    pytest.param("LHR\u2010GH-12B", 3, id="unicode-hyphen-U+2010"),
    pytest.param("LHR-GH-\u200b12B", 7, id="zero-width-space-U+200B"),
    pytest.param("-LHR-GH-12B", 0, id="leading-separator"),
    pytest.param("LHR-GH-12B-", 10, id="trailing-separator"),
    pytest.param("LHR-GH-12B/", 10, id="trailing-slash"),
    pytest.param("LHR//GH-12B", 4, id="double-slash"),
    pytest.param("LHR-/GH-12B", 4, id="mixed-separators"),
    pytest.param("LHR_GH_12B", 3, id="underscore"),
    pytest.param("", 0, id="empty"),
    pytest.param("A" * 129, 128, id="too-long"),
]


@pytest.mark.parametrize("variant, position", VARIANTS)
def test_spelling_variant_of_a_parcel_is_refused(world, variant, position):
    f = world.stack.factory.functions
    err = world.registrar.reverts(f.createPropertyToken(asset_params(variant), ("Variant", "VAR", 0, 100, PK)),
                                  "LegalReferenceNotCanonical", position=position)
    assert err.args_by_name["legalReference"] == variant
    world.registrar.reverts(f.createCommodityToken(asset_params(variant), ("Variant", "VAR", 0, "kg", PK)),
                            "LegalReferenceNotCanonical", position=position)
    assert world.stack.registry.functions.assetCount().call() == 2


@pytest.mark.parametrize("reference", ["LHR-GH-12B.1", "A", "A" * 128, "123/45-B.6", "KHI.VAULT.7"])
def test_canonical_references_are_accepted(world, reference):
    asset_id, token, _ = create_property(world, reference)
    assert world.stack.registry.functions.assetIdOf(b"PK", reference).call() == asset_id
    assert world.stack.registry.functions.asset(asset_id).call()[7] == reference


@pytest.mark.parametrize("jurisdiction", [b"pk", b"Pk", b"P1", b"\0\0", b"P\0", b"P ", b"\xc3\x9c"])
def test_jurisdiction_must_be_two_upper_case_letters(world, jurisdiction):
    world.registrar.reverts(
        world.stack.factory.functions.createPropertyToken(asset_params("REF-J", jurisdiction), ("J", "JUR", 0, 1, PK)),
        "JurisdictionNotCanonical", jurisdiction=jurisdiction)
    assert world.stack.registry.functions.assetCount().call() == 2


def test_jurisdiction_pk_lower_case_is_0x706b(world):
    assert b"pk" == bytes.fromhex("706b")
    world.registrar.reverts(
        world.stack.factory.functions.createPropertyToken(asset_params(REF, bytes.fromhex("706b")), ("J", "JUR", 0, 1, PK)),
        "JurisdictionNotCanonical", jurisdiction=bytes.fromhex("706b"))


@pytest.mark.parametrize("symbol, position", [
    pytest.param("lhr12b", 0, id="lower-case"),
    pytest.param("AB CD", 2, id="space"),
    pytest.param("-ABC", 0, id="leading-dash"),
    pytest.param("ABC-", 3, id="trailing-dash"),
    pytest.param("AB--C", 3, id="double-dash"),
    pytest.param("AB.C", 2, id="dot"),
    pytest.param("AB/C", 2, id="slash"),
    pytest.param("", 0, id="empty"),
    pytest.param("ABCDEFGHIJKL", 11, id="twelve-bytes"),
])
def test_symbol_must_be_canonical(world, symbol, position):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params("SYM-REF"), ("N", symbol, 0, 1, PK)),
                            "SymbolNotCanonical", symbol=symbol, position=position)
    world.registrar.reverts(f.createCommodityToken(asset_params("SYM-REF"), ("N", symbol, 0, "kg", PK)),
                            "SymbolNotCanonical", symbol=symbol, position=position)
    assert world.stack.registry.functions.assetCount().call() == 2


def test_symbol_is_unique_across_kinds(world):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params("NEW-1"), ("N", "LHR12B", 0, 1, PK)),
                            "SymbolTaken", symbol="LHR12B", existingAssetId=world.prop_asset)
    world.registrar.reverts(f.createPropertyToken(asset_params("NEW-1"), ("N", "KGOLD", 0, 1, PK)),
                            "SymbolTaken", symbol="KGOLD", existingAssetId=world.comm_asset)
    world.registrar.reverts(f.createCommodityToken(asset_params("NEW-1"), ("N", "LHR12B", 0, "kg", PK)),
                            "SymbolTaken", symbol="LHR12B", existingAssetId=world.prop_asset)
    asset_id, token, _ = create_property(world, "NEW-1", symbol="ABCDEFGHIJK")  # 11 bytes: the longest symbol
    assert token.functions.symbol().call() == "ABCDEFGHIJK"
    assert world.stack.registry.functions.assetIdOfSymbol("ABCDEFGHIJK").call() == asset_id


def test_failed_creation_leaves_no_record(world):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params("bad ref"), ("N", "OK1", 0, 1, PK)),
                            "LegalReferenceNotCanonical")
    reg = world.stack.registry
    assert reg.functions.assetIdOfSymbol("OK1").call() == 0 and reg.functions.assetCount().call() == 2
    asset_id, _, _ = create_property(world, "GOOD-REF", symbol="OK1")  # the symbol was not taken by the failure
    assert asset_id == 3


@pytest.mark.parametrize("role", ["admin", "registrar", "compliance", "custodian", "investor"])
def test_only_the_factory_registers(world, role):
    actor = world.role_actor(role)
    actor.reverts(
        world.stack.registry.functions.registerAsset(0, asset_params("DIRECT-1"), world.prop.address, "DIRECT"),
        "NotFactory", caller=actor.address)
    assert world.stack.registry.functions.assetIdOf(b"PK", "DIRECT-1").call() == 0


def test_set_factory_once(world):
    fresh, _ = world.admin.tx.deploy(world.session.build["AssetRegistry"], world.stack.access.address, gas=GAS)
    assert fresh.functions.factory().call() == ZERO
    world.admin.reverts(fresh.functions.setFactory(ZERO), "ZeroAddress")
    ev = one_event(fresh, "FactorySet", world.admin.send(fresh.functions.setFactory(world.bob.address)))
    assert same(ev["factory"], world.bob.address) and fresh.functions.factory().call() == world.bob.address
    world.admin.reverts(fresh.functions.setFactory(world.carol.address), "FactoryAlreadySet")
    world.admin.reverts(world.stack.registry.functions.setFactory(world.carol.address), "FactoryAlreadySet")
    # the factory it names is the only caller of registerAsset
    r = world.bob.send(fresh.functions.registerAsset(0, asset_params("VIA-BOB"), world.prop.address, "VB"))
    assert one_event(fresh, "AssetRegistered", r)["assetId"] == 1
    world.carol.reverts(fresh.functions.registerAsset(0, asset_params("VIA-CAROL"), world.prop.address, "VC"),
                        "NotFactory", caller=world.carol.address)
    world.bob.reverts(fresh.functions.registerAsset(0, asset_params("VIA-BOB-2"), ZERO, "VB2"), "InvalidAssetParams")


# ------------------------------------------------------------------------------------------------- lifecycle

ALLOWED = {(REGISTERED, ACTIVE), (REGISTERED, SUSPENDED), (REGISTERED, RETIRED), (ACTIVE, SUSPENDED),
           (ACTIVE, RETIRED), (SUSPENDED, ACTIVE), (SUSPENDED, RETIRED)}
PATH = {REGISTERED: [], ACTIVE: [ACTIVE], SUSPENDED: [ACTIVE, SUSPENDED], RETIRED: [RETIRED]}


@pytest.mark.parametrize("start", [REGISTERED, ACTIVE, SUSPENDED, RETIRED])
@pytest.mark.parametrize("target", [REGISTERED, ACTIVE, SUSPENDED, RETIRED])
def test_status_transitions(world, start, target):
    """Forward only (Registered -> Active -> Suspended -> Retired), except Suspended -> Active; no-ops refused."""
    reg = world.stack.registry
    a, _, _ = create_property(world, "LIFECYCLE-1")
    for step in PATH[start]:
        world.set_status(a, step)
    assert reg.functions.statusOf(a).call() == start
    if (start, target) in ALLOWED:
        ev = one_event(reg, "AssetStatusChanged", world.set_status(a, target))
        assert (ev["assetId"], ev["previousStatus"], ev["newStatus"]) == (a, start, target)
        assert reg.functions.statusOf(a).call() == target == reg.functions.asset(a).call()[2]
    else:
        world.registrar.reverts(reg.functions.setStatus(a, target), "InvalidStatusTransition",
                                assetId=a, current=start, requested=target)
        assert reg.functions.statusOf(a).call() == start


@pytest.mark.parametrize("kind", ["property", "commodity"])
@pytest.mark.parametrize("status", [REGISTERED, SUSPENDED, RETIRED])
def test_mint_only_while_active(world, kind, status):
    """Reason 18 unless the asset is Active: a new asset (Registered), a Suspended one, a Retired one."""
    erin = world.erin.address
    if kind == "property":
        a, token, _ = create_property(world, "MINT-STATUS")
    else:
        a, token, _ = create_commodity(world, "MINT-STATUS")
        world.custodian.send(token.functions.attestLot(b32("L"), "v", 1_000, sha("r")))
    if status != REGISTERED:
        for step in PATH[status]:
            world.set_status(a, step)
    mint_rejected(token, world.registrar, erin, 5, b32("m-1"), ASSET_NOT_ACTIVE)
    world.registrar.reverts(token.functions.batchMint([erin], [5], [b32("m-1")]), "TransferNotAllowed",
                            **{"from": ZERO, "to": erin, "amount": 5, "reason": ASSET_NOT_ACTIVE})
    assert token.functions.totalSupply().call() == 0
    if status == RETIRED:
        return
    world.set_status(a, ACTIVE)
    world.registrar.send(token.functions.mint(erin, 5, b32("m-1")))
    assert balance(token, erin) == 5


def test_suspended_asset_still_trades_but_does_not_mint(world):
    """Suspension stops issuance; trading is stopped by pausing the token."""
    world.set_status(world.prop_asset, SUSPENDED)
    transfer_ok(world.prop, world.alice, world.bob.address, 1)
    mint_rejected(world.prop, world.registrar, world.erin.address, 1, b32("susp"), ASSET_NOT_ACTIVE)
    world.set_status(world.prop_asset, ACTIVE)
    world.registrar.send(world.prop.functions.mint(world.erin.address, 1, b32("susp")))
    assert balance(world.prop, world.erin.address) == 1


def test_unknown_asset_reverts(world):
    f = world.stack.registry.functions
    for fn in (f.setStatus(99, ACTIVE), f.updateValuation(99, 1, b"USD", 1), f.setMetadataURI(99, "x"),
               f.addDocument(99, "deed", "u", sha("d"), 0, 0)):
        world.registrar.reverts(fn, "AssetNotFound", assetId=99)
    for view, asset in ((f.asset(99), 99), (f.tokenOf(99), 99), (f.statusOf(99), 99), (f.metadataURI(99), 99), (f.asset(0), 0)):
        with pytest.raises(CustomErrorRevert) as info:
            world.registrar.tx.call(view)
        assert info.value.name == "AssetNotFound" and info.value.args_by_name == {"assetId": asset}
    assert f.documentIds(99).call() == []


def test_update_valuation(world):
    reg = world.stack.registry
    a = world.prop_asset
    ev = one_event(reg, "ValuationUpdated", world.registrar.send(reg.functions.updateValuation(a, 31_000_000_00, b"USD", 1_750_000_000)))
    assert (ev["assetId"], ev["amount"], ev["currency"], ev["valuationDate"]) == (a, 31_000_000_00, b"USD", 1_750_000_000)
    rec = reg.functions.asset(a).call()
    assert (rec[4], rec[5], rec[6]) == (b"USD", 1_750_000_000, 31_000_000_00)
    assert rec[0] == world.prop.address and rec[7] == PROPERTY_PARAMS[1] and rec[8] == PROPERTY_PARAMS[2]
    world.registrar.send(reg.functions.updateValuation(a, 0, b"USD", 1_760_000_000))
    assert reg.functions.asset(a).call()[6] == 0


def test_valuation_amount_is_below_2_96(world):
    reg = world.stack.registry
    a = world.prop_asset
    world.registrar.reverts(reg.functions.updateValuation(a, 2**96, b"USD", 1), "ValuationTooLarge", amount=2**96)
    world.registrar.send(reg.functions.updateValuation(a, 2**96 - 1, b"USD", 1))
    assert reg.functions.asset(a).call()[6] == 2**96 - 1
    world.registrar.reverts(world.stack.factory.functions.createPropertyToken(
        asset_params("BIG-VALUE", amount=2**96), ("N", "BIGV", 0, 1, PK)), "ValuationTooLarge", amount=2**96)
    assert reg.functions.assetCount().call() == 2


def test_set_metadata_uri(world):
    reg = world.stack.registry
    ev = one_event(reg, "MetadataURIUpdated", world.registrar.send(reg.functions.setMetadataURI(world.comm_asset, "ipfs://v2")))
    assert (ev["assetId"], ev["metadataURI"]) == (world.comm_asset, "ipfs://v2")
    assert reg.functions.metadataURI(world.comm_asset).call() == "ipfs://v2"
    assert reg.functions.asset(world.comm_asset).call()[9] == "ipfs://v2"
    assert reg.functions.asset(world.comm_asset).call()[7] == "KHI-VAULT-7"


# ------------------------------------------------------------------------------------------------- documents


def add_doc(world, asset, name, uri, supersedes=0, effective=1_700_000_000):
    reg = world.stack.registry
    receipt = world.registrar.send(reg.functions.addDocument(asset, name, uri, sha(uri), effective, supersedes))
    return one_event(reg, "DocumentAdded", receipt)


def test_documents_append_only_history_with_supersedes(world):
    reg = world.stack.registry
    a = world.prop_asset
    ev1 = add_doc(world, a, "title-deed", "ipfs://deed-v1")
    d1 = ev1["documentId"]
    assert d1 == 1 and reg.functions.documentCount().call() == 1
    assert (ev1["assetId"], ev1["name"], ev1["uri"], ev1["sha256Hash"], ev1["effectiveDate"], ev1["supersedes"]) == (
        a, "title-deed", "ipfs://deed-v1", sha("ipfs://deed-v1"), 1_700_000_000, 0)
    assert reg.functions.currentDocument(a, "title-deed").call() == d1

    ev2 = add_doc(world, a, "title-deed", "ipfs://deed-v2", supersedes=d1, effective=1_710_000_000)
    d2 = ev2["documentId"]
    assert d2 == 2 and ev2["supersedes"] == d1
    assert tuple(reg.functions.document(d1).call()) == (a, 0, d2, 1_700_000_000, sha("ipfs://deed-v1"), "title-deed", "ipfs://deed-v1")
    assert tuple(reg.functions.document(d2).call()) == (a, d1, 0, 1_710_000_000, sha("ipfs://deed-v2"), "title-deed", "ipfs://deed-v2")
    assert reg.functions.currentDocument(a, "title-deed").call() == d2

    d3 = add_doc(world, a, "valuation-report", "ipfs://val-v1")["documentId"]
    d4 = add_doc(world, a, "title-deed", "ipfs://deed-v3", supersedes=d2)["documentId"]
    assert reg.functions.documentIds(a).call() == [d1, d2, d3, d4]
    assert reg.functions.currentDocument(a, "title-deed").call() == d4
    assert reg.functions.currentDocument(a, "valuation-report").call() == d3
    assert reg.functions.currentDocument(a, "lease").call() == 0
    assert reg.functions.document(d2).call()[2] == d4
    # ids are global: another asset's first document gets the next id, its own history is separate
    d5 = add_doc(world, world.comm_asset, "title-deed", "ipfs://other")["documentId"]
    assert d5 == 5 and reg.functions.documentIds(world.comm_asset).call() == [d5]
    assert reg.functions.currentDocument(world.comm_asset, "title-deed").call() == d5
    assert reg.functions.documentCount().call() == 5


@pytest.mark.parametrize("name, position", [
    pytest.param("Title deed", 0, id="title-case-and-space"),
    pytest.param("title deed", 5, id="space"),
    pytest.param("title-Deed", 6, id="upper-case"),
    pytest.param("title_deed", 5, id="underscore"),
    pytest.param("title--deed", 6, id="double-dash"),
    pytest.param("-title", 0, id="leading-dash"),
    pytest.param("title-", 5, id="trailing-dash"),
    pytest.param("title\u2010deed", 5, id="unicode-hyphen"),
    pytest.param("", 0, id="empty"),
    pytest.param("a" * 65, 64, id="too-long"),
])
def test_document_name_must_be_canonical(world, name, position):
    reg = world.stack.registry
    world.registrar.reverts(reg.functions.addDocument(world.prop_asset, name, "ipfs://d", sha("d"), 0, 0),
                            "DocumentNameNotCanonical", name=name, position=position)
    assert reg.functions.documentCount().call() == 0
    # the canonical form is accepted, so "Title deed" and "title-deed" are one document
    assert add_doc(world, world.prop_asset, "title-deed", "ipfs://d")["documentId"] == 1
    assert add_doc(world, world.prop_asset, "a" * 64, "ipfs://d64")["documentId"] == 2


def test_new_chain_for_a_current_name_reverts(world):
    reg = world.stack.registry
    d1 = add_doc(world, world.prop_asset, "title-deed", "ipfs://v1")["documentId"]
    world.registrar.reverts(reg.functions.addDocument(world.prop_asset, "title-deed", "ipfs://v1b", sha("x"), 0, 0),
                            "DocumentNameTaken", assetId=world.prop_asset, name="title-deed", currentDocumentId=d1)


def test_wrong_supersedes(world):
    reg = world.stack.registry
    a, other = world.prop_asset, world.comm_asset
    d1 = add_doc(world, a, "title-deed", "ipfs://v1")["documentId"]
    d2 = add_doc(world, a, "title-deed", "ipfs://v2", supersedes=d1)["documentId"]
    d_other = add_doc(world, other, "title-deed", "ipfs://o1")["documentId"]
    d_lease = add_doc(world, a, "lease", "ipfs://lease")["documentId"]

    def add(name, supersedes):
        return reg.functions.addDocument(a, name, "ipfs://new", sha("new"), 0, supersedes)

    world.registrar.reverts(add("title-deed", 999), "DocumentNotFound", documentId=999)
    world.registrar.reverts(add("title-deed", d_other), "DocumentAssetMismatch", documentId=d_other, assetId=a)
    world.registrar.reverts(add("title-deed", d1), "DocumentAlreadySuperseded", documentId=d1, supersededBy=d2)
    world.registrar.reverts(add("title-deed", d_lease), "DocumentNameMismatch", documentId=d_lease)
    world.registrar.reverts(add("lease", d2), "DocumentNameMismatch", documentId=d2)
    # nothing changed
    assert reg.functions.documentIds(a).call() == [d1, d2, d_lease]
    assert reg.functions.currentDocument(a, "title-deed").call() == d2
    assert reg.functions.document(d1).call()[2] == d2 and reg.functions.document(d2).call()[2] == 0
    assert reg.functions.documentCount().call() == 4
    with pytest.raises(CustomErrorRevert) as info:
        world.registrar.tx.call(reg.functions.document(999))
    assert info.value.name == "DocumentNotFound" and info.value.args_by_name == {"documentId": 999}


def test_document_ids_not_consumed_by_reverted_adds(world):
    reg = world.stack.registry
    add_doc(world, world.prop_asset, "title-deed", "ipfs://v1")
    world.registrar.reverts(reg.functions.addDocument(world.prop_asset, "title-deed", "u", sha("u"), 0, 0),
                            "DocumentNameTaken")
    assert add_doc(world, world.prop_asset, "lease", "ipfs://l")["documentId"] == 2


@pytest.mark.parametrize("status", [REGISTERED, ACTIVE, SUSPENDED, RETIRED])
def test_documents_on_every_status_but_retired(world, status):
    reg = world.stack.registry
    a, _, _ = create_property(world, "DOCS-1")
    for step in PATH[status]:
        world.set_status(a, step)
    fn = reg.functions.addDocument(a, "title-deed", "ipfs://d", sha("d"), 0, 0)
    if status == RETIRED:
        world.registrar.reverts(fn, "AssetRetired", assetId=a)
        assert reg.functions.documentIds(a).call() == [] and reg.functions.documentCount().call() == 0
    else:
        assert add_doc(world, a, "title-deed", "ipfs://d")["assetId"] == a
        assert reg.functions.currentDocument(a, "title-deed").call() == 1


def test_retired_asset_takes_no_new_version_either(world):
    reg = world.stack.registry
    d1 = add_doc(world, world.prop_asset, "title-deed", "ipfs://v1")["documentId"]
    world.set_status(world.prop_asset, RETIRED)
    world.registrar.reverts(reg.functions.addDocument(world.prop_asset, "title-deed", "ipfs://v2", sha("v2"), 0, d1),
                            "AssetRetired", assetId=world.prop_asset)
    assert reg.functions.currentDocument(world.prop_asset, "title-deed").call() == d1


def test_commodity_creation_links_record(world):
    asset_id, token, receipt = create_commodity(world, "WH-RECEIPT-1")
    rec = world.stack.registry.functions.asset(asset_id).call()
    assert rec[0] == token.address and rec[1] == 1 and rec[2] == REGISTERED
    assert [e["assetId"] for e in events(world.stack.registry, "AssetRegistered", receipt)] == [asset_id]


def test_texts_up_to_the_code_size_limit_are_stored_and_one_byte_more_is_refused(world):
    """Legal reference, display form and URI are one SSTORE2 data contract (Solady): STOP + 4 length bytes + texts
    may fill the 24,576-byte code limit exactly; one byte more reverts TextTooLong (with the data length)."""
    f = world.stack.factory.functions
    room = 24_576 - 1 - 4 - len("BIG-REF")
    ok = f.createPropertyToken(asset_params("BIG-REF", uri="u" * room), ("Big", "BIGREF", 0, 10, PK))
    world.registrar.reverts(
        f.createPropertyToken(asset_params("BIG-REF", uri="u" * (room + 1)), ("Big", "BIGREF", 0, 10, PK)),
        "TextTooLong", length=24_576)
    receipt = world.registrar.send(ok, gas=29_000_000)
    asset = one_event(world.stack.factory, "PropertyTokenCreated", receipt)["assetId"]
    assert world.stack.registry.functions.metadataURI(asset).call() == "u" * room
    assert world.stack.registry.functions.asset(asset).call()[7] == "BIG-REF"
