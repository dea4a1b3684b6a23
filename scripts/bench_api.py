"""Benchmark of the public HTTP API (`rwa serve --workers N`) and the ledger follower, on anvil.

    .venv/bin/python scripts/bench_api.py [--holders 10000] [--workers 2] [--seconds 10] [--connections 50]
                                          [--big 100000] [--backend sqlite|postgresql|both]

Builds a ledger of an asset with ``--holders`` holders (registered and minted on a background anvil through the
services, then synced), serves it with ``rwa serve --workers N`` (N uvicorn processes, each with a follower
candidate: one of them writes the ledger, as in production) and loads each endpoint with ``--connections``
concurrent clients for ``--seconds`` with ``wrk`` (Debian package ``wrk``; a Lua ``done`` hook prints the exact
p50/p90/p95/p99 from wrk's histogram), side by side with the trivial ``/api/ping`` of the same app, in the same
run, as the ceiling. Then:

* the cap-table query alone on a ledger of ``--big`` holders (synthetic rows written straight into the ledger, on
  each backend: building that many holders on chain takes hours): the first page now (the current holdings) and
  a page past the first at a past block (one balance checkpoint plus the changes after it, summed in SQL), checked
  equal to the replay of every change;
* the follower: 100 transfers, each the time from its block being mined to the transfer being visible in the API
  (the recipient's balance in ``/api/wallets/{wallet}``; median), with the follower of ``rwa serve`` (poll 0.1 s).

Prints the figures with PASS/MISS against the issue's targets for every backend and writes build/bench/api.json.
SQLite and PostgreSQL (a throw-away local server, rwaledger.pgcluster) are both served by default.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import investors, onboard, property_spec  # noqa: E402

from rwaledger import node, paths  # noqa: E402
from rwaledger.chain import AnvilChain  # noqa: E402
from rwaledger.ledger import Ledger, schema  # noqa: E402
from rwaledger.models import DocumentSpec, parse  # noqa: E402
from rwaledger.node import free_port  # noqa: E402
from rwaledger.services import Services  # noqa: E402
from rwaledger.session import open_session  # noqa: E402
from rwaledger.signers import Signer  # noqa: E402
from rwaledger.stack import deploy_stack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# wrk's own histogram, read in its `done` hook: exact percentiles (microseconds), not the rounded text report
WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RWA-JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"non_2xx\\": %d, \\"socket_errors\\": %d, "
    .. "\\"p50_us\\": %d, \\"p90_us\\": %d, \\"p95_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d, "
    .. "\\"mean_us\\": %.1f}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise SystemExit(f"the server exited ({proc.returncode}) before {url} answered:\n{err[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def load_wrk(url: str, seconds: int, connections: int, script: Path) -> dict:
    """``connections`` clients (wrk, 2 threads) on ``url`` for ``seconds``: req/s and exact percentiles (ms)."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RWA-JSON "))
    r = json.loads(line.removeprefix("RWA-JSON "))
    ms = {f"{k[:-3]}_ms": round(r[k] / 1000, 2) for k in ("p50_us", "p90_us", "p95_us", "p99_us", "max_us")}
    return {"rps": round(r["requests"] / (r["duration_us"] / 1e6), 1), **ms, "mean_ms": round(r["mean_us"] / 1000, 2),
            "requests": r["requests"], "non_2xx": r["non_2xx"], "socket_errors": r["socket_errors"]}


def big_cap_table(n: int, target: str | None = None, changes: int | None = None) -> dict:
    """Seconds for cap-table queries of a token with ``n`` holders (synthetic ledger rows, no chain; ``target``: the
    database, default a temporary SQLite file): the first page now (what the API serves: the current holdings, one
    page), and page 3 at a past block (the latest balance checkpoint at or before it plus the changes after it,
    summed, counted, sorted and paged in SQL), checked equal to the sum of every change up to that block.

    History: ``n`` mints at block 5, a balance checkpoint at block 6 (as the indexer writes one: ``n`` changes
    since none), then ``changes`` balance changes (default ``n``: the most the indexer lets pass before the next
    checkpoint, ``max(CHECKPOINT_CHANGES, holders)``; half as many transfers, 100 a block); the past block is the
    last before the next checkpoint would be due: the worst case, every change after the checkpoint read."""
    tmp = Path(tempfile.mkdtemp(prefix="rwa-bench-big-"))
    ledger = Ledger.open(target or str(tmp / "big.sqlite"))
    token = "0x" + "ab" * 20
    holders = ["0x%040x" % (i + 1) for i in range(n)]
    balance = {h: 100 + i % 97 for i, h in enumerate(holders)}
    rows = [{"token": token, "asset_id": 1, "holder": h, "block_number": 5, "tx_hash": "0x%064x" % i, "tx_index": 0,
             "log_index": 0, "delta": v} for i, (h, v) in enumerate(balance.items())]
    checkpoint = [{"token": token, "block_number": 6, "holder": h, "balance": v} for h, v in balance.items()]
    transfers = (changes or n) // 2
    for k in range(transfers):  # holder a sends b a few units: two balance changes
        block = 7 + k // 100
        a, b = holders[(k * 7919) % n], holders[(k * 104729 + 1) % n]
        amount = 1 + k % 50
        balance[a] -= amount
        balance[b] += amount
        tx = "0x%064x" % (n + k)
        rows += [{"token": token, "asset_id": 1, "holder": a, "block_number": block, "tx_hash": tx, "tx_index": k % 100,
                  "log_index": 0, "delta": -amount},
                 {"token": token, "asset_id": 1, "holder": b, "block_number": block, "tx_hash": tx, "tx_index": k % 100,
                  "log_index": 1, "delta": amount}]
    past = 7 + (transfers - 1) // 100
    at_past = dict(balance)
    head = past + 1  # one more transfer after the past block: "now" is another block (served from the holdings)
    a, b = holders[0], holders[1]
    balance[a], balance[b] = balance[a] - 1, balance[b] + 1
    rows += [{"token": token, "asset_id": 1, "holder": h, "block_number": head, "tx_hash": "0x%064x" % (n + transfers),
              "tx_index": 0, "log_index": i, "delta": d} for i, (h, d) in enumerate(((a, -1), (b, 1)))]
    held = [{"token": token, "holder": h, "asset_id": 1, "balance": v, "block_number": 5} for h, v in balance.items() if v]
    with ledger.engine.begin() as conn:
        conn.execute(schema.meta.insert(), [{"key": "checkpoint_block", "value": str(head)},
                                            {"key": "checkpoint_hash", "value": "0x" + "00" * 32},
                                            {"key": "holdings", "value": "2"}])
        conn.execute(schema.assets.insert().values(asset_id=1, kind="property", token=token, symbol="BIG", decimals=0))
        for table, part in ((schema.balance_changes, rows), (schema.holdings, held),
                            (schema.balance_checkpoints, checkpoint)):
            for i in range(0, len(part), 20_000):
                conn.execute(table.insert(), part[i:i + 20_000])
        conn.execute(schema.supplies.insert().values(token=token, total=sum(r["balance"] for r in held),
                                                     holders=len(held)))
    if ledger.engine.dialect.name == "postgresql":
        with ledger.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    try:
        ledger.cap_table_page("BIG")  # a first query (connection, statement caches) is not what is measured
        times = []
        for _ in range(5):
            t = time.perf_counter()
            page, count, _, _ = ledger.cap_table_page("BIG")
            times.append(time.perf_counter() - t)
        first = statistics.median(times)
        assert count == n and len(page) == 50
        times = []
        for _ in range(5):
            t = time.perf_counter()
            part, count, total, block = ledger.cap_table_page("BIG", page=3, per_page=50, block=past)
            times.append(time.perf_counter() - t)
        at = statistics.median(times)
        whole = sorted(((h, v) for h, v in at_past.items() if v), key=lambda i: (-i[1], i[0]))
        assert (count, total, block) == (len(whole), sum(v for _, v in whole), past)
        assert [(r.holder, r.amount) for r in part] == whole[100:150], "the checkpoint path differs from the replay"
        return {"first_page_now_s": round(first, 4), "past_page3_s": round(at, 4), "past_block": past,
                "changes_after_checkpoint": sum(1 for r in rows if 6 < r["block_number"] <= past)}
    finally:
        ledger.close()
        shutil.rmtree(tmp, ignore_errors=True)


def serve(target: str, env: dict, workers: int, port: int) -> subprocess.Popen:
    """``rwa serve --workers N`` on the ledger ``target`` (the background anvil found by RWA_NODE_DIR)."""
    return subprocess.Popen([sys.executable, "-m", "rwaledger.cli", "serve", "--network", "anvil", "--db", target,
                             "--port", str(port), "--workers", str(workers), "--poll", "0.1"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def load_endpoints(base: str, digest: str, args: argparse.Namespace, script: Path) -> dict:
    """Load each endpoint in turn, the trivial one first (the ceiling of this run)."""
    endpoints = {
        "trivial (/api/ping)": "/api/ping",
        "asset page": "/api/assets/BENCH-API",
        "cap table, first page": "/api/assets/BENCH-API/cap-table",
        "document verification": f"/api/documents/verify?sha256={digest}",
    }
    out: dict = {}
    for label, route in endpoints.items():
        t = time.perf_counter()
        with urllib.request.urlopen(base + route, timeout=120) as resp:
            assert resp.status == 200, (route, resp.status)
            resp.read()
        single = (time.perf_counter() - t) * 1000
        r = load_wrk(base + route, args.seconds, args.connections, script)
        r["single_ms"] = round(single, 1)
        out[label] = r
        print(f"  {label:24} {r['rps']:8,.0f} req/s   p50 {r['p50_ms']:6.1f}   p95 {r['p95_ms']:6.1f}   "
              f"p99 {r['p99_ms']:6.1f} ms   (non-2xx {r['non_2xx']}, socket errors {r['socket_errors']})")
    return out


def follower_delays(base: str, reg: Services, chain, people: list, transfers: int) -> list[float]:
    """Seconds from each transfer's block being mined to the recipient's new balance in ``/api/wallets``."""
    delays = []
    for i in range(transfers):  # holder i sends one share to holder `transfers + i`
        holder, to = Signer(people[i], f"holder {i}"), people[transfers + i].address
        chain.set_balance(holder.address, 10**18)
        before = wallet_amount(base, to)
        receipt = reg.transfers.transfer("BENCH-API", holder, to, 1)
        mined = time.time()  # the transfer call returns once its block is mined (anvil mines each transaction)
        deadline = mined + 30
        while wallet_amount(base, to) == before:
            if time.time() > deadline:
                raise SystemExit(f"transfer in block {receipt.block_number} not visible in the API after 30 s")
            time.sleep(0.01)
        delays.append(time.time() - mined)
    return delays


def wallet_amount(base: str, wallet: str) -> str | None:
    body = get_json(f"{base}/api/wallets/{wallet}?limit=1")
    return next((h["amount"] for h in body["holdings"] if h["symbol"] == "BENCH-API"), None)


def verdicts(r: dict, big: int) -> dict[str, bool]:
    e = r["endpoints"]
    ceiling = e["trivial (/api/ping)"]["rps"]

    def p95(label: str) -> float:
        return e[label]["p95_ms"] if e[label]["requests"] and not e[label]["non_2xx"] else float("inf")

    return {
        "asset page p95 < 50 ms": p95("asset page") < 50,
        "asset page >= half the trivial endpoint's req/s": e["asset page"]["rps"] >= ceiling / 2,
        "cap table first page p95 < 50 ms": p95("cap table, first page") < 50,
        "cap table >= half the trivial endpoint's req/s": e["cap table, first page"]["rps"] >= ceiling / 2,
        "document verification p95 < 20 ms": p95("document verification") < 20,
        f"cap table at {big:,} holders, first page now < 0.2 s": r["big"]["first_page_now_s"] < 0.2,
        f"cap table at {big:,} holders, page 3 at a past block (checkpoint + 10,000 changes) < 0.2 s":
            r["big"]["past_page3_s"] < 0.2,
        f"cap table at {big:,} holders, page 3 at a past block (checkpoint + {big:,} changes) < 0.2 s":
            r["big_worst"]["past_page3_s"] < 0.2,
        "follower: transfer visible < 2 s after its block (median)": r["follower_median_s"] < 2,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holders", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2, help="API processes of `rwa serve --workers N`")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--transfers", type=int, default=100, help="transfers timed for the follower")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both",
                    help="the ledger database served (postgresql: a throw-away local server, rwaledger.pgcluster)")
    ap.add_argument("--out", type=Path, default=paths.BUILD_DIR / "bench" / "api.json")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (Debian: apt-get install wrk)")
    results: dict = {"command": " ".join(["scripts/bench_api.py", *sys.argv[1:]]), "holders": args.holders,
                     "workers": args.workers, "connections": args.connections, "seconds": args.seconds,
                     "cpus": os.cpu_count(), "client": "wrk -t2 (exact percentiles from its done hook)"}
    tmp = Path(tempfile.mkdtemp(prefix="rwa-bench-api-"))
    script = tmp / "percentiles.lua"
    script.write_text(WRK_LUA)
    node_dir, deployments = tmp / "node", tmp / "deployments"
    info = node.start_background(node_dir, port=free_port())
    env = {**os.environ, "RWA_NODE_DIR": str(node_dir), "RWA_DEPLOYMENTS_DIR": str(deployments)}
    for name in ("RWA_PRIVATE_KEY", "RWA_KEYSTORE", "RWA_LEDGER_URL"):
        env.pop(name, None)
    cleanups: list = []
    try:
        chain = AnvilChain(url=info["url"])
        session = open_session(chain=chain, record=True, deployments_dir=deployments)
        stack = deploy_stack(session)
        reg = Services(stack)
        reg.assets.register(property_spec("BENCH-API", 10**9))
        deed = tmp / "deed.txt"
        deed.write_text("title deed of the benchmark parcel\n")
        reg.assets.add_document("BENCH-API", parse(DocumentSpec, {"name": "title-deed", "file": str(deed),
                                                                   "uri": "ipfs://d", "effective_date": "2026-01-01"},
                                                   "doc"))
        t = time.perf_counter()
        people = investors(max(args.holders, 2 * args.transfers), seed=3)
        onboard(reg, people, "BENCH-API", 10)
        results["populate_s"] = round(time.perf_counter() - t, 1)
        print(f"{len(people):,} holders on chain in {results['populate_s']} s")
        digest = __import__("hashlib").sha256(deed.read_bytes()).hexdigest()
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        results["backends"] = {}
        pg = None
        for backend in backends:
            if backend == "postgresql":
                from rwaledger.pgcluster import PgCluster

                pg = PgCluster.start(tmp / "pg")
                cleanups.append(pg.stop)
                target = pg.create_database("bench")
            else:
                target = str(tmp / "ledger.sqlite")
            ledger = Ledger.open(target)
            t = time.perf_counter()
            ledger.sync(stack)
            r: dict = {"sync_s": round(time.perf_counter() - t, 1)}
            ledger.close()
            print(f"{backend}: ledger synced in {r['sync_s']} s; rwa serve --workers {args.workers} "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
            port = free_port()
            server = serve(target, env, args.workers, port)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_http(base + "/health", proc=server)
                time.sleep(2)  # every worker up (each has loaded its ledger and stack)
                r["load_before"] = [round(x, 2) for x in os.getloadavg()]  # the machine is shared: say how busy
                r["endpoints"] = load_endpoints(base, digest, args, script)
                r["load_after"] = [round(x, 2) for x in os.getloadavg()]
                delays = follower_delays(base, reg, chain, people, args.transfers)
                r["follower_median_s"] = round(statistics.median(delays), 3)
                r["follower_max_s"] = round(max(delays), 3)
                print(f"  follower: a transfer visible in the API {r['follower_median_s'] * 1000:.0f} ms after its "
                      f"block (median of {len(delays)}, max {r['follower_max_s'] * 1000:.0f} ms; poll 0.1 s)")
            finally:
                stop(server)
            people = people[2 * args.transfers:] + people[:2 * args.transfers]  # the next backend moves others
            big_target = None
            if backend == "postgresql":
                big_target = pg.create_database("big")  # type: ignore[union-attr]
            r["big"] = big_cap_table(args.big, big_target, changes=10_000)
            if backend == "postgresql":
                big_target = pg.create_database("big_worst")  # type: ignore[union-attr]
            r["big_worst"] = big_cap_table(args.big, big_target)
            for key, what in (("big", "the fewest changes before a checkpoint"), ("big_worst", "the most")):
                print(f"  cap table at {args.big:,} holders (synthetic rows): first page now "
                      f"{r[key]['first_page_now_s'] * 1000:.0f} ms; page 3 at past block {r[key]['past_block']} "
                      f"(checkpoint + {r[key]['changes_after_checkpoint']:,} changes: {what}) "
                      f"{r[key]['past_page3_s'] * 1000:.0f} ms")
            r["targets"] = verdicts(r, args.big)
            for name, ok in r["targets"].items():
                print(f"  {'PASS' if ok else 'MISS'}  {name}")
            results["backends"][backend] = r
    finally:
        for stop_pg in cleanups:
            stop_pg()
        node.stop_background(node_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
