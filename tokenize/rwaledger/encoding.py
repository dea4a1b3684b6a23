"""Small encodings shared by the service, the scripts and the tests (pure)."""

from __future__ import annotations

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
