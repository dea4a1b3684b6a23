"""The main job: the end-to-end registrar demo on the in-process chain, nothing to configure.

Run it with `make demo` (or `.venv/bin/python scripts/demo.py`). It:

1. compiles the contracts and deploys the stack on the in-process chain;
2. registers a Lahore apartment (10,000 shares) and gold in a Karachi vault (two custody lots);
3. onboards investors from several countries from a CSV;
4. mints shares and gold from an allocations CSV (and shows a re-run mints nothing);
5. makes transfers, one of them rejected for a clear, printed reason;
6. pays a rent distribution pro rata to the cap table at a record block; holders claim;
7. redeems some gold (one request fulfilled from a lot, one rejected);
8. syncs the ledger and prints the cap tables and the reconciliation result.

The example specs and CSVs are in scripts/examples/.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rwaledger.models import AssetSpec, InvestorSpec, MintRequest, load_csv, load_spec
from rwaledger.registrar import Registrar, TransferRejected
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

EXAMPLES = Path(__file__).resolve().parent / "examples"
console = Console()


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def cap_table(title: str, rows, names: dict[str, str]) -> Table:
    t = Table(title=title)
    for col in ("holder", "wallet", "amount", "percent", "country"):
        t.add_column(col, justify="right" if col in ("amount", "percent") else "left")
    for r in rows:
        t.add_row(names.get(r.holder, "-"), r.holder, f"{r.amount:,}", f"{r.percent:.2f}%", str(r.country or "-"))
    return t


def main(ledger_path: Path | None = None) -> int:
    with open_session("tester") as s:
        step("1. compile and deploy")
        b = s.build
        console.print(f"compiled {len(b.artifacts)} contracts with {b.compiler.describe()} "
                      f"({'from cache' if b.cached else 'fresh'}, {b.seconds:.2f}s)")
        stack = deploy_stack(s)
        for name, address in stack.addresses().items():
            console.print(f"  {name:20} {address}")
        reg = Registrar(stack)

        step("2. register assets")
        apartment = load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec)
        gold = load_spec(EXAMPLES / "karachi-gold.toml", AssetSpec)
        for spec in (apartment, gold):
            outcome = reg.register_asset(spec)
            console.print(f"  {outcome.detail}; " + "; ".join(outcome.data["steps"]))
        console.print(f"  again: {reg.register_asset(apartment).detail}")

        step("3. onboard investors")
        investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
        console.print(f"  {reg.add_investors(investors).detail}")
        names = {i.wallet: i.label for i in investors}
        keys = {a.address: a for a in s.chain.dev_accounts}  # the demo's investors are local dev accounts
        signer = {w: Signer(keys[w], names[w]) for w in names}
        ayesha, bilal, fatima, fund, omar, blocked = (i.wallet for i in investors)

        step("4. mint from allocations")
        allocations = load_csv(EXAMPLES / "allocations.csv", MintRequest)
        console.print(f"  {reg.mint_many(allocations).detail}")
        console.print(f"  re-run: {reg.mint_many(allocations).detail}")
        one_more = MintRequest(asset="LHR-GH12B", to=omar, amount=500, reference="sale-deed-2026-0105")
        console.print(f"  {reg.mint(one_more).detail}; again: {reg.mint(one_more).detail}")
        minted_block = s.chain.w3.eth.block_number

        step("5. transfers")
        receipt = reg.transfer("LHR-GH12B", signer[ayesha], fatima, 250)
        console.print(f"  {names[ayesha]} -> {names[fatima]}: 250 shares (gas {receipt.gas_used:,})")
        receipt = reg.transfer("KHI-GOLD", signer[omar], bilal, 100_000)
        console.print(f"  {names[omar]} -> {names[bilal]}: 100 g of gold (gas {receipt.gas_used:,})")
        block_before = s.chain.w3.eth.block_number
        try:
            reg.transfer("LHR-GH12B", signer[ayesha], blocked, 100)
        except TransferRejected as exc:
            console.print(f"  [red]rejected[/] before sending: {exc}")
        assert s.chain.w3.eth.block_number == block_before, "a rejected transfer must send nothing"
        try:
            reg.transfer("LHR-GH12B", signer[bilal], fund, 2500)
        except TransferRejected as exc:
            console.print(f"  [red]rejected[/] before sending: {exc}")

        step("6. rent distribution")
        pkr = s.deployer.deploy("TestStablecoin")
        s.tx.transact(pkr.functions.mint(s.signer.address, 10**12))
        record_block = s.chain.w3.eth.block_number
        rent = 425_000 * 10**6  # one month's rent, 6-decimal test stablecoin
        expiry = dt.datetime.fromtimestamp(s.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=90)
        outcome = reg.distribute("LHR-GH12B", pkr.address, rent, expiry, record_block)
        dist_id = outcome.data["distribution_id"]
        console.print(f"  {outcome.detail} (record block {record_block})")
        for wallet in (ayesha, fatima, fund):
            claimed = reg.claim(dist_id, wallet, signer[wallet])
            balance = pkr.functions.balanceOf(wallet).call()
            console.print(f"  {names[wallet]} claimed {claimed.data['amount'] / 10**6:,.2f} (balance {balance / 10**6:,.2f})")

        step("7. redeem gold")
        rid = reg.request_redemption("KHI-GOLD", signer[omar], 250_000, "deliver to Omar, Riyadh")
        console.print(f"  {names[omar]} asked to redeem 250 g (request #{rid}); units locked")
        console.print(f"  {reg.fulfil_redemption('KHI-GOLD', rid, 'KHI-LOT-2026-001').detail}")
        rid2 = reg.request_redemption("KHI-GOLD", signer[bilal], 50_000, "pickup Karachi")
        console.print(f"  {reg.reject_redemption('KHI-GOLD', rid2, 'ID mismatch at pickup').detail}")
        gold_info = reg.asset("KHI-GOLD")
        console.print(f"  gold supply {gold_info.total_supply / 1000:,.3f} g <= attested reserve "
                      f"{gold_info.max_supply / 1000:,.3f} g")

        step("8. ledger")
        return _ledger_step(stack, ledger_path, minted_block, names)


def _ledger_step(stack, ledger_path: Path | None, minted_block: int, names: dict[str, str]) -> int:
    from rwaledger.ledger import Ledger

    path = ledger_path or Path(tempfile.mkdtemp(prefix="rwa-demo-")) / "ledger.sqlite"
    ledger = Ledger.open(path)
    result = ledger.sync(stack)
    console.print(f"  synced {result.events:,} events up to block {result.to_block} into {path}")
    console.print(cap_table(f"LHR-GH12B right after minting (block {minted_block})",
                            ledger.cap_table("LHR-GH12B", block=minted_block), names))
    console.print(cap_table("LHR-GH12B now", ledger.cap_table("LHR-GH12B"), names))
    console.print(cap_table("KHI-GOLD now (milligrams)", ledger.cap_table("KHI-GOLD"), names))
    by_country = ", ".join(f"{c.country}: {c.percent:.1f}%" for c in ledger.totals_by_country("LHR-GH12B"))
    console.print(f"  LHR-GH12B by country: {by_country}")
    report = ledger.reconcile(stack)
    if report.differences:
        console.print(f"[red]reconciliation found {len(report.differences)} differences[/]")
        for d in report.differences:
            console.print(f"  {d}")
        return 1
    console.print(f"[green]reconciliation at block {report.block}: the ledger matches the chain[/] "
                  f"({report.holders} holder balances and {report.tokens} total supplies checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
