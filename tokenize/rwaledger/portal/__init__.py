"""The public web portal: server-rendered pages (Jinja2) over the public API, served by ``rwa serve``.

Pages: ``/`` (search), ``/assets/{asset}``, ``/verify`` (a file's SHA-256 computed in the browser, never uploaded),
``/wallets/{wallet}``, ``/status``. Every page reads through the public API's own handlers (looked up on the app by
their paths, so a page shows exactly what the JSON API answers, from the same cache) plus two ledger reads the API
has no endpoint for (ownership over time, the last reconciliation). Like the API, no page carries an investor's name or
label: wallets and countries only.

All JavaScript is in static files (``static/``, Chart.js vendored from npm into ``static/vendor/``): the pages are
served with a Content-Security-Policy without ``'unsafe-inline'``; chart data travels in ``<script
type="application/json">`` blocks, which are data and never run.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, Callable

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..errors import RwaError
from ..ledger import Ledger, NotSynced, UnknownAsset
from ..api import models as m

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# Scripts and styles from this origin only (no inline script, no eval), images from here or data: URIs (Chart.js
# exports none; the favicon is a data: URI), fetches to this origin (the verify page asks the API), no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP}
WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
PER_PAGE = 25
API = {  # the public API handlers the pages call, by the path they serve
    "assets": "/api/assets", "asset": "/api/assets/{asset}", "documents": "/api/assets/{asset}/documents",
    "cap_table": "/api/assets/{asset}/cap-table", "countries": "/api/assets/{asset}/countries",
    "asset_history": "/api/assets/{asset}/history", "liens": "/api/assets/{asset}/liens",
    "freezes": "/api/assets/{asset}/freezes", "reserve": "/api/assets/{asset}/reserve",
    "redemptions": "/api/assets/{asset}/redemptions", "wallet": "/api/wallets/{wallet}", "ledger_status": "/api/status",
    "wallet_distributions": "/api/wallets/{wallet}/distributions",
}
POINTS = 40  # blocks on the ownership-over-time chart


def _static_files() -> dict[str, tuple[Path, bytes, str]]:
    """name -> (path, short content hash): the only files ``/static/`` serves (no path from the request reaches the
    file system); the hash goes in the page's URL (``?v=``) so the files can be cached for a year."""
    out = {}
    for p in sorted(STATIC.rglob("*")):
        if p.is_file() and p.suffix in TYPES:
            body = p.read_bytes()
            out[p.relative_to(STATIC).as_posix()] = (p, body, hashlib.sha256(body).hexdigest()[:12])
    return out


def _when(ts: Any) -> str:
    """A unix time as ``2026-06-01 12:00 UTC`` (a date alone when it is midnight)."""
    if ts in (None, "", 0):
        return "—"
    t = datetime.fromtimestamp(int(float(ts)), timezone.utc)
    return t.strftime("%Y-%m-%d") if (t.hour, t.minute, t.second) == (0, 0, 0) else t.strftime("%Y-%m-%d %H:%M UTC")


def _units(amount: Any, decimals: int | None) -> str:
    """Base units as a decimal number with thousands separators (``1500000`` at 3 decimals -> ``1,500``)."""
    if amount in (None, ""):
        return "—"
    with localcontext() as ctx:
        ctx.prec = 100  # a uint256 has up to 78 digits: the default 28 would round it
        d = Decimal(str(amount)).scaleb(-(decimals or 0))
        text = f"{d:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money(amount_minor: Any, currency: str | None) -> str:
    if amount_minor in (None, ""):
        return "—"
    return f"{Decimal(str(amount_minor)).scaleb(-2):,.2f} {currency or ''}".strip()


def _short(value: Any, keep: int = 10) -> str:
    text = str(value or "")
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-6:]}"


def portal_router(app: FastAPI, ledger: Ledger) -> APIRouter:
    """The portal's routes over ``app``'s public API handlers (``create_app`` includes them)."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    files = _static_files()
    env.globals["static"] = lambda name: f"/static/{name}?v={files[name][2]}"
    env.filters.update(when=_when, units=_units, money=_money, short=_short)
    api: dict[str, Callable[..., Any]] = {}
    kept: dict[tuple, tuple[Any, Any]] = {}  # (read, asset) -> (checkpoint, value): the ledger reads of the pages

    def until_sync(key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` kept until the ledger's checkpoint moves (like the API's cache of "now")."""
        cp = ledger.checkpoint()
        mark = (cp.block, cp.hash) if cp else None
        hit = kept.get(key)
        if hit is not None and mark is not None and hit[0] == mark:
            return hit[1]
        if len(kept) > 1024:
            kept.clear()
        value = compute()
        kept[key] = (mark, value)
        return value

    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        """The public API's handler ``name`` (the JSON endpoint's own function, its caching included), found by its
        path and method (a route of another router may reuse a function name)."""
        if not api:
            routes = {(getattr(r, "path", None), m_): r.endpoint for r in app.routes if hasattr(r, "endpoint")
                      for m_ in getattr(r, "methods", None) or ()}
            api.update({n: routes[(path, "GET")] for n, path in API.items()})
        return api[name](*args, **kwargs)

    def render(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, path=request.url.path, **context)
        return HTMLResponse(html, status_code=code, headers=HEADERS)

    def failure(request: Request, exc: Exception) -> HTMLResponse:
        if isinstance(exc, UnknownAsset):
            return render(request, "error.html", 404, title="Not found", message=str(exc))
        if isinstance(exc, NotSynced):
            return render(request, "error.html", 503, title="Not synced yet", message=str(exc))
        return render(request, "error.html", 400, title="Bad request", message=str(exc))

    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def search(request: Request, q: str = "", kind: str = "", jurisdiction: str = "", status: str = "") -> Response:
        every = call("assets", q=None, kind=None, jurisdiction=None, status=None)
        kinds = {"property", "commodity"}
        statuses = {"registered", "active", "suspended", "retired"}
        found = call("assets", q=q.strip() or None, kind=kind if kind in kinds else None,
                     jurisdiction=jurisdiction.strip() or None, status=status if status in statuses else None)
        return render(request, "search.html", title="Find an asset", assets=found, q=q, kind=kind,
                      jurisdiction=jurisdiction, status=status, searched=bool(q or kind or jurisdiction or status),
                      jurisdictions=sorted({a.jurisdiction for a in every if a.jurisdiction}),
                      kinds=sorted(kinds), statuses=["registered", "active", "suspended", "retired"])

    @router.get("/assets/{asset}", response_class=HTMLResponse)
    def asset_page(request: Request, asset: str, page: int = Query(1, ge=1),
                   sort: str = Query("amount", pattern="^(amount|wallet)$")) -> Response:
        try:
            a: m.Asset = call("asset", asset)
            ref = str(a.asset_id)
            docs: list[m.Document] = call("documents", ref)
            raw = call("cap_table", ref, block=None, at=None, page=page, per_page=PER_PAGE, sort=sort)
            cap = m.CapTablePage.model_validate_json(raw.body) if isinstance(raw, Response) else raw
            countries: list[m.CountryTotal] = until_sync(("countries", ref), lambda: call("countries", ref, block=None))
            top = call("cap_table", ref, block=None, at=None, page=1, per_page=10, sort="amount")
            top = m.CapTablePage.model_validate_json(top.body) if isinstance(top, Response) else top
            history: list[m.Event] = until_sync(("history", ref), lambda: call("asset_history", ref, limit=200))
            liens: list[m.Lien] = call("liens", ref)
            freezes: list[m.Freeze] = call("freezes", ref)
            reserve = call("reserve", ref) if a.kind == "commodity" else None
            redemptions = call("redemptions", ref, status=None) if a.kind == "commodity" else []
            over_time = until_sync(("ownership", a.asset_id), lambda: ledger.ownership_history(a.asset_id, POINTS))
            registered_at = until_sync(("registered", a.asset_id), lambda: ledger.block_time(a.registered_block)
                                       if a.registered_block is not None else None)
        except (RwaError, UnknownAsset, NotSynced) as exc:
            return failure(request, exc)
        by_id = {d.document_id: d for d in docs}
        timeline: dict[str, list[m.Document]] = {}
        for d in docs:
            timeline.setdefault(d.name, []).append(d)
        transfers = [e for e in reversed(history) if e.event == "Transfer"]
        others = int(cap.total_supply) - sum(int(r.amount) for r in top.rows)
        chart = {
            "decimals": a.decimals or 0, "unit": a.unit or "units",
            "holders": [{"label": _short(r.wallet, 6), "amount": r.amount, "percent": r.percent} for r in top.rows]
            + ([{"label": "all others", "amount": str(others),
                 "percent": f"{Decimal(others) * 100 / Decimal(cap.total_supply):.2f}"}]
               if others > 0 and int(cap.total_supply) else []),
            "countries": [{"label": c.country or "unknown", "amount": c.amount, "percent": c.percent}
                          for c in countries],
            "history": [{"block": p.block, "date": _when(p.timestamp), "holders": p.holders,
                         "top": f"{p.top_percent:.2f}"} for p in over_time],
        }
        if reserve is not None:
            chart["reserve"] = {"supply": reserve.proof.supply, "reserve": reserve.proof.reserve}
        pages = max(1, -(-cap.holders // PER_PAGE))
        return render(request, "asset.html", title=f"{a.symbol} · {a.name}", a=a, docs=docs, by_id=by_id,
                      timeline=timeline, cap=cap, countries=countries, liens=liens, freezes=freezes,
                      reserve=reserve, redemptions=redemptions, transfers=transfers, chart=chart, sort=sort,
                      pages=pages, registered_at=registered_at, over_time=over_time)

    @router.get("/verify", response_class=HTMLResponse)
    def verify_page(request: Request) -> Response:
        return render(request, "verify.html", title="Verify a document")

    @router.get("/wallets", response_class=HTMLResponse)
    def wallet_lookup(request: Request, wallet: str = "") -> Response:
        if WALLET.match(wallet.strip()):
            return RedirectResponse(f"/wallets/{wallet.strip()}", status_code=303)
        return render(request, "error.html", 400, title="Not a wallet address",
                      message="A wallet address is 0x followed by 40 hexadecimal digits.")

    @router.get("/wallets/{wallet}", response_class=HTMLResponse)
    def wallet_page(request: Request, wallet: str) -> Response:
        if not WALLET.match(wallet):
            return render(request, "error.html", 400, title="Not a wallet address",
                          message="A wallet address is 0x followed by 40 hexadecimal digits.")
        try:
            w: m.Wallet = call("wallet", wallet, block=None, limit=200)
        except (RwaError, NotSynced) as exc:
            return failure(request, exc)
        symbols = {a.asset_id: a for a in call("assets", q=None, kind=None, jurisdiction=None, status=None)}
        dist: m.WalletDistributions = call("wallet_distributions", wallet)
        return render(request, "wallet.html", title=f"Wallet {_short(wallet, 6)}", w=w, assets=symbols,
                      history=list(reversed(w.history)), dist=dist)

    @router.get("/status", response_class=HTMLResponse)
    def status_page(request: Request) -> Response:
        s: m.LedgerStatus = call("ledger_status")
        return render(request, "status.html", title="Ledger status", s=s, rec=ledger.last_reconciliation())

    @router.get("/static/{name:path}")
    def static(name: str) -> Response:
        if name not in files:
            return Response("not found", status_code=404, media_type="text/plain")
        path, body, _ = files[name]
        return Response(body, media_type=TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=31536000, immutable", **HEADERS})

    return router
