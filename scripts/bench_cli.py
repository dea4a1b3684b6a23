"""Time every kind of ``rwa`` command, warm, with hyperfine (issue 12 asks < 0.5 s wall each).

Sets up what the README's command walkthrough builds (a background `rwa node`, the stack deployed, both example
assets, the investors, the allocations minted, a synced ledger), all under a temporary ``RWA_NODE_DIR``,
``RWA_DEPLOYMENTS_DIR`` and ``RWA_LEDGER_URL``, then runs ``hyperfine -N -w WARMUP -r RUNS`` over the commands
(reads, and the writes whose second run changes nothing or is refused: each sends at most one transaction) and
prints mean and max wall time and the CPU of the `rwa` process itself (with the command server, the command runs
in its child, whose CPU is not the client's) per command, writing build/bench/cli.json.

    .venv/bin/python scripts/bench_cli.py [--runs 10] [--warmup 2] [--only SUBSTRING]

Needs hyperfine (Debian's package ``hyperfine``; ``.ci/run`` does not need it: this is a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RWA = str(Path(sys.executable).with_name("rwa"))
EX = ROOT / "scripts" / "examples"
INVESTOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # dev account 1, an example investor

COMMANDS = [
    "--help",
    "ledger --help",
    "node status",
    "compile",
    "asset show LHR-GH12B -n anvil",
    "asset list -n anvil",
    f"investor show {INVESTOR} -n anvil",
    "ledger cap-table LHR-GH12B -n anvil",
    "ledger countries LHR-GH12B -n anvil",
    f"ledger portfolio {INVESTOR} -n anvil",
    "ledger history --asset LHR-GH12B -n anvil",
    "ledger reconcile -n anvil",
    "ledger sync -n anvil",
    "roles -n anvil",
    "tx pending -n anvil",
    # writes: the second run onwards sends nothing (already minted) or is refused before sending
    f"mint --csv {EX / 'allocations.csv'} -n anvil",
    "transfer LHR-GH12B 0x976EA74026E726554dB657fA54763abd0C3a0aa9 100 --account 1 -n anvil",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rwa(env: dict, *args: str, check: bool = True, bin: str = RWA) -> subprocess.CompletedProcess:
    p = subprocess.run([bin, *args], env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"rwa {' '.join(args)} failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", help="only the commands containing this text")
    ap.add_argument("--rwa", default=RWA, help="the rwa script to time (default: this venv's)")
    ap.add_argument("--direct", action="store_true", help="run without the command server (RWA_CMD_SERVER=0)")
    args = ap.parse_args()
    rwa_bin = args.rwa
    if not shutil.which("hyperfine"):
        raise SystemExit("hyperfine not found: apt-get install -y hyperfine")
    tmp = Path(tempfile.mkdtemp(prefix="rwa-bench-cli-"))
    port = free_port()
    env = {**os.environ, "RWA_NODE_DIR": str(tmp / "node"), "RWA_DEPLOYMENTS_DIR": str(tmp / "deployments"),
           "RWA_LEDGER_URL": str(tmp / "ledger.sqlite"), "RWA_CMD_DIR": str(tmp / "cmd")}
    if args.direct:
        env["RWA_CMD_SERVER"] = "0"
    try:
        rwa(env, "node", "start", "--port", str(port))
        for step in (["deploy", "-n", "anvil"],
                     ["asset", "register", str(EX / "lahore-apartment.toml"), "-n", "anvil"],
                     ["asset", "register", str(EX / "karachi-gold.toml"), "-n", "anvil"],
                     ["investor", "import", str(EX / "investors.csv"), "-n", "anvil"],
                     ["mint", "--csv", str(EX / "allocations.csv"), "-n", "anvil"],
                     ["ledger", "sync", "-n", "anvil"]):
            rwa(env, *step, bin=rwa_bin)
        if not args.direct:
            from rwaledger import cmdserver

            end = time.monotonic() + 30
            while not cmdserver.servers(tmp / "cmd") and time.monotonic() < end:
                time.sleep(0.1)
        commands = [c for c in COMMANDS if not args.only or args.only in c]
        out = tmp / "hyperfine.json"
        subprocess.run(["hyperfine", "-N", "-i", "-w", str(args.warmup), "-r", str(args.runs), "--export-json",
                        str(out), "--style", "none", *[f"{rwa_bin} {c}" for c in commands]],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())["results"]
        rows = []
        print(f"{'command':<72} {'wall mean':>9} {'max':>6} {'rwa cpu':>7}")
        for c, r in zip(commands, results):
            rows.append({"command": f"rwa {c}".replace(str(ROOT) + "/", ""), "mean_s": round(r["mean"], 3),
                         "max_s": round(r["max"], 3), "user_s": round(r["user"], 3),
                         "exit_codes": sorted(set(r.get("exit_codes") or []))})
            flag = "" if r["mean"] < 0.5 else "  > 0.5 s"
            print(f"{rows[-1]['command'][:72]:<72} {r['mean']:>8.3f}s {r['max']:>5.2f}s {r['user']:>6.2f}s{flag}")
        bench = ROOT / "build" / "bench"
        bench.mkdir(parents=True, exist_ok=True)
        (bench / "cli.json").write_text(json.dumps({"runs": args.runs, "command_server": not args.direct,
                                                    "commands": rows}, indent=2) + "\n")
        print(f"load average {os.getloadavg()[0]:.2f}; wrote {bench / 'cli.json'}")
    finally:
        rwa(env, "node", "stop", check=False, bin=rwa_bin)
        from rwaledger import cmdserver

        cmdserver.stop_servers(tmp / "cmd")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
