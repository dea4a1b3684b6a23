"""Which ledger follower writes: a leader election over the ledger database itself.

A registry office runs several ``rwa serve`` processes (or ``--workers N`` of one) against one ledger database.
Every process serves reads; exactly one of them, the *leader*, runs the follower's sync steps. The lock lives
where the ledger lives, so no other service (ZooKeeper, etcd, Redis) is needed:

* **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock(LOCK_KEY)``, taken on a connection of its
  own that the leader keeps open for as long as it leads. Advisory locks are scoped to one database, so two ledger
  databases on one server elect independently. When the leader dies, however it dies (``kill -9``, a crash, the
  host gone), its session ends and the server releases the lock; every standby tries again each poll interval
  (``pg_try_advisory_lock`` never waits), so one of them leads within a poll interval or two. TCP keepalives are
  switched on for that session (``tcp_keepalives_*``) so that a vanished host (no FIN ever sent) is noticed by the
  server within about ``KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT`` seconds, not after the kernel's two
  hours. The lock's session is named ``rwaledger follower pid=<pid>`` (``application_name``), so an operator sees
  who leads::

      SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a USING (pid)
       WHERE l.locktype = 'advisory' AND l.granted;

* **SQLite** (one machine by nature): an exclusive, non-blocking ``fcntl.flock`` on ``<database>.follower.lock``
  beside the database file. The kernel drops it when the holder's file descriptor closes, which includes the
  process dying. ``:memory:`` databases are private to their process: there is nothing to elect, the one
  follower always leads.

The same two locks, taken *blocking* and for one transaction, serialise the ledger's schema migrations
(:func:`locked_transaction`, used by ``rwaledger.ledger.db.migrate``): two processes opening an empty database at
once would otherwise both create its tables. On PostgreSQL that is ``pg_advisory_xact_lock(MIGRATION_LOCK_KEY)``
inside the migrating transaction (released by its commit or rollback), on SQLite a blocking ``flock`` on
``<database>.migrate.lock`` held until the transaction has ended.

The lock is the guard against two writers. The sync itself also refuses to record an event twice (``(tx_hash,
log_index)`` and the block number are unique, and a range is written in one transaction), but two writers running
at once could still step on each other's checkpoint (see ``ledger/sync.py``): the election is what makes that
impossible.
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Literal

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from .errors import RwaError


def lock_key(phrase: bytes) -> int:
    """The advisory lock key of a phrase: the first 8 bytes of its SHA-256 as a signed big-endian integer."""
    return int.from_bytes(hashlib.sha256(phrase).digest()[:8], "big", signed=True)


#: The advisory lock key of the follower election: the first 8 bytes of SHA-256("rwaledger ledger follower"),
#: read as a signed big-endian 64-bit integer (PostgreSQL's ``bigint`` key space). Fixed, so that every rwaledger
#: process on a database agrees on it; derived from a readable phrase, so that it is unlikely to collide with the
#: keys another application on the same database uses.
LOCK_PHRASE = b"rwaledger ledger follower"
LOCK_KEY = lock_key(LOCK_PHRASE)
#: The advisory lock key of the schema migrations (:func:`locked_transaction`), derived likewise.
MIGRATION_LOCK_PHRASE = b"rwaledger ledger migrations"
MIGRATION_LOCK_KEY = lock_key(MIGRATION_LOCK_PHRASE)

KEEPALIVE_IDLE = 5  # seconds of silence before the server probes the leader's connection
KEEPALIVE_INTERVAL = 2  # seconds between probes
KEEPALIVE_COUNT = 3  # unanswered probes before the server drops the session (and with it the lock)
CONNECT_TIMEOUT = 5  # seconds: a standby must not hang on an unreachable server

Backend = Literal["postgresql", "sqlite-file", "memory"]


class ElectionError(RwaError):
    """The leader election cannot run on this database (an unsupported kind, or the database is unreachable)."""


def backend_of(engine: Engine, suffix: str) -> tuple[Backend | None, Path | None]:
    """What kind of lock the database behind ``engine`` takes, and for a SQLite file the lock file beside it
    (``<database>.<suffix>``); ``(None, None)`` for a kind of database that has neither."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return "postgresql", None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return "memory", None
        return "sqlite-file", Path(database).with_name(f"{Path(database).name}.{suffix}")
    return None, None


def flock_file(path: Path, *, wait: bool) -> IO[str] | None:
    """The open file ``path`` holding an exclusive ``flock``; with ``wait=False`` None when another holds it. The
    lock ends when the file is closed (or its process dies). The file says who holds it, for an operator."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        f.close()
        return None
    except BaseException:
        f.close()
        raise
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")  # the lock, not this text, is what counts
    f.flush()
    return f


@contextmanager
def locked_transaction(engine: Engine, key: int = MIGRATION_LOCK_KEY, suffix: str = "migrate.lock"
                       ) -> Iterator[Connection]:
    """``engine.begin()`` that waits first for every other process's transaction under the same lock: on
    PostgreSQL ``pg_advisory_xact_lock(key)`` taken first thing in the transaction (the server releases it at the
    commit or rollback, or when the session dies), on a SQLite file a blocking ``flock`` on ``<database>.<suffix>``
    held until the transaction has ended. A ``:memory:`` database is its process's own, and another kind of
    database has neither lock: no lock there."""
    backend, lock_path = backend_of(engine, suffix)
    held = flock_file(lock_path, wait=True) if lock_path is not None else None
    try:
        with engine.begin() as conn:
            if backend == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            yield conn
    finally:
        if held is not None:
            held.close()  # closing the descriptor releases the flock


class Leadership:
    """One process's candidacy for leading the ledger follower.

    :meth:`try_acquire` never blocks: it answers whether this candidate leads now (taking the lock when it is
    free, checking that it still holds it when it did). :meth:`release` gives the lead up for another candidate.
    Thread-safe: the follower's thread campaigns, the thread stopping the follower releases.
    """

    def __init__(self, backend: Backend, *, engine: Engine | None = None, lock_path: Path | None = None,
                 key: int = LOCK_KEY):
        self.backend, self.key, self.lock_path = backend, key, lock_path
        self._engine = engine  # postgresql: a NullPool engine of the ledger's database, for the lock's own session
        self._conn: Connection | None = None  # postgresql: the lock's session (kept open by a standby too)
        self._file: IO[str] | None = None  # sqlite: the open lock file while held
        self._held = False
        self._mutex = threading.Lock()

    @classmethod
    def for_engine(cls, engine: Engine, key: int = LOCK_KEY) -> "Leadership":
        """The candidacy for the ledger database behind ``engine`` (a :class:`rwaledger.ledger.Ledger`'s engine)."""
        backend, lock_path = backend_of(engine, "follower.lock")
        if backend == "postgresql":
            own = create_engine(engine.url, poolclass=NullPool, connect_args={
                "application_name": f"rwaledger follower pid={os.getpid()}", "connect_timeout": CONNECT_TIMEOUT})
            return cls("postgresql", engine=own, key=key)
        if backend is not None:
            return cls(backend, lock_path=lock_path, key=key)
        raise ElectionError(f"no leader election for {engine.url.get_backend_name()} ledgers: use SQLite or "
                            "PostgreSQL")

    @property
    def held(self) -> bool:
        """Whether this candidate led at its last :meth:`try_acquire` (and has not released since)."""
        return self._held

    def try_acquire(self) -> bool:
        """Lead if nobody else does; True while this candidate leads. Never waits for the lock.

        A leader whose lock session has broken (the database restarted, the connection was cut) learns it here:
        it is a standby again (its lock is gone; another candidate may already lead) and campaigns anew."""
        with self._mutex:
            if self.backend == "memory":
                self._held = True
            elif self.backend == "sqlite-file":
                self._held = self._held or self._flock()
            else:
                self._held = self._pg_still_held() if self._held else self._pg_try()
            return self._held

    def release(self) -> None:
        """Stop leading (a standby gets the lock at its next try) and close what the candidacy holds open."""
        with self._mutex:
            if self._file is not None:
                import fcntl

                try:
                    fcntl.flock(self._file, fcntl.LOCK_UN)
                finally:
                    self._file.close()
                    self._file = None
            if self._conn is not None:
                try:
                    if self._held:
                        self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                except Exception:  # the session is broken: the server has dropped the lock with it already
                    pass
                self._close_conn()
            self._held = False

    close = release

    def __enter__(self) -> "Leadership":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        where = self.lock_path if self.backend == "sqlite-file" else self.backend
        return f"<Leadership {where} {'leader' if self._held else 'standby'}>"

    # --- SQLite: flock beside the database file -------------------------------------------------------------

    def _flock(self) -> bool:
        assert self.lock_path is not None
        self._file = flock_file(self.lock_path, wait=False)  # it names who leads, for an operator
        return self._file is not None

    # --- PostgreSQL: a session-level advisory lock on a connection of its own ---------------------------------

    def _session(self) -> Connection:
        if self._conn is None:
            assert self._engine is not None
            try:
                conn = self._engine.connect()
            except Exception as exc:
                raise ElectionError(f"cannot reach the ledger database for the leader election: "
                                    f"{type(exc).__name__}") from None
            try:
                for name, value in (("idle", KEEPALIVE_IDLE), ("interval", KEEPALIVE_INTERVAL),
                                    ("count", KEEPALIVE_COUNT)):
                    conn.execute(text(f"SET tcp_keepalives_{name} = {int(value)}"))
                conn.commit()
            except Exception as exc:
                conn.close()
                raise ElectionError(f"cannot set up the leader election's database session: "
                                    f"{type(exc).__name__}") from None
            self._conn = conn
        return self._conn

    def _pg_try(self) -> bool:
        conn = self._session()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one())
            conn.commit()  # session-level: the lock outlives the transaction; end it so no snapshot is held open
            return got
        except Exception as exc:
            self._close_conn()
            raise ElectionError(f"the leader election's database session failed: {type(exc).__name__}") from None

    def _pg_still_held(self) -> bool:
        """A session-level lock lasts as long as its session: the session answering means the lock is still ours."""
        try:
            assert self._conn is not None
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            self._close_conn()  # the session is gone, and with it the lock: a standby may lead already
            return False

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def dispose(self) -> None:
        """Release, and close the lock session's engine too (the candidacy is over for good)."""
        self.release()
        if self._engine is not None:
            self._engine.dispose()
