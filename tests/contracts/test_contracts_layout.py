"""The token storage layout, pinned: what solc lays out is what the packed-word libraries (contracts/token/
TokenWords.sol) assume, and the implementations and the module they DELEGATECALL share it slot for slot.

A token clone runs the implementation's code and, through its fallback, the module's, on ONE storage: a variable
added to one and not the other, or moved, would make the module read another variable's slot. The rules word reads
OpenZeppelin's `Pausable._paused` slot as a whole, so its bit positions depend on where OpenZeppelin puts `_paused`.
This needs no chain."""

from __future__ import annotations

import pytest

# (label, slot, byte offset) of every variable of CompliantTokenRules, in order: OpenZeppelin's bases, the core, then
# each extension's own storage in stack order (TokenFreezable, TokenCountryRules, TokenHolderLimits, TokenLiens,
# TokenIssuance; TokenLockup and TokenRecovery own fields of the core's words).
CORE_LAYOUT = [
    ("_balances", 0, 0), ("_allowances", 1, 0), ("_totalSupply", 2, 0), ("_name", 3, 0), ("_symbol", 4, 0),
    ("_paused", 5, 0), ("_flags", 5, 1), ("_lockupUntil", 5, 2), ("_maxHolders", 5, 7), ("_maxBalance", 5, 11),
    ("_counters", 6, 0), ("_amounts", 7, 0), ("_accounts", 8, 0), ("_holdings", 9, 0), ("_encumbered", 10, 0),
    ("_locked", 11, 0), ("_successor", 12, 0), ("_onchainID", 13, 0),
    ("_frozenTokens", 14, 0),  # TokenFreezable
    ("_countries", 15, 0),  # TokenCountryRules
    ("_caps", 16, 0),  # TokenHolderLimits
    ("_lienCount", 17, 0), ("_liens", 18, 0),  # TokenLiens
    ("_allocations", 19, 0),  # TokenIssuance
]


def _layout(build, name):
    return [(e["label"], int(e["slot"]), e["offset"]) for e in build[name].storage_layout]


@pytest.mark.parametrize("name", ["PropertyShareToken", "CommodityToken", "CompliantTokenModule"])
def test_the_core_layout_is_pinned_and_shared(rwa_build, name):
    assert _layout(rwa_build, name)[: len(CORE_LAYOUT)] == CORE_LAYOUT


def test_the_module_has_no_variable_of_its_own(rwa_build):
    """Whatever the module stores is the core's; the commodity token's own variables come after the core's."""
    assert _layout(rwa_build, "CompliantTokenModule") == CORE_LAYOUT == _layout(rwa_build, "PropertyShareToken")
    commodity = _layout(rwa_build, "CommodityToken")[len(CORE_LAYOUT):]
    assert [label for label, _, _ in commodity] == ["_reserve", "_redemptionCount", "_lots", "_redemptions"]
    assert min(slot for _, slot, _ in commodity) > CORE_LAYOUT[-1][1]


def test_the_rules_word_bit_positions_are_the_compilers_offsets(rwa_build):
    """RulesWord's named shifts are 8 x the byte offsets solc gives the variables packed after `_paused`."""
    values = rwa_build.constants["values"]
    offsets = {label: (slot, offset) for label, slot, offset in _layout(rwa_build, "PropertyShareToken")}
    assert offsets["_paused"] == (5, 0) and values["RulesWord.PAUSED"] == 0xFF
    for label, shift in (("_flags", "FLAGS_SHIFT"), ("_lockupUntil", "LOCKUP_SHIFT"), ("_maxHolders", "MAX_HOLDERS_SHIFT"),
                         ("_maxBalance", "MAX_BALANCE_SHIFT")):
        assert offsets[label] == (5, values[f"RulesWord.{shift}"] // 8), label
    types = {e["label"]: e["type"] for e in rwa_build["PropertyShareToken"].storage_layout}
    assert (types["_flags"], types["_lockupUntil"], types["_maxHolders"], types["_maxBalance"]) == (
        "t_uint8", "t_uint40", "t_uint32", "t_uint104")
