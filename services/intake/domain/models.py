"""What a submission is, and the registered case it becomes."""

import re
import unicodedata
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


class Channel(StrEnum):
    """The doors a request comes in by."""

    HOTLINE_12345 = "hotline_12345"
    PETITION_VISIT = "petition_visit"
    PETITION_LETTER = "petition_letter"
    PETITION_ONLINE = "petition_online"
    POLICE_110 = "police_110"
    GRID_REPORT = "grid_report"
    VIDEO = "video"
    PROACTIVE = "proactive"


def normalize_text(text: str) -> str:
    """Full-width digits and letters to half-width (NFKC), runs of whitespace to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


class Petitioner(BaseModel):
    """Who asks; every field optional, since anonymous hotline cases are allowed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = Field(None, description="mobile 1xxxxxxxxxx or landline 0xxx-xxxxxxx")
    anonymous: bool = False

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = normalize_text(value).replace(" ", "")
        if not PHONE.match(value):
            raise ValueError("not a mainland mobile (11 digits starting 1) or landline (0xxx-xxxxxxx) number")
        return value


class SubmitCase(BaseModel):
    """A citizen request as any channel submits it."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    text: str = Field(min_length=1, max_length=5000)
    address: str | None = Field(None, min_length=1, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    people_count: int | None = Field(None, ge=1, le=100_000)
    petitioner: Petitioner | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not normalize_text(value):
            raise ValueError("text is empty after removing whitespace")
        return value

    @model_validator(mode="after")
    def _both_coordinates(self) -> "SubmitCase":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must be given together")
        return self


class Registered(BaseModel):
    """What the submitter is told: the case's identity and status."""

    case_id: str
    case_no: str
    status: str
