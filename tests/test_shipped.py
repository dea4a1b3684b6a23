"""The compiled stack shipped in the package: it matches the sources, the Python constants come from it, and an
installed package reads and operates a deployed stack with no Node and no solc."""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from rwaledger import constants, node, shipped, stack
from rwaledger.services import context, selectors
from rwaledger.compiler import compile_project


def test_shipped_artifacts_match_the_sources(rwa_build):
    assert shipped.differences(rwa_build) == [], "run `make artifacts` after editing contracts/"


def test_python_constants_are_the_compilers(rwa_build):
    enums, values = rwa_build.constants["enums"], rwa_build.constants["values"]
    assert constants.REASONS == tuple(enums["ICompliantToken.Reason"]) and constants.REASONS[0] == "Ok"
    assert context.REASONS is constants.REASONS and stack.ROLES is constants.ROLES  # taken, not copied
    assert context.REASON_TEXT is constants.REASON_TEXT
    assert list(constants.REASON_TEXT) == list(constants.REASONS)  # one ERC-1404 message per code, in code order
    assert values["REASON_MESSAGES"] == "".join(f"{constants.REASON_TEXT[r]}\n" for r in constants.REASONS)
    assert constants.ASSET_STATUSES == ("registered", "active", "suspended", "retired")
    assert constants.WALLET_STATUSES == ("none", "active", "removed", "lost")
    assert "0x" + constants.REGISTRAR_ROLE.hex() == values["REGISTRAR_ROLE"]
    assert "RWAAccess.REGISTRAR_ROLE" not in values  # RWAAccess publishes RWAAccessed's constant, not a second keccak
    # the selector the service pre-checks with is the ABI's
    abi = rwa_build["PropertyShareToken"].abi
    assert any(i.get("name") == "detectTransferRestriction" for i in abi)
    assert selectors.DETECT_RESTRICTION == bytes.fromhex("d4ce1415")  # detectTransferRestriction(address,address,uint256)


def test_the_reason_table_of_the_contracts_readme_is_the_solidity_text(root):
    """contracts/README.md repeats REASON_MESSAGES (what messageForTransferRestriction returns) row by row."""
    text = (root / "contracts" / "README.md").read_text()
    rows = text[text.index("| code | name | meaning |"):].split("\n\n")[0].splitlines()[2:]
    table = [tuple(c.strip() for c in row.strip("|").split("|")) for row in rows]
    assert table == [(str(i), r, constants.REASON_TEXT[r]) for i, r in enumerate(constants.REASONS)]


def test_a_stale_shipped_build_is_detected(rwa_build, monkeypatch, tmp_path):
    fake = tmp_path / "artifacts"
    shutil.copytree(shipped.SHIPPED_DIR, fake)
    text = (fake / "stack.json").read_text().replace('"AssetNotActive"', '"AssetGone"')
    (fake / "stack.json").write_text(text)
    monkeypatch.setattr(shipped, "SHIPPED_DIR", fake)
    monkeypatch.setattr(shipped, "STACK_FILE", fake / "stack.json")
    assert shipped.differences(rwa_build) == ["constants differs"]


def test_default_build_without_sources_is_the_shipped_one(monkeypatch, tmp_path):
    monkeypatch.setattr(shipped.paths, "CONTRACTS_DIR", tmp_path / "no-contracts")
    build = shipped.default_build()
    assert build.compiler.kind == "shipped" and set(build.artifacts) == set(shipped.CONTRACTS)
    monkeypatch.setenv("RWA_ARTIFACTS", "nonsense")
    with pytest.raises(Exception, match="RWA_ARTIFACTS must be"):
        shipped.default_build()


def _without_node(path: str) -> str:
    """PATH without any directory that holds node or solc."""
    keep = [d for d in path.split(os.pathsep) if d and not any(os.path.exists(os.path.join(d, x)) for x in ("node", "solc"))]
    return os.pathsep.join(keep)


def test_an_installed_package_operates_a_deployed_stack_without_node(root, tmp_path):
    """Build the wheel, install it into a fresh venv (its dependencies from this environment), hide Node and solc,
    and drive a stack the checkout deployed on a local node."""
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheel_dir), str(root)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheel_dir.glob("rwaledger-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # web3 & co. from this environment
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    home = tmp_path / "home"
    info = node.start_background(home / "node", port=node.free_port())
    try:
        env = {**os.environ, "RWA_DEPLOYMENTS_DIR": str(home / "deployments"), "RWA_NODE_DIR": str(home / "node"),
               "RWA_PRIVATE_KEY": "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"}
        env.pop("RWA_ARTIFACTS", None)
        checkout = [sys.executable, "-m", "rwaledger.cli"]
        ex = root / "scripts" / "examples"
        for args in (["deploy"], ["asset", "register", str(ex / "lahore-apartment.toml")]):
            subprocess.run([*checkout, *args, "-n", info["url"]], check=True, capture_output=True, env=env, cwd=root,
                           timeout=300)
        installed_env = {**env, "PATH": _without_node(env["PATH"]), "PYTHONPATH": ""}
        installed = [str(venv / "bin" / "python"), "-c",
                     "import sys, rwaledger.cli as c; assert 'site-packages' in c.__file__, c.__file__; "
                     "sys.argv = ['rwa'] + sys.argv[1:]; c.main()"]
        assert shutil.which("node", path=installed_env["PATH"]) is None
        out = subprocess.run([*installed, "--json", "asset", "show", "LHR-GH12B", "-n", info["url"]],
                             capture_output=True, text=True, env=installed_env, cwd=tmp_path, timeout=300)
        assert out.returncode == 0, out.stderr
        assert '"legal_reference": "LHR/GULBERG-III/KHEWAT-1187/KHATOONI-2231/FLAT-12B"' in out.stdout
        added = subprocess.run([*installed, "investor", "add", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                                "--country", "PK", "--kyc-expiry", "2030-01-01", "-n", info["url"], "--db",
                                str(tmp_path / "l.sqlite")], capture_output=True, text=True, env=installed_env,
                               cwd=tmp_path, timeout=300)
        assert added.returncode == 0 and "1 investors registered" in added.stdout, added.stderr
    finally:
        node.stop_background(home / "node")
