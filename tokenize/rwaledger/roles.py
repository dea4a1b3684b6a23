"""Who holds each role of a stack: one key, or a Safe of N owners with a threshold M; deployed, recorded, checked.

The role model (contracts/RWAAccess.sol):

* ``admin`` grants and revokes every role;
* ``registrar`` registers assets, mints, burns, forces transfers, recovers wallets, liens, distributions;
* ``compliance`` onboards investors, sets transfer rules, freezes, pauses and unpauses;
* ``custodian`` attests custody lots and fulfils or rejects redemptions;
* ``guardian`` may pause a token and nothing else: the one emergency act a single key does alone (it stops trading
  and moves nothing); unpausing is the compliance role's, so with a compliance Safe it needs that threshold.

A role given to a Safe is revoked from the deployer's key, and the admin role moves last (granted to its holder, then
renounced by the deployer). What was given is recorded in ``deployments/<network>/roles.json``; :func:`check_roles`
compares it with the chain (``RoleGranted``/``RoleRevoked`` from the role authority, the Safes' owners and
thresholds).

A ``[roles]`` table (in TOML or JSON) gives the same as the ``rwa deploy --ROLE-safe`` options::

    [roles]
    admin = "0xA,0xB,0xC:2"        # a Safe: owners and threshold
    registrar = "0xA,0xB,0xC:2"
    compliance = "0xA,0xB,0xC:2"
    custodian = "0xD"              # one key
    guardian = "0xE"               # one key, never a Safe
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from eth_utils import to_checksum_address

from . import safe as safes
from .constants import ADMIN_ROLE, ROLES
from .errors import RwaError
from .safe import SafeError
from .session import Session
from .stack import Stack, deploy_stack

ROLE_NAMES = ("admin", "registrar", "compliance", "custodian", "guardian")
OPERATIONAL = ("registrar", "compliance", "custodian")  # the deployer holds these unless given to someone else


class RolesError(RwaError):
    """A roles table or option is not valid; nothing was sent."""


@dataclass(frozen=True)
class RoleHolder:
    """One key (``owners`` empty) or a Safe of ``owners`` with ``threshold``."""

    role: str
    key: str | None = None
    owners: tuple[str, ...] = ()
    threshold: int = 0

    @property
    def is_safe(self) -> bool:
        return bool(self.owners)

    def describe(self) -> str:
        return f"Safe {self.threshold} of {len(self.owners)}" if self.is_safe else "one key"


def parse_holder(role: str, text: str, where: str) -> RoleHolder:
    """``"0xA"`` (one key) or ``"0xA,0xB,0xC:2"`` (a Safe) for ``role``; errors name ``where``."""
    if role not in ROLE_NAMES:
        raise RolesError(f"{where}: unknown role {role!r} (roles: {', '.join(ROLE_NAMES)})")
    if not isinstance(text, str):
        raise RolesError(f"{where}: expected an address or OWNER,OWNER,...:THRESHOLD, got {text!r}")
    text = text.strip()
    if ":" in text or "," in text:
        if role == "guardian":
            raise RolesError(f"{where}: the guardian is one key (it may only pause), not a Safe")
        try:
            owners, threshold = safes.parse_safe_spec(text, where)
        except SafeError as exc:
            raise RolesError(str(exc)) from None
        return RoleHolder(role, owners=tuple(owners), threshold=threshold)
    try:
        return RoleHolder(role, key=to_checksum_address(text))
    except ValueError:
        raise RolesError(f"{where}: {text!r} is not an address") from None


def load_roles(path: Path) -> dict[str, RoleHolder]:
    """The ``[roles]`` table of a TOML or JSON file."""
    try:
        raw = path.read_text()
    except OSError as exc:
        raise RolesError(f"{path}: {exc.strerror}") from None
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise RolesError(f"{path}: {exc}") from None
    table = data.get("roles")
    if not isinstance(table, dict) or not table:
        raise RolesError(f"{path}: no [roles] table")
    return {role: parse_holder(role, text, f"{path}: field roles.{role}") for role, text in table.items()}


def deploy_with_roles(session: Session, holders: Mapping[str, RoleHolder], *, redeploy: bool = False,
                      listing_chain_id: int | None = None) -> tuple[Stack, dict[str, str]]:
    """Deploy (or reuse) the stack and give each role to its holder: a Safe is found again or created (the same
    owners and threshold are the same Safe, for any roles); a role given away is revoked from the deployer; the admin
    role moves last. Records who holds what. Returns the stack and role -> holder address."""
    deployer = session.signer.address
    held: dict[str, str] = {}
    if any(h.is_safe for h in holders.values()):
        infra = safes.safe_infrastructure(session, redeploy=redeploy, listing_chain_id=listing_chain_id)
        for role, h in holders.items():
            if h.is_safe:
                vault, _ = safes.ensure_safe(session, infra, h.owners, h.threshold, salt=safes.ROLE_SAFE_SALT)
                held[role] = vault.address
    for role, h in holders.items():
        if not h.is_safe:
            held[role] = h.key  # type: ignore[assignment]
    grants = {role: [held.get(role, deployer)] for role in OPERATIONAL}
    if "guardian" in held:
        grants["guardian"] = [held["guardian"]]
    stack = deploy_stack(session, redeploy=redeploy, roles=grants,
                         exclusive=[r for r in OPERATIONAL if held.get(r, deployer) != deployer])
    admin = held.get("admin")
    access = stack.access.functions
    if admin and admin != deployer and access.hasRole(ADMIN_ROLE, deployer).call():
        if not access.hasRole(ADMIN_ROLE, admin).call():
            session.tx.transact(access.grantRole(ADMIN_ROLE, admin))
        session.tx.transact(access.renounceRole(ADMIN_ROLE, deployer))
    record = {role: {"holder": held.get(role, deployer)} for role in ("admin", *OPERATIONAL)}
    if "guardian" in held:
        record["guardian"] = {"holder": held["guardian"]}
    for role, h in holders.items():
        if h.is_safe:
            record[role]["safe"] = {"owners": list(h.owners), "threshold": h.threshold, "salt": safes.ROLE_SAFE_SALT}
    session.deployer.store.save_roles(record)
    return stack, {role: r["holder"] for role, r in record.items()}


@dataclass(frozen=True)
class RoleFinding:
    role: str
    holder: str
    kind: str  # "key" or "Safe M of N"
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "holder": self.holder, "kind": self.kind, "ok": self.ok, "detail": self.detail}


def role_holders_on_chain(stack: Stack, from_block: int = 0) -> dict[str, set[str]]:
    """Every role's holders now, from the authority's RoleGranted/RoleRevoked events (AccessControl keeps no list)."""
    names = {v: k for k, v in ROLES.items()}
    events = stack.access.events
    logs = [*events.RoleGranted().get_logs(from_block=from_block), *events.RoleRevoked().get_logs(from_block=from_block)]
    logs.sort(key=lambda e: (e["blockNumber"], e["transactionIndex"], e["logIndex"]))
    holders: dict[str, set[str]] = {name: set() for name in ROLES}
    for e in logs:
        name = names.get(bytes(e["args"]["role"]))
        if name is None:
            continue
        account = to_checksum_address(e["args"]["account"])
        (holders[name].add if e["event"] == "RoleGranted" else holders[name].discard)(account)
    return holders


def check_roles(stack: Stack, recorded: Mapping[str, Mapping[str, Any]] | None = None) -> list[RoleFinding]:
    """Compare the recorded holders with the chain: each role held by exactly its recorded holder, and each
    recorded Safe with its recorded owners and threshold."""
    recorded = recorded if recorded is not None else stack.session.deployer.store.roles()
    if not recorded:
        raise RolesError("no roles are recorded for this network: deploy first (`rwa deploy`)")
    record = stack.session.deployer.store.get("RWAAccess")
    on_chain = role_holders_on_chain(stack, record.block_number if record else 0)
    w3 = stack.w3
    findings = []
    for role in ROLE_NAMES:
        entry = recorded.get(role)
        holders = on_chain.get(role, set())
        if entry is None:
            if holders:
                findings.append(RoleFinding(role, ", ".join(sorted(holders)), "?", False,
                                            "held on chain, but no holder is recorded"))
            continue
        holder = to_checksum_address(entry["holder"])
        safe = entry.get("safe")
        kind = f"Safe {safe['threshold']} of {len(safe['owners'])}" if safe else "key"
        problems = []
        if holder not in holders:
            problems.append("does not hold the role on chain")
        others = sorted(holders - {holder})
        if others:
            problems.append(f"also held by {', '.join(others)}")
        if safe:
            if not w3.eth.get_code(holder):
                problems.append("has no code: it is no Safe")
            else:
                vault = w3.eth.contract(address=holder, abi=stack.session.build["SafeL2"].abi)
                owners = sorted(vault.functions.getOwners().call())
                threshold = vault.functions.getThreshold().call()
                if owners != sorted(to_checksum_address(o) for o in safe["owners"]):
                    problems.append(f"its owners are now {', '.join(owners)}")
                if threshold != safe["threshold"]:
                    problems.append(f"its threshold is now {threshold}")
        findings.append(RoleFinding(role, holder, kind, not problems, "; ".join(problems) or "as recorded"))
    return findings
