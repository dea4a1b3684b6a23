"""Every `rwa` registrar command, run as a user runs them: in-process where that makes sense, and as a
multi-command session against a background anvil node."""

import json
import os
import subprocess
import sys

import pytest

from rwaledger import node

DEV = {  # public dev accounts of the anvil mnemonic, used as investors by scripts/examples
    1: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    2: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    3: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    6: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    7: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory, root):
    home = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "RWA_NODE_DIR": str(home / "node"), "RWA_DEPLOYMENTS_DIR": str(home / "deployments"),
           "RWA_LEDGER_URL": str(home / "ledger.sqlite")}
    env.pop("RWA_PRIVATE_KEY", None)
    env.pop("RWA_KEYSTORE", None)

    def run(*args, ok=True):
        proc = subprocess.run([sys.executable, "-m", "rwaledger.cli", *args], capture_output=True, text=True,
                              env=env, cwd=root, timeout=300)
        if ok:
            assert proc.returncode == 0, f"rwa {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def js(*args):
        return json.loads(run("--json", *args).stdout)

    run.json = js
    run.home = home
    return run


def test_deploy_on_the_in_process_chain(cli):
    data = cli.json("deploy", "--network", "tester")
    assert set(data["contracts"]) >= {"RWAAccess", "IdentityRegistry", "AssetRegistry", "TokenFactory", "DistributionManager"}
    assert data["records"] is None  # the in-process chain writes no records


def test_other_commands_on_the_in_process_chain_explain_the_node(cli):
    proc = cli("asset", "list", "--network", "tester", ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "rwa node start" in proc.stderr and "--network anvil" in proc.stderr


def test_bad_spec_fails_before_any_chain(cli, tmp_path, root):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "property", "name": "x", "symbol": "X", "legal_reference": "r", "jurisdiction": "PK",
                               "location": "l", "metadata_uri": "u", "total_shares": 0,
                               "valuation": {"amount": "1", "currency": "PKR", "date": "2026-01-01"}}))
    proc = cli("asset", "register", str(bad), "--network", "tester", ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "bad.json: field total_shares" in proc.stderr


@pytest.fixture(scope="module")
def anvil_node(cli):
    port = node.free_port()
    info = cli.json("node", "start", "--port", str(port))
    assert info["already_running"] is False
    yield info
    cli("node", "stop")
    assert node.background_status(cli.home / "node") is None


def test_full_registrar_session_on_a_local_node(cli, anvil_node, root):
    ex = root / "scripts" / "examples"
    net = ["--network", "anvil"]
    assert cli.json("node", "status")["running"] is True

    first = cli.json("deploy", *net)
    assert (cli.home / "deployments" / "anvil" / "TokenFactory.json").exists()
    assert cli.json("deploy", *net)["contracts"] == first["contracts"]  # reused, not redeployed

    assert cli.json("asset", "register", str(ex / "lahore-apartment.toml"), *net)["status"] == "done"
    assert cli.json("asset", "register", str(ex / "karachi-gold.toml"), *net)["status"] == "done"
    assert cli.json("asset", "register", str(ex / "karachi-gold.toml"), *net)["status"] == "skipped"
    listed = cli.json("asset", "list", *net)
    assert [a["symbol"] for a in listed] == ["LHR-GH12B", "KHI-GOLD"]
    assert cli.json("asset", "show", "KHI-GOLD", *net)["max_supply"] == 7_500_000

    assert cli.json("investor", "import", str(ex / "investors.csv"), *net)["registered"] == 6
    assert cli.json("investor", "add", DEV[7], "--country", "AE", "--kyc-expiry", "2028-01-01",
                    "--category", "institutional", *net)["status"] == "done"
    shown = cli.json("investor", "show", DEV[7], *net)
    assert shown["country"] == "AE" and shown["category"] == 3 and shown["verified"] is True

    assert cli.json("mint", "--csv", str(ex / "allocations.csv"), *net)["minted"] == 7
    assert cli.json("mint", "--csv", str(ex / "allocations.csv"), *net)["skipped"] == 7
    assert cli.json("mint", "LHR-GH12B", DEV[7], "100", "--reference", "deed-9", *net)["status"] == "done"
    assert cli.json("mint", "LHR-GH12B", DEV[7], "100", "--reference", "deed-9", *net)["status"] == "skipped"

    receipt = root / "scripts" / "examples" / "documents" / "khi-gold-receipt-001.txt"
    assert cli.json("lot", "attest", "KHI-GOLD", "--lot-id", "KHI-LOT-9", "--vault", "bay 20", "--quantity", "1000",
                    "--receipt", str(receipt), *net)["status"] == "done"
    assert cli.json("asset", "show", "KHI-GOLD", *net)["max_supply"] == 7_501_000

    assert cli.json("transfer", "LHR-GH12B", DEV[3], "100", "--account", "1", *net)["status"] == "done"
    before = cli.json("asset", "show", "LHR-GH12B", *net)
    rejected = cli("transfer", "LHR-GH12B", DEV[6], "100", "--account", "1", *net, ok=False)
    assert rejected.returncode == 1 and "Traceback" not in rejected.stderr
    assert rejected.stderr.startswith("rejected:") and "CountryNotAllowed" in rejected.stderr
    assert cli.json("asset", "show", "LHR-GH12B", *net) == before
    unknown = cli("transfer", "NOPE", DEV[3], "1", "--account", "1", *net, ok=False)
    assert unknown.returncode == 1 and "no asset with symbol 'NOPE'" in unknown.stderr
    negative = cli("transfer", "--account", "1", *net, "--", "LHR-GH12B", DEV[3], "-4", ok=False)
    assert negative.returncode == 1 and "field amount" in negative.stderr
    checksum = cli("transfer", "LHR-GH12B", DEV[3].replace("90F", "90f"), "1", "--account", "1", *net, ok=False)
    assert checksum.returncode == 1 and "bad checksum" in checksum.stderr
    forced = cli.json("transfer", "LHR-GH12B", DEV[7], "50", "--forced", "--from", DEV[3], "--reason", "court order 12", *net)
    assert forced["status"] == "done"

    request = cli.json("redeem", "request", "KHI-GOLD", "1000", "--delivery-ref", "pickup-1", "--account", "2", *net)
    assert cli.json("redeem", "fulfil", "KHI-GOLD", str(request["request_id"]), "--lot-id", "KHI-LOT-2026-001", *net)["status"] == "done"
    request2 = cli.json("redeem", "request", "KHI-GOLD", "500", "--delivery-ref", "pickup-2", "--account", "2", *net)
    assert cli.json("redeem", "reject", "KHI-GOLD", str(request2["request_id"]), "--reason", "no show", *net)["status"] == "done"

    # Rent in a stablecoin: the test deploys one on the node (a registrar would use a real one).
    from rwaledger.chain import AnvilChain
    from rwaledger.session import open_session

    with open_session(chain=AnvilChain(url=anvil_node["url"]), record=False) as s:
        pkr = s.deployer.deploy("TestStablecoin")
        s.tx.transact(pkr.functions.mint(s.signer.address, 10**12))
    created = cli.json("distribute", "create", "LHR-GH12B", "--payment-token", pkr.address, "--amount", "1000000",
                       "--from-ledger", *net)
    dist = created["distribution_id"]
    assert created["holders"] == 5 and (cli.home / "deployments" / "anvil" / "distributions" / f"{dist}.json").exists()
    claimed = cli.json("distribute", "claim", str(dist), "--for", DEV[1], *net)
    assert claimed["status"] == "done" and claimed["amount"] > 0
    assert pkr.functions.balanceOf(DEV[1]).call() == claimed["amount"]
    again = cli("distribute", "claim", str(dist), "--for", DEV[1], *net, ok=False)
    assert again.returncode == 1 and "AlreadyClaimed" in again.stderr
    early = cli("distribute", "reclaim", str(dist), *net, ok=False)
    assert early.returncode == 1 and "DistributionNotExpired" in early.stderr

    # The ledger: sync, query, reconcile, export.
    synced = cli.json("ledger", "sync", *net)  # `distribute --from-ledger` synced it already: this picks up the claim
    assert synced["events"] >= 1 and synced["rollbacks"] == []
    assert len(cli.json("ledger", "history", "--limit", "1000", *net)) > 30
    assert cli.json("ledger", "sync", *net)["events"] == 0  # resumes from its checkpoint
    cap = cli.json("ledger", "cap-table", "LHR-GH12B", *net)
    chain_supply = cli.json("asset", "show", "LHR-GH12B", *net)["total_supply"]
    assert sum(int(r["amount"]) for r in cap) == chain_supply
    assert {r["country"] for r in cap} >= {"PK", "GB"}
    assert abs(sum(float(r["percent"]) for r in cap) - 100) < 0.01
    countries = cli.json("ledger", "countries", "LHR-GH12B", *net)
    assert sum(int(c["amount"]) for c in countries) == chain_supply
    portfolio = cli.json("ledger", "portfolio", DEV[2], *net)
    assert {p["symbol"] for p in portfolio} == {"LHR-GH12B", "KHI-GOLD"}
    history = cli.json("ledger", "history", "--wallet", DEV[6], *net)
    assert any(e["event"] == "IdentityRegistered" for e in history)
    assert cli.json("ledger", "reconcile", *net)["ok"] is True
    out = cli.home / "cap.csv"
    cli("ledger", "export", "cap-table", "--asset", "LHR-GH12B", "--out", str(out), *net)
    lines = out.read_text().strip().splitlines()
    assert lines[0].startswith("holder,") and len(lines) == len(cap) + 1
    missing = cli("ledger", "export", "cap-table", *net, ok=False)
    assert missing.returncode == 1 and "needs --asset" in missing.stderr


def test_node_status_after_stop_is_reported(cli, anvil_node):
    assert cli.json("node", "status")["running"] is True
