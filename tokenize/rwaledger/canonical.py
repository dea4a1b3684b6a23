"""Canonical forms of what identifies a parcel, a token and a document (pure; no I/O).

The asset registry accepts only canonical ASCII, checked byte by byte on chain (``contracts/utils/CanonicalText.sol``),
so no client can register a spelling variant of a parcel. This module maps what people type into those forms and
checks them the same way; both sides are tested against the same vectors (``tests/vectors/canonical.json``).

A canonical text is one or more *parts* of alphanumerics separated by exactly one separator (none first, last or
next to another):

================  ==============  ===========  ======
form              alphanumerics   separators   length
================  ==============  ===========  ======
legal reference   ``A-Z 0-9``     ``/ - .``    1..128
symbol            ``A-Z 0-9``     ``-``        1..11
document name     ``a-z 0-9``     ``-``        1..64
jurisdiction      two letters ``A-Z`` (ISO 3166-1 alpha-2)
================  ==============  ===========  ======

Mapping (:func:`legal_reference`, :func:`symbol`, :func:`document_name`): Unicode NFKC; format characters (zero-width
spaces and joiners, soft hyphens, BOM: category ``Cf``) removed; every dash (category ``Pd``, the minus sign) and
every whitespace character becomes ``-``; a run of separators becomes its strongest one (``/`` over ``.`` over
``-``); separators at either end are dropped; then upper case (lower case for document names). Any other character
is an error that names it. Document names are more lenient: any punctuation separates parts.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass

from .errors import RwaError

OK = 2**256 - 1  # what the on-chain checks return for a canonical text

_UPPER_ALNUM = frozenset(string.ascii_uppercase + string.digits)
_LOWER_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_DASHES = frozenset("\u2212\u2043\ufe63\uff0d")  # minus sign, hyphen bullet, small/fullwidth hyphen-minus (+ all Pd)


class NotCanonical(RwaError):
    """A text has no canonical form (a character outside the alphabet), or is empty or too long."""


@dataclass(frozen=True)
class Form:
    name: str
    alnum: frozenset[str]
    separators: str  # strongest first
    max_length: int


LEGAL_REFERENCE = Form("legal reference", _UPPER_ALNUM, "/.-", 128)
SYMBOL = Form("symbol", _UPPER_ALNUM, "-", 11)
DOCUMENT_NAME = Form("document name", _LOWER_ALNUM, "-", 64)


def check(text: str | bytes, form: Form) -> int:
    """The position of the first byte breaking ``form`` (as the contract reports it), or :data:`OK`."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if not data:
        return 0
    if len(data) > form.max_length:
        return form.max_length
    after_separator = True
    for i, byte in enumerate(data):
        ch = chr(byte)
        if ch in form.alnum:
            after_separator = False
        elif ch in form.separators and not after_separator:
            after_separator = True
        else:
            return i
    return len(data) - 1 if after_separator else OK


def is_canonical(text: str, form: Form) -> bool:
    return check(text, form) == OK


def _is_dash(ch: str) -> bool:
    return ch in _DASHES or unicodedata.category(ch) == "Pd"


def _map(text: str, form: Form, *, upper: bool, lenient: bool) -> str:
    if not isinstance(text, str):
        raise NotCanonical(f"{form.name} must be text, not {type(text).__name__}")
    normal = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    run: list[str] = []  # pending separators

    def flush_run() -> None:
        if run and out:
            out.append(next(s for s in form.separators if s in run))
        run.clear()

    for ch in normal:
        if unicodedata.category(ch) == "Cf":
            continue  # zero-width space/joiner, soft hyphen, BOM...
        mapped = ch.upper() if upper else ch.lower()
        if len(mapped) == 1 and mapped in form.alnum:
            flush_run()
            out.append(mapped)
        elif ch.isspace() or _is_dash(ch):
            run.append("-" if "-" in form.separators else form.separators[-1])
        elif ch in form.separators:
            run.append(ch)
        elif lenient and not ch.isalnum():
            run.append(form.separators[-1])
        else:
            raise NotCanonical(
                f"{form.name} {text!r}: character {ch!r} (U+{ord(ch):04X}) has no canonical form "
                f"(use {'A-Z 0-9' if upper else 'a-z 0-9'} and {' '.join(form.separators)} between parts)"
            )
    result = "".join(out)  # a trailing run is dropped with the run itself
    if not result:
        raise NotCanonical(f"{form.name} {text!r} has no letters or digits")
    if len(result) > form.max_length:
        raise NotCanonical(f"{form.name} {text!r} is {len(result)} characters in canonical form (at most {form.max_length})")
    assert is_canonical(result, form), result
    return result


def legal_reference(text: str) -> str:
    """The canonical form of a legal reference as people write it: ``"lhr / gulberg–iii  khewat 1187"`` ->
    ``"LHR/GULBERG-III-KHEWAT-1187"``."""
    return _map(text, LEGAL_REFERENCE, upper=True, lenient=False)


def symbol(text: str) -> str:
    """The canonical form of a token symbol: ``"lhr gh12b"`` -> ``"LHR-GH12B"``."""
    return _map(text, SYMBOL, upper=True, lenient=False)


def document_name(text: str) -> str:
    """The canonical form of a document name: ``"Title Deed (Fard)"`` -> ``"title-deed-fard"``."""
    return _map(text, DOCUMENT_NAME, upper=False, lenient=True)


def jurisdiction(text: str) -> str:
    """Two upper-case letters: ``" pk "`` -> ``"PK"`` (whether it is a real ISO 3166 code is checked by the models)."""
    code = unicodedata.normalize("NFKC", str(text)).strip().upper()
    if len(code) != 2 or not all(c in string.ascii_uppercase for c in code):
        raise NotCanonical(f"jurisdiction {text!r} is not a two-letter ISO 3166-1 alpha-2 code")
    return code


def display_form(text: str) -> str:
    """The reference as written, kept beside the canonical form: NFC, surrounding whitespace trimmed."""
    return unicodedata.normalize("NFC", text).strip()
