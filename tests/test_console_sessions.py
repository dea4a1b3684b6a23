"""Console sessions in the ledger database: two ``Sessions`` on one database (two workers of one server) share
every session, its CSRF token and its pending previews; logout in one ends it in the other; an expired session is
refused and its row removed; an id never issued is refused; only the SHA-256 of an id is stored."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from rwaledger.ledger import Ledger, schema
from rwaledger.officers import Officer
from rwaledger.portal.console import Pending, Sessions, _body, _call


def officer(officer_id: int = 7) -> Officer:
    return Officer(id=officer_id, name="reg", role="registrar", signer="dev:0", created_at=0, disabled=False)


def rows(ledger):
    with ledger.engine.connect() as conn:
        return conn.execute(select(schema.console_sessions)).all()


def test_a_session_opened_by_one_worker_is_known_with_its_previews_to_another(tmp_path):
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        one, two = Sessions(ledger.engine), Sessions(ledger.engine)
        sid = one.open(officer())
        (row,) = rows(ledger)
        assert row.id_sha256 == hashlib.sha256(sid.encode()).hexdigest() and sid not in str(tuple(row))
        a, b = one.get(sid), two.get(sid)
        assert a is not None and b is not None
        assert (b.officer_id, b.csrf, b.expires) == (7, a.csrf, a.expires)
        call = _call("/api/officer/mint", {"kind": "model", "model": "MintRequest",
                                           "data": {"asset": "GOLD", "to": "0x" + "11" * 20, "amount": "5"}})
        pid = one.keep(a, Pending("mint", "Mint one allocation", ["Would mint 5."], [call]))
        seen = two.get(sid)
        assert seen is not None and list(seen.pending) == [pid]
        p = seen.pending[pid]
        assert (p.action, p.summary, p.results) == ("mint", ["Would mint 5."], [])
        body = _body(p.chunks[0]["body"])  # rebuilt into the route's body by the other worker
        assert (body.asset, body.amount, body.to.lower()) == ("GOLD", 5, "0x" + "11" * 20)
        two.record(seen, pid, 0, {"part": 1, "of": 1, "ok": True})
        assert one.get(sid).pending[pid].results == [{"part": 1, "of": 1, "ok": True}]
        two.close(sid)
        assert one.get(sid) is None and rows(ledger) == []


def test_expired_and_never_issued_sessions_are_refused_and_expired_rows_removed(tmp_path):
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        now = [1_000_000.0]
        sessions = Sessions(ledger.engine, ttl=60, clock=lambda: now[0])
        old, later = sessions.open(officer(1)), None
        assert sessions.get("never-issued") is None and sessions.get(None) is None and sessions.get("") is None
        now[0] += 61
        assert sessions.get(old) is None and rows(ledger) == []  # refused, and its row deleted
        stale = sessions.open(officer(2))
        now[0] += 61
        later = sessions.open(officer(3))  # opening a session removes the expired ones
        assert [r.officer_id for r in rows(ledger)] == [3]
        assert sessions.get(stale) is None and sessions.get(later).officer_id == 3


def test_previews_beyond_the_limit_drop_the_oldest(tmp_path):
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        sessions = Sessions(ledger.engine)
        sid = sessions.open(officer())
        s = sessions.get(sid)
        pids = [sessions.keep(s, Pending("mint", "t", [], [])) for _ in range(25)]
        kept = list(Sessions(ledger.engine).get(sid).pending)
        assert kept == list(s.pending) and kept[-1] == pids[-1] and pids[0] not in kept and len(kept) <= 21
