"""The transaction journal: every batch's signed transactions are written down (fsync) before they are broadcast.

A batch (onboarding, minting, transfers, claims) is pipelined by :func:`rwaledger.transactions.pipeline`; before a
window goes out, its signed transactions (hash, sender, nonce, raw bytes, what they do) are appended to this
journal, and they are cleared once their receipts are in. A process killed mid-batch (or a node killed and
restored from an older state) leaves entries behind; the next batch on that chain first settles them
(:func:`rwaledger.transactions.settle`): mined ones are done, pending ones awaited, dropped ones re-broadcast with the
*same signed bytes* (same nonce: they can execute at most once), and one whose nonce another transaction used is
marked *replaced* (it can never execute). Only then is new work signed.

Each entry also records the chain's head when it was written (its *anchor*, number and hash). An entry whose anchor
block is now a different block was signed on a branch this node no longer has (a reorg or a revert took it away, or
another chain with the same genesis answers at this URL): it is forgotten, not re-broadcast, and its work is planned
again from the chain. An anchor beyond the head is a node restored from an older state: the nonce rules above apply.
A deliberate rewind of a dev chain (:meth:`rwaledger.chain.Chain.revert`) voids every entry written since its
snapshot.

Raw signed transactions are public data once broadcast (every node and block explorer sees them); they carry a
signature, never a key. Nothing secret is stored here.

One SQLite file per chain: ``build/journal/<chain-id>/<genesis-hash>.sqlite`` (the genesis hash tells apart two
chains with one id, e.g. two anvil nodes; a node restored from its dump keeps its genesis and so its journal).
``RWA_JOURNAL_DIR`` moves the directory; ``RWA_JOURNAL=off`` turns journaling off. An in-memory eth-tester chain is
never journaled: it does not outlive its process.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from . import paths

if TYPE_CHECKING:
    from .chain import Chain

PENDING = "pending"  # signed and (about to be) broadcast, no receipt seen yet
REPLACED = "replaced"  # its nonce was used by another transaction: it can never execute


@dataclass(frozen=True)
class Entry:
    tx_hash: str
    sender: str
    nonce: int
    raw: str  # 0x-hex signed transaction (public once broadcast)
    what: str
    state: str = PENDING
    at: float = 0.0
    anchor_number: int | None = None  # the chain's head when the entry was written ...
    anchor_hash: str | None = None  # ... and its hash: which branch the transaction was signed on


def journal_dir() -> Path:
    return Path(os.environ.get("RWA_JOURNAL_DIR") or paths.BUILD_DIR / "journal")


class Journal:
    """Append-only (until cleared) record of signed transactions, durable before each broadcast."""

    SELECT = "SELECT hash, sender, nonce, raw, what, state, at, anchor_number, anchor_hash FROM txs"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        # WAL with synchronous=FULL: every commit is fsynced before append() returns
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS txs (hash TEXT PRIMARY KEY, sender TEXT NOT NULL, nonce INTEGER NOT NULL,"
            " raw TEXT NOT NULL, what TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', at REAL NOT NULL,"
            " anchor_number INTEGER, anchor_hash TEXT)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(txs)")}
        for column, typ in (("anchor_number", "INTEGER"), ("anchor_hash", "TEXT")):
            if column not in columns:  # a journal written before entries had anchors
                self._db.execute(f"ALTER TABLE txs ADD COLUMN {column} {typ}")

    def append(self, entries: Iterable[Entry]) -> None:
        rows = [(e.tx_hash, e.sender, e.nonce, e.raw, e.what, e.state, e.at or time.time(), e.anchor_number,
                 e.anchor_hash) for e in entries]
        if not rows:
            return
        self._write("INSERT OR REPLACE INTO txs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def clear(self, hashes: Iterable[str]) -> None:
        hashes = [(h.lower(),) for h in hashes]
        if not hashes:
            return
        self._write("DELETE FROM txs WHERE lower(hash) = ?", hashes)

    def forget_since(self, at: float) -> int:
        """Forget the entries written at or after ``at`` (a dev chain rewound to a snapshot taken then: their work
        never happened); returns how many."""
        return self._write("DELETE FROM txs WHERE at >= ?", [(at,)])

    def _write(self, sql: str, rows: Sequence[tuple]) -> int:
        """Run ``sql`` once per row of ``rows`` in one immediate transaction, committed (so fsynced) before this
        returns and rolled back if anything fails; returns how many rows it changed."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                count = self._db.executemany(sql, rows).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return count

    def mark(self, hashes: Iterable[str], state: str) -> None:
        with self._lock:
            self._db.executemany("UPDATE txs SET state = ? WHERE lower(hash) = ?", [(state, h.lower()) for h in hashes])

    def entries(self, state: str | None = PENDING) -> list[Entry]:
        query = self.SELECT
        args: tuple = ()
        if state is not None:
            query, args = query + " WHERE state = ?", (state,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY sender, nonce, at", args).fetchall()
        return [Entry(*row) for row in rows]

    def get(self, tx_hash: str) -> Entry | None:
        with self._lock:
            row = self._db.execute(f"{self.SELECT} WHERE lower(hash) = ?", (tx_hash.lower(),)).fetchone()
        return Entry(*row) if row else None

    def __len__(self) -> int:
        return len(self.entries())

    def close(self) -> None:
        self._db.close()


_JOURNALS: "weakref.WeakKeyDictionary[Chain, Journal | None]" = weakref.WeakKeyDictionary()


def path_for(chain: "Chain") -> Path:
    from . import rpc

    genesis = rpc.request(chain, "eth_getBlockByNumber", ["0x0", False], what="reading the genesis block")
    return journal_dir() / str(chain.chain_id) / f"{str(genesis['hash'])[2:18]}.sqlite"


def for_chain(chain: "Chain") -> Journal | None:
    """The journal of ``chain`` (None: an in-memory chain, or ``RWA_JOURNAL=off``)."""
    if chain in _JOURNALS:
        return _JOURNALS[chain]
    journal = None
    if os.environ.get("RWA_JOURNAL", "").lower() not in ("off", "0", "no") and getattr(chain, "url", None):
        journal = Journal(path_for(chain))
    _JOURNALS[chain] = journal
    return journal


def use(chain: "Chain", journal: Journal | None) -> None:
    """Journal ``chain``'s batches in ``journal`` (None: not at all)."""
    _JOURNALS[chain] = journal


def entries_of(signed: Sequence, what: str, anchor: tuple[int, str] | None = None) -> list[Entry]:
    """Journal entries for ``signed`` transactions of a batch ``what``; ``anchor`` is the chain's head (number,
    hash) when they were signed."""
    now = time.time()
    number, block_hash = anchor if anchor is not None else (None, None)
    return [Entry(s.tx_hash, s.sender.address, int(s.nonce), s.raw, what, PENDING, now, number, block_hash)
            for s in signed]


def head(chain: "Chain") -> tuple[int, str]:
    """The chain's head block (number, hash): the anchor of the entries written now."""
    from . import rpc

    block = rpc.request(chain, "eth_getBlockByNumber", ["latest", False], what="reading the head block")
    return int(block["number"], 16), str(block["hash"])


def forget_since(chain: "Chain", at: float) -> int:
    """A dev chain rewound to a snapshot taken at ``at``: its journal forgets what was written since."""
    journal = for_chain(chain)
    return journal.forget_since(at) if journal is not None else 0
