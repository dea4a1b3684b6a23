"""Benchmark the off-chain ledger on anvil: sync throughput over >= 20,000 events and the cap-table time for
10,000 holders.

Sets up a fresh anvil with the stack, registers HOLDERS investors (batchRegisterIdentity), creates a
property token, activates its asset and mints to every holder (batchMint, one allocation reference each),
gives a few investors a second wallet holding part of their units, makes a few transfers; then syncs a fresh
SQLite ledger from block 0 and times it (end to end: eth_getLogs, decoding, projections, writes), times
``cap_table`` (one row per wallet) and ``investor_cap_table`` (one row per investor; median of 5 each),
reconciles (balances, supplies, and every investor and wallet against the registry), and writes
build/bench/ledger.json.

    .venv/bin/python scripts/bench_ledger.py [--holders 10000] [--chunk 300] [--batch-blocks 2000] [--multi 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from eth_utils import keccak, to_checksum_address

from rwaledger import paths
from rwaledger.chain import AnvilChain
from rwaledger.ledger import Ledger
from rwaledger.session import open_session
from rwaledger.stack import deploy_stack

PK, AE, GB = 586, 784, 826


def holders(n: int) -> list[str]:
    return [to_checksum_address(keccak(b"bench-holder-%d" % i)[:20]) for i in range(n)]


def second_wallet(i: int) -> str:
    return to_checksum_address(keccak(b"bench-second-wallet-%d" % i)[:20])


def setup(session, n: int, chunk: int, multi: int):
    stack = deploy_stack(session)
    tx = session.tx
    now = session.chain.timestamp()
    wallets = holders(n)
    dev = [a.address for a in session.chain.dev_accounts[1:4]]
    everyone = dev + wallets
    countries = [(PK, AE, GB)[i % 3] for i in range(len(everyone))]
    t = time.perf_counter()
    hashes = []
    for i in range(0, len(everyone), chunk):
        part = slice(i, i + chunk)
        fn = stack.identity.functions.batchRegisterIdentity(
            everyone[part], countries[part], [now + 10**8] * len(everyone[part]), [1] * len(everyone[part])
        )
        hashes.append(tx.send(fn, gas=29_000_000))
    tx.wait_all(hashes)
    params = (b"PK", "BENCH-1", "Bench Tower, plot 1", "ipfs://bench", 10**12, b"PKR", now)
    tx.transact(stack.factory.functions.createPropertyToken(params, ("Bench Tower", "BENCH", 18, 10**30, PK)))
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    tx.transact(stack.registry.functions.setStatus(1, 1))  # Active: tokens mint only then
    hashes = []
    for i in range(0, len(everyone), chunk):
        to = everyone[i : i + chunk]
        amounts = [(j % 97 + 1) * 10**18 for j in range(i, i + len(to))]
        refs = [keccak(b"bench-mint-%d" % j) for j in range(i, i + len(to))]  # one reference per allocation
        hashes.append(tx.send(token.functions.batchMint(to, amounts, refs), gas=29_000_000))
    tx.wait_all(hashes)
    from rwaledger.signers import Signer

    # the first `multi` investors get a second wallet (bound by the compliance officer), minted into directly
    hashes = []
    for i in range(multi):
        hashes.append(tx.send(stack.identity.functions.addWallet(wallets[i], second_wallet(i))))
    tx.wait_all(hashes)
    hashes = [tx.send(token.functions.mint(second_wallet(i), 10**18, keccak(b"bench-second-%d" % i)))
              for i in range(multi)]
    tx.wait_all(hashes)
    for i, signer in enumerate(session.chain.dev_accounts[1:4]):
        sender = session.transactor(Signer(signer, f"dev {i + 1}"))
        sender.transact(token.functions.transfer(wallets[i], 10**17))
    return stack, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--holders", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=300)  # allocations per batchMint (each writes its reference)
    ap.add_argument("--batch-blocks", type=int, default=2_000)
    ap.add_argument("--multi", type=int, default=100, help="investors given a second wallet")
    args = ap.parse_args()

    with AnvilChain.start() as chain:
        session = open_session(chain=chain, record=False)
        stack, setup_s = setup(session, args.holders, args.chunk, args.multi)
        with tempfile.TemporaryDirectory() as tmp:
            ledger = Ledger.open(Path(tmp) / "ledger.sqlite")
            result = ledger.sync(stack, batch_blocks=args.batch_blocks)
            times, investor_times = [], []
            for _ in range(5):
                t = time.perf_counter()
                rows = ledger.cap_table("BENCH")
                times.append(time.perf_counter() - t)
                t = time.perf_counter()
                investor_rows = ledger.investor_cap_table("BENCH")
                investor_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            countries = ledger.totals_by_country("BENCH")
            countries_s = time.perf_counter() - t
            token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
            holder_count = token.functions.holderCount().call()  # investors holding units, as the token counts
            t = time.perf_counter()
            report = ledger.reconcile(stack)
            reconcile_s = time.perf_counter() - t
            ledger.close()
    figures = {
        "chain": "anvil",
        "setup_s": round(setup_s, 2),
        "blocks": result.blocks,
        "events": result.events,
        "sync_s": round(result.seconds, 3),
        "sync_events_per_s": round(result.events_per_second),
        "cap_table_holders": len(rows),
        "cap_table_median_s": round(statistics.median(times), 4),
        "cap_table_max_s": round(max(times), 4),
        "investor_cap_table_investors": len(investor_rows),
        "investor_cap_table_matches_holder_count": len(investor_rows) == holder_count,
        "investor_cap_table_median_s": round(statistics.median(investor_times), 4),
        "totals_by_country_s": round(countries_s, 4),
        "totals_by_country_holders": sum(c.holders for c in countries),
        "reconcile_s": round(reconcile_s, 3),
        "reconcile_checked": {"balances": report.holders, "investors": report.investors, "wallets": report.wallets},
        "reconcile_ok": report.ok,
        "targets": {"sync_events_per_s": 5000, "cap_table_s": 1.0},
    }
    out = paths.BUILD_DIR / "bench" / "ledger.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    for k, v in figures.items():
        print(f"{k:40} {v}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
