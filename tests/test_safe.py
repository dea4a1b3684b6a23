"""Safe 1.4.1 multisig accounts holding the stack's roles (four-eyes control), on both local chains.

The Safe contracts are Safe's published build (npm @safe-global/safe-contracts 1.4.1); the transaction hash is
eth-account's EIP-712 encoding, checked against the Safe's own getTransactionHash. With a 2-of-3 registrar Safe: one
signature cannot execute and leaves the chain unchanged; two execute; a non-owner's signature, one owner twice, a
signature over other data, a replay and an out-of-order nonce are refused; and the registrar's single key can no
longer mint once the role moved to the Safe.
"""

from __future__ import annotations

import pytest

from web3.logs import DISCARD

from rwaledger import safe as safes
from rwaledger.constants import REGISTRAR_ROLE
from rwaledger.errors import CustomErrorRevert, ReasonRevert
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

pytestmark = pytest.mark.chains("tester", "anvil")

PK = 586


@pytest.fixture(scope="module")
def env(chain, rwa_build):
    """A stack whose registrar role is held by a 2-of-3 Safe of dev accounts 1..3 (the deployer keeps compliance),
    a verified investor, and an Active property token."""
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    keys = chain.dev_accounts
    owners = [Signer(keys[i], f"owner {i}") for i in (1, 2, 3)]
    stranger = Signer(keys[4], "stranger")
    infra = safes.deploy_safe_infrastructure(session)
    vault = safes.create_safe(session, infra, [o.address for o in owners], 2)
    stack = deploy_stack(session, roles={"registrar": [vault.address], "compliance": [session.signer.address]})
    investor = keys[5].address
    session.tx.transact(stack.identity.functions.registerIdentity(investor, PK, chain.timestamp() + 10**8, 1))
    yield session, stack, infra, vault, owners, stranger, investor
    chain.revert(snapshot)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def _create_token_tx(session, stack, vault, symbol="SAFE1", nonce=None):
    """A Safe transaction that creates a property token (a registrar act)."""
    params = (b"PK", f"SAFE/REF/{symbol}", "", "ipfs://safe", 0, b"\0\0\0", 0)
    data = stack.factory.encode_abi("createPropertyToken", args=[params, ("Safe test", symbol, 0, 1_000, PK)])
    return safes.safe_tx(vault, stack.factory.address, data, nonce=nonce)


def test_the_safe_is_safes_published_build_with_its_owners(env):
    session, stack, infra, vault, owners, _, _ = env
    assert vault.functions.VERSION().call() == "1.4.1"
    assert sorted(vault.functions.getOwners().call()) == sorted(o.address for o in owners)
    assert vault.functions.getThreshold().call() == 2
    assert stack.access.functions.hasRole(REGISTRAR_ROLE, vault.address).call()
    assert not stack.access.functions.hasRole(REGISTRAR_ROLE, session.signer.address).call()
    build = session.build["SafeL2"]
    assert build.source.startswith("node_modules/@safe-global/safe-contracts/build/artifacts/")
    assert session.chain.w3.eth.get_code(infra.singleton.address) == bytes.fromhex(build.deployed_bytecode[2:])


def test_the_eip712_hash_is_the_safes_own(env):
    session, stack, _, vault, _, _, _ = env
    tx = _create_token_tx(session, stack, vault)
    ours = tx.hash
    theirs = vault.functions.getTransactionHash(tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas,
                                                tx.gas_price, tx.gas_token, tx.refund_receiver, tx.nonce).call()
    assert ours == bytes(theirs)


def test_one_signature_cannot_execute_and_two_do(env):
    session, stack, _, vault, owners, _, _ = env
    tx = _create_token_tx(session, stack, vault)
    one = [safes.sign(owners[0], tx)]
    with pytest.raises(safes.SafeError, match="1 of the 2 signatures"):
        safes.execute(session, vault, tx, one)
    block, count = session.chain.w3.eth.block_number, stack.registry.functions.nextAssetId().call()
    # and the Safe itself refuses it (GS020: signatures too short) when sent anyway
    fn = vault.functions.execTransaction(tx.to, 0, tx.data, 0, 0, 0, 0, safes.ZERO, safes.ZERO, one[0])
    with pytest.raises(ReasonRevert, match="GS020"):
        session.tx.transact(fn)
    assert stack.registry.functions.nextAssetId().call() == count and vault.functions.nonce().call() == 0
    assert session.chain.w3.eth.block_number == block
    receipt = safes.execute(session, vault, tx, [safes.sign(owners[2], tx), safes.sign(owners[0], tx)])
    assert vault.events.ExecutionSuccess().process_receipt(receipt.raw, errors=DISCARD)[0]["args"]["txHash"] == tx.hash
    assert stack.registry.functions.nextAssetId().call() == count + 1 and vault.functions.nonce().call() == 1


def test_signatures_the_safe_refuses(env):
    session, stack, _, vault, owners, stranger, _ = env
    tx = _create_token_tx(session, stack, vault)
    good = safes.sign(owners[0], tx)
    with pytest.raises(safes.SafeError, match="is no owner"):
        safes.execute(session, vault, tx, [good, safes.sign(stranger, tx)])
    with pytest.raises(safes.SafeError, match="signed twice"):
        safes.execute(session, vault, tx, [good, good])
    other = _create_token_tx(session, stack, vault, symbol="SAFE2")  # different data: another hash
    with pytest.raises(safes.SafeError, match="is no owner"):
        safes.execute(session, vault, tx, [good, safes.sign(owners[1], other)])
    ahead = _create_token_tx(session, stack, vault, nonce=1)  # out-of-order nonce: not the Safe's next
    signed_ahead = [safes.sign(owners[0], ahead), safes.sign(owners[1], ahead)]
    packed = safes.pack_signatures(ahead, signed_ahead, [o.address for o in owners], 2)
    fn = vault.functions.execTransaction(ahead.to, 0, ahead.data, 0, 0, 0, 0, safes.ZERO, safes.ZERO, packed)
    with pytest.raises(ReasonRevert, match="GS026"):  # the Safe hashes with its own nonce: the signers are not owners
        session.tx.transact(fn)
    assert vault.functions.nonce().call() == 0


def test_an_executed_transaction_cannot_be_replayed(env):
    session, stack, _, vault, owners, _, _ = env
    tx = _create_token_tx(session, stack, vault, symbol="SAFE3")
    sigs = [safes.sign(owners[0], tx), safes.sign(owners[1], tx)]
    safes.execute(session, vault, tx, sigs)
    packed = safes.pack_signatures(tx, sigs, [o.address for o in owners], 2)
    fn = vault.functions.execTransaction(tx.to, 0, tx.data, 0, 0, 0, 0, safes.ZERO, safes.ZERO, packed)
    with pytest.raises(ReasonRevert, match="GS026"):  # nonce 0 was used: the hash the Safe computes differs
        session.tx.transact(fn)
    assert vault.functions.nonce().call() == 1


def test_the_registrar_key_alone_can_no_longer_act(env):
    session, stack, _, vault, _, _, _ = env
    params = (b"PK", "SAFE/REF/DIRECT", "", "ipfs://safe", 0, b"\0\0\0", 0)
    with pytest.raises(CustomErrorRevert) as info:
        session.tx.transact(stack.factory.functions.createPropertyToken(params, ("Direct", "DIRECT", 0, 1_000, PK)))
    assert info.value.name == "AccessControlUnauthorizedAccount"


def test_a_safe_needs_a_sane_threshold(env):
    session, _, infra, _, owners, _, _ = env
    addresses = [o.address for o in owners]
    for threshold in (0, 4):
        with pytest.raises(safes.SafeError, match="threshold"):
            safes.create_safe(session, infra, addresses, threshold)
    with pytest.raises(safes.SafeError, match="twice"):
        safes.create_safe(session, infra, addresses[:1] * 2, 1)


def test_a_registrar_act_and_a_multisend_batch_through_the_safe(env):
    """The Safe creates a token, then activates it and mints to two investors in ONE Safe transaction (MultiSend);
    a batch with one refused mint executes nothing."""
    session, stack, infra, vault, owners, _, investor = env
    two = lambda t: [safes.sign(owners[0], t), safes.sign(owners[1], t)]  # noqa: E731
    create = _create_token_tx(session, stack, vault, symbol="SAFE4")
    receipt = safes.execute(session, vault, create, two(create))
    (ev,) = stack.factory.events.PropertyTokenCreated().process_receipt(receipt.raw, errors=DISCARD)
    asset, token = ev["args"]["assetId"], stack.token(ev["args"]["token"], "property")
    second = session.chain.dev_accounts[6].address
    session.tx.transact(stack.identity.functions.registerIdentity(second, PK, session.chain.timestamp() + 10**8, 1))
    activate = (stack.registry.address, stack.registry.encode_abi("setStatus", args=[asset, 1]))
    mint = lambda to, n, ref: (token.address, token.encode_abi("mint", args=[to, n, ref.encode().ljust(32, b"\0")]))  # noqa: E731
    bad = safes.multisend(infra, vault, [activate, mint(investor, 10, "a-1"), mint(session.signer.address, 5, "a-2")])
    with pytest.raises(ReasonRevert, match="GS013"):  # the deployer is no investor: the whole batch fails
        safes.execute(session, vault, bad, two(bad))
    assert stack.registry.functions.statusOf(asset).call() == 0 and token.functions.totalSupply().call() == 0
    batch = safes.multisend(infra, vault, [activate, mint(investor, 10, "a-1"), mint(second, 5, "a-2")])
    safes.execute(session, vault, batch, two(batch))
    assert stack.registry.functions.statusOf(asset).call() == 1
    assert (token.functions.balanceOf(investor).call(), token.functions.balanceOf(second).call()) == (10, 5)


@pytest.mark.parametrize("text, error", [
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "expected OWNER,OWNER"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8:x", "expected OWNER,OWNER"),
    ("0x7099:1", "is not an address"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8,0x70997970c51812dc3a010c7d01b50e0d17dc79c8:1", "listed twice"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8:2", "threshold of 2"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8:0", "threshold of 0"),
])
def test_a_bad_safe_spec_is_refused_before_anything_is_sent(text, error):
    with pytest.raises(safes.SafeError, match=error):
        safes.parse_safe_spec(text, "--registrar-safe")


def test_a_safe_spec_finds_its_safe_again_and_moves_the_role_off_the_deployer(env):
    session, stack, infra, vault, owners, stranger, _ = env
    spec = ",".join(o.address for o in (owners[2], owners[0], stranger)) + ":2"
    found, threshold = safes.parse_safe_spec(spec)
    custodian, created = safes.ensure_safe(session, infra, found, threshold, salt=safes.ROLE_SAFE_SALT)
    again, created_again = safes.ensure_safe(session, infra, found, threshold, salt=safes.ROLE_SAFE_SALT)
    assert created and not created_again and again.address == custodian.address
    assert custodian.functions.getThreshold().call() == 2
    CUSTODIAN = stack.access.functions.CUSTODIAN_ROLE().call()
    session.tx.transact(stack.access.functions.grantRole(CUSTODIAN, session.signer.address))
    deploy_stack(session, roles={"registrar": [vault.address], "compliance": [session.signer.address],
                                 "custodian": [custodian.address]}, exclusive=["registrar", "custodian"])
    assert stack.access.functions.hasRole(CUSTODIAN, custodian.address).call()
    assert not stack.access.functions.hasRole(CUSTODIAN, session.signer.address).call()
