"""The payment tokens' metadata the sync reads (rwaledger.ledger.paytokens): a string or bytes32 symbol, decimals,
and a token that answers neither (a revert, no code, garbage) gets None: amounts in base units, never a failed
sync. The read goes through the ledger's chain reader with reverted calls answered empty."""

from __future__ import annotations

import pytest
from eth_abi import encode

from rwaledger.ledger import paytokens
from rwaledger.ledger.rpc import reader_for


def test_symbols_as_tokens_answer_them():
    assert paytokens.decode_symbol(encode(["string"], ["TUSD"])) == "TUSD"
    assert paytokens.decode_symbol(b"MKR".ljust(32, b"\0")) == "MKR"  # bytes32, as MKR's symbol() answers
    assert paytokens.decode_symbol(b"") is None  # reverted, or no code at the address
    assert paytokens.decode_symbol(b"\x01\x02") is None
    assert paytokens.decode_symbol(encode(["string"], ["A\nB"])) is None  # not printable: not shown
    assert paytokens.decode_symbol(encode(["string"], ["X" * 100])) == "X" * paytokens.MAX_SYMBOL


def test_decimals_as_tokens_answer_them():
    assert paytokens.decode_decimals(encode(["uint8"], [6])) == 6
    assert paytokens.decode_decimals(encode(["uint256"], [18])) == 18
    assert paytokens.decode_decimals(b"") is None
    assert paytokens.decode_decimals(encode(["uint256"], [2**200])) is None  # no uint256 amount has that many digits


@pytest.mark.chains("tester", "anvil")
def test_a_token_and_a_contract_that_is_none_read_through_the_chain(rwa):
    from rwaledger.stack import deploy_stack

    chain = rwa.chain
    stack = deploy_stack(rwa)
    coin = rwa.deployer.deploy("TestStablecoin")
    nobody = "0x000000000000000000000000000000000000dEaD"
    block = chain.w3.eth.block_number
    rows = {r["address"]: r for r in paytokens.read(reader_for(chain), [coin.address, stack.registry.address, nobody],
                                                      block)}
    assert (rows[coin.address]["symbol"], rows[coin.address]["decimals"]) == ("TUSD", 6)
    assert (rows[stack.registry.address]["symbol"], rows[stack.registry.address]["decimals"]) == (None, None)  # reverts
    assert (rows[nobody]["symbol"], rows[nobody]["decimals"]) == (None, None)  # no code: empty answers
    assert {r["read_block"] for r in rows.values()} == {block}


def test_amounts_are_shown_exactly_whatever_their_size():
    """The portal's units filter: a uint256 of 78 digits at 18 decimals is not rounded (the decimal context's default
    28 digits would)."""
    from rwaledger.portal import _units

    big = 2**256 - 1
    digits = str(big)
    assert _units(big, 18).replace(",", "") == f"{digits[:-18]}.{digits[-18:]}"
    assert _units(1_500_250_000, 6) == "1,500.25" and _units(5, None) == "5" and _units(None, 6) == "—"
