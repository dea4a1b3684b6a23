"""Running `rwa` as a user does, in a home of its own (node, deployment records and ledger under ``home``)."""

import json
import os
import subprocess
import sys
from pathlib import Path


def cli_in(home: Path, root: Path):
    """``run(*args, ok=True)`` runs ``rwa *args`` (a process, as a user would) and asserts success unless ``ok`` is
    false; ``run.json(*args)`` parses its ``--json`` output; ``run.home`` is the home; ``run.env`` its environment."""
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

    run.json = lambda *args: json.loads(run("--json", *args).stdout)
    run.home = home
    run.env = env
    return run
