"""The public, read-only HTTP API over a ledger database (FastAPI): assets and their document history, document
verification by SHA-256, cap tables, totals by country, wallets, ledger status.

A thin adapter: every answer comes from :class:`rwaledger.ledger.Ledger` queries (and the follower's status); no
business rule lives here. Errors are RFC 9457 problem details; amounts are decimal strings; no response carries an
investor's name or label.
"""

from __future__ import annotations

import json
import re
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from .. import canonical, paths
from ..errors import ChainReset, NodeUnavailable, RwaError
from ..ledger import Ledger, NotSynced, UnknownAsset
from ..ledger.decode import checksum
from ..ledger.queries import AssetRecord, country_code
from . import models as m
from .limits import Limits, install
from .limits import problem as _problem

CHECKPOINT_TTL = 0.2  # seconds between two reads of the ledger's checkpoint by the "now" cache
HASH = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def _percent(value: Decimal) -> str:
    return f"{value:.2f}"


def _asset(r: AssetRecord) -> m.Asset:
    return m.Asset(
        asset_id=r.asset_id, kind=r.kind, symbol=r.symbol, name=r.name, token=r.token, decimals=r.decimals, unit=r.unit,
        cap=None if r.cap is None else str(r.cap), jurisdiction=r.jurisdiction, legal_reference=r.legal_reference,
        display_reference=r.display_reference, metadata_uri=r.metadata_uri, status=r.status,
        valuation=m.Valuation(amount_minor=None if r.valuation_amount is None else str(r.valuation_amount),
                              currency=r.valuation_currency, date=r.valuation_date),
        registered_block=r.registered_block, updated_block=r.updated_block)


def _documents(ledger: Ledger, asset_id: int | None = None) -> list[m.Document]:
    """Every document version registered, from the registry's DocumentAdded events (chain order)."""
    events = ledger.events(event="DocumentAdded", kind="registry")
    docs: list[m.Document] = []
    versions: dict[tuple[int, str], int] = {}
    for e in events:
        a = e.args
        aid = int(a["assetId"])
        versions[(aid, a["name"])] = versions.get((aid, a["name"]), 0) + 1
        supersedes = int(a["supersedes"]) or None
        docs.append(m.Document(
            document_id=int(a["documentId"]), asset_id=aid, name=a["name"], version=versions[(aid, a["name"])],
            uri=a["uri"], sha256=a["sha256Hash"], effective_date=int(a["effectiveDate"]), supersedes=supersedes,
            current=True, block_number=e.block_number, tx_hash=e.tx_hash))
    by_id = {d.document_id: d for d in docs}
    for d in docs:
        if d.supersedes and d.supersedes in by_id:
            old = by_id[d.supersedes]
            old.superseded_by, old.current = d.document_id, False
    return [d for d in docs if asset_id is None or d.asset_id == asset_id]


class Proofs:
    """The entitlements published in a distributions directory (``<id>.json``, services/distributions.py
    ``to_json``): per distribution, each account's (leaf index, amount), read once per file version (mtime)."""

    def __init__(self, directory: Path | None):
        self.dir = directory
        self._files: dict[int, tuple[float, dict[str, tuple[int, int]]]] = {}

    def entitlements(self, distribution_id: int) -> dict[str, tuple[int, int]] | None:
        """account -> (index, amount); None when no proofs file of this distribution is here."""
        if self.dir is None:
            return None
        path = self.dir / f"{distribution_id}.json"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._files.get(distribution_id)
        if cached is None or cached[0] != mtime:
            data = json.loads(path.read_text())
            cached = (mtime, {checksum(c["account"]): (int(c["index"]), int(c["amount"])) for c in data["claims"]})
            self._files[distribution_id] = cached
        return cached[1]


def default_distributions_dir(stack: Any) -> Path:
    """Where a distribution's proofs are published: beside the stack's deployment records (where ``rwa distribute``
    reads them), or ``build/distributions/<chain>`` where the chain keeps no records."""
    records = stack.session.deployer.store.dir
    return records / "distributions" if records is not None else (
        paths.BUILD_DIR / "distributions" / stack.session.chain.name)


def create_app(ledger: Ledger, follower: Any = None, *, stack: Any = None, title: str = "rwaledger registry",
               limits: Limits | None = None, cors_origins: Iterable[str] | None = None,
               distributions_dir: Path | None = None, upload_dir: Path | None = None) -> FastAPI:
    """The API over ``ledger``; ``follower`` (a :class:`rwaledger.follower.Follower`) reports the head and lag;
    with ``stack`` the officer API (login, writes to the chain, audit log) is served too. ``limits`` (default
    :class:`~rwaledger.api.limits.Limits`) caps bodies and failed logins; CORS stays closed unless ``cors_origins``
    lists the origins allowed. A distribution's entitlements are read from its proofs file in ``distributions_dir``
    (default: beside the stack's deployment records; without a stack, none: a wallet then sees its claims only);
    officers' uploads are kept in ``upload_dir`` (default ``build/uploads``)."""
    limits = limits or Limits()
    if distributions_dir is None and stack is not None:
        distributions_dir = default_distributions_dir(stack)
    proofs = Proofs(Path(distributions_dir) if distributions_dir is not None else None)
    app = FastAPI(title=title, version="1", summary="Public registry of tokenized real-world assets: who owns what, "
                  "when, and which title documents are genuine.")
    country_code(586)  # pycountry reads its ISO 3166 tables on first use (1.7 s measured): before the first request

    @app.exception_handler(UnknownAsset)
    async def _unknown(_: Request, exc: UnknownAsset) -> JSONResponse:
        return _problem(404, "unknown-asset", "Unknown asset", str(exc))

    @app.exception_handler(NotSynced)
    async def _not_synced(_: Request, exc: NotSynced) -> JSONResponse:
        return _problem(503, "not-synced", "The ledger is not synced yet", str(exc))

    @app.exception_handler(NodeUnavailable)
    async def _node_down(_: Request, exc: NodeUnavailable) -> JSONResponse:
        answer = _problem(503, "node-unavailable", "The chain node is unavailable", str(exc))
        answer.headers["Retry-After"] = "5"  # the transport retried already; the follower keeps retrying
        return answer

    @app.exception_handler(ChainReset)
    async def _reset(_: Request, exc: ChainReset) -> JSONResponse:
        return _problem(503, "chain-reset", "The chain was reset under the ledger", str(exc))

    @app.exception_handler(RwaError)
    async def _rwa(_: Request, exc: RwaError) -> JSONResponse:
        return _problem(400, "bad-request", "Bad request", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _problem(422, "validation", "Invalid request", f"{where}: {first.get('msg')}", where)

    cache: dict[tuple, tuple[tuple[int, str] | None, Any]] = {}
    seen: list[Any] = [0.0, None]  # when the checkpoint was last read, and what it was

    refreshing = threading.Lock()

    def checkpoint_mark() -> tuple[int, str] | None:
        """The checkpoint (block, hash; after a reorg the same height is another block), read at most every
        ``CHECKPOINT_TTL`` seconds: a sync becomes visible that much later, well within the follower's 2 s.
        Single-flight: when it is due, one request thread reads it and the others answer with the previous one
        meanwhile (only the very first read is waited for), so the threadpool never queues for the connection
        pool all at once (measured: waits of up to 4.5 s for a connection on PostgreSQL under 50 clients)."""
        if time.monotonic() - seen[0] > CHECKPOINT_TTL and refreshing.acquire(blocking=seen[0] == 0.0):
            try:
                if time.monotonic() - seen[0] > CHECKPOINT_TTL:
                    cp = ledger.checkpoint()
                    seen[0], seen[1] = time.monotonic(), (cp.block, cp.hash) if cp else None
            finally:
                refreshing.release()
        return seen[1]

    computing: dict[tuple, threading.Lock] = {}

    def now(key: tuple, compute: Any) -> Any:
        """``compute()``, kept until the ledger's checkpoint moves: what the public reads of "now" answer changes
        only when the follower syncs, so between syncs a page is served from memory. Single-flight per key: when
        the checkpoint moves, one thread computes the new answer while the others answer with the previous one
        (a key never computed yet: they wait for that one computation instead of all running it)."""
        mark = checkpoint_mark()
        hit = cache.get(key)
        if hit is not None and mark is not None and hit[0] == mark:
            return hit[1]
        lock = computing.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=hit is None):
            return hit[1]  # type: ignore[index]
        try:
            again = cache.get(key)
            if again is not None and mark is not None and again[0] == mark:
                return again[1]
            value = compute()
            if len(cache) > 4096:
                cache.clear()
                computing.clear()
            cache[key] = (mark, value)
            return value
        finally:
            lock.release()

    def status() -> m.LedgerStatus:
        if follower is not None:
            s = follower.status()
            return m.LedgerStatus(synced_block=s.synced_block, head=s.head, lag=s.lag, follower_running=s.running,
                                  last_sync_at=s.last_sync_at, last_error=s.last_error, role=s.role)
        cp = ledger.checkpoint()
        return m.LedgerStatus(synced_block=cp.block if cp else None, head=None, lag=None, follower_running=False,
                              last_sync_at=None, last_error=None)

    @app.get("/health", response_model=m.Health, tags=["status"])
    def health() -> m.Health:
        """For probes: ok while the ledger answers."""
        cp = ledger.checkpoint()
        return m.Health(status="ok", synced_block=cp.block if cp else None)

    @app.get("/api/ping", response_model=m.Ping, tags=["status"])
    def ping() -> m.Ping:
        """Answers at once, touching nothing: the ceiling the benchmark compares the other endpoints with."""
        return m.Ping(ok=True)

    @app.get("/api/status", response_model=m.LedgerStatus, tags=["status"])
    def ledger_status() -> m.LedgerStatus:
        """The synced block, the chain head the follower last saw, the lag, the follower's last error, and whether
        this process's follower is the one writing the ledger (``role``)."""
        return status()

    @app.get("/api/assets", response_model=list[m.Asset], tags=["assets"])
    def assets(q: str | None = Query(None, description="A symbol, a legal reference (any case or spacing) or part of "
                                                       "a name"),
               kind: Literal["property", "commodity"] | None = None, jurisdiction: str | None = None,
               status: Literal["registered", "active", "suspended", "retired"] | None = None) -> list[m.Asset]:
        """Search the registered assets."""
        rows = ledger.assets()
        if q:
            text = q.strip()
            try:
                wanted_ref = canonical.legal_reference(text)
            except Exception:
                wanted_ref = None
            rows = [r for r in rows if (r.symbol or "").upper() == text.upper() or
                    (wanted_ref is not None and r.legal_reference == wanted_ref) or
                    text.lower() in (r.name or "").lower()]
        if kind:
            rows = [r for r in rows if r.kind == kind]
        if jurisdiction:
            rows = [r for r in rows if (r.jurisdiction or "").upper() == jurisdiction.strip().upper()]
        if status:
            rows = [r for r in rows if r.status == status]
        return [_asset(r) for r in rows]

    @app.get("/api/assets/{asset}", response_model=m.Asset, tags=["assets"])
    def asset(asset: str) -> m.Asset:
        """One asset by id, symbol or token address."""
        return now(("asset", asset), lambda: _asset(ledger.asset(asset)))

    @app.get("/api/assets/{asset}/documents", response_model=list[m.Document], tags=["assets"])
    def documents(asset: str) -> list[m.Document]:
        """Every document version of an asset, oldest first, with what each supersedes and is superseded by."""
        return now(("documents", asset), lambda: _documents(ledger, ledger.asset(asset).asset_id))

    @app.get("/api/documents/verify", response_model=m.DocumentVerification, tags=["documents"])
    def verify(sha256: str = Query(..., description="The SHA-256 of the file, computed where the file is (it is "
                                                    "never uploaded)")) -> m.DocumentVerification | JSONResponse:
        """Which asset, document and version a file's hash is, when it was registered, and whether it is current."""
        if not HASH.match(sha256.strip()):
            return _problem(422, "validation", "Invalid request", "query.sha256: expected 64 hex digits", "query.sha256")
        digest = "0x" + sha256.strip().lower().removeprefix("0x")
        docs = now(("documents",), lambda: _documents(ledger))
        matches = [d for d in docs if d.sha256.lower() == digest]
        return m.DocumentVerification(sha256=digest, registered=bool(matches), matches=matches)

    @app.get("/api/assets/{asset}/cap-table", response_model=m.CapTablePage, tags=["ownership"])
    def cap_table(asset: str, block: int | None = Query(None, ge=0, description="Default: the last synced block"),
                  at: str | None = Query(None, description="An ISO 8601 date or time (no zone: UTC): the cap table at "
                                                          "the last block at or before it"),
                  page: int = Query(1, ge=1), per_page: int = Query(50, ge=1, le=500),
                  sort: Literal["amount", "wallet"] = "amount") -> m.CapTablePage | Response:
        """The holders of an asset at a block or a date, per wallet, largest first (or by wallet), with their
        country."""
        if at is not None:
            if block is not None:
                return _problem(422, "validation", "Invalid request", "query.at: give a block or a date, not both",
                                "query.at")
            try:
                block = ledger.block_at(at)
            except ValueError:
                return _problem(422, "validation", "Invalid request", f"query.at: {at!r} is not an ISO 8601 date or "
                                "time", "query.at")
        mark = checkpoint_mark()
        if block is None or (mark is not None and block == mark[0]):  # now: one page of the current holdings
            body = now(("cap-table", asset, page, per_page, sort),
                       lambda: page_now(asset, page, per_page, sort).model_dump_json().encode())
            return Response(body, media_type="application/json")  # rendered once per checkpoint
        rec = ledger.asset(asset)  # at a past block: a balance checkpoint and the changes after it, paged in SQL
        part, holders, total, at_block = ledger.cap_table_page(rec.asset_id, page, per_page, sort, block=block)
        return _page(rec, at_block, part, holders, total, page, per_page)

    def page_now(asset: str, page: int, per_page: int, sort: str) -> m.CapTablePage:
        rec = ledger.asset(asset)
        part, holders, total, at = ledger.cap_table_page(rec.asset_id, page, per_page, sort)
        return _page(rec, at, part, holders, total, page, per_page)

    @app.get("/api/assets/{asset}/countries", response_model=list[m.CountryTotal], tags=["ownership"])
    def countries(asset: str, block: int | None = Query(None, ge=0)) -> list[m.CountryTotal]:
        """An asset's units per country of its holders' investors."""
        return [m.CountryTotal(country=c.country, holders=c.holders, amount=str(c.amount), percent=_percent(c.percent))
                for c in ledger.totals_by_country(asset, block=block)]

    @app.get("/api/assets/{asset}/history", response_model=list[m.Event], tags=["ownership"])
    def asset_history(asset: str, limit: int = Query(100, ge=1, le=1000)) -> list[m.Event]:
        """The asset's events (transfers, mints, freezes, ...), the most recent ``limit``, in chain order."""
        return [_event(e) for e in ledger.history(asset=asset, limit=limit)]

    @app.get("/api/wallets/{wallet}", response_model=m.Wallet, tags=["ownership"])
    def wallet(wallet: str, block: int | None = Query(None, ge=0),
               limit: int = Query(100, ge=1, le=1000)) -> m.Wallet | JSONResponse:
        """What a wallet holds across assets at a block, and its history."""
        if not re.match(r"^0x[0-9a-fA-F]{40}$", wallet):
            return _problem(422, "validation", "Invalid request", "path.wallet: expected a 0x address", "path.wallet")
        at = block if block is not None else ledger.checkpoint().block if ledger.checkpoint() else None
        if at is None:
            raise NotSynced("the ledger is empty: run sync first")
        holdings = [m.Holding(asset_id=h.asset_id, symbol=h.symbol, token=h.token, amount=str(h.amount),
                              decimals=h.decimals, percent=_percent(h.percent)) for h in ledger.portfolio(wallet, block=at)]
        return m.Wallet(wallet=wallet, block=at, holdings=holdings,
                        history=[_event(e) for e in ledger.history(wallet=wallet, limit=limit)])

    @app.get("/api/wallets/{wallet}/distributions", response_model=m.WalletDistributions, tags=["ownership"])
    def wallet_distributions(wallet: str) -> m.WalletDistributions | JSONResponse:
        """The distributions a wallet can claim now (entitlement from the published proofs, not claimed, not
        withheld, not expired, not reclaimed) and those it claimed or was paid, as of the synced block."""
        if not re.match(r"^0x[0-9a-fA-F]{40}$", wallet):
            return _problem(422, "validation", "Invalid request", "path.wallet: expected a 0x address", "path.wallet")
        cp = ledger.checkpoint()
        if cp is None:
            raise NotSynced("the ledger is empty: run sync first")
        w = checksum(wallet)
        return now(("wallet-distributions", w), lambda: _wallet_distributions(ledger, proofs, w, cp.block))

    @app.get("/api/assets/{asset}/liens", response_model=list[m.Lien], tags=["encumbrances"])
    def liens(asset: str) -> list[m.Lien]:
        """The liens in force on an asset: holder and beneficiary wallets, amount, reason reference, document hash."""
        return now(("liens", asset), lambda: [
            m.Lien(lien_id=x.lien_id, holder=x.holder, beneficiary=x.beneficiary, amount=str(x.amount),
                   reason_ref=x.reason, document_hash=x.document_hash, created_block=x.created_block)
            for x in ledger.liens(asset)])

    @app.get("/api/assets/{asset}/freezes", response_model=list[m.Freeze], tags=["encumbrances"])
    def freezes(asset: str) -> list[m.Freeze]:
        """The wallets of an asset frozen whole or with a frozen amount now."""
        return now(("freezes", asset), lambda: [
            m.Freeze(wallet=x.wallet, frozen=x.frozen, frozen_amount=str(x.frozen_amount), block_number=x.block_number)
            for x in ledger.freezes(asset)])

    def _redemption(x: Any) -> m.Redemption:
        return m.Redemption(request_id=x.request_id, holder=x.holder, amount=str(x.amount), status=x.status,
                            requested_block=x.requested_block, block_number=x.block_number)

    @app.get("/api/assets/{asset}/reserve", response_model=m.Reserve, tags=["commodities"])
    def reserve(asset: str) -> m.Reserve | JSONResponse:
        """A commodity's reserve: the attested lots in custody, the supply, the open redemptions, and the proof
        that the supply does not exceed the reserve (both numbers and the comparison)."""
        rec = ledger.asset(asset)
        if rec.kind != "commodity":
            return _problem(404, "not-a-commodity", "Not a commodity", f"asset {asset} is a {rec.kind}: it has no "
                            "custody reserve", "path.asset")

        def compute() -> m.Reserve:
            r = ledger.reserve(rec.asset_id)
            lots = [m.Lot(lot_id=x.lot_id, vault=x.vault, receipt_hash=x.receipt_hash, custodian=x.custodian,
                          attested=str(x.attested), remaining=str(x.remaining), attested_block=x.attested_block)
                    for x in r.lots]
            return m.Reserve(asset_id=rec.asset_id, symbol=rec.symbol, unit=rec.unit, block=r.block, lots=lots,
                             open_redemptions=[_redemption(x) for x in r.open_redemptions],
                             proof=m.ReserveProof(supply=str(r.supply), reserve=str(r.reserve),
                                                  supply_le_reserve=r.backed))
        return now(("reserve", asset), compute)

    @app.get("/api/assets/{asset}/redemptions", response_model=list[m.Redemption], tags=["commodities"])
    def redemptions(asset: str, status: Literal["open", "fulfilled", "rejected"] | None = None) -> list[m.Redemption]:
        """A commodity's redemption requests (all, or those of one status), by id."""
        return now(("redemptions", asset, status), lambda: [_redemption(x) for x in ledger.redemptions(asset, status)])

    from ..portal import portal_router  # the public web pages, over the handlers above

    app.include_router(portal_router(app, ledger))
    if stack is not None:
        from .officer import officer_router

        from ..portal.console import console_router

        officer_api = officer_router(ledger, stack, limits, distributions_dir=distributions_dir, upload_dir=upload_dir)
        app.include_router(officer_api)
        app.include_router(console_router(app, ledger, officer_api.desk))  # the officer console, over those routes
    install(app, limits, cors_origins)
    return app


def _page(rec: AssetRecord, block: int, rows: list, holders: int, total: int, page: int, per_page: int) -> m.CapTablePage:
    return m.CapTablePage(
        asset_id=rec.asset_id, symbol=rec.symbol, block=block, total_supply=str(total), holders=holders, page=page,
        per_page=per_page, rows=[m.CapTableRow(wallet=r.holder, amount=str(r.amount), percent=_percent(r.percent),
                                               country=r.country) for r in rows])


def _wallet_distributions(ledger: Ledger, proofs: Proofs, wallet: str, block: int) -> m.WalletDistributions:
    as_of = ledger.block_time(block)
    dists = ledger.distributions()
    entitled = {}
    for d in dists:
        ent = proofs.entitlements(d.distribution_id)
        if ent is not None and wallet in ent:
            entitled[d.distribution_id] = ent[wallet]
    claims = ledger.distribution_claims(wallet, [(i, e[0]) for i, e in entitled.items()])
    by_leaf = {(c.distribution_id, c.claim_index): c for c in claims}
    out: dict[str, list[m.WalletDistribution]] = {"claimable": [], "claimed": [], "other": []}
    for d in dists:
        base = dict(distribution_id=d.distribution_id, asset_id=d.asset_id, symbol=d.symbol, token=d.token,
                    payment_token=d.payment_token, payment_symbol=d.payment_symbol,
                    payment_decimals=d.payment_decimals, record_block=d.record_block, expiry=d.expiry)
        paid = [c for c in claims if c.distribution_id == d.distribution_id and c.claimed]
        for c in paid:  # claimed by this wallet, or paid to it as the successor of a recovered wallet
            out["claimed"].append(m.WalletDistribution(**base, index=c.claim_index, amount=str(c.amount),
                                                       status="claimed", payee=c.payee, claimed_block=c.block_number))
        if d.distribution_id not in entitled:
            continue
        index, amount = entitled[d.distribution_id]
        leaf = by_leaf.get((d.distribution_id, index))
        if leaf is not None and leaf.claimed:
            continue  # listed above
        status = ("withheld" if leaf is not None and leaf.withheld else "reclaimed" if d.reclaimed is not None
                  else "expired" if d.expiry is not None and as_of is not None and as_of > d.expiry else "claimable")
        out["claimable" if status == "claimable" else "other"].append(
            m.WalletDistribution(**base, index=index, amount=str(amount), status=status))
    return m.WalletDistributions(wallet=wallet, block=block, as_of=as_of, **out)


def _event(e: Any) -> m.Event:
    return m.Event(block_number=e.block_number, tx_hash=e.tx_hash, log_index=e.log_index, contract=e.address,
                   contract_kind=e.contract_kind, event=e.event, asset_id=e.asset_id, args=e.args)
