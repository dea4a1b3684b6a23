"""TokenFactory: clone + registry record in one transaction, clone configuration, disabled implementations."""

import pytest

from contracts_kit import (
    DISABLED, OK, ZERO, asset_params, b32, create_commodity, create_property, events, one_event, same,
)

EIP1167_HEAD = bytes.fromhex("363d3d373d3d3d363d73")
EIP1167_TAIL = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def clone_parts(world, token):
    code = bytes(world.chain.w3.eth.get_code(token.address))
    assert code[:10] == EIP1167_HEAD and code[30:45] == EIP1167_TAIL
    return "0x" + code[10:30].hex(), code[45:]


def test_property_token_created_and_registered_in_one_transaction(world):
    st = world.stack
    asset_id, token, receipt = create_property(world, "PARCEL-1", name="DHA Phase 6 Plot 42", symbol="DHA642",
                                               decimals=2, cap=1_000_000)
    created = one_event(st.factory, "PropertyTokenCreated", receipt)
    registered = one_event(st.registry, "AssetRegistered", receipt)
    assert created["assetId"] == registered["assetId"] == asset_id == 3
    assert same(created["token"], registered["token"]) and same(created["token"], token.address)
    assert (created["name"], created["symbol"], created["decimals"], created["cap"]) == ("DHA Phase 6 Plot 42", "DHA642", 2, 1_000_000)
    assert st.registry.functions.tokenOf(asset_id).call() == token.address
    f = token.functions
    assert (f.name().call(), f.symbol().call(), f.decimals().call(), f.cap().call(), f.assetId().call()) == (
        "DHA Phase 6 Plot 42", "DHA642", 2, 1_000_000, asset_id)
    assert f.totalSupply().call() == 0 and f.holderCount().call() == 0 and f.paused().call() is False
    assert (f.authority().call(), f.identityRegistry().call(), f.assetRegistry().call()) == (
        st.access.address, st.identity.address, st.registry.address)
    assert tuple(f.rules().call()) == (0, 0, 0, 0)
    impl, args = clone_parts(world, token)
    assert same(impl, st.property_impl.address) and len(args) == 89
    assert int.from_bytes(args[64:72], "big") == asset_id and args[72] == 2
    assert int.from_bytes(args[73:89], "big") == 1_000_000


def test_commodity_token_created_and_registered(world):
    st = world.stack
    asset_id, token, receipt = create_commodity(world, "WR-2024-001", name="Punjab Cotton", symbol="PCOT",
                                                decimals=0, unit="bale")
    created = one_event(st.factory, "CommodityTokenCreated", receipt)
    assert (created["assetId"], created["unit"], created["decimals"]) == (asset_id, "bale", 0)
    assert tuple(st.registry.functions.asset(asset_id).call()[:2]) == (token.address, 1)
    f = token.functions
    assert (f.name().call(), f.symbol().call(), f.decimals().call(), f.unit().call(), f.assetId().call()) == (
        "Punjab Cotton", "PCOT", 0, "bale", asset_id)
    assert f.attestedReserve().call() == 0 and f.totalSupply().call() == 0 and f.redemptionCount().call() == 0
    impl, args = clone_parts(world, token)
    assert same(impl, st.commodity_impl.address) and len(args) == 105


def test_world_tokens(world):
    assert (world.prop.functions.symbol().call(), world.prop.functions.decimals().call(), world.prop.functions.cap().call()) == ("LHR12B", 0, 10_000)
    assert (world.comm.functions.symbol().call(), world.comm.functions.decimals().call(), world.comm.functions.unit().call()) == ("KGOLD", 3, "gram")
    assert world.prop.functions.assetId().call() == world.prop_asset == 1
    assert world.comm.functions.assetId().call() == world.comm_asset == 2
    assert world.stack.factory.functions.registry().call() == world.stack.registry.address
    assert world.stack.factory.functions.propertyImplementation().call() == world.stack.property_impl.address
    assert world.stack.factory.functions.commodityImplementation().call() == world.stack.commodity_impl.address


def test_clones_have_separate_state(world):
    _, t1, _ = create_property(world, "P-A", symbol="PA")
    _, t2, _ = create_property(world, "P-B", symbol="PB")
    world.registrar.send(t1.functions.mint(world.alice.address, 7, b32("m")))
    assert t1.functions.balanceOf(world.alice.address).call() == 7 and t2.functions.totalSupply().call() == 0
    assert t2.functions.isReferenceUsed(b32("m")).call() is False
    world.registrar.send(t2.functions.mint(world.alice.address, 3, b32("m")))  # refs are per token
    assert t2.functions.totalSupply().call() == 3


def test_names_up_to_31_bytes(world):
    name31 = "N" * 31
    _, token, _ = create_property(world, "P-31", name=name31, symbol="S" * 31)
    assert token.functions.name().call() == name31 and token.functions.symbol().call() == "S" * 31
    _, token, _ = create_commodity(world, "C-31", name="Café ünïcode", unit="u" * 31)
    assert token.functions.name().call() == "Café ünïcode" and token.functions.unit().call() == "u" * 31
    f = world.stack.factory.functions
    for fn, text in [
        (f.createPropertyToken(asset_params("P-32"), ("N" * 32, "S", 0, 1)), "N" * 32),
        (f.createPropertyToken(asset_params("P-32"), ("N", "S" * 32, 0, 1)), "S" * 32),
        (f.createCommodityToken(asset_params("C-32"), ("N", "S", 0, "u" * 32)), "u" * 32),
    ]:
        # the library's regular path decodes a custom error with one string argument (not as a reason string)
        world.registrar.reverts(fn, "StringTooLong", str=text)
    assert world.stack.registry.functions.assetCount().call() == 4


def test_decimals_and_cap_bounds(world):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params("D19"), ("N", "S", 19, 1)), "InvalidDecimals", decimals=19)
    world.registrar.reverts(f.createCommodityToken(asset_params("D19"), ("N", "S", 19, "g")), "InvalidDecimals", decimals=19)
    world.registrar.reverts(f.createPropertyToken(asset_params("C0"), ("N", "S", 0, 0)), "ZeroCap")
    world.registrar.reverts(f.createPropertyToken(asset_params("C128"), ("N", "S", 0, 2**128)),
                            "SafeCastOverflowedUintDowncast", bits=128, value=2**128)
    _, token, _ = create_property(world, "MAX", decimals=18, cap=2**128 - 1)
    assert token.functions.cap().call() == 2**128 - 1 and token.functions.decimals().call() == 18
    _, token, _ = create_commodity(world, "MAXC", decimals=18)
    assert token.functions.decimals().call() == 18
    assert world.stack.registry.functions.assetCount().call() == 4  # the refused ones registered nothing


def test_failed_creation_leaves_no_record_and_no_id_gap(world):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params(""), ("N", "S", 0, 1)), "InvalidAssetParams")
    asset_id, _, _ = create_property(world, "AFTER")
    assert asset_id == 3


@pytest.mark.parametrize("kind", ["property", "commodity"])
def test_implementations_are_disabled(world, kind):
    impl = world.stack.property_impl if kind == "property" else world.stack.commodity_impl
    alice, bob = world.alice.address, world.bob.address
    f = impl.functions
    assert tuple(f.canTransfer(ZERO, alice, 1).call()) == (False, DISABLED)
    assert tuple(f.canTransfer(alice, bob, 0).call()) == (False, DISABLED)
    assert tuple(f.canTransfer(alice, ZERO, 0).call()) == (False, DISABLED)
    if kind == "commodity":  # even with a reserve, nothing can be minted on the implementation
        world.custodian.send(f.attestLot(b32("IMPL-LOT"), "v", 1000, b32("r")))
    world.registrar.reverts(f.mint(alice, 1, b32("impl")), "TransferNotAllowed",
                            **{"from": ZERO, "to": alice, "amount": 1, "reason": DISABLED})
    world.registrar.reverts(f.batchMint([alice], [1], b32("impl")), "TransferNotAllowed", reason=DISABLED)
    world.alice.reverts(f.transfer(bob, 0), "TransferNotAllowed", reason=DISABLED)
    assert f.totalSupply().call() == 0
    # a clone of it works
    token = world.prop if kind == "property" else world.comm
    assert tuple(token.functions.canTransfer(ZERO, alice, 1).call()) == (True, OK)


def test_factory_emits_nothing_else_on_token(world):
    _, token, receipt = create_property(world, "QUIET")
    assert events(token, "Transfer", receipt) == [] and events(token, "Minted", receipt) == []
