"""Contract constants, taken from the compiler's output (shipped in ``rwaledger/artifacts/stack.json``), never
copied by hand: reason codes, asset kinds and statuses, country modes, lot and redemption statuses, wallet statuses
and role ids. ``tests/test_shipped.py`` fails if the shipped file no longer matches the Solidity sources.
"""

from __future__ import annotations

from . import shipped

_C = shipped.constants()
_ENUMS: dict[str, list[str]] = _C["enums"]
_VALUES: dict[str, object] = _C["values"]


def _enum(name: str) -> tuple[str, ...]:
    return tuple(_ENUMS[name])


def _lower(name: str) -> tuple[str, ...]:
    return tuple(m.lower() for m in _ENUMS[name])


REASONS: tuple[str, ...] = _enum("ICompliantToken.Reason")
"""``ICompliantToken.Reason``: the code of ``detectTransferRestriction`` (ERC-1404) and ``TransferNotAllowed`` is the
index."""
REASON_TEXT: dict[str, str] = dict(zip(REASONS, str(_VALUES["REASON_MESSAGES"]).split("\n")))
"""What each rule means, for people: ``REASON_MESSAGES`` in ``ICompliantToken.sol``, which the tokens also serve as
ERC-1404's ``messageForTransferRestriction``."""
ASSET_KINDS: tuple[str, ...] = _lower("AssetKind")  # ("property", "commodity")
ASSET_STATUSES: tuple[str, ...] = _lower("AssetStatus")  # ("registered", "active", "suspended", "retired")
COUNTRY_MODES: tuple[str, ...] = _lower("ICompliantToken.CountryMode")  # ("none", "allowlist", "blocklist")
LOT_STATUSES: tuple[str, ...] = _lower("CommodityToken.LotStatus")
REDEMPTION_STATUSES: tuple[str, ...] = _lower("CommodityToken.RedemptionStatus")
WALLET_STATUSES: tuple[str, ...] = tuple(
    name.split(".WALLET_")[1].lower()
    for name, _ in sorted(((n, v) for n, v in _VALUES.items() if n.startswith("IdentityRegistry.WALLET_")),
                          key=lambda item: item[1])  # type: ignore[arg-type, return-value]
)
"""``IdentityRegistry.walletStatus`` codes: ("none", "active", "removed", "lost")."""

ADMIN_ROLE = b"\x00" * 32  # OpenZeppelin's DEFAULT_ADMIN_ROLE
REGISTRAR_ROLE = bytes.fromhex(str(_VALUES["REGISTRAR_ROLE"])[2:])
COMPLIANCE_ROLE = bytes.fromhex(str(_VALUES["COMPLIANCE_ROLE"])[2:])
CUSTODIAN_ROLE = bytes.fromhex(str(_VALUES["CUSTODIAN_ROLE"])[2:])
GUARDIAN_ROLE = bytes.fromhex(str(_VALUES["GUARDIAN_ROLE"])[2:])  # pause, nothing else
ROLES: dict[str, bytes] = {"admin": ADMIN_ROLE, "registrar": REGISTRAR_ROLE, "compliance": COMPLIANCE_ROLE,
                           "guardian": GUARDIAN_ROLE,
                           "custodian": CUSTODIAN_ROLE}
