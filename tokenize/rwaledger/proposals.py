"""Proposals: registrar operations sent through a Safe, made by one officer and approved by the Safe's owners.

The maker/checker flow of a role held by a Safe multisig (:mod:`rwaledger.safe`):

1. **propose**: :class:`~rwaledger.services.Services` built with ``via=SafeRoute(...)`` checks an operation as it
   always does (specs, amounts, references, ``detectTransferRestriction``/``canForceTransfer``) and, instead of
   sending it, stores it here as one Safe transaction (a batch as one MultiSend, all or none) with its EIP-712
   hash and each call decoded into plain words ("mint 2,500 shares LHR-GH12B to 0x7099…79C8 ref sale-deed-1");
2. **approve**: an owner signs the stored transaction locally (eth-account EIP-712); the hash is recomputed from the
   stored fields first, and the signature is recovered and checked against the Safe's owners before it is stored;
3. **execute**: once the threshold is met, anyone sends ``execTransaction`` with the signatures ordered as Safe
   requires. It is estimated first, so a transaction that would fail is never sent; Safe then only says ``GS013``,
   so the calls are run from the Safe (``simulate`` of Safe's fallback handler, which runs them in the Safe's
   context and reverts) to raise the failing call's own decoded error. The same simulation is the pre-check
   shown with a proposal.

Proposals and approvals are rows of the ledger database (:mod:`rwaledger.ledger.schema` ``safe_proposals``,
``safe_approvals``); the execution is read back from the Safe's ``ExecutionSuccess``/``ExecutionFailure`` events.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Engine, func, insert, select, update
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from . import safe as safes
from .amounts import format_amount
from .encoding import calldata, text_of_b32
from .errors import ContractRevert, RwaError
from .ledger import schema
from .safe import SafeError, SafeInfrastructure, SafeTx
from .session import Session
from .signers import Signer
from .reverts import revert_data_from
from .transactions import Receipt

OPEN, EXECUTED, FAILED, REPLACED = "open", "executed", "failed", "replaced"


class ProposalError(SafeError):
    """A proposal cannot be made, approved or executed as asked; nothing was stored or sent."""


@dataclass(frozen=True)
class Call:
    """One call of a proposal and its plain-words reading."""

    to: str
    data: bytes
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"to": self.to, "data": "0x" + self.data.hex(), "text": self.text}


@dataclass(frozen=True)
class Approval:
    owner: str
    signature: bytes
    created_at: int


@dataclass
class Proposal:
    """A stored Safe transaction, its calls, approvals and fate."""

    id: int
    tx: SafeTx
    safe_tx_hash: str
    title: str
    calls: list[Call]
    proposer: str | None
    created_at: int
    status: str
    executed_tx: str | None = None
    executed_block: int | None = None
    approvals: list[Approval] = field(default_factory=list)

    @property
    def signers(self) -> list[str]:
        return [a.owner for a in self.approvals]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "safe": self.tx.safe, "chain_id": self.tx.chain_id, "nonce": self.tx.nonce,
            "safe_tx_hash": self.safe_tx_hash, "title": self.title, "status": self.status,
            "to": self.tx.to, "operation": self.tx.operation, "proposer": self.proposer, "created_at": self.created_at,
            "calls": [c.to_dict() for c in self.calls], "approvals": self.signers,
            "executed_tx": self.executed_tx, "executed_block": self.executed_block,
        }


# --- storage -----------------------------------------------------------------------------------------------


class ProposalStore:
    """Proposals and approvals in the ledger database (one transaction per unit of work)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, tx: SafeTx, title: str, calls: Sequence[Call], proposer: str | None) -> Proposal:
        row = {
            "chain_id": tx.chain_id, "safe": tx.safe, "nonce": tx.nonce, "to": tx.to, "value": tx.value,
            "data": "0x" + tx.data.hex(), "operation": tx.operation, "safe_tx_hash": "0x" + tx.hash.hex(),
            "title": title, "calls": json.dumps([c.to_dict() for c in calls]), "proposer": proposer,
            "created_at": int(time.time()), "status": OPEN,
        }
        with self.engine.begin() as conn:
            pid = conn.execute(insert(schema.safe_proposals).values(**row)).inserted_primary_key[0]
        return self.get(pid)

    def get(self, proposal_id: int) -> Proposal:
        p, a = schema.safe_proposals.c, schema.safe_approvals.c
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.safe_proposals).where(p.id == proposal_id)).first()
            if row is None:
                raise ProposalError(f"no proposal {proposal_id} in this ledger")
            approvals = conn.execute(select(a.owner, a.signature, a.created_at)
                                     .where(a.proposal_id == proposal_id).order_by(a.id)).all()
        return _proposal(row, approvals)

    def list(self, safe: str | None = None, status: str | None = None, chain_id: int | None = None) -> list[Proposal]:
        p = schema.safe_proposals.c
        q = select(p.id).order_by(p.id)
        if safe:
            q = q.where(p.safe == to_checksum_address(safe))
        if status:
            q = q.where(p.status == status)
        if chain_id is not None:
            q = q.where(p.chain_id == chain_id)
        with self.engine.connect() as conn:
            ids = [r.id for r in conn.execute(q)]
        return [self.get(i) for i in ids]

    def next_nonce(self, safe: str, chain_id: int, chain_nonce: int) -> int:
        """The Safe's next free nonce: after its executed transactions and after every open proposal."""
        p = schema.safe_proposals.c
        with self.engine.connect() as conn:
            highest = conn.execute(select(func.max(p.nonce)).where(
                p.safe == safe, p.chain_id == chain_id, p.status == OPEN, p.nonce >= chain_nonce)).scalar()
        return chain_nonce if highest is None else highest + 1

    def add_approval(self, proposal_id: int, owner: str, signature: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.safe_approvals).values(
                proposal_id=proposal_id, owner=owner, signature="0x" + signature.hex(), created_at=int(time.time())))

    def set_status(self, proposal_id: int, status: str, tx_hash: str | None = None, block: int | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(schema.safe_proposals).where(schema.safe_proposals.c.id == proposal_id)
                         .values(status=status, executed_tx=tx_hash, executed_block=block))


def _proposal(row: Any, approvals: Sequence[Any]) -> Proposal:
    tx = SafeTx(safe=row.safe, chain_id=row.chain_id, to=row.to, data=bytes(HexBytes(row.data)), nonce=row.nonce,
                value=row.value, operation=row.operation)
    calls = [Call(c["to"], bytes(HexBytes(c["data"])), c["text"]) for c in json.loads(row.calls)]
    return Proposal(
        id=row.id, tx=tx, safe_tx_hash=row.safe_tx_hash, title=row.title, calls=calls, proposer=row.proposer,
        created_at=row.created_at, status=row.status, executed_tx=row.executed_tx, executed_block=row.executed_block,
        approvals=[Approval(a.owner, bytes(HexBytes(a.signature)), a.created_at) for a in approvals],
    )


# --- plain words -------------------------------------------------------------------------------------------


def short(address: str) -> str:
    """``0x70997970C51812dc3A010C7d01b50e0d17dc79C8`` -> ``0x7099…79C8``."""
    a = to_checksum_address(address)
    return f"{a[:6]}…{a[-4:]}"


class Describer:
    """Reads a call of the stack in plain words (decoded with the stack's ABIs; amounts in the asset's unit)."""

    def __init__(self, stack: Any, references: Mapping[bytes, str] | None = None):
        self.stack = stack
        self.references = dict(references or {})
        s = stack
        self.named = {c.address: (label, c) for label, c in (
            ("the asset registry", s.registry), ("the identity registry", s.identity), ("the token factory", s.factory),
            ("the distribution manager", s.distributions), ("the role authority", s.access))}

    def _is_stack_token(self, address: str) -> bool:
        try:
            asset_id = self.stack.w3.eth.contract(address=address, abi=self.stack.property_impl.abi).functions.assetId().call()
            return bool(asset_id) and self.stack.registry.functions.tokenOf(asset_id).call() == address
        except Exception:
            return False

    def _asset(self, token: str) -> tuple[str, Callable[[int], str]]:
        try:
            contract = self.stack.token(token)
            asset_id = contract.functions.assetId().call()
            record = self.stack.registry.functions.asset(asset_id).call()
            symbol = contract.functions.symbol().call()
            decimals = contract.functions.decimals().call()
        except Exception:
            return short(token), lambda v: f"{v:,}"
        unit = "shares" if record[1] == 0 else None
        if unit is None:
            try:
                unit = contract.functions.unit().call()
            except Exception:
                unit = None
        return symbol, lambda v: format_amount(v, decimals=decimals, unit=unit)

    def describe(self, to: str, data: bytes) -> str:
        to = to_checksum_address(to)
        label, contract = self.named.get(to, (None, None))
        if contract is None and not self._is_stack_token(to):  # e.g. the payment token of a distribution
            erc20 = self.stack.w3.eth.contract(address=to, abi=self.stack.session.build["IERC20"].abi)
            try:
                fn, args = erc20.decode_function_input(bytes(data))
            except Exception:
                return f"call {short(to)} with {len(data)} bytes of data that no ABI of the stack explains"
            names = {c.address: label for c, label in ((self.stack.distributions, "the distribution manager"),)}
            shown = {k: names.get(v, short(v)) if isinstance(v, str) else v for k, v in args.items()}
            return f"{fn.fn_name}({', '.join(f'{k}={v:,}' if isinstance(v, int) else f'{k}={v}' for k, v in shown.items())}) on ERC-20 {short(to)}"
        if contract is None:
            contract = self.stack.token(to)
        try:
            fn, args = contract.decode_function_input(bytes(data))
        except Exception:
            return f"call {short(to)} with {len(data)} bytes of data that no ABI of the stack explains"
        name = fn.fn_name
        if label is None:
            symbol, amt = self._asset(to)
            text = self._token_words(name, args, symbol, amt)
            if text:
                return text
            return f"{name}({_args(args)}) on {symbol}"
        return f"{name}({_args(args)}) on {label}"

    def _ref(self, ref: bytes) -> str:
        text = self.references.get(bytes(ref))
        return f" ref {text}" if text else ""

    def _token_words(self, name: str, a: dict[str, Any], symbol: str, amt: Callable[[int], str]) -> str | None:
        if name == "mint" and len(a) == 3:  # mint(to, amount, ref); the 2-argument ERC-3643 mint reads generically
            to, amount, ref = list(a.values())
            return f"mint {amt(amount)} {symbol} to {short(to)}{self._ref(ref)}"
        if name == "batchMint":
            tos, amounts, refs = list(a.values())
            return f"mint {amt(sum(amounts))} {symbol} to {len(tos)} recipients" + (
                f" ({', '.join(f'{amt(n)} to {short(t)}{self._ref(r)}' for t, n, r in zip(tos, amounts, refs))})"
                if len(tos) <= 3 else "")
        if name == "forcedTransfer" and len(a) == 5:
            frm, to, amount, reason, frozen = list(a.values())
            return (f"forced transfer of {amt(amount)} {symbol} from {short(frm)} to {short(to)}, reason "
                    f"{text_of_b32(reason)}" + (" (frozen units may move)" if frozen else ""))
        if name == "burn" and len(a) == 4:
            holder, amount, reason, frozen = list(a.values())
            return f"burn {amt(amount)} {symbol} of {short(holder)}, reason {text_of_b32(reason)}" + (
                " (frozen units too)" if frozen else "")
        if name == "setAddressFrozen":
            wallet, frozen = list(a.values())
            return f"{'freeze' if frozen else 'unfreeze'} {short(wallet)} in {symbol}"
        if name in ("freezePartialTokens", "unfreezePartialTokens"):
            wallet, amount = list(a.values())
            return f"{'freeze' if name.startswith('freeze') else 'unfreeze'} {amt(amount)} {symbol} of {short(wallet)}"
        if name in ("pause", "unpause"):
            return f"{name} {symbol}"
        if name == "recoveryAddress":
            lost, new = list(a.values())[:2]
            return f"recover {symbol} units of {short(lost)} into {short(new)}"
        return None


def _args(args: Mapping[str, Any]) -> str:
    def show(v: Any) -> str:
        if isinstance(v, (bytes, bytearray)):
            return text_of_b32(v) if len(v) == 32 else "0x" + bytes(v).hex()
        if isinstance(v, str) and v.startswith("0x") and len(v) == 42:
            return short(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return str(v)

    return ", ".join(f"{k}={show(v)}" for k, v in args.items())


# --- the route ---------------------------------------------------------------------------------------------


def load_safe_infrastructure(session: Session) -> SafeInfrastructure:
    """Safe's contracts on this network: on a local chain those recorded by ``rwa deploy`` with a Safe; elsewhere
    the canonical deployments, their code hashes checked (:func:`rwaledger.safe.safe_infrastructure`)."""
    if not session.chain.dev_accounts:
        return safes.safe_infrastructure(session)
    d = session.deployer
    names = list(safes.INFRASTRUCTURE)
    try:
        c = {n: d.contract(n) for n in names}
    except RwaError as exc:
        raise ProposalError(f"{exc}: deploy with a Safe first (e.g. `rwa deploy --registrar-safe OWNERS:M`)") from None
    return SafeInfrastructure(c["SafeSingleton"], c["SafeProxyFactory"], c["SafeFallbackHandler"], c["SafeMultiSend"])


class SafeRoute:
    """Where a :class:`~rwaledger.services.Services` built with ``via=`` sends the acts of the roles this Safe
    holds: into proposals, never straight to the chain."""

    def __init__(self, session: Session, stack: Any, safe: str | Contract, store: ProposalStore,
                 infra: SafeInfrastructure | None = None):
        self.session = session
        self.stack = stack
        self.infra = infra or load_safe_infrastructure(session)
        address = safe.address if isinstance(safe, Contract) else to_checksum_address(safe)
        w3 = session.chain.w3
        if not w3.eth.get_code(address):
            raise ProposalError(f"{address} has no code on {session.chain.name}: it is no Safe")
        self.safe = w3.eth.contract(address=address, abi=self.infra.singleton.abi)
        self.handler = w3.eth.contract(address=address, abi=self.infra.fallback_handler.abi)
        self.store = store

    @property
    def address(self) -> str:
        return self.safe.address

    def owners(self) -> list[str]:
        return self.safe.functions.getOwners().call()

    def threshold(self) -> int:
        return self.safe.functions.getThreshold().call()

    # --- making -------------------------------------------------------------------------

    def propose(self, calls: Sequence[ContractFunction], title: str,
                references: Mapping[bytes, str] | None = None) -> Proposal:
        """Store ``calls`` as one Safe transaction (one call as it is; more as one MultiSend, all or none), each
        read into plain words, at the Safe's next free nonce. Pre-checked first: a call the Safe could not make
        now raises, typed, and nothing is stored."""
        if not calls:
            raise ProposalError(f"{title}: nothing to propose")
        raw = [(fn.address, calldata(fn)) for fn in calls]
        describer = Describer(self.stack, references)
        described = [Call(to, data, describer.describe(to, data)) for to, data in raw]
        chain_nonce = self.safe.functions.nonce().call()
        nonce = self.store.next_nonce(self.address, self.session.chain.chain_id, chain_nonce)
        if len(raw) == 1:
            tx = safes.safe_tx(self.safe, raw[0][0], raw[0][1], nonce=nonce)
        else:
            tx = safes.multisend(self.infra, self.safe, raw, nonce=nonce)
        if nonce == chain_nonce:  # later proposals run after earlier ones: only the next one is checked against now
            self.simulate(tx, described)
        return self.store.add(tx, title, described, self.session.signer.address)

    # --- checking -------------------------------------------------------------------------

    def simulate(self, tx: SafeTx, calls: Sequence[Call]) -> None:
        """Run ``tx``'s calls from the Safe, now, without signatures; raise the decoded revert of the call that would
        fail. One call runs as a call from the Safe. A batch runs through ``simulate`` of Safe's fallback handler
        (the MultiSend in the Safe's context, then reverted); as MultiSend drops a failing call's revert data, the
        failing call is then found by running ever longer prefixes of the batch, and run alone for its reason."""
        if tx.operation != safes.DELEGATECALL:
            self._call_from_safe(tx.to, tx.data)
            return
        try:
            self._simulate_batch(tx.data)
            return
        except ContractRevert:
            pass
        for k in range(1, len(calls) + 1):
            prefix = safes.multisend(self.infra, self.safe, [(c.to, c.data) for c in calls[:k]], nonce=tx.nonce)
            try:
                self._simulate_batch(prefix.data)
            except ContractRevert:
                failing = calls[k - 1]
                self._call_from_safe(failing.to, failing.data)  # its own reason, when it fails on its own too
                raise ProposalError(f"call {k} of {len(calls)} ({failing.text}) would fail after the calls before it "
                                    "(Safe's MultiSend gives no reason)") from None
        raise ProposalError("the batch would fail as a whole, though each prefix of it runs (Safe's MultiSend gives no "
                            "reason)")

    def _simulate_batch(self, multisend_data: bytes) -> None:
        self.session.tx.call(self.handler.functions.simulate(self.infra.multisend.address, multisend_data))

    def _call_from_safe(self, to: str, data: bytes) -> None:
        """``eth_call`` of one call as the Safe. A node that wants the sender to afford the call's gas (eth-tester;
        a Safe holds no ether) runs it inside the Safe instead, as a one-call MultiSend, which keeps no reason."""
        try:
            self.session.chain.w3.eth.call({"from": self.address, "to": to, "data": data})
        except Exception as exc:
            raw = revert_data_from(exc)
            if raw is not None:
                raise self.session.tx.decoder.decode(raw) from None
            if "afford" not in str(exc):
                raise
            self._simulate_batch(safes.multisend(self.infra, self.safe, [(to, data)], nonce=0).data)

    def precheck(self, proposal: Proposal) -> tuple[bool, str]:
        """Would the proposal's calls succeed now? (True, "ok") or (False, the decoded reason)."""
        chain_nonce = self.safe.functions.nonce().call()
        if proposal.tx.nonce < chain_nonce:
            return False, f"nonce {proposal.tx.nonce} is used (the Safe is at {chain_nonce})"
        try:
            self.simulate(proposal.tx, proposal.calls)
        except (ContractRevert, ProposalError) as exc:
            return False, str(exc)
        if proposal.tx.nonce > chain_nonce:
            return True, f"ok now; runs after the Safe's nonce {chain_nonce}..{proposal.tx.nonce - 1}"
        return True, "ok"

    def _load(self, proposal_id: int) -> Proposal:
        p = self.store.get(proposal_id)
        if to_checksum_address(p.tx.safe) != self.address or p.tx.chain_id != self.session.chain.chain_id:
            raise ProposalError(f"proposal {proposal_id} is for the Safe {p.tx.safe} on chain {p.tx.chain_id}")
        if "0x" + p.tx.hash.hex() != p.safe_tx_hash:
            raise ProposalError(f"proposal {proposal_id}: its stored fields no longer hash to {p.safe_tx_hash}: "
                                "the database was changed; do not sign it")
        return p

    # --- approving and executing ------------------------------------------------------------

    def approve(self, proposal_id: int, signer: Signer) -> Proposal:
        """Add ``signer``'s EIP-712 signature, verified (an owner, not yet signed, over this very hash)."""
        p = self._load(proposal_id)
        if p.status != OPEN:
            raise ProposalError(f"proposal {proposal_id} is {p.status}: nothing to approve")
        chain_nonce = self.safe.functions.nonce().call()
        if p.tx.nonce < chain_nonce:
            raise ProposalError(f"proposal {proposal_id}: the Safe's nonce {p.tx.nonce} is used already")
        owners = {o.lower() for o in self.owners()}
        if signer.address.lower() not in owners:
            raise ProposalError(f"{signer.address} is no owner of the Safe {self.address}: its signature would not count")
        if signer.address.lower() in {o.lower() for o in p.signers}:
            raise ProposalError(f"{signer.address} has approved proposal {proposal_id} already")
        signature = safes.sign(signer, p.tx)
        if safes.recover(p.tx, signature).lower() != signer.address.lower():
            raise ProposalError("the signature does not recover to its signer")
        self.store.add_approval(proposal_id, to_checksum_address(signer.address), signature)
        return self.store.get(proposal_id)

    def add_signature(self, proposal_id: int, signature: bytes) -> Proposal:
        """Store a signature made elsewhere (a hardware wallet, the console), after recovering and checking it."""
        p = self._load(proposal_id)
        if p.status != OPEN:
            raise ProposalError(f"proposal {proposal_id} is {p.status}: nothing to approve")
        who = safes.recover(p.tx, signature)
        if who.lower() not in {o.lower() for o in self.owners()}:
            raise ProposalError(f"the signature is by {who}, who is no owner of the Safe {self.address}")
        if who.lower() in {o.lower() for o in p.signers}:
            raise ProposalError(f"{who} has approved proposal {proposal_id} already")
        self.store.add_approval(proposal_id, who, signature)
        return self.store.get(proposal_id)

    def execute(self, proposal_id: int) -> tuple[Proposal, Receipt]:
        """Send ``execTransaction`` once the threshold is met, in nonce order, once. A transaction that would fail
        raises the failing call's decoded error and nothing is sent."""
        p = self._load(proposal_id)
        if p.status != OPEN:
            raise ProposalError(f"proposal {proposal_id} is {p.status} (tx {p.executed_tx}): it cannot run twice")
        chain_nonce = self.safe.functions.nonce().call()
        if p.tx.nonce < chain_nonce:
            self.store.set_status(proposal_id, REPLACED)
            raise ProposalError(f"proposal {proposal_id}: the Safe's nonce {p.tx.nonce} was used by another transaction")
        if p.tx.nonce > chain_nonce:
            raise ProposalError(f"proposal {proposal_id} has nonce {p.tx.nonce}; the Safe runs nonce {chain_nonce} "
                                "first: execute the earlier proposals")
        threshold = self.threshold()
        if len(p.approvals) < threshold:
            raise ProposalError(f"proposal {proposal_id} has {len(p.approvals)} of the {threshold} approvals the "
                                f"Safe {self.address} needs")
        try:
            receipt = safes.execute(self.session, self.safe, p.tx, [a.signature for a in p.approvals])
        except ContractRevert as exc:
            if "GS013" not in str(exc):
                raise
            self.simulate(p.tx, p.calls)  # the Safe only says "GS013" (a call failed): name the call's own error
            raise
        ok = self.safe.events.ExecutionSuccess().process_receipt(receipt.raw, errors=DISCARD)
        status = EXECUTED if ok else FAILED
        self.store.set_status(proposal_id, status, receipt.tx_hash, receipt.block_number)
        return self.store.get(proposal_id), receipt
