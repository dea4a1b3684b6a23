"""One parcel, one token: the canonical forms, tested in Python and in Solidity against the same vectors
(tests/vectors/canonical.json), and the mapping from what people type."""

import json

import pytest

from rwaledger import canonical
from rwaledger.session import open_session

VECTORS = json.loads((__import__("pathlib").Path(__file__).parent / "vectors" / "canonical.json").read_text())
FORMS = {"legal_reference": canonical.LEGAL_REFERENCE, "symbol": canonical.SYMBOL, "document_name": canonical.DOCUMENT_NAME}
MAPS = {"legal_reference": canonical.legal_reference, "symbol": canonical.symbol, "document_name": canonical.document_name}


def _cases(key):
    return [(form, case) for form in FORMS for case in VECTORS[form][key]]


@pytest.fixture(scope="module")
def probe(chain, rwa_build):
    session = open_session(chain=chain, build=rwa_build, record=False)
    contract, _ = session.tx.deploy(rwa_build["CanonicalTextProbe"])
    return contract.functions


@pytest.mark.parametrize("form, text", _cases("canonical"))
def test_canonical_texts_pass_in_python_and_solidity(probe, form, text):
    assert canonical.check(text, FORMS[form]) == canonical.OK
    assert getattr(probe, _camel(form))(text).call() == canonical.OK


@pytest.mark.parametrize("form, case", _cases("not_canonical"))
def test_non_canonical_texts_fail_at_the_same_byte(probe, form, case):
    assert canonical.check(case["text"], FORMS[form]) == case["position"]
    assert getattr(probe, _camel(form))(case["text"]).call() == case["position"]


@pytest.mark.parametrize("form, case", _cases("mapping"))
def test_what_people_type_maps_to_one_canonical_form(probe, form, case):
    out = MAPS[form](case["input"])
    assert out == case["canonical"]
    assert getattr(probe, _camel(form))(out).call() == canonical.OK  # and the chain accepts it
    assert MAPS[form](out) == out  # idempotent


@pytest.mark.parametrize("form, text", _cases("unmappable"))
def test_texts_without_a_canonical_form_are_refused_naming_why(form, text):
    with pytest.raises(canonical.NotCanonical, match=FORMS[form].name):
        MAPS[form](text)


def test_jurisdictions(probe):
    for code in VECTORS["jurisdiction"]["canonical"]:
        assert probe.jurisdiction(code.encode()).call() is True
        assert canonical.jurisdiction(code) == code
    for code in VECTORS["jurisdiction"]["not_canonical"]:
        assert probe.jurisdiction(code.encode()).call() is False
    for case in VECTORS["jurisdiction"]["mapping"]:
        assert canonical.jurisdiction(case["input"]) == case["canonical"]
    with pytest.raises(canonical.NotCanonical):
        canonical.jurisdiction("PAK")


def test_a_reference_keeps_its_display_form():
    written = "  Lhr / Gulberg–III / Khewat 1187  "
    assert canonical.legal_reference(written) == "LHR/GULBERG-III/KHEWAT-1187"
    assert canonical.display_form(written) == "Lhr / Gulberg–III / Khewat 1187"


def _camel(form: str) -> str:
    head, *rest = form.split("_")
    return head + "".join(p.title() for p in rest)
