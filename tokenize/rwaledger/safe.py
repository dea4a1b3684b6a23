"""Safe multisig accounts (Safe smart account 1.4.1) for four-eyes control of the stack's roles.

Nothing here is a multisig of our own: the contracts are Safe's, deployed from the npm package
``@safe-global/safe-contracts`` 1.4.1 (its published build artifacts, pinned by ``package-lock.json``) on the local
chains. The Safe transaction hash is the EIP-712 typed-data hash of Safe's ``SafeTx`` struct, encoded by
eth-account (``encode_typed_data``), never by hand; a test checks it against the Safe's own ``getTransactionHash``.

* :func:`deploy_safe_infrastructure` deploys (or reuses) the singleton (``SafeL2``: it emits every transaction it
  executes, which the audit decodes), the proxy factory, the fallback handler and ``MultiSendCallOnly``, recorded in
  ``deployments/`` like every other contract;
* :func:`create_safe` makes a Safe with N owners and a threshold M;
* :class:`SafeTx` is one Safe transaction (:func:`safe_tx`; :func:`multisend` for a batch, all or none); its
  ``hash``, :func:`sign` an owner's EIP-712
  signature, :func:`recover` the owner who signed, :func:`pack_signatures` the bytes ``execTransaction`` takes
  (owners in ascending order, as Safe requires), :func:`execute` sends it.

``safe-eth-py`` (Safe's own Python library, 7.27.0 on the index) declares ``web3>=7.15`` but pulls ``py-evm`` and a C
extension (``safe-pysha3``); eth-account's EIP-712 encoder, already a dependency, is what is used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from eth_abi.packed import encode_packed
from web3.contract import Contract
from web3.logs import DISCARD

from .errors import RwaError
from .session import Session
from .signers import Signer
from .transactions import Receipt

ZERO = "0x0000000000000000000000000000000000000000"
CALL, DELEGATECALL = 0, 1
ROLE_SAFE_SALT = 0
"""The CREATE2 salt of the Safes that hold roles: the same owners and threshold are the same Safe, whichever roles
it holds (so one Safe holding registrar and compliance makes a wallet recovery one transaction), and a deployment
run again finds it."""

# what deploy_safe_infrastructure deploys: record name -> artifact name (Safe's published build, see compiler)
INFRASTRUCTURE = {
    "SafeSingleton": "SafeL2",
    "SafeProxyFactory": "SafeProxyFactory",
    "SafeFallbackHandler": "CompatibilityFallbackHandler",
    "SafeMultiSend": "MultiSendCallOnly",
}

SAFE_TX_TYPES = {
    "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
    "SafeTx": [
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "data", "type": "bytes"},
        {"name": "operation", "type": "uint8"},
        {"name": "safeTxGas", "type": "uint256"},
        {"name": "baseGas", "type": "uint256"},
        {"name": "gasPrice", "type": "uint256"},
        {"name": "gasToken", "type": "address"},
        {"name": "refundReceiver", "type": "address"},
        {"name": "nonce", "type": "uint256"},
    ],
}
"""Safe 1.4.1's ``SafeTx`` type and its EIP-712 domain (chain id and the Safe's address; no name or version)."""


class SafeError(RwaError):
    """A Safe transaction or signature is not valid; nothing was sent."""


@dataclass(frozen=True)
class SafeInfrastructure:
    singleton: Contract
    factory: Contract
    fallback_handler: Contract
    multisend: Contract


@dataclass(frozen=True)
class SafeTx:
    """One Safe transaction (no refund: gas fields zero, paid by whoever executes)."""

    safe: str
    chain_id: int
    to: str
    data: bytes
    nonce: int
    value: int = 0
    operation: int = CALL
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO
    refund_receiver: str = ZERO

    def typed_data(self) -> dict:
        """The EIP-712 message owners sign."""
        return {
            "types": SAFE_TX_TYPES,
            "primaryType": "SafeTx",
            "domain": {"chainId": self.chain_id, "verifyingContract": to_checksum_address(self.safe)},
            "message": {
                "to": to_checksum_address(self.to), "value": self.value, "data": bytes(self.data),
                "operation": self.operation, "safeTxGas": self.safe_tx_gas, "baseGas": self.base_gas,
                "gasPrice": self.gas_price, "gasToken": to_checksum_address(self.gas_token),
                "refundReceiver": to_checksum_address(self.refund_receiver), "nonce": self.nonce,
            },
        }

    def signable(self) -> SignableMessage:
        return encode_typed_data(full_message=self.typed_data())

    @property
    def hash(self) -> bytes:
        """The Safe transaction hash (EIP-712: keccak256 of the EIP-191 version 1 message eth-account encodes)."""
        m = self.signable()
        return keccak(b"\x19" + m.version + m.header + m.body)


def safe_tx(safe: Contract, to: str, data: bytes, nonce: int | None = None, value: int = 0, operation: int = CALL) -> SafeTx:
    """A Safe transaction for ``safe`` at its current nonce (or ``nonce``)."""
    w3 = safe.w3
    return SafeTx(
        safe=safe.address, chain_id=w3.eth.chain_id, to=to, data=bytes(HexBytes(data)),
        nonce=safe.functions.nonce().call() if nonce is None else nonce, value=value, operation=operation,
    )


def multisend(infra: SafeInfrastructure, safe: Contract, calls: Sequence[tuple[str, bytes]],
              nonce: int | None = None) -> SafeTx:
    """One Safe transaction that makes every call of ``calls`` ((to, data) pairs) in order, all or none: a
    DELEGATECALL into Safe's ``MultiSendCallOnly`` (which allows plain calls only)."""
    if not calls:
        raise SafeError("a batch needs at least one call")
    encoded = [(to_checksum_address(to), bytes(HexBytes(data))) for to, data in calls]
    packed = b"".join(
        encode_packed(["uint8", "address", "uint256", "uint256", "bytes"], [CALL, to, 0, len(data), data])
        for to, data in encoded
    )
    data = infra.multisend.encode_abi("multiSend", args=[packed])
    return safe_tx(safe, infra.multisend.address, data, nonce=nonce, operation=DELEGATECALL)


def sign(signer: Signer, tx: SafeTx) -> bytes:
    """An owner's EIP-712 signature of ``tx`` (65 bytes r ‖ s ‖ v, v 27 or 28), signed locally."""
    return signer.sign_message(tx.signable())


def recover(tx: SafeTx, signature: bytes) -> str:
    """The address that signed ``tx`` with ``signature``."""
    if len(signature) != 65:
        raise SafeError(f"a signature is 65 bytes, not {len(signature)}")
    return Account.recover_message(tx.signable(), signature=signature)


def pack_signatures(tx: SafeTx, signatures: Iterable[bytes], owners: Sequence[str], threshold: int) -> bytes:
    """The ``signatures`` argument of ``execTransaction``: each signature checked (it signed this transaction, its
    signer is an owner, no owner twice, at least ``threshold`` of them), sorted by owner address ascending."""
    owner_set = {o.lower() for o in owners}
    by_owner: dict[str, bytes] = {}
    for sig in signatures:
        who = recover(tx, sig)
        if who.lower() not in owner_set:
            raise SafeError(f"{who} signed, but is no owner of the Safe {tx.safe}")
        if who.lower() in by_owner:
            raise SafeError(f"owner {who} signed twice")
        by_owner[who.lower()] = sig
    if len(by_owner) < threshold:
        raise SafeError(f"{len(by_owner)} of the {threshold} signatures the Safe {tx.safe} needs")
    return b"".join(by_owner[o] for o in sorted(by_owner, key=lambda a: int(a, 16)))


def deploy_safe_infrastructure(session: Session, redeploy: bool = False) -> SafeInfrastructure:
    """Deploy (or reuse) Safe's singleton, proxy factory, fallback handler and MultiSend on this chain."""
    d = session.deployer
    c = {name: d.deploy(name, artifact=artifact, redeploy=redeploy) for name, artifact in INFRASTRUCTURE.items()}
    return SafeInfrastructure(c["SafeSingleton"], c["SafeProxyFactory"], c["SafeFallbackHandler"], c["SafeMultiSend"])


def safe_infrastructure(session: Session, redeploy: bool = False, *, listing_chain_id: int | None = None) -> SafeInfrastructure:
    """Safe's contracts for this chain: on a local chain deployed from Safe's published build (or reused from the
    records); on any other network the canonical deployments of ``@safe-global/safe-deployments``, their code hashes
    checked first (:func:`rwaledger.safe_canonical.check_canonical`; ``listing_chain_id`` checks against another
    chain's listing). Nothing of Safe's is ever deployed on a real network."""
    if session.chain.dev_accounts and listing_chain_id is None:
        return deploy_safe_infrastructure(session, redeploy=redeploy)
    from .safe_canonical import check_canonical

    addresses = check_canonical(session.chain.w3, session.chain.chain_id, listing_chain_id=listing_chain_id)
    w3 = session.chain.w3
    c = {name: w3.eth.contract(address=addresses[name], abi=session.build[artifact].abi)
         for name, artifact in INFRASTRUCTURE.items()}
    return SafeInfrastructure(c["SafeSingleton"], c["SafeProxyFactory"], c["SafeFallbackHandler"], c["SafeMultiSend"])


def create_safe(session: Session, infra: SafeInfrastructure, owners: Sequence[str], threshold: int,
                salt: int = 0) -> Contract:
    """A new Safe (proxy of the singleton) with ``owners`` and ``threshold``, its fallback handler set."""
    owners = [to_checksum_address(o) for o in owners]
    if not 1 <= threshold <= len(owners):
        raise SafeError(f"a threshold of {threshold} needs between 1 and {len(owners)} owners' signatures")
    if len({o.lower() for o in owners}) != len(owners):
        raise SafeError("an owner is listed twice")
    singleton = infra.singleton
    setup = singleton.encode_abi("setup", args=[owners, threshold, ZERO, b"", infra.fallback_handler.address, ZERO, 0, ZERO])
    receipt = session.tx.transact(infra.factory.functions.createProxyWithNonce(singleton.address, setup, salt))
    (log,) = infra.factory.events.ProxyCreation().process_receipt(receipt.raw, errors=DISCARD)
    return session.chain.w3.eth.contract(address=log["args"]["proxy"], abi=singleton.abi)


def parse_safe_spec(text: str, what: str = "safe") -> tuple[list[str], int]:
    """``"0xA,0xB,0xC:2"`` -> (owners, threshold), checked: addresses, no owner twice, 1 <= threshold <= owners."""
    owners_text, sep, threshold_text = text.rpartition(":")
    if not sep or not threshold_text.strip().isdigit():
        raise SafeError(f"{what}: expected OWNER,OWNER,...:THRESHOLD (e.g. 0xA,0xB,0xC:2), got {text!r}")
    owners = []
    for raw in owners_text.split(","):
        raw = raw.strip()
        try:
            owners.append(to_checksum_address(raw))
        except ValueError:
            raise SafeError(f"{what}: {raw!r} is not an address") from None
    threshold = int(threshold_text)
    if len({o.lower() for o in owners}) != len(owners):
        raise SafeError(f"{what}: an owner is listed twice")
    if not 1 <= threshold <= len(owners):
        raise SafeError(f"{what}: a threshold of {threshold} needs between 1 and {len(owners)} owners' signatures")
    return owners, threshold


def predict_safe_address(infra: SafeInfrastructure, initializer: bytes, salt: int) -> str:
    """Where ``createProxyWithNonce(singleton, initializer, salt)`` puts the Safe (EIP-1014 CREATE2 over Safe's
    proxy creation code and salt rule: keccak256(keccak256(initializer) ‖ salt))."""
    factory = infra.factory
    code = bytes(factory.functions.proxyCreationCode().call()) + int(infra.singleton.address, 16).to_bytes(32, "big")
    create_salt = keccak(keccak(initializer) + salt.to_bytes(32, "big"))
    raw = keccak(b"\xff" + bytes.fromhex(factory.address[2:]) + create_salt + keccak(code))
    return to_checksum_address(raw[12:])


def ensure_safe(session: Session, infra: SafeInfrastructure, owners: Sequence[str], threshold: int,
                salt: int = 0) -> tuple[Contract, bool]:
    """The Safe of these owners, threshold and salt: the existing one (same setup, same address) or a new one.
    Returns (safe, created). The owners are set up in ascending order, so their order as given does not matter."""
    owners = sorted((to_checksum_address(o) for o in owners), key=lambda a: int(a, 16))
    singleton = infra.singleton
    initializer = bytes(HexBytes(singleton.encode_abi(
        "setup", args=[owners, threshold, ZERO, b"", infra.fallback_handler.address, ZERO, 0, ZERO])))
    address = predict_safe_address(infra, initializer, salt)
    if session.chain.w3.eth.get_code(address):
        return session.chain.w3.eth.contract(address=address, abi=singleton.abi), False
    created = create_safe(session, infra, owners, threshold, salt)
    if created.address != address:
        raise SafeError(f"the factory created the Safe at {created.address}, not at the predicted {address}")
    return created, True


def execute(session: Session, safe: Contract, tx: SafeTx, signatures: Iterable[bytes]) -> Receipt:
    """Send ``execTransaction`` for ``tx`` with the owners' signatures (checked and ordered first)."""
    owners = safe.functions.getOwners().call()
    threshold = safe.functions.getThreshold().call()
    packed = pack_signatures(tx, signatures, owners, threshold)
    fn = safe.functions.execTransaction(tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas,
                                        tx.gas_price, tx.gas_token, tx.refund_receiver, packed)
    return session.tx.transact(fn)
