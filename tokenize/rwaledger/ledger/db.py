"""Opening the database (its schema brought up to date by the Alembic migrations) and the ``meta`` key/value
helpers.

Within schema version 2 the tables change only through the migrations in ``migrations/versions`` (run by
:func:`migrate` on every open; schema.py stays the one description of the current tables, and a test checks
that the migrated database equals it). A database of another schema version is refused by
:func:`check_schema`, as before: version 1 cannot be converted.
"""

from __future__ import annotations

import sqlite3
import time

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from .. import paths
from . import schema
from .errors import LedgerError, SchemaVersionError

DEFAULT_PATH = paths.BUILD_DIR / "ledger.sqlite"  # build/ledger.sqlite of the project (RWA_BUILD_DIR moves it)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# The revisions a database made by ``metadata.create_all`` (before the migrations) is recognised as, by its tables:
# the first whose tables it has all of (and none of a later one's) is stamped, then upgraded.
BASELINE = "0001"  # schema version 2 as it was before the Safe proposals
BASELINE_TABLES = frozenset({
    "meta", "blocks", "contracts", "events", "event_accounts", "balance_changes", "investor_states",
    "wallet_bindings", "wallet_statuses", "investor_labels", "assets", "distributions",
})
SAFE_TABLES = BASELINE_TABLES | {"safe_proposals", "safe_approvals"}
SERVICE_TABLES = SAFE_TABLES | {"officers", "api_requests", "api_audit", "holdings", "supplies"}
STATE_TABLES = SERVICE_TABLES | {"balance_checkpoints", "wallet_identities", "liens", "freezes", "custody_lots",
                                 "redemptions"}
UNVERSIONED = ((BASELINE, BASELINE_TABLES), ("0002", SAFE_TABLES), ("0003", SERVICE_TABLES), ("0004", STATE_TABLES))


class ExactSum:
    """SQLite aggregate ``rwa_sum``: the exact sum of amounts stored as decimal text (SQLite's own SUM stops at
    64-bit integers and TOTAL is a float; a uint256 needs neither). A non-negative result comes back zero-padded to
    78 digits, as :class:`~rwaledger.ledger.schema.SortableAmount` stores a balance, so it sorts in SQL; PostgreSQL
    sums its NUMERIC columns itself (``SUM``)."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: object) -> None:
        if value is not None:
            self.total += int(value)  # type: ignore[call-overload]

    def finalize(self) -> str:
        return f"{self.total:078d}" if self.total >= 0 else str(self.total)


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL from a URL (kept) or a file path (SQLite); ``:memory:`` for a throw-away database."""
    text = str(target)
    if "://" in text:
        return text
    if text == ":memory:":
        return "sqlite://"
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_engine(target: str | Path, echo: bool = False) -> Engine:
    url = database_url(target)
    if url == "sqlite://":
        engine = create_engine(url, echo=echo, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, echo=echo)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised implicitly
            cur = dbapi_conn.cursor()
            if url != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")  # readers (queries, the CLI) never block the indexer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            dbapi_conn.create_aggregate("rwa_sum", 1, ExactSum)

    try:
        _checked_and_migrated(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


LOCKED_WAIT_S = 60.0  # how long an open waits out another process's write lock on a SQLite file, in all


def _checked_and_migrated(engine: Engine) -> None:
    """:func:`check_schema` then :func:`migrate`, waiting while another process holds the SQLite file's write
    lock. sqlite3's own busy timeout (5 s) is not enough when several processes open one new file at once (one is
    creating every table) or a long write runs, and a reader in that window used to fail "database is locked"
    (tests/test_ledger_schema.py). Both steps only read, or migrate under the migrations' lock, so again is safe."""
    deadline = time.monotonic() + LOCKED_WAIT_S
    pause = 0.05
    while True:
        try:
            check_schema(engine)
            migrate(engine)
            return
        except (OperationalError, sqlite3.OperationalError) as exc:  # raw from a connect event's PRAGMA
            locked = engine.dialect.name == "sqlite" and "database is locked" in str(exc)
            if not locked or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def alembic_config(url: str | None = None):
    """The Alembic configuration of the ledger's migrations, built in code (no alembic.ini). With ``url`` it
    also serves the alembic commands, e.g. ``command.revision(alembic_config(url), "...", autogenerate=True)``
    after editing schema.py."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision of the migrations shipped with this rwaledger."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def unversioned_revision(tables: set[str]) -> str | None:
    """The revision a database without ``alembic_version`` is at, from its tables: None for a database with no
    ledger table (a new one); :class:`LedgerError` for a set of ledger tables no revision had."""
    known = set().union(*(t for _, t in UNVERSIONED))
    present = tables & known
    if not present:
        return None
    for revision, expected in reversed(UNVERSIONED):
        if present == expected:
            return revision
    nearest = min((t for _, t in UNVERSIONED), key=lambda t: len(t ^ present))
    raise LedgerError(
        f"the ledger database has some of the ledger's tables but not those of any known revision (missing: "
        f"{', '.join(sorted(nearest - present)) or '-'}; unexpected: {', '.join(sorted(present - nearest)) or '-'})"
    )


@lru_cache(maxsize=1)
def _head_from_files() -> str | None:
    """The head revision read from the migration files' ``revision`` / ``down_revision`` lines without alembic
    (None if they do not form one simple chain: then alembic decides)."""
    import re

    revs: dict[str, str | None] = {}
    for f in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = f.read_text()
        rev = re.search(r'^revision\s*=\s*"([^"]+)"', text, re.M)
        down = re.search(r'^down_revision\s*=\s*(None|"([^"]+)")', text, re.M)
        if not rev or not down:
            return None
        revs[rev.group(1)] = down.group(2)
    heads = set(revs) - {d for d in revs.values() if d}
    return heads.pop() if len(heads) == 1 else None


def _at_head_fast(conn: Connection) -> bool:
    """Whether the database is at the head revision, with its meta set (nothing for :func:`migrate` to do)."""
    from sqlalchemy import text

    head = _head_from_files()
    if head is None or "alembic_version" not in set(inspect(conn).get_table_names()):
        return False
    rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    if rows != [head] or get_meta(conn, "schema_version") is None:
        return False
    from .state import STATE_VERSION

    return get_meta(conn, "state") == STATE_VERSION


def migrate(engine: Engine) -> None:
    """Bring the database to the head revision, in one transaction under the migrations' lock (so that processes
    opening one empty database at once, two ``rwa serve`` or a serve and a ``rwa ledger follow``, migrate it one
    after the other: the first creates the tables, the others find them at the head; see
    :func:`rwaledger.election.locked_transaction`): a new database gets every table; one made by
    ``create_all`` before the migrations existed is stamped with the revision its tables match, then upgraded;
    then ``meta.schema_version`` is set if it is not, and the current-state tables of ledger/state.py are derived from
    the event tables when meta ``state`` says they are not (revision 0004 clears it)."""
    try:
        with engine.connect() as conn:
            if _at_head_fast(conn):  # the usual case (every command on an existing ledger): alembic not even imported
                return
    except OperationalError:
        pass  # another process is migrating it now ("database is locked"): wait for it under the lock below
    from alembic import command
    from alembic.migration import MigrationContext

    from ..election import locked_transaction

    with locked_transaction(engine) as conn:
        current = MigrationContext.configure(conn).get_current_heads()
        if current != (head_revision(),):
            cfg = alembic_config()
            cfg.attributes["connection"] = conn  # env.py runs on this connection, inside this transaction
            if not current:
                tables = set(inspect(conn).get_table_names())
                stamp = None if "alembic_version" in tables else unversioned_revision(tables)
                if stamp is not None:
                    command.stamp(cfg, stamp)
            command.upgrade(cfg, "head")
        if get_meta(conn, "schema_version") is None:
            set_meta(conn, "schema_version", schema.SCHEMA_VERSION)
        from .state import STATE_VERSION, rebuild_state

        if get_meta(conn, "state") != STATE_VERSION:  # new, or upgraded by 0004: derive the current state once
            rebuild_state(conn)
            set_meta(conn, "state", STATE_VERSION)


def check_schema(engine: Engine) -> None:
    """Refuse a database of another schema version BEFORE anything is created in it.

    A version is never converted into another: the projections of one version cannot be derived from another's
    tables (version 1 had one identity per wallet, version 2 has investors that own wallets), and everything the
    ledger holds except the investor labels comes from the chain, so syncing into a new file rebuilds it exactly.
    (Changes within version 2 are the migrations' job.) Checking first matters: the migrations would otherwise
    add this version's tables next to the old ones."""
    tables = set(inspect(engine).get_table_names())
    where = engine.url.render_as_string(hide_password=True)
    version = None
    if "meta" in tables:
        with engine.connect() as conn:
            version = get_meta(conn, "schema_version")
    if version == schema.SCHEMA_VERSION:
        return
    if version is None:
        return  # no ledger yet (an empty or shared database, or a first open that was interrupted)
    newer = version.isdigit() and int(version) > int(schema.SCHEMA_VERSION)
    raise SchemaVersionError(
        f"the ledger database {where} has schema version {version}, this rwaledger reads and writes version "
        f"{schema.SCHEMA_VERSION}"
        + (" (it was written by a newer rwaledger)" if newer else " (investors own wallets since version 2)")
        + "; it cannot be converted in place: sync into a new file (e.g. `rwa ledger sync --db NEW.sqlite`, or "
        "delete this one and sync again)"
        + (". Its investor labels are off-chain data: write them into the new file (set_investor_labels)"
           if "investor_labels" in tables else ""),
        found=version,
    )


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).scalar()


def set_meta(conn: Connection, key: str, value: str | None) -> None:
    conn.execute(schema.meta.delete().where(schema.meta.c.key == key))
    if value is not None:
        conn.execute(schema.meta.insert().values(key=key, value=value))


@dataclass(frozen=True)
class Checkpoint:
    """The last block whose logs are all in the ledger, and its hash."""

    block: int
    hash: str


def get_checkpoint(conn: Connection) -> Checkpoint | None:
    block, hash_ = get_meta(conn, "checkpoint_block"), get_meta(conn, "checkpoint_hash")
    return None if block is None or hash_ is None else Checkpoint(int(block), hash_)


def set_checkpoint(conn: Connection, cp: Checkpoint | None) -> None:
    set_meta(conn, "checkpoint_block", None if cp is None else str(cp.block))
    set_meta(conn, "checkpoint_hash", None if cp is None else cp.hash)
