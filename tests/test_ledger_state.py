"""The ledger's current state beyond the holdings (ledger/state.py) on SQLite and PostgreSQL: wallet identities,
liens, freezes, custody lots and redemptions equal the chain after every sync and what a replay of the events
derives, and are recomputed above the fork point on a reorg; balance checkpoints make a cap table at a past block
one checkpoint plus the changes after it, equal to the sum of every change (random blocks); a cap table at a
date reads the last block at or before it."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from rwaledger.ledger import Ledger, NotSynced, schema, state
from rwaledger.ledger.queries import Queries

STATE_TABLES = (schema.wallet_identities, schema.liens, schema.freezes, schema.custody_lots, schema.redemptions,
                schema.distributions, schema.distribution_claims)


@pytest.fixture(scope="module")
def world(example_world):
    """conftest's examples (two gold lots attested), with the investors' wallets: (session, stack, services,
    wallets, signers by wallet)."""
    session, stack, reg, investors, signers = example_world
    return session, stack, reg, [i.wallet for i in investors], signers


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def dump(ledger: Ledger) -> dict[str, list[tuple]]:
    """The current-state tables, sorted."""
    with ledger.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in STATE_TABLES}


def rebuilt(ledger: Ledger) -> dict[str, list[tuple]]:
    """The same tables derived from nothing but the event and history tables (then put back as they were)."""
    with ledger.engine.begin() as conn:
        state.rebuild_state(conn)
        out = dump_conn(conn)
        conn.rollback()
    return out


def dump_conn(conn) -> dict[str, list[tuple]]:
    return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in STATE_TABLES}


def chain_freezes(stack, token_address: str, wallets: list[str]) -> dict[str, tuple[bool, int]]:
    token = stack.token(token_address)
    out = {}
    for w in wallets:
        frozen, amount = token.functions.isFrozen(w).call(), token.functions.getFrozenTokens(w).call()
        if frozen or amount:
            out[w] = (frozen, amount)
    return out


def test_liens_freezes_lots_and_redemptions_follow_the_chain(world, ledger_url):
    session, stack, reg, w, signer = world
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    assert ledger.liens("LHR-GH12B") == [] and ledger.freezes("LHR-GH12B") == []
    reserve = ledger.reserve("KHI-GOLD")
    assert [lot.remaining for lot in reserve.lots] == [5_000_000, 2_500_000] and reserve.open_redemptions == []
    assert reserve.backed and reserve.supply <= reserve.reserve == 7_500_000
    bank = session.chain.dev_accounts[9].address
    first = reg.enforcement.create_lien("LHR-GH12B", w[1], bank, "500 shares", "LOAN-1").facts["lien_id"]
    second = reg.enforcement.create_lien("LHR-GH12B", w[2], bank, "100 shares", "LOAN-2").facts["lien_id"]
    reg.enforcement.release_lien("LHR-GH12B", second)
    reg.enforcement.freeze("LHR-GH12B", w[3])
    reg.enforcement.freeze_partial("LHR-GH12B", w[0], "200 shares")
    reg.enforcement.freeze_partial("LHR-GH12B", w[0], "50 shares", freeze=False)
    gold = ledger.asset("KHI-GOLD")
    holder = next(r.holder for r in ledger.cap_table("KHI-GOLD"))
    keep = reg.redemptions.request_redemption("KHI-GOLD", signer[holder], "1000", "deliver-1")
    done = reg.redemptions.request_redemption("KHI-GOLD", signer[holder], "2000", "deliver-2")
    nope = reg.redemptions.request_redemption("KHI-GOLD", signer[holder], "300", "deliver-3")
    reg.redemptions.fulfil_redemption("KHI-GOLD", done, "KHI-LOT-2026-001")
    reg.redemptions.reject_redemption("KHI-GOLD", nope, "no-id")
    ledger.sync(stack)
    (lien,) = ledger.liens("LHR-GH12B")  # the released one is not in force
    assert (lien.lien_id, lien.holder, lien.beneficiary, lien.amount, lien.active) == (first, w[1], bank, 500, True)
    assert [x.lien_id for x in ledger.liens("LHR-GH12B", active=False)] == [second]
    token = ledger.asset("LHR-GH12B").token
    assert {f.wallet: (f.frozen, f.frozen_amount) for f in ledger.freezes("LHR-GH12B")} == chain_freezes(
        stack, token, w) == {w[3]: (True, 0), w[0]: (False, 150)}
    reserve = ledger.reserve("KHI-GOLD")
    on_chain = stack.token(gold.token)
    assert [lot.remaining for lot in reserve.lots] == [on_chain.functions.lot(bytes.fromhex(lot.lot_id[2:])).call()[0]
                                                       for lot in reserve.lots] == [4_998_000, 2_500_000]
    assert reserve.reserve == on_chain.functions.attestedReserve().call()
    assert reserve.supply == on_chain.functions.totalSupply().call() and reserve.backed
    assert [(r.request_id, r.status) for r in ledger.redemptions("KHI-GOLD")] == [
        (keep, "open"), (done, "fulfilled"), (nope, "rejected")]
    assert [r.request_id for r in reserve.open_redemptions] == [keep]
    assert dump(ledger) == rebuilt(ledger)  # what each range wrote is what a replay of the events derives
    ledger.close()


def test_wallet_identities_are_the_identities_now(world, ledger_url):
    session, stack, reg, w, _ = world
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    extra = session.chain.dev_accounts[8].address
    reg.investors.add_wallet(w[0], extra)
    reg.investors.remove_wallet(extra)
    ledger.sync(stack)
    with ledger.engine.connect() as conn:
        rows = {r.wallet: r for r in conn.execute(select(schema.wallet_identities))}
    assert set(rows) == set(w) | {extra}
    for wallet, row in rows.items():
        at = ledger.identity(wallet)
        assert (row.investor, row.status, row.country, row.category) == (
            at.investor, at.wallet_status, at.country_numeric, at.category)
    assert rows[extra].status == "removed" and rows[extra].investor == w[0]
    assert dump(ledger) == rebuilt(ledger)
    ledger.close()


@pytest.mark.chains("tester", "anvil")
def test_a_reorg_recomputes_the_current_state_above_the_fork(world, ledger_url):
    session, stack, reg, w, signer = world
    chain = session.chain
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    before = dump(ledger)
    mark = chain.snapshot()
    bank = chain.dev_accounts[9].address
    reg.enforcement.create_lien("LHR-GH12B", w[1], bank, "500 shares", "LOAN-GONE")
    reg.enforcement.freeze("LHR-GH12B", w[2])
    extra = chain.dev_accounts[8].address
    reg.investors.add_wallet(w[0], extra)
    holder = next(r.holder for r in ledger.cap_table("KHI-GOLD"))
    reg.redemptions.request_redemption("KHI-GOLD", signer[holder], "1000", "gone")
    ledger.sync(stack)
    assert dump(ledger) != before and ledger.liens("LHR-GH12B")
    chain.revert(mark)  # that branch is gone; another replaces it
    reg.enforcement.freeze_partial("LHR-GH12B", w[3], "10 shares")
    chain.mine(3)
    assert ledger.sync(stack).rollbacks
    assert ledger.liens("LHR-GH12B") == [] and ledger.redemptions("KHI-GOLD") == []
    assert {f.wallet: (f.frozen, f.frozen_amount) for f in ledger.freezes("LHR-GH12B")} == {w[3]: (False, 10)}
    with ledger.engine.connect() as conn:
        assert extra not in set(conn.execute(select(schema.wallet_identities.c.wallet)).scalars())
    assert dump(ledger) == rebuilt(ledger)
    ledger.close()


@pytest.mark.chains("tester", "anvil")
def test_a_reorg_recomputes_the_distributions_claims(world, ledger_url):
    """Claims, a withholding and a distribution made above the fork point are undone by the rollback; what is
    claimed of the distribution below it is replayed from the events that remain (and equals a derivation from
    nothing)."""
    import datetime as dt

    session, stack, reg, w, _ = world
    chain = session.chain
    pkr = session.deployer.deploy("TestStablecoin")
    reg.tx.transact(pkr.functions.mint(reg.tx.address, 10**12))
    expiry = dt.datetime.fromtimestamp(chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    dist = reg.distributions.distribute("LHR-GH12B", pkr.address, 950_001, expiry,
                                        chain.w3.eth.block_number).facts["distribution_id"]
    entitled = {a: amt for _, a, amt in reg.distributions.plan(dist).entries}
    reg.distributions.claim(dist, w[0])
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    (d,) = ledger.distributions()
    assert (d.distribution_id, d.claimed, d.claims, d.reclaimed) == (dist, entitled[w[0]], 1, None)
    assert d.expiry == int(expiry.timestamp()) and d.merkle_root.startswith("0x")
    before = dump(ledger)
    mark = chain.snapshot()
    reg.distributions.claim(dist, w[2])
    reg.distributions.withhold(dist, [w[1]])
    second = reg.distributions.distribute("LHR-GH12B", pkr.address, 1_000, expiry,
                                          chain.w3.eth.block_number).facts["distribution_id"]
    ledger.sync(stack)
    (d, _) = ledger.distributions()
    assert (d.claimed, d.claims) == (entitled[w[0]] + entitled[w[2]], 2)
    claims = {(c.claim_index, c.account): (c.claimed, c.withheld) for c in ledger.distribution_claims(w[2])}
    assert list(claims.values()) == [(True, False)]
    assert [c.withheld for c in ledger.distribution_claims(None, [(dist, i) for i, a, _ in
                                                                  reg.distributions.plan(dist).entries
                                                                  if a == w[1]])] == [True]
    assert dump(ledger) == rebuilt(ledger)
    chain.revert(mark)  # that branch is gone; another replaces it
    chain.mine(3)
    assert ledger.sync(stack).rollbacks
    assert [x.distribution_id for x in ledger.distributions()] == [dist] and second != dist
    (d,) = ledger.distributions()
    assert (d.claimed, d.claims) == (entitled[w[0]], 1)
    assert ledger.distribution_claims(w[2]) == [] and [c.amount for c in ledger.distribution_claims(w[0])] == [
        entitled[w[0]]]
    assert dump(ledger) == before == rebuilt(ledger)
    ledger.close()


@pytest.mark.chains("tester", "anvil")
def test_the_ownership_walk_kept_between_syncs_equals_one_from_nothing(world, ledger_url):
    """Ledger.ownership_history continues its walk after a sync, and starts again after a rollback: the same
    points as a walk from the first change (Queries.ownership_history without a kept walk)."""
    session, stack, reg, w, signer = world
    chain = session.chain
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)

    def from_nothing(points=5):
        with ledger.queries() as q:
            return q.ownership_history("LHR-GH12B", points)

    assert ledger.ownership_history("LHR-GH12B", 5) == from_nothing()
    reg.transfers.transfer("LHR-GH12B", signer[w[0]], w[1], "5 shares")
    ledger.sync(stack)
    assert ledger.ownership_history("LHR-GH12B", 5) == from_nothing()
    mark = chain.snapshot()
    for _ in range(3):
        reg.transfers.transfer("LHR-GH12B", signer[w[1]], w[2], "1 shares")
    ledger.sync(stack)
    longer = ledger.ownership_history("LHR-GH12B", 50)
    assert longer == from_nothing(50) and longer[-1].block == ledger.checkpoint().block
    chain.revert(mark)
    reg.transfers.transfer("LHR-GH12B", signer[w[2]], w[3], "2 shares")
    chain.mine(3)
    assert ledger.sync(stack).rollbacks
    assert ledger.ownership_history("LHR-GH12B", 5) == from_nothing()
    assert ledger.ownership_history("LHR-GH12B", 50)[-1].block != longer[-1].block
    ledger.close()


def test_past_cap_tables_read_a_checkpoint_and_the_changes_after_it(world, ledger_url, monkeypatch):
    """With a checkpoint due every few changes, random transfers synced a few blocks at a time: the cap table at
    random past blocks (paged, summed in SQL) equals the one summed in Python from every change; a rollback deletes
    the checkpoints above the fork point."""
    session, stack, reg, w, signer = world
    chain = session.chain
    monkeypatch.setattr(state, "CHECKPOINT_CHANGES", 3)
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    rnd = random.Random(7)
    for _ in range(14):
        a, b = rnd.sample(range(4), 2)
        if ledger.balance("LHR-GH12B", w[a]) > 10:
            reg.transfers.transfer("LHR-GH12B", signer[w[a]], w[b], f"{rnd.randint(1, 10)} shares")
        if rnd.random() < 0.4:
            ledger.sync(stack, batch_blocks=2)
    ledger.sync(stack, batch_blocks=2)
    token = ledger.asset("LHR-GH12B").token
    with ledger.engine.connect() as conn:
        checkpoints = conn.execute(select(func.count(func.distinct(schema.balance_checkpoints.c.block_number)))
                                   .where(schema.balance_checkpoints.c.token == token)).scalar_one()
        assert checkpoints >= 2
    head = ledger.checkpoint().block
    assert_past_pages_are_the_replay(ledger, token, sorted(rnd.sample(range(1, head + 1), 12)) + [head])
    mark = chain.snapshot()
    for i in range(4):
        reg.transfers.transfer("LHR-GH12B", signer[w[1]], w[2], "1 shares")
    ledger.sync(stack, batch_blocks=1)
    top = ledger.checkpoint().block
    chain.revert(mark)
    chain.mine(1)
    assert ledger.sync(stack).rollbacks
    fork = ledger.checkpoint().block
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.max(schema.balance_checkpoints.c.block_number))).scalar() <= fork < top
    for _ in range(6):  # the other branch: new transfers and checkpoints above the fork point
        a, b = rnd.sample(range(4), 2)
        if ledger.balance("LHR-GH12B", w[a]) > 10:
            reg.transfers.transfer("LHR-GH12B", signer[w[a]], w[b], f"{rnd.randint(1, 10)} shares")
    ledger.sync(stack, batch_blocks=2)
    head = ledger.checkpoint().block
    assert_past_pages_are_the_replay(ledger, token, sorted(set(rnd.sample(range(1, fork + 1), 6)) |
                                                           set(range(fork - 1, head + 1))))
    ledger.close()


def assert_past_pages_are_the_replay(ledger: Ledger, token: str, blocks: list[int]) -> None:
    """At each block: the balances, pages (both orders, a page past the end), holder count and supply from the
    checkpoint path equal those summed in Python from every change."""
    with ledger.engine.connect() as conn:
        q = Queries(conn)
        for block in blocks:
            summed = {h: v for h, v in q.balances(token, block).items() if v}  # every change, in Python
            assert q.balances_at(token, block) == summed, block
            assert q._supply_at(token, block) == (sum(summed.values()), len(summed)), block
            for sort, key in (("amount", lambda i: (-i[1], i[0])), ("wallet", lambda i: i[0].lower())):
                whole = sorted(summed.items(), key=key)
                rows, holders, total, at = q.cap_table_page("LHR-GH12B", per_page=2, page=2, block=block, sort=sort)
                assert (holders, total, at) == (len(summed), sum(summed.values()), block)
                assert [(r.holder, r.amount) for r in rows] == whole[2:4], (block, sort)
            rows, holders, total, _ = q.cap_table_page("LHR-GH12B", per_page=2, page=50, block=block)
            assert (rows, holders, total) == ([], len(summed), sum(summed.values()))
            assert q.cap_table_page("LHR-GH12B", per_page=100, block=block)[0] == q.cap_table("LHR-GH12B", block)


def test_past_cap_tables_of_amounts_past_64_bits_are_exact(ledger_url):
    """HUGE: balances of 10**30 (more than 18 digits: SQLite's native integer sum is not used); MANY: twelve
    balances of 9 * 10**17 whose sum passes 2**63 (SQLite's integer sum raises an overflow: the exact aggregate
    takes over). Both from a checkpoint and changes after it, equal to the sum of every change in Python."""
    ledger = Ledger.open(ledger_url)
    plans = {"HUGE": ("0x" + "cd" * 20, [10**30 * (i + 1) for i in range(6)], 10**29),
             "MANY": ("0x" + "ef" * 20, [9 * 10**17 + i for i in range(12)], 10**17)}
    rows, checkpoint, n = [], [], 0
    for symbol, (token, start, amount) in plans.items():
        holders = ["0x%040x" % (i + 1) for i in range(len(start))]
        for h, v in zip(holders, start):
            n += 1
            rows.append({"token": token, "asset_id": 1, "holder": h, "block_number": 5, "tx_hash": "0x%064x" % n,
                         "tx_index": 0, "log_index": 0, "delta": v})
            checkpoint.append({"token": token, "block_number": 6, "holder": h, "balance": v})
        for k, (a, b) in enumerate(((0, 1), (2, 3), (1, 0), (4, 2))):
            n += 1
            rows += [{"token": token, "asset_id": 1, "holder": holders[x], "block_number": 7 + k, "tx_hash": "0x%064x" % n,
                      "tx_index": 0, "log_index": j, "delta": d} for j, (x, d) in enumerate(((a, -amount), (b, amount)))]
    with ledger.engine.begin() as conn:
        conn.execute(schema.meta.insert(), [{"key": "checkpoint_block", "value": "12"},
                                            {"key": "checkpoint_hash", "value": "0x" + "00" * 32}])
        conn.execute(schema.assets.insert(), [{"asset_id": i + 1, "kind": "property", "token": token, "symbol": symbol,
                                               "decimals": 0} for i, (symbol, (token, _, _)) in enumerate(plans.items())])
        conn.execute(schema.balance_changes.insert(), rows)
        conn.execute(schema.balance_checkpoints.insert(), checkpoint)
    with ledger.engine.connect() as conn:
        q = Queries(conn)
        for symbol, (token, start, _) in plans.items():
            assert sum(start) > 2**63
            for block in range(5, 12):
                summed = {h: v for h, v in q.balances(token, block).items() if v}
                whole = sorted(summed.items(), key=lambda i: (-i[1], i[0]))
                page, count, total, _ = q.cap_table_page(symbol, per_page=4, page=2, block=block)
                assert [(r.holder, r.amount) for r in page] == whole[4:8], (symbol, block)
                assert (count, total) == (len(summed), sum(summed.values())) == q._supply_at(token, block)[::-1]
                assert q.balances_at(token, block) == summed
    ledger.close()


def test_no_checkpoint_before_enough_changes(world, ledger_url):
    _, stack, _, _, _ = world
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    with ledger.engine.connect() as conn:  # a handful of mints: far below CHECKPOINT_CHANGES
        assert conn.execute(select(func.count()).select_from(schema.balance_checkpoints)).scalar_one() == 0
    assert state.checkpoint_due(10_000, 50) and not state.checkpoint_due(9_999, 50)
    assert not state.checkpoint_due(20_000, 30_000) and state.checkpoint_due(30_000, 30_000)
    ledger.close()


def test_a_cap_table_at_a_date_is_the_one_at_the_last_block_before_it(world, ledger_url):
    session, stack, reg, w, signer = world
    chain = session.chain
    ledger = Ledger.open(ledger_url)
    ledger.sync(stack)
    first = ledger.checkpoint().block
    t_first = ledger.block_time(first)
    assert t_first == chain.w3.eth.get_block(first)["timestamp"]
    chain.advance_time(86_400)
    moved = reg.transfers.transfer("LHR-GH12B", signer[w[0]], w[2], "100 shares").block_number
    ledger.sync(stack)
    t_moved = ledger.block_time(moved)
    assert t_moved >= t_first + 86_400
    assert ledger.block_at(t_moved - 1) == first and ledger.block_at(t_moved) == moved
    from datetime import datetime, timezone
    iso = datetime.fromtimestamp(t_moved - 3600, timezone.utc).isoformat()
    assert ledger.block_at(iso) == first
    assert ledger.cap_table_at("LHR-GH12B", iso) == ledger.cap_table("LHR-GH12B", first)
    assert ledger.cap_table_at("LHR-GH12B", t_moved + 10) == ledger.cap_table("LHR-GH12B")
    with pytest.raises(NotSynced, match="no block at or before"):
        ledger.block_at("1990-01-01")
    with pytest.raises(ValueError):
        ledger.block_at("not a date")
    ledger.close()


def test_totals_by_country_now_are_grouped_in_sql_and_equal_the_investor_cap_table(world, ledger_url, monkeypatch):
    """The portal's by-country totals (the slowest query of the asset page after a sync) read the current holdings
    and identities in one grouped query: equal to grouping the investor cap table, investors counted once."""
    session, stack, reg, w, signer = world
    ledger = Ledger.open(ledger_url)
    reg.transfers.transfer("LHR-GH12B", signer[w[1]], w[6], 7)  # an investor's second wallet (same investor)
    ledger.sync(stack)
    for asset in ("LHR-GH12B", "KHI-GOLD"):
        grouped: dict = {}
        for row in ledger.investor_cap_table(asset):
            holders, amount = grouped.get(row.country, (0, 0))
            grouped[row.country] = (holders + 1, amount + row.amount)
        fast = ledger.totals_by_country(asset)
        assert {c.country: (c.holders, c.amount) for c in fast} == grouped
        assert sum(c.amount for c in fast) == sum(r.amount for r in ledger.cap_table(asset))
        assert grouped["PK"][0] == len({r.investor for r in ledger.cap_table(asset) if r.country == "PK"})
        calls = []
        monkeypatch.setattr(Queries, "investor_cap_table", lambda *a, **k: calls.append(a) or [])
        assert ledger.totals_by_country(asset) == fast and calls == []  # not through the cap table
        monkeypatch.undo()
    ledger.close()
