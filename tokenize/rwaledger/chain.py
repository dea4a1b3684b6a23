"""One interface over three kinds of chain.

``connect(network)`` takes

* ``"tester"``: eth-tester with the py-evm backend, in-process (tests, single-process scripts);
* ``"anvil"``: the background node started by ``rwa node start`` if one runs,
  else a fresh anvil on a free port that stops when the chain is closed;
* an ``http(s)://`` or ``ws(s)://`` JSON-RPC URL (a real network).

Local chains share one set of dev-chain helpers (snapshot/revert, mine, time
travel, set balance, funded dev accounts). Every revert bumps :attr:`Chain.epoch`
so transaction senders know their cached nonces are stale.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from functools import cached_property
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers.base import JSONBaseProvider

from .errors import ChainError, ConfigError
from .node import DEV_MNEMONIC, AnvilNode, background_status

TESTER_CHAIN_ID = 131277322940537  # eth-tester's own chain id
DEV_ACCOUNT_COUNT = 10


def dev_accounts(count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """The public dev accounts of :data:`DEV_MNEMONIC` (anvil's defaults), for local chains only."""
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

    seed = seed_from_mnemonic(DEV_MNEMONIC, "")  # the slow step (PBKDF2), once rather than once per account
    return [Account.from_key(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")) for i in range(count)]


class Chain:
    """A connected chain. Subclasses add what their node can do."""

    kind = "rpc"
    is_dev = False

    def __init__(self, w3: Web3, name: str):
        self.w3 = w3
        self.name = name  # the network name used for deployment records
        self.epoch = 0  # bumped on every revert: cached nonces are stale after it
        self._snapshot_times: dict[str, float] = {}  # snapshot id -> when it was taken (the journal forgets since)

    @cached_property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @cached_property
    def dev_accounts(self) -> list[LocalAccount]:
        """Funded accounts whose keys are public; empty on a real network."""
        return []

    # --- dev-chain helpers ------------------------------------------------------

    def _dev_only(self, what: str) -> None:
        if not self.is_dev:
            raise ChainError(f"{what} needs a local dev chain (tester or anvil), not {self.name}")

    def snapshot(self) -> Any:
        """Take a snapshot of the chain state; returns its id."""
        self._dev_only("snapshot")
        taken = time.time()
        snapshot_id = self._rpc("evm_snapshot")
        self._snapshot_times[str(snapshot_id)] = taken
        return snapshot_id

    def revert(self, snapshot_id: Any) -> None:
        """Go back to ``snapshot_id``. A snapshot is used up by reverting to it: take a fresh one.

        What was signed since then never happened: the chain's transaction journal forgets it (a later batch must
        not re-broadcast a rewound branch's transactions onto the new one)."""
        self._dev_only("revert")
        ok = self._rpc("evm_revert", [snapshot_id])
        if ok is False:
            raise ChainError(f"revert to snapshot {snapshot_id} failed (already used or unknown)")
        self.epoch += 1
        taken = self._snapshot_times.pop(str(snapshot_id), None)
        if taken is not None and getattr(self, "url", None):
            from . import journal

            journal.forget_since(self, taken)

    def mine(self, blocks: int = 1) -> int:
        """Mine ``blocks`` empty blocks; returns the new block number."""
        self._dev_only("mine")
        self._rpc("anvil_mine", [hex(blocks)])
        return self.w3.eth.block_number

    def advance_time(self, seconds: int) -> int:
        """Move the clock forward by ``seconds`` and mine a block at that time; returns its timestamp."""
        self._dev_only("advance_time")
        target = int(self.w3.eth.get_block("latest")["timestamp"]) + int(seconds)
        self._rpc("evm_setNextBlockTimestamp", [hex(target)])
        self._rpc("evm_mine")
        return target

    def set_balance(self, address: str, wei: int) -> None:
        """Set an account's ether balance."""
        self._dev_only("set_balance")
        self._rpc("anvil_setBalance", [Web3.to_checksum_address(address), hex(wei)])

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _rpc(self, method: str, params: list[Any] | None = None) -> Any:
        from .rpc import request

        return request(self, method, params or [])  # RpcError (a ChainError) on an error answer

    def close(self) -> None:
        """Release the connection (and stop a node this chain started)."""

    def __enter__(self) -> "Chain":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class TesterChain(Chain):
    """eth-tester + py-evm in this process. Lives as long as the object."""

    kind = "tester"
    is_dev = True

    def __init__(self, accounts: int = DEV_ACCOUNT_COUNT):
        from eth_tester import EthereumTester, PyEVMBackend
        from eth_tester.backends.pyevm.main import generate_genesis_state_for_keys, get_default_genesis_params
        from eth_keys import keys
        from web3.providers.eth_tester import EthereumTesterProvider

        self._accounts = dev_accounts(accounts)
        genesis_keys = [keys.PrivateKey(a.key) for a in self._accounts]
        params = get_default_genesis_params({"gas_limit": 30_000_000})
        backend = PyEVMBackend(genesis_parameters=params, genesis_state=generate_genesis_state_for_keys(genesis_keys))
        type(backend.chain).gas_estimator = staticmethod(_estimate_gas)  # chains made later (a revert to genesis)
        backend.chain.gas_estimator = _estimate_gas  # this one has read the default already
        self.tester = EthereumTester(backend)
        super().__init__(Web3(EthereumTesterProvider(self.tester, api_endpoints=_endpoints_keeping_revert_data())), "tester")
        self.w3.eth.default_account = self._accounts[0].address  # views run "from" a funded account

    @cached_property
    def dev_accounts(self) -> list[LocalAccount]:
        return list(self._accounts)

    def snapshot(self) -> int:
        return self.tester.take_snapshot()

    def revert(self, snapshot_id: Any) -> None:
        from eth_tester.exceptions import SnapshotNotFound

        try:
            self.tester.revert_to_snapshot(snapshot_id)
        except SnapshotNotFound:
            raise ChainError(f"revert to snapshot {snapshot_id} failed: unknown snapshot") from None
        self.epoch += 1

    def mine(self, blocks: int = 1) -> int:
        self.tester.mine_blocks(blocks)
        return self.w3.eth.block_number

    def advance_time(self, seconds: int) -> int:
        target = self.timestamp() + int(seconds)
        self.tester.time_travel(target + 1)  # eth-tester mines the block at (argument - 1)
        return self.timestamp()

    def set_balance(self, address: str, wei: int) -> None:
        # eth-tester has no such call: write the balance into the pending block's state and mine it.
        chain = self.tester.backend.chain
        state = chain.get_vm().state
        state.set_balance(bytes.fromhex(Web3.to_checksum_address(address)[2:]), int(wei))
        state.persist()
        chain.header = chain.header.copy(state_root=state.state_root)
        self.tester.mine_blocks(1)


def _estimate_gas(state: Any, transaction: Any) -> int:
    """py-evm's gas estimate in two or three runs instead of a dozen.

    py-evm's default (``binary_gas_search_intrinsic_tolerance``) runs a transaction about 13 times (a binary search
    from the intrinsic gas to the block gas limit), which made eth-tester's gas estimation most of the suite's
    time. Here: one run at the block gas limit (it raises the transaction's own error, as py-evm's does), then the
    gas it used plus a margin for the 63/64 rule and refunds, checked by one more run; only if that runs out of gas
    does the binary search run, from there. The estimate is at most a few percent above the minimum; what a
    transaction uses (the receipt's ``gasUsed``) does not depend on it."""
    from eth.estimators.gas import _get_computation_error, binary_gas_search
    from eth.vm.spoof import SpoofTransaction

    if _get_computation_error(state, SpoofTransaction(transaction, gas=transaction.intrinsic_gas, gas_price=0)) is None:
        return transaction.intrinsic_gas  # a plain payment (cheap to try: anything else runs out of gas at once)
    limit = state.gas_limit
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(SpoofTransaction(transaction, gas=limit, gas_price=0))
        if computation.is_error:
            raise computation.error
        used = limit - computation.get_gas_remaining()
    finally:
        state.revert(snapshot)
    guess = min(limit, used + used // 16 + 5_000)
    if _get_computation_error(state, SpoofTransaction(transaction, gas=guess, gas_price=0)) is None:
        return guess
    return binary_gas_search(state, transaction, tolerance=21_000)


def _endpoints_keeping_revert_data() -> dict:
    """web3's eth-tester endpoints, but a revert's raw data reaches web3 as hex text.

    web3's eth-tester provider decodes raw revert bytes as if they were ``Error(string)`` after the selector,
    which turns a custom error with one string argument (OpenZeppelin's ``StringTooLong(string)``) into a
    plausible reason string. Passing the bytes on as hex keeps them intact for :mod:`rwaledger.reverts`.
    """
    from eth_tester.exceptions import TransactionFailed
    from web3.providers.eth_tester.defaults import API_ENDPOINTS

    def keep(fn):
        def call(tester, params):
            try:
                return fn(tester, params)
            except TransactionFailed as exc:
                arg = exc.args[0] if exc.args else b""
                if isinstance(arg, Exception):
                    arg = arg.args[0] if arg.args else b""
                if isinstance(arg, (bytes, bytearray)):
                    raise TransactionFailed("0x" + bytes(arg).hex()) from None
                raise

        return call

    return {ns: {name: keep(fn) for name, fn in endpoints.items()} for ns, endpoints in API_ENDPOINTS.items()}


class RpcChain(Chain):
    """A node reached over JSON-RPC. Dev helpers work when the node offers them (anvil does)."""

    def __init__(self, url: str, name: str | None = None, is_dev: bool = False):
        self.url = url
        provider: JSONBaseProvider
        if url.startswith(("ws://", "wss://")):
            provider = SyncWebSocketProvider(url)
        elif url.startswith(("http://", "https://")):
            from .rpc import Transport

            provider = Transport(url, timeout=60)  # retries reads, raises NodeUnavailable / RpcError
        else:
            raise ConfigError(f"network must be tester, anvil or an http(s):// / ws(s):// URL, not {url!r}")
        self.is_dev = is_dev
        super().__init__(Web3(provider), name or "")
        if not name:  # never name a network after its URL: URLs often carry API keys
            self.name = f"chain-{self.chain_id}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class AnvilChain(RpcChain):
    """An anvil node: the background `rwa node` if one runs, else one started (and stopped) here."""

    kind = "anvil"

    def __init__(self, node: AnvilNode | None = None, url: str | None = None, accounts: int = DEV_ACCOUNT_COUNT):
        self.node = node
        self._account_count = accounts
        super().__init__(url or node.url, name="anvil", is_dev=True)  # type: ignore[union-attr]
        self.w3.eth.default_account = self.dev_accounts[0].address

    @classmethod
    def start(cls, **node_options: Any) -> "AnvilChain":
        return cls(node=AnvilNode(**node_options).start())

    @cached_property
    def dev_accounts(self) -> list[LocalAccount]:
        return dev_accounts(self._account_count)


    def close(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None


def connect(network: str = "tester") -> Chain:
    """Open the chain a ``--network`` value names."""
    if network == "tester":
        return TesterChain()
    if network == "anvil":
        running = background_status()
        return AnvilChain(url=running["url"]) if running else AnvilChain.start()
    if network.startswith(("http://", "https://", "ws://", "wss://")):
        return RpcChain(network)
    raise ConfigError(f"unknown network {network!r}: use tester, anvil or an http(s):// / ws(s):// URL")


class SyncWebSocketProvider(JSONBaseProvider):
    """A blocking JSON-RPC-over-WebSocket provider (web3.py 8 ships only an async one)."""

    def __init__(self, url: str, timeout: float = 60.0):
        super().__init__()
        self.url = url
        self.timeout = timeout
        self._conn = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _connection(self):
        if self._conn is None:
            from websockets.sync.client import connect as ws_connect

            try:
                self._conn = ws_connect(self.url, open_timeout=self.timeout, max_size=None)
            except Exception as exc:
                from .errors import NodeUnavailable
                from .rpc import safe_url

                raise NodeUnavailable(safe_url(self.url), "opening the WebSocket connection",
                                      type(exc).__name__) from None
        return self._conn

    def make_request(self, method: str, params: Any) -> Any:  # type: ignore[override]
        from .errors import NodeUnavailable
        from .rpc import safe_url

        with self._lock:
            conn = self._connection()
            request_id = next(self._ids)
            try:
                conn.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
                while True:
                    message = json.loads(conn.recv(timeout=self.timeout))
                    if message.get("id") == request_id:
                        return message
            except (OSError, TimeoutError, ValueError) as exc:  # websockets' ConnectionClosed is neither: below
                self._conn = None
                raise NodeUnavailable(safe_url(self.url), f"calling {method}", type(exc).__name__) from None
            except Exception as exc:
                if type(exc).__name__.startswith("ConnectionClosed"):
                    self._conn = None
                    raise NodeUnavailable(safe_url(self.url), f"calling {method}", "connection closed") from None
                raise

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            return "result" in self.make_request("web3_clientVersion", [])
        except Exception:
            return False
