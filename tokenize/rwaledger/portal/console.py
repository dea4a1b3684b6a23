"""The officer console: server-rendered pages under ``/officer`` over the officer API.

A thin adapter. An officer logs in with the token ``rwa officer add`` printed (checked by the officer router's own
login, its failed-login limit included); the token is exchanged for a session cookie (random, ``HttpOnly``,
``SameSite=Strict``, ``Secure`` on https) and only the SHA-256 of the session id is kept, in the ledger's
``console_sessions`` table (with the CSRF token and the checked writes awaiting confirmation, as plain JSON): every
worker of one server shares it, and a restart logs no one out. Every form carries the session's CSRF token in a hidden field, checked on every POST before
anything else runs (the login form a double-submit cookie).

Each write is two steps. *Fill in* runs the services' own read-only pre-checks (``IssuanceService.plan_mints``,
``EnforcementService.check_forced_transfer``, the request models and CSV loaders of :mod:`rwaledger.models`) and shows
their answer ("rejected by CountryNotAllowed", or each bad CSV row with its error); nothing is sent, and a CSV with a
bad row cannot be confirmed. *Confirm* calls the officer API's own route handler (found on the app by its path), so a
write is authorised, made idempotent (the console's key per preview and chunk), sent and audited exactly as over
JSON. A CSV batch is sent in chunks, one write each; the page's script sends them one by one and shows "n of N"
(without JavaScript the confirm form sends them all in one request).

The audit log (registrar, auditor) reads the API's audit route with its filters; investor labels appear only on
these pages (``/officer/investors/{wallet}``), never on the public ones.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.datastructures import UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from sqlalchemy import Engine, select

from ..api.limits import TooManyAttempts
from ..api.officer import MAY, AssetUpload, CsvUpload, DocumentUpload, LotUpload, OfficerDesk
from ..errors import RwaError
from ..ledger import Ledger, schema
from ..models import (
    DistributionRequest,
    ForcedTransferRequest,
    FreezeRequest,
    InvestorSpec,
    LienReleaseRequest,
    LienRequest,
    LotRequest,
    MintRequest,
    PartialFreezeRequest,
    RedemptionFulfilment,
    RedemptionRejection,
    SpecError,
    csv_rows_bytes,
)
from ..officers import Officer
from ..services import Services, TransferRejected
from . import HEADERS, HERE, WALLET, _short, _static_files, _units, _when

COOKIE = "rwa_console"
LOGIN_COOKIE = "rwa_console_login"  # the login form's double-submit CSRF token
SESSION_TTL = 8 * 3600
CHUNK = 100  # CSV rows per write of a batch


@dataclass
class Pending:
    """A checked write waiting for the officer's confirmation: its chunks (each one call of an API route, described
    by :func:`_call`: plain JSON, so that any worker can rebuild and send it) and the results of those sent."""

    action: str
    title: str
    summary: list[str]
    chunks: list[dict]  # {"path", "args", "body"}: see _call and _body
    rows: int = 0
    results: list[dict] = field(default_factory=list)


@dataclass
class Session:
    officer_id: int
    csrf: str
    expires: float
    pending: dict[str, Pending] = field(default_factory=dict)
    key: str = ""  # the SHA-256 of the session id: its row in console_sessions


KEEP = 20  # pending previews kept per session (the oldest goes first)


class Sessions:
    """Console sessions in the ledger's ``console_sessions`` table, by the SHA-256 of their id (the id itself is
    only in the officer's cookie): shared by every worker of one server, kept across a restart. One transaction per
    unit of work (open, look up, close, keep a preview, record a part's result)."""

    def __init__(self, engine: Engine, ttl: int = SESSION_TTL, clock: Callable[[], float] = time.time):
        self.engine, self.ttl, self.clock = engine, ttl, clock

    @staticmethod
    def _hash(sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()

    def open(self, officer: Officer) -> str:
        sid = secrets.token_urlsafe(32)
        now = int(self.clock())
        t = schema.console_sessions
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.expires < now))
            conn.execute(t.insert().values(id_sha256=self._hash(sid), officer_id=officer.id,
                                           csrf=secrets.token_urlsafe(32), expires=now + self.ttl, pending="{}"))
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        key, t = self._hash(sid), schema.console_sessions
        with self.engine.begin() as conn:
            row = conn.execute(select(t).where(t.c.id_sha256 == key)).first()
            if row is None:
                return None
            if row.expires < self.clock():
                conn.execute(t.delete().where(t.c.id_sha256 == key))
                return None
        return Session(int(row.officer_id), row.csrf, float(row.expires), _pending_of(row.pending), key)

    def close(self, sid: str | None) -> None:
        if sid:
            t = schema.console_sessions
            with self.engine.begin() as conn:
                conn.execute(t.delete().where(t.c.id_sha256 == self._hash(sid)))

    def _update(self, s: Session, change: Callable[[dict[str, Pending]], None]) -> None:
        """``change`` applied to the session's stored previews (and to ``s``), in one transaction: the row is
        written first (a no-op update), so it is locked (PostgreSQL) or the database's write lock taken (SQLite)
        before it is read, and two workers changing one session do not overwrite each other's change."""
        t = schema.console_sessions
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id_sha256 == s.key).values(expires=t.c.expires))
            text = conn.execute(select(t.c.pending).where(t.c.id_sha256 == s.key)).scalar()
            stored = _pending_of(text) if text is not None else {}
            change(stored)
            if text is not None:
                conn.execute(t.update().where(t.c.id_sha256 == s.key).values(
                    pending=json.dumps({pid: asdict(p) for pid, p in stored.items()})))
        change(s.pending)

    def keep(self, s: Session, pending: Pending) -> str:
        """Keep a preview in the session (the oldest dropped beyond :data:`KEEP`): its id."""
        pid = secrets.token_urlsafe(12)

        def add(previews: dict[str, Pending]) -> None:
            while len(previews) > KEEP:
                previews.pop(next(iter(previews)))
            previews[pid] = Pending(**asdict(pending))
        self._update(s, add)
        return pid

    def record(self, s: Session, pid: str, i: int, result: dict) -> None:
        """Record the result of part ``i`` of preview ``pid``."""
        def put(previews: dict[str, Pending]) -> None:
            p = previews.get(pid)
            if p is None:
                return
            if len(p.results) <= i:
                p.results.append(result)
            else:
                p.results[i] = result
        self._update(s, put)


def _pending_of(text: str) -> dict[str, Pending]:
    return {pid: Pending(**p) for pid, p in json.loads(text).items()}


def _b64(name: str, content: bytes) -> list[str]:
    return [name, base64.b64encode(content).decode()]


def _unb64(item: list[str]) -> tuple[str, bytes]:
    return item[0], base64.b64decode(item[1])


def _call(path: str, body: dict | None = None, **args: Any) -> dict:
    """One API route call as JSON: the route's path, its path arguments, and how to rebuild its body (_body)."""
    return {"path": path, "args": args, "body": body}


def _body(b: dict | None) -> Any:
    """A route call's body rebuilt from its JSON (the form values parsed again, the files from base64)."""
    if b is None:
        return None
    kind = b["kind"]
    if kind == "model":
        return _parse(MODELS[b["model"]], b["data"])
    if kind == "lot":
        lot = _parse(LotRequest, b["data"])
        return LotUpload(**lot.model_dump(), receipt=_upload(*_unb64(b["receipt"])) if b["receipt"] else None)
    if kind == "document":
        return DocumentUpload(**b["data"], file=_upload(*_unb64(b["file"])))
    if kind == "asset":
        return AssetUpload(spec=_upload(*_unb64(b["spec"])), files=[_upload(*_unb64(f)) for f in b["files"]])
    if kind == "csv":
        return CsvUpload(file=_upload(*_unb64(b["file"])))
    raise ValueError(f"no console call body of kind {kind!r}")  # pragma: no cover


# --- the forms -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | checkbox | file | files | number | date
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class FormSpec:
    action: str  # the officer API's action name (MAY)
    title: str
    path: str  # the officer API route (POST) that writes it
    fields: tuple[Field, ...]
    csv_model: Any = None  # a CSV upload: the model of its rows
    about: str = ""


ASSET = Field("asset", "Asset (symbol or id)", required=True)
AMOUNT = Field("amount", "Amount", required=True, hint="smallest units, or a quantity in the asset's unit: 100 shares")
FORMS: dict[str, FormSpec] = {f.action: f for f in (
    FormSpec("mint", "Mint one allocation", "/api/officer/mint",
             (ASSET, Field("to", "Recipient wallet", required=True), AMOUNT,
              Field("reference", "Reference", hint="e.g. the sale-deed number; an allocation mints once per reference"))),
    FormSpec("mints", "Mint from a CSV", "/api/officer/mints", (Field("file", "CSV file", "file", True),),
             csv_model=MintRequest, about="columns asset,to,amount[,reference]"),
    FormSpec("investors", "Onboard investors from a CSV", "/api/officer/investors",
             (Field("file", "CSV file", "file", True),), csv_model=InvestorSpec,
             about="columns wallet,country,kyc_expiry[,category,label,investor]; labels stay in the ledger"),
    FormSpec("forced_transfer", "Forced transfer", "/api/officer/forced-transfers",
             (ASSET, Field("sender", "From wallet", required=True), Field("to", "To wallet", required=True), AMOUNT,
              Field("reason", "Reason", required=True, hint="e.g. the court order"),
              Field("include_frozen", "Move frozen units too", "checkbox"))),
    FormSpec("freeze", "Freeze or unfreeze a wallet", "/api/officer/freezes",
             (ASSET, Field("wallet", "Wallet", required=True), Field("frozen", "Frozen (untick to unfreeze)", "checkbox"))),
    FormSpec("partial_freeze", "Freeze part of a holding", "/api/officer/partial-freezes",
             (ASSET, Field("wallet", "Wallet", required=True), AMOUNT,
              Field("frozen", "Freeze (untick to unfreeze)", "checkbox"))),
    FormSpec("lien", "Record a lien", "/api/officer/liens",
             (ASSET, Field("holder", "Holder wallet", required=True), Field("beneficiary", "Beneficiary wallet", required=True),
              AMOUNT, Field("reason", "Reason", required=True),
              Field("document_sha256", "SHA-256 of the charge document", hint="64 hexadecimal digits, optional"))),
    FormSpec("lien_release", "Release a lien", "/api/officer/lien-releases",
             (ASSET, Field("lien_id", "Lien id", "number", True))),
    FormSpec("lot", "Attest a custody lot", "/api/officer/lots",
             (ASSET, Field("lot_id", "Lot id", required=True), Field("vault", "Vault", required=True),
              Field("quantity", "Quantity (smallest units)", "number", True),
              Field("receipt", "Warehouse receipt file", "file", hint="or its SHA-256 below"),
              Field("receipt_sha256", "Receipt SHA-256"))),
    FormSpec("redemption_fulfilment", "Fulfil a redemption", "/api/officer/redemptions/{request_id}/fulfilment",
             (ASSET, Field("request_id", "Request id", "number", True),
              Field("lot_ids", "Lot ids", required=True, hint="comma-separated, drawn in this order"))),
    FormSpec("redemption_rejection", "Reject a redemption", "/api/officer/redemptions/{request_id}/rejection",
             (ASSET, Field("request_id", "Request id", "number", True), Field("reason", "Reason", required=True))),
    FormSpec("distribution", "Fund a distribution", "/api/officer/distributions",
             (ASSET, Field("payment_token", "Payment token address", required=True),
              Field("total_amount", "Total (payment token's smallest units)", "number", True),
              Field("record_block", "Record block", "number", hint="default: the latest block"),
              Field("expiry_days", "Expires after (days)", "number", hint="default 30"))),
    FormSpec("asset", "Register an asset", "/api/officer/assets",
             (Field("spec", "Asset spec (.toml or .json)", "file", True),
              Field("files", "Documents and receipts it names", "files"))),
    FormSpec("document", "Add a document version", "/api/officer/assets/{asset}/documents",
             (ASSET, Field("name", "Document name", required=True, hint="e.g. title-deed"),
              Field("uri", "URI", required=True), Field("effective_date", "Effective date", "date", True),
              Field("file", "File", "file", True), Field("supersede", "Supersede the current version", "checkbox"))),
)}
CHECKED_BY_DEFAULT = {"frozen", "supersede"}
MODELS = {m.__name__: m for m in (MintRequest, ForcedTransferRequest, FreezeRequest, PartialFreezeRequest, LienRequest,
                                  LienReleaseRequest, DistributionRequest, RedemptionFulfilment, RedemptionRejection)}


def _upload(name: str, content: bytes) -> UploadFile:
    return UploadFile(io.BytesIO(content), filename=name, size=len(content))


def _csv_bytes(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in header})
    return out.getvalue().encode()


def _refusal(exc: Exception) -> str:
    if isinstance(exc, TransferRejected):
        return f"rejected by {exc.rule}: {exc}"
    return str(exc)


def console_router(app: FastAPI, ledger: Ledger, desk: OfficerDesk, *, chunk: int = CHUNK) -> APIRouter:
    """The ``/officer`` pages over ``app``'s officer API routes and ``desk`` (the officer router's login and
    services)."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    files = _static_files()
    env.globals["static"] = lambda name: f"/static/{name}?v={files[name][2]}"
    env.filters.update(when=_when, units=_units, short=_short)
    sessions = Sessions(ledger.engine)
    routes: dict[str, Callable[..., Any]] = {}

    def route(path: str, method: str = "POST") -> Callable[..., Any]:
        """The officer API's handler of ``path`` (its own function: authorisation, idempotency, audit)."""
        if not routes:
            routes.update({f"{m_} {r.path}": r.endpoint for r in _routes(app.routes)
                           for m_ in getattr(r, "methods", None) or ()})
        return routes[f"{method} {path}"]

    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def who(request: Request) -> tuple[Session | None, Officer | None]:
        s = sessions.get(request.cookies.get(COOKIE))
        if s is None:
            return None, None
        try:
            officer = desk.officers.get(s.officer_id)
        except RwaError:
            return None, None
        if officer.disabled:
            return None, None
        return s, officer

    def render(request: Request, template: str, code: int = 200, session: Session | None = None,
               officer: Officer | None = None, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(
            request=request, path=request.url.path, officer=officer, csrf=session.csrf if session else None,
            forms=[f for f in FORMS.values() if officer and officer.role in MAY[f.action]],
            may_audit=bool(officer and officer.role in MAY["audit"]), **context)
        return HTMLResponse(html, status_code=code, headers={**HEADERS, "Cache-Control": "no-store"})

    def login_page(request: Request, code: int = 200, error: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        page = render(request, "console/login.html", code, title="Officer login", login_csrf=token, error=error)
        page.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        path="/officer")
        return page

    def forbidden(request: Request, s: Session | None, officer: Officer | None, message: str,
                  code: int = 403) -> HTMLResponse:
        return render(request, "console/error.html", code, s, officer, title="Refused", message=message)

    async def posted(request: Request) -> tuple[Session | None, Officer | None, Any, HTMLResponse | None]:
        """The session, officer and form of a POST, or the refusal (401 without a session, 403 on a missing or
        wrong CSRF token): checked before anything else is read or run."""
        s, officer = who(request)
        form = await request.form()
        if s is None or officer is None:
            return None, None, form, login_page(request, 401, "Your session has ended: log in again.")
        token = form.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, s.csrf):
            return s, officer, form, forbidden(request, s, officer, "The form's security token is missing or wrong "
                                               "(CSRF check): nothing was sent. Reload the page and try again.")
        return s, officer, form, None

    router = APIRouter(prefix="/officer", include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        s, officer = who(request)
        if officer is None:
            return login_page(request)
        return render(request, "console/home.html", session=s, officer=officer, title="Officer console")

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(LOGIN_COOKIE)
        given = form.get("csrf")
        if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
            return login_page(request, 403, "The login form's security token is missing or wrong: try again.")
        token = str(form.get("token") or "").strip()
        try:
            officer = desk.login(request, token) if token else None
        except TooManyAttempts as exc:
            return login_page(request, 429, str(exc))
        if officer is None:
            return login_page(request, 401, "That token is not a valid officer token.")
        sid = sessions.open(officer)
        out = RedirectResponse("/officer", status_code=303)
        out.set_cookie(COOKIE, sid, httponly=True, samesite="strict", secure=secure(request), path="/officer",
                       max_age=SESSION_TTL)
        out.delete_cookie(LOGIN_COOKIE, path="/officer")
        return out

    @router.post("/logout", response_class=HTMLResponse)
    async def logout(request: Request) -> Response:
        s, officer, _, refused = await posted(request)
        if refused is not None:
            return refused
        sessions.close(request.cookies.get(COOKIE))
        out = RedirectResponse("/officer", status_code=303)
        out.delete_cookie(COOKIE, path="/officer")
        return out

    @router.get("/forms/{action}", response_class=HTMLResponse)
    def form_page(request: Request, action: str) -> Response:
        s, officer = who(request)
        if officer is None:
            return login_page(request, 401)
        spec = FORMS.get(action)
        if spec is None:
            return forbidden(request, s, officer, "No such form.", 404)
        if officer.role not in MAY[action]:
            return forbidden(request, s, officer, f"{spec.title} is for {' or '.join(MAY[action])} officers; "
                             f"you are {officer.role}.")
        return render(request, "console/form.html", session=s, officer=officer, title=spec.title, spec=spec,
                      values={}, checked=CHECKED_BY_DEFAULT)

    # --- pre-checks: the services' own, read-only ----------------------------------------------------------------

    def precheck(svc: Services, action: str, body: BaseModel) -> list[str]:
        """What the write would do, from the services' read-only checks (raises the refusal)."""
        ctx = svc.ctx
        if action == "mint":
            (p,) = svc.issuance.plan_mints([body])  # type: ignore[list-item]
            info = ctx.asset(p.asset_id)
            if p.already_minted:
                return [f"Already minted: {info.amount(p.amount)} of {info.symbol} to {p.to}; nothing will be sent."]
            return [f"Would mint {info.amount(p.amount)} of {info.symbol} to {p.to}"
                    + (f" (reference {p.reference})" if p.reference else "") + "."]
        if action == "forced_transfer":
            b: Any = body
            info, sender, to, value = svc.enforcement.check_forced_transfer(b.asset, b.sender, b.to, b.amount,
                                                                            b.include_frozen)
            return [f"The token allows it: {info.amount(value)} of {info.symbol} from {sender} to {to}."]
        if action == "distribution":
            b = body
            plan = svc.distributions.plan_distribution(b.asset, b.total_amount, b.record_block)
            return [f"{len(plan.entries)} holders at block {plan.record_block} share {b.total_amount}."]
        info = ctx.handle(getattr(body, "asset"))
        lines = [f"Asset {info.symbol} (#{info.asset_id})."]
        amount = getattr(body, "amount", None)
        if amount is not None:
            lines.append(f"Amount: {info.amount(ctx.amount(info, amount))}.")
        return lines

    def checked(request: Request, s: Session, officer: Officer, spec: FormSpec, values: dict, *,
                summary: list[str] | None = None, error: str | None = None, rows: list | None = None,
                pending_id: str | None = None, code: int = 200) -> HTMLResponse:
        parts = len(s.pending[pending_id].chunks) if pending_id else 0
        return render(request, "console/form.html", code, s, officer, title=spec.title, spec=spec, values=values,
                      checked={k for k, v in values.items() if v is True or v == "on"}, summary=summary, error=error,
                      rows=rows, pending_id=pending_id, parts=parts)

    def keep(s: Session, pending: Pending) -> str:
        return sessions.keep(s, pending)

    @router.post("/forms/{action}", response_class=HTMLResponse)
    async def fill_in(request: Request, action: str) -> Response:
        """Check a form (nothing sent): the pre-check's answer and, when it passes, a confirm button."""
        s, officer, form, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None and officer is not None
        spec = FORMS.get(action)
        if spec is None:
            return forbidden(request, s, officer, "No such form.", 404)
        if officer.role not in MAY[action]:
            return forbidden(request, s, officer, f"{spec.title} is for {' or '.join(MAY[action])} officers; you are "
                             f"{officer.role}: nothing was sent.")
        values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
        uploads: dict[str, list[tuple[str, bytes]]] = {}
        for k, v in form.multi_items():
            if not isinstance(v, str) and getattr(v, "filename", None):
                uploads.setdefault(k, []).append((v.filename, await v.read()))
        svc = desk.services(officer)
        try:
            if spec.csv_model is not None:
                return csv_preview(request, s, officer, spec, values, uploads, svc)
            return single(request, s, officer, spec, values, uploads, svc)
        except (RwaError, ValueError) as exc:
            return checked(request, s, officer, spec, values, error=_refusal(exc), code=422)

    def single(request: Request, s: Session, officer: Officer, spec: FormSpec, values: dict,
               uploads: dict[str, list[tuple[str, bytes]]], svc: Services) -> HTMLResponse:
        data: dict[str, Any] = {f.name: values[f.name] for f in spec.fields if values.get(f.name, "").strip()
                                and f.kind not in ("file", "files", "checkbox")}
        for f in spec.fields:
            if f.kind == "checkbox":
                data[f.name] = f.name in values
        one = {k: v[0] for k, v in uploads.items()}
        summary: list[str]
        if spec.action == "mint" or spec.action in ("forced_transfer", "freeze", "partial_freeze", "lien",
                                                     "lien_release", "distribution"):
            model = {"mint": MintRequest, "forced_transfer": ForcedTransferRequest, "freeze": FreezeRequest,
                     "partial_freeze": PartialFreezeRequest, "lien": LienRequest,
                     "lien_release": LienReleaseRequest, "distribution": DistributionRequest}[spec.action]
            body = _parse(model, data)
            summary = precheck(svc, spec.action, body)
            call = _call(spec.path, {"kind": "model", "model": model.__name__, "data": data})
        elif spec.action in ("redemption_fulfilment", "redemption_rejection"):
            request_id = int(data.pop("request_id", 0) or 0)
            if request_id <= 0:
                raise SpecError("field request_id: give the redemption's request id", field="request_id")
            if spec.action == "redemption_fulfilment":
                data["lot_ids"] = [x.strip() for x in str(data.get("lot_ids", "")).split(",") if x.strip()]
                body = _parse(RedemptionFulfilment, data)
            else:
                body = _parse(RedemptionRejection, data)
            summary = precheck(svc, spec.action, body) + [f"Redemption request #{request_id}."]
            call = _call(spec.path, {"kind": "model", "model": type(body).__name__, "data": data},
                         request_id=request_id)
        elif spec.action == "lot":
            lot = _parse(LotRequest, data)
            summary = precheck(svc, "lot", lot)
            receipt = one.get("receipt")
            if receipt is not None:
                summary.append(f"Receipt {receipt[0]}: SHA-256 {hashlib.sha256(receipt[1]).hexdigest()}.")

            LotUpload(**lot.model_dump(), receipt=_upload(*receipt) if receipt else None)  # the form's own rules
            call = _call(spec.path, {"kind": "lot", "data": data, "receipt": _b64(*receipt) if receipt else None})
        elif spec.action == "document":
            asset = data.pop("asset", "")
            if "file" not in one:
                raise SpecError("field file: choose the document's file", field="file")
            name, content = one["file"]
            DocumentUpload(**data, file=_upload(name, content))  # the form's fields, validated as the API does
            info = svc.ctx.handle(asset)
            summary = [f"Asset {info.symbol} (#{info.asset_id}).",
                       f"Document {data.get('name')}, {name}: SHA-256 {hashlib.sha256(content).hexdigest()}."]
            call = _call(spec.path, {"kind": "document", "data": data, "file": _b64(name, content)}, asset=asset)
        elif spec.action == "asset":
            if "spec" not in one:
                raise SpecError("field spec: choose the asset's spec file", field="spec")
            spec_file, others = one["spec"], uploads.get("files", [])
            summary = _asset_precheck(svc, spec_file, others)
            call = _call(spec.path, {"kind": "asset", "spec": _b64(*spec_file),
                                     "files": [_b64(n, c) for n, c in others]})
        else:  # pragma: no cover - every form is above
            raise SpecError(f"no console form for {spec.action}")
        pid = keep(s, Pending(spec.action, spec.title, summary, [call]))
        return checked(request, s, officer, spec, values, summary=summary, pending_id=pid)

    def csv_preview(request: Request, s: Session, officer: Officer, spec: FormSpec, values: dict,
                    uploads: dict[str, list[tuple[str, bytes]]], svc: Services) -> HTMLResponse:
        if "file" not in uploads:
            raise SpecError("field file: choose a CSV file", field="file")
        name, content = uploads["file"][0]
        parsed = csv_rows_bytes(content, spec.csv_model, name)
        rows = [{"line": line, "cells": cells, "error": str(item) if isinstance(item, SpecError) else None}
                for line, cells, item in parsed]
        good = [(line, item) for line, _, item in parsed if not isinstance(item, SpecError)]
        whole: str | None = None if parsed else f"{name}: no rows after the header: nothing to do"
        notes: dict[int, str] = {}
        if spec.action == "mints" and good:
            try:
                for p in svc.issuance.plan_mints([item for _, item in good]):
                    info = svc.ctx.asset(p.asset_id)
                    notes[int(p.source.rpartition(":")[2])] = (
                        "already minted: skipped" if p.already_minted else f"mints {info.amount(p.amount)} {info.symbol}")
            except RwaError as exc:  # which rows: each on its own, else the file's (a cap, a duplicate)
                by_line = {}
                for line, item in good:
                    try:
                        svc.issuance.plan_mints([item])
                    except RwaError as one:
                        by_line[line] = _refusal(one)
                line = getattr(exc, "line", None)
                if line is not None and line not in by_line:
                    by_line[line] = _refusal(exc)
                if by_line:
                    for r in rows:
                        r["error"] = r["error"] or by_line.get(r["line"])
                else:
                    whole = _refusal(exc)
        if spec.action == "investors" and good:
            # the service's plan over the rows left: a refusal names its row, which is set aside and the rest
            # planned again, until the rows left pass (each bad row named, not only the first)
            left, by_line = list(good), {}
            while left:
                try:
                    register, updates, links, _ = svc.investors.plan_many([item for _, item in left])
                except RwaError as exc:
                    line = getattr(exc, "line", None)
                    if line is None or line not in {n for n, _ in left}:
                        whole = _refusal(exc)
                        break
                    by_line[line] = _refusal(exc)
                    left = [(n, item) for n, item in left if n != line]
                    continue
                new = {x.wallet for x in register}
                linked = {w for _, w in links}
                for n, item in left:
                    notes[n] = ("registers a new investor" if item.wallet in new else
                                "adds the wallet to its investor" if item.wallet in linked else "registered already")
                if updates:
                    whole_note = f"{len(updates)} field update(s) of registered investors: " + \
                                 ", ".join(what for what, _ in updates)
                    notes.setdefault(-1, whole_note)
                break
            for r in rows:
                r["error"] = r["error"] or by_line.get(r["line"])
        for r in rows:
            r["note"] = notes.get(r["line"], "")
        bad = [r for r in rows if r["error"]]
        if bad or whole:
            lines = ", ".join(str(r["line"]) for r in bad)
            error = whole or (f"{len(bad)} of {len(rows)} rows have an error (line{'s' if len(bad) > 1 else ''} "
                              f"{lines}): fix the file and check it again. Nothing was sent.")
            return checked(request, s, officer, spec, values, rows=rows, error=error, code=422)
        header = list(parsed[0][1])
        cells = [c for _, c, _ in parsed]
        parts = [cells[i:i + chunk] for i in range(0, len(cells), chunk)]

        def chunk_call(i: int, part: list[dict[str, str]]) -> dict:
            label = name if len(parts) == 1 else f"{name} (part {i + 1} of {len(parts)})"
            return _call(spec.path, {"kind": "csv", "file": _b64(label, _csv_bytes(header, part))})
        summary = [f"{len(rows)} rows checked, no error; sent in {len(parts)} "
                   f"write{'s' if len(parts) > 1 else ''} of up to {chunk} rows."]
        if -1 in notes:
            summary.append(notes[-1] + ".")
        pid = keep(s, Pending(spec.action, spec.title, summary, [chunk_call(i, p) for i, p in enumerate(parts)],
                              rows=len(rows)))
        return checked(request, s, officer, spec, values, rows=rows, summary=summary, pending_id=pid)

    def run_chunk(s: Session, officer: Officer, pid: str, p: Pending, i: int) -> dict:
        """Send chunk ``i`` of a pending write through its API route (once: a repeat is the API's replay), as the
        session's officer, and record its result in the session."""
        c = p.chunks[i]
        body = _body(c["body"])
        answer = route(c["path"])(**c["args"], **({} if body is None else {"body": body}), officer=officer,
                                  idempotency_key=f"console-{pid}-{i}")
        body = json.loads(answer.body)
        pending = [t["tx_hash"] for t in body.get("pending") or []]  # sent, not confirmed: may still execute
        result = {"part": i + 1, "of": len(p.chunks), "status_code": answer.status_code,
                  "ok": answer.status_code < 400 and not pending, "pending": bool(pending),
                  "detail": body.get("detail", ""),
                  "outcome": "pending" if pending else body.get("status", body.get("title", "")),
                  "tx_hashes": body.get("tx_hashes", []) or pending,
                  "where": {k: body[k] for k in ("rule", "error", "field", "file", "line") if body.get(k)}}
        sessions.record(s, pid, i, result)
        return result

    def pending_of(request: Request, s: Session, officer: Officer, pid: str) -> Pending | HTMLResponse:
        p = s.pending.get(pid)
        if p is None:
            return forbidden(request, s, officer, "This check is no longer pending: fill in the form again.", 404)
        if officer.role not in MAY[p.action]:
            return forbidden(request, s, officer, "Not this officer's act: nothing was sent.")
        return p

    @router.post("/pending/{pid}/send", response_class=HTMLResponse)
    async def send(request: Request, pid: str) -> Response:
        """Confirm: every part not sent yet (the form without JavaScript), then the outcome."""
        s, officer, _, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None and officer is not None
        p = pending_of(request, s, officer, pid)
        if isinstance(p, HTMLResponse):
            return p
        for i in range(len(p.results), len(p.chunks)):
            if not run_chunk(s, officer, pid, p, i)["ok"]:
                break
        return RedirectResponse(f"/officer/pending/{pid}", status_code=303)

    @router.post("/pending/{pid}/parts/{i}")
    async def send_part(request: Request, pid: str, i: int) -> Response:
        """Confirm one part of a batch (the page's script sends them in turn and shows n of N)."""
        s, officer, _, refused = await posted(request)
        if refused is not None:
            return JSONResponse({"ok": False, "detail": "refused"}, status_code=refused.status_code)
        assert s is not None and officer is not None
        p = pending_of(request, s, officer, pid)
        if isinstance(p, HTMLResponse):
            return JSONResponse({"ok": False, "detail": "not pending"}, status_code=p.status_code)
        if not 0 <= i < len(p.chunks) or i > len(p.results):
            return JSONResponse({"ok": False, "detail": "parts are sent in order"}, status_code=409)
        return JSONResponse(run_chunk(s, officer, pid, p, i), headers={"Cache-Control": "no-store"})

    @router.get("/pending/{pid}", response_class=HTMLResponse)
    def outcome(request: Request, pid: str) -> Response:
        s, officer = who(request)
        if officer is None or s is None:
            return login_page(request, 401)
        p = pending_of(request, s, officer, pid)
        if isinstance(p, HTMLResponse):
            return p
        return render(request, "console/outcome.html", session=s, officer=officer, title=p.title, p=p,
                      spec=FORMS.get(p.action), pid=pid)

    # --- Safe proposals: the page shows each open one's pre-check (run from its Safe); approve and execute confirm --

    @router.get("/proposals", response_class=HTMLResponse)
    def proposals(request: Request, status: str = "open") -> Response:
        s, officer = who(request)
        if officer is None:
            return login_page(request, 401)
        if officer.role not in MAY["proposals"]:
            return forbidden(request, s, officer, "Proposals are for officers.")
        listed = route("/api/officer/proposals", "GET")(officer=officer, status=status or None)
        return render(request, "console/proposals.html", session=s, officer=officer, title="Safe proposals",
                      proposals=listed, status=status, one=None)

    @router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
    def proposal(request: Request, proposal_id: int) -> Response:
        s, officer = who(request)
        if officer is None:
            return login_page(request, 401)
        if officer.role not in MAY["proposals"]:
            return forbidden(request, s, officer, "Proposals are for officers.")
        one = route("/api/officer/proposals/{proposal_id}", "GET")(proposal_id=proposal_id, officer=officer)
        if isinstance(one, Response):
            return forbidden(request, s, officer, json.loads(one.body).get("detail", "refused"), one.status_code)
        return render(request, "console/proposals.html", session=s, officer=officer, title=f"Proposal #{proposal_id}",
                      proposals=[], status="", one=one, may_sign=officer.role in MAY["approve"])

    @router.post("/proposals/{proposal_id}/{act}", response_class=HTMLResponse)
    async def proposal_act(request: Request, proposal_id: int, act: str) -> Response:
        """Approve or execute a proposal (the page showed its pre-check) through the officer API's route."""
        s, officer, _, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None and officer is not None
        paths = {"approve": "/api/officer/proposals/{proposal_id}/approvals",
                 "execute": "/api/officer/proposals/{proposal_id}/execution"}
        if act not in paths:
            return forbidden(request, s, officer, "No such act.", 404)
        if officer.role not in MAY[act]:
            return forbidden(request, s, officer, f"An {officer.role} officer signs no proposal: nothing was sent.")
        pid = keep(s, Pending(act, f"{act.capitalize()} proposal #{proposal_id}", [],
                              [_call(paths[act], proposal_id=proposal_id)]))
        run_chunk(s, officer, pid, s.pending[pid], 0)
        return RedirectResponse(f"/officer/pending/{pid}", status_code=303)

    # --- reads -------------------------------------------------------------------------------------------------------

    @router.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, by: str = "", action: str = "", outcome: str = "", since: str = "",
              until: str = "") -> Response:
        s, officer = who(request)
        if officer is None:
            return login_page(request, 401)
        if officer.role not in MAY["audit"]:
            return forbidden(request, s, officer, "The audit log is for registrar and auditor officers.")
        error = None
        try:
            start = _day(since)
            end = _day(until)
        except ValueError:
            start = end = None
            error = "Dates are written YYYY-MM-DD."
        answer = route("/api/officer/audit", "GET")(
            officer=officer, limit=500, by=by or None, action=action or None, outcome=outcome or None,
            since=start, until=None if end is None else end + 86400)
        names = sorted({o.name for o in desk.officers.list()})
        return render(request, "console/audit.html", session=s, officer=officer, title="Audit log",
                      entries=answer, error=error, f={"by": by, "action": action, "outcome": outcome,
                                                      "since": since, "until": until},
                      officers=names, actions=sorted(MAY), outcomes=["done", "skipped", "pending", "proposed",
                                                                     "failed", "rejected", "refused"])

    @router.get("/investors", response_class=HTMLResponse)
    def investor_lookup(request: Request, wallet: str = "") -> Response:
        s, officer = who(request)
        if officer is None:
            return login_page(request, 401)
        found = None
        if wallet.strip() and not WALLET.match(wallet.strip()):
            return forbidden(request, s, officer, "A wallet address is 0x followed by 40 hexadecimal digits.", 400)
        if wallet.strip():
            found = route("/api/officer/investors/{wallet}", "GET")(wallet=wallet.strip(), officer=officer)
            if isinstance(found, Response):
                return forbidden(request, s, officer, json.loads(found.body).get("detail", "refused"),
                                 found.status_code)
        return render(request, "console/investor.html", session=s, officer=officer, title="Investor",
                      wallet=wallet.strip(), found=found)

    @router.get("/investors/{wallet}", response_class=HTMLResponse)
    def investor_page(request: Request, wallet: str) -> Response:
        return investor_lookup(request, wallet)

    return router


def _routes(routes: Any) -> list[Any]:
    """Every route with an endpoint, also those of included routers (FastAPI keeps an included router whole)."""
    out = []
    for r in routes:
        if hasattr(r, "endpoint"):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(_routes(r.original_router.routes))
    return out


def _asset_precheck(svc: Services, spec_file: tuple[str, bytes], others: list[tuple[str, bytes]]) -> list[str]:
    """An asset spec read and validated as ``rwa asset register`` reads it (its files matched by name, hashed from
    temporary copies), and whether its symbol is registered already; sends nothing. The write maps the files again
    (by the path the spec writes, or by name) and validates once more."""
    import posixpath
    import tempfile
    from pathlib import Path

    from ..models import AssetSpec, map_spec_files, parse, read_mapping

    name, content = spec_file
    by_name = {posixpath.basename(n.replace("\\", "/")): c for n, c in others}
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{name}: not UTF-8 text: {exc}") from None
    with tempfile.TemporaryDirectory() as tmp:
        def copy(path: str, field_name: str) -> str:
            base = posixpath.basename(path.replace("\\", "/"))
            if base not in by_name:
                raise SpecError(f"{name}: field {field_name}: the file {path!r} is not among the files chosen: "
                                "nothing was sent", field=field_name)
            target = Path(tmp) / hashlib.sha256(by_name[base]).hexdigest()
            target.write_bytes(by_name[base])
            return str(target)

        spec = parse(AssetSpec, map_spec_files(read_mapping(text, name), copy), name)
    lines = [f"{spec.kind.capitalize()} {spec.symbol}: {spec.name}, {spec.jurisdiction}, {spec.legal_reference}."]
    lines += [f"Document {d.name}: SHA-256 {d.sha256().hex()}." for d in spec.documents]
    try:
        known = svc.ctx.asset(spec.symbol)
    except RwaError:
        known = None
    if known is not None:
        lines.append(f"{spec.symbol} is registered already (asset #{known.asset_id}): the same spec sends only the "
                     "steps still missing; a different one is refused.")
    return lines


def _parse(model: Any, data: dict[str, Any]) -> Any:
    from ..models import parse

    return parse(model, data, "form")


def _day(text: str) -> int | None:
    """``YYYY-MM-DD`` as the unix time of its midnight (UTC), or None when empty."""
    if not text.strip():
        return None
    return int(dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time(), dt.timezone.utc).timestamp())
