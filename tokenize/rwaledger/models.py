"""What a registrar writes down, as pydantic v2 models.

Specs load from TOML or JSON (:func:`load_spec`); a bad field raises
:class:`SpecError` naming the field and the file. Documents name a file and the
service hashes it itself (SHA-256); countries are ISO 3166 (alpha-2 in files,
the numeric code on chain); currencies ISO 4217.

Pure logic: the only I/O is reading the spec and document files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import tomllib
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pycountry
from eth_utils import keccak
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from web3 import Web3

from .errors import RwaError


class SpecError(RwaError):
    """A spec file or request is invalid; the message names the file and the field."""


# --- field types -------------------------------------------------------------------


def _checksum_address(value: str) -> str:
    if not isinstance(value, str) or not Web3.is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    if value != value.lower() and value != value.upper().replace("0X", "0x") and not Web3.is_checksum_address(value):
        raise ValueError(f"bad checksum in address {value!r} (mixed case must be a valid EIP-55 checksum)")
    return Web3.to_checksum_address(value)


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


Address = Annotated[str, AfterValidator(_checksum_address)]
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


# --- assets ----------------------------------------------------------------------


class Valuation(Strict):
    amount: Annotated[Decimal, Field(gt=0)]
    currency: Currency
    date: dt.date

    def minor_units(self) -> int:
        """The amount in the currency's minor unit (e.g. paisa), as stored on chain."""
        return int(self.amount * 100)


class DocumentSpec(Strict):
    """A document kept with an asset: the service hashes ``file`` itself."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    file: Path
    uri: Annotated[str, Field(min_length=1)]
    effective_date: dt.date

    def sha256(self, base: Path | None = None) -> bytes:
        path = self.file if self.file.is_absolute() or base is None else base / self.file
        try:
            return hashlib.sha256(path.read_bytes()).digest()
        except OSError as exc:
            raise SpecError(f"document {self.name!r}: cannot read {path}: {exc.strerror}") from None


class TransferRules(Strict):
    """Transfer rules of a token; every field is optional (absent = rule off)."""

    allowed_countries: list[Country] | None = None
    blocked_countries: list[Country] | None = None
    max_holders: PositiveInt | None = None
    max_balance: PositiveInt | None = None
    lockup_until: dt.datetime | None = None

    @model_validator(mode="after")
    def _one_country_mode(self) -> "TransferRules":
        if self.allowed_countries and self.blocked_countries:
            raise ValueError("give allowed_countries or blocked_countries, not both")
        return self


class LotSpec(Strict):
    """A custody lot a custodian attests (a warehouse receipt in a vault)."""

    lot_id: Annotated[str, Field(min_length=1, max_length=32)]
    vault: Annotated[str, Field(min_length=1)]
    quantity: PositiveInt  # in the token's smallest unit
    receipt_file: Path | None = None
    receipt_sha256: Annotated[str, Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$")] | None = None

    @model_validator(mode="after")
    def _one_receipt(self) -> "LotSpec":
        if (self.receipt_file is None) == (self.receipt_sha256 is None):
            raise ValueError("give exactly one of receipt_file or receipt_sha256")
        return self


class _AssetBase(Strict):
    name: Annotated[str, Field(min_length=1, max_length=31)]
    symbol: Annotated[str, Field(min_length=1, max_length=11, pattern=r"^[A-Z0-9\-]+$")]
    legal_reference: Annotated[str, Field(min_length=1, max_length=128)]
    jurisdiction: Country
    location: Annotated[str, Field(min_length=1)]
    metadata_uri: Annotated[str, Field(min_length=1)]
    valuation: Valuation
    documents: list[DocumentSpec] = []
    rules: TransferRules = TransferRules()


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


AssetSpec = Annotated[Union[PropertySpec, CommoditySpec], Field(discriminator="kind")]


# --- investors and requests ------------------------------------------------------


class InvestorSpec(Strict):
    wallet: Address
    country: Country
    kyc_expiry: dt.date
    category: InvestorCategory = InvestorCategory.retail
    label: str | None = None  # an off-chain name for reports; never written on chain

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
        return int(dt.datetime.combine(self.kyc_expiry, dt.time(23, 59, 59), dt.timezone.utc).timestamp())


def _reference(*parts: Any) -> bytes:
    return keccak(text="|".join(str(p) for p in parts))


class MintRequest(Strict):
    """Mint ``amount`` of ``asset`` to ``to``; re-running the same request is a no-op."""

    asset: Annotated[str, Field(min_length=1)]  # symbol or asset id
    to: Address
    amount: PositiveInt
    reference: Annotated[str, Field(min_length=1)] | None = None  # e.g. a sale-deed number

    def idempotency_ref(self) -> bytes:
        """The on-chain ``bytes32`` reference: derived from the request, so a re-run maps to the same one."""
        return _reference("mint", self.asset, self.to, self.amount, self.reference or "")


class TransferRequest(Strict):
    asset: Annotated[str, Field(min_length=1)]
    to: Address
    amount: PositiveInt


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
    return SpecError(f"{source}: field {field}: {msg}{more}")


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json":
            return json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from None
    raise SpecError(f"{path}: spec files are .toml or .json")


def parse(model: Any, data: Any, source: str = "input") -> Any:
    """Validate ``data`` as ``model`` (a model class or an annotated type); errors name ``source`` and the field."""
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        raise _format_error(exc, source) from None


def load_spec(path: str | Path, model: Any = AssetSpec) -> Any:
    """Load a TOML/JSON spec file. Relative document paths are resolved against the file's folder."""
    path = Path(path)
    data = _read_mapping(path)
    for key, field in (("documents", "file"), ("lots", "receipt_file")):
        for item in data.get(key, []) if isinstance(data.get(key), list) else []:
            if isinstance(item, dict) and isinstance(item.get(field), str):
                item[field] = str((path.parent / item[field]).resolve())
    return parse(model, data, str(path))


def load_csv(path: str | Path, model: Any) -> list[Any]:
    """Load one model per CSV row; errors name the file, the line and the field."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None
    out = []
    for line, row in enumerate(rows, start=2):
        clean = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}
        out.append(parse(model, clean, f"{path}:{line}"))
    return out
