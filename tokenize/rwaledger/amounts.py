"""Amounts as people type them, in an asset's unit, to the token's smallest-unit integers and back (pure).

``"10.5 kg"``, ``"250 g"`` and ``"100 shares"`` are read in the asset's unit (a commodity's ``unit``, e.g.
``gram``; ``share`` for property) and scaled by the token's decimals; a bare integer (``"1500000"``) is already in
smallest units, as before. A number with a fraction but no unit is refused (it could mean either), and so is an
amount finer than the token's decimals: nothing is ever rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import RwaError


class AmountError(RwaError):
    """An amount cannot be read, or does not fit the token's decimals."""


# mass units, in grams (exact)
_MASS = {
    "mg": Decimal("0.001"), "milligram": Decimal("0.001"),
    "g": Decimal(1), "gm": Decimal(1), "gram": Decimal(1), "gramme": Decimal(1),
    "kg": Decimal(1000), "kilogram": Decimal(1000), "kilo": Decimal(1000),
    "t": Decimal(1_000_000), "tonne": Decimal(1_000_000), "ton": Decimal(1_000_000),
}
_SHARE = {"share": Decimal(1)}
_NUMBER = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z][A-Za-z ]*?)?\s*$")


def _singular(unit: str, known: frozenset[str] | set[str] = frozenset()) -> str:
    unit = unit.strip().lower()
    for suffix in ("mes", "s"):  # grammes -> gramme, grams -> gram, shares -> share, kgs -> kg, bales -> bale
        if unit.endswith(suffix) and unit[: -len(suffix)] in (_MASS.keys() | _SHARE.keys() | known):
            return unit[: -len(suffix)]
    return unit


def unit_table(asset_unit: str) -> dict[str, Decimal]:
    """Every unit name an amount of this asset may be typed in -> how many asset units it is."""
    base = _singular(asset_unit)
    if base in _MASS:
        scale = _MASS[base]
        return {name: factor / scale for name, factor in _MASS.items()}
    return {base: Decimal(1)}


def check_syntax(text: str | int, what: str = "amount") -> None:
    """Raise :class:`AmountError` unless ``text`` reads as an amount (its unit is checked against an asset later)."""
    if isinstance(text, bool) or (isinstance(text, int) and text <= 0):
        raise AmountError(f"{what}: must be a positive amount, not {text!r}")
    if isinstance(text, int):
        return
    match = _NUMBER.match(str(text).replace("_", ""))
    if not match:
        hint = " (use . for decimals and no thousands separators)" if "," in str(text) else ""
        raise AmountError(f"{what}: cannot read {text!r} as an amount such as 250, '10.5 kg' or '100 shares'{hint}")
    if match["unit"] is None and "." in match["number"]:
        raise AmountError(f"{what}: {text!r} has a fraction but no unit; write it with its unit (e.g. '{text} kg') "
                          "or as an integer of smallest units")
    if match["unit"] is None and int(match["number"]) == 0:
        raise AmountError(f"{what}: must be positive, not {text!r}")


def parse_amount(text: str | int, *, decimals: int, unit: str, what: str = "amount") -> int:
    """The smallest-unit integer of ``text`` for a token of ``decimals`` whose asset unit is ``unit``
    (``"share"`` for property tokens). Raises :class:`AmountError` naming ``what``."""
    if isinstance(text, bool):
        raise AmountError(f"{what}: {text!r} is not an amount")
    if isinstance(text, int):
        value = text
    else:
        match = _NUMBER.match(str(text).replace("_", ""))
        if not match:
            hint = " (use . for decimals and no thousands separators)" if "," in str(text) else ""
            raise AmountError(f"{what}: cannot read {text!r} as an amount such as 250, '10.5 kg' or '100 shares'{hint}")
        number, name = match["number"], match["unit"]
        if name is None:
            if "." in number:
                raise AmountError(f"{what}: {text!r} has a fraction but no unit; write it with its unit "
                                  f"(e.g. '{number} {unit}') or as an integer of smallest units")
            value = int(number)
        else:
            table = unit_table(unit)
            key = _singular(name, set(table))
            if key not in table:
                raise AmountError(f"{what}: unknown unit {name!r} for this asset (its unit is {unit!r}; "
                                  f"use one of {', '.join(sorted(table))})")
            try:
                scaled = Decimal(number) * table[key] * (Decimal(10) ** decimals)
            except InvalidOperation:
                raise AmountError(f"{what}: cannot read {text!r}") from None
            if scaled != scaled.to_integral_value():
                raise AmountError(f"{what}: {text!r} is finer than the token's {decimals} decimals of a {unit}")
            value = int(scaled)
    if value <= 0:
        raise AmountError(f"{what}: must be positive, not {text!r}")
    return value


def format_amount(value: int, *, decimals: int, unit: str) -> str:
    """``2500000`` with 3 decimals of ``gram`` -> ``"2,500 gram"``; ``2500`` shares -> ``"2,500 shares"``."""
    whole, frac = divmod(value, 10**decimals)
    text = f"{whole:,}"
    if frac:
        text += "." + f"{frac:0{decimals}d}".rstrip("0")
    name = unit if unit != "share" else ("share" if value == 10**decimals else "shares")
    return f"{text} {name}"
