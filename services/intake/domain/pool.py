"""The data pool (数据池): facts from other systems, imported a batch at a time. Pure.

A batch is one file (CSV or JSON rows) from one source (a court, an arbitration commission, a
register holder) of one kind, with the date the source produced it and a licence-like note of what
its facts may be used for. Each row names a person by ID number and/or phone, which are keyed the way
intake keys a petitioner's (domain/protection.py) and then dropped: only the hashes are stored, so a
fact is found from a petitioner's keys and from nothing else. A row's other fields (a case number, a
date, an authority, a group, a short summary with phone and ID numbers masked) are what a profile shows.

Every row is checked before anything is stored; one bad row refuses the whole batch with each bad
row's number and field, so a batch is never half-imported.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dispatch_common import identity_keys
from dispatch_common.crypto import PiiKeys
from services.intake.domain.feed import masked
from services.intake.domain.identity import PHONE, id_number_problem

MAX_ROWS = 20_000


class FactRow(BaseModel):
    """One row of an import: whom it is about (ID number and/or phone) and what it says."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id_number: str | None = Field(None, description="18-digit resident ID number; hashed, never stored")
    phone: str | None = Field(None, description="phone number; hashed, never stored")
    ref: str = Field(
        min_length=1, max_length=80, description="the source's reference, e.g. a case number (案号)"
    )
    date: dt.date = Field(description="when the fact arose: judgment, listing, award, registration")
    authority: str | None = Field(None, max_length=80, description="the court, commission or register holder")
    group: str | None = Field(None, max_length=40, description="for a register: the group (e.g. veteran)")
    summary: str | None = Field(None, max_length=500, description="a short statement; numbers masked")
    until: dt.date | None = Field(None, description="when the fact stops applying (e.g. delisted)")

    @field_validator("id_number", "phone", "authority", "group", "summary", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.upper()
            problem = id_number_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        if value is not None and not PHONE.match(value):
            raise ValueError("must be a mobile number (11 digits) or a fixed line with its area code")
        return value

    @model_validator(mode="after")
    def _someone(self) -> "FactRow":
        if self.id_number is None and self.phone is None:
            raise ValueError("a row names its person by id_number or phone")
        if self.until is not None and self.until < self.date:
            raise ValueError("until is before date")
        return self


@dataclass(frozen=True)
class Parsed:
    """The rows of a batch that all validated, or every bad row's reasons (then nothing is stored)."""

    rows: list[FactRow]
    errors: list[dict[str, Any]]


def csv_rows(text: str) -> list[dict[str, Any]]:
    """The rows of a CSV text with a header line (UTF-8, an Excel BOM tolerated)."""
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def parse_rows(raw: list[dict[str, Any]], *, where: str) -> Parsed:
    """Check every row; errors are located `[where, <row number from 1>, <field>]`."""
    rows: list[FactRow] = []
    errors: list[dict[str, Any]] = []
    for number, row in enumerate(raw, start=1):
        try:
            rows.append(FactRow.model_validate(row))
        except ValidationError as exc:
            for err in exc.errors():
                field = [str(p) for p in err["loc"]] or ["row"]
                errors.append(
                    {"loc": ["body", where, number, *field], "msg": err["msg"], "type": err["type"]}
                )
    return Parsed(rows, errors)


def person_keys(keys: PiiKeys, row: FactRow) -> list[str]:
    """The keyed hashes a row's person is found by: the ones intake records a petitioner under."""
    return identity_keys.person_keys(keys, {"id_number": row.id_number, "phone": row.phone})


def fact_documents(keys: PiiKeys, rows: list[FactRow], *, kind: str) -> list[dict[str, Any]]:
    """The stored facts of a batch: one document per (row, key), `_id` `<row>:<n>` and `fact` the
    row number (the store prefixes the batch's id to both), so each key is one scalar equality (the
    embedded server does not match an element of an array field); hashes instead of the person, the
    rest as the row says it."""
    docs = []
    for n, row in enumerate(rows, start=1):
        body = {
            "fact": str(n),
            "kind": kind,
            "ref": row.ref,
            "date": row.date.isoformat(),
            "authority": row.authority,
            "group": row.group,
            "summary": masked(row.summary),
            "until": row.until.isoformat() if row.until else None,
        }
        docs += [{"_id": f"{n}:{i}", "key": key, **body} for i, key in enumerate(person_keys(keys, row))]
    return docs
