"""Compile, deploy and transact on both local chains; decoded reverts; dev-chain helpers."""

import pytest

from rwaledger.errors import ChainError, CustomErrorRevert, PanicRevert, ReasonRevert

pytestmark = pytest.mark.chains("tester", "anvil")

LOCK = 3600


@pytest.fixture(scope="module")
def probe(rwa):
    return rwa.deployer.deploy("ChainProbe", LOCK)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def test_deploy_and_transact(rwa, probe):
    receipt = rwa.tx.transact(probe.functions.set(42))
    assert receipt.status == 1 and receipt.gas_used > 21_000
    assert probe.functions.value().call() == 42
    (event,) = probe.events.ValueChanged().process_receipt(receipt.raw)
    assert event["args"]["newValue"] == 42 and event["args"]["by"] == rwa.signer.address


def test_custom_error_decoded_when_estimating(rwa, probe):
    with pytest.raises(CustomErrorRevert) as info:
        rwa.tx.transact(probe.functions.set(10**7))
    assert info.value.name == "TooLarge"
    assert info.value.args_by_name == {"requested": 10**7, "limit": 1_000_000}


def test_custom_error_decoded_from_failed_receipt(rwa, probe):
    # Explicit gas skips estimation: the transaction is mined with status 0 and replayed to decode it.
    with pytest.raises(CustomErrorRevert) as info:
        rwa.tx.transact(probe.functions.set(10**7), gas=100_000)
    assert info.value.name == "TooLarge"


def test_custom_error_with_address_args_for_other_signer(rwa, probe, accounts):
    other = rwa.transactor(accounts[1])
    with pytest.raises(CustomErrorRevert) as info:
        other.transact(probe.functions.set(1))
    assert info.value.name == "NotOwner"
    assert info.value.args_by_name["caller"].lower() == accounts[1].address.lower()


def test_reason_string_and_panic(rwa, probe):
    with pytest.raises(ReasonRevert) as reason:
        rwa.tx.transact(probe.functions.failWithReason())
    assert reason.value.reason == "probe: reason string"
    with pytest.raises(PanicRevert, match="division or modulo by zero"):
        rwa.tx.call(probe.functions.divide(0))
    assert rwa.tx.call(probe.functions.divide(4)) == 25


def test_snapshot_revert_restores_state_and_nonces(rwa, probe, chain):
    rwa.tx.transact(probe.functions.set(1))
    snap = chain.snapshot()
    nonce_before = chain.w3.eth.get_transaction_count(rwa.signer.address)
    rwa.tx.transact(probe.functions.set(2))
    rwa.tx.transact(probe.functions.set(3))
    chain.revert(snap)
    assert probe.functions.value().call() == 1
    assert chain.w3.eth.get_transaction_count(rwa.signer.address) == nonce_before
    rwa.tx.transact(probe.functions.set(4))  # the transactor re-syncs its nonce after a revert
    assert probe.functions.value().call() == 4


def test_reverting_twice_to_a_used_snapshot_is_detected_or_harmless(rwa, probe, chain):
    snap = chain.snapshot()
    rwa.tx.transact(probe.functions.set(9))
    chain.revert(snap)
    if chain.kind == "anvil":  # anvil uses a snapshot up; the helper must say so, not silently do nothing
        with pytest.raises(ChainError):
            chain.revert(snap)
    else:
        chain.revert(snap)
        assert probe.functions.value().call() == 0


def test_time_travel_unlocks(rwa, probe, chain):
    with pytest.raises(CustomErrorRevert, match="StillLocked"):
        rwa.tx.transact(probe.functions.timeLocked())
    before = chain.timestamp()
    ts = chain.advance_time(LOCK + 1)
    assert ts >= before + LOCK + 1 and chain.timestamp() == ts
    rwa.tx.transact(probe.functions.timeLocked())
    assert probe.functions.value().call() == 1


def test_mine_and_set_balance(chain, accounts):
    start = chain.w3.eth.block_number
    assert chain.mine(3) == start + 3
    who = accounts[5].address
    chain.set_balance(who, 12345)
    assert chain.w3.eth.get_balance(who) == 12345
    chain.set_balance(who, 10**21)
    assert chain.w3.eth.get_balance(who) == 10**21


def test_pipelined_batch_keeps_nonces_in_order(rwa, probe):
    receipts = rwa.tx.send_batch([probe.functions.set(i) for i in range(1, 11)], gas=80_000)
    assert [r.status for r in receipts] == [1] * 10
    assert probe.functions.value().call() == 10


def test_nonce_too_low_resyncs(rwa, probe):
    rwa.tx.set_nonce(0)  # a stale local nonce: the node answers "nonce too low"
    rwa.tx.transact(probe.functions.set(77))
    assert probe.functions.value().call() == 77


# --- a transaction the node loses while a batch waits (anvil 1.7: a block mined while it automines another) --------


class _NoAutomine:
    """Blocks only when asked (a kick of the waiting loop): what the node holds can be changed before it mines."""

    def __init__(self, chain):
        self.chain = chain

    def __enter__(self):
        from rwaledger import rpc

        rpc.request(self.chain, "evm_setAutomine", [False])
        return self

    def __exit__(self, *exc):
        from rwaledger import rpc

        rpc.request(self.chain, "evm_setAutomine", [True])


@pytest.mark.chains("anvil")
def test_a_batch_transaction_the_node_dropped_is_rebroadcast_and_the_batch_completes(rwa, probe, chain):
    from rwaledger import rpc
    from rwaledger.transactions import pipeline

    signed = []

    def sign(n):
        signed.append(rwa.tx.sign(probe.functions.set(n), gas=80_000))
        return signed[-1]

    def drop_the_middle_one(_sent):  # after the broadcast, before any block: the node loses it
        assert rpc.request(chain, "eth_getTransactionByHash", [signed[1].tx_hash]) is not None
        rpc.request(chain, "anvil_dropTransaction", [signed[1].tx_hash])
        assert rpc.request(chain, "eth_getTransactionByHash", [signed[1].tx_hash]) is None

    timeout, rwa.tx.timeout = rwa.tx.timeout, 10  # it waited the whole timeout behind the lost nonce before
    try:
        with _NoAutomine(chain):
            receipts = pipeline(chain, [101, 102, 103], sign, decoder_from=rwa.tx, progress=drop_the_middle_one)
    finally:
        rwa.tx.timeout = timeout
    assert [r.tx_hash for r in receipts] == [s.tx_hash for s in signed]  # the same bytes, so the same hashes
    assert [r.status for r in receipts] == [1, 1, 1]
    assert probe.functions.value().call() == 103
    me = rwa.tx.address
    assert chain.w3.eth.get_transaction_count(me, "latest") == signed[-1].nonce + 1  # each nonce used once


@pytest.mark.chains("anvil")
def test_a_next_nonce_left_queued_for_ever_is_taken_out_of_both_pools_and_sent_again(rwa, probe, chain):
    """The CI failure behind three flaky runs: anvil 1.7.1 held a batch's next transaction in its *queued* pool
    (txpool_inspect: pending {}, queued {74: ..., 75: ...} with the chain's nonce at 74), waiting for a marker it
    would never see; anvil_dropTransaction only takes from the ready pool, so the re-broadcast got "already known"
    and the batch waited out its timeout. Made here on purpose: a transaction queued behind a nonce that the chain
    then passes without the pool (anvil_setNonce), so it is queued with its nonce next."""
    from rwaledger import rpc
    from rwaledger.transactions import broadcast, rebroadcast_dropped, wait_for_receipts

    me = rwa.tx.address
    rwa.tx.resync_nonce()
    skipped = rwa.tx.sign(probe.functions.set(41), gas=80_000)  # never sent: its nonce is passed below
    queued, after = rwa.tx.sign(probe.functions.set(42), gas=80_000), rwa.tx.sign(probe.functions.set(43), gas=80_000)
    other = rwa.tx.sign(probe.functions.set(44), gas=80_000)  # in the pool, its bytes not given to the waiter
    try:
        broadcast(chain, [queued, after, other])
        rpc.request(chain, "anvil_setNonce", [me, hex(queued.nonce)])  # the chain moves past `skipped`...
        pool = rpc.request(chain, "txpool_inspect", [])
        assert str(queued.nonce) in pool["queued"][me.lower()] and not pool["pending"]  # ...the pool does not see it
        assert chain.w3.eth.get_transaction_count(me, "latest") == queued.nonce
        raws = {s.tx_hash: s.raw for s in (queued, after)}
        assert set(rebroadcast_dropped(chain, [queued.tx_hash, after.tx_hash], raws)) == {
            queued.tx_hash, after.tx_hash, other.tx_hash}  # the sender's whole pool, in nonce order
        receipts = wait_for_receipts(chain, [queued.tx_hash, after.tx_hash, other.tx_hash], 10, raws=raws)
    finally:
        rwa.tx.resync_nonce()
    assert {int(r["status"], 16) for r in receipts.values()} == {1}
    assert probe.functions.value().call() == 44  # each executed once, in order; `other` too, though not ours
    assert chain.w3.eth.get_transaction_count(me, "latest") == other.nonce + 1
    assert skipped.nonce == queued.nonce - 1


@pytest.mark.chains("anvil")
def test_a_sender_whose_next_nonce_waits_in_the_pool_is_sent_again_in_nonce_order(rwa, probe, chain):
    from rwaledger import rpc
    from rwaledger.transactions import broadcast, rebroadcast_dropped, wait_for_receipts

    me = rwa.tx.address
    rwa.tx.resync_nonce()
    with _NoAutomine(chain):
        first, second = rwa.tx.sign(probe.functions.set(7), gas=80_000), rwa.tx.sign(probe.functions.set(8), gas=80_000)
        broadcast(chain, [first, second])
        raws = {s.tx_hash: s.raw for s in (first, second)}
        # the first is next in nonce order (what anvil left in its pool): the sender's pool is sent again, in order
        assert first.nonce == chain.w3.eth.get_transaction_count(me, "latest")
        assert rebroadcast_dropped(chain, [second.tx_hash, first.tx_hash], raws) == [first.tx_hash, second.tx_hash]
        for s in (first, second):
            assert rpc.request(chain, "eth_getTransactionByHash", [s.tx_hash]) is not None  # back in the pool
        assert rebroadcast_dropped(chain, [second.tx_hash], {}) == []  # no bytes: nothing to send
        receipts = wait_for_receipts(chain, [first.tx_hash, second.tx_hash], 10, raws=raws)
    assert {int(r["status"], 16) for r in receipts.values()} == {1}
    assert probe.functions.value().call() == 8
    assert chain.w3.eth.get_transaction_count(me, "latest") == second.nonce + 1
