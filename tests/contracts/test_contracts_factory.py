"""TokenFactory: clone + registry record in one transaction, clone configuration (name, symbol, asset id, decimals,
home country, cap or unit), argument bounds, disabled implementations."""

import pytest

from contracts_kit import (
    verdict,
    DISABLED, GB, OK, PK, REGISTERED, US, ZERO, asset_params, b32, create_commodity, create_property, events,
    one_event, same,
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
                                               decimals=2, cap=1_000_000, home=US)
    created = one_event(st.factory, "PropertyTokenCreated", receipt)
    registered = one_event(st.registry, "AssetRegistered", receipt)
    assert created["assetId"] == registered["assetId"] == asset_id == 3
    assert same(created["token"], registered["token"]) and same(created["token"], token.address)
    assert (created["name"], created["symbol"], created["decimals"], created["cap"]) == ("DHA Phase 6 Plot 42", "DHA642", 2, 1_000_000)
    assert st.registry.functions.tokenOf(asset_id).call() == token.address
    f = token.functions
    assert (f.name().call(), f.symbol().call(), f.decimals().call(), f.cap().call(), f.assetId().call()) == (
        "DHA Phase 6 Plot 42", "DHA642", 2, 1_000_000, asset_id)
    assert f.homeCountry().call() == US
    assert st.registry.functions.statusOf(asset_id).call() == REGISTERED  # nothing mints before it is set Active
    assert f.totalSupply().call() == 0 and f.holderCount().call() == 0 and f.paused().call() is False
    assert (f.authority().call(), f.identityRegistry().call(), f.assetRegistry().call()) == (
        st.access.address, st.identity.address, st.registry.address)
    assert tuple(f.rules().call()) == (0, 0, 0, 0)
    assert tuple(f.holderCaps().call()) == (0, 0, 0, 0, 0) and tuple(f.holderCounts().call()) == (0, 0, 0, 0, 0, 0)
    impl, args = clone_parts(world, token)
    assert same(impl, st.property_impl.address) and len(args) == 90
    assert int.from_bytes(args[64:72], "big") == asset_id and args[72] == 2
    assert int.from_bytes(args[73:75], "big") == US
    assert int.from_bytes(args[75:90], "big") == 1_000_000


def test_commodity_token_created_and_registered(world):
    st = world.stack
    asset_id, token, receipt = create_commodity(world, "WR-2024-001", name="Punjab Cotton", symbol="PCOT",
                                                decimals=0, unit="bale", home=GB)
    created = one_event(st.factory, "CommodityTokenCreated", receipt)
    assert (created["assetId"], created["unit"], created["decimals"]) == (asset_id, "bale", 0)
    assert tuple(st.registry.functions.asset(asset_id).call()[:2]) == (token.address, 1)
    f = token.functions
    assert (f.name().call(), f.symbol().call(), f.decimals().call(), f.unit().call(), f.assetId().call()) == (
        "Punjab Cotton", "PCOT", 0, "bale", asset_id)
    assert f.homeCountry().call() == GB
    assert f.attestedReserve().call() == 0 and f.totalSupply().call() == 0 and f.redemptionCount().call() == 0
    impl, args = clone_parts(world, token)
    assert same(impl, st.commodity_impl.address) and len(args) == 107
    assert int.from_bytes(args[73:75], "big") == GB


def test_world_tokens(world):
    assert (world.prop.functions.symbol().call(), world.prop.functions.decimals().call(), world.prop.functions.cap().call()) == ("LHR12B", 0, 10_000)
    assert (world.comm.functions.symbol().call(), world.comm.functions.decimals().call(), world.comm.functions.unit().call()) == ("KGOLD", 3, "gram")
    assert world.prop.functions.homeCountry().call() == world.comm.functions.homeCountry().call() == PK
    assert world.prop.functions.assetId().call() == world.prop_asset == 1
    assert world.comm.functions.assetId().call() == world.comm_asset == 2
    assert world.stack.factory.functions.registry().call() == world.stack.registry.address
    assert world.stack.factory.functions.propertyImplementation().call() == world.stack.property_impl.address
    assert world.stack.factory.functions.commodityImplementation().call() == world.stack.commodity_impl.address


def test_clones_have_separate_state(world):
    _, t1, _ = create_property(world, "P-A", symbol="PA", activate=True)
    _, t2, _ = create_property(world, "P-B", symbol="PB", activate=True)
    world.registrar.send(t1.functions.mint(world.alice.address, 7, b32("m")))
    assert t1.functions.balanceOf(world.alice.address).call() == 7 and t2.functions.totalSupply().call() == 0
    assert t2.functions.isReferenceUsed(b32("m")).call() is False
    world.registrar.send(t2.functions.mint(world.alice.address, 3, b32("m")))  # refs are per token
    assert t2.functions.totalSupply().call() == 3


def test_names_up_to_31_bytes(world):
    name31 = "N" * 31
    _, token, _ = create_property(world, "P-31", name=name31, symbol="S" * 11)
    assert token.functions.name().call() == name31 and token.functions.symbol().call() == "S" * 11
    _, token, _ = create_commodity(world, "C-31", name="Café ünïcode", unit="u" * 31)
    assert token.functions.name().call() == "Café ünïcode" and token.functions.unit().call() == "u" * 31
    f = world.stack.factory.functions
    for fn, text in [
        (f.createPropertyToken(asset_params("P-32"), ("N" * 32, "S", 0, 1, PK)), "N" * 32),
        (f.createPropertyToken(asset_params("P-32"), ("N", "S" * 32, 0, 1, PK)), "S" * 32),
        (f.createCommodityToken(asset_params("C-32"), ("N", "S", 0, "u" * 32, PK)), "u" * 32),
    ]:
        # the library's regular path decodes a custom error with one string argument (not as a reason string)
        world.registrar.reverts(fn, "StringTooLong", str=text)
    assert world.stack.registry.functions.assetCount().call() == 4


def test_decimals_cap_and_home_country_bounds(world):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params("D19"), ("N", "S", 19, 1, PK)), "InvalidDecimals", decimals=19)
    world.registrar.reverts(f.createCommodityToken(asset_params("D19"), ("N", "S", 19, "g", PK)), "InvalidDecimals", decimals=19)
    world.registrar.reverts(f.createPropertyToken(asset_params("C0"), ("N", "S", 0, 0, PK)), "ZeroCap")
    world.registrar.reverts(f.createPropertyToken(asset_params("C120"), ("N", "S", 0, 2**120, PK)),
                            "SafeCastOverflowedUintDowncast", bits=120, value=2**120)
    world.registrar.reverts(f.createPropertyToken(asset_params("H1000"), ("N", "S", 0, 1, 1000)),
                            "InvalidHomeCountry", homeCountry=1000)
    world.registrar.reverts(f.createCommodityToken(asset_params("H1000"), ("N", "S", 0, "g", 65535)),
                            "InvalidHomeCountry", homeCountry=65535)
    assert world.stack.registry.functions.assetCount().call() == 2  # the refused ones registered nothing
    _, token, _ = create_property(world, "MAX", decimals=18, cap=2**120 - 1, home=999)
    assert token.functions.cap().call() == 2**120 - 1 and token.functions.decimals().call() == 18
    assert token.functions.homeCountry().call() == 999
    _, token, _ = create_commodity(world, "MAXC", decimals=18, home=0)  # 0: no home country
    assert token.functions.decimals().call() == 18 and token.functions.homeCountry().call() == 0


def test_failed_creation_leaves_no_record_and_no_id_gap(world):
    f = world.stack.factory.functions
    world.registrar.reverts(f.createPropertyToken(asset_params(""), ("N", "S", 0, 1, PK)), "LegalReferenceNotCanonical")
    world.registrar.reverts(f.createPropertyToken(asset_params("X-1", b"\0\0"), ("N", "S", 0, 1, PK)),
                            "JurisdictionNotCanonical")
    asset_id, _, _ = create_property(world, "AFTER")
    assert asset_id == 3


@pytest.mark.parametrize("kind", ["property", "commodity"])
def test_implementations_are_disabled(world, kind):
    impl = world.stack.property_impl if kind == "property" else world.stack.commodity_impl
    alice, bob = world.alice.address, world.bob.address
    f = impl.functions
    assert verdict(f, ZERO, alice, 1) == (False, DISABLED)
    assert verdict(f, alice, bob, 0) == (False, DISABLED)
    assert verdict(f, alice, ZERO, 0) == (False, DISABLED)
    assert tuple(f.canForceTransfer(alice, bob, 0, True).call()) == (False, DISABLED)
    if kind == "commodity":  # even with a reserve, nothing can be minted on the implementation
        world.custodian.send(f.attestLot(b32("IMPL-LOT"), "v", 1000, b32("r")))
    world.registrar.reverts(f.mint(alice, 1, b32("impl")), "TransferNotAllowed",
                            **{"from": ZERO, "to": alice, "amount": 1, "reason": DISABLED})
    world.registrar.reverts(f.batchMint([alice], [1], [b32("impl")]), "TransferNotAllowed", reason=DISABLED)
    world.alice.reverts(f.transfer(bob, 0), "TransferNotAllowed", reason=DISABLED)
    world.registrar.reverts(f.forcedTransfer(alice, bob, 0, b32("x"), True), "TransferNotAllowed", reason=DISABLED)
    assert f.totalSupply().call() == 0 and f.isReferenceUsed(b32("impl")).call() is False
    # a clone of it works
    token = world.prop if kind == "property" else world.comm
    assert verdict(token.functions, ZERO, alice, 1) == (True, OK)


def test_factory_emits_nothing_else_on_token(world):
    _, token, receipt = create_property(world, "QUIET")
    assert events(token, "Transfer", receipt) == [] and events(token, "Minted", receipt) == []
