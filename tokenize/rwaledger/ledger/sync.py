"""The indexer: reads the stack's logs range by range from a checkpoint, one DB transaction per range.

Per range ``[a, b]``:

1. read the hash of ``b``; ``eth_getLogs`` for every tracked address (core contracts and known tokens);
2. decode; every token a factory/registry creation event names (not tracked yet) gets its own
   ``eth_getLogs`` from its creation block to ``b`` (so its first transfers land in the same range), and so on
   until nothing new turns up; everything is sorted into chain order;
   (a node that refuses a range as too large gets half of it, and smaller ranges from then on);
3. read the hash of ``b`` again: if it moved (or a log of ``b`` carries another hash) the chain changed
   under us, and the range is read again;
4. project and write everything, the new blocks and the new checkpoint ``(b, hash)`` in ONE transaction.
   A run interrupted anywhere leaves the database at the end of the last committed range; the next run
   resumes from there. ``(tx_hash, log_index)`` is unique, so nothing can be recorded twice.

Reorgs: before every range the checkpoint's stored hash is compared with the chain's. When they differ, a
binary search over the stored block hashes (every block that had events, every checkpoint) finds the
highest block that is still canonical (the fork point; hashes chain, so everything below a matching block
matches too); every row above it is deleted from every table, the asset records are rebuilt from the
remaining events, the checkpoint moves to the fork point, and syncing continues from there. The result
reports each rollback.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, delete, func, select

from . import paytokens, schema, state
from .db import Checkpoint, get_checkpoint, get_meta, set_checkpoint, set_meta
from .decode import KIND_ATTRS, SAFE_KIND, TOKEN_KINDS, DecodedLog, EventTable, checksum
from .errors import ChainReadError, LedgerError, LedgerMismatch
from .project import WALLET_ACTIVE, IdentityLookup, InvestorState, Projector, RangeRows, WalletState, asset_row
from .rpc import ChainReader, RawLog, reader_for

DEFAULT_BATCH_BLOCKS = 2_000
FETCH_ATTEMPTS = 3


@dataclass(frozen=True)
class Rollback:
    """A reorg the sync undid: everything above ``fork_block`` was deleted."""

    fork_block: int  # highest block kept (start block - 1 when nothing was)
    old_checkpoint: int
    events_removed: int


@dataclass(frozen=True)
class SyncProgress:
    """Passed to the ``progress`` callback after each committed range."""

    from_block: int
    to_block: int
    target_block: int
    events: int  # in this range
    total_events: int  # in this run


@dataclass
class SyncResult:
    from_block: int | None  # first block read this run (None: already up to date)
    to_block: int  # the checkpoint after the run
    blocks: int  # blocks covered this run
    events: int  # events recorded this run
    ranges: int
    new_tokens: list[str] = field(default_factory=list)
    rollbacks: list[Rollback] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rollback(self) -> Rollback | None:
        """The first rollback of this run, if any."""
        return self.rollbacks[0] if self.rollbacks else None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def recorded_safes(stack: Any) -> list[str]:
    """The Safes the deployment records as holding a role of ``stack`` (``deployments/<network>/roles.json``)."""
    try:
        roles = stack.session.deployer.store.roles()
    except AttributeError:
        return []
    return sorted({r["holder"] for r in roles.values() if r.get("safe")})


class Indexer:
    """Syncs one ledger database from one deployed stack."""

    def __init__(self, engine: Engine, stack: Any, table: EventTable | None = None, reader: ChainReader | None = None):
        self.engine = engine
        self.stack = stack
        self.chain = stack.session.chain
        self.table = table or EventTable.from_stack(stack)
        self.reader = reader or reader_for(self.chain)
        self.core = {checksum(getattr(stack, attr).address): kind for kind, attr in KIND_ATTRS.items()}
        self.safes = {checksum(a): SAFE_KIND for a in recorded_safes(stack)}
        self._projector: Projector | None = None
        self._known_payment_tokens: set[str] | None = None  # read from the database at a sync's first range

    # --- binding and state --------------------------------------------------------------------------------

    def _bind(self, conn: Connection, from_block: int | None) -> int:
        """Check (or record) which chain and stack this database follows; returns the start block."""
        chain_id = str(self.chain.chain_id)
        stack = json.dumps({k: a for a, k in sorted(self.core.items(), key=lambda i: i[1])}, sort_keys=True)
        stored_chain, stored_stack = get_meta(conn, "chain_id"), get_meta(conn, "stack")
        if stored_chain is None:
            set_meta(conn, "chain_id", chain_id)
            set_meta(conn, "stack", stack)
            set_meta(conn, "start_block", str(from_block or 0))
        elif stored_chain != chain_id:
            raise LedgerMismatch(f"this ledger follows chain id {stored_chain}, not {chain_id}")
        elif stored_stack != stack:
            raise LedgerMismatch("this ledger follows another contract stack (different addresses); use another file")
        return int(get_meta(conn, "start_block") or 0)

    def _load(self, conn: Connection, start: int) -> Projector:
        c = schema.contracts.c
        known = {r.address for r in conn.execute(select(c.address))}
        # a Safe recorded after the checkpoint passed its creation is followed from the checkpoint on (its earlier
        # transactions are in a ledger synced into a new file)
        missing = [{"address": a, "kind": k, "asset_id": None, "first_block": start}
                   for a, k in {**self.core, **self.safes}.items() if a not in known]
        if missing:
            conn.execute(schema.contracts.insert(), missing)
        if get_meta(conn, "holdings") != "2":  # a ledger synced before holdings and supplies: derive them once
            rebuild_holdings(conn)
            set_meta(conn, "holdings", "2")
        rows = conn.execute(select(c.address, c.kind, c.asset_id)).all()
        d = schema.distributions.c
        return Projector(
            contract_kinds={r.address: r.kind for r in rows},
            token_assets={r.address: r.asset_id for r in rows if r.kind in TOKEN_KINDS},
            distribution_assets={r.distribution_id: r.asset_id for r in conn.execute(select(d.distribution_id, d.asset_id))},
            assets={r.asset_id: dict(r._mapping) for r in conn.execute(select(schema.assets))},
        )

    # --- reorgs -------------------------------------------------------------------------------------------

    def check_reorg(self, conn: Connection, start: int) -> Rollback | None:
        """Compare the checkpoint with the chain; on a mismatch roll back to the fork point."""
        cp = get_checkpoint(conn)
        if cp is None or self.reader.block_hash(cp.block) == cp.hash:
            return None
        b = schema.blocks.c
        stored = conn.execute(select(b.number, b.hash).where(b.number <= cp.block).order_by(b.number)).all()
        lo, hi, best = 0, len(stored) - 1, -1
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.reader.block_hash(stored[mid].number) == stored[mid].hash:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        fork = stored[best].number if best >= 0 else start - 1
        removed = conn.execute(select(func.count()).select_from(schema.events)
                               .where(schema.events.c.block_number > fork)).scalar_one()
        touched = state.touched_above(conn, fork)  # before the rows that say so are deleted
        for table, col in schema.BLOCK_SCOPED:  # the balance checkpoints above the fork point too
            conn.execute(delete(table).where(table.c[col] > fork))
        rebuild_assets(conn)
        rebuild_holdings(conn)
        state.after_rollback(conn, touched)
        set_checkpoint(conn, Checkpoint(fork, stored[best].hash) if best >= 0 else None)
        self._projector = None
        return Rollback(fork, cp.block, int(removed))

    # --- one range ----------------------------------------------------------------------------------------

    def fetch(self, a: int, b: int, kinds: dict[str, str]) -> tuple[str, list[DecodedLog], list[tuple[str, str, int, int]]]:
        """The hash of ``b``, the decoded logs of ``[a, b]`` in chain order, and the tokens created in it."""
        for _ in range(FETCH_ATTEMPTS):
            before = self.reader.block_hash(b)
            known = {a_.lower(): k for a_, k in kinds.items()}
            decoded = self._decode(self.reader.logs(a, b, list(kinds)), known)
            new: list[tuple[str, str, int, int]] = []
            pending = decoded
            while True:
                found = self._projector_for_discovery(known).new_tokens(pending)
                if not found:
                    break
                for token, kind, _, _ in found:
                    known[token.lower()] = kind
                new.extend(found)
                first = min(f[3] for f in found)
                pending = self._decode(self.reader.logs(first, b, [f[0] for f in found]), known)
                decoded.extend(pending)
            after = self.reader.block_hash(b)
            if before is not None and before == after and all(
                d.log.block_hash == after for d in decoded if d.log.block_number == b
            ):
                decoded.sort(key=lambda d: (d.log.block_number, d.log.tx_index, d.log.log_index))
                return after, decoded, new
        raise ChainReadError(f"block {b} kept changing while its range was read ({FETCH_ATTEMPTS} attempts)")

    def _decode(self, logs: list[RawLog], known: dict[str, str]) -> list[DecodedLog]:
        decode = self.table.decode
        return [decode(lg, known[lg.address]) for lg in logs if lg.address in known]

    @staticmethod
    def _projector_for_discovery(known: dict[str, str]) -> Projector:
        return Projector({checksum(a): k for a, k in known.items()}, {}, {}, {})

    def block_times(self, numbers: Iterable[int], hashes: dict[int, str] | None = None) -> dict[int, int]:
        """block -> timestamp; with ``hashes``, a block whose hash is not that one (the chain moved) raises
        :class:`ChainReadError`, so the range is read again."""
        wanted = sorted(set(numbers))
        got = self.reader.block_times(wanted) if wanted else {}
        if hashes is not None:
            moved = [n for n in wanted if n not in got or got[n][0] != hashes.get(n, got[n][0])]
            if moved:
                raise ChainReadError(f"block {moved[0]} changed while its range was read")
        return {n: t for n, (_, t) in got.items()}

    def fill_block_times(self, conn: Connection, limit: int = 5_000) -> int:
        """Read the timestamps of recorded blocks that have none (recorded before revision 0004); how many."""
        b = schema.blocks.c
        rows = dict(conn.execute(select(b.number, b.hash).where(b.timestamp.is_(None)).order_by(b.number)
                                 .limit(limit)).all())
        if not rows:
            return 0
        got = self.reader.block_times(list(rows))
        for n, (h, t) in got.items():
            if h == rows[n]:  # a block of another branch waits for the rollback that removes it
                conn.execute(schema.blocks.update().where(b.number == n).values(timestamp=t))
        return len(got)

    def write_range(
        self, conn: Connection, b: int, b_hash: str, decoded: list[DecodedLog], new_tokens: list[tuple[str, str, int, int]],
        times: dict[int, int] | None = None, payment_tokens: list[dict[str, Any]] | None = None,
    ) -> RangeRows:
        """Project and write one range and move the checkpoint to ``b`` (inside the caller's transaction), with the
        current state (holdings, identities, liens, freezes, lots, redemptions, balance checkpoints) after it.
        ``times``: the timestamps of the range's blocks (read here when not given); ``payment_tokens``: the
        metadata of the payment tokens the range's distributions name first (:meth:`payment_tokens`)."""
        proj = self._projector
        assert proj is not None
        if payment_tokens:
            conn.execute(schema.payment_tokens.insert(), payment_tokens)
        proj.lookup = DbIdentityLookup(conn)
        rows = RangeRows()
        for token, kind, asset_id, block in new_tokens:
            proj.track(token, kind, asset_id, block, rows)
        proj.project(decoded, rows)
        rows.blocks[b] = b_hash
        for table, data in (
            (schema.contracts, rows.contracts),
            (schema.events, rows.events),
            (schema.event_accounts, rows.event_accounts),
            (schema.balance_changes, rows.balance_changes),
            (schema.investor_states, rows.investor_states),
            (schema.wallet_bindings, rows.wallet_bindings),
            (schema.wallet_statuses, rows.wallet_statuses),
            (schema.distributions, rows.distributions),
        ):
            if data:
                conn.execute(table.insert(), data)
        if rows.balance_changes:
            apply_holdings(conn, rows.balance_changes)
        state.apply_range(conn, rows, decoded, proj.token_assets, b)
        if rows.assets_changed:
            ids = sorted(rows.assets_changed)
            conn.execute(delete(schema.assets).where(schema.assets.c.asset_id.in_(ids)))
            conn.execute(schema.assets.insert(), [asset_row(proj.assets[i]) for i in ids])
        if times is None:
            times = self.block_times(rows.blocks)
        conn.execute(schema.blocks.insert(), [{"number": n, "hash": h, "timestamp": times.get(n)}
                                              for n, h in sorted(rows.blocks.items())])
        set_checkpoint(conn, Checkpoint(b, b_hash))
        return rows

    def payment_tokens(self, conn: Connection, decoded: Iterable[DecodedLog], block: int) -> list[dict[str, Any]]:
        """The symbol and decimals (:mod:`.paytokens`, read at ``block``) of the payment tokens that ``decoded``'s
        distributions name and the ledger does not know yet, and of those its earlier distributions named before the
        ledger kept them (a database migrated to revision 0008)."""
        named = {d.args["paymentToken"] for d in decoded if d.kind == "distributions" and d.event == "DistributionCreated"}
        if self._known_payment_tokens is None:
            known = set(conn.execute(select(schema.payment_tokens.c.address)).scalars())
            named |= set(conn.execute(select(schema.distributions.c.payment_token).distinct()).scalars())
            self._known_payment_tokens = known
        missing = named - self._known_payment_tokens
        rows = paytokens.read(self.reader, missing, block)
        self._known_payment_tokens |= missing
        return rows

    # --- the loop -----------------------------------------------------------------------------------------

    def sync(
        self,
        to_block: int | None = None,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
        from_block: int | None = None,
        confirmations: int = 0,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncResult:
        if batch_blocks < 1:
            raise ValueError("batch_blocks must be at least 1")
        started = time.perf_counter()
        self._known_payment_tokens = None
        with self.engine.begin() as conn:
            start = self._bind(conn, from_block)
            cp = get_checkpoint(conn)
            if cp is not None:  # a ledger from before revision 0008 learns its distributions' payment tokens
                backfill = self.payment_tokens(conn, (), cp.block)
                if backfill:
                    conn.execute(schema.payment_tokens.insert(), backfill)
        head = self.reader.head()
        target = max(head - confirmations, -1) if to_block is None else min(to_block, head)
        result = SyncResult(None, -1, 0, 0, 0)
        self._projector = None
        try:
            while True:
                with self.engine.begin() as conn:
                    rollback = self.check_reorg(conn, start)
                    if rollback is not None:
                        result.rollbacks.append(rollback)
                        head = self.reader.head()  # the new chain may be shorter
                        target = min(target, max(head - confirmations, -1))
                    if self._projector is None:
                        self._projector = self._load(conn, start)
                        self.fill_block_times(conn)
                    cp = get_checkpoint(conn)
                a = cp.block + 1 if cp else start
                result.to_block = cp.block if cp else start - 1
                if a > target:
                    break
                b = min(a + batch_blocks - 1, target)
                while True:
                    try:
                        b_hash, decoded, new_tokens = self.fetch(a, b, self._projector.contract_kinds)
                        hashes = {d.log.block_number: d.log.block_hash for d in decoded}
                        hashes[b] = b_hash
                        times = self.block_times(hashes, hashes)
                        break
                    except ChainReadError:
                        if b == a:  # nothing left to split: a real failure
                            raise
                        # nodes cap eth_getLogs (block span or result count): halve the range, and keep it smaller
                        b = a + (b - a) // 2
                        batch_blocks = b - a + 1
                with self.engine.begin() as conn:
                    self.write_range(conn, b, b_hash, decoded, new_tokens, times, self.payment_tokens(conn, decoded, b))
                if result.from_block is None:
                    result.from_block = a
                result.to_block = b
                result.blocks += b - a + 1
                result.events += len(decoded)
                result.ranges += 1
                result.new_tokens.extend(t[0] for t in new_tokens)
                if progress is not None:
                    progress(SyncProgress(a, b, target, len(decoded), result.events))
        except BaseException:
            self._projector = None  # its caches may hold what the failed transaction did not write
            self._known_payment_tokens = None
            raise
        result.seconds = time.perf_counter() - started
        return result


class DbIdentityLookup(IdentityLookup):
    """Investor and wallet states as the database has them (what earlier ranges wrote)."""

    CHUNK = 500  # names per IN (...) (SQLite allows 32,766 parameters, older builds 999)

    def __init__(self, conn: Connection):
        self.conn = conn

    def _chunks(self, names: Iterable[str]) -> Iterator[list[str]]:
        names = sorted(names)
        for start in range(0, len(names), self.CHUNK):
            yield names[start : start + self.CHUNK]

    def investors(self, ids: Iterable[str]) -> dict[str, InvestorState]:
        i = schema.investor_states.c
        out: dict[str, InvestorState] = {}
        for chunk in self._chunks(ids):
            rows = self.conn.execute(
                select(i.investor, i.country, i.kyc_expiry, i.category, i.active)
                .where(i.investor.in_(chunk))
                .order_by(i.block_number, i.tx_index, i.log_index)
            )
            for investor, country, kyc, category, active in rows:  # in chain order: the last row of each wins
                out[investor] = InvestorState(country, kyc, category, bool(active))
        return out

    def wallets(self, wallets: Iterable[str]) -> dict[str, WalletState]:
        b, s = schema.wallet_bindings.c, schema.wallet_statuses.c
        out: dict[str, WalletState] = {}
        for chunk in self._chunks(wallets):
            bound = dict(self.conn.execute(select(b.wallet, b.investor).where(b.wallet.in_(chunk))).all())
            if not bound:
                continue
            status: dict[str, str] = {}
            rows = self.conn.execute(
                select(s.wallet, s.status).where(s.wallet.in_(list(bound)))
                .order_by(s.block_number, s.tx_index, s.log_index)
            )
            for w, st in rows:
                status[w] = st
            out.update({w: WalletState(inv, status.get(w, WALLET_ACTIVE)) for w, inv in bound.items()})
        return out


def apply_holdings(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """Add one range's balance changes to the current holdings (inside the range's transaction)."""
    h = schema.holdings.c
    delta: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], tuple[int, Any]] = {}
    for c in changes:
        key = (c["token"], c["holder"])
        delta[key] = delta.get(key, 0) + int(c["delta"])
        last[key] = (c["block_number"], c["asset_id"])
    by_token: dict[str, list[str]] = {}
    for token, holder in delta:
        by_token.setdefault(token, []).append(holder)
    current: dict[tuple[str, str], int] = {}
    for token, holders in by_token.items():
        for i in range(0, len(holders), 500):
            part = holders[i:i + 500]
            for r in conn.execute(select(h.holder, h.balance).where(h.token == token, h.holder.in_(part))):
                current[(token, r.holder)] = r.balance
    gone = [k for k in delta if k in current]
    for token in by_token:
        old = [holder for (t, holder) in gone if t == token]
        for i in range(0, len(old), 500):
            conn.execute(delete(schema.holdings).where(h.token == token, h.holder.in_(old[i:i + 500])))
    rows = []
    change: dict[str, list[int]] = {token: [0, 0] for token in by_token}  # token -> [supply change, holders change]
    for key, d in delta.items():
        before = current.get(key, 0)
        balance = before + d
        if balance < 0:
            raise LedgerError(f"the ledger would give {key[1]} a negative balance of token {key[0]}")
        change[key[0]][0] += d
        change[key[0]][1] += (balance > 0) - (before > 0)
        if balance:
            block, asset_id = last[key]
            rows.append({"token": key[0], "holder": key[1], "asset_id": asset_id, "balance": balance,
                         "block_number": block})
    if rows:
        conn.execute(schema.holdings.insert(), rows)
    s = schema.supplies.c
    known = {r.token: (r.total, r.holders) for r in conn.execute(
        select(s.token, s.total, s.holders).where(s.token.in_(list(change))))}
    if known:
        conn.execute(delete(schema.supplies).where(s.token.in_(list(known))))
    conn.execute(schema.supplies.insert(), [
        {"token": t, "total": known.get(t, (0, 0))[0] + c[0], "holders": known.get(t, (0, 0))[1] + c[1]}
        for t, c in change.items()])


def rebuild_holdings(conn: Connection) -> None:
    """Recompute every current holding from the balance changes (after a rollback removed some)."""
    bc = schema.balance_changes.c
    conn.execute(delete(schema.holdings))
    conn.execute(delete(schema.supplies))
    changes = [dict(r._mapping) for r in conn.execute(
        select(bc.token, bc.holder, bc.asset_id, bc.delta, bc.block_number).order_by(bc.block_number))]
    if changes:
        apply_holdings(conn, changes)


def rebuild_assets(conn: Connection) -> None:
    """Recompute the ``assets`` table from the recorded registry and factory events."""
    e = schema.events.c
    state: dict[int, dict[str, Any]] = {}
    proj = Projector({}, {}, {}, state)
    rows = conn.execute(
        select(e.contract_kind, e.event, e.args, e.block_number)
        .where(e.contract_kind.in_(("registry", "factory")), e.event.is_not(None))
        .order_by(e.block_number, e.tx_index, e.log_index)
    )
    for r in rows:
        proj.apply_asset_event(r.contract_kind, r.event, json.loads(r.args), r.block_number)
    conn.execute(delete(schema.assets))
    if state:
        conn.execute(schema.assets.insert(), [asset_row(v) for v in state.values()])
