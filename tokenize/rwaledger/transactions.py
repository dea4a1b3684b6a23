"""Build, sign locally, send raw, wait, and decode reverts.

:class:`Transactor` is the one way rwaledger sends a transaction, so the same
code runs against eth-tester, anvil or any node:

* a local nonce per signer, re-synced when the chain was reverted or a node
  answers "nonce too low";
* EIP-1559 fees from the latest base fee;
* gas estimated with a margin (or given explicitly);
* receipts awaited with a timeout; several transactions can be sent first and
  confirmed after (:meth:`Transactor.send` + :meth:`Transactor.wait_all`);
* the nonce re-read from the chain after a timeout, a node that went away or
  a revert, so a cached nonce never runs ahead of (or behind) the chain;
* a node that goes away mid-way raises :class:`rwaledger.errors.NodeUnavailable`
  naming the transactions that were sent and are still pending (never "failed");
* every revert path (estimate, call, status-0 receipt) decoded into the typed
  exceptions of :mod:`rwaledger.errors` through one :class:`RevertDecoder`.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from .chain import Chain
from .compiler import Artifact
from . import rpc
from .errors import ContractRevert, NodeUnavailable, PendingTx, TransactionError, TransactionTimeout
from .reverts import RevertDecoder, revert_data_from
from .signers import Signer

GWEI = 10**9

# (read at, maxFeePerGas, tip, chain epoch) per chain, shared by every signer's transactor on that chain
_FEES: "weakref.WeakKeyDictionary[Chain, tuple[float, int, int, int]]" = weakref.WeakKeyDictionary()


@dataclass
class Receipt:
    """The parts of a receipt callers use, plus the raw receipt."""

    tx_hash: str
    block_number: int
    gas_used: int
    status: int
    contract_address: str | None
    raw: Any

    @property
    def logs(self) -> list[Any]:
        return list(self.raw["logs"])

    @classmethod
    def from_raw(cls, tx_hash: str, raw: Any) -> "Receipt":
        """From web3's formatted receipt or a raw JSON-RPC one (hex quantities)."""

        def num(key: str) -> int:
            value = raw[key]
            return int(value, 16) if isinstance(value, str) else int(value)

        return cls(tx_hash, num("blockNumber"), num("gasUsed"), num("status"), raw.get("contractAddress"), raw)


def _is_nonce_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return ("nonce too low" in text or "-32003" in text or "already known" in text or "nonce is too low" in text
            or "invalid transaction nonce" in text)  # eth-tester's words


class Transactor:
    """Sends transactions for one signer on one chain."""

    def __init__(
        self,
        chain: Chain,
        signer: Signer,
        decoder: RevertDecoder | None = None,
        *,
        gas_margin: float = 1.25,
        timeout: float = 120.0,
        poll_interval: float = 0.05,
        nonce_ttl: float = 10.0,
    ):
        self.chain = chain
        self.w3: Web3 = chain.w3
        self.signer = signer
        self.decoder = decoder or RevertDecoder()
        self.gas_margin = gas_margin
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.nonce_ttl = nonce_ttl
        self._nonce: int | None = None
        self._nonce_used = 0.0  # monotonic time the cached nonce was last read or used
        self._epoch = chain.epoch
        self._generation = rpc.connection_generation(chain)
        self._contracts: dict[tuple[str, int], Contract] = {}  # for encode_call
        self._sent: dict[str, PendingTx] = {}  # hash -> nonce of what send_raw broadcast, until its receipt

    @property
    def address(self) -> str:
        return self.signer.address

    # --- nonce and fees ---------------------------------------------------------

    @property
    def nonce_is_current(self) -> bool:
        """Whether the cached nonce can be used as is: one was read, and since then the chain was not reverted and
        the connection to the node did not fail (the node may have restarted from an older state), and it was used
        within ``nonce_ttl`` seconds (a node restarted while this process idled shows no failure at all: a process
        that outlived a node restart used to keep a nonce ahead of the chain, and its next transaction waited in the
        pool for a gap to be filled, long after it was reported as timed out)."""
        return (self._nonce is not None and self._epoch == self.chain.epoch
                and self._generation == rpc.connection_generation(self.chain)
                and time.monotonic() - self._nonce_used < self.nonce_ttl)

    def next_nonce(self) -> int:
        """The nonce for the next transaction of this signer (read from the chain when not current)."""
        if not self.nonce_is_current:
            self.resync_nonce()
        nonce = self._nonce
        self._nonce += 1  # type: ignore[operator]
        self._nonce_used = time.monotonic()
        return nonce  # type: ignore[return-value]

    def set_nonce(self, nonce: int) -> None:
        """Start from a nonce read elsewhere (e.g. in one batch for many signers)."""
        self._nonce, self._epoch, self._generation = nonce, self.chain.epoch, rpc.connection_generation(self.chain)
        self._nonce_used = time.monotonic()

    def reset_nonce(self) -> None:
        """Forget the cached nonce: the next transaction reads it from the chain. Called whenever it is unknown
        whether the node took a transaction (a send or wait that failed, a timeout)."""
        self._nonce = None

    def resync_nonce(self) -> int:
        """Read the next nonce from the chain (its pending pool included) now."""
        self.set_nonce(self.w3.eth.get_transaction_count(self.address, "pending"))
        return self._nonce  # type: ignore[return-value]

    def fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas); cached for a second so batches do not ask per transaction."""
        now = time.monotonic()
        cached = _FEES.get(self.chain)
        if cached and now - cached[0] < 1.0 and cached[3] == self.chain.epoch:
            return cached[1], cached[2]
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        tip = 0 if self.chain.is_dev else self._priority_fee()
        # 2x the base fee survives six full blocks in a row; a dev chain's ether is free, so allow far more
        # there, since a pipelined batch can fill many blocks before its last transaction is mined.
        max_fee = (10 * base + GWEI) if self.chain.is_dev else 2 * base + tip
        _FEES[self.chain] = (now, max_fee, tip, self.chain.epoch)
        return max_fee, tip

    def _priority_fee(self) -> int:
        try:
            return int(self.w3.eth.max_priority_fee)
        except NodeUnavailable:
            raise
        except Exception:  # a node without eth_maxPriorityFeePerGas
            return GWEI

    # --- decoding and encoding --------------------------------------------------

    def revert_of(self, exc: Exception) -> ContractRevert | None:
        """The typed revert an exception carries (None if it is not a revert)."""
        data = revert_data_from(exc)
        if data is None:
            return None
        return self.decoder.decode(data)

    def encode_call(self, fn: ContractFunction) -> bytes:
        """The calldata of a bound contract call (``contract.functions.f(args)``), through web3's public
        ``Contract.encode_abi`` (a contract object per address and ABI is kept, as making one parses the ABI)."""
        key = (fn.address, id(fn.contract_abi))
        contract = self._contracts.get(key)
        if contract is None:
            contract = self._contracts[key] = self.w3.eth.contract(address=fn.address, abi=fn.contract_abi)
        return bytes(HexBytes(contract.encode_abi(fn.abi_element_identifier, args=fn.args, kwargs=fn.kwargs)))

    def call(self, fn: ContractFunction, block: Any = "latest", sender: str | None = None) -> Any:
        """Run a view (or simulate a write) as this signer (or as ``sender``: any address, e.g. a Safe); reverts
        come back typed."""
        try:
            return fn.call({"from": sender or self.address}, block_identifier=block)
        except Exception as exc:
            revert = self.revert_of(exc)
            if revert is not None:
                raise revert from None
            raise

    # --- sending ----------------------------------------------------------------

    def build(self, to: str | None, data: bytes | str, value: int = 0, gas: int | None = None) -> dict[str, Any]:
        tx: dict[str, Any] = {"from": self.address, "data": HexBytes(data), "value": value, "chainId": self.chain.chain_id}
        if to:
            tx["to"] = Web3.to_checksum_address(to)
        if gas is None:
            try:
                estimate = self.w3.eth.estimate_gas({k: v for k, v in tx.items() if k != "chainId"})
            except NodeUnavailable:
                raise
            except Exception as exc:
                revert = self.revert_of(exc)
                if revert is not None:
                    raise revert from None
                raise TransactionError(f"gas estimation failed: {exc}") from None
            gas = int(estimate * self.gas_margin)
        max_fee, tip = self.fees()
        tx.update(gas=gas, maxFeePerGas=max_fee, maxPriorityFeePerGas=tip, type=2)
        return tx

    def send_raw(self, tx: dict[str, Any]) -> str:
        """Assign a nonce, sign and broadcast ``tx``; returns the hash (no waiting)."""
        for attempt in (1, 2):
            tx["nonce"] = self.next_nonce()
            signed = self.signer.sign({k: v for k, v in tx.items() if k != "from"})
            pending = PendingTx(signed.hash.to_0x_hex(), self.address, tx["nonce"])
            try:
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()
                self._sent[tx_hash] = pending
                if len(self._sent) > 1000:  # sent and never awaited: keep the newest
                    del self._sent[next(iter(self._sent))]
                return tx_hash
            except NodeUnavailable as exc:
                self.reset_nonce()
                raise (exc if exc.refused else exc.with_pending([pending])) from None
            except Exception as exc:
                if attempt == 1 and _is_nonce_error(exc):
                    self.resync_nonce()
                    continue
                self.reset_nonce()  # unknown whether the node took it: ask again next time
                revert = self.revert_of(exc)
                if revert is not None:
                    raise revert from None
                raise TransactionError(f"sending failed: {exc}") from None
        raise AssertionError("unreachable")

    def send(self, fn: ContractFunction, value: int = 0, gas: int | None = None) -> str:
        """Send a contract call without waiting; returns the transaction hash."""
        return self.send_raw(self.build(fn.address, self.encode_call(fn), value, gas))

    def wait(self, tx_hash: str, timeout: float | None = None, tx: dict | None = None) -> Receipt:
        """Wait for the receipt; a failed transaction raises its decoded revert.

        A timeout (:class:`TransactionTimeout`) or a node that went away (:class:`NodeUnavailable`) leaves the
        transaction pending, not failed: both say so with its hash, and the nonce is re-read before the next send."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        try:
            with rpc.doing(f"waiting for the receipt of {tx_hash}"):
                while True:
                    raw = self.receipt_or_none(tx_hash)
                    if raw is not None:
                        break
                    if time.monotonic() > deadline:
                        raise TransactionTimeout(tx_hash, timeout, [self._sent.get(tx_hash) or
                                                                     PendingTx(tx_hash, self.address, None)])
                    time.sleep(self.poll_interval)
        except TransactionTimeout:
            self.reset_nonce()
            raise
        except NodeUnavailable as exc:
            self.reset_nonce()
            raise exc.with_pending([self._sent.pop(tx_hash, PendingTx(tx_hash, self.address, None))]) from None
        self._sent.pop(tx_hash, None)
        receipt = Receipt.from_raw(tx_hash, raw)
        if receipt.status == 0:
            raise self.explain_failure(tx_hash, receipt)
        return receipt

    def receipt_or_none(self, tx_hash: str) -> Any:
        """The receipt of ``tx_hash``, or None while it is not mined (or unknown to the node)."""
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def explain_failure(self, tx_hash: str, receipt: Receipt) -> ContractRevert | TransactionError:
        """Replay a failed transaction as a call on its parent block to learn why it reverted."""
        tx = self.w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx.get("to"), "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        try:
            self.w3.eth.call(call, block_identifier=receipt.block_number - 1)
        except Exception as exc:
            revert = self.revert_of(exc)
            if revert is not None:
                return revert
        if receipt.gas_used >= int(tx["gas"]):
            return TransactionError(f"transaction {tx_hash} ran out of gas ({receipt.gas_used} used)")
        return TransactionError(f"transaction {tx_hash} failed (status 0) with no revert data")

    def wait_all(self, tx_hashes: Sequence[str], timeout: float | None = None) -> list[Receipt]:
        """Confirm transactions sent earlier, in order."""
        return [self.wait(h, timeout) for h in tx_hashes]

    def transact(self, fn: ContractFunction, value: int = 0, gas: int | None = None) -> Receipt:
        """Send a contract call and wait for its receipt."""
        return self.wait(self.send(fn, value=value, gas=gas))

    def sign(self, fn: ContractFunction, value: int = 0, gas: int | None = None) -> "SignedTx":
        """Build, assign the next nonce and sign, without sending (see :func:`broadcast`)."""
        return self.sign_data(fn.address, self.encode_call(fn), value, gas)

    def sign_data(self, to: str, data: bytes | str, value: int = 0, gas: int | None = None) -> "SignedTx":
        """:meth:`sign` for calldata encoded by the caller (hot loops skip web3's ABI matching)."""
        tx = self.build(to, data, value, gas)
        tx["nonce"] = self.next_nonce()
        tx_hash, raw = self.signer.sign_eip1559(
            tx["chainId"], tx["nonce"], tx["maxPriorityFeePerGas"], tx["maxFeePerGas"], tx["gas"], tx["to"],
            tx["value"], bytes(tx["data"]),
        )
        return SignedTx("0x" + tx_hash.hex(), "0x" + raw.hex(), self, tx["nonce"])

    def send_batch(
        self,
        calls: Iterable[ContractFunction],
        gas: int | Callable[[ContractFunction], int] | None = None,
        progress: Callable[[int], None] | None = None,
        what: str = "batch",
    ) -> list[Receipt]:
        """Pipeline: sign every call with consecutive nonces, broadcast them, then confirm all receipts."""
        return pipeline(self.chain, list(calls), lambda fn: self.sign(fn, gas=gas(fn) if callable(gas) else gas),
                        decoder_from=self, progress=progress, what=what)

    def transfer_eth(self, to: str, wei: int) -> Receipt:
        return self.wait(self.send_raw(self.build(to, b"", value=wei, gas=21_000)))

    # --- deploying ----------------------------------------------------------------

    def deploy(self, artifact: Artifact, *args: Any, gas: int | None = None) -> tuple[Contract, Receipt]:
        """Deploy ``artifact`` with constructor ``args``; returns the bound contract and the receipt."""
        tx = self.build_deploy(artifact, *args, gas=gas)
        receipt = self.wait(self.send_raw(tx))
        return self.w3.eth.contract(address=receipt.contract_address, abi=artifact.abi), receipt

    def build_deploy(self, artifact: Artifact, *args: Any, gas: int | None = None) -> dict[str, Any]:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = factory.constructor(*args).data_in_transaction
        return self.build(None, data, gas=gas)


@dataclass
class SignedTx:
    """A signed transaction not yet broadcast."""

    tx_hash: str
    raw: str
    sender: Transactor
    nonce: int | None = None

    def pending(self) -> PendingTx:
        return PendingTx(self.tx_hash, self.sender.address, self.nonce)


def _forget_nonces(signed: Iterable[SignedTx]) -> None:
    for s in {id(s.sender): s.sender for s in signed}.values():
        s.reset_nonce()


def _already_known(error: Any) -> bool:
    text = str(error).lower()
    return "already known" in text or "known transaction" in text or "already imported" in text


def broadcast(chain: Chain, signed: Sequence[SignedTx], progress: Callable[[int], None] | None = None) -> list[str]:
    """Send signed transactions (from any signers) in JSON-RPC batches; returns their hashes in order.

    A node that goes away raises :class:`NodeUnavailable` listing every transaction of ``signed`` that may have
    reached it as pending (sends are never retried: the node may hold them)."""
    hashes: list[str] = []
    # one chunk at a time, so what was sent before a failure is known
    for chunk in rpc.chunks([("eth_sendRawTransaction", [s.raw]) for s in signed]):
        part = signed[len(hashes) : len(hashes) + len(chunk)]
        try:
            responses = rpc.answers(chain, chunk, what=f"broadcasting {len(signed)} transactions")
        except NodeUnavailable as exc:
            _forget_nonces(signed)
            maybe = signed[: len(hashes)] if exc.refused else signed[: len(hashes) + len(part)]
            raise exc.with_pending([s.pending() for s in maybe]) from None
        for s, r in zip(part, responses):
            if "error" in r and _already_known(r["error"]):
                continue  # these very bytes are in the node's pool (e.g. re-broadcast from the journal by a re-run)
            if "error" in r:
                _forget_nonces(signed)
                revert = s.sender.revert_of(Exception(r["error"])) if rpc.is_revert(r["error"]) else None
                message = r["error"].get("message", r["error"]) if isinstance(r["error"], dict) else r["error"]
                raise (revert or TransactionError(f"sending {s.tx_hash} failed: {message}")) from None
        hashes.extend(s.tx_hash for s in part)
        if progress:
            progress(len(part))
    return hashes


def confirm(
    chain: Chain, tx_hashes: Sequence[str], decoder_from: Transactor, timeout: float = 120.0,
    raws: Mapping[str, str] | None = None,
) -> list[Receipt]:
    """Wait for receipts of broadcast transactions, in batches; the first failure raises its decoded revert.

    ``raws`` (hash -> signed bytes) lets a transaction the node dropped be re-broadcast (:func:`wait_for_receipts`).
    A timeout raises :class:`TransactionTimeout` (the transaction is pending, not failed)."""
    receipts = wait_for_receipts(chain, tx_hashes, timeout, decoder_from.poll_interval, raws)
    out = []
    for h in tx_hashes:
        receipt = Receipt.from_raw(h, receipts[h])
        if receipt.status == 0:
            raise decoder_from.explain_failure(h, receipt)
        out.append(receipt)
    return out


def call_many(chain: Chain, calls: Sequence[tuple[str, bytes]], block: str = "latest",
              on_revert: rpc.OnError = rpc.OnError.EMPTY) -> list[bytes]:
    """Many ``eth_call``s (to, calldata) in JSON-RPC batches; returns raw return data in order.

    A call that reverts comes back as ``b""`` (the pre-checks decode "no answer" themselves), or as its revert
    data with ``on_revert=OnError.REVERT_DATA``, or raises with ``OnError.RAISE``; any other error raises."""
    block_id = hex(block) if isinstance(block, int) else block
    results = rpc.batch(chain, [("eth_call", [{"to": to, "data": "0x" + data.hex()}, block_id]) for to, data in calls],
                        what=f"reading {len(calls)} contract calls", on_error=on_revert)
    return [bytes.fromhex(r[2:]) if r else b"" for r in results]


def _output_types(abi: dict[str, Any]) -> list[str]:
    from eth_utils.abi import collapse_if_tuple

    return [collapse_if_tuple(dict(o)) for o in abi.get("outputs", [])]


def call_functions(chain: Chain, fns: Sequence[ContractFunction], block: str = "latest") -> list[Any]:
    """Many bound view calls (``contract.functions.f(args)``) in JSON-RPC batches, decoded: one value per call
    (a tuple when the function returns several), ``None`` when the call reverted."""
    from eth_abi import decode as abi_decode
    from eth_abi import encode as abi_encode

    raw = call_many(chain, [
        (fn.address, bytes.fromhex(fn.selector[2:]) + abi_encode(list(fn.argument_types), list(fn.arguments)))
        for fn in fns
    ], block)
    out: list[Any] = []
    for fn, data in zip(fns, raw):
        types = _output_types(fn.abi)
        if not data and types:
            out.append(None)
            continue
        values = tuple(_checksummed(t, v) for t, v in zip(types, abi_decode(types, data)))
        out.append(values[0] if len(values) == 1 else values)
    return out


def _checksummed(typ: str, value: Any) -> Any:
    """Addresses as web3 returns them (EIP-55), also inside arrays and tuples."""
    from eth_abi.grammar import TupleType, parse as parse_type

    if typ == "address":
        return Web3.to_checksum_address(value)
    if typ.endswith("]"):
        return [_checksummed(typ[: typ.rindex("[")], v) for v in value]
    parsed = parse_type(typ)
    if isinstance(parsed, TupleType):
        return tuple(_checksummed(c.to_type_str(), v) for c, v in zip(parsed.components, value))
    return value


WINDOW = 200


@dataclass
class Settled:
    """What :func:`settle` found in the journal: transactions mined, awaited, re-broadcast and replaced."""

    mined: list[str]
    awaited: list[str]
    rebroadcast: list[str]
    replaced: list[PendingTx]
    # forgotten, their work planned again: behind a nonce gap, or signed on a branch this node no longer has
    discarded: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.mined or self.awaited or self.rebroadcast or self.replaced or self.discarded)


def tx_state(chain: Chain, tx_hash: str, sender: str | None = None, nonce: int | None = None) -> str:
    """``mined``, ``pending`` (in the node's pool), ``replaced`` (its nonce used by another transaction) or
    ``dropped`` (unknown to the node, nonce still free: re-broadcasting its bytes can still execute it)."""
    if rpc.request(chain, "eth_getTransactionReceipt", [tx_hash], what=f"reading the receipt of {tx_hash}"):
        return "mined"
    if rpc.request(chain, "eth_getTransactionByHash", [tx_hash], what=f"looking up {tx_hash}"):
        return "pending"
    if sender is None or nonce is None:
        return "dropped"
    free = rpc.request(chain, "eth_getTransactionCount", [sender, "pending"], what=f"reading the nonce of {sender}")
    return "replaced" if nonce < _int(free) else "dropped"


def settle(chain: Chain, timeout: float = 120.0, journal: Any = None) -> Settled:
    """Settle what the journal holds from an earlier run before new work is signed: mined transactions are done
    (cleared), pending ones awaited, dropped ones re-broadcast with the same signed bytes (same nonce: executed at
    most once), and one whose nonce another transaction used is marked replaced (it can never execute).

    A transaction still without a receipt after ``timeout`` raises :class:`TransactionTimeout` (pending, not failed,
    kept in the journal)."""
    from . import journal as journals

    journal = journal if journal is not None else journals.for_chain(chain)
    out = Settled([], [], [], [])
    if journal is None:
        return out
    entries = journal.entries()
    if not entries:
        return out
    receipts = rpc.batch(chain, [("eth_getTransactionReceipt", [e.tx_hash]) for e in entries],
                         what=f"settling {len(entries)} journaled transactions")
    out.mined = [e.tx_hash for e, r in zip(entries, receipts) if r is not None]
    journal.clear(out.mined)
    rest = [e for e, r in zip(entries, receipts) if r is None]
    if not rest:
        return out
    known = rpc.batch(chain, [("eth_getTransactionByHash", [e.tx_hash]) for e in rest],
                      what=f"looking up {len(rest)} journaled transactions")
    orphaned = _orphaned(chain, [e for e, tx in zip(rest, known) if tx is None])
    if orphaned:
        # signed on a branch this node no longer has (a reorg or a rewind took it, or another chain with the same
        # genesis answers here): never re-broadcast onto this one; the work is planned again from the chain
        out.discarded.extend(e.tx_hash for e in orphaned)
        gone = {e.tx_hash for e in orphaned}
        known = [tx for e, tx in zip(rest, known) if e.tx_hash not in gone]
        rest = [e for e in rest if e.tx_hash not in gone]
    senders = sorted({e.sender for e in rest})
    counts = rpc.batch(chain, [("eth_getTransactionCount", [a, "pending"]) for a in senders], what="reading nonces")
    # the next nonce each sender can use now (its pool included)
    free = dict(zip(senders, map(_int, counts)))
    wait: list[str] = []
    discarded: list[str] = []
    for e, tx in sorted(zip(rest, known), key=lambda p: (p[0].sender, p[0].nonce)):
        if tx is not None:
            out.awaited.append(e.tx_hash)
            wait.append(e.tx_hash)
        elif e.nonce < free[e.sender]:  # another transaction holds (or was mined with) its nonce
            out.replaced.append(PendingTx(e.tx_hash, e.sender, e.nonce))
        elif e.nonce > free[e.sender]:
            # behind a gap (the node lost earlier transactions that were confirmed and cleared: a node restored from
            # an older state): it could only execute once the gap is filled, so it is forgotten here and its work,
            # planned again from the chain, is signed anew with the free nonces (the bytes exist only here)
            discarded.append(e.tx_hash)
        else:
            # the same signed bytes again (same nonce): the node lost them (a restart) or never got them
            answer = rpc.answers(chain, [("eth_sendRawTransaction", [e.raw])], what=f"re-broadcasting {e.tx_hash}")[0]
            error = answer.get("error")
            if error is None or _already_known(error):
                out.rebroadcast.append(e.tx_hash)
                wait.append(e.tx_hash)
                free[e.sender] += 1
            elif _is_nonce_error(Exception(str(error))):
                out.replaced.append(PendingTx(e.tx_hash, e.sender, e.nonce))
            else:
                message = error.get("message", error) if isinstance(error, dict) else error
                raise TransactionError(f"re-broadcasting journaled {e.tx_hash} failed: {message}")
    out.discarded.extend(discarded)
    journal.clear(out.discarded)
    journal.mark([p.tx_hash for p in out.replaced], journals.REPLACED)
    if wait:
        raws = {e.tx_hash: e.raw for e in rest}
        wait_for_receipts(chain, wait, timeout, raws=raws)
        journal.clear(wait)
    return out


def _orphaned(chain: Chain, entries: Sequence[Any]) -> list[Any]:
    """The entries whose anchor block (the head when they were written) is now another block. An anchor beyond the
    head is not orphaned: the node lost those blocks (restored from an older state), nothing was built over them."""
    numbers = sorted({e.anchor_number for e in entries if e.anchor_number is not None})
    if not numbers:
        return []
    blocks = rpc.batch(chain, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers],
                       what="reading the journal's anchor blocks")
    hashes = {n: (str(b["hash"]).lower() if b else None) for n, b in zip(numbers, blocks)}
    return [e for e in entries if e.anchor_number is not None and hashes[e.anchor_number] is not None
            and hashes[e.anchor_number] != str(e.anchor_hash).lower()]


def wait_for_receipts(
    chain: Chain, tx_hashes: Sequence[str], timeout: float, poll_interval: float = 0.2,
    raws: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The raw receipts of ``tx_hashes`` (hash -> receipt), polled in batches; :class:`TransactionTimeout` (pending,
    not failed) when one is still missing after ``timeout`` seconds.

    While nothing arrives, a dev node is asked to mine a block (an automining node that filled a block to its gas
    limit leaves the rest in its pool until the next transaction arrives), and at most once every
    ``DROPPED_CHECK`` seconds a transaction the node dropped, or a dev node left stuck, is re-broadcast with its
    signed bytes from ``raws`` (:func:`rebroadcast_dropped`). Nodes evict pool transactions; anvil 1.7 now and then
    loses one, or leaves the next nonce queued, when a block is mined while it automines another (seen in CI: a
    batch then waited behind that nonce until its timeout, silently)."""
    receipts: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    pending = list(tx_hashes)
    pause = 0.005  # a local node mines within milliseconds; back off towards the poll interval on a real one
    checked = time.monotonic()
    while pending:
        try:
            results = rpc.batch(chain, [("eth_getTransactionReceipt", [h]) for h in pending],
                                what=f"waiting for {len(pending)} receipts")
        except NodeUnavailable as exc:  # those with a receipt already were mined: only the rest are pending
            raise exc.with_missing(pending) from None
        found_now = any(raw is not None for raw in results)
        receipts.update((h, raw) for h, raw in zip(pending, results) if raw is not None)
        pending = [h for h in pending if h not in receipts]
        if pending:
            if time.monotonic() > deadline:
                raise TransactionTimeout(pending[0], timeout, missing=pending)
            time.sleep(pause)
            pause = min(pause * 2, poll_interval) if not found_now else 0.005
            if found_now or pause < poll_interval:
                continue
            if raws and time.monotonic() - checked >= DROPPED_CHECK:
                checked = time.monotonic()
                rebroadcast_dropped(chain, pending, raws)
            if chain.is_dev:
                chain.mine(1)
    return receipts


DROPPED_CHECK = 1.0  # seconds without a receipt between two looks for dropped or stuck transactions


def rebroadcast_dropped(chain: Chain, tx_hashes: Sequence[str], raws: Mapping[str, str]) -> list[str]:
    """Re-broadcast, with the same signed bytes (same nonce: executed at most once), each of ``tx_hashes`` that
    the node knows neither mined nor in its pool; on anvil also unstick a sender whose next nonce sits in the pool
    while blocks are mined (:func:`_unstick`). Returns the hashes sent again.

    The node's answers to the re-broadcast are not errors here: a nonce another transaction took, or bytes already
    known, leave the waiting to decide (a receipt, or the timeout that names the transaction pending)."""
    known = [h for h in tx_hashes if h in raws]
    if not known:
        return []
    found = rpc.batch(chain, [("eth_getTransactionByHash", [h]) for h in known],
                      what=f"looking up {len(known)} transactions without receipts")
    lost = [h for h, tx in zip(known, found) if tx is None]
    again: list[str] = []
    if lost:
        rpc.answers(chain, [("eth_sendRawTransaction", [raws[h]]) for h in lost],
                    what=f"re-broadcasting {len(lost)} transactions")
        again += lost
    pooled = [(h, tx) for h, tx in zip(known, found) if tx is not None]
    if chain.kind == "anvil" and pooled:
        senders = sorted({str(tx["from"]) for _, tx in pooled})
        counts = rpc.batch(chain, [("eth_getTransactionCount", [a, "latest"]) for a in senders],
                           what="reading nonces")
        mined = dict(zip(senders, map(_int, counts)))
        stuck = sorted({str(tx["from"]) for _, tx in pooled if _int(tx["nonce"]) == mined[str(tx["from"])]})
        for sender in stuck:
            again += _unstick(chain, sender, raws)
    return again


def _unstick(chain: Chain, sender: str, raws: Mapping[str, str]) -> list[str]:
    """Take every transaction of ``sender`` out of anvil's pool and send them again, same bytes, in nonce order;
    returns their hashes. For a sender whose next nonce waits in the pool while blocks are mined: anvil 1.7.1 can
    leave a transaction in its *queued* pool with its nonce next, waiting for a marker it will never see (a block
    committed while it was added), where ``anvil_dropTransaction`` (ready pool only) cannot reach it and a
    re-broadcast is "already known". ``anvil_removePoolTransactions`` empties both pools for the sender; the bytes
    of the transactions not in ``raws`` (another process's) are read from the node first, so none is lost."""
    content = rpc.request(chain, "txpool_content", [], what="reading the pool") or {}
    mine: dict[int, str] = {}
    for part in ("pending", "queued"):
        for address, by_nonce in (content.get(part) or {}).items():
            if address.lower() == sender.lower():
                mine.update((int(n), str(tx["hash"])) for n, tx in by_nonce.items())
    if not mine:
        return []
    hashes = [mine[n] for n in sorted(mine)]
    unknown = [h for h in hashes if h not in raws]
    fetched = dict(zip(unknown, rpc.batch(chain, [("eth_getRawTransactionByHash", [h]) for h in unknown],
                                          what=f"reading {len(unknown)} pooled transactions"))) if unknown else {}
    sendable = [h for h in hashes if raws.get(h) or fetched.get(h)]
    if len(sendable) < len(hashes):
        return []  # a transaction's bytes could not be read: leave the pool as it is rather than lose one
    rpc.request(chain, "anvil_removePoolTransactions", [sender], what=f"taking {sender}'s stuck transactions out")
    rpc.answers(chain, [("eth_sendRawTransaction", [raws.get(h) or fetched[h]]) for h in sendable],
                what=f"re-broadcasting {len(sendable)} transactions of {sender}")
    return sendable


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def pipeline(
    chain: Chain,
    items: Sequence[Any],
    sign: Callable[[Any], SignedTx],
    decoder_from: Transactor,
    window: int | None = None,
    progress: Callable[[int], None] | None = None,
    what: str = "batch",
) -> list[Receipt]:
    """Sign and broadcast a window of transactions at a time, confirming each window before the next goes out.

    Signing window k+1 overlaps with the node mining window k; nothing waits for a single receipt. Between
    windows the node mines what it has, which keeps its pool small (anvil crawls with thousands pending).
    ``sign`` turns an item into a :class:`SignedTx` (nonces are assigned in item order).

    Crash-safe: the journal of the chain (:mod:`rwaledger.journal`) is settled first (what an earlier, killed run
    left), and each window is journaled durably before it is broadcast and cleared once confirmed.

    If the node goes away, :class:`NodeUnavailable` names every transaction that was sent and has no receipt
    (pending: it may still execute) and how many were mined; on a timeout every sender's nonce is re-read next time.
    """
    from . import journal as journals

    window = window or WINDOW  # read now: a test (or a tuner) may change the module's default
    journal = journals.for_chain(chain)
    if journal is not None and settle(chain, decoder_from.timeout, journal).anything:
        decoder_from.reset_nonce()
    receipts: list[Receipt] = []
    in_flight: list[SignedTx] = []
    signers: dict[int, SignedTx] = {}  # one signed transaction per sender, to reset their nonces on a failure

    def confirm_window() -> None:
        try:
            receipts.extend(confirm(chain, [s.tx_hash for s in in_flight], decoder_from=decoder_from,
                                    timeout=decoder_from.timeout, raws={s.tx_hash: s.raw for s in in_flight}))
        except TransactionTimeout as exc:  # pending, not failed: they stay in the journal; each named with its nonce
            missing = set(exc.missing)  # those of the window mined before it gave up are not pending
            raise exc.with_pending([s.pending() for s in in_flight if s.tx_hash in missing]) from None
        except NodeUnavailable:
            raise  # pending, not failed: they stay in the journal
        except BaseException:
            if journal is not None:  # every receipt is in (confirm decodes failures last): nothing can execute later
                journal.clear(s.tx_hash for s in in_flight)
            raise
        if journal is not None:
            journal.clear(s.tx_hash for s in in_flight)

    try:
        for start in range(0, len(items), window):
            signed = []
            for item in items[start : start + window]:
                signed.append(sign(item))
                signers.setdefault(id(signed[-1].sender), signed[-1])
            if in_flight:
                confirm_window()
                in_flight = []
            if journal is not None:  # durably written down before anything goes out
                journal.append(journals.entries_of(signed, what, journals.head(chain)))
            try:
                broadcast(chain, signed, progress=progress)
            except NodeUnavailable as exc:
                raise exc.with_pending(exc.pending, len(receipts)) from None
            in_flight = signed
        if in_flight:
            confirm_window()
    except NodeUnavailable as exc:
        # signed but unsent transactions used nonces: every sender reads its nonce from the chain next time
        _forget_nonces(signers.values())
        if exc.pending or not in_flight:
            raise
        missing = set(exc.missing)  # known when the node went away while the window's receipts were awaited
        still = [s.pending() for s in in_flight if not missing or s.tx_hash in missing]
        raise exc.with_pending(still, len(receipts) + len(in_flight) - len(still)) from None
    except BaseException:
        _forget_nonces(signers.values())
        raise
    return receipts


def pending_nonces(chain: Chain, addresses: Sequence[str]) -> list[int]:
    """The next nonce of many accounts, in JSON-RPC batches."""
    results = rpc.batch(chain, [("eth_getTransactionCount", [a, "pending"]) for a in addresses],
                        what=f"reading {len(addresses)} nonces")
    return [_int(r) for r in results]


# --- inspecting and replacing a transaction (`rwa tx status|cancel|pending`) ----------------------------------


def lookup(chain: Chain, tx_hash: str) -> dict[str, Any]:
    """What is known of ``tx_hash`` from the chain's journal and the node: ``state`` (mined / pending / dropped /
    replaced), ``sender``, ``nonce``, ``block`` (when mined), ``what`` (the batch that signed it, when journaled).
    A hash neither journaled nor known to the node raises :class:`TransactionError`."""
    from . import journal as journals

    journal = journals.for_chain(chain)
    entry = journal.get(tx_hash) if journal is not None else None
    node_tx = rpc.request(chain, "eth_getTransactionByHash", [tx_hash], what=f"looking up {tx_hash}")
    if entry is None and node_tx is None:
        raise TransactionError(f"transaction {tx_hash} is unknown: neither in the journal nor on the node")
    sender = entry.sender if entry else Web3.to_checksum_address(node_tx["from"])
    nonce = entry.nonce if entry else int(node_tx["nonce"], 16)
    state = tx_state(chain, tx_hash, sender, nonce)
    if state == "dropped" and entry is not None and entry.state == journals.REPLACED:
        state = "replaced"
    out: dict[str, Any] = {"hash": tx_hash, "state": state, "sender": sender, "nonce": nonce,
                           "what": entry.what if entry else None, "block": None}
    if state == "mined":
        receipt = rpc.request(chain, "eth_getTransactionReceipt", [tx_hash], what=f"reading the receipt of {tx_hash}")
        out["block"], out["status"] = int(receipt["blockNumber"], 16), int(receipt["status"], 16)
        if journal is not None and entry is not None:
            journal.clear([tx_hash])
    return out


def cancel(tx: Transactor, tx_hash: str, timeout: float | None = None) -> dict[str, Any]:
    """Replace ``tx_hash`` (pending or dropped) by a 0-value transfer of its sender to itself with the same nonce and
    higher fees, so it can never execute; refused when it is mined or already replaced, or signed by another key."""
    from . import journal as journals

    info = lookup(tx.chain, tx_hash)
    if info["state"] in ("mined", "replaced"):
        raise TransactionError(f"transaction {tx_hash} is {info['state']}: nothing to cancel")
    if info["sender"].lower() != tx.address.lower():
        raise TransactionError(f"transaction {tx_hash} was signed by {info['sender']}, not by {tx.address}: "
                               "cancel it with that key")
    max_fee, tip = tx.fees()
    node_tx = rpc.request(tx.chain, "eth_getTransactionByHash", [tx_hash], what=f"looking up {tx_hash}")
    if node_tx is not None:  # a replacement must pay more than what it replaces (nodes ask for >= 10% more)
        old_fee = int(node_tx.get("maxFeePerGas") or node_tx["gasPrice"], 16)
        old_tip = int(node_tx.get("maxPriorityFeePerGas") or node_tx["gasPrice"], 16)
        tip = max(tip, old_tip * 2 + 1)
        max_fee = max(max_fee, old_fee * 2 + 1, tip)
    new_hash, raw = tx.signer.sign_eip1559(tx.chain.chain_id, info["nonce"], tip, max_fee, 21_000, tx.address, 0, b"")
    replacement = "0x" + new_hash.hex()
    rpc.request(tx.chain, "eth_sendRawTransaction", ["0x" + raw.hex()], what=f"replacing {tx_hash}")
    tx.reset_nonce()
    receipt = tx.wait(replacement, timeout)
    journal = journals.for_chain(tx.chain)
    if journal is not None:
        journal.mark([tx_hash], journals.REPLACED)
    return {"hash": tx_hash, "state": "replaced", "nonce": info["nonce"], "replacement": replacement,
            "block": receipt.block_number}
