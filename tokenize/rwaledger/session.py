"""A ready-to-use bundle: a chain, compiled contracts, a signer, a transactor and a deployer.

Scripts, the CLI and the pytest fixtures all start from :func:`open_session`
so they wire the pieces the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import paths
from .chain import Chain, connect
from .compiler import CompileResult
from .shipped import default_build
from .deployments import Deployer, DeploymentStore
from .reverts import RevertDecoder
from .signers import Signer, default_signer
from .transactions import Transactor


@dataclass
class Session:
    chain: Chain
    build: CompileResult
    signer: Signer
    tx: Transactor
    deployer: Deployer
    decoder: RevertDecoder

    def transactor(self, signer: Signer) -> Transactor:
        """Another signer's transactor on the same chain with the same error table."""
        return Transactor(self.chain, signer, self.decoder)

    def close(self) -> None:
        self.chain.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(
    network: str = "tester",
    *,
    chain: Chain | None = None,
    build: CompileResult | None = None,
    signer: Signer | None = None,
    keystore: str | Path | None = None,
    record: bool | None = None,
    deployments_dir: Path = paths.DEPLOYMENTS_DIR,
    log=None,
) -> Session:
    """Connect, compile (from cache when unchanged) and set up signing and deployment records.

    ``record`` decides whether deployments are written under ``deployments/``;
    by default they are, except on the in-process tester chain.
    """
    chain = chain or connect(network)
    build = build or default_build()
    signer = signer or default_signer(chain, keystore=keystore)
    decoder = RevertDecoder(build.abis)
    tx = Transactor(chain, signer, decoder)
    if record is None:
        record = chain.kind != "tester"
    store = DeploymentStore(chain.name, deployments_dir if record else None)
    return Session(chain, build, signer, tx, Deployer(tx, build, store, log=log), decoder)
