"""The tokens distributions pay in: their ``symbol()`` and ``decimals()``, read once per token by the sync.

Both are optional in ERC-20, and some tokens answer ``symbol()`` with a ``bytes32`` (as MKR does) rather than a
string: a token that reverts, answers nothing or answers something undecodable gets ``None`` (amounts are then
shown in base units), never a failed sync.
"""

from __future__ import annotations

from typing import Any, Iterable

from eth_abi import decode as abi_decode
from eth_utils import keccak

from .rpc import ChainReader

SYMBOL = keccak(text="symbol()")[:4]
DECIMALS = keccak(text="decimals()")[:4]
MAX_SYMBOL = 64  # the column's width: a longer answer is cut


def decode_symbol(data: bytes) -> str | None:
    """A ``symbol()`` answer: an ABI string, or a bytes32 padded with zeros; None when it is neither."""
    if not data:
        return None
    try:
        (text,) = abi_decode(["string"], data)
    except Exception:  # noqa: BLE001 - eth_abi raises several types for data that is no string
        if len(data) != 32:
            return None
        text = data.rstrip(b"\0").decode("utf-8", "replace")
    text = text.strip()
    return text[:MAX_SYMBOL] if text and text.isprintable() else None


def decode_decimals(data: bytes) -> int | None:
    """A ``decimals()`` answer (a uint8, ABI-padded to 32 bytes); None when absent or out of range."""
    if len(data) < 32:
        return None
    value = int.from_bytes(data[:32], "big")
    return value if value <= 77 else None  # 10**78 > 2**256: no uint256 amount has more digits


def read(reader: ChainReader, addresses: Iterable[str], block: int) -> list[dict[str, Any]]:
    """Rows of ``payment_tokens`` for ``addresses``: both calls of every token in one batch at ``block``."""
    tokens = sorted(set(addresses))
    if not tokens:
        return []
    answers = reader.calls([(t, SYMBOL) for t in tokens] + [(t, DECIMALS) for t in tokens], block, reverted_empty=True)
    n = len(tokens)
    return [{"address": t, "symbol": decode_symbol(answers[i]), "decimals": decode_decimals(answers[n + i]),
             "read_block": block} for i, t in enumerate(tokens)]
