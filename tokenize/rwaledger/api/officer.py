"""The officer API: login by token, writes that go to the chain through the registrar service, the proposals of the
Safes that hold roles (an owner officer approves and executes them), the audit log.

Every write is authorised by the officer's role (``401`` without a valid token, ``403`` for another role; nothing is
sent, nothing is stored), checked and sent by the services (:mod:`rwaledger.services`) signed with the officer's own
key (the same pre-checks and the same pydantic request models as the CLI), answered with its transaction hashes or a
refusal naming the rule or the field (and, for a CSV row, the file and line), idempotent under an ``Idempotency-Key``
(a retry, also after a restart, gets the first answer and sends nothing), and appended to the audit log whatever its
outcome, a refusal by the failed-login limit (``429``) included.

Uploads (``multipart/form-data``: asset specs with their documents, document versions, lot receipts, investor and
allocation CSVs) are capped by :mod:`rwaledger.api.limits` (``413`` over the upload cap). An uploaded file is kept
under the router's upload directory by its SHA-256 (``<upload_dir>/<sha256>``, never by the name the client gave)
once the write is authorised, and a spec's file paths are mapped onto those copies before the spec is validated, so
that hashing and validation are exactly the CLI's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import posixpath
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Callable

from fastapi import APIRouter, Depends, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import insert, select

from .. import paths
from ..errors import ContractRevert, NodeUnavailable, PendingTx, RwaError, TransactionTimeout
from ..ledger import Ledger, schema
from ..models import (
    AssetSpec,
    DistributionRequest,
    DocumentName,
    DocumentSpec,
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
    Strict,
    load_csv_bytes,
    map_spec_files,
    parse,
    read_mapping,
)
from ..officers import Officer, OfficerStore, signer_of
from ..proposals import ProposalStore, SafeRoute, load_safe_infrastructure
from ..render import describe
from ..services import EventOut, ProposalRef, Result, Services, Status, TransferRejected, TxRef
from ..session import open_session
from .limits import Limits, LoginAttempts, TooManyAttempts, client_address

# which officer roles may do what: the role each act needs on chain (the chain checks the signer's role again)
WRITERS = ("registrar", "compliance", "custodian")
MAY = {
    "mint": ("registrar",),  # CompliantToken.mint / batchMint: REGISTRAR_ROLE
    "mints": ("registrar",),
    "forced_transfer": ("registrar",),  # forcedTransfer: REGISTRAR_ROLE
    "freeze": ("compliance",),  # setAddressFrozen: COMPLIANCE_ROLE
    "partial_freeze": ("compliance",),  # freezePartialTokens / unfreezePartialTokens: COMPLIANCE_ROLE
    "lien": ("registrar",),  # createLien: REGISTRAR_ROLE
    "lien_release": ("registrar",),  # releaseLien: the beneficiary (its own key, not an officer's) or REGISTRAR_ROLE
    "lot": ("custodian",),  # CommodityToken.attestLot: CUSTODIAN_ROLE
    "redemption_fulfilment": ("custodian",),  # fulfilRedemption: CUSTODIAN_ROLE
    "redemption_rejection": ("custodian",),  # rejectRedemption: CUSTODIAN_ROLE
    "distribution": ("registrar",),  # DistributionManager.createDistribution: REGISTRAR_ROLE
    "asset": ("registrar",),  # TokenFactory.create*Token, AssetRegistry.addDocument / setStatus: REGISTRAR_ROLE
    "document": ("registrar",),  # AssetRegistry.addDocument: REGISTRAR_ROLE
    "investors": ("compliance",),  # IdentityRegistry.batchRegisterIdentity / update* / addWallet: COMPLIANCE_ROLE
    "audit": ("registrar", "auditor"), "investor": (*WRITERS, "auditor"), "proposals": (*WRITERS, "auditor"),
    "approve": WRITERS, "execute": WRITERS,  # a Safe owner's approval: the Safe and the service check ownership
}
UPLOADS = "uploads"  # under the build directory: the default upload directory


class WriteResult(BaseModel):
    """A write's answer: the service result (its transactions with their blocks, the decoded events, the Safe
    proposal it became) with its sentence."""

    action: str
    status: Status
    detail: str
    tx_hashes: list[str]
    txs: list[TxRef] = []
    events: list[EventOut] = []
    proposal: ProposalRef | None = None
    data: dict[str, Any]  # the act's figures (integers in smallest units, as decimal strings where they are amounts)

    @classmethod
    def of(cls, result: Result) -> "WriteResult":
        return cls(action=result.action.value, status=result.status, detail=describe(result),
                   tx_hashes=[t.hash for t in result.txs], txs=result.txs, events=result.events,
                   proposal=result.proposal, data=json.loads(json.dumps(result.facts, default=str)))


class OfficerInfo(BaseModel):
    id: int
    name: str
    role: str


class AuditEntry(BaseModel):
    id: int
    at: int
    officer: str | None
    action: str
    params: dict[str, Any]
    status_code: int
    outcome: str
    detail: str
    tx_hashes: list[str]


class Investor(BaseModel):
    wallet: str
    investor: str | None
    label: str | None  # personal data: officers only
    country: str | None
    verified: bool | None


class Upload(BaseModel):
    """An uploaded file as the audit log and the idempotency check see it (its content is kept by its SHA-256)."""

    name: str
    size: int
    sha256: str


class _File:
    """An upload read once: its name as the client gave it, its bytes, their SHA-256."""

    def __init__(self, upload: UploadFile, part: str):
        self.part = part
        self.name = upload.filename or part
        self.content = upload.file.read()
        self.sha256 = hashlib.sha256(self.content).hexdigest()

    def ref(self) -> Upload:
        return Upload(name=self.name, size=len(self.content), sha256=self.sha256)


class _Params(BaseModel):
    """What a write is audited and made idempotent by: its request model's fields, and the uploads as refs."""

    model_config = ConfigDict(extra="allow")


class LotUpload(LotRequest):
    """A lot attestation as a form: the lot's fields, and its receipt as ``receipt_sha256`` or a ``receipt`` file."""

    receipt: UploadFile | None = None

    @model_validator(mode="after")
    def _one_receipt(self) -> "LotUpload":
        if (self.receipt is None) == (self.receipt_sha256 is None):
            raise ValueError("give exactly one of receipt_sha256 or a receipt file")
        return self


class DocumentUpload(Strict):
    """A document version as a form: its name (mapped to its canonical form), URI, effective date and file, and
    whether it may supersede the current version of that name."""

    name: DocumentName
    uri: Annotated[str, Field(min_length=1)]
    effective_date: dt.date
    file: UploadFile
    supersede: bool = True


class AssetUpload(Strict):
    """An asset spec (``.toml`` or ``.json``, as ``rwa asset register`` reads) and the files it names (its documents'
    ``file``, its lots' ``receipt_file``), each matched by its path as the spec writes it or by its file name."""

    spec: UploadFile
    files: list[UploadFile] = []


class CsvUpload(Strict):
    """A CSV file (UTF-8, a header line, one row per item)."""

    file: UploadFile


def _prefixed(exc: SpecError, prefix: str) -> SpecError:
    """``exc`` with its field named from the request's root (``spec.documents.0.file``, ``body.name``)."""
    exc.field = f"{prefix}.{exc.field}" if exc.field and exc.field != "(root)" else prefix
    return exc


def _problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://rwaledger.dev/problems/{kind}", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def officer_router(ledger: Ledger, stack: Any, limits: Limits | None = None, *, upload_dir: Path | None = None,
                   distributions_dir: Path | None = None) -> APIRouter:
    """The ``/api/officer`` routes over ``ledger`` (accounts, idempotency, audit) and ``stack`` (writes); failed
    logins are limited by ``limits`` (:class:`rwaledger.api.limits.LoginAttempts`). Uploaded files are kept in
    ``upload_dir`` (default ``build/uploads``) by their SHA-256; a distribution's proofs are published in
    ``distributions_dir`` (default: beside the stack's deployment records, where ``rwa distribute`` reads them, or
    ``build/distributions/<chain>`` where the chain keeps no records)."""
    router = APIRouter(prefix="/api/officer", tags=["officer"])
    officers = OfficerStore(ledger.engine)
    attempts = LoginAttempts(limits or Limits())
    write_lock = threading.Lock()  # one write at a time: nonces stay in order, an idempotency key is taken once
    registrars: dict[int, Services] = {}
    from .app import default_distributions_dir

    uploads = Path(upload_dir) if upload_dir is not None else paths.BUILD_DIR / UPLOADS
    proofs = Path(distributions_dir) if distributions_dir is not None else default_distributions_dir(stack)
    write_actions: dict[str, str] = {}  # route path -> action, for auditing a write refused before it ran (429)

    def registrar_for(officer: Officer) -> Services:
        if officer.id not in registrars:
            session = open_session(chain=stack.session.chain, build=stack.session.build,
                                   signer=signer_of(officer, stack.session.chain), record=False)
            registrars[officer.id] = Services(stack.with_session(session), proofs, ledger=ledger)
        return registrars[officer.id]

    def keep(f: _File) -> Path:
        """Store an upload's content as ``<upload_dir>/<sha256>`` (once; written whole, then renamed in place)."""
        path = uploads / f.sha256
        if not path.exists():
            uploads.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=uploads, prefix=".part-")
            with os.fdopen(fd, "wb") as out:
                out.write(f.content)
            os.replace(tmp, path)
        return path

    def audit(officer: Officer | None, action: str, params: dict, status_code: int, outcome: str, detail: str,
              tx_hashes: list[str]) -> None:
        with ledger.engine.begin() as conn:
            conn.execute(insert(schema.api_audit).values(
                at=int(time.time()), officer_id=officer.id if officer else None, officer=officer.name if officer else None,
                action=action, params=json.dumps(params, default=str), status_code=status_code, outcome=outcome,
                detail=detail, tx_hashes=json.dumps(tx_hashes)))

    def current(request: Request, authorization: str | None = Header(None)) -> Officer | None:
        token = authorization.removeprefix("Bearer ").strip() if authorization else None
        if not token:
            return None  # anonymous: nothing to verify, nothing to count
        # over the failed-login limit: 429 (TooManyAttempts) without the argon2 verification; a write is audited
        try:
            return attempts.authenticate(client_address(request), token, officers.authenticate)
        except TooManyAttempts as exc:
            route = request.scope.get("route")
            action = write_actions.get(getattr(route, "path", "")) if request.method == "POST" else None
            if action is not None:
                audit(None, action, {"path": request.url.path, "client": client_address(request)}, 429, "refused",
                      str(exc), [])
            raise

    def refused(officer: Officer | None, action: str) -> JSONResponse | None:
        if officer is None:
            return _problem(401, "unauthorized", "Login needed", "a valid officer token is needed "
                            "(Authorization: Bearer rwa_...)")
        if officer.role not in MAY[action]:
            return _problem(403, "forbidden", "Not this officer's act",
                            f"{action.replace('_', ' ')} is for {' or '.join(MAY[action])} officers; "
                            f"{officer.name} is {officer.role}")
        return None

    def post(path: str, action: str, **kw: Any) -> Callable:
        """``router.post`` of a write (answered with a :class:`WriteResult`), its action known to the 429 audit."""
        write_actions[router.prefix + path] = action
        return router.post(path, response_model=WriteResult, **kw)

    def write(action: str, officer: Officer | None, body: BaseModel, key: str | None,
              act: Callable[[Services], Any], where: str | None = "body") -> JSONResponse:
        """Authorise, check the idempotency key, run ``act``, audit, answer. A refusal naming a field of the request
        names it from ``where`` (``body.amount``); an upload's act names its fields itself (``where=None``)."""
        params = body.model_dump(mode="json")
        denied = refused(officer, action)
        if denied is not None:
            audit(officer, action, params, denied.status_code, "refused", json.loads(denied.body)["detail"], [])
            return denied
        assert officer is not None
        digest = "0x" + hashlib.sha256(json.dumps([action, params], sort_keys=True).encode()).hexdigest()
        with write_lock:
            if key:
                r = schema.api_requests.c
                with ledger.engine.connect() as conn:
                    seen = conn.execute(select(schema.api_requests).where(
                        r.officer_id == officer.id, r.idempotency_key == key)).first()
                if seen is not None:
                    if seen.request_hash != digest:
                        return _problem(409, "idempotency-conflict", "Idempotency-Key reused",
                                        f"the key {key!r} was used for another request; use a new key")
                    return JSONResponse(json.loads(seen.response), status_code=seen.status_code,
                                        headers={"Idempotent-Replay": "true"})
            status_code, outcome, payload, hashes = _run(act, registrar_for, officer, where)
            detail = payload.get("detail", "")
            audit(officer, action, params, status_code, outcome, detail, hashes)
            if key and status_code < 500:
                with ledger.engine.begin() as conn:
                    conn.execute(insert(schema.api_requests).values(
                        officer_id=officer.id, idempotency_key=key, action=action, request_hash=digest,
                        status_code=status_code, response=json.dumps(payload), created_at=int(time.time())))
        media = "application/problem+json" if status_code >= 400 else "application/json"
        return JSONResponse(payload, status_code=status_code, media_type=media)

    @router.get("/me", response_model=OfficerInfo)
    def me(officer: Officer | None = Depends(current)) -> Any:
        """Who this token is."""
        if officer is None:
            return _problem(401, "unauthorized", "Login needed", "a valid officer token is needed")
        return OfficerInfo(**officer.public())

    @post("/mint", "mint")
    def mint(body: MintRequest, officer: Officer | None = Depends(current),
             idempotency_key: str | None = Header(None)) -> Any:
        """Mint one allocation (registrar), once per reference."""
        return write("mint", officer, body, idempotency_key, lambda svc: svc.issuance.mint(body))

    @post("/forced-transfers", "forced_transfer")
    def forced_transfer(body: ForcedTransferRequest, officer: Officer | None = Depends(current),
                        idempotency_key: str | None = Header(None)) -> Any:
        """A forced transfer with its reason (registrar), within the recipient's rules."""
        return write("forced_transfer", officer, body, idempotency_key, lambda svc: svc.enforcement.forced_transfer(
            body.asset, body.sender, body.to, body.amount, body.reason, body.include_frozen))

    @post("/freezes", "freeze")
    def freeze(body: FreezeRequest, officer: Officer | None = Depends(current),
               idempotency_key: str | None = Header(None)) -> Any:
        """Freeze or unfreeze a wallet in one token (compliance)."""
        return write("freeze", officer, body, idempotency_key, lambda svc: svc.enforcement.freeze(body.asset, body.wallet, body.frozen))

    @post("/partial-freezes", "partial_freeze")
    def partial_freeze(body: PartialFreezeRequest, officer: Officer | None = Depends(current),
                       idempotency_key: str | None = Header(None)) -> Any:
        """Freeze (or, with ``frozen`` false, unfreeze) an amount of a wallet's units in one token (compliance); the
        rest stays free to move."""
        return write("partial_freeze", officer, body, idempotency_key,
                     lambda svc: svc.enforcement.freeze_partial(body.asset, body.wallet, body.amount, body.frozen))

    @post("/liens", "lien")
    def lien(body: LienRequest, officer: Officer | None = Depends(current),
             idempotency_key: str | None = Header(None)) -> Any:
        """Encumber an amount of a holder's units for a beneficiary (registrar): a mortgage, a court's charge, with
        the SHA-256 of its document if there is one. The answer's ``data.lien_id`` names the lien."""
        return write("lien", officer, body, idempotency_key, lambda svc: svc.enforcement.create_lien(
            body.asset, body.holder, body.beneficiary, body.amount, body.reason, body.document_hash()))

    @post("/lien-releases", "lien_release")
    def lien_release(body: LienReleaseRequest, officer: Officer | None = Depends(current),
                     idempotency_key: str | None = Header(None)) -> Any:
        """Release a lien (registrar; its beneficiary may also release it with its own key, outside this API)."""
        return write("lien_release", officer, body, idempotency_key,
                     lambda svc: svc.enforcement.release_lien(body.asset, body.lien_id))

    @post("/lots", "lot")
    def lot(body: Annotated[LotUpload, Form()], officer: Officer | None = Depends(current),
            idempotency_key: str | None = Header(None)) -> Any:
        """Attest a custody lot of a commodity token (custodian): the reserve grows by its quantity. The warehouse
        receipt is given as ``receipt_sha256`` (hex) or uploaded as a ``receipt`` file (kept, and hashed as the CLI
        hashes it). A lot id is used once: attesting it again sends nothing."""
        receipt = _File(body.receipt, "receipt") if body.receipt is not None else None
        request = LotRequest(**body.model_dump(exclude={"receipt"}))
        params = _Params(**request.model_dump(mode="json"), receipt=receipt.ref().model_dump() if receipt else None)

        def act(svc: Services) -> Result:
            try:
                spec = request.lot(keep(receipt) if receipt else None)
            except SpecError as exc:
                raise _prefixed(exc, "body") from None
            return svc.redemptions.attest_lot(request.asset, spec)
        return write("lot", officer, params, idempotency_key, act, where=None)

    @post("/redemptions/{request_id}/fulfilment", "redemption_fulfilment")
    def redemption_fulfilment(request_id: int, body: RedemptionFulfilment, officer: Officer | None = Depends(current),
                              idempotency_key: str | None = Header(None)) -> Any:
        """Deliver a pending redemption from custody lots, drawn in the order given (custodian): the holder's units
        are burnt, the lots and the reserve shrink with them."""
        params = _Params(request_id=request_id, **body.model_dump(mode="json"))
        return write("redemption_fulfilment", officer, params, idempotency_key,
                     lambda svc: svc.redemptions.fulfil_redemption(body.asset, request_id, body.lot_ids))

    @post("/redemptions/{request_id}/rejection", "redemption_rejection")
    def redemption_rejection(request_id: int, body: RedemptionRejection, officer: Officer | None = Depends(current),
                             idempotency_key: str | None = Header(None)) -> Any:
        """Reject a pending redemption with a reason (custodian): the holder's units are released."""
        params = _Params(request_id=request_id, **body.model_dump(mode="json"))
        return write("redemption_rejection", officer, params, idempotency_key,
                     lambda svc: svc.redemptions.reject_redemption(body.asset, request_id, body.reason))

    @post("/distributions", "distribution")
    def distribution(body: DistributionRequest, officer: Officer | None = Depends(current),
                     idempotency_key: str | None = Header(None)) -> Any:
        """Fund a distribution (registrar): entitlements pro rata to the cap table at the record block, the payment
        token approved and the funds committed with the Merkle root, the proofs published as
        ``<distributions dir>/<id>.json`` (``data.proofs_file``), as ``rwa distribute create`` does."""
        def act(svc: Services) -> Result:
            expiry = body.expiry_at(svc.session.chain.timestamp())
            return svc.distributions.distribute(body.asset, body.payment_token, body.total_amount, expiry,
                                                body.record_block, ledger=ledger if body.from_ledger else None)
        return write("distribution", officer, body, idempotency_key, act)

    @post("/assets", "asset")
    def asset(body: Annotated[AssetUpload, Form()], officer: Officer | None = Depends(current),
              idempotency_key: str | None = Header(None)) -> Any:
        """Register an asset and create its token (registrar), as ``rwa asset register`` does: ``spec`` is the TOML or
        JSON spec file, ``files`` the document and receipt files it names (matched by the path the spec writes, or by
        file name). The files are kept, the spec's paths mapped onto them, then the spec is validated and hashed
        exactly as the CLI's; a named file not uploaded is refused (``422`` naming the field), nothing sent. The
        steps of another role (rules: compliance; lots: custodian) are reported pending, the asset stays registered
        until they are done. A parcel or symbol already registered is refused; the same spec again sends nothing."""
        spec = _File(body.spec, "spec")
        files = [_File(f, "files") for f in body.files]
        params = _Params(spec=spec.ref().model_dump(), files=[f.ref().model_dump() for f in files])

        def act(svc: Services) -> Result:
            try:
                try:
                    text = spec.content.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise SpecError(f"{spec.name}: not UTF-8 text: {exc}") from None
                data = map_spec_files(read_mapping(text, spec.name), lambda name, field: str(keep(named(name, field))))
                parsed = parse(AssetSpec, data, spec.name)
            except SpecError as exc:
                raise _prefixed(exc, "spec") from None
            return svc.assets.register(parsed)

        def named(name: str, field: str) -> _File:
            wanted = posixpath.normpath(name.replace("\\", "/"))
            exact = [f for f in files if posixpath.normpath(f.name.replace("\\", "/")) == wanted]
            by_name = [f for f in files if posixpath.basename(f.name.replace("\\", "/")) == posixpath.basename(wanted)]
            found = exact or by_name
            if len({f.sha256 for f in found}) > 1:
                raise SpecError(f"{spec.name}: field {field}: {len(found)} different files uploaded are named "
                                f"{posixpath.basename(wanted)!r}: upload them with the paths the spec writes",
                                field=field)
            if not found:
                raise SpecError(f"{spec.name}: field {field}: the file {name!r} was not uploaded (add it as a "
                                "`files` part): nothing was sent", field=field)
            return found[0]
        return write("asset", officer, params, idempotency_key, act, where=None)

    @post("/assets/{asset}/documents", "document")
    def document(asset: str, body: Annotated[DocumentUpload, Form()], officer: Officer | None = Depends(current),
                 idempotency_key: str | None = Header(None)) -> Any:
        """Record a document version of an asset (registrar), as ``rwa asset document`` does: the uploaded file is
        kept and hashed (SHA-256); a new hash supersedes the current version of that name (unless ``supersede`` is
        false: then a current version is a refusal), the same hash again sends nothing."""
        upload = _File(body.file, "file")
        params = _Params(asset=asset, **body.model_dump(mode="json", exclude={"file"}),
                         file=upload.ref().model_dump())

        def act(svc: Services) -> Result:
            try:
                doc = parse(DocumentSpec, {"name": body.name, "file": str(keep(upload)), "uri": body.uri,
                                           "effective_date": body.effective_date}, "document")
            except SpecError as exc:
                raise _prefixed(exc, "body") from None
            return svc.assets.add_document(asset, doc, supersede=body.supersede)
        return write("document", officer, params, idempotency_key, act, where=None)

    @post("/investors", "investors")
    def investors(body: Annotated[CsvUpload, Form()], officer: Officer | None = Depends(current),
                  idempotency_key: str | None = Header(None)) -> Any:
        """Onboard investors and their wallets from a CSV (compliance), as ``rwa investor import`` does
        (``wallet,country,kyc_expiry[,category,label,investor]``): every row is validated and checked against the
        file and the chain first; a bad row is refused with its ``file``, ``line`` and ``field``, nothing sent.
        Labels go to the ledger only, never on chain."""
        upload = _File(body.file, "file")

        def act(svc: Services) -> Result:
            return svc.investors.add_many(load_csv_bytes(upload.content, InvestorSpec, upload.name))
        return write("investors", officer, _Params(file=upload.ref().model_dump()), idempotency_key, act, where=None)

    @post("/mints", "mints")
    def mints(body: Annotated[CsvUpload, Form()], officer: Officer | None = Depends(current),
              idempotency_key: str | None = Header(None)) -> Any:
        """Mint allocations from a CSV (registrar), as ``rwa mint --csv`` does (``asset,to,amount[,reference]``):
        every row is validated and pre-checked against the chain (assets, units, references, caps, the recipients'
        rules) before anything is sent; a bad row is refused with its ``file``, ``line`` and ``field``. Each
        allocation mints once, ever (its on-chain reference), so a re-post after a crash mints only what is
        missing."""
        upload = _File(body.file, "file")

        def act(svc: Services) -> Result:
            return svc.issuance.mint_many(load_csv_bytes(upload.content, MintRequest, upload.name))
        return write("mints", officer, _Params(file=upload.ref().model_dump()), idempotency_key, act, where=None)

    proposal_store = ProposalStore(ledger.engine)
    infra: list[Any] = []  # Safe's contracts, found once (records on a local chain, canonical on a network)

    def route_for(proposal_id: int, session: Any) -> SafeRoute:
        if not infra:
            infra.append(load_safe_infrastructure(stack.session))
        p = proposal_store.get(proposal_id)
        return SafeRoute(session, stack.with_session(session), p.tx.safe, proposal_store, infra[0])

    def proposal_view(p: Any, route: SafeRoute | None = None) -> dict[str, Any]:
        data = p.to_dict()
        if route is not None:
            data["threshold"] = route.threshold()  # the Safe's, now: owners may have changed it since the proposal
        if route is not None and p.status == "open":
            data["precheck_ok"], data["precheck"] = route.precheck(p)
        return data

    @router.get("/proposals")
    def proposals(officer: Officer | None = Depends(current), status: str | None = None) -> Any:
        """Proposals to the stack's Safes, oldest first, each call in plain words."""
        denied = refused(officer, "proposals")
        if denied is not None:
            return denied
        return [proposal_view(p) for p in proposal_store.list(status=status, chain_id=stack.session.chain.chain_id)]

    @router.get("/proposals/{proposal_id}")
    def proposal(proposal_id: int, officer: Officer | None = Depends(current)) -> Any:
        """One proposal with its approvals and whether it would succeed now (run from the Safe)."""
        denied = refused(officer, "proposals")
        if denied is not None:
            return denied
        try:
            return proposal_view(proposal_store.get(proposal_id), route_for(proposal_id, stack.session))
        except RwaError as exc:
            return _problem(404, "unknown-proposal", "Unknown proposal", str(exc))

    class NoBody(BaseModel):
        proposal: int

    @post("/proposals/{proposal_id}/approvals", "approve")
    def approve(proposal_id: int, officer: Officer | None = Depends(current),
                idempotency_key: str | None = Header(None)) -> Any:
        """Approve a proposal with this officer's key, an owner of its Safe (signed on the server, verified, stored)."""
        def act(svc: Services) -> WriteResult:
            p = route_for(proposal_id, svc.session).approve(proposal_id, svc.session.signer)
            return WriteResult(action="proposal.approve", status=Status.DONE, tx_hashes=[],
                               detail=f"proposal #{p.id} approved by {svc.session.signer.address} "
                                      f"({len(p.approvals)} approvals)",
                               data=json.loads(json.dumps({"proposal": p.to_dict()}, default=str)))
        return write("approve", officer, NoBody(proposal=proposal_id), idempotency_key, act)

    @post("/proposals/{proposal_id}/execution", "execute")
    def execute(proposal_id: int, officer: Officer | None = Depends(current),
                idempotency_key: str | None = Header(None)) -> Any:
        """Execute a proposal whose threshold is met (sent by this officer's key)."""
        def act(svc: Services) -> WriteResult:
            p, receipt = route_for(proposal_id, svc.session).execute(proposal_id)
            executed = p.status == "executed"  # else "failed": the Safe ran it and the inner call reverted
            return WriteResult(action="proposal.execute", status=Status.DONE if executed else Status.FAILED,
                               detail=f"proposal #{p.id} {p.status}", tx_hashes=[receipt.tx_hash],
                               txs=[TxRef(hash=receipt.tx_hash, block=receipt.block_number, gas_used=receipt.gas_used)],
                               events=svc.ctx.decode_events([receipt]),
                               data=json.loads(json.dumps({"proposal": p.to_dict(), "executed": executed}, default=str)))
        return write("execute", officer, NoBody(proposal=proposal_id), idempotency_key, act)

    @router.get("/audit", response_model=list[AuditEntry])
    def audit_log(officer: Officer | None = Depends(current), limit: int = 100, by: str | None = None,
                  action: str | None = None, outcome: str | None = None, since: int | None = None,
                  until: int | None = None) -> Any:
        """The most recent write attempts, newest first (registrar and auditor); filtered by officer name (``by``),
        action, outcome, and time (``since`` <= at < ``until``, unix seconds) when given."""
        denied = refused(officer, "audit")
        if denied is not None:
            return denied
        a = schema.api_audit.c
        query = select(schema.api_audit)
        for column, value in ((a.officer, by), (a.action, action), (a.outcome, outcome)):
            if value:
                query = query.where(column == value)
        if since is not None:
            query = query.where(a.at >= since)
        if until is not None:
            query = query.where(a.at < until)
        with ledger.engine.connect() as conn:
            rows = conn.execute(query.order_by(a.id.desc()).limit(max(1, min(limit, 1000)))).all()
        return [AuditEntry(id=r.id, at=r.at, officer=r.officer, action=r.action, params=json.loads(r.params),
                           status_code=r.status_code, outcome=r.outcome, detail=r.detail,
                           tx_hashes=json.loads(r.tx_hashes)) for r in rows]

    @router.get("/investors/{wallet}", response_model=Investor)
    def investor(wallet: str, officer: Officer | None = Depends(current)) -> Any:
        """A wallet's investor with its label (personal data: officers only)."""
        denied = refused(officer, "investor")
        if denied is not None:
            return denied
        who = ledger.identity(wallet)
        if who is None:
            return Investor(wallet=wallet, investor=None, label=None, country=None, verified=None)
        return Investor(wallet=wallet, investor=who.investor, label=ledger.investor_label(who.investor),
                        country=who.country, verified=who.active)

    # what the officer console (rwaledger.portal.console) shares with these routes: the login (its failed-login
    # limit included) and each officer's services (for the read-only pre-checks); its writes call the routes above
    router.desk = OfficerDesk(  # type: ignore[attr-defined]
        login=lambda request, token: attempts.authenticate(client_address(request), token, officers.authenticate),
        officers=officers, services=registrar_for)
    return router


class OfficerDesk:
    """The officer router's login and services, for the console."""

    def __init__(self, login: Callable[[Request, str], Officer | None], officers: OfficerStore,
                 services: Callable[[Officer], Services]):
        self.login, self.officers, self.services = login, officers, services


def _located(exc: RwaError, where: str | None) -> dict[str, Any]:
    """The ``field`` (from the request's root), ``file`` and ``line`` a refusal names, those it knows."""
    field, file, line = getattr(exc, "field", None), getattr(exc, "file", None), getattr(exc, "line", None)
    if field and where and line is None and not field.startswith(where + ".") and field != where:
        field = f"{where}.{field}"
    found = {"field": field, "file": file if file != "input" else None, "line": line}
    return {k: v for k, v in found.items() if v is not None}


def _run(act: Callable[[Services], Any], registrar_for: Callable[[Officer], Services],
         officer: Officer, where: str | None = None) -> tuple[int, str, dict, list[str]]:
    """Run a write; (HTTP status, outcome, body, transaction hashes). Refusals are answers, not crashes."""
    try:
        outcome = act(registrar_for(officer))
    except TransferRejected as exc:
        return 422, "rejected", {"type": "https://rwaledger.dev/problems/rule", "title": "Refused by a rule",
                                 "status": 422, "detail": str(exc), "rule": exc.rule}, []
    except ContractRevert as exc:
        return 422, "rejected", {"type": "https://rwaledger.dev/problems/revert", "title": "Refused by the contract",
                                 "status": 422, "detail": str(exc), "error": getattr(exc, "name", None)}, []
    except SpecError as exc:  # a field of the request, of its spec or of a CSV row: named
        return 422, "refused", {"type": "https://rwaledger.dev/problems/validation", "title": "Invalid request",
                                "status": 422, "detail": str(exc), **_located(exc, where)}, []
    except TransactionTimeout as exc:  # sent, and no receipt yet: it may still execute, so it is not refused
        pending = exc.pending or [PendingTx(exc.tx_hash, "", None)]
        return 202, "pending", {
            "type": "https://rwaledger.dev/problems/pending", "title": "Sent, not yet confirmed", "status": 202,
            "detail": str(exc), "pending": [{"tx_hash": p.tx_hash, "sender": p.sender or None, "nonce": p.nonce}
                                            for p in pending],
            "tx_hashes": [p.tx_hash for p in pending]}, [p.tx_hash for p in pending]
    except NodeUnavailable as exc:  # what was sent is pending, not failed: named by hash and nonce, and audited so
        pending = [{"tx_hash": p.tx_hash, "sender": p.sender, "nonce": p.nonce} for p in exc.pending]
        return 503, "pending" if pending else "unavailable", {
            "type": "https://rwaledger.dev/problems/node-unavailable", "title": "The chain node is unavailable",
            "status": 503, "detail": str(exc), "pending": pending, "confirmed": exc.confirmed}, [
            p.tx_hash for p in exc.pending]
    except RwaError as exc:
        return 422, "refused", {"type": "https://rwaledger.dev/problems/refused", "title": "Refused",
                                "status": 422, "detail": str(exc), **_located(exc, where)}, []
    answer = outcome if isinstance(outcome, WriteResult) else WriteResult.of(outcome)
    return 200, answer.status.value, answer.model_dump(mode="json"), answer.tx_hashes
