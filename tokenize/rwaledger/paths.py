"""Where the project's files live.

``tokenize/`` is a source root (like ``src/``), so the repository root is two
levels above this package. ``RWA_ROOT`` overrides it, e.g. to point the
library at another checkout of the contracts; ``RWA_BUILD_DIR`` moves the build
output (compiler cache, local node, benchmarks) and ``RWA_DEPLOYMENTS_DIR`` the
deployment records.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("RWA_ROOT") or Path(__file__).resolve().parents[2])
CONTRACTS_DIR = ROOT / "contracts"
BUILD_DIR = Path(os.environ.get("RWA_BUILD_DIR") or ROOT / "build")
NODE_MODULES = ROOT / "node_modules"
DEPLOYMENTS_DIR = Path(os.environ.get("RWA_DEPLOYMENTS_DIR") or ROOT / "deployments")
PACKAGE_LOCK = ROOT / "package-lock.json"
