"""Compiler selection, the artifact cache and readable diagnostics."""

import os
import stat
import textwrap
from pathlib import Path

import pytest

from rwaledger import compiler
from rwaledger.compiler import SOLC_VERSION, compile_project, select_compiler
from rwaledger.errors import CompilationFailed, CompilerNotFound

GOOD = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
contract A { uint256 public x; function set(uint256 v) external { x = v; } }
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "A.sol").write_text(GOOD)
    (tmp_path / "contracts" / "B.sol").write_text(GOOD.replace("contract A", "contract B"))
    return tmp_path


def _compile(tree: Path, **kw):
    return compile_project(tree / "contracts", tree / "build", root=tree, **kw)


def test_cache_hit_then_edit_recompiles(tree):
    first = _compile(tree)
    assert not first.cached and set(first.artifacts) == {"A", "B"}
    second = _compile(tree)
    assert second.cached and second.key == first.key
    assert second["A"].bytecode == first["A"].bytecode
    assert second.seconds < 0.2

    (tree / "contracts" / "B.sol").write_text(GOOD.replace("contract A", "contract B").replace("x = v", "x = v + 1"))
    third = _compile(tree)
    assert not third.cached and third.key != first.key
    assert third["B"].bytecode != first["B"].bytecode
    assert third["A"].bytecode == first["A"].bytecode


def test_artifact_fields_and_self_contained_input(tree):
    result = _compile(tree)
    a = result["A"]
    assert a.bytecode.startswith("0x60") and len(a.deployed_bytecode) > 10
    assert a.bytecode_hash.startswith("0x") and len(a.bytecode_hash) == 66
    assert a.source == "contracts/A.sol" and a.source_hash.startswith("0x")
    assert any(item.get("name") == "set" for item in a.abi)
    solc_input = result.solc_input()
    assert solc_input["sources"]["contracts/A.sol"]["content"] == GOOD
    assert solc_input["settings"]["evmVersion"] == "cancun"


def test_compile_error_is_readable_with_file_and_line(tree):
    (tree / "contracts" / "B.sol").write_text(GOOD.replace("x = v;", "x = v\n"))
    with pytest.raises(CompilationFailed) as info:
        _compile(tree)
    message = str(info.value)
    assert "contracts/B.sol:4:" in message and "ParserError" in message
    assert "{" not in info.value.diagnostics[0][:20]  # a line, not a JSON dump


def test_warnings_are_reported(tree):
    (tree / "contracts" / "B.sol").write_text(GOOD.replace("contract A", "contract B").replace(
        "function set(uint256 v) external { x = v; }", "function set(uint256 v) external { uint256 unused; x = v; }"))
    result = _compile(tree)
    assert any("contracts/B.sol:3:" in w and "Unused local variable" in w for w in result.warnings)


def test_solcjs_is_selected_without_native_solc(monkeypatch):
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.setattr(compiler, "_native_candidates", lambda: [])
    chosen = select_compiler()
    assert chosen.kind == "solc-js" and chosen.version == SOLC_VERSION


def _fake_solc(tmp_path: Path, version: str) -> str:
    path = tmp_path / "solc"
    path.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "solc, the solidity compiler commandline interface"
        echo "Version: {version}+commit.7893614a.Linux.g++"
    """))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_solc_binary_env_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("SOLC_BINARY", _fake_solc(tmp_path, SOLC_VERSION))
    chosen = select_compiler()
    assert chosen.kind == "SOLC_BINARY" and chosen.path == os.environ["SOLC_BINARY"]


def test_solc_binary_of_wrong_version_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SOLC_BINARY", _fake_solc(tmp_path, "0.8.19"))
    with pytest.raises(CompilerNotFound, match="pins 0.8.28"):
        select_compiler()


def test_native_solc_of_pinned_version_is_preferred(monkeypatch, tmp_path):
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    wrong, right = _fake_solc(tmp_path / "w", "0.8.19") if (tmp_path / "w").mkdir() is None else None, None
    (tmp_path / "r").mkdir()
    right = _fake_solc(tmp_path / "r", SOLC_VERSION)
    monkeypatch.setattr(compiler, "_native_candidates", lambda: [wrong, right])
    chosen = select_compiler()
    assert chosen.kind == "native" and chosen.path == right


def test_no_compiler_at_all_says_what_to_do(monkeypatch):
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.setattr(compiler, "_native_candidates", lambda: [])
    monkeypatch.setattr(compiler, "_solcjs_version", lambda: None)
    with pytest.raises(CompilerNotFound, match="npm ci"):
        select_compiler()


def test_project_contracts_compile_warning_free(rwa_build):
    assert rwa_build.warnings == []
    assert "ChainProbe" in rwa_build.artifacts
