"""Amounts as people type them, in an asset's unit, to smallest-unit integers (never rounded)."""

import pytest

from rwaledger.amounts import AmountError, check_syntax, format_amount, parse_amount

GOLD = {"decimals": 3, "unit": "gram"}
SHARES = {"decimals": 0, "unit": "share"}


@pytest.mark.parametrize("text, expected", [
    ("10.5 kg", 10_500_000), ("250 g", 250_000), ("250g", 250_000), ("2 grams", 2_000), ("1.234 gram", 1_234),
    ("5 mg", 5), ("1500000", 1_500_000), (1_500_000, 1_500_000), ("0.001 t", 1_000_000),
])
def test_gold(text, expected):
    assert parse_amount(text, **GOLD) == expected


def test_shares_and_a_kilogram_unit():
    assert parse_amount("100 shares", **SHARES) == 100
    assert parse_amount("1 share", decimals=2, unit="share") == 100
    assert parse_amount("500 g", decimals=6, unit="kilogram") == 500_000
    assert parse_amount("3 bales", decimals=0, unit="bale") == 3


@pytest.mark.parametrize("text, message", [
    ("10.5", "has a fraction but no unit"), ("0.0001 g", "finer than the token's 3 decimals"),
    ("1,500", "no thousands separators"), ("5 bales", "unknown unit 'bales'"), ("-3", "cannot read"),
    ("0", "must be positive"), ("0 g", "must be positive"), (True, "is not an amount"), ("g", "cannot read"),
])
def test_refusals_name_the_problem(text, message):
    with pytest.raises(AmountError, match=message):
        parse_amount(text, **GOLD)


def test_syntax_only_check():
    check_syntax("10.5 kg")
    check_syntax(7)
    for bad in ("10.5", "0", -1, "x"):
        with pytest.raises(AmountError):
            check_syntax(bad)


def test_format():
    assert format_amount(2_500_000, **GOLD) == "2,500 gram"
    assert format_amount(1_234_567, **GOLD) == "1,234.567 gram"
    assert format_amount(2_500, **SHARES) == "2,500 shares" and format_amount(1, **SHARES) == "1 share"
