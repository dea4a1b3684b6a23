"""What a registrar writes down, as pydantic v2 models.

Specs load from TOML or JSON (:func:`load_spec`) and CSV rows (:func:`load_csv`);
a bad field raises :class:`SpecError` naming the file (and line) and the field.
Everything that can be checked without a chain is checked here, before anything
is sent: document and receipt files are read and hashed (SHA-256) when the spec
loads, legal references, symbols and document names are mapped to their canonical
forms (:mod:`rwaledger.canonical`), addresses must carry their EIP-55 checksum,
countries are ISO 3166 (alpha-2 in files, the numeric code on chain), currencies
ISO 4217, and an empty or header-only CSV is an error.

Pure logic: the only I/O is reading the spec, CSV and document files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import tomllib
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pycountry
from eth_utils import is_address, is_checksum_address, keccak
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from . import canonical
from .errors import RwaError


class SpecError(RwaError):
    """A spec file or request is invalid; the message names the file and the field. ``field`` (the dotted path of
    the offending field), ``file`` and ``line`` (of a CSV row) are kept apart too, where known, for an API's answer."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None):
        super().__init__(message)
        self.field = field
        self.file, self.line = _split_source(source)


def _split_source(source: str | None) -> tuple[str | None, int | None]:
    """("file", line) of a "file:line" source; (source, None) without a line."""
    if not source:
        return None, None
    head, _, tail = source.rpartition(":")
    return (head, int(tail)) if head and tail.isdigit() else (source, None)


# --- field types -------------------------------------------------------------------


def _checksum_address(value: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    if not is_checksum_address(value):
        body = value[2:]
        if body == body.lower() or body == body.upper():
            raise ValueError(f"address {value!r} carries no EIP-55 checksum (it is all one case): copy it exactly as "
                             "the wallet shows it, in mixed case, so that a typo cannot go unnoticed")
        raise ValueError(f"bad checksum in address {value!r}: a character is wrong (EIP-55)")
    return value


def _country(value: str | int) -> str:
    text = str(value).strip()
    found = pycountry.countries.get(numeric=text.zfill(3)) if text.isdigit() else pycountry.countries.get(alpha_2=text.upper())
    if found is None:
        raise ValueError(f"unknown ISO 3166 country {value!r} (use a code such as PK, AE, GB)")
    return found.alpha_2


def _currency(value: str) -> str:
    if pycountry.currencies.get(alpha_3=str(value).upper()) is None:
        raise ValueError(f"unknown ISO 4217 currency {value!r} (use a code such as PKR, USD)")
    return str(value).upper()


def _canonical(fn):
    def check(value: str) -> str:
        try:
            return fn(value)
        except canonical.NotCanonical as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(check)


Address = Annotated[str, AfterValidator(_checksum_address)]
LegalReference = Annotated[str, _canonical(canonical.legal_reference)]
Symbol = Annotated[str, _canonical(canonical.symbol)]
DocumentName = Annotated[str, _canonical(canonical.document_name)]
Country = Annotated[str, AfterValidator(_country)]
Currency = Annotated[str, AfterValidator(_currency)]
PositiveInt = Annotated[int, Field(gt=0)]


def country_numeric(alpha2: str) -> int:
    """ISO 3166 numeric code (as stored on chain) of an alpha-2 code."""
    return int(pycountry.countries.get(alpha_2=alpha2).numeric)


def country_alpha2(numeric: int) -> str:
    found = pycountry.countries.get(numeric=f"{int(numeric):03d}")
    return found.alpha_2 if found else str(numeric)


class InvestorCategory(IntEnum):
    """On-chain investor categories (IdentityRegistry)."""

    retail = 1
    accredited = 2
    institutional = 3


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    _source: str = PrivateAttr(default="input")  # where it was read: "file:line", for errors found later

    @property
    def source(self) -> str:
        return self._source


def _sha256_file(path: Path) -> bytes:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None


# --- assets ----------------------------------------------------------------------


class Valuation(Strict):
    amount: Annotated[Decimal, Field(gt=0)]
    currency: Currency
    date: dt.date

    @field_validator("amount")
    @classmethod
    def _two_decimals(cls, value: Decimal) -> Decimal:
        if value != value.quantize(Decimal("0.01")):
            raise ValueError(f"{value} has more than two decimals (the chain keeps minor units, e.g. paisa)")
        return value

    def minor_units(self) -> int:
        """The amount in the currency's minor unit (e.g. paisa), as stored on chain."""
        return int(self.amount * 100)


class DocumentSpec(Strict):
    """A document kept with an asset: the file is read and hashed (SHA-256) when the spec is validated, so a
    missing file fails before anything is sent. ``name`` is mapped to its canonical form ("Title Deed" ->
    "title-deed")."""

    name: DocumentName
    file: Path
    uri: Annotated[str, Field(min_length=1)]
    effective_date: dt.date
    _digest: bytes = PrivateAttr(default=b"")

    @model_validator(mode="after")
    def _hash_file(self) -> "DocumentSpec":
        self._digest = _sha256_file(self.file)
        return self

    def sha256(self) -> bytes:
        return self._digest


class TransferRules(Strict):
    """Transfer rules of a token; every field is optional (absent = rule off)."""

    allowed_countries: list[Country] | None = None
    blocked_countries: list[Country] | None = None
    max_holders: PositiveInt | None = None  # investors, all their wallets counted once
    max_balance: PositiveInt | None = None  # per investor, summed over its wallets (smallest units)
    lockup_until: dt.datetime | None = None
    max_retail_holders: PositiveInt | None = None
    max_accredited_holders: PositiveInt | None = None
    max_institutional_holders: PositiveInt | None = None
    max_foreign_holders: PositiveInt | None = None  # investors from outside the asset's jurisdiction
    max_foreign_share_percent: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)] | None = None

    @model_validator(mode="after")
    def _one_country_mode(self) -> "TransferRules":
        if self.allowed_countries and self.blocked_countries:
            raise ValueError("give allowed_countries or blocked_countries, not both")
        return self

    def category_caps(self) -> tuple[int, int, int]:
        return (self.max_retail_holders or 0, self.max_accredited_holders or 0, self.max_institutional_holders or 0)

    def foreign_caps(self) -> tuple[int, int]:
        """(max foreign holders, max foreign share in basis points); 0 = no cap."""
        share = int(self.max_foreign_share_percent * 100) if self.max_foreign_share_percent else 0
        return (self.max_foreign_holders or 0, share)


class LotSpec(Strict):
    """A custody lot a custodian attests (a warehouse receipt in a vault). The receipt file is hashed when the spec
    is validated."""

    lot_id: Annotated[str, Field(min_length=1, max_length=32)]
    vault: Annotated[str, Field(min_length=1)]
    quantity: PositiveInt  # in the token's smallest unit
    receipt_file: Path | None = None
    receipt_sha256: Annotated[str, Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$")] | None = None
    _digest: bytes = PrivateAttr(default=b"")

    @model_validator(mode="after")
    def _one_receipt(self) -> "LotSpec":
        if (self.receipt_file is None) == (self.receipt_sha256 is None):
            raise ValueError("give exactly one of receipt_file or receipt_sha256")
        self._digest = (
            bytes.fromhex(self.receipt_sha256.removeprefix("0x")) if self.receipt_sha256
            else _sha256_file(self.receipt_file)  # type: ignore[arg-type]
        )
        return self

    def receipt_hash(self) -> bytes:
        return self._digest


class _AssetBase(Strict):
    """``legal_reference`` is kept as written (the display form); :attr:`canonical_reference` is the key the
    registry stores, the same for every spelling of the parcel."""

    name: Annotated[str, Field(min_length=1, max_length=31)]
    symbol: Symbol
    legal_reference: Annotated[str, Field(min_length=1, max_length=256)]
    jurisdiction: Country
    location: Annotated[str, Field(min_length=1)]
    metadata_uri: Annotated[str, Field(min_length=1)]
    valuation: Valuation
    documents: list[DocumentSpec] = []
    rules: TransferRules = TransferRules()
    activate: bool = True  # set the asset Active (able to mint) once it is set up

    @field_validator("legal_reference")
    @classmethod
    def _has_canonical_form(cls, value: str) -> str:
        try:
            canonical.legal_reference(value)
        except canonical.NotCanonical as exc:
            raise ValueError(str(exc)) from None
        return canonical.display_form(value)

    @field_validator("documents")
    @classmethod
    def _unique_document_names(cls, docs: list[DocumentSpec]) -> list[DocumentSpec]:
        seen: dict[str, int] = {}
        for i, d in enumerate(docs):
            if d.name in seen:
                raise ValueError(f"documents {seen[d.name]} and {i} are both named {d.name!r}")
            seen[d.name] = i
        return docs

    @property
    def canonical_reference(self) -> str:
        return canonical.legal_reference(self.legal_reference)

    @property
    def display_reference(self) -> str:
        """What the registry keeps beside the key: empty when the reference is written canonically."""
        return "" if self.legal_reference == self.canonical_reference else self.legal_reference


class PropertySpec(_AssetBase):
    """A property (land, apartment) split into a fixed number of shares."""

    kind: Literal["property"] = "property"
    total_shares: PositiveInt
    decimals: Annotated[int, Field(ge=0, le=18)] = 0


class CommoditySpec(_AssetBase):
    """A commodity held in custody, tokenized in units (grams, kilograms, bales)."""

    kind: Literal["commodity"] = "commodity"
    unit: Annotated[str, Field(min_length=1, max_length=16)]
    decimals: Annotated[int, Field(ge=0, le=18)] = 0
    lots: list[LotSpec] = []

    @field_validator("lots")
    @classmethod
    def _unique_lot_ids(cls, lots: list[LotSpec]) -> list[LotSpec]:
        seen: dict[str, int] = {}
        for i, lot in enumerate(lots):
            if lot.lot_id in seen:
                raise ValueError(f"lots {seen[lot.lot_id]} and {i} have the same lot_id {lot.lot_id!r}")
            seen[lot.lot_id] = i
        return lots


AssetSpec = Annotated[Union[PropertySpec, CommoditySpec], Field(discriminator="kind")]


# --- investors and requests ------------------------------------------------------


class InvestorSpec(Strict):
    """One wallet of an investor. A row without ``investor`` is an investor's first wallet (its id); a row with
    ``investor`` (any wallet of an investor registered earlier, on chain or in the same file) adds a further
    wallet to that investor, and then country, KYC expiry and category may be left out. ``category`` left out on
    an existing investor keeps its category (a new investor is retail)."""

    wallet: Address
    country: Country | None = None
    kyc_expiry: dt.date | None = None
    category: InvestorCategory | None = None
    label: str | None = None  # an off-chain name for reports; never written on chain
    investor: Address | None = None

    @model_validator(mode="after")
    def _first_wallet_has_identity(self) -> "InvestorSpec":
        if self.investor is None and (self.country is None or self.kyc_expiry is None):
            raise ValueError("an investor's first wallet needs country and kyc_expiry (or give `investor` to add "
                             "this wallet to an investor)")
        if self.investor == self.wallet:
            raise ValueError("`investor` names the wallet itself")
        return self

    @field_validator("category", mode="before")
    @classmethod
    def _category_name(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.isdigit():
            try:
                return InvestorCategory[value.strip().lower()]
            except KeyError:
                raise ValueError(f"category must be retail, accredited or institutional, not {value!r}") from None
        return value

    def kyc_expiry_timestamp(self) -> int:
        assert self.kyc_expiry is not None
        return int(dt.datetime.combine(self.kyc_expiry, dt.time(23, 59, 59), dt.timezone.utc).timestamp())


ALLOCATION_NAMESPACE = "rwaledger/allocation/v1"


def allocation_ref(reference: str | None, to: str, amount: int) -> bytes:
    """The on-chain ``bytes32`` reference of one allocation: from its own reference (e.g. a sale-deed number)
    when it has one, so that the same allocation maps to the same reference whichever file, order, chunk or
    command mints it; else from its recipient and amount (smallest units)."""
    if reference:
        return keccak(text=f"{ALLOCATION_NAMESPACE}|ref|{reference}")
    return keccak(text=f"{ALLOCATION_NAMESPACE}|auto|{to}|{amount}")


class MintRequest(Strict):
    """Mint ``amount`` of ``asset`` to ``to`` for one allocation; it mints once, ever (see :func:`allocation_ref`).
    ``amount`` is an integer of smallest units or a quantity in the asset's unit (``"10.5 kg"``, ``"100 shares"``),
    converted with the token's decimals by the service."""

    asset: Annotated[str, Field(min_length=1)]  # symbol or asset id
    to: Address
    amount: Annotated[Union[int, str], Field(union_mode="left_to_right")]
    reference: Annotated[str, Field(min_length=1, max_length=200)] | None = None  # e.g. a sale-deed number

    @field_validator("amount")
    @classmethod
    def _readable(cls, value: int | str) -> int | str:
        from .amounts import AmountError, check_syntax

        try:  # the syntax now; the token's decimals and unit later, in the service
            check_syntax(value)
        except AmountError as exc:
            raise ValueError(str(exc).removeprefix("amount: ")) from None
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class TransferRequest(Strict):
    asset: Annotated[str, Field(min_length=1)]
    to: Address
    amount: Annotated[Union[int, str], Field(union_mode="left_to_right")]

    _readable = field_validator("amount")(MintRequest._readable.__func__)  # type: ignore[attr-defined]


class ForcedTransferRequest(Strict):
    """A registrar's forced transfer (a court order): within the recipient's rules; frozen units only if asked."""

    asset: Annotated[str, Field(min_length=1)]
    sender: Address
    to: Address
    amount: Annotated[Union[int, str], Field(union_mode="left_to_right")]
    reason: Annotated[str, Field(min_length=1, max_length=200)]
    include_frozen: bool = False

    _readable = field_validator("amount")(MintRequest._readable.__func__)  # type: ignore[attr-defined]


class FreezeRequest(Strict):
    """Freeze (or, with ``frozen`` false, unfreeze) a wallet in one token: the compliance officer's act."""

    asset: Annotated[str, Field(min_length=1)]
    wallet: Address
    frozen: bool = True


class PartialFreezeRequest(Strict):
    """Freeze (or, with ``frozen`` false, unfreeze) ``amount`` of a wallet's units in one token; the rest stays free
    to move: the compliance officer's act."""

    asset: Annotated[str, Field(min_length=1)]
    wallet: Address
    amount: Annotated[Union[int, str], Field(union_mode="left_to_right")]
    frozen: bool = True

    _readable = field_validator("amount")(MintRequest._readable.__func__)  # type: ignore[attr-defined]


Sha256Hex = Annotated[str, Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$")]


class LienRequest(Strict):
    """Encumber ``amount`` of a holder's units for a beneficiary (a mortgage, a court's charge): the registrar's
    act. ``document_sha256`` is the SHA-256 of the charge document, if there is one."""

    asset: Annotated[str, Field(min_length=1)]
    holder: Address
    beneficiary: Address
    amount: Annotated[Union[int, str], Field(union_mode="left_to_right")]
    reason: Annotated[str, Field(min_length=1, max_length=200)]
    document_sha256: Sha256Hex | None = None

    _readable = field_validator("amount")(MintRequest._readable.__func__)  # type: ignore[attr-defined]

    def document_hash(self) -> bytes | None:
        return bytes.fromhex(self.document_sha256.removeprefix("0x")) if self.document_sha256 else None


class LienReleaseRequest(Strict):
    """Release a lien of a token (the registrar's act; its beneficiary may release it with its own key too)."""

    asset: Annotated[str, Field(min_length=1)]
    lien_id: PositiveInt


class LotRequest(Strict):
    """A custodian's lot attestation of a commodity token: the lot (see :class:`LotSpec`) and its asset. The receipt
    is its SHA-256 here, or a file given beside the request (hashed as :class:`LotSpec` does)."""

    asset: Annotated[str, Field(min_length=1)]
    lot_id: Annotated[str, Field(min_length=1, max_length=32)]
    vault: Annotated[str, Field(min_length=1)]
    quantity: PositiveInt
    receipt_sha256: Sha256Hex | None = None

    def lot(self, receipt_file: Path | None = None) -> LotSpec:
        """The :class:`LotSpec` (validated as from a spec file; the receipt file is hashed)."""
        data = {"lot_id": self.lot_id, "vault": self.vault, "quantity": self.quantity,
                "receipt_sha256": self.receipt_sha256,
                "receipt_file": str(receipt_file) if receipt_file is not None else None}
        return parse(LotSpec, {k: v for k, v in data.items() if v is not None}, "lot")


class RedemptionFulfilment(Strict):
    """Deliver a pending redemption of a commodity token from custody lots, drawn in the order given (custodian)."""

    asset: Annotated[str, Field(min_length=1)]
    lot_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=32)]], Field(min_length=1)]


class RedemptionRejection(Strict):
    """Refuse a pending redemption (custodian): the holder's units are released."""

    asset: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class DistributionRequest(Strict):
    """Fund a distribution (rent, a dividend) of ``total_amount`` of ``payment_token`` (its smallest unit) pro rata to
    the cap table at ``record_block`` (default: the latest block; with ``from_ledger`` the cap table is the ledger's,
    synced first). It expires at ``expiry``, or ``expiry_days`` after the chain's time (as ``rwa distribute create``)."""

    asset: Annotated[str, Field(min_length=1)]
    payment_token: Address
    total_amount: PositiveInt
    record_block: Annotated[int, Field(ge=0)] | None = None
    expiry: dt.datetime | None = None
    expiry_days: PositiveInt = 30
    from_ledger: bool = False

    def expiry_at(self, chain_time: int) -> dt.datetime:
        """The expiry: ``expiry``, else ``expiry_days`` after ``chain_time`` (unix seconds)."""
        if self.expiry is not None:
            return self.expiry
        return dt.datetime.fromtimestamp(chain_time, dt.timezone.utc) + dt.timedelta(days=self.expiry_days)


class DistributionSpec(Strict):
    asset: Annotated[str, Field(min_length=1)]
    total_amount: PositiveInt  # in the payment token's smallest unit
    record_block: Annotated[int, Field(ge=0)] | None = None  # default: the latest block
    expiry: dt.datetime
    description: str = ""


# --- loading -----------------------------------------------------------------------


def _format_error(exc: ValidationError, source: str) -> SpecError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"] if p not in ("property", "commodity")) or "(root)"
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return SpecError(f"{source}: field {field}: {msg}{more}", field=field, source=source)


def read_mapping(text: str, name: str | Path) -> dict[str, Any]:
    """The mapping of a spec's ``text``, TOML or JSON by the suffix of its file ``name``."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{name}: not valid {suffix[1:].upper()}: {exc}") from None
    raise SpecError(f"{name}: spec files are .toml or .json")


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None
    return read_mapping(text, path)


SPEC_FILE_FIELDS = (("documents", "file"), ("lots", "receipt_file"))  # the file paths a spec names


def map_spec_files(data: dict[str, Any], resolve: Any) -> dict[str, Any]:
    """Replace every file path a spec mapping names (documents' ``file``, lots' ``receipt_file``) by
    ``resolve(path, field)`` (``field`` as a validation error names it, e.g. ``documents.0.file``), in place, before
    the spec is validated; returns ``data``."""
    for key, name in SPEC_FILE_FIELDS:
        items = data.get(key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get(name), str):
                item[name] = resolve(item[name], f"{key}.{i}.{name}")
    return data


def parse(model: Any, data: Any, source: str = "input") -> Any:
    """Validate ``data`` as ``model`` (a model class or an annotated type); errors name ``source`` and the field."""
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        raise _format_error(exc, source) from None


def load_spec(path: str | Path, model: Any = AssetSpec) -> Any:
    """Load a TOML/JSON spec file. Relative document paths are resolved against the file's folder."""
    path = Path(path)
    data = map_spec_files(_read_mapping(path), lambda name, _field: str((path.parent / name).resolve()))
    return parse(model, data, str(path))


def load_csv(path: str | Path, model: Any) -> list[Any]:
    """Load one model per CSV row; errors name the file, the line and the field. Each model's ``source`` is its
    "file:line". An empty file, a file with only a header, or a header missing a required column is an error."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return parse_csv(f, model, str(path))
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None


def load_csv_bytes(content: bytes, model: Any, name: str) -> list[Any]:
    """:func:`load_csv` of a file's ``content`` (e.g. an upload); errors and sources name ``name``."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{name}: not a UTF-8 CSV file: {exc}", source=name) from None
    return parse_csv(io.StringIO(text, newline=""), model, name)


def parse_csv(f: Any, model: Any, path: str) -> list[Any]:
    """The rows of an open CSV text file ``f`` as :func:`load_csv` reads them; errors name ``path`` (the first bad
    row's error is raised)."""
    out = []
    for _, _, item in csv_rows(f, model, path):
        if isinstance(item, SpecError):
            raise item
        out.append(item)
    if not out:
        raise SpecError(f"{path}: no rows after the header: nothing to do", source=path)
    return out


def csv_rows(f: Any, model: Any, path: str) -> list[tuple[int, dict[str, str], Any]]:
    """Every data row of an open CSV text file ``f``: ``(line, cells, item)``, ``item`` the row parsed as ``model``
    or the :class:`SpecError` that row gets (a preview shows them all; :func:`parse_csv` raises the first). A
    problem of the whole file (not UTF-8, no header, an unknown or missing column) is raised."""
    try:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = [h.strip() for h in (reader.fieldnames or []) if h]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(f"{path}: not a UTF-8 CSV file: {exc}", source=path) from None
    if not header:
        raise SpecError(f"{path}: the file is empty (expected a header line and at least one row)", source=path)
    fields = getattr(model, "model_fields", {})
    unknown = [h for h in header if fields and h not in fields]
    if unknown:
        raise SpecError(f"{path}:1: unknown column {unknown[0]!r} (columns: {', '.join(fields)})", field=unknown[0],
                        source=f"{path}:1")
    missing = [n for n, f in fields.items() if f.is_required() and n not in header]
    if missing:
        raise SpecError(f"{path}:1: missing column {missing[0]!r}", field=missing[0], source=f"{path}:1")
    out: list[tuple[int, dict[str, str], Any]] = []
    for line, row in enumerate(rows, start=2):
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if None in row:
            out.append((line, cells, SpecError(f"{path}:{line}: more values than the header has columns",
                                               source=f"{path}:{line}")))
            continue
        clean = {k: v for k, v in cells.items() if v != ""}
        if not clean:
            continue  # a blank line
        try:
            item = parse(model, clean, f"{path}:{line}")
        except SpecError as exc:
            out.append((line, cells, exc))
            continue
        item._source = f"{path}:{line}"
        out.append((line, cells, item))
    return out


def csv_rows_bytes(content: bytes, model: Any, name: str) -> list[tuple[int, dict[str, str], Any]]:
    """:func:`csv_rows` of a file's ``content`` (e.g. an upload)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{name}: not a UTF-8 CSV file: {exc}", source=name) from None
    return csv_rows(io.StringIO(text, newline=""), model, name)


def load_rules(path: str | Path, model: Any) -> Any:
    """Load transfer rules from a TOML/JSON file: a ``[rules]`` table (an asset spec works too) or the rule
    fields at the top level."""
    path = Path(path)
    data = _read_mapping(path)
    rules = data["rules"] if isinstance(data.get("rules"), dict) else data
    return parse(model, rules, f"{path} [rules]" if rules is not data else str(path))
