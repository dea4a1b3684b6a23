"""Benchmark the public portal's asset page at 10,000 holders: server time (the first request of a new process, the
first request after a sync, when every query runs, and p50/p95 of the next ones) and the page weight (HTML + the
scripts and stylesheet it loads).

Builds the 10,000-holder property of scripts/bench_ledger.py on a fresh anvil, syncs a SQLite ledger, and requests
``/assets/BENCH`` through the app in process (Starlette's TestClient: the server's time, no network), writing
build/bench/portal.json.

    .venv/bin/python scripts/bench_portal.py [--holders 10000] [--requests 200] [--ledger build/bench/portal.sqlite]

With ``--ledger PATH`` the synced ledger is kept there, and reused (no chain) when it exists.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ledger import setup  # noqa: E402  (the same 10,000-holder world)

from rwaledger import paths  # noqa: E402
from rwaledger.api import create_app  # noqa: E402
from rwaledger.api.app import CHECKPOINT_TTL  # noqa: E402
from rwaledger.chain import AnvilChain  # noqa: E402
from rwaledger.ledger import Ledger  # noqa: E402
from rwaledger.session import open_session  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--holders", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--ledger", type=Path, help="keep the synced ledger here (reused when it exists)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.ledger or Path(tmp) / "ledger.sqlite"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with AnvilChain.start() as chain:
                session = open_session(chain=chain, record=False)
                stack, _ = setup(session, args.holders, 300, 100)
                with Ledger.open(path) as ledger:
                    ledger.sync(stack, batch_blocks=2_000)
        figures = measure(Ledger.open(path), args.requests)
    out = paths.BUILD_DIR / "bench" / "portal.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


def measure(ledger: Ledger, requests: int) -> dict:
    """Time the asset page: the first request of a new process (every query runs, templates compiled); the first
    request after a sync (the checkpoint made to move, 5 times: every answer the API and the pages keep per
    checkpoint is computed again, while the ledger keeps its ownership walk, which a sync extends by the new changes
    only; no new changes here); the
    ownership history walked from nothing and continued; then ``requests`` more (served from what the API and the
    pages keep until the next sync)."""
    client = TestClient(create_app(ledger))
    t = time.perf_counter()
    first = client.get("/assets/BENCH")
    cold = time.perf_counter() - t
    assert first.status_code == 200, first.text[:300]
    after_sync = []
    real = ledger.checkpoint
    for n in range(5):  # a sync as the app sees it: the checkpoint moves (here: its hash), every cached answer expires
        ledger.checkpoint = (  # type: ignore[method-assign]
            lambda n=n: dataclasses.replace(real(), hash=f"{real().hash}-{n}"))
        time.sleep(CHECKPOINT_TTL + 0.05)  # the app reads the checkpoint at most every CHECKPOINT_TTL
        t = time.perf_counter()
        assert client.get("/assets/BENCH").status_code == 200
        after_sync.append(time.perf_counter() - t)
    del ledger.checkpoint
    t = time.perf_counter()
    with ledger.queries() as q:  # no walk kept: from the first balance change
        points = q.ownership_history("BENCH", 40)
    history_s = time.perf_counter() - t
    t = time.perf_counter()
    ledger.ownership_history("BENCH", 40)  # the walk kept by the ledger, nothing new
    history_kept_s = time.perf_counter() - t
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        r = client.get("/assets/BENCH")
        times.append(time.perf_counter() - t)
        assert r.status_code == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
    weight = len(r.content) + sum(len(client.get(a).content) for a in assets)
    holders = re.search(r"(\d[\d,]*) holders? of", r.text)
    ledger.close()
    times.sort()
    return {
        "holders": holders[1] if holders else None,
        "first_request_new_process_ms": round(cold * 1000, 1),
        "first_request_after_sync_ms": round(statistics.median(after_sync) * 1000, 1),
        "first_request_after_sync_max_ms": round(max(after_sync) * 1000, 1),
        "ownership_history_40_points_ms": round(history_s * 1000, 1),
        "ownership_history_kept_walk_ms": round(history_kept_s * 1000, 1),
        "ownership_points": len(points),
        "requests": requests,
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 1),
        "html_bytes": len(r.content),
        "page_weight_bytes": weight,
        "targets": {"p95_ms": 100, "page_weight_bytes": 300_000},
    }


if __name__ == "__main__":
    main()
