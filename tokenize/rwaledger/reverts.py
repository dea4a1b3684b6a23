"""Decode revert data into typed exceptions.

web3.py decodes none of the ways a revert reaches it (``ContractCustomError``
with raw data on anvil, eth-tester's ``TransactionFailed`` with the data in its
message, a status-0 receipt when gas was given). :class:`RevertDecoder` holds
one selector table built from every compiled ABI plus ``Error(string)`` and
``Panic(uint256)``, and :func:`revert_data_from` digs the raw bytes out of
whichever exception carried them, so every path ends in the same
:class:`~rwaledger.errors.ContractRevert` subclasses.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Iterable

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from .errors import ContractRevert, CustomErrorRevert, PanicRevert, ReasonRevert, UnknownRevert

PANIC_CODES = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "bad storage byte array encoding",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


def _type_str(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type_str(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


@dataclass(frozen=True)
class ErrorSpec:
    name: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.types)})"

    @property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]


ERROR_STRING = ErrorSpec("Error", ("string",), ("reason",))
PANIC = ErrorSpec("Panic", ("uint256",), ("code",))


class RevertDecoder:
    """Selector -> error table over a set of ABIs."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]] = ()):
        self._by_selector: dict[bytes, ErrorSpec] = {ERROR_STRING.selector: ERROR_STRING, PANIC.selector: PANIC}
        for abi in abis:
            self.add_abi(abi)

    def add_abi(self, abi: list[dict[str, Any]]) -> None:
        for item in abi:
            if item.get("type") != "error":
                continue
            spec = ErrorSpec(
                item["name"],
                tuple(_type_str(i) for i in item.get("inputs", [])),
                tuple(i.get("name") or f"arg{n}" for n, i in enumerate(item.get("inputs", []))),
            )
            self._by_selector.setdefault(spec.selector, spec)

    def known(self, name: str) -> bool:
        return any(spec.name == name for spec in self._by_selector.values())

    def decode(self, data: bytes | str | None) -> ContractRevert:
        """Turn raw revert data into the matching exception (never raises)."""
        raw = _to_bytes(data)
        selector = raw[:4]
        spec = self._by_selector.get(selector)
        if spec is None:
            return UnknownRevert("unknown", {}, selector, raw)
        try:
            values = abi_decode(list(spec.types), raw[4:])
        except Exception:
            return UnknownRevert("unknown", {}, selector, raw)
        args = dict(zip(spec.names, values))
        if spec is ERROR_STRING:
            return ReasonRevert("Error", args, selector, raw)
        if spec is PANIC:
            code = args["code"]
            return PanicRevert("Panic", args, selector, raw, f"panic 0x{code:02x}: {PANIC_CODES.get(code, 'unknown panic')}")
        return CustomErrorRevert(spec.name, args, selector, raw)


_HEX = re.compile(r"0x[0-9a-fA-F]*")


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    s = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(s)
    except ValueError:
        return b""


def revert_data_from(exc: BaseException) -> bytes | None:
    """Raw revert data carried by a web3 / eth-tester / JSON-RPC error, or None if it is not a revert."""
    from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

    if isinstance(exc, (ContractCustomError, ContractPanicError, ContractLogicError)):
        data = getattr(exc, "data", None)
        if isinstance(data, dict):  # some nodes nest it
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return _to_bytes(data)
        if isinstance(exc, ContractLogicError):
            return b""
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # pragma: no cover - eth-tester is a dependency
        TransactionFailed = ()  # type: ignore[assignment]
    if TransactionFailed and isinstance(exc, TransactionFailed):
        return _tester_revert_data(exc.args[0] if exc.args else b"")
    # A raw JSON-RPC error dict: {"code": 3, "message": "execution reverted", "data": "0x..."}
    payload = exc.args[0] if exc.args else None
    if isinstance(payload, dict) and "revert" in str(payload.get("message", "")).lower():
        return _to_bytes(payload.get("data"))
    return None


_REVERTED = "execution reverted: "


def _tester_revert_data(arg: object) -> bytes:
    """eth-tester (through web3's provider) reports a revert as text: recover the raw bytes.

    Custom errors and panics arrive as the repr of the data (``b'...'``); an
    ``Error(string)`` arrives already decoded to its reason, so it is re-encoded.
    """
    if isinstance(arg, (bytes, bytearray)):
        return bytes(arg)
    text = str(arg)
    body = text[len(_REVERTED) :] if text.startswith(_REVERTED) else text
    if body.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(body)
            if isinstance(value, bytes):
                return value
        except (ValueError, SyntaxError):
            pass
    if _HEX.fullmatch(body):
        return _to_bytes(body)
    if text.startswith(_REVERTED) and body:
        return ERROR_STRING.selector + abi_encode(["string"], [body])
    return b""
