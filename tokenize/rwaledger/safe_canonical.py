"""Safe 1.4.1's canonical deployments on real networks, read from npm ``@safe-global/safe-deployments`` and checked.

On a real network the stack never deploys Safe contracts of its own: it uses the addresses Safe lists for the chain
in ``@safe-global/safe-deployments`` (pinned by ``package-lock.json``; its JSON assets under
``src/assets/v1.4.1/``, the same data its ``dist/assets/``) and checks, before anything is sent, that the code at
each address hashes (keccak256) to the ``codeHash`` the package lists.

How the package lays it out, per contract (``safe_l2.json`` ...): ``deployments`` maps a deployment type
(``"canonical"``, ``"eip155"``, ``"zksync"``; 1.4.1 has ``canonical`` and ``zksync``) to ``{address, codeHash}``;
``networkAddresses`` maps a chain id (a decimal string) to one type or a list of types (e.g. ``["zksync",
"canonical"]`` on zkSync chains). As the package's own accessors do, the first listed type is the chain's
deployment unless ``deployment_type`` picks another listed one.

What was found (safe-deployments 1.37.63 against npm ``@safe-global/safe-contracts`` 1.4.1, the build
:data:`rwaledger.compiler.PRECOMPILED` loads): for all four contracts (SafeL2, SafeProxyFactory,
CompatibilityFallbackHandler, MultiSendCallOnly) keccak256 of the published artifact's ``deployedBytecode`` is
exactly the ``canonical`` ``codeHash``, byte for byte including the CBOR metadata (solc 0.7.6, ipfs hash); none of
the four has immutables or link references, so the code a local chain runs is the code on mainnet. The ``zksync``
hashes are of zkEVM bytecode and match nothing in that build. A test pins this finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak, to_checksum_address

from . import paths
from .safe import SafeError

SAFE_VERSION = "1.4.1"
PACKAGE = "@safe-global/safe-deployments"

# record name (as in safe.INFRASTRUCTURE) -> the package's asset file for it
ASSETS = {
    "SafeSingleton": "safe_l2",
    "SafeProxyFactory": "safe_proxy_factory",
    "SafeFallbackHandler": "compatibility_fallback_handler",
    "SafeMultiSend": "multi_send_call_only",
}


class NotListed(SafeError):
    """The package lists no canonical deployment of a Safe contract for a chain (or not of the type asked)."""


@dataclass(frozen=True)
class CanonicalDeployment:
    """One contract's listed deployment on one chain."""

    name: str  # record name, as in safe.INFRASTRUCTURE
    contract: str  # the package's contractName (e.g. SafeL2)
    chain_id: int
    deployment_type: str  # canonical | eip155 | zksync
    address: str  # checksum address
    code_hash: str  # 0x-hex keccak256 of the runtime code


def package_dir() -> Path:
    return paths.NODE_MODULES / "@safe-global" / "safe-deployments"


def package_version() -> str:
    """The installed safe-deployments version (from its package.json)."""
    try:
        return json.loads((package_dir() / "package.json").read_text())["version"]
    except FileNotFoundError:
        raise SafeError(f"npm {PACKAGE} is not installed under {paths.NODE_MODULES} (run npm ci)") from None


def _asset(name: str) -> dict:
    path = package_dir() / "src" / "assets" / f"v{SAFE_VERSION}" / f"{ASSETS[name]}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SafeError(f"{name}: {path} not found; is npm {PACKAGE} installed (npm ci)?") from None
    if data.get("version") != SAFE_VERSION or not data.get("released"):
        raise SafeError(f"{name}: {path} is not a released Safe {SAFE_VERSION} deployment")
    return data


def canonical_deployments(chain_id: int, deployment_type: str | None = None) -> dict[str, CanonicalDeployment]:
    """The listed Safe 1.4.1 deployment of each of the four contracts on ``chain_id`` (record name -> deployment).

    ``deployment_type`` picks one of the types the chain lists; by default the first listed. Raises
    :class:`NotListed` (a :class:`~rwaledger.safe.SafeError`) naming the chain id and the contract if the package
    lists none (or not that type)."""
    out: dict[str, CanonicalDeployment] = {}
    for name in ASSETS:
        data = _asset(name)
        contract = data["contractName"]
        listed = data["networkAddresses"].get(str(int(chain_id)))
        if listed is None:
            raise NotListed(f"{PACKAGE} {package_version()} lists no {contract} {SAFE_VERSION} ({name}) "
                            f"for chain id {chain_id}")
        types = [listed] if isinstance(listed, str) else list(listed)
        chosen = deployment_type or types[0]
        if chosen not in types:
            raise NotListed(f"{PACKAGE} {package_version()} lists {contract} {SAFE_VERSION} ({name}) for chain id "
                            f"{chain_id} as {types}, not as {deployment_type!r}")
        entry = data["deployments"][chosen]
        out[name] = CanonicalDeployment(name=name, contract=contract, chain_id=int(chain_id), deployment_type=chosen,
                                        address=to_checksum_address(entry["address"]),
                                        code_hash=entry["codeHash"].lower())
    return out


def canonical_addresses(chain_id: int, deployment_type: str | None = None) -> dict[str, str]:
    """Record name -> checksum address of the four Safe 1.4.1 contracts listed for ``chain_id``."""
    return {name: d.address for name, d in canonical_deployments(chain_id, deployment_type).items()}


def check_canonical(w3, chain_id: int, *, listing_chain_id: int | None = None,
                    deployment_type: str | None = None) -> dict[str, str]:
    """Check that the node ``w3`` (on chain ``chain_id``) runs the listed Safe 1.4.1 code at each listed address and
    return record name -> checksum address. Read-only: nothing is sent.

    ``listing_chain_id`` checks against another chain's listing (default ``chain_id``), e.g. a local chain made to
    hold mainnet's deployments. Raises :class:`~rwaledger.safe.SafeError` if the node is on another chain than
    ``chain_id``, or an address has no code or other code (naming contract, address, chain ids and both hashes);
    :class:`NotListed` if the listing chain is not listed."""
    connected = w3.eth.chain_id
    if connected != chain_id:
        raise SafeError(f"the node is on chain id {connected}, not on chain id {chain_id}")
    listing = chain_id if listing_chain_id is None else listing_chain_id
    where = f"chain id {chain_id}" + ("" if listing == chain_id else f" (checked against chain id {listing}'s listing)")
    out: dict[str, str] = {}
    for name, d in canonical_deployments(listing, deployment_type).items():
        code = bytes(w3.eth.get_code(d.address))
        found = "0x" + keccak(code).hex()
        if not code:
            raise SafeError(f"{name} ({d.contract} {SAFE_VERSION}, {d.deployment_type}): no code at {d.address} on "
                            f"{where}; expected code hash {d.code_hash}, found {found} (empty)")
        if found != d.code_hash:
            raise SafeError(f"{name} ({d.contract} {SAFE_VERSION}, {d.deployment_type}): other code at {d.address} "
                            f"on {where}; expected code hash {d.code_hash}, found {found}")
        out[name] = d.address
    return out
