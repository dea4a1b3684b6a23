"""Deployment records: format, validation, reuse, --redeploy, and the pending journal."""

import json

import pytest

from rwaledger.deployments import Deployer, DeploymentRecord, DeploymentStore
from rwaledger.errors import BytecodeChanged, ChainChanged, DeploymentError, DeploymentRecordError

pytestmark = pytest.mark.chains("tester", "anvil")


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


@pytest.fixture
def store(tmp_path, chain):
    return DeploymentStore(chain.name, tmp_path)


@pytest.fixture
def deployer(rwa, store):
    return Deployer(rwa.tx, rwa.build, store)


def data_block(net):
    return json.loads((net / "ChainProbe.json").read_text())["blockNumber"]


def test_record_layout_matches_hardhat_deploy(deployer, store, chain, rwa):
    probe = deployer.deploy("ChainProbe", 60)
    net = store.dir
    ident = json.loads((net / ".chain.json").read_text())
    assert ident == {"chainId": chain.chain_id, "block": data_block(net), "hash": chain.w3.eth.get_block(
        data_block(net))["hash"].to_0x_hex()}  # the chain's identity: the block of the first deployment, by hash
    data = json.loads((net / "ChainProbe.json").read_text())
    for key in ("address", "abi", "transactionHash", "blockNumber", "args", "deployer", "bytecodeHash", "solcInputHash"):
        assert key in data, key
    assert data["address"] == probe.address and data["args"] == [60]
    assert data["deployer"] == rwa.signer.address
    assert data["bytecodeHash"] == rwa.build["ChainProbe"].bytecode_hash
    solc_input = json.loads((net / "solcInputs" / f"{data['solcInputHash']}.json").read_text())
    assert "contracts/test/ChainProbe.sol" in solc_input["sources"]
    assert not (net / ".pending" / "ChainProbe.json").exists()


def test_records_hold_no_key_or_url(deployer, store, chain):
    deployer.deploy("ChainProbe", 60)
    text = "".join(p.read_text() for p in store.dir.rglob("*") if p.is_file())
    for account in chain.dev_accounts[:2]:
        assert account.key.hex()[2:] not in text.lower().replace("0x", "")
    assert "http://" not in text and "ws://" not in text


def test_second_deploy_reuses_recorded_contract(deployer, chain):
    first = deployer.deploy("ChainProbe", 60)
    block = chain.w3.eth.block_number
    again = deployer.deploy("ChainProbe", 60)
    assert again.address == first.address
    assert chain.w3.eth.block_number == block  # nothing was sent


def test_changed_args_or_bytecode_need_redeploy(deployer, store):
    first = deployer.deploy("ChainProbe", 60)
    with pytest.raises(BytecodeChanged, match="--redeploy"):
        deployer.deploy("ChainProbe", 61)
    record = store.get("ChainProbe")
    record.bytecode_hash = "0x" + "11" * 32
    store.save(record)
    with pytest.raises(BytecodeChanged):
        deployer.deploy("ChainProbe", 60)
    fresh = deployer.deploy("ChainProbe", 60, redeploy=True)
    assert fresh.address != first.address
    assert store.get("ChainProbe").num_deployments == 2


def test_record_whose_code_is_gone_is_redeployed(deployer, store, chain):
    snap = chain.snapshot()
    first = deployer.deploy("ChainProbe", 60)
    chain.revert(snap)  # the chain forgot the contract; the record did not
    assert chain.w3.eth.get_code(first.address) == b""
    again = deployer.deploy("ChainProbe", 60)
    assert len(chain.w3.eth.get_code(again.address)) > 0
    record = store.get("ChainProbe")
    assert record.address == again.address and record.num_deployments == 2


def test_interrupted_deploy_is_found_not_repeated(deployer, store, chain, monkeypatch):
    # Simulate a run killed right after broadcasting: the journal exists, the record does not.
    real_record = deployer._record
    monkeypatch.setattr(deployer, "_record", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("ChainProbe", 60)
    pending = store.pending("ChainProbe")
    assert pending is not None and store.get("ChainProbe") is None
    monkeypatch.setattr(deployer, "_record", real_record)
    block = chain.w3.eth.block_number
    probe = deployer.deploy("ChainProbe", 60)
    assert chain.w3.eth.block_number == block  # resumed: no second deployment
    assert store.get("ChainProbe").transaction_hash == pending.transaction_hash
    assert store.pending("ChainProbe") is None
    assert len(chain.w3.eth.get_code(probe.address)) > 0


def test_journal_written_before_broadcast_is_rebroadcast(deployer, store, chain, monkeypatch):
    # Killed after writing the journal but before the node got the transaction.
    w3 = chain.w3
    real_send = w3.eth.send_raw_transaction
    monkeypatch.setattr(w3.eth, "send_raw_transaction", lambda raw: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("ChainProbe", 60)
    monkeypatch.setattr(w3.eth, "send_raw_transaction", real_send)
    pending = store.pending("ChainProbe")
    deployer.tx.reset_nonce()
    probe = deployer.deploy("ChainProbe", 60)
    assert store.get("ChainProbe").transaction_hash == pending.transaction_hash
    assert probe.functions.value().call() == 0


def test_malformed_record_names_file_and_field(store, deployer):
    deployer.deploy("ChainProbe", 60)
    path = store.dir / "ChainProbe.json"
    data = json.loads(path.read_text())
    data["address"] = "0x1234"
    path.write_text(json.dumps(data))
    with pytest.raises(DeploymentRecordError, match=r"ChainProbe.json: field address"):
        store.get("ChainProbe")


def test_records_of_another_chain_are_refused(tmp_path, rwa, chain):
    (tmp_path / chain.name).mkdir()
    (tmp_path / chain.name / ".chainId").write_text("1\n")  # the older layout: the id alone
    with pytest.raises(DeploymentError, match="belongs to chain 1"):
        Deployer(rwa.tx, rwa.build, DeploymentStore(chain.name, tmp_path))


def _forge_other_chain(store, block=1, block_hash="0x" + "ab" * 32):
    ident = json.loads((store.dir / ".chain.json").read_text())
    (store.dir / ".chain.json").write_text(json.dumps({**ident, "block": block, "hash": block_hash}))


def test_records_of_a_reset_chain_are_named_and_nothing_is_deployed_over_them(deployer, store, rwa, chain):
    """The defect: after a node reset `rwa deploy` silently redeployed, and the records described another chain."""
    deployer.deploy("ChainProbe", 60)
    _forge_other_chain(store)  # as if recorded on a chain whose block 1 has another hash
    fresh = Deployer(rwa.tx, rwa.build, store)
    block = chain.w3.eth.block_number
    with pytest.raises(ChainChanged, match=r"describes chain \d+ whose block 1 is 0xabab.*the node's block 1 is 0x"):
        fresh.deploy("ChainProbe", 60)
    with pytest.raises(ChainChanged, match="--redeploy"):
        fresh.contract("ChainProbe")
    assert chain.w3.eth.block_number == block and store.get("ChainProbe") is not None  # nothing sent, nothing moved


def test_a_chain_shorter_than_the_records_is_named(deployer, store, rwa, chain):
    deployer.deploy("ChainProbe", 60)
    _forge_other_chain(store, block=10**6)
    with pytest.raises(ChainChanged, match="the node has no block 1000000"):
        Deployer(rwa.tx, rwa.build, store).deploy("ChainProbe", 60)


def test_redeploy_sets_the_old_records_aside_and_deploys_on_this_chain(deployer, store, rwa, chain):
    old = deployer.deploy("ChainProbe", 60)
    _forge_other_chain(store)
    new = Deployer(rwa.tx, rwa.build, store).deploy("ChainProbe", 60, redeploy=True)
    assert new.address != old.address and store.get("ChainProbe").address == new.address
    kept = store.dir / ".replaced" / "1"
    assert json.loads((kept / "ChainProbe.json").read_text())["address"] == old.address
    assert json.loads((kept / ".chain.json").read_text())["hash"] == "0x" + "ab" * 32
    ident = store.identity()
    assert ident.block == store.get("ChainProbe").block_number  # anchored anew on this chain
    assert ident.hash == chain.w3.eth.get_block(ident.block)["hash"].to_0x_hex()
    Deployer(rwa.tx, rwa.build, store).deploy("ChainProbe", 60)  # and this chain's records are reused again


def test_older_records_gain_the_chain_identity_or_are_refused(deployer, store, rwa, chain):
    deployer.deploy("ChainProbe", 60)
    (store.dir / ".chain.json").unlink()
    (store.dir / ".chainId").write_text(f"{chain.chain_id}\n")  # as an older rwaledger wrote it
    Deployer(rwa.tx, rwa.build, store).deploy("ChainProbe", 60)  # its deployment is on this chain: anchored
    assert store.identity().block == store.get("ChainProbe").block_number and not (store.dir / ".chainId").exists()
    (store.dir / ".chain.json").write_text(json.dumps({"chainId": chain.chain_id}))
    record = json.loads((store.dir / "ChainProbe.json").read_text())
    (store.dir / "ChainProbe.json").write_text(json.dumps({**record, "transactionHash": "0x" + "cd" * 32}))
    with pytest.raises(ChainChanged, match="which this node's chain does not have"):
        Deployer(rwa.tx, rwa.build, store).deploy("ChainProbe", 60)


def test_in_memory_store_writes_nothing(rwa, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mem = DeploymentStore.in_memory()
    Deployer(rwa.tx, rwa.build, mem).deploy("ChainProbe", 1)
    assert mem.get("ChainProbe") is not None and list(tmp_path.iterdir()) == []
    assert isinstance(mem.get("ChainProbe"), DeploymentRecord)
