"""Opening the database and the ``meta`` key/value helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.pool import StaticPool

from .. import paths
from . import schema
from .errors import SchemaVersionError

DEFAULT_PATH = paths.BUILD_DIR / "ledger.sqlite"  # build/ledger.sqlite of the project (RWA_BUILD_DIR moves it)


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

    try:
        check_schema(engine)
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            if get_meta(conn, "schema_version") is None:
                set_meta(conn, "schema_version", schema.SCHEMA_VERSION)
    except BaseException:
        engine.dispose()
        raise
    return engine


def check_schema(engine: Engine) -> None:
    """Refuse a database of another schema version BEFORE anything is created in it.

    Nothing is migrated: the projections of one version cannot be derived from another's tables (version 1
    had one identity per wallet, version 2 has investors that own wallets), and everything the ledger holds
    except the investor labels comes from the chain, so syncing into a new file rebuilds it exactly. Checking
    first matters: ``create_all`` would otherwise add this version's tables next to the old ones."""
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
