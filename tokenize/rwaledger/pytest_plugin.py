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

Ledger databases on SQLite and on a real PostgreSQL:

* ``ledger_backend``: ``"sqlite"`` or ``"postgresql"``; a test that uses it
  (or ``ledger_url`` / ``new_ledger_url``) runs once on each (ids ``sqlite``,
  ``postgresql``; the PostgreSQL variant is marked ``postgresql``, so
  ``-m "not postgresql"`` leaves it out);
* ``ledger_url``: a new empty ledger database of that backend (a file in
  ``tmp_path``, or a new database on the session's server), for
  ``Ledger.open(ledger_url)``; ``new_ledger_url(name)`` makes further ones;
* ``postgres_server``: a throw-away PostgreSQL server (:mod:`rwaledger.pgcluster`)
  started once per session (per xdist worker) under the build directory and
  removed at the end; ``postgres_url``: a new database on it for one test.
  Without the PostgreSQL binaries the PostgreSQL variants are skipped, unless
  ``RWA_REQUIRE_POSTGRES`` is set (CI sets it): then they fail.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import pytest

from .chain import AnvilChain, Chain, TesterChain
from .compiler import CompileResult, compile_project
from .session import Session, open_session
from .signers import Signer

if TYPE_CHECKING:
    from .pgcluster import PgCluster

CHAIN_KINDS = ("tester", "anvil")
LEDGER_BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rwaledger")
    group.addoption(
        "--chain",
        default="tester",
        help="comma-separated chains to run chain tests on: tester (in-process eth-tester), anvil",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chains(*names): run on each named chain (tester, anvil) whatever --chain says")
    config.addinivalue_line("markers", "postgresql: the PostgreSQL variant of a ledger test (a server is started)")
    config._rwa_chains = {}  # type: ignore[attr-defined]


def _requested_chains(config: pytest.Config) -> list[str]:
    names = [n.strip() for n in str(config.getoption("--chain")).split(",") if n.strip()]
    bad = [n for n in names if n not in CHAIN_KINDS]
    if bad:
        raise pytest.UsageError(f"--chain: unknown chain(s) {bad}; choose from {list(CHAIN_KINDS)}")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    _parametrize_ledger_backend(metafunc)
    if "chain_kind" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("chains")
    names = list(marker.args) if marker else _requested_chains(metafunc.config)
    metafunc.parametrize("chain_kind", names, scope="session", ids=[f"on-{n}" for n in names])


def _parametrize_ledger_backend(metafunc: pytest.Metafunc) -> None:
    if "ledger_backend" not in metafunc.fixturenames:
        return
    marks = {"postgresql": [pytest.mark.postgresql]}
    params = [pytest.param(b, id=b, marks=marks.get(b, [])) for b in LEDGER_BACKENDS]
    metafunc.parametrize("ledger_backend", params)


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


# --- ledger databases: SQLite and PostgreSQL ----------------------------------------------------------------------


def _postgres_required() -> bool:
    return os.environ.get("RWA_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator["PgCluster"]:
    """A PostgreSQL server of this session (one per xdist worker), started under the build directory
    (``build/pg-<pid>``) and stopped and removed at the end. Skips (fails with ``RWA_REQUIRE_POSTGRES``) where no
    server can be started."""
    from . import paths
    from .pgcluster import PgCluster, PgUnavailable

    try:
        server = PgCluster.start(Path(paths.BUILD_DIR) / f"pg-{os.getpid()}")
    except PgUnavailable as exc:
        if _postgres_required():
            pytest.fail(f"RWA_REQUIRE_POSTGRES is set and PostgreSQL is unavailable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: "PgCluster") -> Iterator[str]:
    """A new empty database on the session's server for this test (dropped after it); its SQLAlchemy URL."""
    urls = _PostgresDatabases(postgres_server)
    try:
        yield urls.new()
    finally:
        urls.drop_all()


class _PostgresDatabases:
    def __init__(self, server: "PgCluster"):
        self.server, self.names = server, []

    def new(self) -> str:
        name = f"t{os.getpid()}_{next(_DATABASE_NUMBERS)}"
        self.names.append(name)
        return self.server.create_database(name)

    def drop_all(self) -> None:
        for name in self.names:
            self.server.drop_database(name)


@pytest.fixture
def new_ledger_url(request: pytest.FixtureRequest, ledger_backend: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``new_ledger_url(name="ledger")``: a new empty ledger database of this test's backend: a SQLite file
    ``tmp_path/NAME.sqlite``, or a new database on the PostgreSQL server (all dropped after the test)."""
    if ledger_backend == "sqlite":
        yield lambda name="ledger": str(tmp_path / f"{name}.sqlite")
        return
    dbs = _PostgresDatabases(request.getfixturevalue("postgres_server"))
    try:
        yield lambda name="ledger": dbs.new()
    finally:
        dbs.drop_all()


@pytest.fixture
def ledger_url(new_ledger_url: Callable[..., str]) -> str:
    """A new empty ledger database of this test's backend (``ledger_backend``), for ``Ledger.open``."""
    return new_ledger_url()
