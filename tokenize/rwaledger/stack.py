"""The deployed contract stack: deploy it once per network, load it afterwards.

Deployment order (each step reuses its record when the bytecode is unchanged):

1. ``RWAAccess(admin)`` - the shared role authority;
2. ``IdentityRegistry(access)``;
3. ``AssetRegistry(access)``;
4. ``CompliantTokenModule(identity, access, registry)`` - the part of every token its implementation delegates to
   (rules, freezes, liens, ERC-3643 batch calls, views), then the implementations ``PropertyShareToken`` and
   ``CommodityToken(identity, access, registry, module)``;
5. ``TokenFactory(access, registry, propertyImpl, commodityImpl)``, then ``registry.setFactory``;
6. ``DistributionManager(access)``.

Roles are granted as asked (by default the deployer gets registrar, compliance
and custodian: right for a dev chain; split them on a real network).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable

from web3 import Web3
from web3.contract import Contract

from .constants import ADMIN_ROLE, COMPLIANCE_ROLE, CUSTODIAN_ROLE, GUARDIAN_ROLE, REGISTRAR_ROLE, ROLES  # noqa: F401 (re-exported)
from .errors import DeploymentError
from .session import Session

CORE = ("RWAAccess", "IdentityRegistry", "AssetRegistry", "CompliantTokenModule", "PropertyShareToken", "CommodityToken",
        "TokenFactory", "DistributionManager")


@dataclass
class Stack:
    """Bound contracts of one deployed stack."""

    session: Session
    access: Contract
    identity: Contract
    registry: Contract
    token_module: Contract
    property_impl: Contract
    commodity_impl: Contract
    factory: Contract
    distributions: Contract
    _tokens: dict[str, Contract] = field(default_factory=dict)

    @property
    def w3(self) -> Web3:
        return self.session.chain.w3

    def addresses(self) -> dict[str, str]:
        return {
            "RWAAccess": self.access.address,
            "IdentityRegistry": self.identity.address,
            "AssetRegistry": self.registry.address,
            "CompliantTokenModule": self.token_module.address,
            "TokenFactory": self.factory.address,
            "DistributionManager": self.distributions.address,
        }

    def token(self, address: str, kind: str | None = None) -> Contract:
        """The token at ``address`` bound to its ABI (property or commodity; looked up in the registry if not given).

        Bindings are cached per (address, kind): after a snapshot revert another kind of token can take the
        same address, so the kind is part of the key, and it is read from the registry when not given.
        """
        address = Web3.to_checksum_address(address)
        if kind is None:
            asset_id = self.w3.eth.contract(address=address, abi=self.property_impl.abi).functions.assetId().call()
            kind = "commodity" if self.registry.functions.asset(asset_id).call()[1] == 1 else "property"
        key = f"{address}:{kind}"
        if key not in self._tokens:
            abi = self.commodity_impl.abi if kind == "commodity" else self.property_impl.abi
            self._tokens[key] = self.w3.eth.contract(address=address, abi=abi)
        return self._tokens[key]

    def with_session(self, session: Session) -> "Stack":
        """The same contracts, used by another session (another signer on the same chain)."""
        return dataclasses.replace(self, session=session, _tokens={})

    def has_role(self, role: str, account: str) -> bool:
        return bool(self.access.functions.hasRole(ROLES[role], account).call())


def deploy_stack(
    session: Session,
    *,
    redeploy: bool = False,
    roles: dict[str, Iterable[str]] | None = None,
    exclusive: Iterable[str] = (),
) -> Stack:
    """Deploy (or reuse) every contract of the stack and grant roles; idempotent. Roles named in ``exclusive`` are
    revoked from the deployer when it is not among their holders (a role moved to a Safe)."""
    d = session.deployer
    admin = session.signer.address
    access = d.deploy("RWAAccess", admin, redeploy=redeploy)
    identity = d.deploy("IdentityRegistry", access.address, redeploy=redeploy)
    registry = d.deploy("AssetRegistry", access.address, redeploy=redeploy)
    impl_args = (identity.address, access.address, registry.address)
    module = d.deploy("CompliantTokenModule", *impl_args, redeploy=redeploy)
    prop = d.deploy("PropertyShareToken", *impl_args, module.address, redeploy=redeploy)
    comm = d.deploy("CommodityToken", *impl_args, module.address, redeploy=redeploy)
    factory = d.deploy("TokenFactory", access.address, registry.address, prop.address, comm.address, redeploy=redeploy)
    distributions = d.deploy("DistributionManager", access.address, redeploy=redeploy)

    tx = session.tx
    if registry.functions.factory().call() != factory.address:
        tx.transact(registry.functions.setFactory(factory.address))
    wanted = roles if roles is not None else {"registrar": [admin], "compliance": [admin], "custodian": [admin]}
    wanted = {role: [Web3.to_checksum_address(a) for a in accounts] for role, accounts in wanted.items()}
    for role, accounts in wanted.items():
        for account in accounts:
            if not access.functions.hasRole(ROLES[role], account).call():
                tx.transact(access.functions.grantRole(ROLES[role], Web3.to_checksum_address(account)))
    for role in exclusive:  # held by a Safe now: the deployer's own key must not keep it
        if admin not in wanted.get(role, []) and access.functions.hasRole(ROLES[role], admin).call():
            tx.transact(access.functions.revokeRole(ROLES[role], admin))
    return Stack(session, access, identity, registry, module, prop, comm, factory, distributions)


def _codes(session: Session, addresses: list[str]) -> list[bytes]:
    """The code at each address, in one JSON-RPC batch (:func:`rwaledger.rpc.batch`: a command's start-up cost)."""
    from . import rpc

    found = rpc.batch(session.chain, [("eth_getCode", [a, "latest"]) for a in addresses], what="reading the stack's code")
    return [bytes(c) if isinstance(c, (bytes, bytearray)) else bytes.fromhex(str(c).removeprefix("0x")) for c in found]


def load_stack(session: Session) -> Stack:
    """The stack recorded for this network (``rwa deploy`` first)."""
    d = session.deployer
    try:
        contracts = [d.contract(name) for name in CORE]
    except DeploymentError as exc:
        raise DeploymentError(f"{exc}; run `rwa deploy --network {session.chain.name}` first") from None
    for name, c, code in zip(CORE, contracts, _codes(session, [c.address for c in contracts])):
        if not code:
            raise DeploymentError(
                f"{name} is recorded at {c.address} but has no code on {session.chain.name} (was the node reset?); "
                "run `rwa deploy` again"
            )
    access, identity, registry, module, prop, comm, factory, distributions = contracts
    return Stack(session, access, identity, registry, module, prop, comm, factory, distributions)
