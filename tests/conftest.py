"""Shared test setup. The chain fixtures (`chain`, `rwa`, `accounts`, `isolation`,
`--chain`) come from rwaledger's pytest plugin (rwaledger.pytest_plugin)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
