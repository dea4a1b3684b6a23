"""`rwa compile` and `rwa node`, run as a user would run them."""

import json
import os
import subprocess
import sys
from pathlib import Path


from rwaledger import node
from rwaledger.errors import NodeError

RWA = [sys.executable, "-m", "rwaledger.cli"]


def rwa(*args, env=None, check=True):
    proc = subprocess.run([*RWA, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_compile_reports_compiler_and_cache():
    rwa("compile")  # make sure the cache is warm
    data = json.loads(rwa("--json", "compile").stdout)
    assert data["cached"] is True and data["compiler"].startswith("0.8.28")
    assert data["compiler_kind"] in {"solc-js", "native", "SOLC_BINARY"}
    assert "ChainProbe" in data["contracts"]
    assert "cache:" in rwa("compile").stdout


def test_user_error_is_one_line_without_traceback(tmp_path):
    proc = rwa("compile", env={"SOLC_BINARY": str(tmp_path / "missing-solc")}, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and "cannot run" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_command_is_a_usage_error():
    proc = rwa("frobnicate", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_background_node_keeps_its_chain_between_runs(tmp_path):
    node_dir = tmp_path / "node"
    port = node.free_port()
    info = node.start_background(node_dir, port=port)
    try:
        assert node.background_status(node_dir)["pid"] == info["pid"]
        again = node.start_background(node_dir, port=port)
        assert again["already_running"] and again["pid"] == info["pid"]
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(info["url"]))
        w3.provider.make_request("anvil_mine", ["0x7"])
        assert w3.eth.block_number == 7
    finally:
        stopped = node.stop_background(node_dir)
    assert stopped["pid"] == info["pid"] and node.background_status(node_dir) is None
    assert Path(info["state_file"]).exists()
    info2 = node.start_background(node_dir, port=port)
    try:
        from web3 import Web3

        assert Web3(Web3.HTTPProvider(info2["url"])).eth.block_number >= 7  # state was kept
    finally:
        node.stop_background(node_dir)
    assert node.stop_background(node_dir) is None


def test_node_status_exits_1_when_no_node_runs(tmp_path):
    proc = rwa("--json", "node", "status", env={"RWA_NODE_DIR": str(tmp_path / "none")}, check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout) == {"running": False}


def _wait_saved(node_dir, block, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = node.background_status(node_dir)["last_dump"]
        if last and last["block"] >= block:
            return last
        time.sleep(0.05)
    raise AssertionError(f"the keeper did not save block {block} within {timeout}s")


def test_the_node_keeps_its_chain_across_a_kill_9_and_says_what_it_restored(tmp_path):
    """The defect: anvil wrote its state only on a clean exit, so a SIGKILL lost the whole chain."""
    import signal

    from web3 import Web3

    node_dir = tmp_path / "node"
    port = node.free_port()
    info = node.start_background(node_dir, port=port, interval=0.1)
    assert info["restored"] is None  # a new chain
    w3 = Web3(Web3.HTTPProvider(info["url"]))
    a = w3.eth.accounts
    for _ in range(12):
        w3.eth.send_transaction({"from": a[0], "to": a[1], "value": 10**15})
    head = w3.eth.get_block("latest")
    saved = _wait_saved(node_dir, head["number"])
    os.kill(info["pid"], signal.SIGKILL)  # the node, not stopped cleanly
    deadline = __import__("time").monotonic() + 5
    while node.background_status(node_dir) is not None and __import__("time").monotonic() < deadline:
        pass
    assert saved["hash"] == head["hash"].to_0x_hex()
    # a new port: the state, not the port, is what must survive (the killed node's port may linger in use)
    again = node.start_background(node_dir, port=node.free_port(), interval=0.1)
    try:
        assert again["restored"] == {"block": head["number"], "hash": head["hash"].to_0x_hex()}
        w3 = Web3(Web3.HTTPProvider(again["url"]))
        assert w3.eth.get_balance(a[1]) == 10_000 * 10**18 + 12 * 10**15  # every transfer is still there
    finally:
        node.stop_background(node_dir)


def test_a_torn_state_file_is_named_and_nothing_starts(tmp_path):
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    (node_dir / "state.json").write_text('{"block": {"number": "0x12c", "beneficiary"')  # a dump cut short
    try:
        node.start_background(node_dir, port=node.free_port())
    except NodeError as exc:
        assert "state.json is not a whole state dump" in str(exc)
    else:
        node.stop_background(node_dir)
        raise AssertionError("a torn state file was loaded")
    assert node.background_status(node_dir) is None
    assert (node_dir / "state.json").read_text().startswith('{"block"')  # left as it was, for the user to look at


def test_node_start_and_status_cli_say_what_they_restored(tmp_path):
    env = {"RWA_NODE_DIR": str(tmp_path / "node")}
    port = str(node.free_port())
    first = rwa("node", "start", "--port", port, env=env)
    try:
        assert "a new chain" in first.stdout
        status = rwa("node", "status", env=env)
        assert status.returncode == 0 and "running:" in status.stdout
    finally:
        stop = rwa("node", "stop", env=env)
    assert "saved block 0" in " ".join(stop.stdout.split())  # rich wraps long lines
    second = rwa("--json", "node", "start", "--port", port, env=env)
    try:
        restored = json.loads(second.stdout)["restored"]
        assert restored["block"] == 0 and restored["hash"].startswith("0x")
        assert rwa("--json", "node", "status", env=env).returncode == 0
    finally:
        rwa("node", "stop", env=env)


def test_deploy_refuses_a_bad_safe_spec_in_one_line():
    proc = rwa("deploy", "--network", "tester", "--registrar-safe", "0x7099:2", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and "--registrar-safe" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_deploy_gives_a_role_to_a_safe():
    owners = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8,0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC,0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    data = json.loads(rwa("--json", "deploy", "--network", "tester", "--registrar-safe", f"{owners}:2").stdout)
    assert "registrar Safe" in data["contracts"] and data["contracts"]["registrar Safe"].startswith("0x")


def test_a_port_is_in_use_only_while_something_listens_on_it():
    """Decided by binding, not by connecting (a connect to a free ephemeral port can reach itself)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not node.port_free(port)
    assert node.port_free(port)


def test_an_error_naming_a_bracketed_word_prints_it(tmp_path):
    """An error's text is printed as text: "[roles]" is not taken for console markup (it was dropped)."""
    empty = tmp_path / "roles.toml"
    empty.write_text("")
    proc = rwa("deploy", "--network", "tester", "--roles", str(empty), check=False)
    assert proc.returncode == 1 and "no [roles] table" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_deploy_on_a_reset_node_names_it_and_redeploys_only_when_asked(tmp_path):
    """The defect: after the node lost its chain, `rwa deploy` silently redeployed at the same addresses."""
    env = {"RWA_NODE_DIR": str(tmp_path / "node"), "RWA_DEPLOYMENTS_DIR": str(tmp_path / "deployments")}
    port = str(node.free_port())
    rwa("node", "start", "--port", port, env=env)
    try:
        rwa("deploy", "--network", "anvil", env=env)
    finally:
        rwa("node", "stop", env=env)
    (tmp_path / "node" / "state.json").unlink()  # the chain is gone: a new one starts
    rwa("node", "start", "--port", port, env=env)
    try:
        net = "anvil"
        refused = rwa("deploy", "--network", net, env=env, check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "the node was reset or is another chain" in refused.stderr
        again = rwa("--json", "deploy", "--network", net, "--redeploy", env=env)
        assert again.returncode == 0
        replaced = list((tmp_path / "deployments").glob("anvil/.replaced/1/AssetRegistry.json"))
        assert len(replaced) == 1
    finally:
        rwa("node", "stop", env=env)


def test_free_ports_are_outside_the_ephemeral_range():
    """A node restarted on its port after a kill must not find it taken by some process's outgoing connection:
    the ports handed out lie outside the kernel's ephemeral range (the flaky restart of the issue)."""
    lo, hi = node._ephemeral_range()
    ports = {node.free_port() for _ in range(50)}
    assert all(not lo <= p <= hi for p in ports) and len(ports) > 40
    assert all(node.port_free(p) for p in ports)
