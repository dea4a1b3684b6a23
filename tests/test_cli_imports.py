"""Issue 12 (speed): the ``rwa`` command starts fast because its module imports nothing heavy; each command imports
what it needs. These tests fail if a top-level import drags web3 (or the others) back into every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("web3", "eth_tester", "eth_account", "sqlalchemy", "solcx", "pydantic")


def _loaded(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_chain_library():
    assert _loaded("import rwaledger.cli") == []


def test_help_loads_no_chain_library():
    code = ("import sys\nsys.argv = ['rwa', '--help']\nimport rwaledger.cli\n"
            "try:\n    rwaledger.cli.main()\nexcept SystemExit:\n    pass")
    assert _loaded(code) == []


def test_compiling_from_cache_loads_no_chain_library():
    """The compile cache check (rwa compile, and every command loading artifacts) needs neither web3 nor solcx."""
    assert _loaded("from rwaledger.compiler import select_compiler\nselect_compiler()") == []


def test_ledger_commands_need_no_web3():
    """`rwa ledger ...` reads the database only: the models (address checks) and the ledger load without web3."""
    loaded = _loaded("import rwaledger.models, rwaledger.ledger")
    assert "web3" not in loaded and "eth_tester" not in loaded and "eth_account" not in loaded


def test_the_rwa_script_is_a_light_client():
    """The console script (the command server's client) imports the standard library only before it hands the
    command over; its entry point is the client, `python -m rwaledger.cli` the in-process command."""
    import tomllib
    from pathlib import Path

    assert _loaded("import rwaledger.cmdserver") == []
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["rwa"] == "rwaledger.cmdserver:main"
