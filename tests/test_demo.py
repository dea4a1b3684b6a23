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
        "the same spec again: LHR/GULBERG-III/KHEWAT-1187/KHATOONI-2231/FLAT-12B (PK) is already registered",
        "refused 'lhr/gulberg iii/khewat 1187/khatooni 2231/flat 12b': LHR/GULBERG-III/KHEWAT-1187/KHATOONI-2231/FLAT-12B (PK) is already registered as asset #1",
        "refused on chain: LegalReferenceNotCanonical(position 0)",
        "6 investors registered, 0 field updates, 1 wallets added",
        "refused one key minting alone: minting: the chain refused it",
        "proposal #1 (Safe nonce 0",
        "mint 9,500 shares LHR-GH12B to 5 recipients",
        "pre-check: ok",
        "approved by officer Hina (1 of 2)",
        "not executed: proposal 1 has 1 of the 2 approvals",
        "approved by officer Sana (2 of 2); executed in block",
        "8 allocations minted",
        "the same allocations in reverse order: 0 allocations minted, 8 already minted",
        "sale-deed-2026-0101 on its own: already minted",
        "moves 500 shares to his second wallet: 5 holders before, 5 after",
        "rejected by rule CountryNotAllowed",
        "rejected by rule MaxBalanceExceeded",
        "distribution #1",
        "redemption #1 fulfilled",
        "redemption #2 rejected",
        "LHR-GH12B now, by investor",
        "Bilal Ahmed (Karachi)",
        "PK: 57.5% (2 investors)",
        "proposal #1 (minting 8 allocations), signed by officer Sana and officer Hina: executed",
        "proposal #3 (funding a distribution to 6 holders), signed by officer Sana and officer Hina: executed",
        "the ledger matches the chain",
    ):
        assert expected in out, f"missing {expected!r} in demo output"
    assert (tmp_path / "demo.sqlite").exists()
