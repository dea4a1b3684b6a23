"""The officer API on the in-process chain: tokens (hashed with argon2, shown once), an authorisation matrix in which
every write refused to an anonymous caller or a wrong role sends nothing (nonces and blocks unchanged, no upload kept),
writes signed by the officer's own key, idempotent retries (uploads too), refusals that name the rule, the field or
the CSV line, uploads within the upload cap, and the audit log (refusals by the login limit included)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rwaledger.api import create_app
from rwaledger.api.limits import Limits
from rwaledger.api.officer import officer_router
from rwaledger.encoding import b32
from rwaledger.ledger import Ledger, schema
from rwaledger.models import AssetSpec, InvestorSpec, LotSpec, load_csv, load_spec
from rwaledger.officers import OfficerError, OfficerStore
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "examples"
ROLES = ("registrar", "compliance", "custodian", "auditor")
GOLD_HOLDING = 1_000_000  # 1,000 g of KHI-GOLD (milligrams) held by investors[1], who asked two redemptions of it
REDEEMED = 100_000


def officer_app(ledger, stack, dirs: Path, limits: Limits | None = None) -> TestClient:
    """The API with the officer routes, keeping uploads and distribution proofs under ``dirs``."""
    app = create_app(ledger, limits=limits)
    app.include_router(officer_router(ledger, stack, limits, upload_dir=dirs / "uploads",
                                      distributions_dir=dirs / "distributions"))
    return TestClient(app)


@pytest.fixture(scope="module")
def world(chain, rwa_build, tmp_path_factory):
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    keys = [a.address for a in chain.dev_accounts]
    stack = deploy_stack(session, roles={"registrar": [keys[0], keys[1]], "compliance": [keys[0], keys[2]],
                                         "custodian": [keys[0], keys[3]]})
    reg = Services(stack)
    reg.assets.register(load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec))
    reg.assets.register(load_spec(EXAMPLES / "karachi-gold.toml", AssetSpec))  # lots KHI-LOT-2026-001 and -002
    investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
    dirs = tmp_path_factory.mktemp("officers")
    ledger = Ledger.open(str(dirs / "ledger.sqlite"))
    Services(stack, ledger=ledger).investors.add_many(investors)
    gold = stack.token(stack.registry.functions.tokenOf(2).call(), "commodity")
    session.tx.transact(gold.functions.mint(investors[1].wallet, GOLD_HOLDING, b32("api-gold-1")))
    holder = Signer(chain.dev_accounts[2], "gold holder")  # investors[1]
    assert [reg.redemptions.request_redemption("KHI-GOLD", holder, REDEEMED, f"delivery-{i}") for i in (1, 2)] == [1, 2]
    pkr = session.deployer.deploy("TestStablecoin")
    session.tx.transact(pkr.functions.mint(keys[1], 10**12))  # the registrar officer's key funds distributions
    ledger.sync(stack)
    store = OfficerStore(ledger.engine)
    tokens = {}
    for role, account in zip(ROLES, (1, 2, 3, None)):
        _, tokens[role] = store.add(f"{role} officer", role, account=account)
    api = officer_app(ledger, stack, dirs)
    yield session, stack, ledger, store, tokens, api, investors, keys, pkr, dirs
    ledger.close()
    chain.revert(snapshot)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def auth(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def test_a_token_is_shown_once_and_kept_only_as_an_argon2_hash(world):
    _, _, ledger, store, tokens, api, *_ = world
    for role, token in tokens.items():
        assert api.get("/api/officer/me", headers=auth(token)).json()["role"] == role
    with ledger.engine.connect() as conn:
        hashes = [r.token_hash for r in conn.execute(select(schema.officers))]
        every_text = " ".join(str(v) for t in schema.metadata.sorted_tables for row in conn.execute(select(t))
                              for v in row)
    assert all(h.startswith("$argon2") for h in hashes)
    assert not any(t in every_text for t in tokens.values())  # no token anywhere in the database
    for bad in (None, "nonsense", tokens["registrar"][:-2] + "xx", "rwa_999_" + "a" * 43):
        assert api.get("/api/officer/me", headers=auth(bad)).status_code == 401


def test_an_account_is_checked_before_it_is_made(world):
    store = world[3]
    with pytest.raises(OfficerError, match="role must be"):
        store.add("x", "clerk", account=1)
    with pytest.raises(OfficerError, match="auditor writes nothing"):
        store.add("y", "auditor", account=1)
    with pytest.raises(OfficerError, match="signs its writes"):
        store.add("z", "registrar")
    with pytest.raises(OfficerError, match="exists already"):
        store.add("registrar officer", "registrar", account=1)


NEW_ASSET = """
kind = "property"
name = "F-7 Markaz Shop 4"
symbol = "ISB-F7S4"
legal_reference = "ISB/F-7/MARKAZ/PLOT-12/SHOP-4"
jurisdiction = "PK"
location = "Shop 4, F-7 Markaz, Islamabad"
metadata_uri = "ipfs://bafybeiexample/isb-f7s4.json"
total_shares = 1000

[valuation]
amount = "12000000.00"
currency = "PKR"
date = 2026-11-20

[[documents]]
name = "title-deed"
file = "documents/isb-f7s4-deed.txt"
uri = "ipfs://bafkreiexample-isb-f7s4-deed"
effective_date = 2026-11-20
"""
DEED = b"Fard: Plot 12, F-7 Markaz, Islamabad; Shop 4; owner of record: ISB Estates (Pvt) Ltd.\n"
RECEIPT = b"Warehouse receipt KHI-LOT-2026-900: 1 g of gold, bay 16\n"
VALUATION = b"Valuation report, Gulberg Heights 12B, 2026-11-25: PKR 86,500,000\n"
NEW_WALLET = 8  # a dev account with no identity yet


def csv_file(text: str, name: str = "rows.csv") -> dict:
    return {"files": {"file": (name, text.encode(), "text/csv")}}


def _writes(investors, stack, pkr, keys):
    """Every write endpoint: (path, the request's httpx arguments, the one role allowed), in an order in which each
    succeeds after the ones before it (one test runs them all on one chain)."""
    token = stack.registry.functions.tokenOf(1).call()
    lhr, inv = "LHR-GH12B", [i.wallet for i in investors]
    return {
        "mint": ("/api/officer/mint", {"json": {"asset": lhr, "to": inv[0], "amount": "10",
                                                "reference": "api-matrix-1"}}, "registrar"),
        "forced_transfer": ("/api/officer/forced-transfers", {"json": {
            "asset": lhr, "sender": inv[0], "to": inv[2], "amount": "4", "reason": "court-order-2026-17"}}, "registrar"),
        "freeze": ("/api/officer/freezes", {"json": {"asset": token, "wallet": inv[1], "frozen": True}}, "compliance"),
        "partial_freeze": ("/api/officer/partial-freezes", {"json": {"asset": lhr, "wallet": inv[0], "amount": "2"}},
                           "compliance"),
        "lien": ("/api/officer/liens", {"json": {"asset": lhr, "holder": inv[0], "beneficiary": inv[3], "amount": "1",
                                                 "reason": "mortgage-2026-5", "document_sha256": "ab" * 32}},
                 "registrar"),
        "lien_release": ("/api/officer/lien-releases", {"json": {"asset": lhr, "lien_id": 1}}, "registrar"),
        "lot": ("/api/officer/lots", {"data": {"asset": "KHI-GOLD", "lot_id": "KHI-LOT-2026-900", "vault": "bay 16",
                                               "quantity": "1000"},
                                      "files": {"receipt": ("receipt-900.txt", RECEIPT, "text/plain")}}, "custodian"),
        "redemption_fulfilment": ("/api/officer/redemptions/{request_id}/fulfilment", {
            "json": {"asset": "KHI-GOLD", "lot_ids": ["KHI-LOT-2026-001"]}, "request_id": 1}, "custodian"),
        "redemption_rejection": ("/api/officer/redemptions/{request_id}/rejection", {
            "json": {"asset": "KHI-GOLD", "reason": "no-delivery-address"}, "request_id": 2}, "custodian"),
        "distribution": ("/api/officer/distributions", {"json": {"asset": lhr, "payment_token": pkr.address,
                                                                 "total_amount": 1000}}, "registrar"),
        "asset": ("/api/officer/assets", {"files": [("spec", ("isb-f7s4.toml", NEW_ASSET.encode(), "text/plain")),
                                                    ("files", ("isb-f7s4-deed.txt", DEED, "text/plain"))]},
                  "registrar"),
        "document": ("/api/officer/assets/{asset}/documents", {
            "asset": lhr, "data": {"name": "Valuation Report", "uri": "ipfs://bafkreiexample-valuation-2",
                                   "effective_date": "2026-11-25"},
            "files": {"file": ("valuation-2.txt", VALUATION, "text/plain")}}, "registrar"),
        "investors": ("/api/officer/investors", csv_file(
            f"wallet,country,kyc_expiry,category,label\n{keys[NEW_WALLET]},PK,2028-01-31,retail,Sana Iqbal\n",
            "new-investors.csv"), "compliance"),
        "mints": ("/api/officer/mints", csv_file(
            f"asset,to,amount,reference\n{lhr},{inv[3]},5 shares,api-csv-1\nKHI-GOLD,{inv[4]},1 g,api-csv-2\n"),
            "registrar"),
    }


def send(api, path: str, request: dict, headers: dict):
    """POST one ``_writes`` entry (its path parameters filled in)."""
    kwargs = {k: v for k, v in request.items() if k in ("json", "data", "files")}
    return api.post(path.format(**{k: v for k, v in request.items() if k not in kwargs}), headers=headers, **kwargs)


def test_every_write_is_refused_to_anonymous_callers_and_other_roles_and_sends_nothing(world):
    """Every write endpoint of the officer API (the test below checks the list is whole) x every caller."""
    session, stack, ledger, _, tokens, api, investors, keys, pkr, dirs = world
    w3 = session.chain.w3
    uploads = dirs / "uploads"
    for action, (path, request, allowed) in _writes(investors, stack, pkr, keys).items():
        for caller in (None, *ROLES):
            if caller == allowed:
                continue
            block, nonces = w3.eth.block_number, [w3.eth.get_transaction_count(k) for k in keys[:4]]
            kept = sorted(uploads.iterdir()) if uploads.exists() else []
            r = send(api, path, request, auth(tokens.get(caller)))
            assert r.status_code == (401 if caller is None else 403), (action, caller, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert w3.eth.block_number == block and [w3.eth.get_transaction_count(k) for k in keys[:4]] == nonces
            assert (sorted(uploads.iterdir()) if uploads.exists() else []) == kept  # no upload kept either
        r = send(api, path, request, auth(tokens[allowed]))
        assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["tx_hashes"], (action, r.text)
        sent = w3.eth.get_transaction(r.json()["tx_hashes"][0])
        assert sent["from"] == keys[ROLES.index(allowed) + 1]  # signed by that officer's own key
    inv = [i.wallet for i in investors]
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    gold = stack.token(stack.registry.functions.tokenOf(2).call(), "commodity")
    assert token.functions.balanceOf(inv[0]).call() == 6  # 10 minted, 4 forced away
    assert token.functions.balanceOf(inv[2]).call() == 4
    assert token.functions.isFrozen(inv[1]).call()
    assert token.functions.getFrozenTokens(inv[0]).call() == 2
    assert list(token.functions.lien(1).call()) == [inv[0], inv[3], 1, True]  # created, then released
    quantity, _, _, receipt_hash, vault = gold.functions.lot(b32("KHI-LOT-2026-900")).call()
    assert (quantity, vault, bytes(receipt_hash)) == (1000, "bay 16", hashlib.sha256(RECEIPT).digest())
    assert [gold.functions.redemption(i).call()[1] for i in (1, 2)] == [2, 3]  # fulfilled, rejected
    assert gold.functions.balanceOf(inv[1]).call() == GOLD_HOLDING - REDEEMED  # one burnt, one released
    assert gold.functions.lot(b32("KHI-LOT-2026-001")).call()[0] == 5_000_000 - REDEEMED
    funded = stack.distributions.functions.distribution(1).call()
    assert funded[0] == pkr.address and funded[4] == 1000 and funded[6] == token.address
    proofs = json.loads((dirs / "distributions" / "1.json").read_text())  # published where claims read them
    assert {c["account"]: int(c["amount"]) for c in proofs["claims"]} == {inv[0]: 600, inv[2]: 400}
    registry = stack.registry.functions
    new_id = registry.assetIdOfSymbol("ISB-F7S4").call()
    assert new_id == 3 and registry.statusOf(new_id).call() == 1  # registered and activated
    deed = registry.document(registry.currentDocument(new_id, "title-deed").call()).call()
    assert bytes(deed[4]) == hashlib.sha256(DEED).digest()
    valuation = registry.document(registry.currentDocument(1, "valuation-report").call()).call()
    assert bytes(valuation[4]) == hashlib.sha256(VALUATION).digest()  # the new version is the current one
    assert (uploads / hashlib.sha256(DEED).hexdigest()).read_bytes() == DEED  # kept by its hash
    assert stack.identity.functions.isVerified(keys[NEW_WALLET]).call()
    assert ledger.investor_labels().get(keys[NEW_WALLET]) == "Sana Iqbal"  # the label in the ledger, not on chain
    assert token.functions.balanceOf(inv[3]).call() == 5 and gold.functions.balanceOf(inv[4]).call() == 1000


def test_a_retry_with_the_same_key_sends_nothing_twice(world):
    session, stack, _, _, tokens, api, investors, *_ = world
    w3 = session.chain.w3
    body = {"asset": "LHR-GH12B", "to": investors[2].wallet, "amount": "5", "reference": "api-retry-1"}
    headers = {**auth(tokens["registrar"]), "Idempotency-Key": "retry-0001"}
    first = api.post("/api/officer/mint", json=body, headers=headers)
    block = w3.eth.block_number
    again = api.post("/api/officer/mint", json=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json() and again.headers["Idempotent-Replay"] == "true"
    assert w3.eth.block_number == block
    other = api.post("/api/officer/mint", json={**body, "amount": "6"}, headers=headers)
    assert other.status_code == 409 and w3.eth.block_number == block
    fresh = api.post("/api/officer/mint", json=body, headers=auth(tokens["registrar"]))  # no key: the reference holds
    assert fresh.json()["status"] == "skipped" and fresh.json()["tx_hashes"] == [] and w3.eth.block_number == block


def test_refusals_name_the_rule_or_the_field(world):
    session, stack, _, _, tokens, api, investors, keys, *_ = world
    block = session.chain.w3.eth.block_number
    stranger = session.chain.dev_accounts[9].address  # no identity
    r = api.post("/api/officer/mint", json={"asset": "LHR-GH12B", "to": stranger, "amount": "1", "reference": "x"},
                 headers=auth(tokens["registrar"]))
    assert r.status_code == 422 and r.json()["rule"] == "RecipientNotVerified"
    bad = api.post("/api/officer/mint", json={"asset": "LHR-GH12B", "to": "0x1234", "amount": "1"},
                   headers=auth(tokens["registrar"]))
    assert bad.status_code == 422 and bad.json()["field"] == "body.to"
    blocked = investors[5].wallet  # IR: a blocked country
    ft = api.post("/api/officer/forced-transfers", json={"asset": "LHR-GH12B", "sender": investors[0].wallet,
                                                         "to": blocked, "amount": "1", "reason": "court"},
                  headers=auth(tokens["registrar"]))
    assert ft.status_code == 422 and "rejected by rule" in ft.json()["detail"]
    assert session.chain.w3.eth.block_number == block


def test_the_audit_log_keeps_every_attempt_and_only_officers_see_labels(world):
    _, stack, _, _, tokens, api, investors, *_ = world
    body = {"asset": "LHR-GH12B", "to": investors[0].wallet, "amount": "2", "reference": "api-audit-1"}
    api.post("/api/officer/mint", json=body)  # anonymous: refused, still logged
    api.post("/api/officer/mint", json=body, headers=auth(tokens["compliance"]))
    api.post("/api/officer/mint", json=body, headers=auth(tokens["registrar"]))
    log = api.get("/api/officer/audit", headers=auth(tokens["auditor"])).json()
    last = [(e["officer"], e["status_code"], e["outcome"]) for e in log[:3]]
    assert last == [("registrar officer", 200, "done"), ("compliance officer", 403, "refused"), (None, 401, "refused")]
    assert log[0]["tx_hashes"] and log[0]["params"]["reference"] == "api-audit-1"
    assert api.get("/api/officer/audit", headers=auth(tokens["compliance"])).status_code == 403
    seen = api.get(f"/api/officer/investors/{investors[1].wallet}", headers=auth(tokens["auditor"])).json()
    assert seen["label"] == investors[1].label and seen["country"] == "PK"
    assert api.get(f"/api/officer/investors/{investors[1].wallet}").status_code == 401


def test_the_matrix_covers_every_write_endpoint(world):
    _, stack, _, _, _, api, investors, keys, pkr, _ = world
    posts = {path for path, item in api.get("/openapi.json").json()["paths"].items() if "post" in item}
    proposals = {"/api/officer/proposals/{proposal_id}/approvals", "/api/officer/proposals/{proposal_id}/execution"}
    # the proposal writes are checked in tests/test_proposals.py (anonymous 401, auditor 403, a non-owner refused)
    assert posts - proposals == {path for path, _, _ in _writes(investors, stack, pkr, keys).values()}


def _block(world) -> int:
    return world[0].chain.w3.eth.block_number


def test_an_asset_spec_is_validated_as_the_cli_validates_it_with_its_files_mapped_onto_the_uploads(world):
    session, stack, _, _, tokens, api, *_, dirs = world
    headers, block = auth(tokens["registrar"]), _block(world)
    missing = api.post("/api/officer/assets", files=[("spec", ("isb-f7s4.toml", NEW_ASSET.encode()))], headers=headers)
    assert missing.status_code == 422 and missing.json()["field"] == "spec.documents.0.file", missing.text
    assert "documents/isb-f7s4-deed.txt" in missing.json()["detail"] and "not uploaded" in missing.json()["detail"]
    wrong = NEW_ASSET.replace('jurisdiction = "PK"', 'jurisdiction = "XX"')
    bad = api.post("/api/officer/assets", files=[("spec", ("isb-f7s4.toml", wrong.encode())),
                                                 ("files", ("isb-f7s4-deed.txt", DEED))], headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "spec.jurisdiction" and "XX" in bad.json()["detail"]
    broken = api.post("/api/officer/assets", files=[("spec", ("isb-f7s4.toml", b"kind = "))], headers=headers)
    assert broken.status_code == 422 and "not valid TOML" in broken.json()["detail"]
    assert _block(world) == block and stack.registry.functions.assetIdOfSymbol("ISB-F7S4").call() == 0
    import tomllib
    as_json = json.dumps(tomllib.loads(NEW_ASSET), default=str).encode()  # JSON too; the file by its spec path
    files = [("spec", ("isb-f7s4.json", as_json)), ("files", ("documents/isb-f7s4-deed.txt", DEED)),
             ("files", ("unrelated.txt", b"not named by the spec"))]
    done = api.post("/api/officer/assets", files=files, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    asset_id = done.json()["data"]["asset_id"]
    registry = stack.registry.functions
    assert registry.assetIdOfSymbol("ISB-F7S4").call() == asset_id and registry.statusOf(asset_id).call() == 1
    doc = registry.document(registry.currentDocument(asset_id, "title-deed").call()).call()
    assert bytes(doc[4]) == hashlib.sha256(DEED).digest()
    assert not (dirs / "uploads" / hashlib.sha256(b"not named by the spec").hexdigest()).exists()
    block = _block(world)
    again = api.post("/api/officer/assets", files=files, headers=headers)  # the same spec again: nothing to do
    assert again.json()["status"] == "skipped" and again.json()["tx_hashes"] == [] and _block(world) == block


def test_a_bad_investor_row_is_refused_with_its_file_line_and_field_and_nothing_is_sent(world):
    session, stack, _, _, tokens, api, investors, keys, *_ = world
    block = _block(world)
    text = f"wallet,country,kyc_expiry\n{keys[NEW_WALLET]},PK,2028-01-31\n{keys[9]},ZZ,2028-01-31\n"
    r = api.post("/api/officer/investors", headers=auth(tokens["compliance"]), **csv_file(text, "batch-7.csv"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert (r.json()["file"], r.json()["line"], r.json()["field"]) == ("batch-7.csv", 3, "country"), r.text
    assert "batch-7.csv:3" in r.json()["detail"]
    twice = f"wallet,country,kyc_expiry\n{keys[NEW_WALLET]},PK,2028-01-31\n{keys[NEW_WALLET]},PK,2028-01-31\n"
    dup = api.post("/api/officer/investors", headers=auth(tokens["compliance"]), **csv_file(twice, "dup.csv"))
    assert dup.status_code == 422 and (dup.json()["line"], dup.json()["field"]) == (3, "wallet"), dup.text
    header = api.post("/api/officer/investors", headers=auth(tokens["compliance"]),
                      **csv_file("wallet,country,kyc_expiry,colour\n", "h.csv"))
    assert header.status_code == 422 and (header.json()["line"], header.json()["field"]) == (1, "colour")
    assert _block(world) == block and not stack.identity.functions.isVerified(keys[NEW_WALLET]).call()


def test_an_idempotent_retry_of_an_upload_sends_nothing_twice(world):
    session, stack, _, _, tokens, api, investors, keys, *_ = world
    headers = {**auth(tokens["compliance"]), "Idempotency-Key": "upload-0001"}
    text = f"wallet,country,kyc_expiry,label\n{keys[NEW_WALLET]},AE,2028-03-31,Zain Abbas\n"
    first = api.post("/api/officer/investors", headers=headers, **csv_file(text))
    assert first.status_code == 200 and first.json()["status"] == "done", first.text
    block = _block(world)
    again = api.post("/api/officer/investors", headers=headers, **csv_file(text))
    assert again.json() == first.json() and again.headers["Idempotent-Replay"] == "true" and _block(world) == block
    other = api.post("/api/officer/investors", headers=headers, **csv_file(text.replace("AE", "PK")))
    assert other.status_code == 409 and _block(world) == block
    assert stack.identity.functions.isVerified(keys[NEW_WALLET]).call()


def test_a_mint_csv_is_checked_whole_first_and_a_repost_mints_only_what_is_missing(world):
    session, stack, _, _, tokens, api, investors, *_ = world
    inv, headers = [i.wallet for i in investors], auth(tokens["registrar"])
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    rows = [("LHR-GH12B", inv[0], "100 shares", "deed-7001"), ("LHR-GH12B", inv[2], "200", "deed-7002"),
            ("LHR-GH12B", inv[3], "300 shares", "deed-7003"), ("KHI-GOLD", inv[4], "2 g", "gold-7004")]
    csv = "asset,to,amount,reference\n" + "".join(",".join(r) + "\n" for r in rows)
    block = _block(world)
    bad_row = api.post("/api/officer/mints", headers=headers, **csv_file(csv.replace(inv[2], "0x1234"), "a.csv"))
    assert bad_row.status_code == 422 and (bad_row.json()["line"], bad_row.json()["field"]) == (3, "to"), bad_row.text
    bad_unit = api.post("/api/officer/mints", headers=headers, **csv_file(csv.replace("300 shares", "1.5 shares")))
    assert bad_unit.status_code == 422 and (bad_unit.json()["line"], bad_unit.json()["field"]) == (4, "amount")
    unknown = api.post("/api/officer/mints", headers=headers, **csv_file(csv.replace("KHI-GOLD", "NOPE")))
    assert unknown.status_code == 422 and (unknown.json()["line"], unknown.json()["field"]) == (5, "asset")
    assert _block(world) == block and token.functions.totalSupply().call() == 0  # nothing of a bad file is sent
    for asset, to, amount, ref in rows[:2]:  # a first run that stopped after two allocations
        assert api.post("/api/officer/mint", json={"asset": asset, "to": to, "amount": amount, "reference": ref},
                        headers=headers).json()["status"] == "done"
    block = _block(world)
    rest = api.post("/api/officer/mints", headers=headers, **csv_file(csv))
    assert rest.status_code == 200 and rest.json()["status"] == "done", rest.text
    assert (rest.json()["data"]["minted"], rest.json()["data"]["skipped"]) == (2, 2)
    assert _block(world) - block == len(rest.json()["tx_hashes"]) == 2  # one batchMint per token, the rest only
    gold = stack.token(stack.registry.functions.tokenOf(2).call(), "commodity")
    assert [token.functions.balanceOf(w).call() for w in inv[:4]] == [100, 0, 200, 300]
    assert gold.functions.balanceOf(inv[4]).call() == 2000
    block = _block(world)
    again = api.post("/api/officer/mints", headers=headers, **csv_file(csv))  # the same file again: nothing
    assert again.json()["status"] == "skipped" and again.json()["tx_hashes"] == [] and _block(world) == block
    assert again.json()["data"]["skipped"] == 4 and token.functions.totalSupply().call() == 600


def test_form_and_body_fields_are_named_and_a_lot_takes_a_receipt_hash_or_file(world):
    session, stack, _, _, tokens, api, investors, *_ = world
    gold = stack.token(stack.registry.functions.tokenOf(2).call(), "commodity")
    headers, block = auth(tokens["custodian"]), _block(world)
    lot = {"asset": "KHI-GOLD", "lot_id": "KHI-LOT-2026-901", "vault": "bay 17", "quantity": "500"}
    both = api.post("/api/officer/lots", data={**lot, "receipt_sha256": "cd" * 32},
                    files={"receipt": ("r.txt", RECEIPT)}, headers=headers)
    assert both.status_code == 422 and both.json()["field"] == "body" and "exactly one" in both.json()["detail"]
    negative = api.post("/api/officer/lots", data={**lot, "quantity": "-1", "receipt_sha256": "cd" * 32},
                        headers=headers)
    assert negative.status_code == 422 and negative.json()["field"] == "body.quantity"
    wallet = api.post("/api/officer/partial-freezes", json={"asset": "LHR-GH12B", "wallet": "0xabc", "amount": "1"},
                      headers=auth(tokens["compliance"]))
    assert wallet.status_code == 422 and wallet.json()["field"] == "body.wallet"
    unit = api.post("/api/officer/partial-freezes", json={"asset": "LHR-GH12B", "wallet": investors[0].wallet,
                                                          "amount": "1.5 shares"}, headers=auth(tokens["compliance"]))
    assert unit.status_code == 422 and unit.json()["field"] == "body.amount" and "decimals" in unit.json()["detail"]
    mint = api.post("/api/officer/mint", json={"asset": "LHR-GH12B", "to": investors[0].wallet, "amount": "2 kg"},
                    headers=auth(tokens["registrar"]))
    assert mint.status_code == 422 and mint.json()["field"] == "body.amount" and "file" not in mint.json(), mint.text
    name = api.post("/api/officer/assets/LHR-GH12B/documents", data={"name": "---", "uri": "ipfs://x",
                                                                      "effective_date": "2026-11-25"},
                    files={"file": ("d.txt", b"x")}, headers=auth(tokens["registrar"]))
    assert name.status_code == 422 and name.json()["field"] == "body.name"
    assert _block(world) == block
    by_hash = api.post("/api/officer/lots", data={**lot, "receipt_sha256": "cd" * 32}, headers=headers)
    assert by_hash.status_code == 200 and by_hash.json()["status"] == "done", by_hash.text
    assert bytes(gold.functions.lot(b32("KHI-LOT-2026-901")).call()[3]) == bytes.fromhex("cd" * 32)
    again = api.post("/api/officer/lots", data={**lot, "receipt_sha256": "cd" * 32}, headers=headers)
    assert again.json()["status"] == "skipped" and again.json()["tx_hashes"] == []  # a lot id is attested once


def test_a_write_refused_by_the_login_limit_is_audited(world):
    _, stack, ledger, _, tokens, _, investors, *_, dirs = world
    api = officer_app(ledger, stack, dirs / "limited", Limits(login_failures=2, login_window=60))
    body = {"asset": "LHR-GH12B", "to": investors[0].wallet, "amount": "1", "reference": "api-limit-1"}
    for _ in range(2):
        assert api.post("/api/officer/mint", json=body, headers=auth("rwa_1_" + "x" * 43)).status_code == 401
    block = _block(world)
    limited = api.post("/api/officer/mint", json=body, headers=auth(tokens["registrar"]))  # even a valid token
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert api.get("/api/officer/me", headers=auth(tokens["registrar"])).status_code == 429  # a read: not audited
    a = schema.api_audit.c
    with ledger.engine.connect() as conn:
        last = conn.execute(select(schema.api_audit).order_by(a.id.desc()).limit(1)).one()
    assert (last.action, last.status_code, last.outcome, last.officer) == ("mint", 429, "refused", None)
    assert "too many failed logins" in last.detail and json.loads(last.params)["path"] == "/api/officer/mint"
    assert _block(world) == block


def test_uploads_get_the_upload_cap_and_no_more(world):
    _, stack, ledger, _, tokens, _, *_, dirs = world
    limits = Limits(max_body=4096, max_upload=64 * 1024)
    api = officer_app(ledger, stack, dirs / "capped", limits)
    registry = stack.registry.functions
    form = {"name": "valuation-report", "uri": "ipfs://bafkreiexample-valuation-3", "effective_date": "2026-11-26"}
    block = _block(world)
    big = b"v" * (100 * 1024)
    refused = api.post("/api/officer/assets/LHR-GH12B/documents", data=form, files={"file": ("big.txt", big)},
                       headers=auth(tokens["registrar"]))
    assert refused.status_code == 413 and refused.headers["content-type"] == "application/problem+json"
    assert _block(world) == block and not (dirs / "capped" / "uploads").exists()
    scan = b"s" * (16 * 1024)  # over the JSON cap, under the upload cap
    ok = api.post("/api/officer/assets/LHR-GH12B/documents", data=form, files={"file": ("scan.txt", scan)},
                  headers=auth(tokens["registrar"]))
    assert ok.status_code == 200 and ok.json()["status"] == "done", ok.text
    current = registry.document(registry.currentDocument(1, "valuation-report").call()).call()
    assert bytes(current[4]) == hashlib.sha256(scan).digest()
    assert Limits().max_upload == 20 * 1024 * 1024  # the default cap of the officer API's uploads


def test_a_node_gone_mid_write_answers_503_with_the_pending_transactions_audited(world, monkeypatch):
    """A write whose node went away after sending is not reported failed: 503 naming each pending transaction (hash,
    nonce), audited as pending; and a write it never reached says so."""
    from rwaledger.errors import NodeUnavailable, PendingTx
    from rwaledger.services.issuance import IssuanceService

    _, _, _, _, tokens, api, investors, *_ = world
    gone = NodeUnavailable("http://127.0.0.1:1", "waiting for receipts", "connection refused",
                           [PendingTx("0x" + "ab" * 32, investors[0].wallet, 41)], confirmed=2)
    monkeypatch.setattr(IssuanceService, "mint", lambda self, request: (_ for _ in ()).throw(gone))
    body = {"asset": "LHR-GH12B", "to": investors[0].wallet, "amount": "3", "reference": "api-node-gone"}
    r = api.post("/api/officer/mint", json=body, headers=auth(tokens["registrar"]))
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["pending"] == [{"tx_hash": "0x" + "ab" * 32, "sender": investors[0].wallet, "nonce": 41}]
    assert problem["confirmed"] == 2 and "pending, not failed" in problem["detail"]
    entry = api.get("/api/officer/audit", headers=auth(tokens["auditor"])).json()[0]
    assert (entry["outcome"], entry["status_code"], entry["tx_hashes"]) == ("pending", 503, ["0x" + "ab" * 32])
    never = NodeUnavailable("http://127.0.0.1:1", "sending", "connection refused")
    monkeypatch.setattr(IssuanceService, "mint", lambda self, request: (_ for _ in ()).throw(never))
    r = api.post("/api/officer/mint", json={**body, "reference": "api-node-gone-2"}, headers=auth(tokens["registrar"]))
    assert r.status_code == 503 and r.json()["pending"] == []
    assert api.get("/api/officer/audit", headers=auth(tokens["auditor"])).json()[0]["outcome"] == "unavailable"


def test_public_reads_answer_503_when_the_node_is_gone_or_the_chain_was_reset(world):
    from fastapi.testclient import TestClient

    from rwaledger.api import create_app
    from rwaledger.errors import ChainReset, NodeUnavailable

    ledger = world[2]
    app = create_app(ledger)

    @app.get("/test/node-gone")
    def node_gone():
        raise NodeUnavailable("http://127.0.0.1:1", "reading the head", "connection refused")

    @app.get("/test/reset")
    def reset():
        raise ChainReset("the chain was reset: the ledger is synced to block 26 but the chain's head is block 21")

    client = TestClient(app)
    down = client.get("/test/node-gone")
    assert down.status_code == 503 and down.json()["type"].endswith("/node-unavailable")
    assert down.headers["Retry-After"] == "5"
    again = client.get("/test/reset")
    assert again.status_code == 503 and again.json()["type"].endswith("/chain-reset") and "block 21" in again.json()["detail"]


def test_a_write_the_service_gave_up_waiting_for_is_pending_not_refused(world, monkeypatch):
    """Issue 12 (honest outcomes): a transaction sent and not confirmed within the timeout may still execute, so the
    API answers 202 "pending" naming it by hash and nonce (it was 422 "refused"), audits it as pending, and a retry
    with the same key replays that answer without sending anything."""
    from rwaledger.errors import PendingTx, TransactionTimeout
    from rwaledger.services.issuance import IssuanceService

    _, stack, ledger, _, tokens, api, investors, *_ = world
    sent = PendingTx("0x" + "ab" * 32, "0x" + "cd" * 20, 41)
    calls = []

    def gave_up(self, request):
        calls.append(request)
        raise TransactionTimeout(sent.tx_hash, 20.0, [sent])

    monkeypatch.setattr(IssuanceService, "mint", gave_up)
    request = {"asset": "LHR-GH12B", "to": investors[0].wallet, "amount": "3", "reference": "api-pending-1"}
    headers = {**auth(tokens["registrar"]), "Idempotency-Key": "api-pending-1"}
    r = api.post("/api/officer/mint", json=request, headers=headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["pending"] == [{"tx_hash": sent.tx_hash, "sender": sent.sender, "nonce": 41}]
    assert "pending, not failed" in body["detail"] and body["tx_hashes"] == [sent.tx_hash]
    again = api.post("/api/officer/mint", json=request, headers=headers)
    assert again.status_code == 202 and again.headers.get("Idempotent-Replay") == "true" and len(calls) == 1
    log = api.get("/api/officer/audit", headers=auth(tokens["auditor"]), params={"action": "mint"}).json()
    mine = [e for e in log if e["params"].get("reference") == "api-pending-1"]
    assert [(e["outcome"], e["tx_hashes"]) for e in mine] == [("pending", [sent.tx_hash])]
