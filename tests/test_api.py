"""The public HTTP API (FastAPI TestClient) over a ledger synced from the in-process chain: assets found by symbol,
legal reference in any spelling, and name; document history and verification by hash (current and superseded);
cap tables paginated with exact percents and decimal-string amounts; totals by country; wallets; problem+json
errors naming the field; no investor name or label in any public response. The follower keeps the ledger synced on
anvil, through a reorg and a node outage."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rwaledger.api import create_app
from rwaledger.follower import Follower
from rwaledger.ledger import Ledger
from rwaledger.models import AssetSpec, DocumentSpec, InvestorSpec, MintRequest, load_csv, load_spec, parse
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "examples"


@pytest.fixture(scope="module")
def world(chain, rwa_build, tmp_path_factory):
    """The example apartment and gold, the example investors (with their names, in the ledger only), the example
    allocations minted, a second title-deed version, one transfer; a ledger synced to the end."""
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    stack = deploy_stack(session)
    home = tmp_path_factory.mktemp("api")
    ledger = Ledger.open(str(home / "ledger.sqlite"))
    reg = Services(stack, ledger=ledger)
    for spec in ("lahore-apartment.toml", "karachi-gold.toml"):
        reg.assets.register(load_spec(EXAMPLES / spec, AssetSpec))
    investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
    reg.investors.add_many(investors)
    reg.issuance.mint_many(load_csv(EXAMPLES / "allocations.csv", MintRequest))
    deed = home / "title-deed-v2.txt"
    deed.write_text("Fard of the Gulberg apartment, corrected 2026-06-01\n")
    reg.assets.add_document("LHR-GH12B", parse(DocumentSpec, {"name": "title-deed", "file": str(deed), "uri": "ipfs://deed-v2",
                                                       "effective_date": "2026-06-01"}, "doc"))
    keys = {a.address: a for a in chain.dev_accounts}
    ayesha, fatima = investors[0].wallet, investors[2].wallet
    reg.transfers.transfer("LHR-GH12B", Signer(keys[ayesha], "ayesha"), fatima, "250 shares")
    bank = chain.dev_accounts[9].address  # a lien for a bank, a frozen wallet, a frozen amount, two redemptions
    reg.enforcement.create_lien("LHR-GH12B", investors[1].wallet, bank, "400 shares", "LOAN-77")
    reg.enforcement.freeze("LHR-GH12B", investors[3].wallet)
    reg.enforcement.freeze_partial("LHR-GH12B", fatima, "20 shares")
    gold_holder = [a.to for a in load_csv(EXAMPLES / "allocations.csv", MintRequest) if a.asset == "KHI-GOLD"][-1]
    reg.redemptions.request_redemption("KHI-GOLD", Signer(keys[gold_holder], "gold"), "1000", "deliver-1")
    delivered = reg.redemptions.request_redemption("KHI-GOLD", Signer(keys[gold_holder], "gold"), "500", "deliver-2")
    reg.redemptions.fulfil_redemption("KHI-GOLD", delivered, "KHI-LOT-2026-002")
    ledger.sync(stack)
    labels = [i.label for i in investors if i.label]
    yield session, stack, reg, ledger, TestClient(create_app(ledger)), labels, deed, investors
    ledger.close()
    chain.revert(snapshot)


def test_assets_are_found_by_symbol_legal_reference_and_name(world):
    api = world[4]
    every = api.get("/api/assets").json()
    assert [a["symbol"] for a in every] == ["LHR-GH12B", "KHI-GOLD"]
    lhr = every[0]
    assert lhr["kind"] == "property" and lhr["cap"] == "10000" and lhr["valuation"]["currency"] == "PKR"
    written = lhr["display_reference"] or lhr["legal_reference"]  # empty: written as the canonical form
    assert api.get("/api/assets", params={"q": "lhr-gh12b"}).json()[0]["asset_id"] == 1
    sloppy = written.lower().replace("/", " / ")  # the land record written by hand: case and spacing differ
    assert [a["symbol"] for a in api.get("/api/assets", params={"q": sloppy}).json()] == ["LHR-GH12B"]
    assert [a["symbol"] for a in api.get("/api/assets", params={"q": "vault"}).json()] == ["KHI-GOLD"]
    assert [a["symbol"] for a in api.get("/api/assets", params={"kind": "commodity"}).json()] == ["KHI-GOLD"]
    assert api.get("/api/assets", params={"q": "nothing like it"}).json() == []
    assert api.get("/api/assets/KHI-GOLD").json()["unit"] == "gram"
    assert api.get(f"/api/assets/{lhr['token']}").json()["symbol"] == "LHR-GH12B"


def test_document_history_and_verification_by_hash(world):
    _, _, _, _, api, _, deed, _ = world
    docs = api.get("/api/assets/LHR-GH12B/documents").json()
    deeds = [d for d in docs if d["name"] == "title-deed"]
    assert [d["version"] for d in deeds] == [1, 2]
    first, second = deeds
    assert second["supersedes"] == first["document_id"] and first["superseded_by"] == second["document_id"]
    assert (first["current"], second["current"]) == (False, True)
    digest = hashlib.sha256(deed.read_bytes()).hexdigest()
    found = api.get("/api/documents/verify", params={"sha256": digest}).json()
    assert found["registered"] and found["matches"][0]["version"] == 2 and found["matches"][0]["current"]
    old = api.get("/api/documents/verify", params={"sha256": first["sha256"]}).json()
    assert old["registered"] and old["matches"][0]["superseded_by"] == second["document_id"]
    unknown = api.get("/api/documents/verify", params={"sha256": "ab" * 32}).json()
    assert unknown == {"sha256": "0x" + "ab" * 32, "registered": False, "matches": []}
    bad = api.get("/api/documents/verify", params={"sha256": "not-a-hash"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["field"] == "query.sha256"


def test_cap_tables_are_paginated_exact_and_typed(world):
    _, _, _, ledger, api, _, _, investors = world
    page = api.get("/api/assets/LHR-GH12B/cap-table", params={"per_page": 2}).json()
    assert page["holders"] == 5 and page["total_supply"] == "9500" and len(page["rows"]) == 2
    everyone = api.get("/api/assets/LHR-GH12B/cap-table").json()["rows"]
    assert [r["amount"] for r in everyone] == sorted((r["amount"] for r in everyone), key=int, reverse=True)
    assert all(isinstance(r["amount"], str) and len(r["percent"].split(".")[1]) == 2 for r in everyone)
    assert page["rows"] == everyone[:2]
    second = api.get("/api/assets/LHR-GH12B/cap-table", params={"per_page": 2, "page": 2}).json()["rows"]
    assert second == everyone[2:4]
    by_wallet = api.get("/api/assets/LHR-GH12B/cap-table", params={"sort": "wallet"}).json()["rows"]
    assert [r["wallet"].lower() for r in by_wallet] == sorted(r["wallet"].lower() for r in everyone)
    minted_block = ledger.events(event="DocumentAdded")[-1].block_number - 1  # before the transfer and new deed
    earlier = api.get("/api/assets/LHR-GH12B/cap-table", params={"block": minted_block}).json()
    assert {r["wallet"]: r["amount"] for r in earlier["rows"]}[investors[0].wallet] == "2500"
    countries = api.get("/api/assets/LHR-GH12B/countries").json()
    assert {c["country"]: c["percent"] for c in countries}["PK"] == "60.53"  # 5,750 of 9,500 (2,250 + 3,000 + 500)


def test_wallets_history_and_status(world):
    _, _, _, ledger, api, _, _, investors = world
    bilal = investors[1].wallet
    w = api.get(f"/api/wallets/{bilal}").json()
    assert {h["symbol"]: h["amount"] for h in w["holdings"]} == {"LHR-GH12B": "3000", "KHI-GOLD": "1500000"}
    assert any(e["event"] == "Transfer" for e in w["history"])
    history = api.get("/api/assets/LHR-GH12B/history", params={"limit": 3}).json()
    assert len(history) == 3 and history[-1]["block_number"] >= history[0]["block_number"]
    status = api.get("/api/status").json()
    assert status["synced_block"] == ledger.checkpoint().block and status["follower_running"] is False
    assert api.get("/health").json()["status"] == "ok" and api.get("/api/ping").json() == {"ok": True}


def test_errors_are_problem_details_naming_the_field(world):
    api = world[4]
    missing = api.get("/api/assets/NOPE")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["title"] == "Unknown asset" and "NOPE" in missing.json()["detail"]
    bad = api.get("/api/assets/LHR-GH12B/cap-table", params={"page": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "query.page"
    assert api.get("/api/assets", params={"kind": "boat"}).json()["field"] == "query.kind"
    assert api.get("/api/wallets/0x123").json()["field"] == "path.wallet"
    assert "/api/assets/{asset}/cap-table" in api.get("/openapi.json").json()["paths"]


def test_no_public_response_names_an_investor(world):
    """Investor names are personal data: the ledger keeps them (registrar side), the public API never shows them."""
    _, _, _, ledger, api, labels, _, investors = world
    assert ledger.investor_labels()  # the names are there, in the ledger
    bodies = [api.get(p).text for p in (
        "/api/assets", "/api/assets/LHR-GH12B", "/api/assets/LHR-GH12B/cap-table", "/api/assets/LHR-GH12B/countries",
        "/api/assets/LHR-GH12B/history", "/api/assets/LHR-GH12B/documents", "/api/assets/KHI-GOLD/cap-table",
        f"/api/wallets/{investors[1].wallet}", "/api/status", "/api/assets/LHR-GH12B/liens",
        "/api/assets/LHR-GH12B/freezes", "/api/assets/KHI-GOLD/reserve", "/api/assets/KHI-GOLD/redemptions",
        "/api/assets/LHR-GH12B/cap-table?at=2100-01-01")]
    assert all('"detail"' not in b for b in bodies)  # every one answered
    for label in labels:
        for name_part in {label, label.split(" (")[0]}:
            assert not any(name_part in b for b in bodies), name_part


def test_liens_and_freezes_in_force(world):
    _, _, _, _, api, _, _, investors = world
    (lien,) = api.get("/api/assets/LHR-GH12B/liens").json()
    assert lien["holder"] == investors[1].wallet and lien["amount"] == "400"
    assert lien["beneficiary"].startswith("0x") and lien["reason_ref"].startswith("0x" + b"LOAN-77".hex())
    assert set(lien) == {"lien_id", "holder", "beneficiary", "amount", "reason_ref", "document_hash", "created_block"}
    freezes = {f["wallet"]: (f["frozen"], f["frozen_amount"]) for f in api.get("/api/assets/LHR-GH12B/freezes").json()}
    assert freezes == {investors[3].wallet: (True, "0"), investors[2].wallet: (False, "20")}
    assert api.get("/api/assets/KHI-GOLD/liens").json() == [] and api.get("/api/assets/NOPE/liens").status_code == 404


def test_the_commodity_reserve_is_shown_as_a_proof(world):
    _, stack, _, ledger, api, _, _, _ = world
    r = api.get("/api/assets/KHI-GOLD/reserve").json()
    token = stack.token(ledger.asset("KHI-GOLD").token)
    assert [lot["remaining"] for lot in r["lots"]] == ["5000000", "2499500"]  # 500 delivered from the second lot
    assert r["proof"] == {"supply": str(token.functions.totalSupply().call()),
                          "reserve": str(token.functions.attestedReserve().call()), "supply_le_reserve": True}
    assert int(r["proof"]["supply"]) <= int(r["proof"]["reserve"])
    assert [x["amount"] for x in r["open_redemptions"]] == ["1000"]
    every = api.get("/api/assets/KHI-GOLD/redemptions").json()
    assert [x["status"] for x in every] == ["open", "fulfilled"]
    assert [x["amount"] for x in api.get("/api/assets/KHI-GOLD/redemptions", params={"status": "fulfilled"}).json()] \
        == ["500"]
    property_reserve = api.get("/api/assets/LHR-GH12B/reserve")  # a property has no custody reserve
    assert property_reserve.status_code == 404 and property_reserve.json()["field"] == "path.asset"
    assert api.get("/api/assets/KHI-GOLD/redemptions", params={"status": "lost"}).json()["field"] == "query.status"


def test_a_cap_table_at_a_date(world):
    _, _, _, ledger, api, _, _, investors = world
    from datetime import datetime, timezone

    transfer = ledger.events(event="Transfer")[-1]  # the last transfer of all (the gold delivery burn)
    shares = [e for e in ledger.history(asset="LHR-GH12B") if e.event == "Transfer"][-1]
    t = ledger.block_time(shares.block_number)
    before = datetime.fromtimestamp(t - 1, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    then = api.get("/api/assets/LHR-GH12B/cap-table", params={"at": before}).json()
    assert then["block"] < shares.block_number
    assert {r["wallet"]: r["amount"] for r in then["rows"]}[investors[0].wallet] == "2500"
    by_block = api.get("/api/assets/LHR-GH12B/cap-table", params={"block": then["block"]}).json()
    assert then == by_block
    later = api.get("/api/assets/LHR-GH12B/cap-table", params={"at": "2100-01-01"}).json()
    assert later == api.get("/api/assets/LHR-GH12B/cap-table").json() and transfer.block_number <= later["block"]
    bad = api.get("/api/assets/LHR-GH12B/cap-table", params={"at": "yesterday"})
    assert bad.status_code == 422 and bad.json()["field"] == "query.at"
    both = api.get("/api/assets/LHR-GH12B/cap-table", params={"at": "2026-01-01", "block": 3})
    assert both.status_code == 422 and both.json()["field"] == "query.at"
    early = api.get("/api/assets/LHR-GH12B/cap-table", params={"at": "1990-01-01"})
    assert early.status_code == 503 and "no block" in early.json()["detail"]


@pytest.mark.chains("anvil")
def test_the_follower_keeps_the_api_fresh_through_a_reorg(chain, rwa_build, tmp_path):
    snapshot = chain.snapshot()
    try:
        session = open_session(chain=chain, build=rwa_build, record=False)
        stack = deploy_stack(session)
        reg = Services(stack)
        reg.assets.register(load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec))
        investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
        reg.investors.add_many(investors)
        ledger = Ledger.open(str(tmp_path / "followed.sqlite"))
        follower = Follower(ledger, stack, poll=0.1).start()
        api = TestClient(create_app(ledger, follower))
        ayesha = investors[0].wallet

        def shows(expected, timeout=10.0):
            """Wait until the API's cap table is ``expected``; the seconds it took."""
            started, seen = time.time(), None
            while time.time() < started + timeout:
                r = api.get("/api/assets/LHR-GH12B/cap-table")
                seen = {x["wallet"]: x["amount"] for x in r.json()["rows"]} if r.status_code == 200 else r.json()
                if seen == expected:
                    return time.time() - started
                time.sleep(0.02)
            raise AssertionError(f"the API shows {seen}, not {expected}: {api.get('/api/status').json()}")

        mark = chain.snapshot()
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=ayesha, amount="100", reference="follow-1"))
        seen_within = shows({ayesha: "100"})
        chain.revert(mark)  # the branch with that mint is gone; another one replaces it, at the same height
        other = investors[2].wallet
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=other, amount="40", reference="follow-2"))
        shows({other: "40"})
        assert follower.status().rollbacks >= 1 and follower.status().last_error is None
        assert seen_within < 2.0
        follower.stop()
        assert not follower.status().running
    finally:
        chain.revert(snapshot)


def test_the_follower_survives_a_node_outage_and_a_reset_chain(rwa_build, tmp_path):
    """A private anvil the follower follows is killed: the follower keeps running and reports the error and its
    failures; a new node on the same port (a reset chain: the old blocks are gone) is picked up, the ledger rolled
    back to the common genesis and synced again."""
    from rwaledger.chain import AnvilChain
    from rwaledger.node import AnvilNode

    chain = AnvilChain.start()
    try:
        session = open_session(chain=chain, build=rwa_build, record=False)
        stack = deploy_stack(session)
        reg = Services(stack)
        reg.assets.register(load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec))
        ledger = Ledger.open(str(tmp_path / "outage.sqlite"))
        follower = Follower(ledger, stack, poll=0.05, max_backoff=0.2).start()
        deadline = time.time() + 10
        while follower.status().lag != 0 and time.time() < deadline:
            time.sleep(0.05)
        synced = follower.status().synced_block
        assert synced and ledger.assets()
        port = chain.node.port
        chain.node.stop()  # the node dies
        deadline = time.time() + 10
        while follower.status().failures < 2 and time.time() < deadline:
            time.sleep(0.05)
        down = follower.status()
        assert down.running and down.failures >= 2 and down.last_error and down.synced_block == synced
        chain.node = AnvilNode(port=port).start()  # a fresh chain on the same URL
        deadline = time.time() + 15
        while (follower.status().last_error or follower.status().rollbacks == 0) and time.time() < deadline:
            time.sleep(0.05)
        up = follower.status()
        assert up.last_error is None and up.rollbacks >= 1 and up.failures == 0
        assert ledger.assets() == []  # the reset chain has no asset: rolled back, not kept
        follower.stop()
    finally:
        chain.close()
