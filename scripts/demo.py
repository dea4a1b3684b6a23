"""The main job: the end-to-end registrar demo on the in-process chain, nothing to configure.

Run it with `make demo` (or `.venv/bin/python scripts/demo.py`). It:

1. compiles the contracts and deploys the stack on the in-process chain;
2. registers a Lahore apartment (10,000 shares) and gold in a Karachi vault (two custody lots), and shows that the
   same parcel cannot be registered again under another spelling (neither through the service nor on chain);
3. onboards investors from several countries from a CSV, one of them with two wallets;
4. moves the registrar role to a 2-of-3 Safe multisig of three registry officers (dev accounts): from then on a
   registrar act is proposed, approved by two officers and executed; the registrar's own key is refused;
5. mints shares and gold from an allocations CSV through the Safe (one proposal, its approvals, its execution), and
   shows that re-running the allocations in another order, or one allocation on its own, mints nothing;
6. makes transfers, some rejected for a clear, printed reason (a limit per investor counts both its wallets);
7. pays a rent distribution (funded by the Safe, proposed and approved) pro rata to the cap table; holders claim;
8. redeems some gold (one request fulfilled from a lot, one rejected);
9. syncs the ledger and prints the cap tables by investor, with names, the Safe's audit and the reconciliation.

The example specs and CSVs are in scripts/examples/.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table
from web3.logs import DISCARD

from rwaledger.errors import ContractRevert
from rwaledger.ledger import Ledger
from rwaledger.models import AssetSpec, InvestorSpec, MintRequest, load_csv, load_spec, parse
from rwaledger.proposals import ProposalError, ProposalStore, SafeRoute
from rwaledger.services import AssetExists, Services, RegistrarError, TransferRejected
from rwaledger.roles import deploy_with_roles, parse_holder
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack
from rwaledger.render import describe

ZERO = "0x0000000000000000000000000000000000000000"
EXAMPLES = Path(__file__).resolve().parent / "examples"
console = Console()


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def investor_table(title: str, rows, unit: str = "") -> Table:
    t = Table(title=title)
    for col in ("investor", "wallets", "amount", "percent", "country"):
        t.add_column(col, justify="right" if col in ("amount", "percent") else "left")
    for r in rows:
        wallets = "\n".join(f"{w} ({a:,}{unit})" for w, a in r.wallets) if len(r.wallets) > 1 else r.wallets[0][0]
        t.add_row(r.label or r.investor, wallets, f"{r.amount:,}{unit}", f"{r.percent:.2f}%", str(r.country or "-"))
    return t


def main(ledger_path: Path | None = None) -> int:
    path = ledger_path or Path(tempfile.mkdtemp(prefix="rwa-demo-")) / "ledger.sqlite"
    ledger = Ledger.open(path)
    with open_session("tester") as s:
        return run(s, ledger, path)[1]


def run(s, ledger: Ledger, path: Path):
    """The demo on session ``s`` (any local chain with dev accounts), its ledger in ``ledger`` (at ``path``).
    Returns the stack and 0 when the ledger reconciles with the chain (``rwa serve --demo`` serves it)."""
    step("1. compile and deploy")
    b = s.build
    console.print(f"compiled {len(b.artifacts)} contracts with {b.compiler.describe()} "
                  f"({'from cache' if b.cached else 'fresh'}, {b.seconds:.2f}s)")
    stack = deploy_stack(s)
    for name, address in stack.addresses().items():
        console.print(f"  {name:20} {address}")
    reg = Services(stack, ledger=ledger)

    step("2. register assets")
    apartment = load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec)
    gold = load_spec(EXAMPLES / "karachi-gold.toml", AssetSpec)
    for spec in (apartment, gold):
        outcome = reg.assets.register(spec)
        console.print(f"  {describe(outcome)}; " + "; ".join(describe(s) for s in outcome.done_steps))
    console.print(f"  the same spec again: {describe(reg.assets.register(apartment))}")
    lower = parse(AssetSpec, {**apartment.model_dump(), "symbol": "LHR-GH12B-B",
                              "legal_reference": apartment.legal_reference.lower().replace("-", " ")}, "variant")
    try:
        reg.assets.register(lower)
    except AssetExists as exc:
        console.print(f"  [red]refused[/] {lower.legal_reference!r}: {exc}")
    raw = (b"PK", apartment.legal_reference.lower(), "", "ipfs://x", 0, b"\0\0\0", 0)
    try:  # a client that skips the service gets no further: the registry itself refuses non-canonical text
        s.tx.transact(stack.factory.functions.createPropertyToken(raw, ("Copy", "LHR-COPY", 0, 10, 586)))
    except ContractRevert as exc:
        console.print(f"  [red]refused on chain[/]: {exc.name}(position {exc.args_by_name['position']})")

    step("3. onboard investors")
    investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
    console.print(f"  {describe(reg.investors.add_many(investors))}")
    labels = {i.wallet: i.label for i in investors if i.label}
    keys = {a.address: a for a in s.chain.dev_accounts}  # the demo's investors are local dev accounts
    signer = {i.wallet: Signer(keys[i.wallet], i.label or i.wallet) for i in investors}
    ayesha, bilal, fatima, fund, omar, blocked, bilal2 = (i.wallet for i in investors)
    console.print(f"  {labels[bilal]} has two wallets: {bilal} and {bilal2}")

    step("4. four eyes: the registrar role moves to a 2-of-3 Safe")
    officers = [Signer(s.chain.dev_accounts[i], name) for i, name in ((0, "officer Hina"), (8, "officer Kamran"),
                                                                       (9, "officer Sana"))]
    spec = ",".join(o.address for o in officers) + ":2"
    _, held = deploy_with_roles(s, {"registrar": parse_holder("registrar", spec, "demo")})
    route = SafeRoute(s, stack, held["registrar"], ProposalStore(ledger.engine))
    board = Services(stack, ledger=ledger, via=route)  # registrar acts become proposals to the Safe
    console.print(f"  registrar: Safe {route.address} (2 of 3: {', '.join(o.source for o in officers)}); the "
                  "deployer's key keeps compliance and custody")
    try:  # the key's registrar, which held the role a moment ago, tries anyway: the chain refuses it
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=ayesha, amount="1 shares", reference="by-one-key"))
    except (RegistrarError, ContractRevert) as exc:
        console.print(f"  [red]refused[/] one key minting alone: {exc}")

    def approve_and_execute(outcome, show: bool) -> object:
        """Two officers approve the proposal (the first one alone cannot execute it), then it runs."""
        pid = outcome.proposal.id
        if show:
            p = route.store.get(pid)
            console.print(f"  proposal #{pid} (Safe nonce {p.tx.nonce}, hash {p.safe_tx_hash[:18]}...):")
            for c in p.calls:
                console.print(f"    {c.text}", highlight=False)
            console.print(f"    pre-check: {route.precheck(p)[1]}")
        route.approve(pid, officers[0])
        if show:
            console.print(f"  approved by {officers[0].source} (1 of 2)")
            try:
                route.execute(pid)
            except ProposalError as exc:
                console.print(f"  [red]not executed[/]: {exc}")
        route.approve(pid, officers[2])
        p, receipt = route.execute(pid)
        console.print(f"  approved by {officers[2].source} (2 of 2); executed in block {receipt.block_number} "
                      f"(gas {receipt.gas_used:,})" if show else f"  proposal #{pid} approved by "
                      f"{officers[0].source} and {officers[2].source}, executed (gas {receipt.gas_used:,})")
        return receipt

    step("5. mint from allocations, through the Safe")
    allocations = load_csv(EXAMPLES / "allocations.csv", MintRequest)
    receipt = approve_and_execute(board.issuance.mint_many(allocations), show=True)
    issued = board.assets.token("LHR-GH12B").events.Transfer().process_receipt(receipt.raw, errors=DISCARD)
    console.print(f"  {sum(1 for e in issued if e['args']['from'] == ZERO)} allocations minted")
    console.print(f"  the same allocations in reverse order: {describe(board.issuance.mint_many(list(reversed(allocations))))}")
    first = allocations[0]
    again = MintRequest(asset=first.asset, to=first.to, amount=first.amount, reference=first.reference)
    console.print(f"  {first.reference} on its own: {describe(board.issuance.mint(again))}")
    one_more = MintRequest(asset="LHR-GH12B", to=omar, amount="500 shares", reference="sale-deed-2026-0105")
    approve_and_execute(board.issuance.mint(one_more), show=False)
    console.print(f"  {one_more.reference} again: {describe(board.issuance.mint(one_more))}")
    minted_block = s.chain.w3.eth.block_number

    step("6. transfers")
    lhr = reg.assets.token("LHR-GH12B")
    receipt = reg.transfers.transfer("LHR-GH12B", signer[ayesha], fatima, "250 shares")
    console.print(f"  {labels[ayesha]} -> {labels[fatima]}: 250 shares (gas {receipt.gas_used:,})")
    receipt = reg.transfers.transfer("KHI-GOLD", signer[omar], bilal, "100 g")
    console.print(f"  {labels[omar]} -> {labels[bilal]}: 100 g of gold (gas {receipt.gas_used:,})")
    holders = lhr.functions.holderCount().call()
    receipt = reg.transfers.transfer("LHR-GH12B", signer[bilal], bilal2, 500)
    console.print(f"  {labels[bilal]} moves 500 shares to his second wallet: {holders} holders before, "
                  f"{lhr.functions.holderCount().call()} after (one investor counts once)")
    block_before = s.chain.w3.eth.block_number
    for sender, to, amount in ((ayesha, blocked, 100), (ayesha, bilal2, 600)):
        try:
            reg.transfers.transfer("LHR-GH12B", signer[sender], to, amount)
        except TransferRejected as exc:
            console.print(f"  [red]rejected[/] before sending: {exc}")
    assert s.chain.w3.eth.block_number == block_before, "a rejected transfer must send nothing"

    step("7. rent distribution, funded by the Safe")
    pkr = s.deployer.deploy("TestStablecoin")
    s.tx.transact(pkr.functions.mint(route.address, 10**12))  # the rent collected into the registrar's Safe
    record_block = s.chain.w3.eth.block_number
    rent = 425_000 * 10**6  # one month's rent, 6-decimal test stablecoin
    expiry = dt.datetime.fromtimestamp(s.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=90)
    proposed = board.distributions.distribute("LHR-GH12B", pkr.address, rent, expiry, record_block)
    receipt = approve_and_execute(proposed, show=False)
    (created,) = stack.distributions.events.DistributionCreated().process_receipt(receipt.raw, errors=DISCARD)
    dist_id = created["args"]["distributionId"]
    console.print(f"  distribution #{dist_id}: {rent / 10**6:,.2f} to {proposed.facts['holders']} holders, root "
                  f"{proposed.facts['root'][:18]}... (record block {record_block})")
    for wallet in (ayesha, fatima, fund):
        claimed = board.distributions.claim(dist_id, wallet, signer[wallet])
        balance = pkr.functions.balanceOf(wallet).call()
        console.print(f"  {labels[wallet]} claimed {claimed.facts['amount'] / 10**6:,.2f} (balance {balance / 10**6:,.2f})")

    step("8. redeem gold")
    rid = reg.redemptions.request_redemption("KHI-GOLD", signer[omar], "250 g", "deliver to Omar, Riyadh")
    console.print(f"  {labels[omar]} asked to redeem 250 g (request #{rid}); units locked")
    console.print(f"  {describe(reg.redemptions.fulfil_redemption('KHI-GOLD', rid, 'KHI-LOT-2026-001'))}")
    rid2 = reg.redemptions.request_redemption("KHI-GOLD", signer[bilal], "50 g", "pickup Karachi")
    console.print(f"  {describe(reg.redemptions.reject_redemption('KHI-GOLD', rid2, 'ID mismatch at pickup'))}")
    gold_info = reg.assets.asset("KHI-GOLD")
    console.print(f"  gold supply {gold_info.amount(gold_info.total_supply)} <= attested reserve "
                  f"{gold_info.amount(gold_info.max_supply)}")

    step("9. ledger")
    return stack, _ledger_step(stack, ledger, path, minted_block, {o.address: o.source for o in officers})


def _ledger_step(stack, ledger: Ledger, path: Path, minted_block: int, officers: dict[str, str]) -> int:
    result = ledger.sync(stack)
    console.print(f"  synced {result.events:,} events up to block {result.to_block} into {path}")
    executions, _ = ledger.safe_audit()
    console.print("  the Safe's audit (signers recovered from its own events):")
    for x in executions:
        signers = " and ".join(officers.get(a, a) for a in x.signers)
        console.print(f"    block {x.block_number}: proposal #{x.proposal_id} ({x.title}), signed by {signers}: "
                      f"{'executed' if x.success else 'FAILED'}")
    console.print(investor_table(f"LHR-GH12B right after minting (block {minted_block})",
                                 ledger.investor_cap_table("LHR-GH12B", block=minted_block, labels=True)))
    console.print(investor_table("LHR-GH12B now, by investor", ledger.investor_cap_table("LHR-GH12B", labels=True)))
    console.print(investor_table("KHI-GOLD now (milligrams)", ledger.investor_cap_table("KHI-GOLD", labels=True)))
    by_country = ", ".join(f"{c.country}: {c.percent:.1f}% ({c.holders} investors)"
                           for c in ledger.totals_by_country("LHR-GH12B"))
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
