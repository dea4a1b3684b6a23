"""AssetRegistry: records created by the factory, uniqueness, status, valuation, metadata and documents."""

import pytest
from eth_utils import keccak

from rwaledger.errors import CustomErrorRevert

from contracts_kit import (
    GAS, PROPERTY_PARAMS, ZERO, asset_params, create_commodity, create_property, events, one_event, same, sha,
    transfer_ok,
)

REGISTERED, ACTIVE, SUSPENDED, RETIRED = 0, 1, 2, 3


def test_factory_record_has_every_field(world):
    reg = world.stack.registry
    jur, ref, uri, amount, cur, date = PROPERTY_PARAMS
    record = tuple(reg.functions.asset(world.prop_asset).call())
    assert record == (world.prop.address, 0, REGISTERED, jur, cur, date, amount, ref, uri)
    assert reg.functions.tokenOf(world.prop_asset).call() == world.prop.address
    assert reg.functions.statusOf(world.prop_asset).call() == REGISTERED
    assert reg.functions.metadataURI(world.prop_asset).call() == uri
    assert reg.functions.assetIdOf(jur, ref).call() == world.prop_asset
    assert reg.functions.assetIdOf(jur, ref + " ").call() == 0  # exact key, no normalisation on chain
    assert reg.functions.asset(world.comm_asset).call()[1] == 1  # Commodity
    assert reg.functions.assetCount().call() == 2 and reg.functions.nextAssetId().call() == 3
    assert reg.functions.factory().call() == world.stack.factory.address


def test_asset_registered_event_carries_the_record_and_key(world):
    reg = world.stack.registry
    asset_id, token, receipt = create_property(world, "PARCEL-77", jurisdiction=b"AE")
    ev = one_event(reg, "AssetRegistered", receipt)
    assert ev["assetId"] == asset_id == 3 and same(ev["token"], token.address) and ev["kind"] == 0
    assert ev["jurisdiction"] == b"AE" and ev["legalReference"] == "PARCEL-77" and ev["metadataURI"] == "ipfs://x"
    assert ev["key"] == keccak(b"AE" + b"PARCEL-77")


def test_same_reference_same_jurisdiction_reverts(world):
    jur, ref = PROPERTY_PARAMS[0], PROPERTY_PARAMS[1]
    f = world.stack.factory.functions
    world.registrar.reverts(
        f.createPropertyToken(asset_params(ref, jur), ("Dup", "DUP", 0, 100)),
        "AssetAlreadyRegistered", jurisdiction=jur, legalReference=ref, existingAssetId=world.prop_asset)
    # the key is (jurisdiction, reference), whatever the kind
    world.registrar.reverts(
        f.createCommodityToken(asset_params(ref, jur), ("Dup", "DUP", 0, "kg")),
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


def test_retired_asset_keeps_its_key(world):
    world.registrar.send(world.stack.registry.functions.setStatus(world.prop_asset, RETIRED))
    world.registrar.reverts(
        world.stack.factory.functions.createPropertyToken(asset_params(PROPERTY_PARAMS[1]), ("Again", "AG", 0, 1)),
        "AssetAlreadyRegistered", existingAssetId=world.prop_asset)


@pytest.mark.parametrize("params", [
    pytest.param((b"\0\0", "REF-1", "", 0, b"\0\0\0", 0), id="empty-jurisdiction"),
    pytest.param((b"PK", "", "", 0, b"\0\0\0", 0), id="empty-reference"),
])
def test_invalid_asset_params(world, params):
    world.registrar.reverts(world.stack.factory.functions.createPropertyToken(params, ("X", "X", 0, 1)),
                            "InvalidAssetParams")


@pytest.mark.parametrize("role", ["admin", "registrar", "compliance", "custodian", "investor"])
def test_only_the_factory_registers(world, role):
    actor = world.role_actor(role)
    actor.reverts(
        world.stack.registry.functions.registerAsset(0, asset_params("DIRECT-1"), world.prop.address),
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
    r = world.bob.send(fresh.functions.registerAsset(0, asset_params("VIA-BOB"), world.prop.address))
    assert one_event(fresh, "AssetRegistered", r)["assetId"] == 1
    world.carol.reverts(fresh.functions.registerAsset(0, asset_params("VIA-CAROL"), world.prop.address),
                        "NotFactory", caller=world.carol.address)


@pytest.mark.parametrize("start", [REGISTERED, ACTIVE, SUSPENDED, RETIRED])
@pytest.mark.parametrize("target", [REGISTERED, ACTIVE, SUSPENDED, RETIRED])
def test_status_transitions(world, start, target):
    reg = world.stack.registry
    a = world.prop_asset
    if start != REGISTERED:
        world.registrar.send(reg.functions.setStatus(a, start))
    assert reg.functions.statusOf(a).call() == start
    if start == RETIRED or start == target:  # Retired is final; a no-op change is refused
        world.registrar.reverts(reg.functions.setStatus(a, target), "InvalidStatusTransition",
                                assetId=a, current=start, requested=target)
        assert reg.functions.statusOf(a).call() == start
    else:
        ev = one_event(reg, "AssetStatusChanged", world.registrar.send(reg.functions.setStatus(a, target)))
        assert (ev["assetId"], ev["previousStatus"], ev["newStatus"]) == (a, start, target)
        assert reg.functions.statusOf(a).call() == target == reg.functions.asset(a).call()[2]


def test_status_is_informational_suspended_asset_still_trades(world):
    world.registrar.send(world.stack.registry.functions.setStatus(world.prop_asset, SUSPENDED))
    transfer_ok(world.prop, world.alice, world.bob.address, 1)


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
    assert rec[0] == world.prop.address and rec[7] == PROPERTY_PARAMS[1]  # other fields untouched
    world.registrar.send(reg.functions.updateValuation(a, 0, b"USD", 1_760_000_000))
    assert reg.functions.asset(a).call()[6] == 0


def test_set_metadata_uri(world):
    reg = world.stack.registry
    ev = one_event(reg, "MetadataURIUpdated", world.registrar.send(reg.functions.setMetadataURI(world.comm_asset, "ipfs://v2")))
    assert (ev["assetId"], ev["metadataURI"]) == (world.comm_asset, "ipfs://v2")
    assert reg.functions.metadataURI(world.comm_asset).call() == "ipfs://v2"
    assert reg.functions.asset(world.comm_asset).call()[8] == "ipfs://v2"


# ------------------------------------------------------------------------------------------------- documents


def add_doc(world, asset, name, uri, supersedes=0, effective=1_700_000_000):
    reg = world.stack.registry
    receipt = world.registrar.send(reg.functions.addDocument(asset, name, uri, sha(uri), effective, supersedes))
    return one_event(reg, "DocumentAdded", receipt)


def test_documents_append_only_history_with_supersedes(world):
    reg = world.stack.registry
    a = world.prop_asset
    ev1 = add_doc(world, a, "Title deed", "ipfs://deed-v1")
    d1 = ev1["documentId"]
    assert d1 == 1 and reg.functions.documentCount().call() == 1
    assert (ev1["assetId"], ev1["name"], ev1["uri"], ev1["sha256Hash"], ev1["effectiveDate"], ev1["supersedes"]) == (
        a, "Title deed", "ipfs://deed-v1", sha("ipfs://deed-v1"), 1_700_000_000, 0)
    assert reg.functions.currentDocument(a, "Title deed").call() == d1

    ev2 = add_doc(world, a, "Title deed", "ipfs://deed-v2", supersedes=d1, effective=1_710_000_000)
    d2 = ev2["documentId"]
    assert d2 == 2 and ev2["supersedes"] == d1
    assert tuple(reg.functions.document(d1).call()) == (a, 0, d2, 1_700_000_000, sha("ipfs://deed-v1"), "Title deed", "ipfs://deed-v1")
    assert tuple(reg.functions.document(d2).call()) == (a, d1, 0, 1_710_000_000, sha("ipfs://deed-v2"), "Title deed", "ipfs://deed-v2")
    assert reg.functions.currentDocument(a, "Title deed").call() == d2

    d3 = add_doc(world, a, "Valuation report", "ipfs://val-v1")["documentId"]
    d4 = add_doc(world, a, "Title deed", "ipfs://deed-v3", supersedes=d2)["documentId"]
    assert reg.functions.documentIds(a).call() == [d1, d2, d3, d4]
    assert reg.functions.currentDocument(a, "Title deed").call() == d4
    assert reg.functions.currentDocument(a, "Valuation report").call() == d3
    assert reg.functions.currentDocument(a, "Lease").call() == 0
    assert reg.functions.document(d2).call()[2] == d4
    # ids are global: another asset's first document gets the next id, its own history is separate
    d5 = add_doc(world, world.comm_asset, "Title deed", "ipfs://other")["documentId"]
    assert d5 == 5 and reg.functions.documentIds(world.comm_asset).call() == [d5]
    assert reg.functions.currentDocument(world.comm_asset, "Title deed").call() == d5
    assert reg.functions.documentCount().call() == 5


def test_new_chain_for_a_current_name_reverts(world):
    reg = world.stack.registry
    d1 = add_doc(world, world.prop_asset, "Title deed", "ipfs://v1")["documentId"]
    world.registrar.reverts(reg.functions.addDocument(world.prop_asset, "Title deed", "ipfs://v1b", sha("x"), 0, 0),
                            "DocumentNameTaken", assetId=world.prop_asset, name="Title deed", currentDocumentId=d1)


def test_wrong_supersedes(world):
    reg = world.stack.registry
    a, other = world.prop_asset, world.comm_asset
    d1 = add_doc(world, a, "Title deed", "ipfs://v1")["documentId"]
    d2 = add_doc(world, a, "Title deed", "ipfs://v2", supersedes=d1)["documentId"]
    d_other = add_doc(world, other, "Title deed", "ipfs://o1")["documentId"]
    d_lease = add_doc(world, a, "Lease", "ipfs://lease")["documentId"]

    def add(name, supersedes):
        return reg.functions.addDocument(a, name, "ipfs://new", sha("new"), 0, supersedes)

    world.registrar.reverts(add("Title deed", 999), "DocumentNotFound", documentId=999)
    world.registrar.reverts(add("Title deed", d_other), "DocumentAssetMismatch", documentId=d_other, assetId=a)
    world.registrar.reverts(add("Title deed", d1), "DocumentAlreadySuperseded", documentId=d1, supersededBy=d2)
    world.registrar.reverts(add("Title deed", d_lease), "DocumentNameMismatch", documentId=d_lease)
    world.registrar.reverts(add("Lease", d2), "DocumentNameMismatch", documentId=d2)
    world.registrar.reverts(add("", 0), "EmptyDocumentName")
    # nothing changed
    assert reg.functions.documentIds(a).call() == [d1, d2, d_lease]
    assert reg.functions.currentDocument(a, "Title deed").call() == d2
    assert reg.functions.document(d1).call()[2] == d2 and reg.functions.document(d2).call()[2] == 0
    assert reg.functions.documentCount().call() == 4
    with pytest.raises(CustomErrorRevert) as info:
        world.registrar.tx.call(reg.functions.document(999))
    assert info.value.name == "DocumentNotFound" and info.value.args_by_name == {"documentId": 999}


def test_document_ids_not_consumed_by_reverted_adds(world):
    reg = world.stack.registry
    add_doc(world, world.prop_asset, "Title deed", "ipfs://v1")
    world.registrar.reverts(reg.functions.addDocument(world.prop_asset, "Title deed", "u", sha("u"), 0, 0),
                            "DocumentNameTaken")
    assert add_doc(world, world.prop_asset, "Lease", "ipfs://l")["documentId"] == 2


def test_commodity_creation_links_record(world):
    asset_id, token, receipt = create_commodity(world, "WH-RECEIPT-1")
    rec = world.stack.registry.functions.asset(asset_id).call()
    assert rec[0] == token.address and rec[1] == 1 and rec[2] == REGISTERED
    assert [e["assetId"] for e in events(world.stack.registry, "AssetRegistered", receipt)] == [asset_id]
