"""Every `rwa` registrar command, run as a user runs them: in-process where that makes sense, and as a
multi-command session against a background anvil node."""

import json

import pytest
from eth_account import Account

from rwaledger import node

from cli_kit import cli_in

DEV = {  # public dev accounts of the anvil mnemonic, used as investors by scripts/examples
    1: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    2: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    3: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    4: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    6: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    7: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",  # Bilal's (dev account 2) second wallet in the examples
    8: "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    9: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory, root):
    return cli_in(tmp_path_factory.mktemp("cli"), root)


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
    variant = cli.home / "variant.toml"  # the same parcel in lower case, under another symbol
    variant.write_text((ex / "lahore-apartment.toml").read_text().replace("LHR/GULBERG-III", "lhr/gulberg-iii")
                       .replace('symbol = "LHR-GH12B"', 'symbol = "LHR-COPY"').replace('file = "documents/', f'file = "{ex}/documents/'))
    refused = cli("asset", "register", str(variant), *net, ok=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert "is already registered as asset #1 (LHR-GH12B)" in refused.stderr
    listed = cli.json("asset", "list", *net)
    assert [a["symbol"] for a in listed] == ["LHR-GH12B", "KHI-GOLD"]
    assert cli.json("asset", "show", "KHI-GOLD", *net)["max_supply"] == 7_500_000

    imported = cli.json("investor", "import", str(ex / "investors.csv"), *net)
    assert imported["registered"] == 6 and imported["wallets_added"] == 1
    assert cli.json("investor", "add", DEV[8], "--country", "AE", "--kyc-expiry", "2028-01-01",
                    "--category", "institutional", "--label", "Gulf Fund", *net)["status"] == "done"
    shown = cli.json("investor", "show", DEV[8], *net)
    assert shown["country"] == "AE" and shown["category"] == 3 and shown["verified"] is True
    assert shown["label"] == "Gulf Fund"
    renewed = cli.json("investor", "add", DEV[8], "--country", "AE", "--kyc-expiry", "2029-01-01", *net)
    assert renewed["updates"] == 1  # the KYC expiry only: the category is kept (tests/test_services.py)

    assert cli.json("mint", "--csv", str(ex / "allocations.csv"), *net)["minted"] == 8
    backwards = cli.home / "backwards.csv"
    rows = (ex / "allocations.csv").read_text().splitlines()
    backwards.write_text("\n".join([rows[0], *reversed(rows[1:])]) + "\n")
    assert cli.json("mint", "--csv", str(backwards), *net)["skipped"] == 8
    assert cli.json("mint", "LHR-GH12B", DEV[1], "2500", "--reference", "sale-deed-2026-0101", *net)["status"] == "skipped"
    assert cli.json("mint", "LHR-GH12B", DEV[8], "100 shares", "--reference", "deed-9", *net)["status"] == "done"

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
    forced = cli.json("transfer", "LHR-GH12B", DEV[8], "50", "--forced", "--from", DEV[3], "--reason", "court order 12", *net)
    assert forced["status"] == "done"
    blocked = cli("transfer", "LHR-GH12B", DEV[6], "50", "--forced", "--from", DEV[3], "--reason", "court order 13", *net, ok=False)
    assert blocked.returncode == 1 and "rejected by rule CountryNotAllowed" in blocked.stderr
    assert cli.json("freeze", "LHR-GH12B", DEV[3], *net)["status"] == "done"
    frozen = cli("transfer", "LHR-GH12B", DEV[8], "10", "--forced", "--from", DEV[3], "--reason", "order 14", *net, ok=False)
    assert frozen.returncode == 1 and "SenderFrozen" in frozen.stderr and "--include-frozen" in frozen.stderr
    assert cli.json("transfer", "LHR-GH12B", DEV[8], "10", "--forced", "--from", DEV[3], "--reason", "order 14",
                    "--include-frozen", *net)["frozen_units_moved"] == 10
    assert cli.json("burn", "LHR-GH12B", DEV[8], "10", "--reason", "court order 15", *net)["status"] == "done"

    rules = cli.home / "rules.toml"
    rules.write_text("[rules]\nblocked_countries = ['KP', 'IR']\nmax_holders = 500\nmax_balance = 4000\n"
                     "max_retail_holders = 300\n")
    assert "holder caps per category 300/-/-" in cli.json("asset", "rules", "LHR-GH12B", str(rules), *net)["detail"]
    back = cli("asset", "status", "LHR-GH12B", "registered", *net, ok=False)
    assert back.returncode == 1 and "can only become suspended or retired" in back.stderr

    new_wallet = Account.create().address
    recovered = cli.json("investor", "recover", DEV[4], new_wallet, *net)
    assert recovered["moved"] == ["LHR-GH12B", "KHI-GOLD"] and recovered["investor"] == DEV[4]

    request = cli.json("redeem", "request", "KHI-GOLD", "1 g", "--delivery-ref", "pickup-1", "--account", "2", *net)
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
    assert created["holders"] == 6 and (cli.home / "deployments" / "anvil" / "distributions" / f"{dist}.json").exists()
    claimed = cli.json("distribute", "claim", str(dist), "--for", DEV[1], *net)
    assert claimed["status"] == "done" and claimed["amount"] > 0
    assert pkr.functions.balanceOf(DEV[1]).call() == claimed["amount"]
    rest = cli.json("distribute", "claim-all", str(dist), *net)  # the other five in one batch; DEV[1] skipped
    assert rest["status"] == "done" and rest["skipped"] == 1 and rest["claimed"] == 5 - len(rest["refused"]) >= 1
    assert all(r["reason"] for r in rest["refused"])  # e.g. a wallet frozen earlier in this session
    again = cli.json("distribute", "claim-all", str(dist), *net)
    assert again["status"] == "skipped" and again["claimed"] == 0 and again["skipped"] == 1 + rest["claimed"]
    early = cli("distribute", "reclaim", str(dist), *net, ok=False)
    assert early.returncode == 1 and "DistributionNotExpired" in early.stderr

    # The ledger: sync, query, reconcile, export.
    synced = cli.json("ledger", "sync", *net)  # `distribute --from-ledger` synced it already: this picks up the claim
    assert synced["events"] >= 1 and synced["rollbacks"] == []
    cap = cli.json("ledger", "cap-table", "LHR-GH12B", *net)
    chain_supply = cli.json("asset", "show", "LHR-GH12B", *net)["total_supply"]
    assert sum(int(r["amount"]) for r in cap) == chain_supply
    assert {r["country"] for r in cap} >= {"PK", "GB"}
    assert abs(sum(float(r["percent"]) for r in cap) - 100) < 0.01
    by_investor = cli.json("ledger", "cap-table", "LHR-GH12B", "--by-investor", *net)
    bilal = next(r for r in by_investor if r["investor"] == DEV[2])
    assert bilal["label"] == "Bilal Ahmed (Karachi)" and {w[0] for w in bilal["wallets"]} == {DEV[2], DEV[7]}
    assert sum(int(r["amount"]) for r in by_investor) == chain_supply and len(by_investor) == len(cap) - 1
    countries = cli.json("ledger", "countries", "LHR-GH12B", *net)
    assert sum(int(c["amount"]) for c in countries) == chain_supply
    portfolio = cli.json("ledger", "portfolio", DEV[2], *net)
    assert {p["symbol"] for p in portfolio} == {"LHR-GH12B", "KHI-GOLD"}
    history = cli.json("ledger", "history", "--wallet", DEV[6], *net)
    assert any(e["event"] == "IdentityRegistered" for e in history)
    assert cli.json("ledger", "reconcile", *net)["ok"] is True
    import sqlite3  # a ledger that differs from the chain: reconcile says so and exits 1 (its help says so)

    with sqlite3.connect(cli.home / "ledger.sqlite") as db:
        (row,) = db.execute("SELECT id FROM balance_changes WHERE delta > 0 ORDER BY id DESC LIMIT 1").fetchone()
        db.execute("UPDATE balance_changes SET delta = delta + 1 WHERE id = ?", (row,))
    differs = cli("--json", "ledger", "reconcile", *net, ok=False)
    assert differs.returncode == 1 and json.loads(differs.stdout)["ok"] is False
    with sqlite3.connect(cli.home / "ledger.sqlite") as db:
        db.execute("UPDATE balance_changes SET delta = delta - 1 WHERE id = ?", (row,))
    out = cli.home / "cap.csv"
    cli("ledger", "export", "cap-table", "--asset", "LHR-GH12B", "--out", str(out), *net)
    lines = out.read_text().strip().splitlines()
    assert lines[0].startswith("holder,") and len(lines) == len(cap) + 1
    missing = cli("ledger", "export", "cap-table", *net, ok=False)
    assert missing.returncode == 1 and "needs --asset" in missing.stderr
    public = cli("ledger", "export", "investor-cap-table", "--asset", "LHR-GH12B", "--format", "json", *net).stdout
    named = cli("ledger", "export", "investor-cap-table", "--asset", "LHR-GH12B", "--format", "json", "--labels", *net).stdout
    assert "Bilal Ahmed" not in public and "Bilal Ahmed" in named


BAD_ALLOCATIONS = [
    ("", "the file is empty"),
    ("asset,to,amount,reference\n", "no rows after the header"),
    ("asset,to,amount,reference\nLHR-GH12B,0x70997970c51812dc3a010c7d01b50e0d17dc79c8,5,r1\n", "carries no EIP-55 checksum"),
    ("asset,to,amount,reference\nLHR-GH12B,0x70997970C51812dc3A010C7d01b50e0d17dc79C8,5,r1\n"
     "LHR-GH12B,0x70997970C51812dc3A010C7d01b50e0d17dc79C8,6,r1\n", "is also at"),
    ("asset,to,amount\nLHR-GH12B,0x70997970C51812dc3A010C7d01b50e0d17dc79C8,10.5\n", "has a fraction but no unit"),
]


def test_bad_files_are_one_line_and_send_nothing(cli, anvil_node, tmp_path):
    net = ["--network", "anvil"]
    before = cli.json("asset", "list", *net)
    for i, (text, message) in enumerate(BAD_ALLOCATIONS):
        bad = tmp_path / f"allocations-{i}.csv"
        bad.write_text(text)
        proc = cli("mint", "--csv", str(bad), *net, ok=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, (message, proc.stderr)
    gone = cli("mint", "--csv", str(tmp_path / "missing.csv"), *net, ok=False)
    assert gone.returncode == 1 and "No such file" in gone.stderr
    assert cli.json("asset", "list", *net) == before


def test_node_status_after_stop_is_reported(cli, anvil_node):
    assert cli.json("node", "status")["running"] is True
