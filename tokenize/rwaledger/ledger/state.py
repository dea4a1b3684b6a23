"""The ledger's current state beyond the holdings: wallet identities, liens, freezes, custody lots, redemptions,
and the periodic balance checkpoints of past cap tables.

Every function here runs inside the caller's transaction: the indexer calls :func:`apply_range` in the same
transaction as the range's events (so the current state is never behind or ahead of them), and
:func:`after_rollback` in the same transaction as a rollback's deletes (so it is never ahead of the fork point).

* ``wallet_identities`` is derived from the identity histories (``wallet_bindings``, ``wallet_statuses``,
  ``investor_states``): a range or a rollback rewrites the rows of the wallets it touched and of every wallet of the
  investors it touched, read back from the histories (the same code for both, so they cannot disagree).
* ``liens``, ``freezes``, ``custody_lots`` and ``redemptions`` are derived from the tokens' events by
  :class:`TokenState` (:data:`TOKEN_STATE_EVENTS`); a rollback replays those events (few: they are officers'
  acts, not transfers) from the ``events`` table that remains.
* ``distribution_claims`` and the ``claimed`` / ``claims`` / ``reclaimed`` columns of ``distributions`` are derived
  from the DistributionManager's events by :class:`DistributionState` (:data:`DISTRIBUTION_STATE_EVENTS`); the
  rollback deletes the distributions created above the fork point (the table is block-scoped) and replays the
  claims of the others from the remaining events.
* ``balance_checkpoints``: a token gets a checkpoint (a copy of its holdings) at the end of a range once the
  balance changes since its last checkpoint reach ``max(CHECKPOINT_CHANGES, holders)``: a cap table at a past block
  then reads one checkpoint and at most that many changes after it, and the checkpoints never take more rows than
  the changes themselves. Rows above a fork point are deleted by the rollback (the table is block-scoped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from sqlalchemy import Connection, delete, func, insert, literal, select, tuple_

from . import schema
from .decode import TOKEN_KINDS, DecodedLog
from .errors import LedgerError

CHECKPOINT_CHANGES = 10_000  # balance changes of a token after which it gets a checkpoint (at least its holder count)
STATE_VERSION = "2"  # meta "state": the tables of this module are derived (bump to derive them again on open)
CHUNK = 500  # keys per IN (...)

ZERO32 = "0x" + "00" * 32

# The token events that change the current state tables (contract kinds property and commodity)
TOKEN_STATE_EVENTS = frozenset({
    "LienCreated", "LienReleased", "LienBeneficiaryChanged",
    "AddressFrozen", "Frozen", "TokensFrozen", "TokensUnfrozen",
    "WalletStateRecovered",
    "LotAttested", "LotReduced", "LotRetired", "LotDrawn",
    "RedemptionRequested", "RedemptionFulfilled", "RedemptionRejected",
})
# The DistributionManager's events that change ``distributions`` (claimed, reclaimed) and ``distribution_claims``
DISTRIBUTION_STATE_EVENTS = frozenset({"Claimed", "EntitlementsWithheld", "DistributionReclaimed"})
OPEN, FULFILLED, REJECTED = "open", "fulfilled", "rejected"
ACTIVE, RETIRED = "active", "retired"


def _chunks(keys: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(set(keys))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


# --- liens, freezes, lots, redemptions -------------------------------------------------------------------------


@dataclass
class TokenState:
    """The rows of ``liens``, ``freezes``, ``custody_lots`` and ``redemptions`` that a run of token events touches,
    read from the database on first use (``conn``; None: a replay from nothing) and written back by :meth:`write`.

    The rules are the token contracts' (TokenLiens, TokenFreezable, TokenRecovery, CommodityToken): a lien stays
    its holder's and follows a recovery to the new wallet, as do open redemptions; ``Frozen`` sets a wallet's
    frozen amount, ``TokensFrozen`` / ``TokensUnfrozen`` change it (a recovery emits only these), ``AddressFrozen``
    sets the wallet freeze."""

    conn: Connection | None
    liens: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    freezes: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    lots: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    redemptions: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, set[tuple[Any, Any]]] = field(
        default_factory=lambda: {"liens": set(), "freezes": set(), "lots": set(), "redemptions": set()})

    # -- reads (cached)

    def _row(self, table: Any, cache: dict, key: tuple[str, Any], cols: tuple[str, str]) -> dict[str, Any] | None:
        if key not in cache:
            row = None
            if self.conn is not None:
                c = table.c
                found = self.conn.execute(select(table).where(c[cols[0]] == key[0], c[cols[1]] == key[1])).first()
                row = dict(found._mapping) if found else None
            cache[key] = row
        return cache[key]

    def _lien(self, token: str, lien_id: int) -> dict[str, Any]:
        row = self._row(schema.liens, self.liens, (token, lien_id), ("token", "lien_id"))
        if row is None:
            raise LedgerError(f"token {token} changes lien #{lien_id}, which the ledger never saw created")
        return row

    def _redemption(self, token: str, request_id: int) -> dict[str, Any]:
        row = self._row(schema.redemptions, self.redemptions, (token, request_id), ("token", "request_id"))
        if row is None:
            raise LedgerError(f"token {token} settles redemption #{request_id}, which the ledger never saw requested")
        return row

    def _lot(self, token: str, lot_id: str) -> dict[str, Any]:
        row = self._row(schema.custody_lots, self.lots, (token, lot_id), ("token", "lot_id"))
        if row is None:
            raise LedgerError(f"token {token} changes lot {lot_id}, which the ledger never saw attested")
        return row

    def _freeze(self, token: str, wallet: str, asset_id: int | None) -> dict[str, Any]:
        row = self._row(schema.freezes, self.freezes, (token, wallet), ("token", "wallet"))
        if row is None:
            row = {"token": token, "wallet": wallet, "asset_id": asset_id, "frozen": False, "frozen_amount": 0,
                   "block_number": 0}
            self.freezes[(token, wallet)] = row
        return row

    def _holder_rows(self, token: str, wallet: str) -> None:
        """Read the active liens and open redemptions of ``wallet`` into the caches (a recovery moves them)."""
        if self.conn is None:
            return
        lc, rc = schema.liens.c, schema.redemptions.c
        for r in self.conn.execute(select(schema.liens).where(lc.token == token, lc.holder == wallet, lc.active)):
            self.liens.setdefault((token, r.lien_id), dict(r._mapping))
        for r in self.conn.execute(select(schema.redemptions).where(rc.token == token, rc.holder == wallet,
                                                                    rc.status == OPEN)):
            self.redemptions.setdefault((token, r.request_id), dict(r._mapping))

    # -- the rules

    def apply(self, token: str, asset_id: int | None, event: str, a: dict[str, Any], block: int) -> None:
        """Apply one token event (``a``: its decoded args, ints as strings) of ``block``."""
        if event == "LienCreated":
            key = (token, int(a["lienId"]))
            self.liens[key] = {"token": token, "lien_id": key[1], "asset_id": asset_id, "holder": a["holder"],
                               "beneficiary": a["beneficiary"], "amount": int(a["amount"]), "reason": a["reason"],
                               "document_hash": a["documentHash"], "active": True, "created_block": block,
                               "block_number": block}
            self.changed["liens"].add(key)
        elif event in ("LienReleased", "LienBeneficiaryChanged"):
            row = self._lien(token, int(a["lienId"]))
            if event == "LienReleased":
                row.update(active=False, holder=a["holder"])
            else:
                row["beneficiary"] = a["newBeneficiary"]
            row["block_number"] = block
            self.changed["liens"].add((token, row["lien_id"]))
        elif event in ("AddressFrozen", "Frozen", "TokensFrozen", "TokensUnfrozen"):
            wallet = a["_userAddress"] if "_userAddress" in a else a["account"]
            row = self._freeze(token, wallet, asset_id)
            if event == "AddressFrozen":
                row["frozen"] = bool(a["_isFrozen"])
            elif event == "Frozen":
                row["frozen_amount"] = int(a["amount"])
            else:
                sign = 1 if event == "TokensFrozen" else -1
                row["frozen_amount"] = max(int(row["frozen_amount"]) + sign * int(a["_amount"]), 0)
            row["block_number"] = block
            self.changed["freezes"].add((token, wallet))
        elif event == "WalletStateRecovered":
            lost, new = a["lostWallet"], a["newWallet"]
            self._holder_rows(token, lost)
            for key, row in self.liens.items():
                if key[0] == token and row["holder"] == lost and row["active"]:
                    row.update(holder=new, block_number=block)
                    self.changed["liens"].add(key)
            for key, row in self.redemptions.items():
                if key[0] == token and row["holder"] == lost and row["status"] == OPEN:
                    row.update(holder=new, block_number=block)
                    self.changed["redemptions"].add(key)
        elif event == "LotAttested":
            key = (token, a["lotId"])
            self.lots[key] = {"token": token, "lot_id": key[1], "asset_id": asset_id, "vault": a["vault"],
                              "receipt_hash": a["receiptHash"], "custodian": a["custodian"],
                              "attested": int(a["quantity"]), "remaining": int(a["quantity"]), "status": ACTIVE,
                              "attested_block": block, "block_number": block}
            self.changed["lots"].add(key)
        elif event in ("LotReduced", "LotDrawn", "LotRetired"):
            row = self._lot(token, a["lotId"])
            if event == "LotRetired":
                row.update(remaining=0, status=RETIRED)
            else:  # both carry the lot's quantity afterwards
                row["remaining"] = int(a["quantity"] if event == "LotReduced" else a["lotQuantity"])
            row["block_number"] = block
            self.changed["lots"].add((token, row["lot_id"]))
        elif event == "RedemptionRequested":
            key = (token, int(a["requestId"]))
            self.redemptions[key] = {"token": token, "request_id": key[1], "asset_id": asset_id,
                                     "requester": a["holder"], "holder": a["holder"], "amount": int(a["amount"]),
                                     "delivery_ref": a["deliveryRef"], "status": OPEN, "reason": None,
                                     "requested_block": block, "block_number": block}
            self.changed["redemptions"].add(key)
        elif event in ("RedemptionFulfilled", "RedemptionRejected"):
            row = self._redemption(token, int(a["requestId"]))
            row.update(status=FULFILLED if event == "RedemptionFulfilled" else REJECTED, holder=a["holder"],
                       reason=a.get("reason"), block_number=block)
            self.changed["redemptions"].add((token, row["request_id"]))

    # -- writing back

    def write(self, conn: Connection) -> None:
        """Replace the changed rows (a freeze neither frozen nor with an amount: no row)."""
        for name, table, cache, cols in (
            ("liens", schema.liens, self.liens, ("token", "lien_id")),
            ("freezes", schema.freezes, self.freezes, ("token", "wallet")),
            ("lots", schema.custody_lots, self.lots, ("token", "lot_id")),
            ("redemptions", schema.redemptions, self.redemptions, ("token", "request_id")),
        ):
            keys = sorted(self.changed[name])
            if not keys:
                continue
            c = table.c
            for part in _chunks(keys):
                conn.execute(delete(table).where(tuple_(c[cols[0]], c[cols[1]]).in_(part)))
            rows = [cache[k] for k in keys if cache.get(k) is not None]
            if name == "freezes":
                rows = [r for r in rows if r["frozen"] or int(r["frozen_amount"])]
            if rows:
                conn.execute(table.insert(), rows)
            self.changed[name] = set()


def apply_token_events(conn: Connection, decoded: Iterable[DecodedLog], token_assets: dict[str, int | None]) -> None:
    """Apply one range's token events (chain order) to the current-state tables."""
    state = TokenState(conn)
    for d in decoded:
        if d.kind in TOKEN_KINDS and d.event in TOKEN_STATE_EVENTS:
            state.apply(d.address, token_assets.get(d.address), d.event, d.args, d.log.block_number)
    state.write(conn)


def rebuild_token_state(conn: Connection) -> None:
    """Recompute liens, freezes, lots and redemptions by replaying the recorded token events."""
    for table in (schema.liens, schema.freezes, schema.custody_lots, schema.redemptions):
        conn.execute(delete(table))
    e = schema.events.c
    state = TokenState(None)
    rows = conn.execute(
        select(e.address, e.asset_id, e.event, e.args, e.block_number)
        .where(e.contract_kind.in_(TOKEN_KINDS), e.event.in_(sorted(TOKEN_STATE_EVENTS)))
        .order_by(e.block_number, e.tx_index, e.log_index))
    for r in rows:
        state.apply(r.address, r.asset_id, r.event, json.loads(r.args), r.block_number)
    state.write(conn)


# --- distributions and claims --------------------------------------------------------------------------------


@dataclass
class DistributionState:
    """The claimed / reclaimed columns of ``distributions`` and the rows of ``distribution_claims`` that a run of
    DistributionManager events touches (read on first use from ``conn``; None: a replay from nothing), written back
    by :meth:`write`. The rules are the contract's: a claim pays one leaf once; a withheld leaf is released by the
    same event with ``withheld`` false; the remainder is reclaimed once after expiry."""

    conn: Connection | None
    dists: dict[int, dict[str, Any]] = field(default_factory=dict)
    claims: dict[tuple[int, int], dict[str, Any] | None] = field(default_factory=dict)
    changed_dists: set[int] = field(default_factory=set)
    changed_claims: set[tuple[int, int]] = field(default_factory=set)

    def _dist(self, dist_id: int) -> dict[str, Any]:
        if dist_id not in self.dists:
            c = schema.distributions.c
            found = self.conn.execute(select(c.distribution_id, c.asset_id, c.claimed, c.claims, c.reclaimed)
                                      .where(c.distribution_id == dist_id)).first() if self.conn is not None else None
            if found is None:
                raise LedgerError(f"distribution #{dist_id} changes, but the ledger never saw it created")
            row = dict(found._mapping)
            row["claimed"], row["claims"] = int(row["claimed"] or 0), int(row["claims"] or 0)
            self.dists[dist_id] = row
        return self.dists[dist_id]

    def _claim(self, dist_id: int, index: int, block: int) -> dict[str, Any]:
        key = (dist_id, index)
        if key not in self.claims:
            row = None
            if self.conn is not None:
                c = schema.distribution_claims.c
                found = self.conn.execute(select(schema.distribution_claims).where(
                    c.distribution_id == dist_id, c.claim_index == index)).first()
                row = dict(found._mapping) if found else None
            self.claims[key] = row
        if self.claims[key] is None:
            self.claims[key] = {"distribution_id": dist_id, "claim_index": index,
                                "asset_id": self._dist(dist_id)["asset_id"], "account": None, "payee": None,
                                "amount": None, "claimed": False, "withheld": False, "block_number": block}
        row = self.claims[key]
        row["block_number"] = block
        self.changed_claims.add(key)
        return row

    def apply(self, event: str, a: dict[str, Any], block: int) -> None:
        dist_id = int(a["distributionId"])
        dist = self._dist(dist_id)
        if event == "Claimed":
            row = self._claim(dist_id, int(a["index"]), block)
            row.update(account=a["account"], payee=a["payee"], amount=int(a["amount"]), claimed=True)
            dist["claimed"] += int(a["amount"])
            dist["claims"] += 1
        elif event == "EntitlementsWithheld":
            for index in a["indexes"]:
                self._claim(dist_id, int(index), block)["withheld"] = bool(a["withheld"])
        elif event == "DistributionReclaimed":
            dist["reclaimed"] = int(a["amount"])
        self.changed_dists.add(dist_id)

    def write(self, conn: Connection) -> None:
        c = schema.distributions.c
        for dist_id in sorted(self.changed_dists):
            d = self.dists[dist_id]
            conn.execute(schema.distributions.update().where(c.distribution_id == dist_id)
                         .values(claimed=d["claimed"], claims=d["claims"], reclaimed=d["reclaimed"]))
        keys = sorted(self.changed_claims)
        if keys:
            dc = schema.distribution_claims.c
            for part in _chunks(keys):
                conn.execute(delete(schema.distribution_claims).where(tuple_(dc.distribution_id, dc.claim_index)
                                                                      .in_(part)))
            conn.execute(schema.distribution_claims.insert(), [self.claims[k] for k in keys])
        self.changed_dists, self.changed_claims = set(), set()


def apply_distribution_events(conn: Connection, decoded: Iterable[DecodedLog]) -> None:
    """Apply one range's DistributionManager events (chain order; the range's new distributions already written)."""
    state = DistributionState(conn)
    for d in decoded:
        if d.kind == "distributions" and d.event in DISTRIBUTION_STATE_EVENTS:
            state.apply(d.event, d.args, d.log.block_number)
    state.write(conn)


def rebuild_distribution_state(conn: Connection) -> None:
    """Recompute what is claimed, withheld and reclaimed of the distributions that remain, by replaying the
    recorded DistributionManager events (and their root and expiry, for a ledger synced before they were kept)."""
    conn.execute(delete(schema.distribution_claims))
    e, c = schema.events.c, schema.distributions.c
    created = conn.execute(select(e.args).where(e.contract_kind == "distributions",
                                                e.event == "DistributionCreated"))
    for (args,) in created:
        a = json.loads(args)
        conn.execute(schema.distributions.update().where(c.distribution_id == int(a["distributionId"]))
                     .values(merkle_root=a["merkleRoot"], expiry=int(a["expiry"])))
    conn.execute(schema.distributions.update().values(claimed=0, claims=0, reclaimed=None))
    state = DistributionState(conn)
    rows = conn.execute(
        select(e.event, e.args, e.block_number)
        .where(e.contract_kind == "distributions", e.event.in_(sorted(DISTRIBUTION_STATE_EVENTS)))
        .order_by(e.block_number, e.tx_index, e.log_index)).all()
    for r in rows:
        state.apply(r.event, json.loads(r.args), r.block_number)
    state.write(conn)


# --- wallet identities ----------------------------------------------------------------------------------------


def refresh_identities(conn: Connection, wallets: Iterable[str] | None, investors: Iterable[str] = ()) -> None:
    """Rewrite ``wallet_identities`` for ``wallets`` and every wallet bound to ``investors`` (``wallets`` None: all),
    from the identity histories as they are in this transaction."""
    b, s, i = schema.wallet_bindings.c, schema.wallet_statuses.c, schema.investor_states.c
    wi = schema.wallet_identities
    if wallets is None:
        conn.execute(delete(wi))
        bound = {r.wallet: (r.investor, r.block_number) for r in conn.execute(select(b.wallet, b.investor,
                                                                                     b.block_number))}
        targets = None
    else:
        targets = set(wallets)
        for part in _chunks(investors):
            targets.update(conn.execute(select(b.wallet).where(b.investor.in_(part))).scalars())
        bound = {}
        for part in _chunks(targets):
            conn.execute(delete(wi).where(wi.c.wallet.in_(part)))
            bound.update({r.wallet: (r.investor, r.block_number) for r in conn.execute(
                select(b.wallet, b.investor, b.block_number).where(b.wallet.in_(part)))})
    if not bound:
        return
    status: dict[str, tuple[str, int]] = {}
    state: dict[str, tuple[Any, ...]] = {}
    s_order = (s.block_number, s.tx_index, s.log_index)
    i_order = (i.block_number, i.tx_index, i.log_index)
    s_cols = select(s.wallet, s.status, s.block_number)
    i_cols = select(i.investor, i.active, i.country, i.kyc_expiry, i.category, i.block_number)
    if targets is None:
        s_queries, i_queries = [s_cols.order_by(*s_order)], [i_cols.order_by(*i_order)]
    else:
        s_queries = [s_cols.where(s.wallet.in_(p)).order_by(*s_order) for p in _chunks(bound)]
        i_queries = [i_cols.where(i.investor.in_(p)).order_by(*i_order)
                     for p in _chunks(inv for inv, _ in bound.values())]
    for q in s_queries:  # chain order: the last row of each wins
        for w, st, blk in conn.execute(q):
            status[w] = (st, blk)
    for q in i_queries:
        for inv, *values in conn.execute(q):
            state[inv] = tuple(values)
    rows = []
    for w, (inv, bound_block) in bound.items():
        st, st_block = status.get(w, ("active", bound_block))
        active, country, kyc, category, inv_block = state.get(inv, (True, None, None, None, 0))
        rows.append({"wallet": w, "investor": inv, "status": st, "investor_active": bool(active), "country": country,
                     "kyc_expiry": kyc, "category": category, "block_number": max(bound_block, st_block, inv_block)})
    for start in range(0, len(rows), 5_000):
        conn.execute(wi.insert(), rows[start:start + 5_000])


# --- balance checkpoints --------------------------------------------------------------------------------------


def checkpoint_due(pending: int, holders: int) -> bool:
    """Whether a token with ``pending`` balance changes since its last checkpoint and ``holders`` holders gets one:
    at least :data:`CHECKPOINT_CHANGES` changes and at least as many as it has holders (so a checkpoint, which has
    one row per holder, never costs more rows than the changes it saves reading)."""
    return pending >= max(CHECKPOINT_CHANGES, holders)


def write_checkpoints(conn: Connection, tokens: Iterable[str], block: int) -> list[str]:
    """Give each of ``tokens`` (those a range changed, ending at ``block``) a checkpoint at ``block`` when one is due
    (:func:`checkpoint_due`), copied from its holdings in SQL; the tokens checkpointed."""
    cp, bc, s, h = schema.balance_checkpoints.c, schema.balance_changes.c, schema.supplies.c, schema.holdings.c
    done = []
    for token in sorted(set(tokens)):
        last = conn.execute(select(func.max(cp.block_number)).where(cp.token == token)).scalar()
        since = bc.block_number > last if last is not None else literal(True)
        pending = conn.execute(select(func.count()).select_from(schema.balance_changes)
                               .where(bc.token == token, since)).scalar_one()
        holders = conn.execute(select(s.holders).where(s.token == token)).scalar() or 0
        if not checkpoint_due(pending, holders):
            continue
        conn.execute(insert(schema.balance_checkpoints).from_select(
            ["token", "block_number", "holder", "balance"],
            select(h.token, literal(block), h.holder, h.balance).where(h.token == token)))
        done.append(token)
    return done


def rebuild_checkpoints(conn: Connection) -> None:
    """Derive the checkpoints of a ledger synced before they existed: replay the balance changes in chain order and
    write a checkpoint at the end of every block where one is due (the rule of :func:`write_checkpoints`)."""
    bc = schema.balance_changes.c
    conn.execute(delete(schema.balance_checkpoints))
    balances: dict[str, dict[str, int]] = {}
    pending: dict[str, int] = {}
    holders: dict[str, int] = {}
    touched: set[str] = set()
    out: list[dict[str, Any]] = []

    def close_block(block: int) -> None:
        for token in touched:
            held = balances[token]
            if checkpoint_due(pending[token], holders[token]):
                out.extend({"token": token, "block_number": block, "holder": k, "balance": v}
                           for k, v in held.items() if v)
                pending[token] = 0
        touched.clear()
        if len(out) >= 20_000:
            conn.execute(schema.balance_checkpoints.insert(), out)
            out.clear()

    current = None
    rows = conn.execute(select(bc.token, bc.holder, bc.delta, bc.block_number)
                        .order_by(bc.block_number, bc.tx_index, bc.log_index))
    for token, holder, delta, block in rows:
        if current is not None and block != current:
            close_block(current)
        current = block
        held = balances.setdefault(token, {})
        before = held.get(holder, 0)
        held[holder] = before + delta
        holders[token] = holders.get(token, 0) + (held[holder] > 0) - (before > 0)
        pending[token] = pending.get(token, 0) + 1
        touched.add(token)
    if current is not None:
        close_block(current)
    if out:
        conn.execute(schema.balance_checkpoints.insert(), out)


# --- the indexer's hooks --------------------------------------------------------------------------------------


def apply_range(conn: Connection, rows: Any, decoded: list[DecodedLog], token_assets: dict[str, int | None],
                block: int) -> None:
    """The current state after one range (``rows``: its :class:`~rwaledger.ledger.project.RangeRows`, already
    written; the holdings already applied), inside the range's transaction."""
    wallets = {r["wallet"] for r in rows.wallet_bindings} | {r["wallet"] for r in rows.wallet_statuses}
    investors = {r["investor"] for r in rows.investor_states}
    if wallets or investors:
        refresh_identities(conn, wallets, investors)
    apply_token_events(conn, decoded, token_assets)
    apply_distribution_events(conn, decoded)
    if rows.balance_changes:
        write_checkpoints(conn, {r["token"] for r in rows.balance_changes}, block)


@dataclass(frozen=True)
class Touched:
    """What the rows above a fork point touched: read before they are deleted."""

    wallets: frozenset[str]
    investors: frozenset[str]


def touched_above(conn: Connection, fork: int) -> Touched:
    b, s, i = schema.wallet_bindings.c, schema.wallet_statuses.c, schema.investor_states.c
    wallets = set(conn.execute(select(b.wallet).where(b.block_number > fork)).scalars())
    wallets |= set(conn.execute(select(s.wallet).where(s.block_number > fork)).scalars())
    investors = set(conn.execute(select(i.investor).where(i.block_number > fork)).scalars())
    return Touched(frozenset(wallets), frozenset(investors))


def after_rollback(conn: Connection, touched: Touched) -> None:
    """Recompute the current state once the rows above the fork point are gone (checkpoints above it went with
    them): the identities of what those rows touched, and the token state from the remaining events."""
    if touched.wallets or touched.investors:
        refresh_identities(conn, touched.wallets, touched.investors)
    rebuild_token_state(conn)
    rebuild_distribution_state(conn)


def rebuild_state(conn: Connection) -> None:
    """Derive every table of this module from the event and history tables (a ledger synced before them)."""
    refresh_identities(conn, None)
    rebuild_token_state(conn)
    rebuild_distribution_state(conn)
    rebuild_checkpoints(conn)


__all__ = ["CHECKPOINT_CHANGES", "DISTRIBUTION_STATE_EVENTS", "DistributionState",
           "TOKEN_STATE_EVENTS", "TokenState", "after_rollback", "apply_range",
           "checkpoint_due", "rebuild_state", "refresh_identities", "write_checkpoints"]
