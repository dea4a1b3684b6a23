"""Fixtures of the contract tests: one deployed stack per test module, a clean copy per test.

``world`` (module scope) takes a chain snapshot, deploys the whole stack with one account per role (admin,
registrar, compliance, custodian, pause guardian: no account holds two roles), registers the investors, creates a property and a
commodity token (home country PK), sets both assets Active (nothing mints before) and mints the opening balances; at the end of the module it reverts to its snapshot, so the shared
session chain is left as it was found. ``isolation`` is autouse: each test runs in a snapshot of that state.

The stack is deployed through its own :class:`~rwaledger.session.Session` (own in-memory deployment records), so
the deployment records of the shared ``rwa`` session, used by other test modules, are never touched.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak

from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

from contracts_kit import (
    ACTIVE, COMM_RESERVE, COMMODITY_PARAMS, GB, PK, PROP_CAP, PROPERTY_PARAMS, US, YEAR, Actor, World, b32, bind_token,
    one_event,
)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    """Every contract test runs in a snapshot of its module's world."""


def build_world(chain, build, accounts) -> World:
    session = open_session(chain=chain, build=build, signer=accounts[0], record=False)
    names = ["admin", "registrar", "compliance", "custodian", "alice", "bob", "carol", "dave", "erin", "outsider"]
    actors = {}
    for name, signer in zip(names, accounts):
        tx = session.tx if name == "admin" else session.transactor(signer)
        actors[name] = Actor(name, signer.address, tx)
    guardian = Signer(Account.from_key(keccak(text="rwaledger contract tests: the pause guardian")), "guardian")
    session.tx.transfer_eth(guardian.address, 10**19)  # an account of its own: the dev accounts all have a part
    actors["guardian"] = Actor("guardian", guardian.address, session.transactor(guardian))
    stack = deploy_stack(
        session,
        redeploy=True,
        roles={
            "registrar": [actors["registrar"].address],
            "compliance": [actors["compliance"].address],
            "custodian": [actors["custodian"].address],
            "guardian": [guardian.address],
        },
    )
    expiry = chain.timestamp() + 5 * YEAR
    investors = [actors[n].address for n in ("alice", "bob", "carol", "dave", "erin")]
    actors["compliance"].send(
        stack.identity.functions.batchRegisterIdentity(investors, [PK, PK, US, GB, PK], [expiry] * 5, [1, 2, 3, 1, 1])
    )
    reg = actors["registrar"]
    receipt = reg.send(stack.factory.functions.createPropertyToken(PROPERTY_PARAMS, ("Lahore Apartment 12B", "LHR12B", 0, PROP_CAP, PK)))
    ev = one_event(stack.factory, "PropertyTokenCreated", receipt)
    prop, prop_asset = bind_token(stack, ev["token"], "property"), ev["assetId"]
    receipt = reg.send(stack.factory.functions.createCommodityToken(COMMODITY_PARAMS, ("Karachi Vault Gold", "KGOLD", 3, "gram", PK)))
    ev = one_event(stack.factory, "CommodityTokenCreated", receipt)
    comm, comm_asset = bind_token(stack, ev["token"], "commodity"), ev["assetId"]

    for asset in (prop_asset, comm_asset):
        reg.send(stack.registry.functions.setStatus(asset, ACTIVE))

    alice, bob = actors["alice"].address, actors["bob"].address
    genesis = [b32("genesis-alice"), b32("genesis-bob")]
    reg.send(prop.functions.batchMint([alice, bob], [1000, 500], genesis))
    actors["custodian"].send(comm.functions.attestLot(b32("LOT-1"), "Karachi vault 7", COMM_RESERVE, b32("receipt-1")))
    reg.send(comm.functions.batchMint([alice, bob], [10_000, 5_000], genesis))
    return World(
        chain=chain,
        session=session,
        stack=stack,
        kyc_expiry=expiry,
        prop=prop,
        prop_asset=prop_asset,
        comm=comm,
        comm_asset=comm_asset,
        **actors,
    )


@pytest.fixture(scope="module")
def world(chain, rwa_build, accounts) -> World:
    snapshot = chain.snapshot()
    w = build_world(chain, rwa_build, accounts)
    yield w
    chain.revert(snapshot)
