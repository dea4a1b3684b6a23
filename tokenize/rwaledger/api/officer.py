"""The officer API: login by token, writes that go to the chain through the registrar service, the proposals of the
Safes that hold roles (an owner officer approves and executes them), the audit log.

Every write is authorised by the officer's role (``401`` without a valid token, ``403`` for another role; nothing is
sent), checked and sent by the services (:mod:`rwaledger.services`) signed with the officer's own key (the same
pre-checks and the same pydantic request models as the CLI), answered with its transaction hashes or a refusal
naming the rule, idempotent under an ``Idempotency-Key`` (a retry, also after a restart, gets the first answer and
sends nothing), and appended to the audit log whatever its outcome.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any, Callable

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import insert, select

from ..errors import ContractRevert, RwaError
from ..ledger import Ledger, schema
from ..models import ForcedTransferRequest, FreezeRequest, MintRequest
from ..officers import Officer, OfficerStore, signer_of
from ..proposals import ProposalStore, SafeRoute, load_safe_infrastructure
from ..render import describe
from ..services import EventOut, ProposalRef, Result, Services, Status, TransferRejected, TxRef
from ..session import open_session
from .limits import Limits, LoginAttempts, client_address

# which officer roles may do what (the chain checks the signer's on-chain role again)
WRITERS = ("registrar", "compliance", "custodian")
MAY = {"mint": ("registrar",), "forced_transfer": ("registrar",), "freeze": ("compliance",),
       "audit": ("registrar", "auditor"), "investor": (*WRITERS, "auditor"), "proposals": (*WRITERS, "auditor"),
       "approve": WRITERS, "execute": WRITERS}  # a Safe owner's approval: the Safe and the service check ownership


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


def _problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://rwaledger.dev/problems/{kind}", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def officer_router(ledger: Ledger, stack: Any, limits: Limits | None = None) -> APIRouter:
    """The ``/api/officer`` routes over ``ledger`` (accounts, idempotency, audit) and ``stack`` (writes); failed
    logins are limited by ``limits`` (:class:`rwaledger.api.limits.LoginAttempts`)."""
    router = APIRouter(prefix="/api/officer", tags=["officer"])
    officers = OfficerStore(ledger.engine)
    attempts = LoginAttempts(limits or Limits())
    write_lock = threading.Lock()  # one write at a time: nonces stay in order, an idempotency key is taken once
    registrars: dict[int, Services] = {}

    def registrar_for(officer: Officer) -> Services:
        if officer.id not in registrars:
            session = open_session(chain=stack.session.chain, build=stack.session.build,
                                   signer=signer_of(officer, stack.session.chain), record=False)
            registrars[officer.id] = Services(stack.with_session(session), ledger=ledger)
        return registrars[officer.id]

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
        # over the failed-login limit: 429 (TooManyAttempts) without the argon2 verification
        return attempts.authenticate(client_address(request), token, officers.authenticate)

    def refused(officer: Officer | None, action: str) -> JSONResponse | None:
        if officer is None:
            return _problem(401, "unauthorized", "Login needed", "a valid officer token is needed "
                            "(Authorization: Bearer rwa_...)")
        if officer.role not in MAY[action]:
            return _problem(403, "forbidden", "Not this officer's act",
                            f"{action.replace('_', ' ')} is for {' or '.join(MAY[action])} officers; "
                            f"{officer.name} is {officer.role}")
        return None

    def write(action: str, officer: Officer | None, body: BaseModel, key: str | None,
              act: Callable[[Services], Any]) -> JSONResponse:
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
            status_code, outcome, payload, hashes = _run(act, registrar_for, officer)
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

    @router.post("/mint", response_model=WriteResult)
    def mint(body: MintRequest, officer: Officer | None = Depends(current),
             idempotency_key: str | None = Header(None)) -> Any:
        """Mint one allocation (registrar), once per reference."""
        return write("mint", officer, body, idempotency_key, lambda svc: svc.issuance.mint(body))

    @router.post("/forced-transfers", response_model=WriteResult)
    def forced_transfer(body: ForcedTransferRequest, officer: Officer | None = Depends(current),
                        idempotency_key: str | None = Header(None)) -> Any:
        """A forced transfer with its reason (registrar), within the recipient's rules."""
        return write("forced_transfer", officer, body, idempotency_key, lambda svc: svc.enforcement.forced_transfer(
            body.asset, body.sender, body.to, body.amount, body.reason, body.include_frozen))

    @router.post("/freezes", response_model=WriteResult)
    def freeze(body: FreezeRequest, officer: Officer | None = Depends(current),
               idempotency_key: str | None = Header(None)) -> Any:
        """Freeze or unfreeze a wallet in one token (compliance)."""
        return write("freeze", officer, body, idempotency_key, lambda svc: svc.enforcement.freeze(body.asset, body.wallet, body.frozen))

    proposal_store = ProposalStore(ledger.engine)
    infra: list[Any] = []  # Safe's contracts, found once (records on a local chain, canonical on a network)

    def route_for(proposal_id: int, session: Any) -> SafeRoute:
        if not infra:
            infra.append(load_safe_infrastructure(stack.session))
        p = proposal_store.get(proposal_id)
        return SafeRoute(session, stack.with_session(session), p.tx.safe, proposal_store, infra[0])

    def proposal_view(p: Any, route: SafeRoute | None = None) -> dict[str, Any]:
        data = p.to_dict()
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

    @router.post("/proposals/{proposal_id}/approvals", response_model=WriteResult)
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

    @router.post("/proposals/{proposal_id}/execution", response_model=WriteResult)
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
    def audit_log(officer: Officer | None = Depends(current), limit: int = 100) -> Any:
        """The most recent write attempts, newest first (registrar and auditor)."""
        denied = refused(officer, "audit")
        if denied is not None:
            return denied
        a = schema.api_audit.c
        with ledger.engine.connect() as conn:
            rows = conn.execute(select(schema.api_audit).order_by(a.id.desc()).limit(max(1, min(limit, 1000)))).all()
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

    return router


def _run(act: Callable[[Services], Any], registrar_for: Callable[[Officer], Services],
         officer: Officer) -> tuple[int, str, dict, list[str]]:
    """Run a write; (HTTP status, outcome, body, transaction hashes). Refusals are answers, not crashes."""
    try:
        outcome = act(registrar_for(officer))
    except TransferRejected as exc:
        return 422, "rejected", {"type": "https://rwaledger.dev/problems/rule", "title": "Refused by a rule",
                                 "status": 422, "detail": str(exc), "rule": exc.rule}, []
    except ContractRevert as exc:
        return 422, "rejected", {"type": "https://rwaledger.dev/problems/revert", "title": "Refused by the contract",
                                 "status": 422, "detail": str(exc), "error": getattr(exc, "name", None)}, []
    except RwaError as exc:
        return 422, "refused", {"type": "https://rwaledger.dev/problems/refused", "title": "Refused",
                                "status": 422, "detail": str(exc)}, []
    answer = outcome if isinstance(outcome, WriteResult) else WriteResult.of(outcome)
    return 200, answer.status.value, answer.model_dump(mode="json"), answer.tx_hashes
