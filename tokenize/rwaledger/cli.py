"""The ``rwa`` command: a thin layer over the library.

User errors (anything deriving from :class:`~rwaledger.errors.RwaError`, bad
input, a revert) print one readable line on stderr and exit 1; no tracebacks.
``--json`` prints machine-readable output for scripts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from typer._click import ClickException
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import node as node_mod
from .errors import ContractRevert, RwaError, TransactionTimeout

#: Exit codes a script can trust: 0 done, 1 a user error or a refusal (also: reconcile found differences, no node
#: runs), 2 usage (or an internal error), 3 sent but not confirmed (pending: it may still execute).
EXIT_PENDING = 3

app = typer.Typer(
    help="rwaledger: tokenize real-world assets and keep their ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
node_app = typer.Typer(help="Run a local anvil node that keeps its chain between commands.", no_args_is_help=True)
app.add_typer(node_app, name="node")

out = Console()
err = Console(stderr=True)


def open_consoles() -> None:
    """Open the output consoles again on the current standard streams (the command server's child does, after
    taking over its client's: a console decides colour and width when it is made)."""
    global out, err
    out, err = Console(), Console(stderr=True)


class State:
    json: bool = False
    propose: bool = False  # under `rwa propose`: role acts become proposals to the Safes holding the roles
    db: Optional[str] = None  # where `rwa propose` keeps its proposals


state = State()


@app.callback()
def _options(json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    state.json = json_output


def emit(data: Any, table: Table | str | None = None) -> None:
    """Print ``data`` as JSON under --json, else the table (or a line)."""
    if state.json:
        out.print_json(json.dumps(data, default=str))
    elif table is not None:
        out.print(table)


def kv_table(title: str, rows: dict[str, Any]) -> Table:
    t = Table(title=title, show_header=False)
    t.add_column(style="bold")
    t.add_column()
    for k, v in rows.items():
        t.add_row(k, str(v))
    return t


DbOpt = typer.Option(None, "--db", help="SQLite path or SQLAlchemy URL (default build/ledger-<network>.sqlite; env RWA_LEDGER_URL).")
NetworkOpt = typer.Option("tester", "--network", "-n", help="tester, anvil, or an http(s):// / ws(s):// JSON-RPC URL.")


# --- compile -------------------------------------------------------------------


@app.command("compile")
def compile_cmd(force: bool = typer.Option(False, "--force", help="Ignore the cache.")) -> None:
    """Compile contracts/ and say which compiler ran and whether the cache served it."""
    from .compiler import compile_project

    result = compile_project(force=force)
    for w in result.warnings:
        err.print(f"[yellow]warning[/] {w}", highlight=False)
    data = {
        "compiler": result.compiler.version,
        "compiler_kind": result.compiler.kind,
        "compiler_path": result.compiler.path,
        "cached": result.cached,
        "seconds": round(result.seconds, 4),
        "contracts": sorted(result.artifacts),
        "cache_key": result.key,
    }
    source = "cache" if result.cached else "compiled"
    emit(
        data,
        f"{source}: {len(result.artifacts)} contracts in {result.seconds:.3f}s with {result.compiler.describe()}",
    )


# --- node ------------------------------------------------------------------------


@node_app.command("start")
def node_start(
    port: int = typer.Option(8545, help="Port on 127.0.0.1."),
    state_file: Optional[Path] = typer.Option(None, "--state", help="Where the chain is kept between runs."),
    interval: float = typer.Option(1.0, "--state-interval", min=0.05,
                                   help="Seconds between state dumps: a kill -9 loses at most this much."),
) -> None:
    """Start a background anvil whose chain survives a kill -9 (saved atomically every --state-interval seconds)."""
    info = node_mod.start_background(port=port, state_file=state_file, interval=interval)
    if info["already_running"]:
        emit(info, f"anvil already running: {info['url']} (pid {info['pid']}, state {info['state_file']})")
        return
    restored = info["restored"]
    what = (f"restored block {restored['block']} ({restored['hash']}) from {info['state_file']}" if restored
            else f"a new chain (no state yet at {info['state_file']})")
    emit(info, f"anvil started: {info['url']} (pid {info['pid']}), {what}; saved every {interval:g}s")


@node_app.command("stop")
def node_stop() -> None:
    """Stop the background anvil; its whole chain is saved to the state file first."""
    info = node_mod.stop_background()
    if info is None:
        emit({"stopped": False}, "no node was running")
        return
    emit({"stopped": True, **info}, f"stopped; saved {info['saved'] or 'nothing new (the node did not answer)'}")


@node_app.command("status")
def node_status() -> None:
    """Say whether the background anvil runs, and where; exit 1 when it does not."""
    info = node_mod.background_status()
    if info is None:
        emit({"running": False}, "not running")
        raise typer.Exit(1)
    last = info["last_dump"]
    saved = f"saved up to block {last['block']}" if last else "nothing saved yet"
    keeper = "" if info["keeper_running"] else "; WARNING: its state keeper is not running, the chain is not being saved"
    emit({"running": True, **info}, f"running: {info['url']} (pid {info['pid']}), {saved}{keeper}")


# --- registrar commands -------------------------------------------------------------

asset_app = typer.Typer(help="Register and inspect assets.", no_args_is_help=True)
investor_app = typer.Typer(help="Onboard investors (identity / KYC).", no_args_is_help=True)
lot_app = typer.Typer(help="Custody lots backing commodity tokens.", no_args_is_help=True)
redeem_app = typer.Typer(help="Redeem commodity units for physical delivery.", no_args_is_help=True)
distribute_app = typer.Typer(help="Distributions (rent, dividends) paid by Merkle claims.", no_args_is_help=True)
for _name, _sub in (("asset", asset_app), ("investor", investor_app), ("lot", lot_app),
                    ("redeem", redeem_app), ("distribute", distribute_app)):
    app.add_typer(_sub, name=_name)

KeystoreOpt = typer.Option(None, "--keystore", help="Encrypted keystore to sign with (password: RWA_KEYSTORE_PASSWORD).")
AccountOpt = typer.Option(0, "--account", help="On a local chain: the dev account index to sign with.")
IN_PROCESS_HINT = (
    "the in-process tester chain lives only as long as one command: start a local node with "
    "`rwa node start` and pass --network anvil"
)


def _session(network: str, keystore: Optional[Path] = None, account: int = 0, log=None):
    from .chain import connect
    from .session import open_session
    from .signers import Signer, default_signer

    chain = connect(network)
    signer = None
    if not keystore and account and chain.dev_accounts:
        signer = Signer(chain.dev_accounts[account], f"dev account {account}")
    signer = signer or default_signer(chain, keystore=keystore)
    return open_session(chain=chain, signer=signer, log=log)


def _registrar(network: str, keystore: Optional[Path] = None, account: int = 0, db: Optional[str] = None,
               with_ledger: bool = False):
    from .services import Services
    from .stack import load_stack

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    session = _session(network, keystore, account)
    ledger = _ledger(network, db) if with_ledger else None
    stack = load_stack(session)
    if state.propose:
        return Services(stack, ledger=ledger, via=_routes(session, stack, network, db or state.db))
    return Services(stack, ledger=ledger)


def _routes(session, stack, network: str, db: Optional[str]):
    """A route for every Safe the deployment records as holding a role."""
    from .proposals import ProposalStore, SafeRoute

    recorded = session.deployer.store.roles()
    addresses = sorted({r["holder"] for r in recorded.values() if r.get("safe")})
    if not addresses:
        raise RwaError(f"no role of the stack on {session.chain.name} is held by a Safe: deploy with "
                       "--registrar-safe OWNERS:M (or a [roles] table) first")
    store = ProposalStore(_ledger(network, db).engine)
    return [SafeRoute(session, stack, a, store) for a in addresses]


def _no_proposal(what: str) -> None:
    if state.propose:
        raise RwaError(f"{what} is not a role's act: nothing to propose (run it without `propose`)")


def _outcome(result) -> None:
    """Print a service result: one line (its sentence), then the steps of a composite act; ``--json``: its data."""
    from .render import describe

    status = result.status.value
    data = {"status": status, "detail": describe(result), "tx_hash": result.tx_hash, **result.facts,
            "txs": [t.model_dump() for t in result.txs],
            "steps": [describe(s) for s in result.done_steps], "pending": [describe(s) for s in result.pending]}
    if result.proposal is not None:
        p = result.proposal
        data.update(proposal=p.id, safe=p.safe, safe_tx_hash=p.safe_tx_hash, nonce=p.nonce, calls=p.calls)
    colour = {"done": "green", "skipped": "yellow", "pending": "yellow", "proposed": "cyan"}.get(status, "yellow")
    emit(data, f"[{colour}]{status}[/]: {escape(data['detail'])}")
    if not state.json:
        for line in data["steps"]:
            out.print(f"  done: {escape(line)}", highlight=False)
        for line in data["pending"]:
            out.print(f"  [yellow]pending:[/] {escape(line)}", highlight=False)


@app.command("deploy")
def deploy_cmd(
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
    redeploy: bool = typer.Option(False, "--redeploy", help="Deploy again even if recorded contracts changed, or the records describe another (a reset) chain: those are set aside under .replaced/."),
    roles_file: Optional[Path] = typer.Option(None, "--roles", help="A TOML/JSON file with a [roles] table (role = "
                                              "\"0xKEY\" or \"OWNER,OWNER,...:THRESHOLD\")."),
    admin_safe: Optional[str] = typer.Option(None, "--admin-safe", metavar="OWNERS:M",
                                             help="Give the admin role to a Safe: OWNER,OWNER,...:THRESHOLD."),
    registrar_safe: Optional[str] = typer.Option(None, "--registrar-safe", metavar="OWNERS:M",
                                                 help="Give the registrar role to a Safe (same form)."),
    compliance_safe: Optional[str] = typer.Option(None, "--compliance-safe", metavar="OWNERS:M",
                                                  help="Give the compliance role to a Safe (same form)."),
    custodian_safe: Optional[str] = typer.Option(None, "--custodian-safe", metavar="OWNERS:M",
                                                 help="Give the custodian role to a Safe (same form)."),
    guardian: Optional[str] = typer.Option(None, "--guardian", metavar="ADDRESS",
                                           help="The pause guardian: one key that may pause tokens and nothing else."),
) -> None:
    """Deploy the contract stack (reusing recorded contracts) and record it under deployments/. A role given to a
    Safe (Safe 1.4.1 multisig: deployed from Safe's published build on local chains, the canonical deployments,
    code hashes checked, on a network) is revoked from the deployer; the admin role moves last."""
    from .roles import load_roles, parse_holder, deploy_with_roles

    holders = load_roles(roles_file) if roles_file else {}
    for role, text in (("admin", admin_safe), ("registrar", registrar_safe), ("compliance", compliance_safe),
                       ("custodian", custodian_safe), ("guardian", guardian)):
        if text:
            option = "--guardian" if role == "guardian" else f"--{role}-safe"
            holders[role] = parse_holder(role, text, option)  # all checked before anything is sent
            if role != "guardian" and not holders[role].is_safe:
                raise RwaError(f"{option}: expected OWNER,OWNER,...:THRESHOLD (e.g. 0xA,0xB,0xC:2), got {text!r}")
    lines: list[str] = []
    with _session(network, keystore, log=lines.append) as s:
        stack, held = deploy_with_roles(s, holders, redeploy=redeploy)
        contracts = {**stack.addresses(), **{f"{role} Safe": held[role] for role, h in holders.items() if h.is_safe}}
        if "guardian" in holders:
            contracts["guardian (key)"] = held["guardian"]
        data = {"network": s.chain.name, "chain_id": s.chain.chain_id, "contracts": contracts, "roles": held,
                "records": str(s.deployer.store.dir) if s.deployer.store.dir else None}
        t = Table(title=f"stack on {s.chain.name} (chain {s.chain.chain_id})")
        t.add_column("contract")
        t.add_column("address")
        for k, v in contracts.items():
            t.add_row(k, v)
        emit(data, t)
        if not state.json:
            for line in lines:
                out.print(f"  {line}", highlight=False)
            if network == "tester":
                out.print(f"[yellow]note:[/] {IN_PROCESS_HINT}")


@app.command("roles")
def roles_cmd(network: str = NetworkOpt) -> None:
    """Who holds each role, as recorded at deploy time, checked against the chain (RoleGranted/RoleRevoked, each
    Safe's owners and threshold); exit 1 if the chain differs."""
    from .roles import check_roles
    from .stack import load_stack

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    findings = check_roles(load_stack(_session(network)))
    t = Table(title="roles")
    for c in ("role", "holder", "kind", "on chain"):
        t.add_column(c)
    for f in findings:
        t.add_row(f.role, f.holder, f.kind, ("[green]" if f.ok else "[red]") + f.detail + "[/]")
    emit([f.to_dict() for f in findings], t)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


@asset_app.command("register")
def asset_register(spec: Path, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Register an asset from a TOML/JSON spec and create its token. A parcel or symbol already registered is
    refused (nothing changes); the same spec run again sends nothing, or completes an interrupted registration."""
    from .models import load_spec

    parsed = load_spec(spec)  # validate (files hashed, canonical forms) before touching any chain
    _outcome(_registrar(network, keystore).assets.register(parsed))


@asset_app.command("rules")
def asset_rules(asset: str, rules_file: Path = typer.Argument(..., metavar="RULES", help="TOML/JSON file: a [rules] table (or an asset spec)."),
                network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Change an asset's transfer rules (compliance officer): only what differs from the chain is sent."""
    from .models import TransferRules, load_rules

    rules = load_rules(rules_file, TransferRules)
    _outcome(_registrar(network, keystore).assets.set_rules(asset, rules))


@asset_app.command("status")
def asset_status(asset: str, status: str = typer.Argument(..., help="active, suspended or retired."),
                 network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Move an asset's status forward (registered -> active -> suspended -> retired; suspended -> active)."""
    _outcome(_registrar(network, keystore).assets.set_status(asset, status))


@asset_app.command("document")
def asset_document(
    asset: str,
    name: str = typer.Option(..., help="Document name, e.g. title-deed (mapped to its canonical form)."),
    file: Path = typer.Option(..., help="The document file (hashed, SHA-256; never uploaded)."),
    uri: str = typer.Option(..., help="Where the document is stored (ipfs://...)."),
    effective_date: str = typer.Option(..., "--effective-date", help="YYYY-MM-DD."),
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
) -> None:
    """Record a new document version of an asset (a new file supersedes the current one of that name)."""
    from .models import DocumentSpec, parse

    doc = parse(DocumentSpec, {"name": name, "file": str(file), "uri": uri, "effective_date": effective_date}, "document")
    _outcome(_registrar(network, keystore).assets.add_document(asset, doc))


@asset_app.command("show")
def asset_show(asset: str, network: str = NetworkOpt) -> None:
    """Show one asset (by id, symbol or token address)."""
    info = _registrar(network).assets.asset(asset)
    emit(info.to_dict(), kv_table(f"asset #{info.asset_id} {info.symbol}", info.to_dict()))


@asset_app.command("list")
def asset_list(network: str = NetworkOpt) -> None:
    """List registered assets."""
    infos = _registrar(network).assets.assets()
    t = Table(title="assets")
    for col in ("id", "symbol", "kind", "status", "jurisdiction", "legal reference", "supply", "max", "token"):
        t.add_column(col)
    for i in infos:
        t.add_row(str(i.asset_id), i.symbol, i.kind, i.status, i.jurisdiction, i.legal_reference,
                  str(i.total_supply), str(i.max_supply), i.token)
    emit([i.to_dict() for i in infos], t)


@investor_app.command("add")
def investor_add(
    wallet: str,
    country: Optional[str] = typer.Option(None, help="ISO 3166 alpha-2, e.g. PK (a new investor needs it)."),
    kyc_expiry: Optional[str] = typer.Option(None, help="KYC valid until (YYYY-MM-DD; a new investor needs it)."),
    category: Optional[str] = typer.Option(None, help="retail, accredited or institutional (default: kept; retail when new)."),
    label: Optional[str] = typer.Option(None, help="The investor's name, kept in the ledger only (never on chain)."),
    investor: Optional[str] = typer.Option(None, "--investor", help="Add WALLET to this investor (any of its wallets)."),
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
    db: Optional[str] = DbOpt,
) -> None:
    """Register an investor (its first wallet), renew its KYC or change its fields, or add a wallet to it."""
    from .models import InvestorSpec, parse

    row = {"wallet": wallet, "country": country, "kyc_expiry": kyc_expiry, "category": category, "label": label,
           "investor": investor}
    spec = parse(InvestorSpec, {k: v for k, v in row.items() if v is not None}, "investor")
    _outcome(_registrar(network, keystore, db=db, with_ledger=True).investors.add(spec))


@investor_app.command("import")
def investor_import(csv_file: Path, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt,
                    db: Optional[str] = DbOpt) -> None:
    """Onboard investors from a CSV (wallet,country,kyc_expiry[,category,label,investor]) in batches; a row with
    `investor` adds a further wallet to that investor. Labels go to the ledger only."""
    from .models import InvestorSpec, load_csv

    specs = load_csv(csv_file, InvestorSpec)
    registrar = _registrar(network, keystore, db=db, with_ledger=True)
    with _progress(None, f"onboarding {len(specs)} wallets (transactions sent)") as advance:
        outcome = registrar.investors.add_many(specs, progress=advance)
    _outcome(outcome)


@investor_app.command("show")
def investor_show(wallet: str, network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """Show the investor a wallet belongs to (with its label from the ledger)."""
    info = _registrar(network, db=db, with_ledger=True).investors.investor(wallet)
    if info is None:
        raise RwaError(f"{wallet} belongs to no investor")
    data = info.model_dump()
    emit(data, kv_table("investor", data))


@investor_app.command("remove-wallet")
def investor_remove_wallet(wallet: str, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Remove a wallet from its investor (it stops being verified; it can be added back)."""
    _outcome(_registrar(network, keystore).investors.remove_wallet(wallet))


@investor_app.command("recover")
def investor_recover(lost: str, new: str, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Replace a lost wallet with another wallet of the same investor and move its units in every token."""
    _outcome(_registrar(network, keystore).investors.recover_wallet(lost, new))


@investor_app.command("delete")
def investor_delete(wallet: str, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Delete the investor a wallet belongs to: none of its wallets is verified any more."""
    _outcome(_registrar(network, keystore).investors.delete_investor(wallet))


@investor_app.command("sync")
def investor_sync(wallet: str, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Recount an investor under its current category and country in every token (after changing them)."""
    _outcome(_registrar(network, keystore).investors.sync_investor(wallet))


@lot_app.command("attest")
def lot_attest(
    asset: str,
    lot_id: str = typer.Option(..., "--lot-id"),
    vault: str = typer.Option(...),
    quantity: int = typer.Option(..., help="Units in the token's smallest unit."),
    receipt: Path = typer.Option(..., help="The warehouse receipt file (hashed, SHA-256)."),
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
) -> None:
    """Attest a custody lot (custodian)."""
    from .models import LotSpec, parse

    lot = parse(LotSpec, {"lot_id": lot_id, "vault": vault, "quantity": quantity, "receipt_file": str(receipt)}, "lot")
    _outcome(_registrar(network, keystore).redemptions.attest_lot(asset, lot))


@app.command("mint")
def mint_cmd(
    asset: Optional[str] = typer.Argument(None),
    to: Optional[str] = typer.Argument(None),
    amount: Optional[str] = typer.Argument(None, help="In the asset's unit ('10.5 kg', '100 shares') or smallest units."),
    reference: Optional[str] = typer.Option(None, help="Your reference for this mint (e.g. a sale deed number)."),
    csv_file: Optional[Path] = typer.Option(None, "--csv", help="Allocations CSV: asset,to,amount[,reference]."),
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
) -> None:
    """Mint shares/units (registrar), once per allocation: an allocation is its reference (or, without one, its
    recipient and amount); minting it again, in any file, order or command, mints nothing and says so."""
    from .models import MintRequest, load_csv, parse

    if csv_file:
        requests = load_csv(csv_file, MintRequest)
        registrar = _registrar(network, keystore)
        with _progress(None, f"minting {len(requests)} allocations (transactions sent)") as advance:
            outcome = registrar.issuance.mint_many(requests, progress=advance)
        _outcome(outcome)
        return
    if asset is None or to is None or amount is None:
        raise RwaError("give ASSET TO AMOUNT, or --csv FILE")
    req = parse(MintRequest, {"asset": asset, "to": to, "amount": amount, "reference": reference}, "mint")
    _outcome(_registrar(network, keystore).issuance.mint(req))


@app.command("transfer")
def transfer_cmd(
    asset: str,
    to: str,
    amount: str = typer.Argument(..., help="In the asset's unit ('250 g', '100 shares') or smallest units."),
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
    account: int = AccountOpt,
    forced: bool = typer.Option(False, "--forced", help="Registrar forced transfer (needs --from and --reason)."),
    sender: Optional[str] = typer.Option(None, "--from", help="With --forced: the wallet to move from."),
    reason: Optional[str] = typer.Option(None, help="With --forced: the court order or reason."),
    include_frozen: bool = typer.Option(False, "--include-frozen", help="With --forced: frozen units may move too."),
) -> None:
    """Transfer as the signer (checked with detectTransferRestriction first), or a registrar forced transfer (within the
    recipient's rules; liened or locked units never move; frozen units only with --include-frozen)."""
    from .models import TransferRequest, parse

    req = parse(TransferRequest, {"asset": asset, "to": to, "amount": amount}, "transfer")
    if forced and (not sender or not reason):
        raise RwaError("--forced needs --from WALLET and --reason TEXT")
    if not forced:
        _no_proposal("a holder's transfer")
    registrar = _registrar(network, keystore, account)
    if forced:
        _outcome(registrar.enforcement.forced_transfer(req.asset, sender, req.to, req.amount, reason, include_frozen))
        return
    receipt = registrar.transfers.transfer(req.asset, registrar.session.signer, req.to, req.amount)
    emit({"status": "done", "tx_hash": receipt.tx_hash, "gas_used": receipt.gas_used},
         f"[green]done[/]: {req.amount} {req.asset} to {req.to} (tx {receipt.tx_hash}, gas {receipt.gas_used})")


@app.command("burn")
def burn_cmd(
    asset: str, holder: str,
    amount: str = typer.Argument(..., help="In the asset's unit or smallest units."),
    reason: str = typer.Option(..., help="The court order or reason."),
    include_frozen: bool = typer.Option(False, "--include-frozen", help="Frozen units may be burned too."),
    network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt,
) -> None:
    """Burn a holder's units (registrar); liened or locked units never, frozen units only with --include-frozen."""
    from .models import TransferRequest, parse

    req = parse(TransferRequest, {"asset": asset, "to": holder, "amount": amount}, "burn")
    _outcome(_registrar(network, keystore).enforcement.burn(req.asset, req.to, req.amount, reason, include_frozen))


@app.command("freeze")
def freeze_cmd(asset: str, wallet: str, unfreeze: bool = typer.Option(False, "--unfreeze", help="Lift the freeze."),
               network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Freeze (or unfreeze) a wallet in one token (compliance officer)."""
    _outcome(_registrar(network, keystore).enforcement.freeze(asset, wallet, not unfreeze))


@app.command("pause")
def pause_cmd(asset: str, unpause: bool = typer.Option(False, "--unpause", help="Resume trading (compliance role)."),
              network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt, account: int = AccountOpt) -> None:
    """Pause a token (the pause guardian's key, or the compliance role): no unit moves until it is unpaused, which
    only the compliance role may do."""
    _outcome(_registrar(network, keystore, account).enforcement.pause(asset, not unpause))


@redeem_app.command("request")
def redeem_request(
    asset: str, amount: str = typer.Argument(..., help="In the asset's unit ('250 g') or smallest units."),
    delivery_ref: str = typer.Option(..., "--delivery-ref"),
    network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt, account: int = AccountOpt,
) -> None:
    """Ask to redeem units for physical delivery (as the holder); the units are locked."""
    from .amounts import AmountError, check_syntax

    try:
        check_syntax(amount)
    except AmountError as exc:
        raise RwaError(str(exc)) from None
    amount = int(amount) if amount.strip().isdigit() else amount  # type: ignore[assignment]
    _no_proposal("a redemption request (the holder's)")
    registrar = _registrar(network, keystore, account)
    request_id = registrar.redemptions.request_redemption(asset, registrar.session.signer, amount, delivery_ref)
    emit({"request_id": request_id}, f"[green]done[/]: redemption request #{request_id} for {amount} units")


@redeem_app.command("fulfil")
def redeem_fulfil(asset: str, request_id: int,
                  lot_id: list[str] = typer.Option(..., "--lot-id", help="A lot to deliver from; repeat to draw from several in order."),
                  network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Fulfil a redemption from one or more lots (custodian): units burnt, lots and reserve reduced."""
    _outcome(_registrar(network, keystore).redemptions.fulfil_redemption(asset, request_id, lot_id))


@redeem_app.command("reject")
def redeem_reject(asset: str, request_id: int, reason: str = typer.Option(...),
                  network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Reject a redemption (custodian): the units are returned."""
    _outcome(_registrar(network, keystore).redemptions.reject_redemption(asset, request_id, reason))


@distribute_app.command("create")
def distribute_create(
    asset: str,
    payment_token: str = typer.Option(..., "--payment-token"),
    amount: int = typer.Option(..., help="Total, in the payment token's smallest unit."),
    expiry_days: int = typer.Option(30, "--expiry-days"),
    record_block: Optional[int] = typer.Option(None, "--record-block", help="Default: the latest block."),
    from_ledger: bool = typer.Option(False, "--from-ledger", help="Take the cap table from the ledger (synced first)."),
    network: str = NetworkOpt,
    keystore: Optional[Path] = KeystoreOpt,
    db: Optional[str] = DbOpt,
) -> None:
    """Compute entitlements from the cap table at the record block, fund the distribution, publish proofs."""
    import datetime as dt

    if amount <= 0:
        raise RwaError("amount must be positive")
    registrar = _registrar(network, keystore)
    expiry = dt.datetime.fromtimestamp(registrar.session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=expiry_days)
    ledger = _ledger(network, db) if from_ledger else None
    _outcome(registrar.distributions.distribute(asset, payment_token, amount, expiry, record_block, ledger=ledger))


@distribute_app.command("claim")
def distribute_claim(distribution_id: int, account_address: str = typer.Option(..., "--for"),
                     network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Claim an entitlement (paid to --for; anyone may submit the claim)."""
    _no_proposal("a claim")
    _outcome(_registrar(network, keystore).distributions.claim(distribution_id, account_address))


@distribute_app.command("claim-all")
def distribute_claim_all(distribution_id: int,
                         accounts: Optional[list[str]] = typer.Option(None, "--for", help="An entitled wallet; repeat for several (default: every entitlement)."),
                         network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Claim many entitlements at once, pipelined (default: all of them; the already claimed are skipped, the
    withheld or not payable refused with their reason, the others paid; anyone may submit the claims)."""
    _no_proposal("a claim")
    registrar = _registrar(network, keystore)
    wallets = accounts or [who for _, who, _ in registrar.distributions.plan(distribution_id).entries]
    with _progress(None, f"claiming {len(wallets)} entitlements (transactions sent)") as advance:
        outcome = registrar.distributions.claim_many(distribution_id, wallets, progress=advance)
    _outcome(outcome)


@distribute_app.command("withhold")
def distribute_withhold(distribution_id: int, accounts: list[str] = typer.Option(..., "--for", help="An entitled wallet; repeat for several."),
                        release: bool = typer.Option(False, "--release", help="Release instead of withholding."),
                        network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """Withhold (or release) entitlements of a distribution (registrar)."""
    _outcome(_registrar(network, keystore).distributions.withhold(distribution_id, accounts, not release))


@distribute_app.command("reclaim")
def distribute_reclaim(distribution_id: int, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt) -> None:
    """After expiry, return unclaimed funds to the registrar."""
    _outcome(_registrar(network, keystore).distributions.reclaim_expired(distribution_id))


# --- proposals (roles held by Safes) ---------------------------------------------------

propose_app = typer.Typer(
    help="Propose a registrar operation to the Safe holding its role instead of sending it: the operation is "
         "checked as usual, stored with its Safe transaction and EIP-712 hash in the ledger database, and runs once "
         "the Safe's owners approve it (`rwa approve`, `rwa execute`).",
    no_args_is_help=True,
)
proposals_app = typer.Typer(help="Proposals to the stack's Safes: list them, show one.", no_args_is_help=True)
app.add_typer(propose_app, name="propose")
app.add_typer(proposals_app, name="proposals")


@propose_app.callback()
def _propose(db: Optional[str] = DbOpt) -> None:
    state.propose, state.db = True, db


for _name, _cmd in (("mint", mint_cmd), ("transfer", transfer_cmd), ("burn", burn_cmd), ("freeze", freeze_cmd),
                    ("pause", pause_cmd)):
    propose_app.command(_name, help=f"Propose: {_cmd.__doc__.splitlines()[0]}")(_cmd)  # type: ignore[union-attr]
for _name, _sub in (("asset", asset_app), ("investor", investor_app), ("lot", lot_app),
                    ("redeem", redeem_app), ("distribute", distribute_app)):
    propose_app.add_typer(_sub, name=_name)


def _route_for(network: str, db: Optional[str], proposal_id: int, keystore: Optional[Path] = None, account: int = 0):
    from .proposals import ProposalStore, SafeRoute
    from .stack import load_stack

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    session = _session(network, keystore, account)
    store = ProposalStore(_ledger(network, db).engine)
    proposal = store.get(proposal_id)
    return SafeRoute(session, load_stack(session), proposal.tx.safe, store), proposal


def _show_proposal(route, p, precheck: bool = True) -> dict[str, Any]:
    threshold = route.threshold()
    data = {**p.to_dict(), "threshold": threshold}
    if precheck and p.status == "open":
        data["precheck_ok"], data["precheck"] = route.precheck(p)
    if state.json:
        return data
    out.print(f"[bold]proposal #{p.id}[/] ({p.status}) to the Safe {p.tx.safe}, nonce {p.tx.nonce}: {p.title}",
              highlight=False)
    for i, c in enumerate(p.calls, 1):
        out.print(f"  {i}. {c.text}", highlight=False)
    signers = ", ".join(p.signers) or "none yet"
    out.print(f"  approvals: {len(p.approvals)} of {threshold} ({signers})", highlight=False)
    if "precheck" in data:
        colour = "green" if data["precheck_ok"] else "red"
        out.print(f"  pre-check: [{colour}]{data['precheck']}[/]", highlight=False)
    if p.executed_tx:
        out.print(f"  executed in {p.executed_tx} (block {p.executed_block})", highlight=False)
    out.print(f"  safe tx hash: {p.safe_tx_hash}", highlight=False)
    return data


@proposals_app.command("list")
def proposals_list(status: Optional[str] = typer.Option(None, help="open, executed, failed or replaced."),
                   network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """Proposals, oldest first: what each does, its approvals and its fate."""
    from .proposals import ProposalStore

    chain_id = _session(network).chain.chain_id if network != "tester" else None
    rows = ProposalStore(_ledger(network, db).engine).list(status=status, chain_id=chain_id)
    t = Table(title="proposals")
    for c in ("id", "status", "safe", "nonce", "approvals", "calls"):
        t.add_column(c)
    for p in rows:
        t.add_row(str(p.id), p.status, p.tx.safe, str(p.tx.nonce), str(len(p.approvals)),
                  "\n".join(c.text for c in p.calls))
    emit([p.to_dict() for p in rows], t)


@proposals_app.command("show")
def proposals_show(proposal_id: int, network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """One proposal: its calls in plain words, approvals, and whether it would succeed now (run from the Safe)."""
    route, p = _route_for(network, db, proposal_id)
    data = _show_proposal(route, p)
    emit(data)


@app.command("approve")
def approve_cmd(proposal_id: int, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt,
                account: int = AccountOpt, db: Optional[str] = DbOpt) -> None:
    """Approve a proposal as one of its Safe's owners: an EIP-712 signature made here, verified, then stored."""
    route, _ = _route_for(network, db, proposal_id, keystore, account)
    p = route.approve(proposal_id, route.session.signer)
    emit(_show_proposal(route, p, precheck=False))


@app.command("execute")
def execute_cmd(proposal_id: int, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt,
                account: int = AccountOpt, db: Optional[str] = DbOpt) -> None:
    """Execute an approved proposal (anyone may send it; the Safe checks the owners' signatures)."""
    route, _ = _route_for(network, db, proposal_id, keystore, account)
    p, receipt = route.execute(proposal_id)
    if not state.json:
        verb = "[green]executed[/]" if p.status == "executed" else f"[red]{p.status}[/]"
        out.print(f"{verb}: proposal #{p.id} in {receipt.tx_hash} (block {receipt.block_number}, gas {receipt.gas_used})",
                  highlight=False)
    emit({**p.to_dict(), "gas_used": receipt.gas_used})
    if p.status != "executed":
        raise typer.Exit(1)


# --- officers ----------------------------------------------------------------------

officer_app = typer.Typer(help="Officer accounts of the service API (`rwa serve`).", no_args_is_help=True)
app.add_typer(officer_app, name="officer")


@officer_app.command("add")
def officer_add(name: str, role: str = typer.Option(..., "--role", help="registrar, compliance, custodian or auditor."),
                keystore: Optional[Path] = typer.Option(None, "--keystore", help="The keystore this officer's writes "
                                                        "are signed with (its password: RWA_KEYSTORE_PASSWORD on the server)."),
                account: Optional[int] = typer.Option(None, "--account", help="On a local chain: a dev account instead."),
                network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """Make an officer account and print its token, once (only its argon2 hash is kept)."""
    from .officers import OfficerStore

    officer, token = OfficerStore(_ledger(network, db).engine).add(name, role, keystore=keystore, account=account)
    emit({**officer.public(), "token": token},
         f"officer {officer.name} ({officer.role}), id {officer.id}\ntoken (shown once, keep it safe): {token}")


@officer_app.command("list")
def officer_list(network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """The officer accounts (never their tokens or keys)."""
    from .officers import OfficerStore

    rows = OfficerStore(_ledger(network, db).engine).list()
    t = Table(title="officers")
    for c in ("id", "name", "role", "disabled"):
        t.add_column(c)
    for o in rows:
        t.add_row(str(o.id), o.name, o.role, "yes" if o.disabled else "")
    emit([{**o.public(), "disabled": o.disabled} for o in rows], t)


# --- the service ---------------------------------------------------------------------


SERVE_CONFIG_ENV = "RWA_SERVE_CONFIG"  # what `rwa serve --workers N` hands its worker processes (JSON)


@app.command("serve")
def serve_cmd(network: str = NetworkOpt, db: Optional[str] = DbOpt,
              host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
              poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at the chain head (and, on a "
                                                             "standby, between tries to take the lead)."),
              workers: int = typer.Option(1, "--workers", help="Worker processes of the API (uvicorn); each runs a "
                                                               "follower candidate and one of them writes the ledger. "
                                                               "Not with --demo."),
              demo: bool = typer.Option(False, "--demo", help="Nothing to configure: a private anvil with the demo's "
                                                               "assets, investors, transfers, distribution and "
                                                               "redemptions (one process: the chain and its ledger "
                                                               "are private to it)."),
              max_body: str = typer.Option("1MiB", "--max-body", help="Largest request body (bytes, KiB, MiB)."),
              max_upload: str = typer.Option("20MiB", "--max-upload", help="Largest upload (officer documents, CSVs)."),
              upload_dir: Optional[Path] = typer.Option(None, "--upload-dir", help="Where officers' uploads are kept, "
                                                        "by SHA-256 (default: build/uploads)."),
              proofs_dir: Optional[Path] = typer.Option(None, "--proofs-dir", help="Where distributions' proofs are "
                                                        "published and read (default: beside the deployment records, "
                                                        "where `rwa distribute` writes them)."),
              cors_origin: list[str] = typer.Option([], "--cors-origin", help="An origin allowed by CORS "
                                                    "(repeatable); none: CORS closed.")) -> None:
    """Serve the public registry API (OpenAPI at /docs) over the ledger, with the follower keeping the ledger
    synced with the chain. Several processes (--workers, or `rwa serve` on several machines against one
    PostgreSQL) elect one follower to write; the others serve reads and take over if it dies."""
    import uvicorn

    from .api import create_app
    from .follower import Follower
    from .stack import load_stack

    if poll <= 0:
        raise RwaError("--poll must be positive")
    if workers < 1:
        raise RwaError("--workers must be at least 1")
    if demo and workers > 1:
        raise RwaError("--demo runs in one process (its chain and ledger are private to it): drop --workers")
    from .api.limits import Limits, parse_size

    try:
        limits = Limits(max_body=parse_size(max_body), max_upload=parse_size(max_upload))
    except ValueError as exc:
        raise RwaError(f"--max-body / --max-upload: {exc}") from None
    if demo and proofs_dir is not None:
        raise RwaError("--demo publishes its distribution's proofs beside its own records: drop --proofs-dir")
    dirs = _serve_dirs(upload_dir, proofs_dir)
    import signal

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    chain = None
    if demo:
        chain, stack, ledger = _demo_world()
    else:
        if network == "tester":
            raise RwaError(IN_PROCESS_HINT + " (or serve the demo: `rwa serve --demo`)")
        target = _ledger_target(network, db)
        ledger = _ledger(network, target)  # opened (and migrated) here once, before any worker starts
        stack = load_stack(_session(network))  # a missing deployment is reported here, in one line
        if workers > 1:
            ledger.close()
            os.environ[SERVE_CONFIG_ENV] = json.dumps({"network": network, "db": target, "poll": poll,
                                                      "max_body": limits.max_body, "max_upload": limits.max_upload,
                                                      "cors": list(cors_origin),
                                                      **{k: str(v) for k, v in dirs.items() if v is not None}})
            err.print(f"serving http://{host}:{port} (the public portal at /, API docs at /docs) with {workers} workers, following "
                      f"{stack.session.chain.name}; one follower writes the ledger, the others stand by",
                      highlight=False)
            uvicorn.run("rwaledger.cli:serve_app", factory=True, workers=workers, host=host, port=port,
                        log_level="warning")
            return
    follower = Follower(ledger, stack, poll=poll, on_role=_print_role).start()
    if demo:
        from .officers import OfficerStore

        store = OfficerStore(ledger.engine)  # the demo's registrar is a Safe: its acts are proposals (`rwa propose`)
        for name, role, account in (("demo compliance", "compliance", 0), ("demo custodian", "custodian", 0),
                                    ("demo auditor", "auditor", None)):
            _, token = store.add(name, role, account=account)
            err.print(f"  officer {name!r} ({role}): token {token}", highlight=False)  # shown once, hashed in the ledger
    err.print(f"serving http://{host}:{port} (the public portal at /, API docs at /docs), following {stack.session.chain.name}"
              + (" (the demo; try /api/assets/LHR-GH12B/cap-table)" if demo else ""), highlight=False)
    try:
        uvicorn.run(create_app(ledger, follower, stack=stack, limits=limits, cors_origins=cors_origin, **dirs),
                    host=host, port=port, log_level="warning")
    finally:
        follower.stop()
        if chain is not None:
            chain.close()


def _serve_dirs(upload_dir: Path | None, proofs_dir: Path | None) -> dict[str, Path | None]:
    """``--upload-dir`` and ``--proofs-dir`` as :func:`rwaledger.api.create_app`'s keywords, made absolute (the
    workers of ``--workers N`` are other processes) and checked before anything is served: each must be a
    directory that can be written, or not exist yet (created here, with its parents)."""
    out: dict[str, Path | None] = {}
    for flag, key, value in (("--upload-dir", "upload_dir", upload_dir), ("--proofs-dir", "distributions_dir", proofs_dir)):
        if value is None:
            out[key] = None
            continue
        path = value.expanduser().resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RwaError(f"{flag} {value}: {exc.strerror or exc}") from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise RwaError(f"{flag} {value}: not writable")
        out[key] = path
    return out


def _print_role(role: str) -> None:
    """Say when this process starts or stops writing the ledger (an operator's first question in a cluster)."""
    what = "leads: its follower writes the ledger" if role == "leader" else "stands by: another follower writes the ledger"
    err.print(f"process {os.getpid()} {what}", highlight=False)


def serve_app():
    """The app of one worker of `rwa serve --workers N` (a uvicorn factory: ``rwaledger.cli:serve_app``).

    uvicorn starts workers as new processes that import the app by name, so its configuration comes from the
    environment (``RWA_SERVE_CONFIG``, JSON ``{"network", "db", "poll", ...}``, set by `rwa serve`). Each worker opens
    the ledger and the stack itself and runs a follower candidate, started with the app and stopped (giving the
    lead up) when the worker shuts down."""
    from contextlib import asynccontextmanager

    from .api import create_app
    from .follower import Follower
    from .stack import load_stack

    raw = os.environ.get(SERVE_CONFIG_ENV)
    if not raw:
        raise RwaError(f"{SERVE_CONFIG_ENV} is not set: start the workers with `rwa serve --workers N`")
    config = json.loads(raw)
    ledger = _ledger(config["network"], config["db"])
    stack = load_stack(_session(config["network"]))
    follower = Follower(ledger, stack, poll=float(config["poll"]), on_role=_print_role)
    from .api.limits import Limits

    limits = Limits(max_body=int(config["max_body"]), max_upload=int(config["max_upload"]))
    dirs = {k: Path(config[k]) for k in ("upload_dir", "distributions_dir") if config.get(k)}
    app = create_app(ledger, follower, stack=stack, limits=limits, cors_origins=config.get("cors", []), **dirs)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app):
        follower.start()
        try:
            async with inner(asgi_app) as state:
                yield state
        finally:
            follower.stop()

    app.router.lifespan_context = lifespan
    return app


def _demo_world():
    """A private anvil (stopped on exit) with the demo run on it (scripts/demo.py, quietly), and its ledger."""
    import importlib.util
    import tempfile

    from . import paths
    from .chain import AnvilChain
    from .ledger import Ledger
    from .session import open_session

    script = paths.ROOT / "scripts" / "demo.py"
    if not script.exists():
        raise RwaError(f"the demo needs a checkout of the project ({script} not found)")
    spec = importlib.util.spec_from_file_location("rwaledger_demo_script", script)
    demo = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(demo)  # type: ignore[union-attr]
    demo.console.quiet = True
    chain = AnvilChain.start()
    try:
        path = Path(tempfile.mkdtemp(prefix="rwa-serve-demo-")) / "ledger.sqlite"
        ledger = Ledger.open(path)
        err.print("running the demo on a private anvil ...")
        stack, code = demo.run(open_session(chain=chain, record=False), ledger, path)
        if code:
            raise RwaError("the demo's ledger does not reconcile with its chain")
    except BaseException:  # an error, Ctrl-C or SIGTERM (see serve_cmd) while it runs: its anvil goes too
        chain.close()
        raise
    return chain, stack, ledger


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM as an exit that runs ``finally`` blocks (a private anvil is stopped). uvicorn handles SIGTERM while
    it serves, then restores the handler it found and raises the signal again: with the default handler the
    process died there and `rwa serve --demo` left its anvil running (one per run of the test suite)."""
    raise SystemExit(128 + signum)


# --- ledger commands -------------------------------------------------------------------

ledger_app = typer.Typer(help="The off-chain ledger: sync, cap tables, history, reconciliation, export.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
BlockOpt = typer.Option(None, "--block", help="As of this block (default: the last synced block).")


def _ledger_target(network: str, db: Optional[str]) -> str:
    """The ledger database a command uses: --db, else RWA_LEDGER_URL, else build/ledger-<network>.sqlite (a file
    path made absolute, so that worker processes agree on it)."""
    from . import paths

    target = db or os.environ.get("RWA_LEDGER_URL") or str(paths.BUILD_DIR / f"ledger-{_network_name(network)}.sqlite")
    if "://" not in target and target != ":memory:":
        target = str(Path(target).expanduser().resolve())
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    return target


def _ledger(network: str, db: Optional[str]):
    from .ledger import Ledger

    return Ledger.open(_ledger_target(network, db))


def _network_name(network: str) -> str:
    if network in ("tester", "anvil"):
        return network
    import hashlib

    return "rpc-" + hashlib.sha256(network.encode()).hexdigest()[:10]  # never put a URL (it may hold a key) in a file name


def _rows_table(title: str, rows: list, columns: list[str]) -> Table:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        d = r.to_dict() if hasattr(r, "to_dict") else r
        t.add_row(*[_cell(c, d[c]) for c in columns])
    return t


def _cell(column: str, value: Any) -> str:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return f"{value:.2f}%" if column == "percent" else f"{value:,}"
    if isinstance(value, int) and not isinstance(value, bool) and column not in ("block_number", "asset_id"):
        return f"{value:,}"
    return str(value)


@ledger_app.command("sync")
def ledger_sync(network: str = NetworkOpt, db: Optional[str] = DbOpt,
                to_block: Optional[int] = typer.Option(None, "--to-block")) -> None:
    """Record every event of the stack since the last checkpoint (resumable, reorg-safe)."""
    from .stack import load_stack

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    stack = load_stack(_session(network))
    ledger = _ledger(network, db)
    with _progress(None, "syncing (blocks)") as advance:
        result = ledger.sync(stack, to_block=to_block, progress=lambda p: advance(p.to_block - p.from_block + 1))
    data = {"from_block": result.from_block, "to_block": result.to_block, "events": result.events,
            "seconds": round(result.seconds, 3), "rollbacks": [str(r) for r in result.rollbacks]}
    msg = f"synced {result.events:,} events, checkpoint at block {result.to_block}"
    if result.rollbacks:
        msg += f" (rolled back a replaced chain: {'; '.join(map(str, result.rollbacks))})"
    emit(data, msg)


@ledger_app.command("cap-table")
def ledger_cap_table(asset: str, network: str = NetworkOpt, db: Optional[str] = DbOpt, block: Optional[int] = BlockOpt,
                     by_investor: bool = typer.Option(False, "--by-investor", help="One row per investor (its wallets and name).")) -> None:
    """Holders of an asset with shares, percent and country, at a block (per wallet, or per investor with the
    investor's name: this is registrar-side output)."""
    ledger = _ledger(network, db)
    at = f"at block {block if block is not None else 'latest synced'}"
    if by_investor:
        rows = ledger.investor_cap_table(asset, block=block, labels=True)
        t = Table(title=f"cap table of {asset} by investor {at}")
        for c in ("investor", "name", "wallets", "amount", "percent", "country"):
            t.add_column(c)
        for r in rows:
            t.add_row(r.investor or "-", r.label or "", "\n".join(f"{w.wallet} ({w.amount:,})" for w in r.wallets),
                      f"{r.amount:,}", f"{r.percent:.2f}%", str(r.country or "-"))
        emit([r.to_dict() for r in rows], t)
        return
    rows = ledger.cap_table(asset, block=block)
    emit([r.to_dict() for r in rows],
         _rows_table(f"cap table of {asset} {at}", rows, ["holder", "investor", "amount", "percent", "country"]))


@ledger_app.command("countries")
def ledger_countries(asset: str, network: str = NetworkOpt, db: Optional[str] = DbOpt, block: Optional[int] = BlockOpt) -> None:
    """Totals of an asset per country of its holders."""
    rows = _ledger(network, db).totals_by_country(asset, block=block)
    emit([r.to_dict() for r in rows], _rows_table(f"{asset} by country", rows, ["country", "holders", "amount", "percent"]))


@ledger_app.command("portfolio")
def ledger_portfolio(wallet: str, network: str = NetworkOpt, db: Optional[str] = DbOpt, block: Optional[int] = BlockOpt) -> None:
    """What a wallet holds, at a block."""
    rows = _ledger(network, db).portfolio(wallet, block=block)
    cols = [c for c in ("symbol", "asset_id", "amount", "percent") if rows and c in rows[0].to_dict()] or ["asset_id", "amount"]
    emit([r.to_dict() for r in rows], _rows_table(f"portfolio of {wallet}", rows, cols))


@ledger_app.command("history")
def ledger_history(asset: Optional[str] = typer.Option(None, "--asset"), wallet: Optional[str] = typer.Option(None, "--wallet"),
                   limit: Optional[int] = typer.Option(50, "--limit"), network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """Events of an asset or a wallet, in chain order (the most recent --limit)."""
    rows = _ledger(network, db).history(asset=asset, wallet=wallet, limit=limit)
    t = Table(title="history")
    for c in ("block", "event", "contract", "details"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r.block_number), r.event or "?", r.contract_kind, ", ".join(f"{k}={v}" for k, v in r.args.items()))
    emit([r.to_dict() for r in rows], t)


@ledger_app.command("reconcile")
def ledger_reconcile(network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """Check every balance and total supply in the ledger against the chain; exit 1 if any differ."""
    from .stack import load_stack

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    report = _ledger(network, db).reconcile(load_stack(_session(network)))
    if report.ok:
        emit(report.to_dict(), f"[green]ok[/]: {report.holders} balances and {report.tokens} total supplies match the chain "
                               f"at block {report.block}")
        return
    t = Table(title=f"{len(report.differences)} differences at block {report.block}")
    for c in ("kind", "asset", "holder", "ledger", "chain"):
        t.add_column(c)
    for d in report.differences:
        t.add_row(d.kind, d.symbol or d.token or "", d.holder or "", str(d.ledger), str(d.chain))
    emit(report.to_dict(), t)
    raise typer.Exit(1)


@ledger_app.command("audit")
def ledger_audit(safe: Optional[str] = typer.Option(None, "--safe", help="Only this Safe."),
                 network: str = NetworkOpt, db: Optional[str] = DbOpt) -> None:
    """What the Safes holding roles executed, with the signers recovered from their events and the proposal and
    approvals of each, and every change of their owners or threshold (as of the last `rwa ledger sync`)."""
    executions, changes = _ledger(network, db).safe_audit(safe)
    t = Table(title="Safe transactions")
    for c in ("block", "safe", "nonce", "proposal", "what", "signers", "result"):
        t.add_column(c)
    for x in executions:
        what = "\n".join(x.calls) if x.calls else f"call to {x.to}" + (" (MultiSend)" if x.operation else "")
        t.add_row(str(x.block_number), x.safe, str(x.nonce), f"#{x.proposal_id}" if x.proposal_id else "-", what,
                  "\n".join(x.signers), "executed" if x.success else "[red]failed[/]")
    for c in changes:
        t.add_row(str(c.block_number), c.safe, "", "", f"{c.event} {json.dumps(c.args)}", "", "")
    emit({"executions": [x.to_dict() for x in executions], "changes": [c.to_dict() for c in changes]}, t)


@ledger_app.command("follow")
def ledger_follow(network: str = NetworkOpt, db: Optional[str] = DbOpt,
                  poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at the chain head."),
                  confirmations: int = typer.Option(0, "--confirmations", help="Stay this many blocks behind the head.")) -> None:
    """Keep the ledger synced with the chain until stopped (Ctrl-C): new heads every --poll seconds, replaced
    branches rolled back, a node outage retried with backoff. While another follower (`rwa serve`, another
    `rwa ledger follow`) writes the same ledger this one stands by and takes over if that one stops."""
    from .follower import Follower
    from .stack import load_stack

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    if poll <= 0:
        raise RwaError("--poll must be positive")

    def report(result) -> None:
        if result.events or result.rollbacks:
            err.print(f"block {result.to_block}: {result.events} events"
                      + (f", rolled back {'; '.join(map(str, result.rollbacks))}" if result.rollbacks else ""),
                      highlight=False)

    follower = Follower(_ledger(network, db), load_stack(_session(network)), poll=poll, confirmations=confirmations,
                        on_sync=report, on_role=_print_role)
    err.print(f"following {network} (Ctrl-C stops)")
    try:
        follower.run()
    except KeyboardInterrupt:
        err.print(f"stopped at block {follower.status().synced_block}")


@ledger_app.command("export")
def ledger_export(
    what: str = typer.Argument(..., help="cap-table, investor-cap-table, history, events, countries, portfolio or assets."),
    asset: Optional[str] = typer.Option(None, "--asset"),
    wallet: Optional[str] = typer.Option(None, "--wallet"),
    block: Optional[int] = BlockOpt,
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="File to write (default: stdout)."),
    labels: bool = typer.Option(False, "--labels", help="investor-cap-table: include the investors' names."),
    network: str = NetworkOpt,
    db: Optional[str] = DbOpt,
) -> None:
    """Export ledger data as CSV or JSON (registrar-side: investor names only with --labels)."""
    kinds = {"cap-table": "cap_table", "investor-cap-table": "investor_cap_table", "history": "history",
             "events": "events", "countries": "totals_by_country", "portfolio": "portfolio", "assets": "assets"}
    if what not in kinds:
        raise RwaError(f"cannot export {what!r}: choose {', '.join(kinds)}")
    if fmt not in ("csv", "json"):
        raise RwaError("--format is csv or json")
    query: dict[str, Any] = {}
    if kinds[what] in ("cap_table", "totals_by_country", "investor_cap_table"):
        if not asset:
            raise RwaError(f"exporting {what} needs --asset")
        query = {"asset": asset, "block": block}
        if kinds[what] == "investor_cap_table":
            query["labels"] = labels
    elif kinds[what] == "portfolio":
        if not wallet:
            raise RwaError("exporting a portfolio needs --wallet")
        query = {"wallet": wallet, "block": block}
    elif kinds[what] == "history":
        query = {"asset": asset, "wallet": wallet}
    count = _ledger(network, db).export(kinds[what], str(out_file) if out_file else sys.stdout, fmt, **query)
    if out_file:
        err.print(f"wrote {count} rows to {out_file}")


class _progress:
    """A rich progress bar (silent under --json)."""

    def __init__(self, total: int | None, label: str):
        self.total, self.label = total, label

    def __enter__(self):
        if state.json:
            return lambda n: None
        from rich.progress import Progress

        self._p = Progress(console=err, transient=True)
        self._p.start()
        task = self._p.add_task(self.label, total=self.total)
        return lambda n: self._p.advance(task, n)

    def __exit__(self, *exc):
        if not state.json:
            self._p.stop()


# --- transactions: the journal and the node ------------------------------------------

tx_app = typer.Typer(help="Inspect or replace a transaction a batch sent (its journal and the node).",
                     no_args_is_help=True)
app.add_typer(tx_app, name="tx")


def _emit_line(data: Any, line: str) -> None:
    """One line, never wrapped (a script reads it)."""
    if state.json:
        emit(data)
    else:
        out.print(line, soft_wrap=True, highlight=False, markup=False)


def _tx_line(info: dict) -> str:
    if info["state"] == "mined":
        return f"{info['hash']}: mined in block {info['block']}" + ("" if info.get("status", 1) else " (reverted)")
    if info["state"] == "pending":
        return f"pending: hash {info['hash']}, nonce {info['nonce']} (it may still execute)"
    if info["state"] == "dropped":
        return (f"dropped: hash {info['hash']}, nonce {info['nonce']} (unknown to the node, its nonce still free: "
                "the next batch re-broadcasts it from the journal, or `rwa tx cancel` replaces it)")
    return f"replaced: hash {info['hash']}, nonce {info['nonce']} (another transaction used its nonce: it can never execute)"


@tx_app.command("status")
def tx_status(tx_hash: str, network: str = NetworkOpt) -> None:
    """Say whether a transaction is mined, pending, dropped or replaced."""
    from .chain import connect
    from .transactions import lookup

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    info = lookup(connect(network), tx_hash)
    _emit_line(info, _tx_line(info))


@tx_app.command("cancel")
def tx_cancel(tx_hash: str, network: str = NetworkOpt, keystore: Optional[Path] = KeystoreOpt,
              account: int = AccountOpt) -> None:
    """Replace a pending or dropped transaction (a 0-value self-transfer, same nonce, higher fee); refused if mined."""
    from .transactions import cancel

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    info = cancel(_session(network, keystore, account).tx, tx_hash)
    _emit_line(info, f"cancelled: {tx_hash} (nonce {info['nonce']}) replaced by {info['replacement']}, "
                     f"mined in block {info['block']}")


@tx_app.command("pending")
def tx_pending(network: str = NetworkOpt) -> None:
    """List the journal: transactions batches signed that have no receipt yet (and those marked replaced)."""
    from . import journal as journals
    from .chain import connect

    if network == "tester":
        raise RwaError(IN_PROCESS_HINT)
    journal = journals.for_chain(connect(network))
    entries = journal.entries(None) if journal is not None else []
    rows = [{"hash": e.tx_hash, "sender": e.sender, "nonce": e.nonce, "what": e.what, "state": e.state}
            for e in entries]
    if state.json:
        emit(rows)
        return
    if not rows:
        out.print("the journal is empty: no batch left a transaction without a receipt")
        return
    table = Table(title=f"journal ({len(rows)})")
    for col in ("hash", "nonce", "sender", "what", "state"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["hash"], str(r["nonce"]), r["sender"], r["what"], r["state"])
    out.print(table)


# --- entry point -------------------------------------------------------------------


def main() -> None:
    """Run the CLI; turn library errors into one line and a non-zero exit code."""
    try:
        code = app(standalone_mode=False)  # without standalone mode click RETURNS a typer.Exit's code
    except RwaError as exc:
        if isinstance(exc, TransactionTimeout) or getattr(exc, "pending", None):
            # sent and not confirmed: it may still execute, so neither "error" nor exit 1 (`rwa tx status H`)
            err.print(f"[yellow]pending:[/] {escape(str(exc))}; see `rwa tx status HASH`", highlight=False,
                      soft_wrap=True)
            sys.exit(EXIT_PENDING)
        kind = "rejected" if isinstance(exc, ContractRevert) or hasattr(exc, "rule") else "error"
        err.print(f"[red]{kind}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)  # "[roles]" is text
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except ClickException as exc:  # usage errors: unknown command, bad option value
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("RWA_DEBUG"):
            raise
        err.print(f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (set RWA_DEBUG=1 for a traceback)",
                  highlight=False, soft_wrap=True)
        sys.exit(2)
    if isinstance(code, int) and code:
        sys.exit(code)  # e.g. reconcile found differences (1), node status found no node (1)


if __name__ == "__main__":
    main()
