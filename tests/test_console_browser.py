"""The officer console in a real browser (Playwright for Python driving Debian's Chromium, as
tests/test_portal_browser.py does): an officer logs in with a token, mints from a CSV with one bad row -> the row is
shown with its error and nothing is sent (no confirm button, the chain's block unchanged); the fixed file is
previewed, confirmed, sent in parts with a progress bar, and minted (balances on chain). Screenshots go to
build/screenshots/. Skipped without Chromium unless ``RWA_REQUIRE_BROWSER=1``."""

from __future__ import annotations


import pytest

from portal_kit import add_officers, build_world, console_app, served
from test_portal_browser import SHOTS, _missing, browser  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def site(chain, rwa_build, tmp_path_factory):
    snapshot = chain.snapshot()
    home = tmp_path_factory.mktemp("console-browser")
    w = build_world(chain, rwa_build, home)
    tokens = add_officers(w.ledger)
    with served(console_app(w, home, chunk=2)) as url:
        yield w, tokens, url
    w.ledger.close()
    chain.revert(snapshot)


def _page(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    # a page refusing a bad file answers 422, which Chromium logs; any other console error is a failure
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    return context, pg, errors


def _shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(pg, base: str, token: str) -> None:
    pg.goto(base + "/officer")
    pg.get_by_label("Officer token").fill(token)
    pg.get_by_role("button", name="Log in").click()
    pg.wait_for_selector("#forms")


def test_an_officer_mints_from_a_csv_with_a_bad_row_only_once_it_is_fixed(site, browser, chain):
    w, tokens, base = site
    context, pg, errors = _page(browser, 1280)
    try:
        _login(pg, base, tokens["registrar"])
        assert tokens["registrar"] not in pg.content() and "rwa_" not in pg.url
        _shot(pg, "console-home")
        pg.get_by_role("link", name="Mint from a CSV").click()
        pg.wait_for_url("**/officer/forms/mints")
        a, b, c = (w.investors[i].wallet for i in (0, 2, 4))
        bad = ("asset,to,amount,reference\n"
               f"LHR-GH12B,{a},20 shares,browser-csv-1\n"
               f"LHR-GH12B,{b},twenty shares,browser-csv-2\n"
               f"LHR-GH12B,{c},30 shares,browser-csv-3\n")
        block = chain.w3.eth.block_number
        token = w.stack.token(w.ledger.asset("LHR-GH12B").token)
        before = [token.functions.balanceOf(x).call() for x in (a, b, c)]
        pg.get_by_label("CSV file").set_input_files(
            files=[{"name": "allocations.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
        pg.get_by_role("button", name="Check the file").click()
        pg.wait_for_selector("#preview")
        bad_row = pg.locator('#preview tr.row-bad')
        assert bad_row.count() == 1 and bad_row.get_attribute("data-line") == "3"
        assert "twenty shares" in bad_row.inner_text() and "allocations.csv:3" in bad_row.inner_text()
        assert pg.locator("#preview tr.row-ok").count() == 2
        assert "Nothing was sent" in pg.inner_text("#precheck-error")
        assert pg.locator("#confirm").count() == 0  # nothing can be sent until the file is fixed
        _shot(pg, "console-mint-csv-error")
        assert chain.w3.eth.block_number == block

        fixed = bad.replace("twenty shares", "25 shares")
        pg.get_by_label("CSV file").set_input_files(
            files=[{"name": "allocations.csv", "mimeType": "text/csv", "buffer": fixed.encode()}])
        pg.get_by_role("button", name="Check the file").click()
        pg.wait_for_selector("#confirm")
        assert pg.locator("#preview tr.row-bad").count() == 0 and pg.locator("#preview tr.row-ok").count() == 3
        assert "mints 25 shares LHR-GH12B" in pg.inner_text("#preview")
        _shot(pg, "console-mint-csv-preview")
        assert chain.w3.eth.block_number == block
        pg.get_by_role("button", name="Confirm and send").click()
        pg.wait_for_url("**/officer/pending/*")
        outcome = pg.inner_text("#outcome")
        assert "Part 1 of 2" in outcome and "Part 2 of 2" in outcome and "0x" in outcome
        _shot(pg, "console-minted")
        assert [token.functions.balanceOf(x).call() for x in (a, b, c)] == [before[0] + 20, before[1] + 25,
                                                                               before[2] + 30]
        assert chain.w3.eth.block_number > block
        pg.goto(base + "/officer/audit?action=mints")
        assert "registrar officer" in pg.inner_text("#audit")
        _shot(pg, "console-audit")
    finally:
        context.close()
    assert not errors, errors  # a CSP violation or a script error is logged on the console


def test_the_console_has_no_horizontal_scroll_at_phone_width(site, browser):
    w, tokens, base = site
    context, pg, errors = _page(browser, 375)
    try:
        _login(pg, base, tokens["registrar"])
        for path in ("/officer", "/officer/forms/mints", "/officer/forms/forced_transfer", "/officer/audit",
                     f"/officer/investors/{w.investors[0].wallet}"):
            pg.goto(base + path)
            wide = pg.evaluate("document.documentElement.scrollWidth")
            assert wide <= 375, (path, wide)
        _shot(pg, "console-phone")
    finally:
        context.close()
    assert not errors, errors
