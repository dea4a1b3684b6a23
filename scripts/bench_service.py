"""Throughput benchmark of the registrar service and the ledger, on anvil.

    .venv/bin/python scripts/bench_service.py [--transfers 2000] [--investors 1000] [--holders 10000] [--claims 1000]

Prints the figures and writes build/bench/service.json:

* onboarding and minting ``--investors`` investors (batched, pipelined);
* ``service_transfers_per_s``: ``--transfers`` compliant share transfers end to end through the service
  (pre-checked with detectTransferRestriction, signed locally, pipelined, confirmed) and recorded in the ledger (synced);
* ``web3_loop_transfers_per_s``: the same transfers through a plain web3.py loop
  (``contract.functions.transfer(...).transact()`` and ``wait_for_transaction_receipt``), and the ratio;
  also the same loop polling every 5 ms (``web3_loop_fast_poll_transfers_per_s``), the best a
  one-transaction-at-a-time loop does;
* ``raw_ceiling_transfers_per_s``: anvil's own rate for the same transfers pre-signed before the clock starts and
  sent as raw transactions as fast as anvil takes them: JSON-RPC batches, a window of 200 broadcast while the
  previous one is mined (all at once, anvil's pool crawls), and ``service_vs_ceiling_percent``, the service's rate as a percent of it;
* ``claims_per_s``: ``--claims`` distribution claims of as many holders, paid by the registrar in one
  ``claim_many`` call (pre-checked in batched reads, pipelined, confirmed);
* ``ledger_sync_events_per_s``: a fresh ledger syncing every event of the run (at least 20,000);
* ``cap_table_10k_holders_s``: the cap table at a block for a token with ``--holders`` holders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path

from eth_account import Account

from rwaledger import paths
from rwaledger.ledger import Ledger
from rwaledger.models import InvestorSpec, MintRequest, PropertySpec, parse
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack
from rwaledger.transactions import WINDOW, pipeline
from rwaledger.services.selectors import TRANSFER, TRANSFER_GAS
from eth_abi import encode as abi_encode

COUNTRIES = ["PK", "AE", "GB", "SA", "US", "DE", "SG", "QA"]


def property_spec(symbol: str, shares: int) -> PropertySpec:
    return parse(PropertySpec, {
        "name": f"Bench {symbol}", "symbol": symbol, "legal_reference": f"BENCH/{symbol}", "jurisdiction": "PK",
        "location": "Lahore", "metadata_uri": "ipfs://bench", "total_shares": shares,
        "valuation": {"amount": "1000000", "currency": "PKR", "date": "2026-11-01"},
        "rules": {"blocked_countries": ["KP"], "max_holders": 100_000},
    }, symbol)


def investors(n: int, seed: int) -> list:
    rng = random.Random(seed)
    return [Account.from_key(rng.randbytes(32)) for _ in range(n)]


def onboard(reg: Services, accounts: list, symbol: str, amount: int) -> tuple[float, float]:
    expiry = dt.date.today() + dt.timedelta(days=365)
    specs = [InvestorSpec(wallet=a.address, country=COUNTRIES[i % len(COUNTRIES)], kyc_expiry=expiry)
             for i, a in enumerate(accounts)]
    t = time.perf_counter()
    reg.investors.add_many(specs)
    t_onboard = time.perf_counter() - t
    t = time.perf_counter()
    reg.issuance.mint_many([MintRequest(asset=symbol, to=a.address, amount=amount, reference=f"{symbol}-{i}")
                   for i, a in enumerate(accounts)])
    return t_onboard, time.perf_counter() - t


def setup(session, n_investors: int, n_transfers: int):
    """Deploy the stack, register an asset, onboard and fund investors, and plan the transfers."""
    stack = deploy_stack(session)
    reg = Services(stack)
    reg.assets.register(property_spec("BENCH-A", 10**9))
    people = investors(n_investors, seed=1)
    t_onboard, t_mint = onboard(reg, people, "BENCH-A", 1_000)
    for a in people:  # gas money for the senders
        session.chain.set_balance(a.address, 10**20)
    rng = random.Random(7)
    plan = [(people[rng.randrange(len(people))], people[rng.randrange(len(people))]) for _ in range(n_transfers)]
    plan = [(a, b) for a, b in plan if a.address != b.address]
    return stack, reg, people, plan, t_onboard, t_mint


def web3_loop(session, n_investors: int, n_transfers: int, poll: float) -> float:
    """The plain loop on a fresh node set up the same way: transact() then wait for the receipt."""
    _, reg, _, plan, _, _ = setup(session, n_investors, n_transfers)
    token, w3 = reg.assets.token("BENCH-A"), session.chain.w3
    session.chain._rpc("anvil_autoImpersonateAccount", [True])  # the node signs for the senders
    t = time.perf_counter()
    for a, b in plan:
        h = token.functions.transfer(b.address, 1).transact({"from": a.address})
        w3.eth.wait_for_transaction_receipt(h, poll_latency=poll)
    return len(plan) / (time.perf_counter() - t)


def raw_ceiling(session, n_investors: int, n_transfers: int) -> float:
    """Anvil's own rate: the same transfers on a fresh node set up the same way, signed before the clock starts and
    sent raw in JSON-RPC batches, a window broadcast while the previous one is mined (the cadence anvil sustains:
    broadcasting all 2,000 at once made it take over 60 s for one batch of 200); nothing else is timed."""
    _, reg, people, plan, _, _ = setup(session, n_investors, n_transfers)
    token = reg.assets.token("BENCH-A").address
    signers = {a.address: Signer(a, "bench investor") for a in people}
    ctx = reg.transfers.ctx
    ctx.prepare_senders(signers[a.address] for a, _ in plan)
    signed = [ctx.sender(signers[a.address]).sign_data(
        token, TRANSFER + abi_encode(["address", "uint256"], [b.address, 1]), gas=TRANSFER_GAS) for a, b in plan]
    t = time.perf_counter()
    pipeline(session.chain, signed, lambda x: x, decoder_from=ctx.tx)
    return len(signed) / (time.perf_counter() - t)


def claims(session, reg: Services, people: list, n_claims: int) -> float:
    """A distribution to ``n_claims`` holders of BENCH-A, all claimed by the registrar in one ``claim_many``."""
    coin = session.deployer.deploy("TestStablecoin")
    reg.tx.transact(coin.functions.mint(reg.tx.address, 10**24))
    holders = people[:n_claims]
    expiry = dt.datetime.fromtimestamp(session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    made = reg.distributions.distribute("BENCH-A", coin.address, 10**21, expiry,
                                        balances={a.address: 1_000 for a in holders})
    dist = made.facts["distribution_id"]
    reg.distributions.plan(dist).tree.proof(0)  # the tree is built: the clock measures the claims
    t = time.perf_counter()
    paid = reg.distributions.claim_many(dist, [a.address for a in holders])
    elapsed = time.perf_counter() - t
    assert paid.facts["claimed"] == len(holders) and paid.facts["amount"] == 10**21, paid.facts
    return len(holders) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transfers", type=int, default=2000)
    ap.add_argument("--investors", type=int, default=1000)
    ap.add_argument("--holders", type=int, default=10_000)
    ap.add_argument("--claims", type=int, default=1000, help="claims of as many holders (at most --investors)")
    args = ap.parse_args()
    results: dict[str, float | int] = {}

    # Each way of sending gets its own fresh anvil set up identically: anvil slows down as blocks pile up
    # (the plain loop mines one block per transfer), which would otherwise penalise whatever runs second.
    with open_session("anvil", record=False) as s:
        stack, reg, people, plan, t_onboard, t_mint = setup(s, args.investors, args.transfers)
        results.update(investors=args.investors, onboard_investors_s=round(t_onboard, 3),
                       mint_investors_s=round(t_mint, 3))
        print(f"onboarded {args.investors} investors in {t_onboard:.2f}s, minted to them in {t_mint:.2f}s")
        signers = {a.address: Signer(a, "bench investor") for a in people}
        ledger_path = Path(tempfile.mkdtemp(prefix="rwa-bench-")) / "ledger.sqlite"
        ledger = Ledger.open(ledger_path)
        ledger.sync(stack)  # up to date before the clock starts: the timed sync sees only the transfers

        t = time.perf_counter()
        reg.transfers.transfer_many([("BENCH-A", signers[a.address], b.address, 1) for a, b in plan])
        t_sent = time.perf_counter() - t
        synced = ledger.sync(stack)
        t_service = time.perf_counter() - t
        service_rate = len(plan) / t_service
        print(f"service: {len(plan)} transfers pre-checked, sent, confirmed and in the ledger in {t_service:.2f}s "
              f"= {service_rate:,.0f} tx/s (sending {t_sent:.2f}s, ledger sync of {synced.events} events "
              f"{t_service - t_sent:.2f}s)")
        results.update(transfers=len(plan), service_transfers_per_s=round(service_rate, 1))

        claim_rate = claims(s, reg, people, min(args.claims, len(people)))
        print(f"claims: {min(args.claims, len(people))} claims pre-checked, sent and confirmed (claim_many) "
              f"= {claim_rate:,.1f} claims/s")
        results.update(claims=min(args.claims, len(people)), claims_per_s=round(claim_rate, 1))

        # A token with many holders, for the cap table and a large sync.
        reg.assets.register(property_spec("BENCH-B", 10**9))
        onboard(reg, investors(args.holders, seed=2), "BENCH-B", 10)
        cap_block = s.chain.w3.eth.block_number
        fresh = Ledger.open(ledger_path.with_name("fresh.sqlite"))
        t = time.perf_counter()
        result = fresh.sync(stack)
        t_sync = time.perf_counter() - t
        sync_rate = result.events / t_sync
        print(f"ledger sync: {result.events:,} events in {t_sync:.2f}s = {sync_rate:,.0f} events/s")
        t = time.perf_counter()
        rows = fresh.cap_table("BENCH-B", block=cap_block)
        t_cap = time.perf_counter() - t
        assert len(rows) == args.holders, len(rows)
        print(f"cap table at block {cap_block} for {len(rows):,} holders: {t_cap * 1000:.0f} ms")
        results.update(ledger_sync_events=result.events, ledger_sync_events_per_s=round(sync_rate),
                       cap_table_holders=len(rows), cap_table_10k_holders_s=round(t_cap, 4))

    with open_session("anvil", record=False) as s:
        ceiling = raw_ceiling(s, args.investors, args.transfers)
    print(f"raw ceiling: {ceiling:,.0f} tx/s pre-signed raw transfers sent in batches, pipelined {WINDOW} at a time; "
          f"the service does {100 * results['service_transfers_per_s'] / ceiling:.0f}% of it")
    results.update(raw_ceiling_transfers_per_s=round(ceiling, 1),
                   service_vs_ceiling_percent=round(100 * results["service_transfers_per_s"] / ceiling, 1))
    with open_session("anvil", record=False) as s:
        loop_rate = web3_loop(s, args.investors, args.transfers, poll=0.1)
    print(f"web3 loop: {loop_rate:,.1f} tx/s (transact + wait_for_transaction_receipt, default 0.1 s polling)")
    with open_session("anvil", record=False) as s:
        fast_rate = web3_loop(s, args.investors, args.transfers, poll=0.005)
    print(f"web3 loop, 5 ms polling: {fast_rate:,.1f} tx/s (the best a one-at-a-time loop does)")
    results.update(web3_loop_transfers_per_s=round(loop_rate, 1),
                   service_vs_loop_ratio=round(results["service_transfers_per_s"] / loop_rate, 1),
                   web3_loop_fast_poll_transfers_per_s=round(fast_rate, 1),
                   service_vs_fast_poll_loop_ratio=round(results["service_transfers_per_s"] / fast_rate, 1))

    targets = {
        "service_vs_loop_ratio >= 10": results["service_vs_loop_ratio"] >= 10,
        "service_vs_fast_poll_loop_ratio >= 10": results["service_vs_fast_poll_loop_ratio"] >= 10,
        "ledger_sync_events_per_s >= 5000": results["ledger_sync_events_per_s"] >= 5000,
        "cap_table_10k_holders_s < 1": results["cap_table_10k_holders_s"] < 1,
        "claims_per_s >= 200": results["claims_per_s"] >= 200,
        "service_vs_ceiling_percent >= 80": results["service_vs_ceiling_percent"] >= 80,
    }
    for name, ok in targets.items():
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    out = paths.BUILD_DIR / "bench" / "service.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
