"""Small encodings shared by the service, the scripts and the tests (pure)."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak


def b32(text: str) -> bytes:
    """A short text as ``bytes32`` (UTF-8, right-padded) when it fits, else its keccak256: how references, reasons
    and lot ids are written on chain."""
    raw = text.encode()
    return raw.ljust(32, b"\0") if len(raw) <= 32 else keccak(raw)


def text_of_b32(value: bytes) -> str:
    """The text a :func:`b32` value stands for when it is printable ASCII, else its hex."""
    stripped = bytes(value).rstrip(b"\0")
    if stripped and all(32 <= c < 127 for c in stripped):
        return stripped.decode()
    return "0x" + bytes(value).hex()


def calldata(fn: Any) -> bytes:
    """The calldata of a bound web3 ``ContractFunction`` (its selector and ABI-encoded arguments), from the
    function's public ABI and arguments (web3's own encoder for this is private)."""
    from eth_abi import encode
    from eth_utils import function_abi_to_4byte_selector
    from eth_utils.abi import get_abi_input_types

    return function_abi_to_4byte_selector(fn.abi) + encode(get_abi_input_types(fn.abi), list(fn.arguments))
