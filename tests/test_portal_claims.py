"""The wallet page and ``/api/wallets/{wallet}/distributions``: a distribution funded over the example apartment's
holders is claimable by each of them (the entitlement from the published proofs file), and once a holder claims it
on the chain, it is listed as claimed with the amount the chain paid; no investor label on the page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
import re
import time

import pytest
from fastapi.testclient import TestClient

from portal_kit import name_parts
from rwaledger.api import create_app
from rwaledger.api.app import CHECKPOINT_TTL
from rwaledger.ledger import Ledger
from rwaledger.services import Services


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def test_a_distribution_is_claimable_then_claimed_on_the_wallet_page(example_world, ledger_url, tmp_path):
    session, stack, _, investors, _ = example_world
    proofs = tmp_path / "distributions"
    reg = Services(stack, proofs)
    pkr = session.deployer.deploy("TestStablecoin")
    reg.tx.transact(pkr.functions.mint(reg.tx.address, 10**12))
    expiry = dt.datetime.fromtimestamp(session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    outcome = reg.distributions.distribute("LHR-GH12B", pkr.address, 950_001, expiry,
                                           session.chain.w3.eth.block_number)
    dist = outcome.facts["distribution_id"]
    assert (proofs / f"{dist}.json").exists()
    plan = reg.distributions.plan(dist)
    entitled = {w: a for _, w, a in plan.entries}
    ayesha = investors[0].wallet
    assert entitled[ayesha] > 0

    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    client = TestClient(create_app(ledger, distributions_dir=proofs))
    api = client.get(f"/api/wallets/{ayesha}/distributions").json()
    assert [(d["distribution_id"], d["symbol"], d["payment_token"], d["amount"], d["status"])
            for d in api["claimable"]] == [(dist, "LHR-GH12B", pkr.address, str(entitled[ayesha]), "claimable")]
    assert api["claimed"] == [] and api["other"] == []
    assert api["claimable"][0]["expiry"] == int(expiry.timestamp())
    # the payment token as it answers symbol() and decimals() (TestStablecoin: TUSD, 6), read once by the sync
    assert (api["claimable"][0]["payment_symbol"], api["claimable"][0]["payment_decimals"]) == ("TUSD", 6)
    page = client.get(f"/wallets/{ayesha}").text
    claimable = re.search(r'<table id="claimable">(.*?)</table>', page, re.S)[1]
    assert f"#{dist}" in claimable and f'data-amount="{entitled[ayesha]}"' in claimable
    shown = f"{Decimal(entitled[ayesha]).scaleb(-6):,f}".rstrip("0").rstrip(".")  # e.g. 0.237501: tokens, not base units
    assert f">{shown}</td>" in claimable and f'title="{pkr.address}">TUSD</abbr>' in claimable
    assert "LHR-GH12B" in claimable and expiry.strftime("%Y-%m-%d") in claimable

    before = pkr.functions.balanceOf(ayesha).call()
    assert reg.distributions.claim(dist, ayesha).status == "done"
    paid = pkr.functions.balanceOf(ayesha).call() - before
    assert paid == entitled[ayesha]
    ledger.sync(stack)
    time.sleep(CHECKPOINT_TTL + 0.05)  # the app reads the moved checkpoint at most every CHECKPOINT_TTL
    api = client.get(f"/api/wallets/{ayesha}/distributions").json()
    assert api["claimable"] == []
    assert [(d["distribution_id"], d["amount"], d["payee"], d["status"]) for d in api["claimed"]] \
        == [(dist, str(paid), ayesha, "claimed")]
    page = client.get(f"/wallets/{ayesha}").text
    claimed = re.search(r'<table id="claimed">(.*?)</table>', page, re.S)[1]
    assert f"#{dist}" in claimed and f'data-amount="{paid}"' in claimed
    assert "Nothing to claim." in page
    other = investors[2].wallet  # not claimed yet: still claimable
    assert [d["amount"] for d in client.get(f"/api/wallets/{other}/distributions").json()["claimable"]] \
        == [str(entitled[other])]
    (row,) = [d for d in ledger.distributions() if d.distribution_id == dist]
    assert (row.claimed, row.claims, row.total) == (paid, 1, 950_001)
    labels = name_parts([i.label for i in investors if i.label])
    for wallet in (ayesha, other):
        html = client.get(f"/wallets/{wallet}").text
        assert not [label for label in labels if label in html]
    assert client.get("/api/wallets/0x12/distributions").status_code == 422
    # a ledger migrated from before the payment tokens were kept (revision 0008) learns them at its next sync
    from rwaledger.ledger import schema

    with ledger.engine.begin() as conn:
        conn.execute(schema.payment_tokens.delete())
    assert [d.payment_symbol for d in ledger.distributions() if d.distribution_id == dist] == [None]
    ledger.sync(stack)
    assert [(d.payment_symbol, d.payment_decimals) for d in ledger.distributions()
            if d.distribution_id == dist] == [("TUSD", 6)]
    ledger.close()


def test_without_proofs_a_wallet_sees_its_claims_only(example_world, ledger_url, tmp_path):
    session, stack, _, investors, _ = example_world
    reg = Services(stack, tmp_path / "elsewhere")
    pkr = session.deployer.deploy("TestStablecoin")
    reg.tx.transact(pkr.functions.mint(reg.tx.address, 10**12))
    expiry = dt.datetime.fromtimestamp(session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    dist = reg.distributions.distribute("LHR-GH12B", pkr.address, 1_000, expiry,
                                        session.chain.w3.eth.block_number).facts["distribution_id"]
    reg.distributions.claim(dist, investors[0].wallet)
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    client = TestClient(create_app(ledger))  # no stack, no distributions dir: no entitlements known
    api = client.get(f"/api/wallets/{investors[0].wallet}/distributions").json()
    assert api["claimable"] == [] and [d["distribution_id"] for d in api["claimed"]] == [dist]
    assert client.get(f"/api/wallets/{investors[2].wallet}/distributions").json()["claimed"] == []
    ledger.close()
