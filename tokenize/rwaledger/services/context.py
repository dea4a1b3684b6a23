"""What the services of one registrar office share: the stack, who signs for which role, how a step is sent (or
proposed to a Safe), the assets resolved once, and how receipts become a typed :class:`~.results.Result`.

An asset's identity (id, kind, token address, symbol, decimals, unit) never changes once registered, so it is read
once per context and kept in :class:`AssetHandle`; what does change (status, supply, pause, valuation) is read live
in one batched call by :meth:`ServiceContext.asset`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from web3 import Web3
from web3.exceptions import BlockNotFound
from web3.contract import Contract

from ..amounts import AmountError, format_amount, parse_amount
from ..constants import ASSET_KINDS as KINDS
from ..constants import ASSET_STATUSES as STATUSES
from ..constants import REASON_TEXT, REASONS, ROLES
from ..errors import CustomErrorRevert, RwaError
from ..signers import Signer
from ..stack import Stack
from ..transactions import Receipt, Transactor, call_functions, pending_nonces
from .results import Action, AssetRef, EventOut, ProposalRef, Result, Status, TxRef

if TYPE_CHECKING:
    from ..ledger.decode import EventTable
    # a route is only ever given (``via=``): the services never need the proposals module itself
    from ..proposals import SafeRoute

ZERO = "0x0000000000000000000000000000000000000000"


class RegistrarError(RwaError):
    """A registrar operation was refused before anything was sent; ``field`` names the argument at fault, if one is."""

    field: str | None = None


class AssetNotFound(RegistrarError):
    """No asset matches the given id, symbol or token address."""


class AssetExists(RegistrarError):
    """The parcel (or the symbol) is already registered; nothing was changed."""


class TransferRejected(RegistrarError):
    """The token says a move would fail; ``rule`` names the rule. Nothing was sent."""

    def __init__(self, rule: str, sender: str, to: str, amount: int | str, symbol: str, what: str = "transfer"):
        self.rule = rule
        self.code = REASONS.index(rule) if rule in REASONS else -1
        super().__init__(
            f"{what} of {amount} {symbol} from {sender} to {to} rejected by rule {rule}: {REASON_TEXT.get(rule, rule)}"
        )

    def with_hint(self, hint: str) -> "TransferRejected":
        """The same refusal, its message followed by what to change (``hint`` may be empty)."""
        if hint:
            self.args = (self.args[0] + hint,)
        return self


def rule_name(code: int) -> str:
    return REASONS[code] if 0 <= code < len(REASONS) else f"Reason{code}"


def timestamp(value: dt.date | dt.datetime) -> int:
    if isinstance(value, dt.datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp())
    return int(dt.datetime.combine(value, dt.time(), dt.timezone.utc).timestamp())


def checked_address(value: str) -> str:
    from ..models import _checksum_address

    try:
        return _checksum_address(value)
    except ValueError as exc:
        raise RegistrarError(str(exc)) from None


@dataclass(frozen=True)
class AssetHandle:
    """An asset resolved once: what never changes after registration, and its token contract."""

    asset_id: int
    kind: str
    symbol: str
    name: str
    decimals: int
    unit: str
    contract: Contract

    @property
    def token(self) -> str:
        return self.contract.address

    def ref(self) -> AssetRef:
        return AssetRef(asset_id=self.asset_id, symbol=self.symbol, kind=self.kind, token=self.token,
                        decimals=self.decimals, unit=self.unit)

    def amount(self, value: int) -> str:
        return format_amount(value, decimals=self.decimals, unit=self.unit)


@dataclass
class AssetInfo:
    asset_id: int
    kind: str
    status: str
    symbol: str
    name: str
    token: str
    jurisdiction: str
    legal_reference: str  # canonical: the registry's key
    display_reference: str  # as written in the land record (= legal_reference when written canonically)
    metadata_uri: str
    decimals: int
    unit: str  # "share" for property tokens
    total_supply: int
    max_supply: int  # the share cap, or the attested reserve of a commodity
    paused: bool
    valuation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def amount(self, value: int) -> str:
        return format_amount(value, decimals=self.decimals, unit=self.unit)

    def ref(self) -> AssetRef:
        return AssetRef(asset_id=self.asset_id, symbol=self.symbol, kind=self.kind, token=self.token,
                        decimals=self.decimals, unit=self.unit)


class ServiceContext:
    """Shared by the services of one :class:`~rwaledger.services.Services`: signers per role, Safe routes, the
    asset cache, the role cache and the transactors of other signers."""

    def __init__(
        self,
        stack: Stack,
        distributions_dir: Path | None = None,
        *,
        ledger: Any = None,
        compliance: Signer | None = None,
        custodian: Signer | None = None,
        guardian: Signer | None = None,
        via: "SafeRoute | Sequence[SafeRoute] | None" = None,
    ):
        self.stack = stack
        self.session = stack.session
        self.tx: Transactor = stack.session.tx
        self.w3 = stack.w3
        self.ledger = ledger  # where investor labels are kept (off-chain only), if given
        store_dir = self.session.deployer.store.dir
        self.distributions_dir = distributions_dir or (store_dir / "distributions" if store_dir else None)
        self.via: list[SafeRoute] = list(via) if isinstance(via, (list, tuple)) else [via] if via is not None else []
        self._role_signers = {"compliance": compliance, "custodian": custodian, "guardian": guardian}
        self._role_cache: dict[tuple[str, str], bool] = {}
        self._senders: dict[str, Transactor] = {}
        self._handles: dict[int, AssetHandle] = {}
        self._ids: dict[str, int] = {}  # symbol or token address (upper case) -> asset id
        self._events: EventTable | None = None
        self._kinds: dict[str, str] | None = None  # contract address (lower case) -> kind, see contract_kinds
        # the chain the cached assets were read from: a block (number, hash) at or after every read; the cache holds
        # while that block is still on the node's chain (a hash commits to all history before it), see _cache_holds
        self._anchor: tuple[int, bytes] | None = None

    # --- roles ------------------------------------------------------------------------

    def role_tx(self, role: str, keys_only: bool = False) -> "Transactor | SafeRoute | None":
        """The transactor to send a ``role`` step with, or None when no available signer holds the role. Built
        ``via`` Safes, only those Safes act (unless ``keys_only``): a step of a role one of them holds becomes a
        proposal."""
        candidates: list[Any]
        if self.via and not keys_only:
            candidates = list(self.via)
        else:
            signer = self._role_signers.get(role)
            candidates = [self.sender(signer)] if signer else []
            candidates.append(self.tx)
        for tx in candidates:
            key = (role, tx.address)
            if key not in self._role_cache:
                self._role_cache[key] = self.stack.has_role(role, tx.address)
            if self._role_cache[key]:
                return tx
        return None

    def require_role(self, role: str, what: str) -> "Transactor | SafeRoute":
        tx = self.role_tx(role)
        if tx is None and self.via:
            raise RegistrarError(f"{what} needs the {role} role, which none of the Safes "
                                 f"{', '.join(r.address for r in self.via)} holds")
        if tx is None:
            raise RegistrarError(f"{what} needs the {role} role, which {self.tx.address} does not hold: sign with the "
                                 f"{role} officer's key")
        return tx

    def is_route(self, tx: Any) -> bool:
        return any(tx is route for route in self.via)

    def sender(self, signer: Signer) -> Transactor:
        """The transactor of ``signer`` (the session's own, or one made once per signer)."""
        if signer.address == self.tx.address:
            return self.tx
        if signer.address not in self._senders:
            self._senders[signer.address] = self.session.transactor(signer)
        return self._senders[signer.address]

    def prepare_senders(self, signers: Iterable[Signer]) -> None:
        """Create the transactors of many signers and read all their nonces in one batch."""
        fresh = {s.address: s for s in signers if s.address != self.tx.address}
        stale = [s for a, s in fresh.items() if a not in self._senders or not self._senders[a].nonce_is_current]
        self.tx.fees()  # one fee reading (cached on the chain) serves every sender of the batch
        for signer, nonce in zip(stale, pending_nonces(self.session.chain, [s.address for s in stale])):
            self._senders.pop(signer.address, None)
            self.sender(signer).set_nonce(nonce)

    # --- sending ------------------------------------------------------------------------

    def settle_journal(self) -> None:
        """Settle what a killed earlier batch left in the chain's journal (mined, awaited, re-broadcast with the same
        bytes, or marked replaced) before anything is planned or signed, so the plan sees its effects."""
        from ..transactions import settle

        if settle(self.session.chain, self.tx.timeout).anything:
            self.tx.reset_nonce()

    def send(self, tx: "Transactor | SafeRoute", what: str, calls: Sequence[Any], *,
             progress: Callable[[int], None] | None = None,
             references: dict[bytes, str] | None = None) -> "list[Receipt] | ProposalRef":
        """Send ``calls`` in order with ``tx`` (several pipelined), or, when ``tx`` is a Safe, store them as one
        proposal (a MultiSend for several: all or none) and return it: nothing is sent."""
        if self.is_route(tx):
            p = tx.propose(calls, what, references)
            return ProposalRef(id=p.id, safe=tx.address, safe_tx_hash=p.safe_tx_hash, nonce=p.tx.nonce,
                               threshold=tx.threshold(), owners=len(tx.owners()), calls=[c.text for c in p.calls])
        try:
            if len(calls) == 1:
                return [tx.transact(calls[0])]
            return tx.send_batch(list(calls), progress=progress)
        except CustomErrorRevert as exc:
            if exc.name != "AccessControlUnauthorizedAccount":
                raise
            self._role_cache.clear()  # a role moved since it was looked up (e.g. to a Safe): look again next time
            needed = {v: k for k, v in ROLES.items()}.get(bytes(exc.args_by_name["neededRole"]), "a")
            raise RegistrarError(f"{what}: the chain refused it, {tx.address} no longer holds the {needed} role "
                                 "(it moved since this registrar looked): nothing was sent") from exc

    def result(self, action: Action, sent: "list[Receipt] | ProposalRef | None" = None, *,
               status: Status | None = None, asset: AssetHandle | AssetInfo | AssetRef | None = None,
               steps: Sequence[Result] = (), **facts: Any) -> Result:
        """A :class:`Result` of ``action``: its transactions and decoded events from ``sent`` receipts, or the
        proposal ``sent`` became (status ``proposed``)."""
        ref = asset if isinstance(asset, AssetRef) or asset is None else asset.ref()
        if isinstance(sent, ProposalRef):
            return Result(action=action, status=Status.PROPOSED, asset=ref, proposal=sent, steps=list(steps), facts=facts)
        receipts = list(sent or [])
        return Result(
            action=action,
            status=status or (Status.DONE if receipts else Status.SKIPPED),
            asset=ref,
            txs=[TxRef(hash=r.tx_hash, block=r.block_number, gas_used=r.gas_used) for r in receipts],
            events=self.decode_events(receipts),
            steps=list(steps),
            facts=facts,
        )

    def decode_events(self, receipts: Sequence[Receipt]) -> list[EventOut]:
        """Every log of ``receipts``, decoded against the stack's ABIs (a token's by the token ABIs)."""
        if not receipts:
            return []
        from ..ledger.decode import SAFE_KIND, TOKEN_KINDS, EventTable  # the ledger package (SQLAlchemy) only here
        from ..ledger.rpc import RawLog

        if self._events is None:
            self._events = EventTable.from_stack(self.stack)
        by_address = self.contract_kinds()
        out = []
        for r in receipts:
            for log in r.logs:
                topics = tuple(t if isinstance(t, str) else "0x" + bytes(t).hex() for t in log["topics"])
                topics = tuple(t if t.startswith("0x") else "0x" + t for t in topics)
                data = log["data"] if isinstance(log["data"], str) else "0x" + bytes(log["data"]).hex()
                raw = RawLog(r.block_number, "", r.tx_hash, 0, 0, str(log["address"]).lower(), topics, data)
                kinds = [by_address[raw.address]] if raw.address in by_address else [*TOKEN_KINDS, SAFE_KIND]
                decoded = None
                for kind in kinds:
                    decoded = self._events.decode(raw, kind)
                    if decoded.event is not None:
                        break
                assert decoded is not None
                out.append(EventOut(tx_hash=r.tx_hash, address=decoded.address, event=decoded.event,
                                    args=decoded.args if decoded.event else {}))
        return out

    def contract_kinds(self) -> dict[str, str]:
        """The kind of each contract whose logs :meth:`decode_events` knows the ABI of, by lower-case address: the
        stack's own contracts and the tokens of the assets resolved so far. Built once, and again after an asset is
        resolved (:meth:`asset`) or the assets are forgotten (:meth:`forget_assets`)."""
        if self._kinds is None:
            from ..ledger.decode import KIND_ATTRS, TOKEN_KINDS

            kinds = {getattr(self.stack, attr).address.lower(): kind for kind, attr in KIND_ATTRS.items()
                     if kind not in TOKEN_KINDS}
            kinds.update((h.token.lower(), h.kind) for h in self._handles.values())
            self._kinds = kinds
        return self._kinds

    # --- assets ---------------------------------------------------------------------

    def _cache_holds(self) -> bool:
        """Whether the cached assets still describe the node's chain: the anchor block is still there with its hash.
        A reorg that dropped a registration, or a reset chain, replaces that block (or the chain is shorter): then the
        cache is dropped (symbols, ids, tokens, roles) and everything is read again."""
        if self._anchor is None:
            return True
        number, block_hash = self._anchor
        try:
            holds = self.w3.eth.get_block(number)["hash"] == block_hash
        except BlockNotFound:
            holds = False
        if not holds:
            self.forget_assets()
            self._role_cache.clear()
        return holds

    def _anchor_cache(self) -> None:
        """Bind the cache, after a read was added to it, to the chain's latest block (after every read so far)."""
        latest = self.w3.eth.get_block("latest")
        self._anchor = (latest["number"], bytes(latest["hash"]))

    def asset_id(self, ref: str | int) -> int:
        """Resolve an asset id (``3``, ``#3``), a token address or a symbol (any case); a symbol or address is read
        from the registry once per context, and again after a reorg or reset changed the chain under it."""
        text = str(ref).strip()
        registry = self.stack.registry.functions
        self._cache_holds()
        if text.lstrip("#").isdigit():
            asset_id = int(text.lstrip("#"))
            if asset_id in self._handles:
                return asset_id
            count = registry.assetCount().call()
            if not 1 <= asset_id <= count:
                raise AssetNotFound(f"no asset with id {asset_id} (there are {count})")
            return asset_id
        key = text.upper()
        if key in self._ids:
            return self._ids[key]
        if Web3.is_address(text):
            token = self.w3.eth.contract(address=Web3.to_checksum_address(text), abi=self.stack.property_impl.abi)
            try:
                asset_id = token.functions.assetId().call()
                if asset_id and registry.tokenOf(asset_id).call() == token.address:
                    self._ids[key] = asset_id
                    self._anchor_cache()
                    return asset_id
            except Exception:
                pass
            raise AssetNotFound(f"{text} is not a token of this registry")
        asset_id = registry.assetIdOfSymbol(key).call()
        if not asset_id:
            raise AssetNotFound(f"no asset with symbol {key!r}")
        self._ids[key] = asset_id
        self._anchor_cache()
        return asset_id

    def count(self) -> int:
        return self.stack.registry.functions.assetCount().call()

    def record(self, asset_id: int) -> tuple:
        return self.stack.registry.functions.asset(asset_id).call()

    def handle(self, ref: str | int) -> AssetHandle:
        """The asset resolved once (later calls read nothing)."""
        asset_id = ref if isinstance(ref, int) and ref in self._handles else self.asset_id(ref)
        if asset_id not in self._handles:
            self.asset(asset_id)  # reads and caches the handle
        return self._handles[asset_id]

    def token(self, ref: str | int) -> Contract:
        return self.handle(ref).contract

    def asset(self, ref: str | int) -> AssetInfo:
        """The asset's record and its token's live state (status, supply, cap or reserve, pause)."""
        asset_id = ref if isinstance(ref, int) and ref in self._handles else self.asset_id(ref)
        handle = self._handles.get(asset_id)
        rec = self.record(asset_id)
        kind = KINDS[rec[1]]
        token = handle.contract if handle else self.stack.token(rec[0], kind)
        f = token.functions
        calls = [f.totalSupply(), f.paused(), f.cap() if kind == "property" else f.attestedReserve()]
        if handle is None:
            calls += [f.symbol(), f.name(), f.decimals()] + ([f.unit()] if kind == "commodity" else [])
        supply, paused, max_supply, *fixed = call_functions(self.session.chain, calls)
        if handle is None:
            symbol, name, decimals, *unit = fixed
            handle = AssetHandle(asset_id, kind, symbol, name, decimals, unit[0] if unit else "share", token)
            self._handles[asset_id] = handle
            self._ids.setdefault(symbol.upper(), asset_id)
            self._kinds = None  # its token's logs decode by its kind from now on
            self._anchor_cache()
        return AssetInfo(
            asset_id=asset_id,
            kind=kind,
            status=STATUSES[rec[2]],
            symbol=handle.symbol,
            name=handle.name,
            token=token.address,
            jurisdiction=rec[3].decode(),
            legal_reference=rec[7],
            display_reference=rec[8] or rec[7],
            metadata_uri=rec[9],
            decimals=handle.decimals,
            unit=handle.unit,
            total_supply=supply,
            max_supply=max_supply,
            paused=paused,
            valuation={
                "amount_minor": rec[6],
                "currency": rec[4].decode() if rec[4] != b"\0\0\0" else "",
                "date": dt.datetime.fromtimestamp(rec[5], dt.timezone.utc).date().isoformat() if rec[5] else None,
            },
        )

    def assets(self) -> list[AssetInfo]:
        return [self.asset(i) for i in range(1, self.count() + 1)]

    def amount(self, asset: str | int | AssetInfo | AssetHandle, value: int | str, what: str = "amount") -> int:
        """``value`` (``"10.5 kg"``, ``"100 shares"``, or an integer of smallest units) in the asset's smallest units."""
        info = asset if isinstance(asset, (AssetInfo, AssetHandle)) else self.handle(asset)
        try:
            return parse_amount(value, decimals=info.decimals, unit=info.unit, what=what)
        except AmountError as exc:
            error = RegistrarError(f"{info.symbol}: {exc}")
            error.field = what
            raise error from None

    def forget_assets(self) -> None:
        """Drop the resolved assets (after the chain was reset or reorganised under this context)."""
        self._handles.clear()
        self._ids.clear()
        self._kinds = None
        self._anchor = None
