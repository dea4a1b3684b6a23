"""Run the test suite (or part of it) several times and name every test that did not pass every time: the check
that no test is flaky (issue 12).

    .venv/bin/python scripts/repeat_tests.py --runs 5 [-- PYTEST ARGS ...]      # default: the whole suite, as `make test`

Each run is a fresh pytest process with its own JUnit XML report; the script prints, per run, the counts and wall
time, then every test that failed or errored in some run with how many runs it failed in, and exits 1 if there was
any. Extra arguments after ``--`` go to pytest (e.g. ``-- tests/test_cli_foundation.py -n 2``).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def outcomes(report: Path) -> dict[str, str]:
    """test id -> passed | failed | error | skipped, from a JUnit XML report."""
    found: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = {"failure": "failed"}.get(child.tag, child.tag)
        found[test] = state
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest (default: tests/ -n 2 --dist loadfile)")
    args = ap.parse_args()
    pytest_args = args.pytest_args or ["tests/", "-n", "2", "--dist", "loadfile"]
    failed: collections.Counter[str] = collections.Counter()
    seen: collections.Counter[str] = collections.Counter()
    tmp = Path(tempfile.mkdtemp(prefix="rwa-repeat-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tokenize")}
    for run in range(1, args.runs + 1):
        report = tmp / f"run-{run}.xml"
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                               *pytest_args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        seconds = time.monotonic() - started
        if not report.exists():
            print(f"run {run}: pytest exited {proc.returncode} without a report:\n{proc.stdout[-3000:]}")
            sys.exit(1)
        states = outcomes(report)
        counts = collections.Counter(states.values())
        for test, state in states.items():
            seen[test] += 1
            if state in ("failed", "error"):
                failed[test] += 1
        print(f"run {run}: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
              f"{counts['skipped']} skipped in {seconds:.0f} s (exit {proc.returncode})", flush=True)
    if not failed:
        print(f"no test failed in {args.runs} runs ({len(seen)} tests)")
        return
    print("did not pass every run:")
    for test, n in failed.most_common():
        print(f"  {test}: failed {n} of {seen[test]} runs")
    sys.exit(1)


if __name__ == "__main__":
    main()
