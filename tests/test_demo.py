"""The README's main job, run as a test: the end-to-end demo must finish and reconcile."""

import os
import subprocess
import sys


def test_demo_runs_end_to_end_and_reconciles(root, tmp_path):
    proc = subprocess.run([sys.executable, str(root / "scripts" / "demo.py"), str(tmp_path / "demo.sqlite")],
                          capture_output=True, text=True, timeout=600, cwd=root, env={**os.environ, "COLUMNS": "200"})
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    for expected in (
        "registered LHR-GH12B as asset #1",
        "registered KHI-GOLD as asset #2",
        "6 registered",
        "7 allocations minted",
        "0 allocations minted, 7 already minted",
        "rejected by rule CountryNotAllowed",
        "rejected by rule MaxBalanceExceeded",
        "distribution #1",
        "redemption #1 fulfilled",
        "redemption #2 rejected",
        "the ledger matches the chain",
    ):
        assert expected in out, f"missing {expected!r} in demo output"
    assert (tmp_path / "demo.sqlite").exists()
