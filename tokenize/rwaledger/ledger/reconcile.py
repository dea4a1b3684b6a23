"""Compare the ledger with the chain at the ledger's checkpoint block.

For every token in the ledger: every holder the ledger has ever seen (zero balances included, so a holder
the ledger thinks has left is checked too) against ``balanceOf(holder)``, and the ledger's supply against
``totalSupply()``; the number of assets against the registry's ``assetCount()``; and, given the identity
registry, every investor's state against ``investor(id)`` (country, KYC expiry, category, active) and every
wallet's binding and status against ``investorOf(wallet)`` and ``walletStatus(wallet)``. Calls are batched
(one JSON-RPC batch per 500 calls on a node)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils import keccak
from sqlalchemy import Connection

from ..errors import ChainReset
from .db import get_checkpoint
from .decode import ZERO_ADDRESS, checksum
from .project import WALLET_STATUSES
from .queries import Queries
from .rpc import ChainReader

BALANCE_OF = bytes.fromhex("70a08231")
TOTAL_SUPPLY = bytes.fromhex("18160ddd")
INVESTOR = keccak(text="investor(address)")[:4]  # -> (country, kycExpiry, category, active, multiWallet)
INVESTOR_OF = keccak(text="investorOf(address)")[:4]
WALLET_STATUS = keccak(text="walletStatus(address)")[:4]  # 0 none, 1 active, 2 removed, 3 lost


IDENTITY_KINDS = ("country", "kyc_expiry", "category", "investor_active", "wallet_investor", "wallet_status")


@dataclass(frozen=True)
class Difference:
    # "balance", "supply", "assets"; identities: "country", "kyc_expiry", "category", "investor_active" (holder
    # = the investor id), "wallet_investor" (an address each side), "wallet_status" (a status name each side)
    kind: str
    token: str | None
    symbol: str | None
    holder: str | None  # None for a supply / asset-count difference
    ledger: int | str
    chain: int | str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.kind in IDENTITY_KINDS:
            return f"identity {self.holder} {self.kind}: ledger {self.ledger}, chain {self.chain}"
        what = self.holder or self.kind
        return f"{self.symbol or self.token or 'registry'} {what}: ledger {self.ledger}, chain {self.chain}"


@dataclass
class ReconcileReport:
    block: int
    tokens: int
    holders: int
    differences: list[Difference] = field(default_factory=list)
    investors: int = 0  # investors checked against the registry
    wallets: int = 0  # wallets checked against the registry

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {"block": self.block, "tokens": self.tokens, "holders": self.holders, "investors": self.investors,
                "wallets": self.wallets, "ok": self.ok, "differences": [d.to_dict() for d in self.differences]}


def _word(value: bytes) -> int:
    return int.from_bytes(value[:32], "big") if value else 0


def _arg(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def reconcile(
    conn: Connection,
    reader: ChainReader,
    registry_address: str,
    asset_count_data: bytes,
    identity_address: str | None = None,
) -> ReconcileReport:
    q = Queries(conn)
    block = q.block_or_checkpoint(None)
    check_checkpoint_on_chain(conn, reader)
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
    if identity_address is not None:
        reconcile_identities(q, reader, identity_address, block, report)
    return report


def check_checkpoint_on_chain(conn: Connection, reader: ChainReader) -> None:
    """Raise :class:`ChainReset` when the chain no longer has the ledger's checkpoint block (past its head, or
    another hash there): comparing balances at a block the chain does not have would be meaningless (a node asked
    for a block past its head answers an opaque "block out of range")."""
    cp = get_checkpoint(conn)
    if cp is None:
        return
    onchain = reader.block_hash(cp.block)
    if onchain == cp.hash:
        return
    if onchain is None:
        head = reader.head()
        raise ChainReset(f"the chain was reset: the ledger is synced to block {cp.block} but the chain's head is "
                         f"block {head}; run `ledger sync` to roll the ledger back to what the chain still has "
                         "(or sync into a new file if this is another chain)")
    raise ChainReset(f"the chain was reset or reorganized: block {cp.block} has hash {onchain} on the chain, not the "
                     f"ledger's {cp.hash}; run `ledger sync` to roll the ledger back to the fork point")


def reconcile_identities(q: Queries, reader: ChainReader, identity: str, block: int, report: ReconcileReport) -> None:
    """Every investor and wallet of the ledger against the registry at ``block`` (fields the ledger does not
    know, of an investor registered before its start block, are not compared)."""
    investors = q.investor_states_at(block)
    bound = q.bindings_at(block)
    statuses = q.wallet_statuses_at(block, bound)
    ids, wallets = sorted(investors), sorted(bound)
    requests = [(identity, INVESTOR + _arg(i)) for i in ids]
    requests += [(identity, sel + _arg(w)) for w in wallets for sel in (INVESTOR_OF, WALLET_STATUS)]
    answers = reader.calls(requests, block)
    report.investors, report.wallets = len(ids), len(wallets)
    diffs = report.differences
    for investor, raw in zip(ids, answers):
        words = [int.from_bytes(raw[k : k + 32], "big") for k in range(0, 160, 32)] if len(raw) >= 160 else [0] * 5
        st = investors[investor]
        chain = {"country": words[0], "kyc_expiry": words[1], "category": words[2], "investor_active": bool(words[3])}
        mine = {"country": st.country_numeric, "kyc_expiry": st.kyc_expiry, "category": st.category,
                "investor_active": st.active}
        for kind, value in mine.items():
            if value is not None and value != chain[kind]:
                diffs.append(Difference(kind, None, None, investor, int(value), int(chain[kind])))
    rest = answers[len(ids):]
    for k, wallet in enumerate(wallets):
        onchain_investor = checksum("0x" + rest[2 * k][12:32].hex()) if len(rest[2 * k]) >= 32 else ZERO_ADDRESS
        code = _word(rest[2 * k + 1])
        onchain_status = WALLET_STATUSES[code - 1] if 1 <= code <= len(WALLET_STATUSES) else "none"
        if onchain_investor != bound[wallet]:
            diffs.append(Difference("wallet_investor", None, None, wallet, bound[wallet], onchain_investor))
        status = statuses.get(wallet, ("active", 0))[0]  # active from its binding on
        if status != onchain_status:
            diffs.append(Difference("wallet_status", None, None, wallet, status, onchain_status))
