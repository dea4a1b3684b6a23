"""Build, sign locally, send raw, wait, and decode reverts.

:class:`Transactor` is the one way rwaledger sends a transaction, so the same
code runs against eth-tester, anvil or any node:

* a local nonce per signer, re-synced when the chain was reverted or a node
  answers "nonce too low";
* EIP-1559 fees from the latest base fee;
* gas estimated with a margin (or given explicitly);
* receipts awaited with a timeout; several transactions can be sent first and
  confirmed after (:meth:`Transactor.send` + :meth:`Transactor.wait_all`);
* every revert path (estimate, call, status-0 receipt) decoded into the typed
  exceptions of :mod:`rwaledger.errors` through one :class:`RevertDecoder`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from .chain import Chain
from .compiler import Artifact
from .errors import ContractRevert, TransactionError, TransactionTimeout
from .reverts import RevertDecoder, revert_data_from
from .signers import Signer

GWEI = 10**9


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
    return "nonce too low" in text or "-32003" in text or "already known" in text or "nonce is too low" in text


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
    ):
        self.chain = chain
        self.w3: Web3 = chain.w3
        self.signer = signer
        self.decoder = decoder or RevertDecoder()
        self.gas_margin = gas_margin
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._nonce: int | None = None
        self._epoch = chain.epoch

    @property
    def address(self) -> str:
        return self.signer.address

    # --- nonce and fees ---------------------------------------------------------

    def _next_nonce(self) -> int:
        if self._nonce is None or self._epoch != self.chain.epoch:
            self.resync_nonce()
        nonce = self._nonce
        self._nonce += 1  # type: ignore[operator]
        return nonce  # type: ignore[return-value]

    def set_nonce(self, nonce: int) -> None:
        """Start from a nonce read elsewhere (e.g. in one batch for many signers)."""
        self._nonce, self._epoch = nonce, self.chain.epoch

    def resync_nonce(self) -> int:
        self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        self._epoch = self.chain.epoch
        return self._nonce

    def fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas); cached for a second so batches do not ask per transaction."""
        now = time.monotonic()
        cached = getattr(self.chain, "_fee_cache", None)  # shared by every signer's transactor on this chain
        if cached and now - cached[0] < 1.0 and cached[3] == self.chain.epoch:
            return cached[1], cached[2]
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        tip = 0 if self.chain.is_dev else self._priority_fee()
        # 2x the base fee survives six full blocks in a row; a dev chain's ether is free, so allow far more
        # there, since a pipelined batch can fill many blocks before its last transaction is mined.
        max_fee = (10 * base + GWEI) if self.chain.is_dev else 2 * base + tip
        self.chain._fee_cache = (now, max_fee, tip, self.chain.epoch)  # type: ignore[attr-defined]
        return max_fee, tip

    def _priority_fee(self) -> int:
        try:
            return int(self.w3.eth.max_priority_fee)
        except Exception:
            return GWEI

    # --- decoding ---------------------------------------------------------------

    def _decoded(self, exc: Exception) -> ContractRevert | None:
        data = revert_data_from(exc)
        if data is None:
            return None
        return self.decoder.decode(data)

    def call(self, fn: ContractFunction, block: Any = "latest", sender: str | None = None) -> Any:
        """Run a view (or simulate a write) as this signer (or as ``sender``: any address, e.g. a Safe); reverts
        come back typed."""
        try:
            return fn.call({"from": sender or self.address}, block_identifier=block)
        except Exception as exc:
            revert = self._decoded(exc)
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
            except Exception as exc:
                revert = self._decoded(exc)
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
            tx["nonce"] = self._next_nonce()
            signed = self.signer.sign({k: v for k, v in tx.items() if k != "from"})
            try:
                return self.w3.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()
            except Exception as exc:
                if attempt == 1 and _is_nonce_error(exc):
                    self.resync_nonce()
                    continue
                self._nonce = None  # unknown whether the node took it: ask again next time
                revert = self._decoded(exc)
                if revert is not None:
                    raise revert from None
                raise TransactionError(f"sending failed: {exc}") from None
        raise AssertionError("unreachable")

    def send(self, fn: ContractFunction, value: int = 0, gas: int | None = None) -> str:
        """Send a contract call without waiting; returns the transaction hash."""
        return self.send_raw(self.build(fn.address, fn._encode_transaction_data(), value, gas))

    def wait(self, tx_hash: str, timeout: float | None = None, tx: dict | None = None) -> Receipt:
        """Wait for the receipt; a failed transaction raises its decoded revert."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            raw = self._receipt_or_none(tx_hash)
            if raw is not None:
                break
            if time.monotonic() > deadline:
                raise TransactionTimeout(tx_hash, timeout)
            time.sleep(self.poll_interval)
        receipt = Receipt.from_raw(tx_hash, raw)
        if receipt.status == 0:
            raise self._failure(tx_hash, receipt)
        return receipt

    def _receipt_or_none(self, tx_hash: str) -> Any:
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _failure(self, tx_hash: str, receipt: Receipt) -> ContractRevert | TransactionError:
        """Replay a failed transaction as a call on its parent block to learn why it reverted."""
        tx = self.w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx.get("to"), "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        try:
            self.w3.eth.call(call, block_identifier=receipt.block_number - 1)
        except Exception as exc:
            revert = self._decoded(exc)
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
        return self.sign_data(fn.address, fn._encode_transaction_data(), value, gas)

    def sign_data(self, to: str, data: bytes | str, value: int = 0, gas: int | None = None) -> "SignedTx":
        """:meth:`sign` for calldata encoded by the caller (hot loops skip web3's ABI matching)."""
        tx = self.build(to, data, value, gas)
        tx["nonce"] = self._next_nonce()
        tx_hash, raw = self.signer.sign_eip1559(
            tx["chainId"], tx["nonce"], tx["maxPriorityFeePerGas"], tx["maxFeePerGas"], tx["gas"], tx["to"],
            tx["value"], bytes(tx["data"]),
        )
        return SignedTx("0x" + tx_hash.hex(), "0x" + raw.hex(), self)

    def send_batch(
        self,
        calls: Iterable[ContractFunction],
        gas: int | Callable[[ContractFunction], int] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Receipt]:
        """Pipeline: sign every call with consecutive nonces, broadcast them, then confirm all receipts."""
        return pipeline(self.chain, list(calls), lambda fn: self.sign(fn, gas=gas(fn) if callable(gas) else gas),
                        decoder_from=self, progress=progress)

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


BATCH_SIZE = 200


def _batch_rpc(chain: Chain, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]] | None:
    """One JSON-RPC batch round trip, or None when the provider cannot batch (eth-tester)."""
    provider = chain.w3.provider
    if chain.kind == "tester" or not hasattr(provider, "make_batch_request"):
        return None
    responses = provider.make_batch_request(calls)  # type: ignore[attr-defined]
    if isinstance(responses, dict):  # a node that answers a batch with a single error
        raise TransactionError(f"batch request failed: {responses.get('error')}")
    return sorted(responses, key=lambda r: r.get("id", 0)) if responses and "id" in responses[0] else responses


MAX_BATCH_BYTES = 1_000_000  # keep one JSON-RPC request well under nodes' body limits


def _chunks_by_size(signed: Sequence[SignedTx]) -> list[Sequence[SignedTx]]:
    chunks, start, size = [], 0, 0
    for i, s in enumerate(signed):
        if i > start and (i - start >= BATCH_SIZE or size + len(s.raw) > MAX_BATCH_BYTES):
            chunks.append(signed[start:i])
            start, size = i, 0
        size += len(s.raw)
    if start < len(signed):
        chunks.append(signed[start:])
    return chunks


def broadcast(chain: Chain, signed: Sequence[SignedTx], progress: Callable[[int], None] | None = None) -> list[str]:
    """Send signed transactions (from any signers) in JSON-RPC batches; returns their hashes in order."""
    hashes: list[str] = []
    for chunk in _chunks_by_size(signed):
        responses = _batch_rpc(chain, [("eth_sendRawTransaction", [s.raw]) for s in chunk])
        if responses is None:
            for s in chunk:
                try:
                    chain.w3.eth.send_raw_transaction(s.raw)
                except Exception as exc:
                    s.sender._nonce = None
                    revert = s.sender._decoded(exc)
                    raise (revert or TransactionError(f"sending {s.tx_hash} failed: {exc}")) from None
        else:
            for s, r in zip(chunk, responses):
                if "error" in r:
                    s.sender._nonce = None
                    raise TransactionError(f"sending {s.tx_hash} failed: {r['error'].get('message', r['error'])}")
        hashes.extend(s.tx_hash for s in chunk)
        if progress:
            progress(len(chunk))
    return hashes


def confirm(
    chain: Chain, tx_hashes: Sequence[str], decoder_from: Transactor, timeout: float = 120.0
) -> list[Receipt]:
    """Wait for receipts of broadcast transactions, in batches; the first failure raises its decoded revert."""
    receipts: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    pending = list(tx_hashes)
    pause = 0.005  # a local node mines within milliseconds; back off towards the poll interval on a real one
    while pending:
        found_now = []
        for start in range(0, len(pending), BATCH_SIZE):
            chunk = pending[start : start + BATCH_SIZE]
            responses = _batch_rpc(chain, [("eth_getTransactionReceipt", [h]) for h in chunk])
            if responses is None:
                results = [decoder_from._receipt_or_none(h) for h in chunk]
            else:
                results = [r.get("result") for r in responses]
            for h, raw in zip(chunk, results):
                if raw is not None:
                    receipts[h] = raw
                    found_now.append(h)
        pending = [h for h in pending if h not in receipts]
        if pending:
            if time.monotonic() > deadline:
                raise TransactionTimeout(pending[0], timeout)
            time.sleep(pause)
            pause = min(pause * 2, decoder_from.poll_interval) if not found_now else 0.005
            if not found_now and chain.is_dev and pause >= decoder_from.poll_interval:
                # An automining dev node fills a block up to its gas limit and leaves the rest in its pool
                # until the next transaction arrives; when nothing came in, mine a block for them.
                chain.mine(1)
    out = []
    for h in tx_hashes:
        receipt = Receipt.from_raw(h, receipts[h])
        if receipt.status == 0:
            raise decoder_from._failure(h, receipt)
        out.append(receipt)
    return out


def call_many(chain: Chain, calls: Sequence[tuple[str, bytes]], block: str = "latest") -> list[bytes]:
    """Many ``eth_call``s (to, calldata) in JSON-RPC batches; returns raw return data in order.

    A call that reverts comes back as ``b""`` (callers decode what they asked for).
    """
    out: list[bytes] = []
    for start in range(0, len(calls), BATCH_SIZE):
        chunk = calls[start : start + BATCH_SIZE]
        payload = [("eth_call", [{"to": to, "data": "0x" + data.hex()}, block]) for to, data in chunk]
        responses = _batch_rpc(chain, payload)
        if responses is None:
            for to, data in chunk:
                try:
                    out.append(bytes(chain.w3.eth.call({"to": to, "data": data}, block)))
                except Exception:
                    out.append(b"")
        else:
            out.extend(bytes.fromhex(r["result"][2:]) if "result" in r else b"" for r in responses)
    return out


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


def pipeline(
    chain: Chain,
    items: Sequence[Any],
    sign: Callable[[Any], SignedTx],
    decoder_from: Transactor,
    window: int = WINDOW,
    progress: Callable[[int], None] | None = None,
) -> list[Receipt]:
    """Sign and broadcast a window of transactions at a time, confirming each window before the next goes out.

    Signing window k+1 overlaps with the node mining window k; nothing waits for a single receipt. Between
    windows the node mines what it has, which keeps its pool small (anvil crawls with thousands pending).
    ``sign`` turns an item into a :class:`SignedTx` (nonces are assigned in item order).
    """
    receipts: list[Receipt] = []
    in_flight: list[str] = []
    for start in range(0, len(items), window):
        signed = [sign(item) for item in items[start : start + window]]
        if in_flight:
            receipts.extend(confirm(chain, in_flight, decoder_from=decoder_from, timeout=decoder_from.timeout))
        in_flight = broadcast(chain, signed, progress=progress)
    if in_flight:
        receipts.extend(confirm(chain, in_flight, decoder_from=decoder_from, timeout=decoder_from.timeout))
    return receipts


def pending_nonces(chain: Chain, addresses: Sequence[str]) -> list[int]:
    """The next nonce of many accounts, in JSON-RPC batches."""
    out: list[int] = []
    for start in range(0, len(addresses), BATCH_SIZE):
        chunk = addresses[start : start + BATCH_SIZE]
        responses = _batch_rpc(chain, [("eth_getTransactionCount", [a, "pending"]) for a in chunk])
        if responses is None:
            out.extend(chain.w3.eth.get_transaction_count(a, "pending") for a in chunk)
        else:
            for a, r in zip(chunk, responses):
                if "result" not in r:
                    raise TransactionError(f"cannot read the nonce of {a}: {r.get('error')}")
                out.append(int(r["result"], 16))
    return out
