"""The ledger's current holdings (``holdings``): equal to the cap table summed from the balance changes after every
sync, rebuilt after a rollback, derived once for a ledger synced before the table existed; a cap-table page reads
one page of them."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from rwaledger.ledger import Ledger, schema
from rwaledger.ledger.db import set_meta

pytestmark = pytest.mark.chains("tester", "anvil")


@pytest.fixture(scope="module")
def world(example_world):
    """conftest's examples: (session, stack, services, investors, signers by wallet)."""
    return example_world


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def holdings(ledger: Ledger) -> dict[tuple[str, str], int]:
    """The current holdings, checked against the supplies table (total and holder count per token)."""
    h, s = schema.holdings.c, schema.supplies.c
    with ledger.engine.connect() as conn:
        rows = {(r.token, r.holder): r.balance for r in conn.execute(select(h.token, h.holder, h.balance))}
        supplies = {r.token: (r.total, r.holders) for r in conn.execute(select(s.token, s.total, s.holders))}
    for token in {t for t, _ in rows}:
        mine = [v for (t, _), v in rows.items() if t == token]
        assert supplies[token] == (sum(mine), len(mine)), token
    return rows


def summed(ledger: Ledger) -> dict[tuple[str, str], int]:
    return {(a.token, r.holder): r.amount for a in ledger.assets() for r in ledger.cap_table(a.asset_id)}


def test_holdings_follow_every_sync_and_pages_read_them(world, tmp_path):
    session, stack, reg, investors, signer = world
    ledger = Ledger.open(str(tmp_path / "l.sqlite"))
    ledger.sync(stack)
    assert holdings(ledger) == summed(ledger) and len(holdings(ledger)) == 8
    reg.transfers.transfer("LHR-GH12B", signer[investors[0].wallet], investors[2].wallet, "2500 shares")  # a holder empties
    ledger.sync(stack)
    assert holdings(ledger) == summed(ledger) and (stack.token(ledger.asset("LHR-GH12B").token).address,
                                                  investors[0].wallet) not in holdings(ledger)
    whole = ledger.cap_table("LHR-GH12B")
    rows, count, total, _ = ledger.cap_table_page("LHR-GH12B", page=2, per_page=2)
    assert (count, total) == (len(whole), sum(r.amount for r in whole)) and rows == whole[2:4]
    by_wallet, _, _, _ = ledger.cap_table_page("LHR-GH12B", per_page=50, sort="wallet")
    assert [r.holder for r in by_wallet] == sorted((r.holder for r in whole), key=str.lower)


def test_a_rollback_rebuilds_the_holdings(world, tmp_path):
    session, stack, reg, investors, signer = world
    chain = session.chain
    ledger = Ledger.open(str(tmp_path / "reorg.sqlite"))
    ledger.sync(stack)
    mark = chain.snapshot()
    reg.transfers.transfer("LHR-GH12B", signer[investors[1].wallet], investors[2].wallet, "1000 shares")
    ledger.sync(stack)
    chain.revert(mark)
    reg.transfers.transfer("LHR-GH12B", signer[investors[3].wallet], investors[0].wallet, "300 shares")
    chain.mine(2)
    assert ledger.sync(stack).rollbacks
    assert holdings(ledger) == summed(ledger)
    token = ledger.asset("LHR-GH12B").token
    assert holdings(ledger)[(token, investors[1].wallet)] == 3000  # the replaced branch's transfer is gone


def test_a_ledger_synced_before_the_holdings_existed_derives_them_once(world, tmp_path):
    _, stack, _, _, _ = world
    ledger = Ledger.open(str(tmp_path / "old.sqlite"))
    ledger.sync(stack)
    with ledger.engine.begin() as conn:  # as an older rwaledger left it
        conn.execute(delete(schema.holdings))
        conn.execute(delete(schema.supplies))
        set_meta(conn, "holdings", None)
    rows, count, _, _ = ledger.cap_table_page("LHR-GH12B")  # still right before the next sync (summed)
    assert count == 5 and holdings(ledger) == {}
    ledger.sync(stack)
    assert holdings(ledger) == summed(ledger) and ledger.cap_table_page("LHR-GH12B")[0] == rows
