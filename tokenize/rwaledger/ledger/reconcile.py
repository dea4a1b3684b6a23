"""Compare the ledger with the chain at the ledger's checkpoint block.

For every token in the ledger: every holder the ledger has ever seen (zero balances included, so a holder
the ledger thinks has left is checked too) against ``balanceOf(holder)``, and the ledger's supply against
``totalSupply()``; and the number of assets against the registry's ``assetCount()``. Calls are batched
(one JSON-RPC batch per 500 calls on a node)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection

from .queries import Queries
from .rpc import ChainReader

BALANCE_OF = bytes.fromhex("70a08231")
TOTAL_SUPPLY = bytes.fromhex("18160ddd")


@dataclass(frozen=True)
class Difference:
    kind: str  # "balance", "supply" or "assets"
    token: str | None
    symbol: str | None
    holder: str | None  # None for a supply / asset-count difference
    ledger: int
    chain: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        what = self.holder or self.kind
        return f"{self.symbol or self.token or 'registry'} {what}: ledger {self.ledger}, chain {self.chain}"


@dataclass
class ReconcileReport:
    block: int
    tokens: int
    holders: int
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {"block": self.block, "tokens": self.tokens, "holders": self.holders, "ok": self.ok,
                "differences": [d.to_dict() for d in self.differences]}


def _word(value: bytes) -> int:
    return int.from_bytes(value[:32], "big") if value else 0


def reconcile(conn: Connection, reader: ChainReader, registry_address: str, asset_count_data: bytes) -> ReconcileReport:
    q = Queries(conn)
    block = q.block_or_checkpoint(None)
    assets = [a for a in q.assets() if a.token]
    report = ReconcileReport(block, len(assets), 0)

    (count,) = reader.calls([(registry_address, asset_count_data)], block)
    if _word(count) != len(assets):
        report.differences.append(Difference("assets", None, None, None, len(assets), _word(count)))

    for rec in assets:
        token = rec.token or ""
        balances = q.balances(token, block)
        holders = sorted(balances)
        requests = [(token, BALANCE_OF + bytes(12) + bytes.fromhex(h[2:])) for h in holders]
        requests.append((token, TOTAL_SUPPLY))
        answers = reader.calls(requests, block)
        report.holders += len(holders)
        for holder, raw in zip(holders, answers):
            onchain = _word(raw)
            if onchain != balances[holder]:
                report.differences.append(Difference("balance", token, rec.symbol, holder, balances[holder], onchain))
        supply, onchain_supply = sum(balances.values()), _word(answers[-1])
        if supply != onchain_supply:
            report.differences.append(Difference("supply", token, rec.symbol, None, supply, onchain_supply))
    return report
