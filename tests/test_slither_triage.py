"""The slither gate (scripts/slither_check.py): a high or medium finding passes only when the triage file accepts it
with a reason; low and informational findings never fail CI; an entry that matches nothing fails (it would hide the
next finding of that name); a malformed triage file names the entry and the field. `make slither` runs the real
analysis in .ci/run; these tests check the gate's logic and the shipped triage file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("slither_check", ROOT / "scripts" / "slither_check.py")
sc = importlib.util.module_from_spec(spec)
sys.modules.setdefault("slither_check", sc)  # dataclasses look their module up
spec.loader.exec_module(sc)

SHIFT = sc.Finding("incorrect-shift", "High", "CanonicalText._check(bytes,uint256,uint256,uint256)")
LOCAL = sc.Finding("uninitialized-local", "Medium", "CompliantToken.batchMint(address[],uint256[]).total")
LOW = sc.Finding("timestamp", "Low", "TokenLockup._checkLockup()")
ACCEPT_SHIFT = sc.Accepted(SHIFT.check, SHIFT.where, "1 << c on purpose")


def test_an_accepted_finding_passes_and_an_unlisted_one_fails():
    ok = sc.review([SHIFT, LOW], [ACCEPT_SHIFT])
    assert ok.ok and ok.accepted == [(SHIFT, ACCEPT_SHIFT)] and ok.untriaged == []
    bad = sc.review([SHIFT, LOCAL], [ACCEPT_SHIFT])
    assert not bad.ok and bad.untriaged == [LOCAL]


def test_an_entry_accepts_only_its_own_check_and_element():
    other_element = sc.Finding("incorrect-shift", "High", "CanonicalText._other(bytes)")
    other_check = sc.Finding("divide-before-multiply", "Medium", SHIFT.where)
    r = sc.review([SHIFT, other_element, other_check], [ACCEPT_SHIFT])
    assert r.untriaged == [other_element, other_check]


def test_low_and_informational_findings_never_fail():
    info = sc.Finding("assembly", "Informational", "CanonicalText._check(bytes,uint256,uint256,uint256)")
    assert sc.review([LOW, info], []).ok


def test_a_stale_entry_fails():
    r = sc.review([], [ACCEPT_SHIFT])
    assert not r.ok and r.stale == [ACCEPT_SHIFT]


@pytest.mark.parametrize("body, message", [
    ('[[accepted]]\ncheck = "incorrect-shift"\nwhere = "X.f()"\n', r"accepted\[0\]: field why: missing"),
    ('[[accepted]]\ncheck = "incorrect-shift"\nwhere = "X.f()"\nwhy = "  "\n', r"accepted\[0\]: field why"),
    ('[[accepted]]\ncheck = "a"\nwhere = "X.f()"\nwhy = "ok"\n[[accepted]]\nwhere = "Y"\nwhy = "ok"\n',
     r"accepted\[1\]: field check"),
    ('[[accepted]]\ncheck = "a"\nwhere = "X.f()"\nwhy = "ok"\nseverity = "low"\n', r"unknown field severity"),
    ('[[accepted]\n', r"triage.toml: "),
])
def test_a_malformed_triage_file_names_the_entry_and_field(tmp_path, body, message):
    path = tmp_path / "triage.toml"
    path.write_text(body)
    with pytest.raises(sc.TriageError, match=message):
        sc.load_triage(path)


def test_the_shipped_triage_file_loads_and_gives_every_entry_a_reason():
    entries = sc.load_triage()
    assert entries and all(len(e.why) > 20 for e in entries)
    assert len({(e.check, e.where) for e in entries}) == len(entries)  # no entry twice
    for e in entries:  # each names an element of a contract in contracts/
        contract = e.where.split(".", 1)[0]
        assert any(f"contract {contract}" in p.read_text() or f"library {contract}" in p.read_text()
                   for p in (ROOT / "contracts").rglob("*.sol")), e
