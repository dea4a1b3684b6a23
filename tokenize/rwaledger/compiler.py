"""Compile the Solidity sources in ``contracts/`` into cached artifacts.

The compiler version and settings are pinned here, in one place
(:data:`SOLC_VERSION`, :data:`SETTINGS`). Compilation goes through py-solc-x's
standard-JSON interface; which ``solc`` executable runs is chosen by
:func:`select_compiler`:

1. ``SOLC_BINARY`` if set;
2. a native ``solc`` of the pinned version (on ``PATH`` or installed by solcx);
3. the npm package ``solc`` (solc-js) of the pinned version, through
   ``solcjs_shim.js``, a solc-compatible executable that prints JSON only.

Artifacts are cached under ``build/artifacts/<key>.json`` where the key hashes
the sources, the lockfile that pins OpenZeppelin, the compiler version and the
settings, so an unchanged tree compiles from cache in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .errors import CompilationFailed, CompilerError, CompilerNotFound

SOLC_VERSION = "0.8.28"
"""The one pinned compiler version (native solc or the npm package ``solc``)."""

OZ_REMAPPING = "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"
REMAPPINGS = [
    OZ_REMAPPING,
    "@tokenysolutions/t-rex/=node_modules/@tokenysolutions/t-rex/",  # ERC-3643 (T-REX 4.x) interfaces
    "@onchain-id/solidity/=node_modules/@onchain-id/solidity/",  # ... and the ONCHAINID interfaces they import
    "solady/=node_modules/solady/src/",  # audited primitives (SSTORE2)
]

RELAXED_PRAGMA_ROOTS = ("node_modules/@tokenysolutions/t-rex/contracts/token/IToken.sol",)
"""Published interface files (pinned by ``package-lock.json``) that declare an exact ``pragma solidity 0.8.17;``
older than :data:`SOLC_VERSION`. They and the files they import from the same packages are compiled exactly as
published except that the pragma is read as ``^0.8.17``: rewritten in memory when building the compiler input,
never copied into ``contracts/`` (see :func:`relaxed_pragma_sources`)."""
_RELAXED_PACKAGES = ("node_modules/@tokenysolutions/", "node_modules/@onchain-id/")

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1000},
    "evmVersion": "cancun",
    "remappings": REMAPPINGS,
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {
            "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata", "storageLayout"],
            "": ["ast"],  # enums and constants are read from it (extract_constants), then it is dropped
        }
    },
}
"""The one set of compiler settings every build uses."""

SHIM = Path(__file__).with_name("solcjs_shim.js")
CACHE_FORMAT = 3

# Interfaces from dependencies whose ABI the library uses (payment tokens are any ERC-20).
EXTERNAL_ARTIFACTS = {
    "IERC20": "node_modules/@openzeppelin/contracts/token/ERC20/IERC20.sol",
    "IToken": "node_modules/@tokenysolutions/t-rex/contracts/token/IToken.sol",  # ERC-3643, for conformance checks
}

_SAFE_BUILD = "node_modules/@safe-global/safe-contracts/build/artifacts/contracts/"
PRECOMPILED = {
    "SafeL2": _SAFE_BUILD + "SafeL2.sol/SafeL2.json",
    "SafeProxyFactory": _SAFE_BUILD + "proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
    "CompatibilityFallbackHandler": _SAFE_BUILD + "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
    "MultiSendCallOnly": _SAFE_BUILD + "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
}
"""Contracts used as their authors published them compiled (Safe smart account 1.4.1, npm
``@safe-global/safe-contracts``, pinned by ``package-lock.json``): never recompiled, so their bytecode is the audited
one. A build includes them when the package is installed."""


def precompiled_artifacts(root: Path) -> dict[str, Artifact]:
    """The :data:`PRECOMPILED` artifacts present under ``root`` (hardhat's JSON format)."""
    out: dict[str, Artifact] = {}
    for name, rel in PRECOMPILED.items():
        path = root / rel
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        bytecode = data["bytecode"] if data["bytecode"].startswith("0x") else "0x" + data["bytecode"]
        out[name] = Artifact(
            name=name,
            source=rel,
            abi=data["abi"],
            bytecode=bytecode,
            deployed_bytecode=data["deployedBytecode"],
            metadata="",
            bytecode_hash=_keccak_hex(bytes.fromhex(bytecode[2:])),
            source_hash=_keccak_hex(path.read_bytes()),
        )
    return out


DELEGATED_MODULES = {"PropertyShareToken": "CompliantTokenModule", "CommodityToken": "CompliantTokenModule"}
"""Token implementations whose fallback DELEGATECALLs a shared module: a token's ABI is its implementation's plus the
module's (every call the implementation does not define reaches the module)."""


def _abi_key(item: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    return (item.get("type", ""), item.get("name", ""), tuple(i["type"] for i in item.get("inputs", [])))


def compose_abi(own: list[dict[str, Any]], module: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``own`` followed by the entries of ``module`` it does not already have (same kind, name and input types);
    the module's constructor and the fallback are not the token's."""
    seen = {_abi_key(i) for i in own}
    extra = [i for i in module if i.get("type") not in ("constructor", "fallback", "receive") and _abi_key(i) not in seen]
    return [*own, *extra]


@dataclass(frozen=True)
class Compiler:
    """A solc executable and what it is."""

    path: str
    version: str  # e.g. "0.8.28+commit.7893614a"
    kind: str  # "SOLC_BINARY", "native" or "solc-js"

    def describe(self) -> str:
        return f"solc {self.version} ({self.kind}: {self.path})"


@dataclass(frozen=True)
class Artifact:
    """What the compiler produced for one contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str  # creation code, 0x-hex
    deployed_bytecode: str
    metadata: str
    bytecode_hash: str  # keccak256 of the creation code, 0x-hex
    source_hash: str  # keccak256 of the contract's source file, from solc's metadata
    storage_layout: list[dict[str, Any]] = field(default_factory=list)  # solc's storageLayout.storage entries

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Artifact":
        return cls(**data)


@dataclass
class CompileResult:
    """The artifacts of one build and how they were obtained."""

    artifacts: dict[str, Artifact]
    compiler: Compiler
    cached: bool
    seconds: float
    key: str
    solc_input_hash: str
    warnings: list[str] = field(default_factory=list)
    cache_dir: Path = paths.BUILD_DIR / "artifacts"
    constants: dict[str, Any] = field(default_factory=dict)  # {"enums": {...}, "values": {...}}: extract_constants

    def __getitem__(self, name: str) -> Artifact:
        try:
            return self.artifacts[name]
        except KeyError:
            raise CompilerError(f"no compiled contract named {name!r}") from None

    @property
    def abis(self) -> list[list[dict[str, Any]]]:
        return [a.abi for a in self.artifacts.values()]

    def solc_input(self) -> dict[str, Any]:
        """The exact, self-contained standard-JSON input of this build."""
        return json.loads((self.cache_dir / f"{self.key}.input.json").read_text())


# --- choosing a compiler ------------------------------------------------------


def _probe_version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerNotFound(f"cannot run {path} --version: {exc}") from None
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise CompilerNotFound(f"{path} --version printed no version")


def _base_version(version: str) -> str:
    return version.split("+", 1)[0].split("-", 1)[0]


def _native_candidates() -> list[str]:
    found = []
    which = shutil.which("solc")
    if which:
        found.append(which)
    # Where py-solc-x installs solc (``solcx.get_executable`` looks there), without importing solcx: the import
    # alone (requests, packaging) cost ~0.5 s of every command that loads the artifacts.
    folder = Path(os.environ.get("SOLCX_BINARY_PATH") or Path.home() / ".solcx")
    solc = folder / f"solc-v{SOLC_VERSION}"
    if solc.is_file():
        found.append(str(solc))
    return found


def _solcjs_version() -> str | None:
    pkg = paths.NODE_MODULES / "solc" / "package.json"
    try:
        return json.loads(pkg.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def select_compiler() -> Compiler:
    """Pick the solc to run, by the order in the module docstring."""
    env = os.environ.get("SOLC_BINARY")
    if env:
        version = _probe_version(env)
        if _base_version(version) != SOLC_VERSION:
            raise CompilerNotFound(f"SOLC_BINARY={env} is solc {version}; this project pins {SOLC_VERSION}")
        return Compiler(env, version, "SOLC_BINARY")
    for path in _native_candidates():
        try:
            version = _probe_version(path)
        except CompilerNotFound:
            continue
        if _base_version(version) == SOLC_VERSION:
            return Compiler(path, version, "native")
    js = _solcjs_version()
    if js == SOLC_VERSION and shutil.which("node"):
        # The shim prints the full version; reading package.json avoids starting node on cached builds.
        return Compiler(str(SHIM), js, "solc-js")
    raise CompilerNotFound(
        f"no solc {SOLC_VERSION}: set SOLC_BINARY, install a native solc {SOLC_VERSION} "
        f"(python -m solcx.install v{SOLC_VERSION} on an online machine), or run `npm ci` for solc-js"
    )


# --- compiling ----------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _keccak_hex(data: bytes) -> str:
    from eth_hash.auto import keccak

    return "0x" + keccak(data).hex()


_IMPORT = re.compile(r"""^\s*import\s+(?:[^"']*from\s+)?["']([^"']+)["']""", re.M)
_EXACT_PRAGMA = re.compile(r"^pragma solidity (\d+\.\d+\.\d+);", re.M)


def _unit_name(importer: str, path: str) -> str:
    """The source unit name solc gives ``import path`` in ``importer`` (relative, or through the remappings)."""
    if path.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), path))
    for mapping in REMAPPINGS:
        prefix, target = mapping.split("=", 1)
        if path.startswith(prefix):
            return target + path[len(prefix):]
    return path


def relaxed_pragma_sources(root: Path) -> dict[str, str]:
    """``{unit name: content}`` of :data:`RELAXED_PRAGMA_ROOTS` and their imports within the same packages, each
    with its exact pragma read as a caret range (exactly one pragma line per file changes, nothing else)."""
    out: dict[str, str] = {}
    todo = list(RELAXED_PRAGMA_ROOTS)
    while todo:
        name = todo.pop()
        if name in out or not name.startswith(_RELAXED_PACKAGES):
            continue
        try:
            text = (root / name).read_text()
        except OSError:
            continue  # a project without the package: solc reports any import of it as not found
        relaxed, n = _EXACT_PRAGMA.subn(r"pragma solidity ^\1;", text, count=1)
        out[name] = relaxed if n else text
        todo.extend(_unit_name(name, path) for path in _IMPORT.findall(text))
    return out


def _source_files(contracts_dir: Path, root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(contracts_dir.rglob("*.sol"))}


def cache_key(sources: dict[str, Path], compiler: Compiler, root: Path) -> str:
    """Hash of the sources, the lockfile pinning the libraries, the compiler and the settings."""
    h = hashlib.sha256()
    h.update(f"format={CACHE_FORMAT};solc={compiler.version};".encode())
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    for name, path in sources.items():
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    lock = root / "package-lock.json"
    if lock.exists():
        h.update(lock.read_bytes())
    return h.hexdigest()[:32]


def _line_of(root: Path, loc: dict[str, Any]) -> str:
    file, start = loc.get("file", "?"), loc.get("start", -1)
    try:
        text = (root / file).read_bytes()[: max(start, 0)]
        line = text.count(b"\n") + 1
        col = len(text) - (text.rfind(b"\n") + 1) + 1
        return f"{file}:{line}:{col}"
    except OSError:
        return file


def _diagnostic(root: Path, err: dict[str, Any]) -> str:
    where = _line_of(root, err["sourceLocation"]) if err.get("sourceLocation") else "solc"
    kind = err.get("type", err.get("severity", "error"))
    return f"{where}: {err.get('severity', 'error')}: {kind}: {err.get('message', '').strip()}"


def _run_solc(compiler: Compiler, solc_input: dict[str, Any], root: Path) -> dict[str, Any]:
    import solcx
    from solcx.exceptions import SolcError

    try:
        return solcx.compile_standard(
            solc_input, solc_binary=compiler.path, base_path=str(root), allow_paths=str(root), allow_empty=True
        )
    except SolcError as exc:
        try:
            output = json.loads(exc.stdout_data)
        except (TypeError, ValueError):
            raise CompilerError(f"{compiler.describe()} failed: {exc.stderr_data or exc}") from None
        diagnostics = [_diagnostic(root, e) for e in output.get("errors", []) if e.get("severity") == "error"]
        raise CompilationFailed(diagnostics or [str(exc)]) from None


def _self_contained_input(solc_input: dict[str, Any], output: dict[str, Any], root: Path) -> dict[str, Any]:
    """The same input with every source (imports included) inlined as content."""
    given = solc_input["sources"]
    sources = {
        name: {"content": given.get(name, {}).get("content") or (root / name).read_text()}
        for name in sorted(output.get("sources", {}))
    }
    return {**solc_input, "sources": sources}


def _artifacts_from(output: dict[str, Any], sources_dir_prefix: str) -> dict[str, Artifact]:
    artifacts: dict[str, Artifact] = {}
    for source, contracts in output.get("contracts", {}).items():
        external = [n for n, path in EXTERNAL_ARTIFACTS.items() if path == source]
        if not source.startswith(sources_dir_prefix) and not external:
            continue
        for name, c in contracts.items():
            if external and name not in external:
                continue
            bytecode = "0x" + c["evm"]["bytecode"]["object"]
            metadata = c.get("metadata", "")
            src_hash = json.loads(metadata)["sources"][source]["keccak256"] if metadata else ""
            if name in artifacts:
                raise CompilerError(f"two contracts named {name}: {artifacts[name].source} and {source}")
            artifacts[name] = Artifact(
                name=name,
                source=source,
                abi=c["abi"],
                bytecode=bytecode,
                deployed_bytecode="0x" + c["evm"]["deployedBytecode"]["object"],
                metadata=metadata,
                bytecode_hash=_keccak_hex(bytes.fromhex(bytecode[2:])),
                source_hash=src_hash,
                storage_layout=[
                    {k: e[k] for k in ("label", "slot", "offset", "type", "contract")}
                    for e in c.get("storageLayout", {}).get("storage", [])
                ],
            )
    for name, module in DELEGATED_MODULES.items():
        if name in artifacts and module in artifacts:
            a = artifacts[name]
            artifacts[name] = Artifact(**{**a.__dict__, "abi": compose_abi(a.abi, artifacts[module].abi)})
    return artifacts


def _literal(node: dict[str, Any]) -> Any:
    """The value of a constant's initializer when it is a literal or ``keccak256("literal")``, else None."""
    kind = node.get("nodeType")
    if kind == "Literal":
        if node.get("kind") == "number":
            text = node["value"].replace("_", "")
            return int(text, 16) if text.startswith("0x") else int(text)
        if node.get("kind") == "string":
            return node["value"]
        if node.get("kind") == "bool":
            return node["value"] == "true"
    if kind == "FunctionCall" and node.get("expression", {}).get("name") == "keccak256" and node.get("arguments"):
        arg = _literal(node["arguments"][0])
        if isinstance(arg, str):
            return _keccak_hex(arg.encode())
    return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def extract_constants(output: dict[str, Any], sources_dir_prefix: str) -> dict[str, Any]:
    """Enums (``"Contract.Enum"`` or ``"Enum"`` at file level -> member names) and public, library or file-level constants
    (``"Contract.NAME"`` / ``"NAME"`` -> value; ``keccak256("...")`` as 0x-hex) of the project's own sources,
    from solc's AST. Test-only sources are skipped. Python takes these instead of copying them."""
    enums: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    libraries: set[str] = set()

    def walk(node: dict[str, Any], scope: str | None) -> None:
        kind = node.get("nodeType")
        if kind == "ContractDefinition":
            if node.get("contractKind") == "library":
                libraries.add(node["name"])
            for child in node.get("nodes", []):
                walk(child, node["name"])
            return
        name = f"{scope}.{node.get('name')}" if scope else node.get("name")
        if kind == "EnumDefinition":
            enums[name] = [m["name"] for m in node["members"]]
        elif kind == "VariableDeclaration" and node.get("constant"):
            if scope is None or scope in libraries or node.get("visibility") == "public":
                value = _literal(node.get("value") or {})
                if value is not None:
                    values[name] = value
        for child in node.get("nodes", []) if kind == "SourceUnit" else []:
            walk(child, None)

    for source, data in sorted(output.get("sources", {}).items()):
        if source.startswith(sources_dir_prefix) and not source.startswith(sources_dir_prefix + "test/") and "ast" in data:
            walk(data["ast"], None)
    return {"enums": dict(sorted(enums.items())), "values": dict(sorted(values.items()))}


def compile_project(
    contracts_dir: Path | None = None,
    build_dir: Path | None = None,
    *,
    root: Path | None = None,
    compiler: Compiler | None = None,
    force: bool = False,
) -> CompileResult:
    """Compile every ``.sol`` file under ``contracts_dir``, from cache when unchanged."""
    started = time.perf_counter()
    root = Path(root or paths.ROOT)
    contracts_dir = Path(contracts_dir or paths.CONTRACTS_DIR)
    cache_dir = Path(build_dir or paths.BUILD_DIR) / "artifacts"
    compiler = compiler or select_compiler()
    sources = _source_files(contracts_dir, root)
    if not sources:
        raise CompilerError(f"no Solidity sources under {contracts_dir}")
    key = cache_key(sources, compiler, root)
    cached_file = cache_dir / f"{key}.json"
    prefix = contracts_dir.relative_to(root).as_posix() + "/"

    if not force and cached_file.exists():
        data = json.loads(cached_file.read_text())
        return CompileResult(
            artifacts={n: Artifact.from_dict(a) for n, a in data["artifacts"].items()},
            compiler=compiler,
            cached=True,
            seconds=time.perf_counter() - started,
            key=key,
            solc_input_hash=data["solcInputHash"],
            warnings=data.get("warnings", []),
            cache_dir=cache_dir,
            constants=data.get("constants", {}),
        )

    solc_input = {
        "language": "Solidity",
        "sources": {
            **{name: {"urls": [name]} for name in sources},
            **{name: {"content": text} for name, text in relaxed_pragma_sources(root).items()},
        },
        "settings": SETTINGS,
    }
    output = _run_solc(compiler, solc_input, root)
    warnings = [_diagnostic(root, e) for e in output.get("errors", []) if e.get("severity") != "error"]
    full_input = _self_contained_input(solc_input, output, root)
    input_text = json.dumps(full_input, sort_keys=True, separators=(",", ":"))
    input_hash = _sha256(input_text.encode())
    artifacts = {**_artifacts_from(output, prefix), **precompiled_artifacts(root)}
    constants = extract_constants(output, prefix)

    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(cache_dir / f"{key}.input.json", input_text)
    tmp = cached_file.with_suffix(f".{os.getpid()}.tmp")  # one per process: two compiles may race to the same key
    tmp.write_text(
        json.dumps(
            {
                "compiler": compiler.version,
                "solcInputHash": input_hash,
                "warnings": warnings,
                "constants": constants,
                "artifacts": {n: a.__dict__ for n, a in artifacts.items()},
            }
        )
    )
    tmp.replace(cached_file)  # atomic: a killed compile never leaves half a cache entry
    return CompileResult(
        artifacts=artifacts,
        compiler=compiler,
        cached=False,
        seconds=time.perf_counter() - started,
        key=key,
        solc_input_hash=input_hash,
        warnings=warnings,
        cache_dir=cache_dir,
        constants=constants,
    )
