"""The ledger's schema on SQLite and on a real PostgreSQL: the migrations (Alembic) give a new database exactly
the tables of schema.py, a database made before the migrations existed (by ``create_all``, without the Safe
proposal tables) is recognised, stamped and upgraded in place, keeping its rows; and text columns hold any
character (PostgreSQL refuses NUL in text)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Index, MetaData, String, create_engine, inspect, select, text

from rwaledger.ledger import Ledger, LedgerError, db, schema

SAFE_TABLES = {"safe_proposals", "safe_approvals"}
# every table added after the baseline (0002: the Safe proposals; 0003: the service's officers, idempotent requests
# and audit, the current holdings and supplies; 0004: the further current state and the balance checkpoints; 0006:
# the distributions' claims; 0007: the console's sessions; 0008: the payment tokens' metadata)
STATE_TABLES = {"balance_checkpoints", "wallet_identities", "liens", "freezes", "custody_lots", "redemptions",
                "distribution_claims"}
LATER_TABLES = SAFE_TABLES | {"officers", "api_requests", "api_audit", "holdings", "supplies"} | STATE_TABLES | {
    "console_sessions", "payment_tokens"}
TOKEN, HOLDER, BANK = "0x" + "22" * 20, "0x" + "11" * 20, "0x" + "77" * 20


def baseline_tables() -> list:
    """The baseline's tables as they were: today's, less the later tables and the later columns (0004 added
    ``blocks.timestamp`` and its index, 0006 the distributions' root, expiry and claimed / reclaimed columns)."""
    old = MetaData()
    for table in schema.metadata.sorted_tables:
        if table.name not in LATER_TABLES:
            table.to_metadata(old)
    blocks = old.tables["blocks"]
    blocks._columns.remove(blocks.c.timestamp)
    blocks.indexes.clear()
    dists = old.tables["distributions"]
    for col in ("merkle_root", "expiry", "claimed", "claims", "reclaimed"):
        dists._columns.remove(dists.c[col])
    return old.sorted_tables


def differences(engine, metadata=schema.metadata) -> list:
    """What alembic's autogenerate would change to make the database equal ``metadata`` (types included)."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def revision(engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_heads()


def old_ledger(url: str) -> None:
    """A ledger as rwaledger made it before the migrations and the Safe proposals: create_all of the version 2
    tables of then (schema.py's tables less the two Safe ones, which are all that changed), no alembic_version,
    and some rows."""
    engine = create_engine(db.database_url(url))
    try:
        tables = baseline_tables()
        assert {t.name for t in tables} == db.BASELINE_TABLES
        tables[0].metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(schema.meta.insert(), [{"key": "schema_version", "value": "2"},
                                                {"key": "checkpoint_block", "value": "41"},
                                                {"key": "checkpoint_hash", "value": "0x" + "ab" * 32}])
            conn.execute(schema.investor_labels.insert().values(investor="0x" + "11" * 20, label="Ayesha Malik"))
            conn.execute(schema.balance_changes.insert().values(
                token="0x" + "22" * 20, holder="0x" + "11" * 20, block_number=41, tx_hash="0x" + "33" * 32,
                tx_index=0, log_index=1, delta=2**255 + 1))
            # what 0004 derives its current state from: a lien's event and a wallet's binding
            conn.execute(schema.events.insert().values(
                block_number=41, block_hash="0x" + "ab" * 32, tx_hash="0x" + "44" * 32, tx_index=0, log_index=2,
                address=TOKEN, contract_kind="property", event="LienCreated", asset_id=1, args=(
                    '{"lienId":"1","holder":"%s","beneficiary":"%s","amount":"700","reason":"0x%s","documentHash":'
                    '"0x%s"}' % (HOLDER, BANK, "01" * 32, "02" * 32))))
            conn.execute(schema.wallet_bindings.insert().values(
                wallet=HOLDER, investor=HOLDER, block_number=40, tx_hash="0x" + "55" * 32, tx_index=0, log_index=0))
            conn.execute(schema.assets.insert().values(asset_id=1, kind="property", token=TOKEN, symbol="OLD"))
            conn.execute(text("INSERT INTO blocks (number, hash) VALUES (41, :h)"), {"h": "0x" + "ab" * 32})
    finally:
        engine.dispose()


def test_a_new_database_is_migrated_to_the_schema(ledger_url):
    with Ledger.open(ledger_url) as ledger:
        assert revision(ledger.engine) == (db.head_revision(),)
        assert differences(ledger.engine) == []
        assert set(inspect(ledger.engine).get_table_names()) == {t.name for t in schema.metadata.sorted_tables} | {
            "alembic_version"}
        with ledger.engine.connect() as conn:
            assert db.get_meta(conn, "schema_version") == schema.SCHEMA_VERSION
        # the comparison does see a column of another type, or a missing index
        other = MetaData()
        for table in schema.metadata.sorted_tables:
            table.to_metadata(other)
        other.tables["assets"].c.name.type = String(100)
        other.tables["events"].append_constraint(Index("ix_events_extra", "address"))
        assert {d[0] if isinstance(d, tuple) else d[0][0] for d in differences(ledger.engine, other)} == {
            "modify_type", "add_index"}
    with Ledger.open(ledger_url) as again:  # and opens again as it is
        assert revision(again.engine) == (db.head_revision(),) and differences(again.engine) == []


def test_a_version_2_database_without_the_safe_tables_is_upgraded_in_place(ledger_url):
    old_ledger(ledger_url)
    with Ledger.open(ledger_url) as ledger:
        assert revision(ledger.engine) == (db.head_revision(),)
        assert differences(ledger.engine) == []
        assert ledger.checkpoint() == db.Checkpoint(41, "0x" + "ab" * 32)
        assert ledger.investor_labels() == {"0x" + "11" * 20: "Ayesha Malik"}
        # the current state is derived from the event tables in the same upgrade
        (lien,) = ledger.liens(1)
        assert (lien.holder, lien.beneficiary, lien.amount, lien.active) == (HOLDER, BANK, 700, True)
        with ledger.engine.begin() as conn:
            assert conn.execute(select(schema.wallet_identities.c.wallet, schema.wallet_identities.c.status)).all() == [
                (HOLDER, "active")]
            assert conn.execute(select(schema.blocks.c.timestamp)).scalars().all() == [None]  # the next sync reads it
            assert db.get_meta(conn, "state") is not None
            assert conn.execute(select(schema.balance_changes.c.delta)).scalars().all() == [2**255 + 1]
            # the new tables work
            conn.execute(schema.safe_proposals.insert().values(
                chain_id=1, safe="0x" + "44" * 20, nonce=0, to="0x" + "55" * 20, value=2**200, data="0x",
                operation=0, safe_tx_hash="0x" + "66" * 32, title="minting", calls="[]", created_at=1,
                status="open"))
            assert conn.execute(select(schema.safe_proposals.c.value)).scalar() == 2**200


def test_a_database_made_by_create_all_of_today_is_stamped_at_the_head(ledger_url):
    engine = create_engine(db.database_url(ledger_url))
    try:
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            db.set_meta(conn, "schema_version", "2")
            conn.execute(schema.investor_labels.insert().values(investor="0x" + "11" * 20, label="kept"))
    finally:
        engine.dispose()
    with Ledger.open(ledger_url) as ledger:
        assert revision(ledger.engine) == (db.head_revision(),) and differences(ledger.engine) == []
        assert ledger.investor_labels() == {"0x" + "11" * 20: "kept"}


def test_the_baseline_revision_is_the_old_table_set(ledger_url):
    """Upgrading a new database to the baseline only gives the tables of then; the next revision adds the rest."""
    engine = create_engine(db.database_url(ledger_url))
    try:
        cfg = db.alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, db.BASELINE)
        assert set(inspect(engine).get_table_names()) == db.BASELINE_TABLES | {"alembic_version"}
        assert revision(engine) == (db.BASELINE,)
        # only the later tables (and the block timestamps of 0004, the distributions' columns of 0006) differ from
        # schema.py
        diffs = differences(engine)
        assert {d[0] for d in diffs} == {"add_table", "add_index", "add_column"}  # the tables and their indexes
        assert sorted((d[2], d[3].name) for d in diffs if d[0] == "add_column") == [
            ("blocks", "timestamp"), ("distributions", "claimed"), ("distributions", "claims"),
            ("distributions", "expiry"), ("distributions", "merkle_root"), ("distributions", "reclaimed")]
        tables = {d[1].name if d[0] == "add_table" else d[1].table.name for d in diffs if d[0] != "add_column"}
        assert tables == LATER_TABLES | {"blocks"}  # blocks: the index of its timestamps
        with engine.begin() as conn:
            conn.execute(schema.meta.insert().values(key="schema_version", value="2"))
    finally:
        engine.dispose()
    with Ledger.open(ledger_url) as ledger:
        assert differences(ledger.engine) == [] and revision(ledger.engine) == (db.head_revision(),)


def test_a_partial_set_of_ledger_tables_is_refused(ledger_url):
    engine = create_engine(db.database_url(ledger_url))
    try:
        schema.metadata.create_all(engine, tables=[schema.meta, schema.events, schema.safe_proposals])
    finally:
        engine.dispose()
    with pytest.raises(LedgerError, match="not those of any known revision"):
        Ledger.open(ledger_url)


def test_a_database_of_other_applications_gets_the_ledger_next_to_them(ledger_url):
    engine = create_engine(db.database_url(ledger_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()
    with Ledger.open(ledger_url) as ledger:
        assert "someone_elses" in inspect(ledger.engine).get_table_names()
        assert revision(ledger.engine) == (db.head_revision(),)


MARK = schema.AnyText.MARK


@pytest.fixture
def labels_engine(ledger_url):
    with Ledger.open(ledger_url) as ledger:
        yield ledger.engine


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(["\0", MARK, "0", "a", "\\", "\u00e9", " "]), max_size=12) | st.text())
@example("Nul\0Gold")
@example(MARK + "0")
@example(MARK)
@example("")
def test_any_text_holds_any_character(labels_engine, value):
    lb = schema.investor_labels
    with labels_engine.begin() as conn:
        conn.execute(lb.delete())
        conn.execute(lb.insert().values(investor="0x" + "11" * 20, label=value))
        assert conn.execute(select(lb.c.label)).scalar() == value
        assert conn.execute(select(lb.c.investor).where(lb.c.label == value)).scalar() == "0x" + "11" * 20
        stored = conn.execute(text("SELECT label FROM investor_labels")).scalar()
    if "\0" not in value and not value.startswith(MARK):
        assert stored == value  # usual text is stored as it is


OPENERS = 8  # processes opening one empty database at the same moment (two `rwa serve`, a `rwa ledger follow`, ...)


def _open_at_the_barrier(url: str, barrier, results) -> None:
    """A child process: wait for every other one, then open the ledger (migrating it) and report how it went."""
    try:
        barrier.wait(timeout=60)
        with Ledger.open(url) as ledger:
            heads = revision(ledger.engine)
        results.put(("ok", heads))
    except BaseException as exc:  # noqa: BLE001 - the parent reports whatever failed
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_concurrent_first_opens_of_an_empty_database_all_succeed(new_ledger_url):
    """Several processes opening one EMPTY database at once all migrate it safely: the migrations run under a lock
    (an advisory lock on PostgreSQL, a file lock on SQLite), so one creates the tables and the others find them at
    the head; nobody sees a half-made schema or a "table already exists"."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # fast to start, so that they really race
    for attempt in range(3):  # a race lost by luck once is unlikely to be lost three times
        url = new_ledger_url(f"race{attempt}")
        barrier, results = ctx.Barrier(OPENERS), ctx.Queue()
        procs = [ctx.Process(target=_open_at_the_barrier, args=(url, barrier, results)) for _ in range(OPENERS)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [o for o in outcomes if o[0] != "ok"] == []
        assert {o[1] for o in outcomes} == {(db.head_revision(),)}
        engine = create_engine(db.database_url(url))
        try:
            assert differences(engine) == []
            with engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                    db.head_revision()]
                assert db.get_meta(conn, "schema_version") == schema.SCHEMA_VERSION
        finally:
            engine.dispose()


def test_an_open_waits_out_another_process_s_write_lock_on_a_sqlite_file(tmp_path):
    """The flaky failure of the concurrent-opens test above, made certain: another connection holds the new file's
    write lock longer than sqlite3's 5 s busy timeout; the open waits for it (it failed "database is locked")."""
    import sqlite3
    import threading
    import time

    path = tmp_path / "locked.sqlite"
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("BEGIN EXCLUSIVE")  # as a process creating every table of the file holds it
    release = threading.Timer(6.0, lambda: raw.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        with Ledger.open(str(path)) as ledger:
            assert revision(ledger.engine) == (db.head_revision(),)
        assert time.monotonic() - started >= 5.5  # it waited for the lock, rather than fail at 5 s
    finally:
        release.join()
        raw.close()
