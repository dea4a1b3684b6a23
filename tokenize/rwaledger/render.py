"""Words for a service :class:`~rwaledger.services.Result`: the one sentence the CLI prints and the API returns as
``detail`` beside the result's data. Rendering lives here, not in the services, so an act is described once, the
same way everywhere, and the services stay data in, data out.
"""

from __future__ import annotations

from typing import Any, Callable

from .amounts import format_amount
from .services.results import Action, AssetRef, Result, Status


def _amount(asset: AssetRef | None, value: Any) -> str:
    if asset is None or value is None:
        return str(value)
    return format_amount(int(value), decimals=asset.decimals, unit=asset.unit)


def _register(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.PROPOSED:
        return f"registering {f['symbol']} (once executed, run the spec again to apply its rules, documents and lots)"
    if f.get("rerun"):
        named = (f"{f['reference']} ({f['jurisdiction']}) is already registered as asset #{f['asset_id']} "
                 f"({f['symbol']})")
        if r.status is Status.SKIPPED:
            return f"{named}: nothing to change"
        return f"{named}: completed its registration ({'; '.join(describe(s) for s in r.done_steps)})"
    return f"registered {f['symbol']} as asset #{f['asset_id']}, token {f['token']}"


def _rules(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return "rules unchanged"
    if r.status is Status.PENDING:
        token = r.asset.token if r.asset else "TOKEN"
        return f"rules ({', '.join(f['changes'])}) need the compliance officer: `rwa asset rules {token} SPEC`"
    return "rules: " + ", ".join(f["changes"])


def _document(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"document {f['name']!r} unchanged (#{f['document_id']})"
    verb = f"superseding #{f['supersedes']}" if f.get("supersedes") else "first version"
    return f"document {f['name']!r} recorded ({verb})"


def _status(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"asset #{f['asset_id']} is already {f['status_to']}"
    if r.status is Status.PENDING:
        return (f"activate asset #{f['asset_id']} once the steps above are done (`rwa asset status "
                f"{f['symbol']} active`)")
    return f"asset #{f['asset_id']} is now {f['status_to']}"


def _onboard(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"{f['wallets']} wallets already registered as given: nothing sent"
    return (f"{f['registered']} investors registered, {f['updates']} field updates, {f['wallets_added']} wallets "
            f"added, {f['already']} already registered")


def _recover(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"{f['lost']} was already recovered into a wallet of investor {f['investor']}: nothing held"
    steps = ["wallet replaced in the identity registry"] if f.get("replaced") else []
    if f.get("moved"):
        steps.append("units moved: " + ", ".join(f["moved"]))
    return f"recovered {f['lost']} -> {f['new']}: {'; '.join(steps)}"


def _lot(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"lot {f['lot']} already attested"
    if r.status is Status.PENDING:
        return f"lot {f['lot']} needs the custodian: `rwa lot attest ...`"
    return f"lot {f['lot']}: {f['quantity']} units in {f['vault']}"


def _mint(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"already minted (allocation {f['reference'] or f['ref'][2:18]}): nothing sent"
    return f"minted {_amount(r.asset, f['amount'])} to {f['to']}"


def _mint_many(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.PROPOSED:
        return f"minting {f['proposed_allocations']} allocations ({f['skipped']} already minted)"
    return f"{f['minted']} allocations minted, {f['skipped']} already minted"


def _forced(r: Result, f: dict[str, Any]) -> str:
    frozen = f.get("frozen_units_moved") or 0
    return (f"forced transfer of {_amount(r.asset, f['amount'])} from {f['sender']} to {f['to']} ({f['reason']})"
            + (f", of which {_amount(r.asset, frozen)} frozen" if frozen else ""))


def _claim(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.SKIPPED:
        return f"{f['account']} already claimed distribution #{f['distribution_id']}"
    paid = f" (paid to its successor {f['payee']})" if f["payee"] != f["account"] else ""
    return f"{f['account']} claimed {f['amount']}{paid}"


def _claim_many(r: Result, f: dict[str, Any]) -> str:
    text = (f"{f['claimed']} claims of distribution #{f['distribution_id']} paid ({f['amount']} in all), "
            f"{f['skipped']} already claimed")
    if f["refused"]:
        text += f", {len(f['refused'])} refused: " + "; ".join(f"{x['account']}: {x['reason']}" for x in f["refused"])
    return text


def _distribution(r: Result, f: dict[str, Any]) -> str:
    if r.status is Status.PROPOSED:
        return f"funding a distribution of {f['total']} to {f['holders']} holders, root {f['root'][:18]}..."
    return f"distribution #{f['distribution_id']}: {f['total']} to {f['holders']} holders, root {f['root'][:18]}..."


SENTENCES: dict[Action, Callable[[Result, dict[str, Any]], str]] = {
    Action.ASSET_REGISTER: _register,
    Action.ASSET_RULES: _rules,
    Action.ASSET_DOCUMENT: _document,
    Action.ASSET_STATUS: _status,
    Action.INVESTORS_ONBOARD: _onboard,
    Action.WALLET_ADD: lambda r, f: (f"{f['wallet']} already is a wallet of investor {f['investor']}"
                                     if r.status is Status.SKIPPED else
                                     f"{f['wallet']} is now a wallet of investor {f['investor']}"),
    Action.WALLET_REMOVE: lambda r, f: f"{f['wallet']} removed from investor {f['investor']}",
    Action.WALLET_RECOVER: _recover,
    Action.INVESTOR_DELETE: lambda r, f: f"the investor of {f['wallet']} is deleted: none of its wallets is verified",
    Action.INVESTOR_SYNC: lambda r, f: f"recounted in {f['tokens']} tokens",
    Action.LOT_ATTEST: _lot,
    Action.MINT: _mint,
    Action.MINT_MANY: _mint_many,
    Action.FORCED_TRANSFER: _forced,
    Action.BURN: lambda r, f: f"burned {_amount(r.asset, f['amount'])} of {f['holder']} ({f['reason']})",
    Action.FREEZE_WALLET: lambda r, f: f"{f['wallet']} {'frozen' if f['frozen'] else 'unfrozen'}",
    Action.FREEZE_PARTIAL: lambda r, f: (f"{_amount(r.asset, f['amount'])} of {f['wallet']} "
                                         f"{'frozen' if f['frozen'] else 'unfrozen'}"),
    Action.PAUSE: lambda r, f: "paused" if f["paused"] else "unpaused",
    Action.LIEN_CREATE: lambda r, f: (f"lien #{f['lien_id']} of {_amount(r.asset, f['amount'])} on {f['holder']}"
                                      if f.get("lien_id") is not None else
                                      f"a lien of {_amount(r.asset, f['amount'])} on {f['holder']}"),
    Action.LIEN_RELEASE: lambda r, f: f"lien #{f['lien_id']} released",
    Action.LIEN_BENEFICIARY: lambda r, f: f"lien #{f['lien_id']} now has beneficiary {f['beneficiary']}",
    Action.REDEMPTION_FULFIL: lambda r, f: f"redemption #{f['request_id']} fulfilled from {', '.join(f['lots'])}",
    Action.REDEMPTION_REJECT: lambda r, f: f"redemption #{f['request_id']} rejected ({f['reason']})",
    Action.DISTRIBUTION_CREATE: _distribution,
    Action.DISTRIBUTION_CLAIM: _claim,
    Action.DISTRIBUTION_CLAIM_MANY: _claim_many,
    Action.DISTRIBUTION_WITHHOLD: lambda r, f: (f"{f['entitlements']} entitlements "
                                                f"{'withheld' if f['withheld'] else 'released'}"),
    Action.DISTRIBUTION_RECLAIM: lambda r, f: f"unclaimed funds of distribution #{f['distribution_id']} returned",
}


def describe(result: Result) -> str:
    """The sentence for ``result``; a proposal says which Safe it waits for and what it would do."""
    text = SENTENCES[result.action](result, result.facts)
    p = result.proposal
    if p is not None:
        return (f"proposal #{p.id} to the Safe {p.safe} (nonce {p.nonce}, needs {p.threshold} of {p.owners} "
                f"owners): " + "; ".join(p.calls) + (f" [{text}]" if result.action is Action.ASSET_REGISTER else ""))
    return text


def payload(result: Result) -> dict[str, Any]:
    """The result as JSON-ready data with its sentence: what ``rwa --json`` prints and the API answers."""
    data = result.model_dump(mode="json")
    data["detail"] = describe(result)
    data["tx_hash"] = result.tx_hash
    return data
