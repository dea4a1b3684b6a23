"""Shared test setup. The chain fixtures (`chain`, `rwa`, `accounts`, `isolation`,
`--chain`) come from rwaledger's pytest plugin (rwaledger.pytest_plugin)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="module")
def example_world(chain, rwa_build):
    """The examples deployed for one test module (reverted after it): the Lahore apartment and the Karachi gold
    registered (two lots attested), the example investors added and their allocations minted. A tuple
    ``(session, stack, services, investors, signers)``: ``signers`` maps each investor's wallet to its Signer."""
    from rwaledger.models import AssetSpec, InvestorSpec, MintRequest, load_csv, load_spec
    from rwaledger.services import Services
    from rwaledger.session import open_session
    from rwaledger.signers import Signer
    from rwaledger.stack import deploy_stack

    examples = ROOT / "scripts" / "examples"
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    stack = deploy_stack(session)
    reg = Services(stack)
    for spec in ("lahore-apartment.toml", "karachi-gold.toml"):
        reg.assets.register(load_spec(examples / spec, AssetSpec))
    investors = load_csv(examples / "investors.csv", InvestorSpec)
    reg.investors.add_many(investors)
    reg.issuance.mint_many(load_csv(examples / "allocations.csv", MintRequest))
    keys = {a.address: a for a in chain.dev_accounts}
    yield session, stack, reg, investors, {i.wallet: Signer(keys[i.wallet], i.wallet) for i in investors}
    chain.revert(snapshot)


# batches on anvil journal their signed transactions (rwaledger.journal): keep the test runs' journals out of build/
import os as _os
import tempfile as _tempfile

_os.environ.setdefault("RWA_JOURNAL_DIR", _tempfile.mkdtemp(prefix="rwa-journal-"))
