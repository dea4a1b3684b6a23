"""The audit of the Safes that hold the stack's roles: every Safe transaction executed on chain, with its signers,
joined with the proposal and approvals the registrar service recorded for it.

Read from the Safes' own events (SafeL2, kind ``safe`` in ``events``): ``SafeMultiSigTransaction`` carries the
transaction, the owners' signatures and ``additionalInfo`` (nonce, sender, threshold); ``ExecutionSuccess`` /
``ExecutionFailure`` the Safe transaction hash; ``AddedOwner``, ``RemovedOwner``, ``ChangedThreshold``,
``SafeSetup`` are changes of who may sign. The signers are recovered from the signatures and the hash the Safe
emitted (Safe's signature types: EIP-712 ``v`` 27/28, ``eth_sign`` ``v`` > 30, an approved hash ``v`` 1, a contract
signature ``v`` 0), never taken from the service's own records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_keys import keys
from eth_utils import keccak, to_checksum_address
from sqlalchemy import Connection, select

from . import schema
from .decode import SAFE_KIND

OWNER_EVENTS = ("SafeSetup", "AddedOwner", "RemovedOwner", "ChangedThreshold", "ChangedFallbackHandler",
                "ChangedGuard", "EnabledModule", "DisabledModule")


@dataclass
class SafeExecution:
    """One Safe transaction executed on chain (successfully or not), and what the service knows of it."""

    block_number: int
    tx_hash: str
    safe: str
    nonce: int
    safe_tx_hash: str
    success: bool
    signers: list[str]
    sender: str  # who sent execTransaction
    to: str
    operation: int
    proposal_id: int | None = None
    title: str | None = None
    calls: list[str] = field(default_factory=list)
    proposer: str | None = None
    approvals: list[str] = field(default_factory=list)  # owners whose approvals the service stored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SafeChange:
    """A change of a Safe's owners, threshold or setup."""

    block_number: int
    tx_hash: str
    safe: str
    event: str
    args: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def signers_of(safe_tx_hash: bytes, signatures: bytes, threshold: int) -> list[str]:
    """The owners behind the first ``threshold`` of Safe's packed signatures (65 bytes each, what the Safe checked;
    contract signatures' dynamic parts follow them)."""
    out = []
    for i in range(min(threshold, len(signatures) // 65)):
        chunk = signatures[65 * i: 65 * i + 65]
        r, s, v = int.from_bytes(chunk[:32], "big"), int.from_bytes(chunk[32:64], "big"), chunk[64]
        if v in (0, 1):  # a contract signature (EIP-1271) or a hash approved on chain: r is the owner
            out.append(to_checksum_address(r.to_bytes(32, "big")[12:]))
            continue
        digest = safe_tx_hash
        if v > 30:  # eth_sign: over the EIP-191 personal message of the hash
            digest, v = keccak(b"\x19Ethereum Signed Message:\n32" + safe_tx_hash), v - 4
        try:
            key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
        except Exception:
            out.append("unrecoverable")
            continue
        out.append(key.to_checksum_address())
    return out


def safe_audit(conn: Connection, safe: str | None = None) -> tuple[list[SafeExecution], list[SafeChange]]:
    """Executions and owner changes of the recorded Safes, in chain order."""
    e = schema.events.c
    q = select(e.block_number, e.tx_hash, e.tx_index, e.log_index, e.address, e.event, e.args).where(
        e.contract_kind == SAFE_KIND, e.event.is_not(None)).order_by(e.block_number, e.tx_index, e.log_index)
    if safe:
        q = q.where(e.address == to_checksum_address(safe))
    pending: dict[tuple[str, str], dict[str, Any]] = {}
    executions: list[SafeExecution] = []
    changes: list[SafeChange] = []
    for row in conn.execute(q):
        args = json.loads(row.args)
        if row.event == "SafeMultiSigTransaction":
            pending[(row.tx_hash, row.address)] = args
        elif row.event in ("ExecutionSuccess", "ExecutionFailure"):
            tx = pending.pop((row.tx_hash, row.address), None)
            if tx is None:  # executed by a module, or a Safe without SafeL2 events: only the hash is known
                continue
            nonce, sender, threshold = abi_decode(["uint256", "address", "uint256"], bytes.fromhex(tx["additionalInfo"][2:]))
            safe_tx_hash = args["txHash"]
            executions.append(SafeExecution(
                block_number=row.block_number, tx_hash=row.tx_hash, safe=row.address, nonce=nonce,
                safe_tx_hash=safe_tx_hash, success=row.event == "ExecutionSuccess",
                signers=signers_of(bytes.fromhex(safe_tx_hash[2:]), bytes.fromhex(tx["signatures"][2:]),
                                   threshold),
                sender=to_checksum_address(sender), to=tx["to"], operation=int(tx["operation"])))
        elif row.event in OWNER_EVENTS:
            changes.append(SafeChange(row.block_number, row.tx_hash, row.address, row.event, args))
    _join_proposals(conn, executions)
    return executions, changes


def _join_proposals(conn: Connection, executions: list[SafeExecution]) -> None:
    if not executions:
        return
    p, a = schema.safe_proposals.c, schema.safe_approvals.c
    by_hash = {x.safe_tx_hash: x for x in executions}
    rows = conn.execute(select(p.id, p.safe_tx_hash, p.title, p.calls, p.proposer)
                        .where(p.safe_tx_hash.in_(list(by_hash)))).all()
    for r in rows:
        x = by_hash[r.safe_tx_hash]
        x.proposal_id, x.title, x.proposer = r.id, r.title, r.proposer
        x.calls = [c["text"] for c in json.loads(r.calls)]
        x.approvals = [o for (o,) in conn.execute(select(a.owner).where(a.proposal_id == r.id).order_by(a.id))]
