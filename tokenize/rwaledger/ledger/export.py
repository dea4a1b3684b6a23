"""Rows (query results) to CSV or JSON, to a file or a stream (stdout by default).

Exact values survive the trip: amounts and percentages are written as decimal strings (JSON numbers would
lose uint256 precision in most readers), nested values (event args, an investor's wallets) as JSON text in CSV.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Iterable, Literal, Sequence

from .errors import LedgerError

Format = Literal["csv", "json"]


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # nested rows
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # named pairs (an investor's wallets)
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclass rows (or mappings) as plain dicts of strings, bools, None, lists and dicts."""
    out = []
    for row in rows:
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            data = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
        else:
            data = dict(row)
        out.append({k: _plain(v) for k, v in data.items()})
    return out


def _format_of(dest: str | Path | IO[str] | None, fmt: str | None) -> Format:
    if fmt is None and isinstance(dest, (str, Path)):
        fmt = Path(dest).suffix.lstrip(".").lower()
    fmt = fmt or "csv"
    if fmt not in ("csv", "json"):
        raise LedgerError(f"unknown export format {fmt!r}: use csv or json")
    return fmt  # type: ignore[return-value]


def write(
    rows: Iterable[Any],
    dest: str | Path | IO[str] | None = None,
    fmt: Format | None = None,
    columns: Sequence[str] | None = None,
) -> int:
    """Write ``rows`` to ``dest`` (a path, a text stream, or stdout) as CSV or JSON (from the suffix, else
    ``fmt``, else CSV); returns the number of rows. ``columns`` names the CSV header when ``rows`` is empty."""
    data = records(rows)
    kind = _format_of(dest, fmt)
    if isinstance(dest, (str, Path)):
        path = Path(dest)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            _write(data, fh, kind, columns)
    else:
        _write(data, dest or sys.stdout, kind, columns)
    return len(data)


def _write(data: list[dict[str, Any]], fh: IO[str], kind: Format, columns: Sequence[str] | None) -> None:
    if kind == "json":
        json.dump(data, fh, indent=2)
        fh.write("\n")
        return
    header = list(columns or (data[0].keys() if data else []))
    writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in data:
        writer.writerow({k: json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else
                         ("" if v is None else v) for k, v in row.items()})


def read(source: str | Path | IO[str], fmt: Format | None = None) -> list[dict[str, Any]]:
    """Read back what :func:`write` wrote (CSV cells as strings, empty cells as None)."""
    kind = _format_of(source, fmt)
    if isinstance(source, (str, Path)):
        with Path(source).open(newline="", encoding="utf-8") as fh:
            return read(fh, kind)
    if kind == "json":
        return json.load(source)
    return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(source)]
