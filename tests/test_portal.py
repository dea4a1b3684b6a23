"""The public web portal (server-rendered pages, FastAPI TestClient) over a ledger synced from the in-process chain:
each page renders the demo data; the search finds the apartment by its land record written in any case and spacing;
no investor label on any page; the pages carry a Content-Security-Policy without 'unsafe-inline'; static files are
the ones shipped (Chart.js exactly as npm's lockfile installs it)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portal_kit import build_world, name_parts
from rwaledger.api import create_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(chain, rwa_build, tmp_path_factory):
    snapshot = chain.snapshot()
    w = build_world(chain, rwa_build, tmp_path_factory.mktemp("portal"))
    yield w, TestClient(create_app(w.ledger))
    w.ledger.close()
    chain.revert(snapshot)


def pages(w) -> list[str]:
    return ["/", "/?q=gold", "/assets/LHR-GH12B", "/assets/LHR-GH12B?sort=wallet", "/assets/KHI-GOLD", "/verify",
            "/status", f"/wallets/{w.investors[1].wallet}", f"/wallets/{w.investors[2].wallet}"]


def test_every_page_renders_the_demo_data(world):
    w, client = world
    for path in pages(w):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
    home = client.get("/").text
    assert "LHR-GH12B" in home and "KHI-GOLD" in home
    lhr = client.get("/assets/LHR-GH12B").text
    for shown in ("Gulberg Heights Apt 12B", "LHR/GULBERG-III/KHEWAT-1187", "PKR", "chart-holders", "chart-countries",
                  "chart-history", "title-deed", "superseded by v2", "ipfs://deed-v2", w.ledger.asset("LHR-GH12B").token,
                  "Liens", "Freezes", "whole wallet", "60.53 %"):
        assert shown in lhr, shown
    gold = client.get("/assets/KHI-GOLD").text
    assert "chart-reserve" in gold and "fully backed" in gold and "Lots in custody" in gold and "fulfilled" in gold
    wallet = client.get(f"/wallets/{w.investors[1].wallet}").text
    assert "LHR-GH12B" in wallet and "KHI-GOLD" in wallet and "3,000" in wallet
    status = client.get("/status").text
    assert str(w.ledger.checkpoint().block) in status and "ledger matches the chain" in status
    verify = client.get("/verify").text
    assert "never uploaded" in verify and 'type="file"' in verify and "<label" in verify


def test_the_chart_data_is_the_api_s(world):
    w, client = world
    html = client.get("/assets/LHR-GH12B").text
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)[1])
    api = {c["country"]: c["percent"] for c in client.get("/api/assets/LHR-GH12B/countries").json()}
    assert {c["label"]: c["percent"] for c in data["countries"]} == api
    assert sum(int(h["amount"]) for h in data["holders"]) == 9500
    assert data["history"][-1]["holders"] == 5 and data["history"][0]["holders"] >= 1
    top = client.get("/api/assets/LHR-GH12B/cap-table", params={"per_page": 1}).json()["rows"][0]
    assert data["history"][-1]["top"] == top["percent"]


def test_ownership_history_is_counted_in_sql(world):
    w, _ = world
    points = w.ledger.ownership_history("LHR-GH12B")
    assert [p.block for p in points] == sorted(p.block for p in points)
    last = points[-1]
    rows, holders, total, _ = w.ledger.cap_table_page("LHR-GH12B", per_page=1)
    assert (last.holders, last.supply, last.top_holder) == (holders, total, rows[0].amount)
    few = w.ledger.ownership_history("LHR-GH12B", points=2)
    assert [p.block for p in few] == [points[0].block, points[-1].block]


def test_search_by_legal_reference_in_odd_case_and_spacing(world):
    w, client = world
    sloppy = "  " + w.reference.lower().replace("/", " / ") + " "
    html = client.get("/", params={"q": sloppy}).text
    assert "1 asset found" in html and 'href="/assets/LHR-GH12B"' in html and "KHI-GOLD" not in html
    assert "1 asset found" in client.get("/", params={"q": "gulberg heights"}).text
    assert "1 asset found" in client.get("/", params={"q": "khi-gold"}).text
    assert "1 asset found" in client.get("/", params={"kind": "commodity"}).text
    assert "No registered asset matches" in client.get("/", params={"q": "nothing like it"}).text
    assert "0 assets found" in client.get("/", params={"jurisdiction": "AE"}).text


def test_no_public_page_shows_an_investor_label(world):
    w, client = world
    assert w.ledger.investor_labels()  # the labels are in the ledger
    bodies = [client.get(p).text for p in pages(w)]
    bodies += [client.get(f"/wallets/{i.wallet}").text for i in w.investors]
    bodies += [client.get(p).text for p in ("/assets/LHR-GH12B?page=2", "/assets/1", "/assets/NOPE")]
    for part in name_parts(w.labels):
        assert not any(part in b for b in bodies), part


def test_pages_carry_a_csp_without_unsafe_inline(world):
    w, client = world
    for path in pages(w) + ["/assets/NOPE", "/static/portal.css"]:
        r = client.get(path)
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff"
    for path in pages(w):  # and no inline script: every <script> has a src or is a JSON data block
        for tag in re.findall(r"<script\b[^>]*>", client.get(path).text):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.findall(r"<[a-z]+\s[^>]*\bon[a-z]+=", client.get(path).text), path  # no onclick=...


def test_errors_are_pages(world):
    _, client = world
    r = client.get("/assets/NOPE")
    assert r.status_code == 404 and "Not found" in r.text and r.headers["content-type"].startswith("text/html")
    assert client.get("/wallets/0x123").status_code == 400
    assert client.get("/static/../__init__.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404
    ok = client.get("/wallets", params={"wallet": "0x" + "ab" * 20}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/wallets/0x" + "ab" * 20


def test_asset_page_weight_under_300_kb(world):
    """The HTML and every script and stylesheet it loads (uncompressed): under 300 kB."""
    _, client = world
    html = client.get("/assets/LHR-GH12B").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any("chart.umd.js" in a for a in assets) and any("portal.css" in a for a in assets)
    total = len(html.encode()) + sum(len(client.get(a).content) for a in assets)
    assert total < 300_000, total
    cached = client.get(assets[0])
    assert "immutable" in cached.headers["cache-control"]


def test_chart_js_is_the_locked_npm_package():
    """static/vendor/chart.umd.js is npm's chart.js at the lockfile's version (copied from node_modules)."""
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/chart.js"]
    shipped = (ROOT / "tokenize/rwaledger/portal/static/vendor/chart.umd.js").read_bytes()
    assert f"Chart.js v{lock['version']}".encode() in shipped[:200]
    installed = ROOT / "node_modules/chart.js/dist/chart.umd.js"
    if installed.exists():
        assert hashlib.sha256(installed.read_bytes()).digest() == hashlib.sha256(shipped).digest()


def test_the_portal_files_ship_in_the_wheel():
    """Every template and static file matches a package-data glob of pyproject.toml (the wheel carries them)."""
    import fnmatch
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["rwaledger"]
    package = ROOT / "tokenize" / "rwaledger"
    files = [p.relative_to(package).as_posix() for d in ("portal/templates", "portal/static")
             for p in (package / d).rglob("*") if p.is_file()]
    assert files and all(any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs) for f in files), \
        files


def test_the_pages_beside_the_officer_api(world):
    """With the officer API served too (rwa serve), the pages still read the public handlers."""
    w, client = world
    both = TestClient(create_app(w.ledger, stack=w.stack))
    for path in pages(w):
        assert both.get(path).text == client.get(path).text, path


@pytest.mark.postgresql
def test_ownership_history_is_the_same_on_postgresql(world, postgres_url):
    w, _ = world
    from rwaledger.ledger import Ledger

    with Ledger.open(postgres_url) as pg:
        pg.sync(w.stack)
        assert pg.ownership_history("LHR-GH12B") == w.ledger.ownership_history("LHR-GH12B")
        assert pg.ownership_history("KHI-GOLD", 3) == w.ledger.ownership_history("KHI-GOLD", 3)
