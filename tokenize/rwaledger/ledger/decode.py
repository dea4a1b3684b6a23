"""Generic log decoding against the stack's ABIs (pure; no chain access).

An :class:`EventTable` maps, for each contract *kind* (``identity``, ``registry``, ``factory``,
``distributions``, ``access``, ``property``, ``commodity``), every event's topic0 to a compiled
:class:`EventSpec`. Decoding uses ``eth_abi`` directly (web3's log processing is far slower). Decoded
arguments are JSON-ready: integers as decimal strings (uint256 does not fit JSON numbers), bytes as ``0x``
hex, addresses EIP-55 checksummed, dynamic indexed arguments as their topic hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple

from ..constants import ASSET_KINDS
from .rpc import RawLog

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# contract kind -> the Stack attribute holding a contract of that ABI
KIND_ATTRS: dict[str, str] = {
    "access": "access",
    "identity": "identity",
    "registry": "registry",
    "factory": "factory",
    "distributions": "distributions",
    "property": "property_impl",
    "commodity": "commodity_impl",
}
TOKEN_KINDS = ASSET_KINDS  # one token kind per asset kind (the AssetKind enum, from the compiler)
SAFE_KIND, SAFE_ABI = "safe", "SafeL2"  # a Safe recorded as holding a role of the stack (deployments roles.json)


@lru_cache(maxsize=500_000)
def checksum(address: str) -> str:
    """EIP-55 form of an address (any case in), cached: the indexer sees the same holders again and again."""
    return to_checksum_address(address.lower())


def _normalizer(typ: str) -> Callable[[Any], Any]:
    """A function turning an eth_abi value of ABI type ``typ`` into its JSON form."""
    if typ.endswith("]"):
        inner = _normalizer(typ[: typ.rindex("[")])
        return lambda v: [inner(x) for x in v]
    if typ.startswith("("):
        parts = _split_tuple(typ[1:-1])
        subs = [_normalizer(p) for p in parts]
        return lambda v: [f(x) for f, x in zip(subs, v)]
    if typ == "address":
        return checksum
    if typ == "bool":
        return bool
    if typ.startswith(("uint", "int")):
        return str
    if typ.startswith("bytes"):
        return lambda v: "0x" + bytes(v).hex()
    return lambda v: v  # string


def _split_tuple(body: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        parts.append(cur)
    return parts


def _topic_decoder(typ: str) -> Callable[[str], Any]:
    """Decoder of an indexed argument from its 32-byte topic (hex)."""
    if typ == "address":
        return lambda t: checksum("0x" + t[-40:])
    if typ.startswith("uint"):
        return lambda t: str(int(t, 16))
    if typ.startswith("int"):

        def signed(t: str) -> str:
            v = int(t, 16)
            return str(v - (1 << 256) if v >= 1 << 255 else v)

        return signed
    if typ == "bool":
        return lambda t: int(t, 16) != 0
    if typ.startswith("bytes") and typ != "bytes" and not typ.endswith("]"):
        n = int(typ[5:])
        return lambda t: "0x" + t[2 : 2 + 2 * n]
    return lambda t: t  # string, bytes, arrays, tuples: only their keccak hash is in the topic


def _is_word(typ: str) -> bool:
    """A type whose ABI encoding is exactly one 32-byte word (decodable like a topic)."""
    return typ in ("address", "bool") or (
        not typ.endswith("]") and (typ.startswith(("uint", "int")) or (typ.startswith("bytes") and typ != "bytes"))
    )


@dataclass(frozen=True)
class EventSpec:
    """One event of one ABI, ready to decode."""

    name: str
    signature: str
    topic0: str
    names: tuple[str, ...]  # all inputs, in ABI order
    indexed: tuple[tuple[str, Callable[[str], Any]], ...]  # (name, topic decoder) in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_normalizers: tuple[Callable[[Any], Any], ...]
    address_args: tuple[str, ...]  # inputs of type address / address[...]
    word_decoders: tuple[Callable[[str], Any], ...] | None  # when every data field is one static word: fast path

    @classmethod
    def from_abi(cls, item: Mapping[str, Any]) -> "EventSpec":
        inputs = item.get("inputs", [])
        types = [collapse_if_tuple(dict(i)) for i in inputs]
        signature = f"{item['name']}({','.join(types)})"
        indexed, data_names, data_types = [], [], []
        for inp, typ in zip(inputs, types):
            if inp.get("indexed"):
                indexed.append((inp["name"], _topic_decoder(typ)))
            else:
                data_names.append(inp["name"])
                data_types.append(typ)
        return cls(
            name=item["name"],
            signature=signature,
            topic0="0x" + keccak(text=signature).hex(),
            names=tuple(i["name"] for i in inputs),
            indexed=tuple(indexed),
            data_names=tuple(data_names),
            data_types=tuple(data_types),
            data_normalizers=tuple(_normalizer(t) for t in data_types),
            address_args=tuple(i["name"] for i, t in zip(inputs, types) if t.startswith("address")),
            word_decoders=tuple(_topic_decoder(t) for t in data_types) if all(map(_is_word, data_types)) else None,
        )

    def decode(self, topics: tuple[str, ...], data: str) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise ValueError(f"{self.name}: {len(topics) - 1} indexed topics, ABI says {len(self.indexed)}")
        args: dict[str, Any] = {}
        for (name, dec), topic in zip(self.indexed, topics[1:]):
            args[name] = dec(topic)
        words = self.word_decoders
        if words is not None and len(data) >= 2 + 64 * len(words):
            for i, (name, dec) in enumerate(zip(self.data_names, words)):
                args[name] = dec("0x" + data[2 + 64 * i : 66 + 64 * i])  # a static word is its own encoding
        elif self.data_types:
            values = abi_decode(self.data_types, bytes.fromhex(data[2:]), strict=False)
            for name, norm, value in zip(self.data_names, self.data_normalizers, values):
                args[name] = norm(value)
        return {n: args[n] for n in self.names}  # ABI order


@dataclass
class DecodedLog:
    """A log with its decoded event (``event`` is None when no ABI of its contract kind explains it)."""

    log: RawLog
    kind: str
    event: str | None
    args: dict[str, Any]
    accounts: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return checksum(self.log.address)

    def args_json(self) -> str:
        return json.dumps(self.args, separators=(",", ":"))


@dataclass
class EventTable:
    """topic0 -> :class:`EventSpec`, per contract kind."""

    by_kind: dict[str, dict[str, EventSpec]] = field(default_factory=dict)

    @classmethod
    def from_abis(cls, abis: Mapping[str, Iterable[Mapping[str, Any]]]) -> "EventTable":
        table = cls()
        for kind, abi in abis.items():
            specs = {}
            for item in abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    spec = EventSpec.from_abi(item)
                    specs[spec.topic0] = spec
            table.by_kind[kind] = specs
        return table

    @classmethod
    def from_stack(cls, stack: Any) -> "EventTable":
        abis = {kind: getattr(stack, attr).abi for kind, attr in KIND_ATTRS.items()}
        try:  # the Safes that hold roles (kind "safe"): SafeL2 emits every transaction it executes
            abis[SAFE_KIND] = stack.session.build[SAFE_ABI].abi
        except (AttributeError, KeyError):
            pass
        return cls.from_abis(abis)

    def events_of(self, kind: str) -> list[str]:
        return sorted(s.name for s in self.by_kind.get(kind, {}).values())

    def decode(self, log: RawLog, kind: str) -> DecodedLog:
        spec = self.by_kind.get(kind, {}).get(log.topics[0]) if log.topics else None
        if spec is not None:
            try:
                args = spec.decode(log.topics, log.data)
            except Exception:
                spec = None
        if spec is None:
            return DecodedLog(log, kind, None, {"topics": list(log.topics), "data": log.data})
        accounts = []
        for name in spec.address_args:
            value = args[name]
            for a in value if isinstance(value, list) else (value,):
                if isinstance(a, str) and len(a) == 42 and a != ZERO_ADDRESS and a not in accounts:
                    accounts.append(a)
        return DecodedLog(log, kind, spec.name, args, tuple(accounts))
