"""Distributions (the registrar's act): entitlements pro rata to the cap table at a record block, committed as a
Merkle root with the funds; each holder (or anyone for it) claims with a proof, paid to the holder or its successor
after a recovery. The proofs are published as ``distributions/<id>.json`` beside the deployment record.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from web3 import Web3
from web3.logs import DISCARD

from ..merkle import MerkleTree
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from ..signers import Signer
from ..transactions import SignedTx, call_functions, call_many, pipeline
from .context import ZERO, RegistrarError, ServiceContext
from .context import checked_address as _address
from .context import timestamp as _ts
from .results import Action, Result, Status
from .selectors import CAN_TRANSACT, CLAIM, CLAIM_GAS, IS_CLAIMED, IS_WITHHELD, SUCCESSOR_OF


@dataclass
class DistributionPlan:
    asset_id: int
    token: str
    record_block: int
    total: int
    entries: list[tuple[int, str, int]]  # (index, account, amount)
    tree: MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    def proof(self, account: str) -> tuple[int, int, list[bytes]]:
        account = Web3.to_checksum_address(account)
        for i, (index, who, amount) in enumerate(self.entries):
            if who == account:
                return index, amount, self.tree.proof(i)
        raise RegistrarError(f"{account} has no entitlement in this distribution")

    def to_json(self, distribution_id: int | None = None, payment_token: str | None = None) -> dict[str, Any]:
        return {
            "distributionId": distribution_id,
            "assetId": self.asset_id,
            "token": self.token,
            "paymentToken": payment_token,
            "recordBlock": self.record_block,
            "total": str(self.total),
            "merkleRoot": "0x" + self.root.hex(),
            "leafEncoding": "keccak256(bytes.concat(keccak256(abi.encode(uint256 index, address account, uint256 amount))))",
            "claims": [
                {"index": idx, "account": who, "amount": str(amt), "proof": ["0x" + p.hex() for p in self.tree.proof(i)]}
                for i, (idx, who, amt) in enumerate(self.entries)
            ],
        }


LEAF_TYPES = ("uint256", "address", "uint256")


def pro_rata(balances: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` in proportion to ``balances`` exactly (largest remainder), so the parts sum to ``total``."""
    supply = sum(balances.values())
    if supply <= 0:
        raise RegistrarError("no holders at the record block: nothing to distribute to")
    shares = {a: total * b // supply for a, b in balances.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(balances, key=lambda a: (-(total * balances[a] % supply), a))
    for a in by_remainder[:left]:
        shares[a] += 1
    return {a: v for a, v in shares.items() if v > 0}


class DistributionService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self._plans: dict[int, DistributionPlan] = {}
        self._plans_by_root: dict[bytes, DistributionPlan] = {}  # proposed, not created yet

    def balances_at(self, asset: str | int, block: int) -> dict[str, int]:
        """Every holder's balance at ``block``, from the token's Transfer logs (the chain's cap table)."""
        token = self.ctx.token(asset)
        logs = token.events.Transfer().get_logs(from_block=0, to_block=block)
        balances: dict[str, int] = {}
        for log in logs:
            a = log["args"]
            balances[a["from"]] = balances.get(a["from"], 0) - a["value"]
            balances[a["to"]] = balances.get(a["to"], 0) + a["value"]
        balances.pop(ZERO, None)
        return {h: b for h, b in balances.items() if b > 0}

    def plan_distribution(self, asset: str | int, total: int, record_block: int | None = None,
                          balances: dict[str, int] | None = None, ledger: Any = None) -> DistributionPlan:
        """Entitlements pro rata to the cap table at ``record_block`` and their Merkle tree.

        The cap table comes from ``balances`` if given, else from ``ledger`` (an :class:`rwaledger.ledger.Ledger`,
        synced here first), else from the token's Transfer logs up to the record block.
        """
        asset_id = self.ctx.asset_id(asset)
        record_block = self.ctx.w3.eth.block_number if record_block is None else record_block
        if balances is None and ledger is not None:
            ledger.sync(self.ctx.stack)
            balances = {row.holder: row.amount for row in ledger.cap_table(asset_id, block=record_block)}
        balances = balances if balances is not None else self.balances_at(asset_id, record_block)
        shares = pro_rata(balances, total)
        entries = [(i, holder, amount) for i, (holder, amount) in enumerate(sorted(shares.items()))]
        tree = MerkleTree.build(LEAF_TYPES, entries)
        return DistributionPlan(asset_id, self.ctx.token(asset_id).address, record_block, total, entries, tree)

    def distribute(self, asset: str | int, payment_token: str, total: int, expiry: dt.datetime,
                   record_block: int | None = None, balances: dict[str, int] | None = None,
                   ledger: Any = None) -> Result:
        """Compute entitlements, fund the distribution (approve + create) and publish the root and proofs."""
        plan = self.plan_distribution(asset, total, record_block, balances, ledger)
        pay = self.ctx.w3.eth.contract(address=_address(payment_token), abi=self.ctx.session.build["IERC20"].abi)
        dist = self.ctx.stack.distributions
        tx = self.ctx.require_role("registrar", "funding a distribution")
        allowance = pay.functions.allowance(tx.address, dist.address).call()
        calls = [pay.functions.approve(dist.address, total)] if allowance < total else []
        calls.append(dist.functions.createDistribution(plan.token, pay.address, total, plan.root, plan.record_block,
                                                       _ts(expiry)))
        if self.ctx.is_route(tx):  # the id is known once it runs: the proofs are kept by their Merkle root until then
            self._plans_by_root[plan.root] = plan
            if self.ctx.distributions_dir is not None:
                self.ctx.distributions_dir.mkdir(parents=True, exist_ok=True)
                (self.ctx.distributions_dir / f"root-{plan.root.hex()}.json").write_text(
                    json.dumps(plan.to_json(None, pay.address), indent=1))
            proposed = self.ctx.send(tx, f"funding a distribution to {len(plan.entries)} holders", calls)
            return self.ctx.result(Action.DISTRIBUTION_CREATE, proposed, asset=self.ctx.handle(plan.asset_id),
                                   distribution_id=None, total=total, holders=len(plan.entries),
                                   root="0x" + plan.root.hex(), record_block=plan.record_block, proofs_file=None)
        receipts = [tx.transact(c) for c in calls]  # in turn: the creation is estimated after the approval
        receipt = receipts[-1]
        (log,) = dist.events.DistributionCreated().process_receipt(receipt.raw, errors=DISCARD)
        dist_id = int(log["args"]["distributionId"])
        self._plans[dist_id] = plan
        path = None
        if self.ctx.distributions_dir is not None:
            self.ctx.distributions_dir.mkdir(parents=True, exist_ok=True)
            path = self.ctx.distributions_dir / f"{dist_id}.json"
            path.write_text(json.dumps(plan.to_json(dist_id, pay.address), indent=1))
        return self.ctx.result(Action.DISTRIBUTION_CREATE, receipts, asset=self.ctx.handle(plan.asset_id),
                               distribution_id=dist_id, total=total, holders=len(plan.entries),
                               root="0x" + plan.root.hex(), record_block=plan.record_block,
                               proofs_file=str(path) if path else None)

    def plan(self, distribution_id: int) -> DistributionPlan:
        """The entitlements and proofs of a distribution: made here, or published in ``distributions/<id>.json``,
        or (a distribution proposed to a Safe, whose id was not known yet) by its on-chain Merkle root."""
        if distribution_id in self._plans:
            return self._plans[distribution_id]
        path = self.ctx.distributions_dir / f"{distribution_id}.json" if self.ctx.distributions_dir else None
        if path is None or not path.exists():
            root = bytes(self.ctx.stack.distributions.functions.distribution(distribution_id).call()[3])
            if root in self._plans_by_root:
                self._plans[distribution_id] = self._plans_by_root[root]
                return self._plans[distribution_id]
            path = self.ctx.distributions_dir / f"root-{root.hex()}.json" if self.ctx.distributions_dir else None
            if path is None or not path.exists():
                raise RegistrarError(f"no proofs known for distribution #{distribution_id}")
        data = json.loads(path.read_text())
        entries = [(c["index"], c["account"], int(c["amount"])) for c in data["claims"]]
        plan = DistributionPlan(data["assetId"], data["token"], data["recordBlock"], int(data["total"]), entries,
                                MerkleTree.build(LEAF_TYPES, entries))
        self._plans[distribution_id] = plan
        return plan

    def claim(self, distribution_id: int, account: str, signer: Signer | None = None) -> Result:
        """Claim ``account``'s entitlement (anyone may submit it): paid to ``account``, or to its successor after a
        recovery, while that wallet may be paid (verified, not frozen) and the entitlement is not withheld."""
        plan = self.plan(distribution_id)
        account = _address(account)
        index, amount, proof = plan.proof(account)
        token = self.ctx.stack.token(plan.token)
        payee = token.functions.successorOf(account).call()
        dist = self.ctx.stack.distributions.functions
        claimed, withheld, allowed = call_functions(self.ctx.session.chain, [
            dist.isClaimed(distribution_id, index), dist.isWithheld(distribution_id, index),
            token.functions.canTransact(payee)])
        if claimed:
            return self.ctx.result(Action.DISTRIBUTION_CLAIM, distribution_id=distribution_id, account=account,
                                   amount=amount, payee=payee)
        if withheld:
            raise RegistrarError(f"the registrar withholds {account}'s entitlement in distribution #{distribution_id}")
        if not allowed:
            raise RegistrarError(f"{payee} cannot be paid now (its wallet is frozen or not verified): the claim of "
                                 f"{account} waits until it can")
        sender = self.ctx.sender(signer) if signer else self.ctx.tx
        receipt = sender.transact(dist.claim(distribution_id, index, account, amount, proof))
        return self.ctx.result(Action.DISTRIBUTION_CLAIM, [receipt], distribution_id=distribution_id, account=account,
                               amount=amount, payee=payee)

    def claim_many(self, distribution_id: int, accounts: Sequence[str | Signer],
                   signer: Signer | Mapping[str, Signer] | None = None,
                   progress: Callable[[int], None] | None = None) -> Result:
        """Claim the entitlements of many ``accounts`` at once, pipelined like transfers.

        Who signs: ``signer`` for all (default: the session's own key, e.g. the registrar paying its payees), or a
        mapping account -> signer, or an account given as a :class:`Signer` signs its own claim (self-signed). Each
        signer's nonces are assigned in order. Every entitlement is pre-checked first in batched reads (the payee,
        ``isClaimed``, ``isWithheld``, ``canTransact`` of the payee): the already claimed are skipped, the rest that
        cannot be paid now are refused with their reason and nothing is sent for them; the others are sent in
        JSON-RPC batches a window at a time. An account without an entitlement raises before anything is sent."""
        self.ctx.settle_journal()
        plan = self.plan(distribution_id)
        by_account = {who: (i, index, amount) for i, (index, who, amount) in enumerate(plan.entries)}
        items: list[tuple[str, int, int, int, Any]] = []  # (account, leaf position, index, amount, signer)
        seen: set[str] = set()
        for a in accounts:
            own = a if isinstance(a, Signer) else None
            account = own.address if own else a
            account = account if account in by_account else _address(account)  # the plan's are checksummed
            if account in seen:
                continue
            seen.add(account)
            if account not in by_account:
                raise RegistrarError(f"{account} has no entitlement in distribution #{distribution_id}")
            who = own or (signer.get(account) if isinstance(signer, Mapping) else signer)
            items.append((account, *by_account[account], who))
        chain = self.ctx.session.chain
        token = plan.token
        dist = self.ctx.stack.distributions.address
        payees = [abi_decode(["address"], raw)[0] if raw else None for raw in call_many(chain, [
            (token, SUCCESSOR_OF + abi_encode(["address"], [account])) for account, *_ in items])]
        payees = [Web3.to_checksum_address(p) if p else account for p, (account, *_) in zip(payees, items)]
        checks = call_many(chain, [c for (account, _, index, _, _), payee in zip(items, payees) for c in (
            (dist, IS_CLAIMED + abi_encode(["uint256", "uint256"], [distribution_id, index])),
            (dist, IS_WITHHELD + abi_encode(["uint256", "uint256"], [distribution_id, index])),
            (token, CAN_TRANSACT + abi_encode(["address"], [payee])))])
        flag = lambda raw: bool(abi_decode(["bool"], raw)[0]) if raw else None  # noqa: E731
        todo: list[tuple[str, int, int, int, Any]] = []
        refused: list[dict[str, str]] = []
        skipped = 0
        for k, (item, payee) in enumerate(zip(items, payees)):
            claimed, withheld, allowed = (flag(r) for r in checks[3 * k: 3 * k + 3])
            account = item[0]
            if claimed:
                skipped += 1
            elif withheld:
                refused.append({"account": account, "reason": "withheld by the registrar"})
            elif not allowed:
                refused.append({"account": account, "reason": f"payee {payee} cannot be paid now (its wallet is "
                                                              "frozen or not verified)"})
            else:
                todo.append(item)
        receipts = []
        if todo:
            signers = [s for *_, s in todo if s is not None]
            self.ctx.prepare_senders(signers)
            if any(s is None for *_, s in todo):
                self.ctx.tx.fees()
            proofs = {pos: plan.tree.proof(pos) for _, pos, _, _, _ in todo}

            def sign(item: tuple) -> SignedTx:
                account, pos, index, amount, who = item
                data = CLAIM + abi_encode(["uint256", "uint256", "address", "uint256", "bytes32[]"],
                                          [distribution_id, index, account, amount, proofs[pos]])
                sender = self.ctx.sender(who) if who is not None else self.ctx.tx
                return sender.sign_data(dist, data, gas=CLAIM_GAS)

            receipts = pipeline(chain, todo, sign, decoder_from=self.ctx.tx, progress=progress,
                                what=f"claim in distribution {distribution_id}")
        return self.ctx.result(Action.DISTRIBUTION_CLAIM_MANY, receipts,
                               status=Status.DONE if receipts else Status.SKIPPED,
                               distribution_id=distribution_id, claimed=len(receipts),
                               amount=sum(amount for _, _, _, amount, _ in todo), skipped=skipped,
                               refused=refused)

    def withhold(self, distribution_id: int, accounts: Sequence[str], withheld: bool = True) -> Result:
        """Withhold (or release) the entitlements of ``accounts`` in a distribution."""
        plan = self.plan(distribution_id)
        indexes = [plan.proof(_address(a))[0] for a in accounts]
        sent = self.ctx.send(self.ctx.require_role("registrar", "withholding"), "withholding",
                          [self.ctx.stack.distributions.functions.setWithheld(distribution_id, indexes, withheld)])
        return self.ctx.result(Action.DISTRIBUTION_WITHHOLD, sent, distribution_id=distribution_id,
                               entitlements=len(indexes), withheld=withheld)

    def reclaim_expired(self, distribution_id: int) -> Result:
        """Return a distribution's unclaimed funds to the registrar once it expired."""
        sent = self.ctx.send(self.ctx.require_role("registrar", "reclaiming"), "reclaiming",
                          [self.ctx.stack.distributions.functions.reclaimExpired(distribution_id)])
        return self.ctx.result(Action.DISTRIBUTION_RECLAIM, sent, distribution_id=distribution_id)

