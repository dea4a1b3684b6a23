"""The node keeper's dumps (rwaledger.nodestate.dump): a dump that a block raced is never kept.

anvil_dumpState is not atomic: measured during a batch mint, 2 of 38 dumps restored a supply above what their
Transfer logs add up to (the block being mined was in the accounts but not in the block list). A fake node here
moves its head during chosen dumps; the real race is checked against anvil in tests/test_journal.py (the node-kill
test syncs a fresh ledger on the restored node and reconciles it)."""

from __future__ import annotations

import gzip
import json

import pytest

from rwaledger import nodestate
from rwaledger.errors import NodeError


class FakeNode:
    """Answers head / anvil_dumpState; ``races`` dumps (the first ones) see a block mined while they run."""

    def __init__(self, races: int):
        self.number, self.races, self.dumps = 7, races, 0

    def rpc(self, url, method, params=None, timeout=30.0):
        if method == "eth_getBlockByNumber":
            return {"number": hex(self.number), "hash": f"0x{self.number:064x}"}
        assert method == "anvil_dumpState"
        self.dumps += 1
        held = self.number
        if self.dumps <= self.races:
            self.number += 1  # mined during the dump: its state may be in it, its block is not
        return "0x" + gzip.compress(json.dumps({"best_block_number": held, "blocks": []}).encode()).hex()


@pytest.fixture
def node(monkeypatch):
    def make(races: int) -> FakeNode:
        fake = FakeNode(races)
        monkeypatch.setattr(nodestate, "rpc", fake.rpc)
        return fake
    return make


def test_a_dump_raced_by_a_block_is_taken_again(node, tmp_path):
    fake = node(races=2)
    state = tmp_path / "state.json"
    done = nodestate.dump("http://node", state)
    assert fake.dumps == 3 and done.block == 9 and done.hash == f"0x{9:064x}"
    assert json.loads(state.read_text())["best_block_number"] == 9
    assert nodestate.last_dump(state) == done


def test_a_clean_dump_is_kept_first_time(node, tmp_path):
    fake = node(races=0)
    done = nodestate.dump("http://node", tmp_path / "state.json")
    assert fake.dumps == 1 and done.block == 7


def test_no_clean_dump_leaves_the_file_as_it_was(node, tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"best_block_number": 3}')
    fake = node(races=10)
    with pytest.raises(NodeError, match="mined a block during each of 5 state dumps"):
        nodestate.dump("http://node", state, attempts=5)
    assert fake.dumps == 5 and state.read_text() == '{"best_block_number": 3}'
