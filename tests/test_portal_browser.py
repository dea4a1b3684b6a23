"""The public portal in a real browser: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``,
launched with ``executable_path``; ``playwright install`` would download a browser) against ``rwa serve``'s app in
a uvicorn server on a free port. Search by legal reference -> the asset page with its cap table and charts; verify
the registered title deed, its superseded first version and an unknown file (the hash computed by Web Crypto in the
page); no investor label on a page; no horizontal scroll at 375 px. Screenshots go to build/screenshots/.

Skipped when Chromium or Playwright is missing, unless ``RWA_REQUIRE_BROWSER=1`` (``.ci/run`` sets it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from portal_kit import build_world, name_parts, served
from rwaledger.api import create_app

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "screenshots"
REQUIRED = os.environ.get("RWA_REQUIRE_BROWSER") == "1"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


def _chromium() -> str | None:
    """``RWA_CHROMIUM``, else Debian's ``chromium`` (``/usr/bin/chromium``), else the browser ``playwright install
    chromium`` downloaded (on an online machine), else None."""
    for path in (os.environ.get("RWA_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if path and Path(path).exists():
            return path
    if sync_playwright is not None:
        with sync_playwright() as p:
            if Path(p.chromium.executable_path).exists():
                return p.chromium.executable_path
    return None


CHROMIUM = _chromium()
_missing = ("playwright is not installed (pip install -e '.[test]')" if sync_playwright is None else
            None if CHROMIUM else "no Chromium: apt-get install chromium (/usr/bin/chromium), set RWA_CHROMIUM, or "
            "`playwright install chromium` on an online machine")
if _missing and REQUIRED:
    raise RuntimeError(f"RWA_REQUIRE_BROWSER=1 but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def site(chain, rwa_build, tmp_path_factory):
    """The world served by uvicorn in a thread: (world, base URL)."""
    snapshot = chain.snapshot()
    w = build_world(chain, rwa_build, tmp_path_factory.mktemp("portal-browser"))
    with served(create_app(w.ledger)) as url:
        yield w, url
    w.ledger.close()
    chain.revert(snapshot)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors  # a CSP violation or a script error is logged on the console


def _shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_by_legal_reference_shows_the_asset_with_cap_table_and_chart(site, page):
    w, base = site
    page.goto(base + "/")
    _shot(page, "search")
    page.get_by_label("Symbol, legal reference or name").fill(w.reference.lower().replace("/", " / "))
    page.get_by_label("Symbol, legal reference or name").press("Enter")
    page.wait_for_url("**/?q=*")
    assert "1 asset found" in page.inner_text("main")
    page.get_by_role("link", name="LHR-GH12B").click()
    page.wait_for_url("**/assets/LHR-GH12B")
    table = page.locator("#cap-table")
    assert table.locator("tbody tr").count() == 5 and "%" in table.inner_text()
    canvas = page.locator("#chart-holders")
    canvas.wait_for()
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-holders') && Chart.getChart('chart-history')")
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    assert page.evaluate("Chart.getChart('chart-countries').data.labels").count("PK") == 1
    _shot(page, "asset")
    page.goto(base + "/assets/KHI-GOLD")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-reserve')")
    assert "fully backed" in page.inner_text("main")
    _shot(page, "asset-commodity")


def _verify(page, base: str, file: Path, shot: str | None = None) -> str:
    page.goto(base + "/verify")
    assert "never uploaded" in page.inner_text("main")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url} {r.post_data or ''}"))
    page.locator("#file").set_input_files(str(file))
    page.wait_for_selector("#result .verdict:not(:text('Computing'))")
    page.wait_for_function("() => document.getElementById('result').dataset.ms !== undefined")
    assert requests and all(r.startswith("GET ") and r.endswith(" ") for r in requests), requests  # no body: only
    assert any("sha256=" in r for r in requests)  # the hash travels, in the query
    if shot:
        _shot(page, shot)
    return page.inner_text("#result")


def test_verify_a_genuine_current_document(site, page):
    w, base = site
    text = _verify(page, base, w.deed_v2, "verify-genuine")
    assert text.lower().startswith("genuine, current")
    assert "title-deed" in text and "version 2" in text and "LHR-GH12B" in text


def test_verify_a_superseded_version(site, page):
    w, base = site
    text = _verify(page, base, w.deed_v1, "verify-superseded")
    assert "superseded by v2" in text and "version 1" in text and "LHR-GH12B" in text


def test_verify_an_unknown_file(site, page, tmp_path):
    _, base = site
    forged = tmp_path / "forged-fard.txt"
    forged.write_text("Fard of the Gulberg apartment, owner: someone else\n")
    text = _verify(page, base, forged, "verify-unknown")
    assert "not registered" in text.lower()


def test_verify_a_10_mb_file_quickly(site, page, tmp_path):
    """From the file chosen to the answer shown (hash in the browser + the API's answer), in the page's clock."""
    _, base = site
    big = tmp_path / "scan.bin"
    big.write_bytes(os.urandom(10 * 1024 * 1024))
    _verify(page, base, big)
    ms = int(page.locator("#result").get_attribute("data-ms"))
    print(f"verification of a 10 MB file: {ms} ms")
    assert ms < 2000, ms  # the target is 200 ms on a desktop; this shared CI machine gets slack


def test_no_public_page_shows_an_investor_label(site, page):
    w, base = site
    parts = name_parts(w.labels)
    for path in ("/", "/assets/LHR-GH12B", "/assets/KHI-GOLD", "/status", "/verify",
                 *(f"/wallets/{i.wallet}" for i in w.investors)):
        page.goto(base + path)
        text = page.content() + page.inner_text("body")
        assert not [p for p in parts if p in text], path
    page.goto(base + "/status")
    _shot(page, "status")
    page.goto(base + f"/wallets/{w.investors[1].wallet}")
    _shot(page, "wallet")


def test_phone_width_has_no_horizontal_scroll(site, browser):
    w, base = site
    context = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    pg = context.new_page()
    try:
        for path, name in (("/", "phone-search"), ("/assets/LHR-GH12B", "phone-asset"), ("/assets/KHI-GOLD", None),
                           ("/verify", "phone-verify"), ("/status", None), (f"/wallets/{w.investors[1].wallet}", None)):
            pg.goto(base + path)
            pg.wait_for_load_state("networkidle")
            sw, cw = pg.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert sw <= cw, (path, sw, cw)
            if name:
                _shot(pg, name)
    finally:
        context.close()
