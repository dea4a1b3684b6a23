"""The officer console (server-rendered pages under /officer, FastAPI TestClient) over the portal's world on the
in-process chain: login by token into a session cookie, CSRF on every POST (refused, nothing sent), each role's forms,
pre-checks shown before anything is sent, a CSV batch previewed row by row and sent only once every row passes,
the audit log with filters, investor labels on officer pages only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portal_kit import add_officers, build_world, console_app, name_parts
from rwaledger.portal.console import FORMS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(chain, rwa_build, tmp_path_factory):
    snapshot = chain.snapshot()
    home = tmp_path_factory.mktemp("console")
    w = build_world(chain, rwa_build, home)
    tokens = add_officers(w.ledger)
    app = console_app(w, home)
    yield w, tokens, app, chain
    w.ledger.close()
    chain.revert(snapshot)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def login(app, token: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    page = client.get("/officer")
    r = client.post("/officer/login", data={"token": token, "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    home = client.get("/officer")
    assert home.status_code == 200
    return client, csrf_of(home.text)


def sent(w, chain) -> tuple[int, int]:
    """The chain's block number and the officers' key's nonce: unchanged when nothing was sent."""
    account = chain.dev_accounts[0].address
    return chain.w3.eth.block_number, chain.w3.eth.get_transaction_count(account)


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(world):
    w, tokens, app, _ = world
    client = TestClient(app)
    page = client.get("/officer")
    assert page.status_code == 200 and 'type="password"' in page.text and '<label for="token"' in page.text
    r = client.post("/officer/login", data={"token": tokens["registrar"], "csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/officer"
    cookie = r.headers["set-cookie"]
    assert "rwa_console=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "secure" not in cookie.lower().split("rwa_console=")[1].split(",")[0]  # http here: Secure only on https
    sid = client.cookies.get("rwa_console")
    home = client.get("/officer")
    assert "registrar officer" in home.text and "Mint from a CSV" in home.text
    assert tokens["registrar"] not in home.text and sid not in home.text  # neither token nor session id in a page
    assert "unsafe-inline" not in home.headers["content-security-policy"] and "<script>" not in home.text
    # only a hash of the session id is kept server-side
    r = client.post("/officer/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("rwa_console", sid, path="/officer")  # the old cookie replayed: logged out for good
    assert 'type="password"' in client.get("/officer").text
    assert client.get("/officer/forms/mint").status_code == 401


def test_a_wrong_token_or_a_login_without_its_csrf_token_is_refused(world):
    w, tokens, app, _ = world
    client = TestClient(app)
    page = client.get("/officer")
    for bad in ("nonsense", tokens["registrar"][:-2] + "xx", ""):
        r = client.post("/officer/login", data={"token": bad, "csrf": csrf_of(page.text)}, follow_redirects=False)
        assert r.status_code == 401 and "not a valid officer token" in r.text
        assert "rwa_console=" not in r.headers.get("set-cookie", "").split("rwa_console_login")[0]
        page = r
    r = client.post("/officer/login", data={"token": tokens["registrar"], "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403 and client.cookies.get("rwa_console") is None


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_sends_nothing(world):
    w, tokens, app, chain = world
    client, csrf = login(app, tokens["registrar"])
    form = {"asset": "LHR-GH12B", "to": w.investors[0].wallet, "amount": "10 shares", "reference": "csrf-1"}
    checked = client.post("/officer/forms/mint", data={**form, "csrf": csrf})
    assert checked.status_code == 200, checked.text[:2000]
    pid = re.search(r'/officer/pending/([^/"]+)/send', checked.text)[1]
    before = sent(w, chain)
    for data in ({}, {"csrf": "wrong"}, {"csrf": csrf[:-1]}):
        r = client.post(f"/officer/pending/{pid}/send", data=data, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
        r = client.post(f"/officer/pending/{pid}/parts/0", data=data)
        assert r.status_code == 403
        assert client.post("/officer/forms/mint", data={**form, **data}).status_code == 403
        assert client.post("/officer/logout", data=data, follow_redirects=False).status_code == 403
    assert sent(w, chain) == before
    assert "csrf-1" not in client.get("/officer/audit").text  # not even tried: no audit entry


def test_each_role_sees_only_its_forms_and_a_write_of_another_role_is_refused_and_sends_nothing(world):
    w, tokens, app, chain = world
    expected = {"registrar": {"mint", "mints", "forced_transfer", "lien", "lien_release", "distribution", "asset",
                              "document"},
                "compliance": {"investors", "freeze", "partial_freeze"},
                "custodian": {"lot", "redemption_fulfilment", "redemption_rejection"},
                "auditor": set()}
    assert set().union(*expected.values()) == set(FORMS)  # a form for every write the API offers
    for role, token in tokens.items():
        client, csrf = login(app, token)
        home = client.get("/officer").text
        shown = set(re.findall(r'href="/officer/forms/([a-z_]+)"', home))
        assert shown == expected[role], role
        assert ("/officer/audit" in home) == (role in ("registrar", "auditor"))
        for action in set(FORMS) - expected[role]:
            assert client.get(f"/officer/forms/{action}").status_code == 403
        before = sent(w, chain)
        r = client.post("/officer/forms/mint", data={"csrf": csrf, "asset": "LHR-GH12B", "to": w.investors[0].wallet,
                                                     "amount": "1", "reference": f"role-{role}"})
        assert r.status_code == (200 if role == "registrar" else 403), role
        assert sent(w, chain) == before
        if role == "auditor":
            assert "write nothing" in home and "<form" not in home.split("</header>")[1]


def test_the_mint_preview_shows_the_pre_check_and_confirm_mints(world):
    w, tokens, app, chain = world
    client, csrf = login(app, tokens["registrar"])
    stranger = chain.dev_accounts[9].address  # no identity: the token refuses it
    before = sent(w, chain)
    r = client.post("/officer/forms/mint", data={"csrf": csrf, "asset": "LHR-GH12B", "to": stranger,
                                                 "amount": "10 shares", "reference": "stranger-1"})
    assert r.status_code == 422 and "rejected by " in r.text and "/send" not in r.text
    rule = re.search(r"rejected by (\w+)", r.text)[1]
    assert rule.startswith("Recipient") or "Verified" in rule or "Identity" in rule, rule
    r = client.post("/officer/forms/mint", data={"csrf": csrf, "asset": "LHR-GH12B", "to": w.investors[0].wallet,
                                                 "amount": "10 shares", "reference": "console-one-1"})
    assert r.status_code == 200 and "Would mint 10 shares of LHR-GH12B" in r.text
    assert sent(w, chain) == before  # the pre-check sends nothing
    token = w.stack.token(w.ledger.asset("LHR-GH12B").token)
    balance = token.functions.balanceOf(w.investors[0].wallet).call()
    pid = re.search(r'/officer/pending/([^/"]+)/send', r.text)[1]
    done = client.post(f"/officer/pending/{pid}/send", data={"csrf": csrf})
    assert done.status_code == 200 and "0x" in done.text
    assert re.search(r"<li>0x[0-9a-f]{64}</li>", done.text)
    assert token.functions.balanceOf(w.investors[0].wallet).call() == balance + 10
    # a second confirm of the same check is the API's idempotent replay: nothing sent twice
    after = sent(w, chain)
    client.post(f"/officer/pending/{pid}/send", data={"csrf": csrf})
    assert sent(w, chain) == after


def test_a_mint_csv_with_a_bad_row_shows_the_row_error_and_sends_nothing_until_fixed(world):
    w, tokens, app, chain = world
    client, csrf = login(app, tokens["registrar"])
    a, b, c = (w.investors[i].wallet for i in (0, 2, 4))
    bad = ("asset,to,amount,reference\n"
           f"LHR-GH12B,{a},20 shares,console-csv-1\n"
           f"LHR-GH12B,{b},twenty shares,console-csv-2\n"
           f"LHR-GH12B,{c},30 shares,console-csv-3\n")
    before = sent(w, chain)
    r = client.post("/officer/forms/mints", data={"csrf": csrf},
                    files={"file": ("allocations.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    assert re.search(r'<tr class="row-bad" data-line="3">', r.text) and r.text.count('class="row-ok"') == 2
    assert "allocations.csv:3" in r.text and "line 3" in r.text and "Nothing was sent" in r.text
    assert "/send" not in r.text  # no confirm button
    assert sent(w, chain) == before
    token = w.stack.token(w.ledger.asset("LHR-GH12B").token)
    balances = [token.functions.balanceOf(x).call() for x in (a, b, c)]
    fixed = bad.replace("twenty shares", "25 shares")
    r = client.post("/officer/forms/mints", data={"csrf": csrf},
                    files={"file": ("allocations.csv", fixed.encode(), "text/csv")})
    assert r.status_code == 200 and 'class="row-bad"' not in r.text and "mints 25 shares LHR-GH12B" in r.text
    assert 'data-parts="2"' in r.text  # 3 rows in parts of 2
    assert sent(w, chain) == before
    pid = re.search(r'/officer/pending/([^/"]+)/send', r.text)[1]
    # the page's script sends the parts one by one
    first = client.post(f"/officer/pending/{pid}/parts/0", data={"csrf": csrf}).json()
    assert first["ok"] and first["part"] == 1 and first["of"] == 2 and first["tx_hashes"]
    assert client.post(f"/officer/pending/{pid}/parts/0", data={"csrf": csrf}).json()["tx_hashes"] == first["tx_hashes"]
    second = client.post(f"/officer/pending/{pid}/parts/1", data={"csrf": csrf}).json()
    assert second["ok"] and second["part"] == 2
    assert [token.functions.balanceOf(x).call() for x in (a, b, c)] == [balances[0] + 20, balances[1] + 25,
                                                                           balances[2] + 30]
    outcome = client.get(f"/officer/pending/{pid}").text
    assert "Part 1 of 2" in outcome and "Part 2 of 2" in outcome


def test_a_forced_transfer_pre_check_names_the_rule(world):
    w, tokens, app, chain = world
    client, csrf = login(app, tokens["registrar"])
    before = sent(w, chain)
    r = client.post("/officer/forms/forced_transfer", data={
        "csrf": csrf, "asset": "LHR-GH12B", "sender": w.investors[0].wallet, "to": chain.dev_accounts[9].address,
        "amount": "1 shares", "reason": "court order 1"})
    assert r.status_code == 422 and "rejected by" in r.text
    r = client.post("/officer/forms/forced_transfer", data={
        "csrf": csrf, "asset": "LHR-GH12B", "sender": w.investors[0].wallet, "to": w.investors[2].wallet,
        "amount": "1 shares", "reason": "court order 1"})
    assert r.status_code == 200 and "The token allows it" in r.text
    assert sent(w, chain) == before


def test_an_investor_csv_is_previewed_row_by_row(world):
    w, tokens, app, chain = world
    client, csrf = login(app, tokens["compliance"])
    text = ("wallet,country,kyc_expiry,category,label\n"
            f"0x000000000000000000000000000000000000dEaD,PK,2029-01-31,retail,New Investor (Multan)\n"
            f"0x1234,PK,2029-01-31,retail,Broken Wallet\n")
    before = sent(w, chain)
    r = client.post("/officer/forms/investors", data={"csrf": csrf},
                    files={"file": ("investors.csv", text.encode(), "text/csv")})
    assert r.status_code == 422 and 'data-line="3"' in r.text and "investors.csv:3" in r.text and "/send" not in r.text
    assert sent(w, chain) == before
    # a chain check: a wallet already another investor's, named on its row with the other rows still checked
    taken = ("wallet,country,kyc_expiry,category,label,investor\n"
             f"0x000000000000000000000000000000000000dEaD,PK,2029-01-31,retail,New Investor (Multan),\n"
             f"{w.investors[1].wallet},PK,2029-01-31,retail,,{w.investors[0].wallet}\n")
    r = client.post("/officer/forms/investors", data={"csrf": csrf},
                    files={"file": ("investors.csv", taken.encode(), "text/csv")})
    assert r.status_code == 422 and re.search(r'<tr class="row-bad" data-line="3">', r.text), r.text[-3000:]
    assert "already belongs to investor" in r.text and "registers a new investor" in r.text
    assert sent(w, chain) == before
    fixed = taken.splitlines()[0] + "\n" + taken.splitlines()[1] + "\n"
    r = client.post("/officer/forms/investors", data={"csrf": csrf},
                    files={"file": ("investors.csv", fixed.encode(), "text/csv")})
    assert r.status_code == 200 and "registers a new investor" in r.text
    pid = re.search(r'/officer/pending/([^/"]+)/send', r.text)[1]
    done = client.post(f"/officer/pending/{pid}/send", data={"csrf": csrf})
    assert "done" in done.text and re.search(r"<li>0x[0-9a-f]{64}</li>", done.text)
    assert w.stack.identity.functions.investorOf("0x000000000000000000000000000000000000dEaD").call() \
        == "0x000000000000000000000000000000000000dEaD"


def test_the_audit_log_filters_by_officer_action_outcome_and_date(world):
    w, tokens, app, chain = world
    reg, csrf = login(app, tokens["registrar"])
    r = reg.post("/officer/forms/mint", data={"csrf": csrf, "asset": "LHR-GH12B", "to": w.investors[0].wallet,
                                              "amount": "1 shares", "reference": "audit-1"})
    pid = re.search(r'/officer/pending/([^/"]+)/send', r.text)[1]
    reg.post(f"/officer/pending/{pid}/send", data={"csrf": csrf})
    auditor, _ = login(app, tokens["auditor"])
    page = auditor.get("/officer/audit", params={"action": "mint"})
    assert page.status_code == 200 and "<label for=\"a-action\">" in page.text
    rows = re.findall(r"<tr><td>", page.text)
    assert rows and "registrar officer" in page.text
    body = page.text.split("<tbody>")[1]
    assert "mints" not in re.findall(r"<td>(mints?)</td>", body) or set(re.findall(r"<td>(mints?)</td>", body)) == {"mint"}
    none = auditor.get("/officer/audit", params={"by": "compliance officer", "action": "mint"}).text
    assert "No entry matches" in none
    assert "No entry matches" in auditor.get("/officer/audit", params={"since": "2000-01-01", "until": "2000-01-02"}).text
    assert "No entry matches" in auditor.get("/officer/audit", params={"outcome": "failed", "action": "mint"}).text
    assert "No entry matches" not in auditor.get("/officer/audit", params={"outcome": "done"}).text
    compliance, _ = login(app, tokens["compliance"])
    assert compliance.get("/officer/audit").status_code == 403


def test_labels_are_on_the_console_investor_page_and_on_no_public_page(world):
    w, tokens, app, _ = world
    client, _ = login(app, tokens["auditor"])
    investor = w.investors[0]
    page = client.get(f"/officer/investors/{investor.wallet}")
    assert page.status_code == 200 and investor.label in page.text and "PK" in page.text
    public = TestClient(app)
    for path in ("/", f"/wallets/{investor.wallet}", "/assets/LHR-GH12B", "/status"):
        html = public.get(path).text
        assert not any(part in html for part in name_parts(w.labels)), path
    assert TestClient(app).get(f"/officer/investors/{investor.wallet}").status_code == 401  # not without a login


def _check_and_send(client, csrf, action, data, files=None):
    r = client.post(f"/officer/forms/{action}", data={"csrf": csrf, **data}, files=files)
    assert r.status_code == 200, (action, re.sub(r"\s+", " ", r.text.split("<main")[1])[:1500])
    pid = re.search(r'/officer/pending/([^/"]+)/send', r.text)[1]
    done = client.post(f"/officer/pending/{pid}/send", data={"csrf": csrf})
    assert done.status_code == 200
    return r.text, done.text


def test_every_other_form_checks_then_writes_through_the_officer_api(world, tmp_path):
    w, tokens, app, chain = world
    reg, csrf = login(app, tokens["registrar"])
    holder, bank = w.investors[0].wallet, chain.dev_accounts[9].address
    _, done = _check_and_send(reg, csrf, "lien", {"asset": "LHR-GH12B", "holder": holder, "beneficiary": bank,
                                                   "amount": "5 shares", "reason": "LOAN-88"})
    assert "done" in done and re.search(r"<li>0x[0-9a-f]{64}</li>", done)
    _, done = _check_and_send(reg, csrf, "document", {"asset": "LHR-GH12B", "name": "survey-plan", "uri": "ipfs://s1",
                                                       "effective_date": "2026-07-01", "supersede": "on"},
                              files={"file": ("survey.txt", b"survey plan of the apartment\n", "text/plain")})
    assert "done" in done, done
    examples = ROOT / "scripts" / "examples"
    spec = (examples / "lahore-apartment.toml").read_bytes()
    r = reg.post("/officer/forms/asset", data={"csrf": csrf},
                 files=[("spec", ("apartment.toml", spec, "text/plain"))])
    assert r.status_code == 422 and "documents.0.file" in r.text and "not among the files chosen" in r.text
    docs = [("files", (p.name, p.read_bytes(), "text/plain")) for p in
            (examples / "documents" / "lhr-gh12b-fard.txt", examples / "documents" / "lhr-gh12b-valuation.txt")]
    r = reg.post("/officer/forms/asset", data={"csrf": csrf},
                 files=[("spec", ("apartment.toml", spec, "text/plain")), *docs])
    assert r.status_code == 200 and "Property LHR-GH12B" in r.text and "registered already" in r.text, r.text[-3000:]
    assert "title-deed: SHA-256" in r.text
    comp, ccsrf = login(app, tokens["compliance"])
    _, done = _check_and_send(comp, ccsrf, "freeze", {"asset": "LHR-GH12B", "wallet": holder, "frozen": "on"})
    assert "done" in done
    token = w.stack.token(w.ledger.asset("LHR-GH12B").token)
    assert token.functions.isFrozen(holder).call()
    _, done = _check_and_send(comp, ccsrf, "freeze", {"asset": "LHR-GH12B", "wallet": holder})  # unticked: unfreeze
    assert "done" in done and not token.functions.isFrozen(holder).call()
    cust, kcsrf = login(app, tokens["custodian"])
    _, done = _check_and_send(cust, kcsrf, "lot", {"asset": "KHI-GOLD", "lot_id": "KHI-LOT-2026-009", "vault": "Karachi",
                                                    "quantity": "1000"},
                              files={"receipt": ("receipt.pdf", b"warehouse receipt 9", "application/pdf")})
    assert "done" in done, done
    r = cust.post("/officer/forms/redemption_rejection", data={"csrf": kcsrf, "asset": "KHI-GOLD", "request_id": "1",
                                                               "reason": "no delivery address"})
    assert r.status_code == 200 and "Redemption request #1" in r.text


def test_the_proposals_pages_list_what_the_api_lists(world):
    w, tokens, app, _ = world
    for role in ("registrar", "auditor"):
        client, csrf = login(app, tokens[role])
        page = client.get("/officer/proposals")
        assert page.status_code == 200 and "No proposal." in page.text
        assert client.get("/officer/proposals/999").status_code == 404
    client, csrf = login(app, tokens["auditor"])
    r = client.post("/officer/proposals/1/approve", data={"csrf": csrf})
    assert r.status_code == 403 and "signs no proposal" in r.text


def test_rwa_serve_s_app_serves_the_console_and_the_cookie_is_secure_on_https(world):
    from rwaledger.api import create_app

    w, tokens, _, _ = world
    app = create_app(w.ledger, stack=w.stack)  # as `rwa serve` builds it
    client = TestClient(app, base_url="https://registry.example")
    page = client.get("/officer")
    assert page.status_code == 200 and 'action="/officer/login"' in page.text
    r = client.post("/officer/login", data={"token": tokens["auditor"], "csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith("rwa_console=")][0]
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/officer" in cookie
    assert "write nothing" in client.get("/officer").text


def test_a_mint_the_service_gave_up_waiting_for_shows_pending_not_failed(world, monkeypatch):
    """The outcome page says "pending" and names the transaction (it may still execute), and a batch stops there."""
    from rwaledger.errors import PendingTx, TransactionTimeout
    from rwaledger.services.issuance import IssuanceService

    w, tokens, app, chain = world
    client, csrf = login(app, tokens["registrar"])
    r = client.post("/officer/forms/mint", data={"csrf": csrf, "asset": "LHR-GH12B", "to": w.investors[0].wallet,
                                                 "amount": "2 shares", "reference": "console-pending-1"})
    assert r.status_code == 200 and "Would mint 2 shares" in r.text
    sent_tx = PendingTx("0x" + "ef" * 32, "0x" + "cd" * 20, 12)

    def gave_up(self, request):
        raise TransactionTimeout(sent_tx.tx_hash, 20.0, [sent_tx])

    monkeypatch.setattr(IssuanceService, "mint", gave_up)
    pid = re.search(r'/officer/pending/([^/"]+)/send', r.text)[1]
    done = client.post(f"/officer/pending/{pid}/send", data={"csrf": csrf})
    outcome = re.search(r'<ol class="outcomes" id="outcome">(.*?)</ol>', done.text, re.S)[1]
    assert '<li class="pending">' in outcome and "<strong>pending</strong>" in outcome
    assert f"<li>{sent_tx.tx_hash}</li>" in outcome and "pending, not failed" in outcome
