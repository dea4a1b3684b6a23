"""Roles given to Safes and keys at deploy time (``rwaledger.roles``), on both local chains: a ``[roles]`` table is
checked before anything is sent; admin, registrar and compliance move to one 2-of-3 Safe, the custodian and the pause
guardian to keys; the deployer keeps nothing; a re-run sends nothing; every privileged act is refused to the old key
and accepted from the Safe; ``check_roles`` finds a changed owner set and an extra holder on chain.
"""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from rwaledger import safe as safes
from rwaledger.constants import ADMIN_ROLE, COMPLIANCE_ROLE, CUSTODIAN_ROLE, GUARDIAN_ROLE, REGISTRAR_ROLE
from rwaledger.errors import CustomErrorRevert
from rwaledger.services import Services, RegistrarError
from rwaledger.roles import RolesError, check_roles, deploy_with_roles, load_roles, parse_holder
from rwaledger.session import open_session
from rwaledger.signers import Signer

pytestmark = pytest.mark.chains("tester", "anvil")

PK = 586


@pytest.fixture(scope="module")
def env(chain, rwa_build):
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    keys = chain.dev_accounts
    owners = [Signer(keys[i], f"owner {i}") for i in (1, 2, 3)]
    custodian, guardian = keys[4].address, keys[5].address
    spec = ",".join(o.address for o in owners) + ":2"
    holders = {role: parse_holder(role, spec, f"test: {role}") for role in ("admin", "registrar", "compliance")}
    holders["custodian"] = parse_holder("custodian", custodian, "test")
    holders["guardian"] = parse_holder("guardian", guardian, "test")
    # a token made while the deployer still holds the registrar role, to act on afterwards
    from rwaledger.stack import deploy_stack

    first = deploy_stack(session)
    params = (b"PK", "ROLES/REF/1", "", "ipfs://roles", 0, b"\0\0\0", 0)
    receipt = session.tx.transact(first.factory.functions.createPropertyToken(params, ("Roles test", "ROLE1", 0, 1_000, PK)))
    (ev,) = first.factory.events.PropertyTokenCreated().process_receipt(receipt.raw, errors=DISCARD)
    token = first.token(ev["args"]["token"], "property")
    stack, held = deploy_with_roles(session, holders)
    vault = session.chain.w3.eth.contract(address=held["registrar"], abi=rwa_build["SafeL2"].abi)
    yield session, stack, held, vault, owners, token, holders
    chain.revert(snapshot)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def test_a_roles_table_is_checked_before_anything_is_sent(tmp_path):
    good = tmp_path / "roles.toml"
    good.write_text('[roles]\nregistrar = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8,'
                    '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC:2"\nguardian = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"\n')
    roles = load_roles(good)
    assert roles["registrar"].is_safe and roles["registrar"].threshold == 2 and len(roles["registrar"].owners) == 2
    assert not roles["guardian"].is_safe and roles["guardian"].key == "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    cases = {
        '[roles]\nclerk = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"\n': "field roles.clerk: unknown role 'clerk'",
        '[roles]\nguardian = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8:1"\n': "field roles.guardian: the guardian is one key",
        '[roles]\ncustodian = "0x7099"\n': "field roles.custodian: '0x7099' is not an address",
        '[roles]\nregistrar = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8:2"\n': "threshold of 2",
        '[other]\nx = 1\n': "no [roles] table",
        '[roles\n': "roles.toml",
    }
    for text, error in cases.items():
        good.write_text(text)
        with pytest.raises(RolesError, match=error.replace("[", r"\[").replace("]", r"\]")):
            load_roles(good)


def test_the_deployer_keeps_no_role_and_a_rerun_sends_nothing(env):
    session, stack, held, vault, owners, _, holders = env
    me = session.signer.address
    access = stack.access.functions
    for role in (ADMIN_ROLE, REGISTRAR_ROLE, COMPLIANCE_ROLE, CUSTODIAN_ROLE, GUARDIAN_ROLE):
        assert not access.hasRole(role, me).call()
    assert held["admin"] == held["registrar"] == held["compliance"] == vault.address
    assert access.hasRole(ADMIN_ROLE, vault.address).call() and access.hasRole(GUARDIAN_ROLE, held["guardian"]).call()
    assert sorted(vault.functions.getOwners().call()) == sorted(o.address for o in owners)
    block = session.chain.w3.eth.block_number
    again, held_again = deploy_with_roles(session, holders)
    assert held_again == held and session.chain.w3.eth.block_number == block
    assert all(f.ok for f in check_roles(stack)), check_roles(stack)


def _refused(session, fn, account, role):
    with pytest.raises(CustomErrorRevert) as info:
        session.tx.call(fn, sender=account)
    assert info.value.name == "AccessControlUnauthorizedAccount" and info.value.args_by_name["neededRole"] == role


def test_every_role_act_is_refused_to_the_old_key_and_accepted_from_its_safe(env):
    """The role matrix with Safes as holders: each role's acts, run as the deployer's key (which held every role) are
    refused naming the role; run from the holder (the Safe, or the custodian's and guardian's keys) they pass."""
    session, stack, held, vault, owners, token, _ = env
    me = session.signer.address
    investor = session.chain.dev_accounts[6].address
    t, i, r, a = token.functions, stack.identity.functions, stack.registry.functions, stack.access.functions
    asset = t.assetId().call()
    # eth-tester runs a call only from an account that could pay for it (a Safe's receive costs more than 21,000 gas)
    session.tx.wait(session.tx.send_raw(session.tx.build(vault.address, b"", value=10**18)))
    params = (b"PK", "ROLES/REF/2", "", "ipfs://roles2", 0, b"\0\0\0", 0)
    acts = {
        REGISTRAR_ROLE: [stack.factory.functions.createPropertyToken(params, ("Roles two", "ROLE2", 0, 10, PK)),
                         r.setStatus(asset, 1)],
        COMPLIANCE_ROLE: [i.registerIdentity(investor, PK, 2**40, 1), t.setAddressFrozen(investor, True),
                          t.setCountryRestriction(1)],
        ADMIN_ROLE: [a.grantRole(REGISTRAR_ROLE, investor)],
    }
    for role, fns in acts.items():
        for fn in fns:
            _refused(session, fn, me, role)
            session.tx.call(fn, sender=vault.address)
    _refused(session, t.pause(), me, COMPLIANCE_ROLE)
    session.tx.call(t.pause(), sender=held["guardian"])
    session.tx.call(t.pause(), sender=vault.address)  # the compliance Safe may pause too
    _refused(session, t.unpause(), held["guardian"], COMPLIANCE_ROLE)  # the guardian may not unpause
    _refused(session, r.setStatus(asset, 1), held["guardian"], REGISTRAR_ROLE)  # nor do anything else


def test_the_guardian_pauses_through_the_registrar_and_the_safe_unpauses(env):
    session, stack, held, vault, owners, token, _ = env
    registrar = Services(stack, guardian=Signer(session.chain.dev_accounts[5], "guardian"))  # the deployer: no role
    assert registrar.enforcement.pause(token.address).status == "done" and token.functions.paused().call()
    with pytest.raises(RegistrarError, match="unpausing needs the compliance role"):
        registrar.enforcement.pause(token.address, paused=False)
    unpause = safes.safe_tx(vault, token.address, token.encode_abi("unpause", args=[]))
    safes.execute(session, vault, unpause, [safes.sign(owners[0], unpause), safes.sign(owners[2], unpause)])
    assert not token.functions.paused().call()


def test_check_roles_finds_what_changed_on_chain(env):
    session, stack, held, vault, owners, _, _ = env
    newcomer = session.chain.dev_accounts[7].address
    two = lambda tx: [safes.sign(owners[0], tx), safes.sign(owners[1], tx)]  # noqa: E731
    add = safes.safe_tx(vault, vault.address, vault.encode_abi("addOwnerWithThreshold", args=[newcomer, 2]))
    safes.execute(session, vault, add, two(add))
    grant = safes.safe_tx(vault, stack.access.address, stack.access.encode_abi("grantRole", args=[CUSTODIAN_ROLE, newcomer]))
    safes.execute(session, vault, grant, two(grant))
    findings = {f.role: f for f in check_roles(stack)}
    assert not findings["registrar"].ok and "owners are now" in findings["registrar"].detail
    assert not findings["custodian"].ok and f"also held by {newcomer}" in findings["custodian"].detail
    assert findings["guardian"].ok


def test_a_registrar_that_looked_before_the_role_moved_is_refused_in_one_clear_error(chain, rwa_build):
    """A long-lived registrar cached that its key holds the registrar role; the role moves to a Safe; its next mint
    is refused (at estimation: nothing is sent) with a RegistrarError naming the role, and it looks again after."""
    from rwaledger.models import InvestorSpec, MintRequest, PropertySpec, parse

    snapshot = chain.snapshot()
    try:
        session = open_session(chain=chain, build=rwa_build, record=False)
        from rwaledger.stack import deploy_stack

        stack = deploy_stack(session)
        reg = Services(stack)
        spec = {"kind": "property", "name": "Cache test", "symbol": "CACHE1", "jurisdiction": "PK",
                "legal_reference": "LHR/CACHE/1", "total_shares": 100, "location": "Lahore", "metadata_uri": "ipfs://c",
                "valuation": {"amount": "1", "currency": "PKR", "date": "2026-01-01"}}
        reg.assets.register(parse(PropertySpec, spec, "spec"))
        investor = session.chain.dev_accounts[6].address
        reg.investors.add_many([parse(InvestorSpec, {"wallet": investor, "country": "PK", "kyc_expiry": "2030-01-01"}, "i")])
        owners = ",".join(a.address for a in session.chain.dev_accounts[1:4]) + ":2"
        deploy_with_roles(session, {"registrar": parse_holder("registrar", owners, "test")})
        block = session.chain.w3.eth.block_number
        with pytest.raises(RegistrarError, match="no longer holds the registrar role"):
            reg.issuance.mint(MintRequest(asset="CACHE1", to=investor, amount="1", reference="after-move"))
        assert session.chain.w3.eth.block_number == block
        with pytest.raises(RegistrarError, match="needs the registrar role, which"):  # looked again: refused first
            reg.issuance.mint(MintRequest(asset="CACHE1", to=investor, amount="1", reference="after-move"))
    finally:
        chain.revert(snapshot)
