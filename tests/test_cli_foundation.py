"""`rwa compile` and `rwa node`, run as a user would run them."""

import json
import os
import subprocess
import sys
from pathlib import Path


from rwaledger import node

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


def test_node_status_cli_when_not_running(tmp_path):
    proc = rwa("--json", "node", "status")
    assert json.loads(proc.stdout)["running"] in (True, False)


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
