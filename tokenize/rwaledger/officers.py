"""Officer accounts of the registry service: who may write through the API, as which role, signed by which key.

``rwa officer add NAME --role registrar|compliance|custodian|auditor [--keystore FILE | --account N]`` makes an
account and prints its token once. Only the token's argon2 hash is stored (argon2-cffi's ``PasswordHasher``, never
hand-made hashing); the token is ``rwa_<id>_<secret>`` so that a request checks one hash. A writing officer is bound to
a signer: a keystore file (its password from ``RWA_KEYSTORE_PASSWORD`` on the server) or, on a local chain, a dev
account; the key never leaves the server and is never stored or logged. An ``auditor`` reads everything, including
investor labels, and writes nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from .errors import RwaError
from .ledger import schema
from .signers import Signer, from_keystore

ROLES = ("registrar", "compliance", "custodian", "auditor")
WRITING_ROLES = ROLES[:3]
_hasher = PasswordHasher()


class OfficerError(RwaError):
    """An officer account cannot be made or used as asked."""


@dataclass(frozen=True)
class Officer:
    id: int
    name: str
    role: str
    signer: str | None  # "keystore:PATH" or "dev:N"; None for an auditor
    created_at: int
    disabled: bool

    @property
    def writes(self) -> bool:
        return self.role in WRITING_ROLES

    def public(self) -> dict:
        """What the API says about an officer (never the signer's path or anything secret)."""
        return {"id": self.id, "name": self.name, "role": self.role}


def signer_of(officer: Officer, chain) -> Signer:
    """The key an officer's writes are signed with (loaded on the server, never stored)."""
    if officer.signer is None:
        raise OfficerError(f"officer {officer.name} ({officer.role}) has no signer: an auditor writes nothing")
    kind, _, ref = officer.signer.partition(":")
    if kind == "keystore":
        return from_keystore(ref, prompt=False)  # the password comes from the server's environment
    if kind == "dev":
        if not chain.dev_accounts:
            raise OfficerError(f"officer {officer.name} signs with dev account {ref}, but {chain.name} has none")
        return Signer(chain.dev_accounts[int(ref)], f"dev account {ref} (officer {officer.name})")
    raise OfficerError(f"officer {officer.name}: unknown signer {kind!r}")


class OfficerStore:
    """Officer accounts in the ledger database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, name: str, role: str, *, keystore: str | Path | None = None, account: int | None = None) -> tuple[Officer, str]:
        """Make an account; returns it and its token (shown once: only its hash is kept)."""
        name = name.strip()
        if not name or len(name) > 64:
            raise OfficerError("an officer's name is 1 to 64 characters")
        if role not in ROLES:
            raise OfficerError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if role == "auditor" and (keystore or account is not None):
            raise OfficerError("an auditor writes nothing: give no signer")
        if role != "auditor" and not keystore and account is None:
            raise OfficerError(f"a {role} officer signs its writes: give --keystore FILE (or --account N on a local chain)")
        if keystore and account is not None:
            raise OfficerError("give --keystore or --account, not both")
        signer = f"keystore:{Path(keystore).resolve()}" if keystore else f"dev:{account}" if account is not None else None
        if keystore and not Path(keystore).is_file():
            raise OfficerError(f"{keystore}: no such keystore file")
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            try:
                oid = conn.execute(insert(schema.officers).values(
                    name=name, role=role, signer=signer, token_hash="pending", created_at=int(time.time()),
                    disabled=False)).inserted_primary_key[0]
            except IntegrityError:
                raise OfficerError(f"an officer named {name!r} exists already") from None
            token = f"rwa_{oid}_{secret}"
            conn.execute(update(schema.officers).where(schema.officers.c.id == oid)
                         .values(token_hash=_hasher.hash(token)))
        return self.get(oid), token

    def get(self, officer_id: int) -> Officer:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.officers).where(schema.officers.c.id == officer_id)).first()
        if row is None:
            raise OfficerError(f"no officer {officer_id}")
        return Officer(row.id, row.name, row.role, row.signer, row.created_at, bool(row.disabled))

    def list(self) -> list[Officer]:
        with self.engine.connect() as conn:
            ids = [r.id for r in conn.execute(select(schema.officers.c.id).order_by(schema.officers.c.id))]
        return [self.get(i) for i in ids]

    def authenticate(self, token: str | None) -> Officer | None:
        """The officer a token belongs to, or None (unknown, malformed, wrong secret, disabled)."""
        if not token or not token.startswith("rwa_"):
            return None
        parts = token.split("_", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.officers).where(schema.officers.c.id == int(parts[1]))).first()
        if row is None or row.disabled:
            return None
        try:
            _hasher.verify(row.token_hash, token)
        except (VerificationError, InvalidHashError):
            return None
        return Officer(row.id, row.name, row.role, row.signer, row.created_at, bool(row.disabled))

    def disable(self, name: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(schema.officers).where(schema.officers.c.name == name).values(disabled=True))
        if not done.rowcount:
            raise OfficerError(f"no officer named {name!r}")
