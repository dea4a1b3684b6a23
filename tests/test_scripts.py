"""The registrar scripts, run in order against a local node, as a registrar would run them."""

import os
import subprocess
import sys

import pytest

from rwaledger import node


@pytest.fixture(scope="module")
def run(tmp_path_factory, root):
    home = tmp_path_factory.mktemp("scripts")
    env = {**os.environ, "RWA_NODE_DIR": str(home / "node"), "RWA_DEPLOYMENTS_DIR": str(home / "deployments"),
           "COLUMNS": "200"}
    info = node.start_background(home / "node", port=node.free_port())

    def script(name, *args, ok=True):
        proc = subprocess.run([sys.executable, str(root / "scripts" / name), *args], capture_output=True, text=True,
                              env=env, cwd=root, timeout=300)
        if ok:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    yield script
    node.stop_background(home / "node")
    assert info["pid"]


def test_registrar_workflow_scripts(run, root):
    ex = root / "scripts" / "examples"
    out = run("tokenize_property.py", str(ex / "lahore-apartment.toml")).stdout
    assert "registered LHR-GH12B as asset #1" in out and "document 'title-deed' recorded" in out
    assert "already registered" in run("tokenize_property.py", str(ex / "lahore-apartment.toml")).stdout
    out = run("tokenize_property.py", str(ex / "karachi-gold.toml")).stdout
    assert "lot KHI-LOT-2026-001" in out and "asset #2 KHI-GOLD (commodity, PK)" in out

    out = run("onboard_investors.py", str(ex / "investors.csv")).stdout
    assert "6 investors registered" in out and "1 wallets added" in out
    assert "0x976EA74026E726554dB657fA54763abd0C3a0aa9 IR" in out
    out = run("mint_allocations.py", str(ex / "allocations.csv")).stdout
    assert "8 allocations minted" in out and "LHR-GH12B: 9,500 of 10,000 issued" in out
    assert "0 allocations minted, 8 already minted" in run("mint_allocations.py", str(ex / "allocations.csv")).stdout

    out = run("rent_distribution.py", "LHR-GH12B", "950000").stdout
    assert "distribution #1: 950000 to 5 holders" in out  # five wallets: Bilal's two are paid separately
    claimed = [line for line in out.splitlines() if "claimed" in line]
    assert len(claimed) == 5 and sum(int(line.split("claimed ")[1].replace(",", "")) for line in claimed) == 950_000


def test_script_errors_are_one_line(run, root, tmp_path):
    bad = tmp_path / "inv.csv"
    bad.write_text("wallet,country,kyc_expiry\n0x1234,PK,2027-01-01\n")
    proc = run("onboard_investors.py", str(bad), ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {bad}:2: field wallet: not an Ethereum address: '0x1234'"
    proc = run("rent_distribution.py", "NOPE", "5", ok=False)
    assert proc.returncode == 1 and "no asset with symbol 'NOPE'" in proc.stderr


def test_repeat_tests_names_a_flaky_test(tmp_path, root):
    """scripts/repeat_tests.py (issue 12: show no test is flaky) finds a test that fails in one run of three."""
    counter = tmp_path / "runs"
    (tmp_path / "test_sample.py").write_text(f"""
from pathlib import Path
def test_steady():
    assert True
def test_flaky():
    p = Path({str(counter)!r})
    n = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(n))
    assert n != 2
""")
    proc = subprocess.run([sys.executable, str(root / "scripts" / "repeat_tests.py"), "--runs", "3", "--",
                           str(tmp_path / "test_sample.py")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "test_flaky: failed 1 of 3 runs" in proc.stdout and "test_steady" not in proc.stdout.split("did not pass")[1]
    (tmp_path / "test_sample.py").write_text("def test_steady():\n    assert True\n")
    proc = subprocess.run([sys.executable, str(root / "scripts" / "repeat_tests.py"), "--runs", "2", "--",
                           str(tmp_path / "test_sample.py")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "no test failed in 2 runs (1 tests)" in proc.stdout, proc.stdout
