"""Safe 1.4.1's canonical deployments (npm @safe-global/safe-deployments): the addresses listed per chain, and the
code-hash check a real network must pass before the stack uses them, on anvil holding the published build at the
canonical addresses (anvil_setCode). Every rule has an accept and a reject test."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak, to_checksum_address

from rwaledger import paths
from rwaledger import safe_canonical as canon
from rwaledger.compiler import precompiled_artifacts
from rwaledger.safe import INFRASTRUCTURE, SafeError

MAINNET, SEPOLIA, ANVIL, ZKSYNC = 1, 11155111, 31337, 324
MAINNET_SAFE_L2 = "0x29fcB43b46531BcA003ddC8FCB67FFE91900C762"
ASSET_FILES = {"SafeL2": "safe_l2", "SafeProxyFactory": "safe_proxy_factory",
               "CompatibilityFallbackHandler": "compatibility_fallback_handler",
               "MultiSendCallOnly": "multi_send_call_only"}


def _json(contract: str) -> dict:
    """The package's asset for a contract, read here independently of the module (from dist/, the module reads src/)."""
    path = paths.NODE_MODULES / "@safe-global/safe-deployments/dist/assets/v1.4.1" / f"{ASSET_FILES[contract]}.json"
    return json.loads(path.read_text())


def _listed(contract: str, chain_id: int) -> dict:
    data = _json(contract)
    kind = data["networkAddresses"][str(chain_id)]
    return data["deployments"][kind if isinstance(kind, str) else kind[0]]


@pytest.fixture(scope="module")
def published():
    """Safe's published build (npm @safe-global/safe-contracts 1.4.1), as the compiler loads it."""
    return precompiled_artifacts(paths.ROOT)


def test_the_pinned_package_is_the_installed_one():
    pinned = json.loads((paths.ROOT / "package.json").read_text())["dependencies"][canon.PACKAGE]
    assert canon.package_version() == pinned


@pytest.mark.parametrize("chain_id", [MAINNET, SEPOLIA])
def test_the_addresses_are_the_packages(chain_id):
    addresses = canon.canonical_addresses(chain_id)
    assert list(addresses) == list(INFRASTRUCTURE)
    for name, contract in INFRASTRUCTURE.items():
        assert addresses[name] == to_checksum_address(_listed(contract, chain_id)["address"])
    assert addresses["SafeSingleton"] == MAINNET_SAFE_L2  # Safe's documented address for SafeL2 1.4.1


def test_a_chain_with_two_deployment_types_takes_the_first_unless_asked():
    first = canon.canonical_deployments(ZKSYNC)
    assert {d.deployment_type for d in first.values()} == {_json("SafeL2")["networkAddresses"][str(ZKSYNC)][0]}
    asked = canon.canonical_deployments(ZKSYNC, deployment_type="canonical")
    assert asked["SafeSingleton"].address == MAINNET_SAFE_L2
    with pytest.raises(canon.NotListed, match=f"SafeL2 1.4.1 .*chain id {ZKSYNC} as .*not as 'eip155'"):
        canon.canonical_deployments(ZKSYNC, deployment_type="eip155")


def test_an_unlisted_chain_is_a_clear_error():
    assert str(ANVIL) not in _json("SafeL2")["networkAddresses"]
    with pytest.raises(canon.NotListed, match=f"lists no SafeL2 1.4.1 \\(SafeSingleton\\) for chain id {ANVIL}"):
        canon.canonical_addresses(ANVIL)
    assert issubclass(canon.NotListed, SafeError)


def test_the_published_build_is_the_canonical_code(published):
    """The finding the module states: the npm build's deployed bytecode hashes to the listed canonical codeHash."""
    for contract in INFRASTRUCTURE.values():
        code = bytes.fromhex(published[contract].deployed_bytecode.removeprefix("0x"))
        assert "0x" + keccak(code).hex() == _json(contract)["deployments"]["canonical"]["codeHash"]


# --- on anvil ---------------------------------------------------------------------------------------------------


def _set_code(w3, address: str, code: str) -> None:
    w3.provider.make_request("anvil_setCode", [address, code])


@pytest.fixture
def mainnet_on_anvil(chain, published, isolation):
    """anvil holding the published build at mainnet's canonical addresses."""
    w3 = chain.w3
    for name, address in canon.canonical_addresses(MAINNET).items():
        _set_code(w3, address, published[INFRASTRUCTURE[name]].deployed_bytecode)
    return w3


@pytest.mark.chains("anvil")
def test_the_check_passes_on_the_published_code(mainnet_on_anvil):
    w3 = mainnet_on_anvil
    assert w3.eth.chain_id == ANVIL
    assert canon.check_canonical(w3, ANVIL, listing_chain_id=MAINNET) == canon.canonical_addresses(MAINNET)


@pytest.mark.chains("anvil")
def test_the_check_refuses_an_address_without_code(mainnet_on_anvil):
    w3 = mainnet_on_anvil
    address = canon.canonical_addresses(MAINNET)["SafeFallbackHandler"]
    _set_code(w3, address, "0x")
    expected = _json("CompatibilityFallbackHandler")["deployments"]["canonical"]["codeHash"]
    with pytest.raises(SafeError, match=f"SafeFallbackHandler .*no code at {address} on chain id {ANVIL} "
                                        f".*chain id {MAINNET}'s listing.*expected code hash {expected}, "
                                        f"found 0x{keccak(b'').hex()}"):
        canon.check_canonical(w3, ANVIL, listing_chain_id=MAINNET)


@pytest.mark.chains("anvil")
def test_the_check_refuses_other_code(mainnet_on_anvil, published):
    w3 = mainnet_on_anvil
    address = canon.canonical_addresses(MAINNET)["SafeProxyFactory"]
    other = published["MultiSendCallOnly"].deployed_bytecode
    _set_code(w3, address, other)
    expected = _json("SafeProxyFactory")["deployments"]["canonical"]["codeHash"]
    found = "0x" + keccak(bytes.fromhex(other.removeprefix("0x"))).hex()
    with pytest.raises(SafeError, match=f"SafeProxyFactory .*other code at {address} on chain id {ANVIL}.*"
                                        f"expected code hash {expected}, found {found}"):
        canon.check_canonical(w3, ANVIL, listing_chain_id=MAINNET)


@pytest.mark.chains("anvil")
def test_the_check_refuses_a_node_on_another_chain(mainnet_on_anvil):
    with pytest.raises(SafeError, match=f"node is on chain id {ANVIL}, not on chain id {MAINNET}"):
        canon.check_canonical(mainnet_on_anvil, MAINNET)


@pytest.mark.chains("anvil")
def test_the_check_refuses_an_unlisted_chain(mainnet_on_anvil):
    with pytest.raises(canon.NotListed, match=f"for chain id {ANVIL}"):
        canon.check_canonical(mainnet_on_anvil, ANVIL)


@pytest.mark.chains("anvil")
def test_roles_go_to_a_safe_made_from_the_canonical_deployments(mainnet_on_anvil, chain, rwa_build):
    """On a network (here anvil holding mainnet's deployments), a role Safe is a proxy of the canonical singleton,
    made by the canonical factory: nothing of Safe's is deployed."""
    from rwaledger.roles import deploy_with_roles, parse_holder
    from rwaledger.session import open_session

    session = open_session(chain=chain, build=rwa_build, record=False)
    owners = ",".join(a.address for a in chain.dev_accounts[1:4]) + ":2"
    stack, held = deploy_with_roles(session, {"registrar": parse_holder("registrar", owners, "test")},
                                    listing_chain_id=MAINNET)
    listed = canon.canonical_addresses(MAINNET)
    assert session.deployer.store.get("SafeSingleton") is None  # nothing of Safe's was deployed or recorded
    vault = chain.w3.eth.contract(address=held["registrar"], abi=rwa_build["SafeL2"].abi)
    slot0 = chain.w3.eth.get_storage_at(vault.address, 0)  # a Safe proxy keeps its singleton in slot 0
    assert to_checksum_address(slot0[-20:]) == listed["SafeSingleton"]
    assert vault.functions.getThreshold().call() == 2 and stack.has_role("registrar", vault.address)
