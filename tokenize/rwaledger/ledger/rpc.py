"""What the indexer reads from a chain, over raw JSON-RPC (no web3 result formatting: it is the slow part).

:func:`reader_for` gives a :class:`ChainReader` for a :class:`rwaledger.chain.Chain`: eth-tester is driven
through its own API (its web3 provider takes no raw JSON-RPC parameters), every other chain through
:mod:`rwaledger.rpc` (the one transport: batches, retries, typed errors). Logs come back as :class:`RawLog` tuples.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, Sequence

from ..errors import RpcError
from .errors import ChainReadError

ADDRESS_CHUNK = 500  # addresses per eth_getLogs filter


class RawLog(NamedTuple):
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str  # lower case
    topics: tuple[str, ...]
    data: str


class ChainReader(Protocol):
    def head(self) -> int: ...

    def block_hash(self, number: int) -> str | None: ...

    def logs(self, from_block: int, to_block: int, addresses: Sequence[str]) -> list[RawLog]: ...

    def block_times(self, numbers: Sequence[int]) -> dict[int, tuple[str, int]]: ...

    def calls(self, requests: Sequence[tuple[str, bytes]], block: int, reverted_empty: bool = False) -> list[bytes]:
        """eth_call answers; a reverted call fails loudly unless ``reverted_empty`` (then it answers b"")."""
        ...


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


class RpcReader:
    """Any JSON-RPC node (anvil, a real network), through :mod:`rwaledger.rpc` (batching and retries there).

    Reads here reconcile the ledger with the chain, so every error answer fails loudly (:class:`ChainReadError`);
    a node that does not answer raises :class:`rwaledger.errors.NodeUnavailable` after the transport's retries."""

    def __init__(self, chain: Any):
        self.chain = chain if hasattr(chain, "w3") else _Bare(chain)

    def _batch(self, calls: list[tuple[str, list[Any]]], what: str, reverted_empty: bool = False) -> list[Any]:
        try:
            from .. import rpc as _rpc  # web3's provider only when the chain is read: ledger queries never load it

            on_error = _rpc.OnError.EMPTY if reverted_empty else _rpc.OnError.RAISE
            return _rpc.batch(self.chain, calls, what=what, on_error=on_error)
        except RpcError as exc:
            raise ChainReadError(str(exc)) from None

    def _request(self, method: str, params: list[Any]) -> Any:
        return self._batch([(method, params)], f"reading the chain ({method})")[0]

    def head(self) -> int:
        return _int(self._request("eth_blockNumber", []))

    def block_hash(self, number: int) -> str | None:
        block = self._request("eth_getBlockByNumber", [hex(number), False])
        return None if block is None else block["hash"].lower()

    def block_times(self, numbers: Sequence[int]) -> dict[int, tuple[str, int]]:
        """block number -> (hash, unix timestamp), in batches (blocks the node does not have are left out)."""
        out: dict[int, tuple[str, int]] = {}
        blocks = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers],
                             f"reading {len(numbers)} block headers")
        for block in blocks:
            if block is not None:
                out[_int(block["number"])] = (block["hash"].lower(), _int(block["timestamp"]))
        return out

    def logs(self, from_block: int, to_block: int, addresses: Sequence[str]) -> list[RawLog]:
        out: list[RawLog] = []
        for start in range(0, len(addresses), ADDRESS_CHUNK):
            chunk = list(addresses[start : start + ADDRESS_CHUNK])
            result = self._batch(
                [("eth_getLogs", [{"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": chunk}])],
                f"reading the logs of blocks {from_block}-{to_block}",
            )[0]
            for lg in result:
                if lg.get("removed"):
                    continue
                out.append(
                    RawLog(
                        int(lg["blockNumber"], 16),
                        lg["blockHash"].lower(),
                        lg["transactionHash"].lower(),
                        int(lg["transactionIndex"], 16),
                        int(lg["logIndex"], 16),
                        lg["address"].lower(),
                        tuple(t.lower() for t in lg["topics"]),
                        lg["data"],
                    )
                )
        return out

    def calls(self, requests: Sequence[tuple[str, bytes]], block: int, reverted_empty: bool = False) -> list[bytes]:
        results = self._batch([("eth_call", [{"to": to, "data": "0x" + data.hex()}, hex(block)]) for to, data in requests],
                              f"reading {len(requests)} contract calls at block {block}", reverted_empty)
        return [bytes.fromhex(_hex(r)[2:]) for r in results]


class _Bare:
    """A bare ``Web3`` seen as a chain by :mod:`rwaledger.rpc`."""

    kind = "rpc"

    def __init__(self, w3: Any):
        self.w3 = w3


class TesterReader:
    """eth-tester, in process."""

    def __init__(self, tester: Any, sender: str | None = None):
        self.tester = tester
        self.sender = sender  # a funded account: eth-tester charges gas even for a call

    def head(self) -> int:
        return int(self.tester.get_block_by_number("latest")["number"])

    def block_hash(self, number: int) -> str | None:
        from eth_tester.exceptions import BlockNotFound

        try:
            return _hex(self.tester.get_block_by_number(number)["hash"]).lower()
        except BlockNotFound:
            return None

    def block_times(self, numbers: Sequence[int]) -> dict[int, tuple[str, int]]:
        from eth_tester.exceptions import BlockNotFound

        out: dict[int, tuple[str, int]] = {}
        for n in numbers:
            try:
                block = self.tester.get_block_by_number(n)
            except BlockNotFound:
                continue
            out[n] = (_hex(block["hash"]).lower(), int(block["timestamp"]))
        return out

    def logs(self, from_block: int, to_block: int, addresses: Sequence[str]) -> list[RawLog]:
        from eth_utils import to_checksum_address

        out: list[RawLog] = []
        for start in range(0, len(addresses), ADDRESS_CHUNK):
            chunk = [to_checksum_address(a) for a in addresses[start : start + ADDRESS_CHUNK]]
            for lg in self.tester.get_logs(from_block=from_block, to_block=to_block, address=chunk):
                out.append(
                    RawLog(
                        int(lg["block_number"]),
                        _hex(lg["block_hash"]).lower(),
                        _hex(lg["transaction_hash"]).lower(),
                        int(lg["transaction_index"]),
                        int(lg["log_index"]),
                        _hex(lg["address"]).lower(),
                        tuple(_hex(t).lower() for t in lg["topics"]),
                        _hex(lg["data"]),
                    )
                )
        return out

    def calls(self, requests: Sequence[tuple[str, bytes]], block: int, reverted_empty: bool = False) -> list[bytes]:
        from eth_utils import to_checksum_address

        out = []
        sender = self.sender or self.tester.get_accounts()[0]
        for to, data in requests:
            try:
                result = self.tester.call(
                    {"from": sender, "to": to_checksum_address(to), "data": "0x" + data.hex()}, block
                )
            except Exception as exc:  # eth-tester raises its own types for reverts
                if reverted_empty:
                    out.append(b"")
                    continue
                raise ChainReadError(f"eth_call to {to} failed: {exc}") from None
            out.append(bytes.fromhex(_hex(result)[2:]))
        return out


def reader_for(chain: Any) -> ChainReader:
    """The reader of a :class:`rwaledger.chain.Chain` (or of a bare ``Web3``)."""
    tester = getattr(chain, "tester", None)
    if tester is not None:
        accounts = getattr(chain, "dev_accounts", None) or []
        return TesterReader(tester, accounts[0].address if accounts else None)
    return RpcReader(chain)
