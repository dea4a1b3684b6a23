"""pytest fixtures for rwaledger and for users' own contract tests.

Installed as a pytest plugin (entry point ``pytest11``), so any test suite in
an environment with rwaledger gets:

* ``--chain tester,anvil``: the chains tests run on (default ``tester``); a
  test marked ``@pytest.mark.chains("tester", "anvil")`` runs on those whatever
  the option says;
* ``chain``: the connected chain (one per session per kind; anvil is started
  and stopped by the plugin);
* ``rwa_build``: the compiled artifacts (cached);
* ``rwa``: a :class:`~rwaledger.session.Session` (transactor, deployer with
  in-memory records, revert decoder) on ``chain``;
* ``accounts``: the funded dev accounts as :class:`~rwaledger.signers.Signer`;
* ``isolation``: snapshot before the test, revert after. Deploy shared
  contracts in session/module fixtures (they run before it) and make
  ``isolation`` autouse to give every test a clean copy without redeploying.
"""

from __future__ import annotations

import pytest

from .chain import AnvilChain, Chain, TesterChain
from .compiler import CompileResult, compile_project
from .session import Session, open_session
from .signers import Signer

CHAIN_KINDS = ("tester", "anvil")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rwaledger")
    group.addoption(
        "--chain",
        default="tester",
        help="comma-separated chains to run chain tests on: tester (in-process eth-tester), anvil",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chains(*names): run on each named chain (tester, anvil) whatever --chain says")
    config._rwa_chains = {}  # type: ignore[attr-defined]


def _requested_chains(config: pytest.Config) -> list[str]:
    names = [n.strip() for n in str(config.getoption("--chain")).split(",") if n.strip()]
    bad = [n for n in names if n not in CHAIN_KINDS]
    if bad:
        raise pytest.UsageError(f"--chain: unknown chain(s) {bad}; choose from {list(CHAIN_KINDS)}")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chain_kind" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("chains")
    names = list(marker.args) if marker else _requested_chains(metafunc.config)
    metafunc.parametrize("chain_kind", names, scope="session", ids=[f"on-{n}" for n in names])


def _open_chain(kind: str) -> Chain:
    return TesterChain() if kind == "tester" else AnvilChain.start()


@pytest.fixture(scope="session")
def chain(request: pytest.FixtureRequest, chain_kind: str) -> Chain:
    """The chain of this test's ``chain_kind``; one per kind per session."""
    cache: dict[str, Chain] = request.config._rwa_chains  # type: ignore[attr-defined]
    if chain_kind not in cache:
        cache[chain_kind] = _open_chain(chain_kind)
    return cache[chain_kind]


def pytest_unconfigure(config: pytest.Config) -> None:
    for chain in getattr(config, "_rwa_chains", {}).values():
        chain.close()


@pytest.fixture(scope="session")
def rwa_build() -> CompileResult:
    """All contracts under ``contracts/``, compiled once (from cache when unchanged)."""
    return compile_project()


@pytest.fixture(scope="session")
def rwa(chain: Chain, rwa_build: CompileResult) -> Session:
    """A session on ``chain`` signing with dev account 0; deployment records stay in memory."""
    return open_session(chain=chain, build=rwa_build, record=False)


@pytest.fixture(scope="session")
def accounts(chain: Chain) -> list[Signer]:
    """The chain's funded dev accounts, as signers."""
    return [Signer(a, f"dev account {i}") for i, a in enumerate(chain.dev_accounts)]


@pytest.fixture
def isolation(chain: Chain):
    """Run the test inside a snapshot and revert the chain afterwards."""
    snapshot = chain.snapshot()
    yield
    chain.revert(snapshot)
