"""Static analysis of ``contracts/`` with slither; fails on any high or medium finding not accepted, with a one-line
justification, in ``contracts/slither-triage.toml`` (and on an accepted entry that no longer matches anything, so
the triage file never outlives the code it excuses).

    make slither                      # = build/venv-slither (slither-analyzer, pinned) + this script
    .venv/bin/python scripts/slither_check.py [--slither-python PATH]

The contracts are compiled by the project's own compiler module (the same sources, remappings and relaxed
T-REX pragma as every build); its self-contained standard-JSON input is handed to slither, which runs in its own
venv (slither-analyzer pins web3 < 8, this project needs web3 8) and compiles it through the solc-js shim. Test
contracts (``contracts/test/``) and libraries (``node_modules``) are not analysed. Exit 0: nothing to act on; 1:
untriaged or stale findings (each printed as ``file:line: impact check: where``), or slither could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "contracts" / "slither-triage.toml"
GATED = ("High", "Medium")  # the impacts CI fails on
DEFAULT_PYTHON = ROOT / "build" / "venv-slither" / "bin" / "python"


class TriageError(Exception):
    """The triage file is malformed; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Finding:
    check: str  # slither's detector name, e.g. "uninitialized-local"
    impact: str  # High, Medium, Low, Informational, Optimization
    where: str  # the element as slither names it, e.g. "CompliantToken.batchMint(address[],uint256[]).total"
    file: str = "?"
    line: int = 0
    description: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.impact} {self.check}: {self.where}"


@dataclass(frozen=True)
class Accepted:
    check: str
    where: str
    why: str

    def matches(self, f: Finding) -> bool:
        return f.check == self.check and f.where == self.where


@dataclass
class Review:
    untriaged: list[Finding]  # gated findings no entry accepts: CI fails
    accepted: list[tuple[Finding, Accepted]]
    stale: list[Accepted]  # entries matching no finding: CI fails (remove them)
    counts: Counter

    @property
    def ok(self) -> bool:
        return not self.untriaged and not self.stale


def load_triage(path: Path = TRIAGE) -> list[Accepted]:
    """The accepted findings; every entry needs ``check``, ``where`` and a non-empty one-line ``why``."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise TriageError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TriageError(f"{path}: {exc}") from None
    out: list[Accepted] = []
    for i, entry in enumerate(data.get("accepted", [])):
        for field in ("check", "where", "why"):
            value = entry.get(field)
            if not isinstance(value, str) or not value.strip():
                raise TriageError(f"{path}: accepted[{i}]: field {field}: missing or empty")
        if "\n" in entry["why"].strip():
            raise TriageError(f"{path}: accepted[{i}]: field why: one line, please")
        unknown = set(entry) - {"check", "where", "why"}
        if unknown:
            raise TriageError(f"{path}: accepted[{i}]: unknown field {sorted(unknown)[0]}")
        out.append(Accepted(entry["check"], entry["where"], entry["why"].strip()))
    return out


def review(findings: list[Finding], accepted: list[Accepted]) -> Review:
    """Which gated findings no entry accepts, and which entries match nothing (pure)."""
    untriaged, matched = [], []
    used: set[int] = set()
    for f in findings:
        if f.impact not in GATED:
            continue
        hit = next((i for i, a in enumerate(accepted) if a.matches(f)), None)
        if hit is None:
            untriaged.append(f)
        else:
            used.add(hit)
            matched.append((f, accepted[hit]))
    stale = [a for i, a in enumerate(accepted) if i not in used]
    return Review(untriaged, matched, stale, Counter(f.impact for f in findings))


def run_slither(python: Path, build_dir: Path) -> list[Finding]:
    """Compile, hand the input to slither in its venv, read its findings."""
    sys.path.insert(0, str(ROOT / "tokenize"))
    from rwaledger.compiler import SHIM, compile_project

    build_dir.mkdir(parents=True, exist_ok=True)
    solc_input, report = build_dir / "input.json", build_dir / "findings.json"
    solc_input.write_text(json.dumps(compile_project().solc_input()))
    report.unlink(missing_ok=True)
    proc = subprocess.run([str(python), str(ROOT / "scripts" / "slither_driver.py"), str(solc_input), str(SHIM),
                           str(report)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "RWA_NODE_MODULES": str(ROOT / "node_modules")})
    if proc.returncode != 0 or not report.exists():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"slither failed (exit {proc.returncode}): {tail}")
    return [Finding(**{k: r[k] for k in ("check", "impact", "where", "file", "line", "description")})
            for r in json.loads(report.read_text())]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slither-python", type=Path,
                   default=Path(os.environ.get("RWA_SLITHER_PYTHON", DEFAULT_PYTHON)),
                   help="the python of a venv with slither-analyzer (default: build/venv-slither, made by make slither)")
    args = p.parse_args(argv)
    if not args.slither_python.exists():
        print(f"slither: no {args.slither_python}; run `make slither` (it makes that venv)", file=sys.stderr)
        return 1
    try:
        accepted = load_triage()
        result = review(run_slither(args.slither_python, ROOT / "build" / "slither"), accepted)
    except (TriageError, RuntimeError) as exc:
        print(f"slither: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{result.counts[k]} {k.lower()}" for k in ("High", "Medium", "Low", "Informational",
                                                                    "Optimization"))
    print(f"slither: {counts}; {len(result.accepted)} high/medium accepted in {TRIAGE.relative_to(ROOT)}")
    for f in result.untriaged:
        print(f"untriaged: {f}")
    for a in result.stale:
        print(f"stale triage entry (matches nothing now, remove it): {a.check} {a.where}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
