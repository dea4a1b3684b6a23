"""Four-eyes control from the command line, against a background anvil: the registrar role moved to a 2-of-3 Safe of
dev accounts 1..3, a pause guardian (dev account 4); a mint proposed, shown in plain words, approved by two owners
and executed; the registrar's own key refused; the guardian pauses and cannot unpause; `rwa roles` checks the chain.
"""

import json
import subprocess
import sys

import pytest

from rwaledger import node

from cli_kit import cli_in

OWNERS = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
          "0x90F79bf6EB2c4f870365E785982E1f101E93b906"]  # dev accounts 1..3
GUARDIAN = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # dev account 4
INVESTOR = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"  # dev account 6


@pytest.fixture(scope="module")
def cli(tmp_path_factory, root):
    run = cli_in(tmp_path_factory.mktemp("cli-proposals"), root)
    run("node", "start", "--port", str(node.free_port()))
    yield run
    run("node", "stop")


def refused(proc, *words):
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    for w in words:
        assert w in proc.stderr, proc.stderr


def test_a_mint_through_a_two_of_three_safe(cli, root):
    net = ["--network", "anvil"]
    cli.json("deploy", *net)
    assert cli.json("asset", "register", str(root / "scripts" / "examples" / "lahore-apartment.toml"), *net)["status"] == "done"
    cli.json("investor", "add", INVESTOR, "--country", "PK", "--kyc-expiry", "2030-01-01", *net)
    moved = cli.json("deploy", *net, "--registrar-safe", ",".join(OWNERS) + ":2", "--guardian", GUARDIAN)
    safe = moved["roles"]["registrar"]
    assert moved["contracts"]["registrar Safe"] == safe and moved["roles"]["guardian"] == GUARDIAN
    roles = {r["role"]: r for r in cli.json("roles", *net)}
    assert roles["registrar"]["holder"] == safe and roles["registrar"]["kind"] == "Safe 2 of 3"
    assert all(r["ok"] for r in roles.values())

    refused(cli("mint", "LHR-GH12B", INVESTOR, "10", "--reference", "by-key", *net, ok=False), "registrar role")
    proposed = cli.json("propose", "mint", "LHR-GH12B", INVESTOR, "2500", "--reference", "sale-deed-2026-0101", *net)
    assert proposed["status"] == "proposed" and proposed["proposal"] == 1
    shown = cli("proposals", "show", "1", *net).stdout
    assert "mint 2,500 shares LHR-GH12B to 0x976E…0aa9 ref sale-deed-2026-0101" in shown
    assert "approvals: 0 of 2" in shown and "pre-check: ok" in shown

    refused(cli("approve", "1", "--account", "5", *net, ok=False), "no owner of the Safe")
    assert cli.json("approve", "1", "--account", "1", *net)["approvals"] == [OWNERS[0]]
    refused(cli("execute", "1", *net, ok=False), "1 of the 2 approvals")
    assert cli.json("asset", "show", "LHR-GH12B", *net)["total_supply"] == 0
    cli.json("approve", "1", "--account", "3", *net)
    done = cli.json("execute", "1", *net)
    assert done["status"] == "executed" and done["executed_tx"]
    assert cli.json("asset", "show", "LHR-GH12B", *net)["total_supply"] == 2500
    refused(cli("execute", "1", *net, ok=False), "executed")
    assert [p["status"] for p in cli.json("proposals", "list", *net)] == ["executed"]

    assert cli.json("pause", "LHR-GH12B", "--account", "4", *net)["status"] == "done"  # the guardian, alone
    refused(cli("pause", "LHR-GH12B", "--unpause", "--account", "4", *net, ok=False), "compliance role")
    assert cli.json("asset", "show", "LHR-GH12B", *net)["paused"] is True
    refused(cli("propose", "transfer", "LHR-GH12B", INVESTOR, "1", *net, ok=False), "not a role's act")

    cli("ledger", "sync", *net)
    audit = cli.json("ledger", "audit", *net)
    (execution,) = audit["executions"]
    assert execution["proposal_id"] == 1 and execution["tx_hash"] == done["executed_tx"]
    assert sorted(execution["signers"]) == sorted([OWNERS[0], OWNERS[2]])  # recovered from the Safe's own event


def test_rwa_serve_answers_from_the_followed_ledger(cli, root, tmp_path):
    """`rwa serve` on the node of the test above: the API answers, the follower has synced the Safe's mint."""
    import time
    import urllib.request

    port = node.free_port()
    db = str(tmp_path / "served.sqlite")
    made = cli.json("officer", "add", "Kamran", "--role", "compliance", "--account", "0", "--db", db)
    assert made["token"].startswith(f"rwa_{made['id']}_")
    assert "token" not in cli("officer", "list", "--db", db).stdout
    env = cli.env
    proc = subprocess.Popen([sys.executable, "-m", "rwaledger.cli", "serve", "--network", "anvil", "--port", str(port),
                             "--db", db, "--poll", "0.2"], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body, deadline = None, time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/assets/LHR-GH12B/cap-table", timeout=2) as r:
                    body = json.loads(r.read())
                    if body["holders"]:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        assert body and {row["wallet"]: row["amount"] for row in body["rows"]} == {INVESTOR: "2500"}
        me = urllib.request.Request(f"http://127.0.0.1:{port}/api/officer/me",
                                    headers={"Authorization": f"Bearer {made['token']}"})
        with urllib.request.urlopen(me, timeout=5) as r:
            assert json.loads(r.read()) == {"id": made["id"], "name": "Kamran", "role": "compliance"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
