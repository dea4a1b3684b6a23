"""Signers: keystores, environment keys, dev accounts; keys never shown."""

import json

import pytest
from eth_account import Account

from rwaledger import signers
from rwaledger.errors import SignerError


def test_keystore_round_trip_and_cache(tmp_path, monkeypatch):
    path = tmp_path / "registrar.json"
    address = signers.create_keystore(path, "correct horse")
    assert json.loads(path.read_text())["address"].lower() == address[2:].lower()
    monkeypatch.setenv(signers.PASSWORD_ENV, "correct horse")
    signer = signers.from_keystore(path)
    assert signer.address == address
    monkeypatch.setenv(signers.PASSWORD_ENV, "now wrong but cached")
    assert signers.from_keystore(path).address == address  # decrypted once per process


def test_keystore_wrong_password(tmp_path, monkeypatch):
    path = tmp_path / "k.json"
    signers.create_keystore(path, "pw1")
    monkeypatch.setenv(signers.PASSWORD_ENV, "pw2")
    with pytest.raises(SignerError, match="wrong password"):
        signers.from_keystore(path)


def test_keystore_without_password_and_no_terminal(tmp_path, monkeypatch):
    path = tmp_path / "k.json"
    signers.create_keystore(path, "pw")
    monkeypatch.delenv(signers.PASSWORD_ENV, raising=False)
    with pytest.raises(SignerError, match=signers.PASSWORD_ENV):
        signers.from_keystore(path, prompt=False)


def test_keystore_is_never_overwritten(tmp_path):
    path = tmp_path / "k.json"
    signers.create_keystore(path, "pw")
    with pytest.raises(SignerError, match="refusing"):
        signers.create_keystore(path, "pw")


def test_env_key_and_repr_hides_it(monkeypatch):
    account = Account.create()
    monkeypatch.setenv(signers.KEY_ENV, account.key.hex())
    signer = signers.from_env()
    assert signer.address == account.address
    for text in (repr(signer), str(signer)):
        assert account.key.hex()[2:] not in text and account.address in text


def test_env_key_missing_or_bad(monkeypatch):
    monkeypatch.delenv(signers.KEY_ENV, raising=False)
    with pytest.raises(SignerError, match="not set"):
        signers.from_env()
    monkeypatch.setenv(signers.KEY_ENV, "0xnothex")
    with pytest.raises(SignerError, match="valid private key") as info:
        signers.from_env()
    assert "nothex" not in str(info.value)


def test_real_network_needs_an_explicit_signer(monkeypatch):
    class Remote:
        name, dev_accounts = "chain-1", []

    monkeypatch.delenv(signers.KEY_ENV, raising=False)
    monkeypatch.delenv(signers.KEYSTORE_ENV, raising=False)
    with pytest.raises(SignerError, match="--keystore"):
        signers.default_signer(Remote())


def test_fast_eip1559_signing_matches_eth_account():
    account = Account.create()
    signer = signers.Signer(account, "test")
    for nonce, data in ((0, b""), (7, b"\xa9\x05\x9c\xbb" + b"\x01" * 64)):
        tx = {"type": 2, "chainId": 31337, "nonce": nonce, "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
              "value": 5, "gas": 150_000, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "data": data}
        reference = account.sign_transaction(tx)
        tx_hash, raw = signer.sign_eip1559(31337, nonce, 10**9, 2 * 10**9, 150_000, tx["to"], 5, data)
        assert raw == bytes(reference.raw_transaction) and tx_hash == bytes(reference.hash)
