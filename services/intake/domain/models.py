"""What a submission is on each channel, and the registered case it becomes."""

import unicodedata
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from services.intake.domain.agent_filing import AgentFiling
from services.intake.domain.identity import PHONE, email_problem, id_number_problem

MAX_TEXT = 5000
MAX_REPRESENTATIVES = 5
COLLECTIVE_VISIT_AT = 5  # 集体访: five or more people choose up to five representatives


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


# Petition channels need a named petitioner; the hotline, 110 transfers and grid reports may be anonymous.
NAMED_CHANNELS = frozenset(
    {Channel.PETITION_VISIT, Channel.PETITION_LETTER, Channel.PETITION_ONLINE, Channel.VIDEO}
)


def normalize_text(text: str) -> str:
    """Full-width digits and letters to half-width (NFKC), runs of whitespace to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _operator_keys(value: Any, path: str = "") -> list[str]:
    """Paths of object keys that MongoDB would read as operators or field paths."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).startswith("$") or "." in str(key) or "\x00" in str(key):
                found.append(here)
            found += _operator_keys(inner, here)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _operator_keys(inner, f"{path}[{i}]")
    return found


class Person(BaseModel):
    """A petitioner or representative; every field optional, since anonymous hotline cases are allowed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = Field(None, description="mobile 1xxxxxxxxxx or landline 0xxx-xxxxxxx")
    id_number: str | None = Field(None, description="18-digit resident identity number (公民身份号码)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return normalize_text(value) if value is not None else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = normalize_text(value).replace(" ", "")
        if not PHONE.match(value):
            raise ValueError("not a mainland mobile (11 digits starting 1) or landline (0xxx-xxxxxxx) number")
        return value

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = normalize_text(value).replace(" ", "").upper()
        problem = id_number_problem(value)
        if problem:
            raise ValueError(f"not a valid resident ID number: {problem}")
        return value


class Petitioner(Person):
    """Who asks."""

    anonymous: bool = False
    email: str | None = Field(
        None,
        max_length=254,
        description="e-mail address, for notices by e-mail (`notify_channel` `email` needs it); stored "
        "encrypted and masked like the phone",
    )
    postal_address: str | None = Field(
        None,
        min_length=5,
        max_length=200,
        description="where a letter by post reaches the petitioner (`notify_channel` `post`); stored "
        "encrypted and masked like the phone, sealed for notify, which opens it only to print the letter",
    )
    notify_channel: Literal["sms", "email", "inbox", "post"] | None = Field(
        None,
        description="how the petitioner chose to be told (SMS, e-mail, the inbox the portal and the window "
        "read, or a letter by post); default: SMS when a phone is given, else the inbox (docs/notify.md)",
    )
    language: str | None = Field(
        None,
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
        description="the language to be told in (a code the county package lists in documents.json "
        "`languages`); one without templates falls back to the county's first, recorded on each message",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = normalize_text(value)  # full-width characters to ASCII; a space inside is refused
        problem = email_problem(value)
        if problem:
            raise ValueError(f"not an e-mail address: {problem}")
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"

    @field_validator("postal_address")
    @classmethod
    def _postal_address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = normalize_text(value)  # full-width digits to ASCII, runs of whitespace to one space
        if len(value) < 5:
            raise ValueError("a postal address names the place and the street or village (5 characters)")
        if not any(ch.isalpha() for ch in value):
            raise ValueError("a postal address names a place, not only numbers")
        return value

    @model_validator(mode="after")
    def _anonymous_has_no_identity(self) -> "Petitioner":
        given = (self.name, self.phone, self.id_number, self.email, self.postal_address)
        if self.anonymous and any(given):
            raise ValueError("an anonymous petitioner gives no name, phone, e-mail, address or ID number")
        return self


class GridWorker(BaseModel):
    """The grid worker (网格员) who reports."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(None, max_length=50)


class ExternalRef(BaseModel):
    """The case's identity in the system that sent it (12345 platform, 110, grid app...)."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    id: str = Field(min_length=1, max_length=128)


class SubmitCase(BaseModel):
    """A citizen request as any channel submits it."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    address: str | None = Field(None, min_length=1, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    people_count: int | None = Field(None, ge=1, le=100_000)
    petitioner: Petitioner | None = None
    representatives: list[Person] | None = Field(None, max_length=MAX_REPRESENTATIVES)
    police_incident_no: str | None = Field(None, min_length=4, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    grid_worker: GridWorker | None = None
    campaign: str | None = Field(None, min_length=1, max_length=100, description="the screening campaign")
    external_ref: ExternalRef | None = None
    agent_filing: AgentFiling | None = Field(
        None, description="a proxy agent's filing (role proxy_agent only, and required of it): the consent"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_operator_keys(cls, data: Any) -> Any:
        bad = _operator_keys(data)
        if bad:
            raise ValueError(
                f"keys that look like database operators or paths are not allowed: {', '.join(bad)}"
            )
        return data

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not normalize_text(value):
            raise ValueError("text is empty after removing whitespace")
        return value

    @model_validator(mode="after")
    def _channel_rules(self) -> "SubmitCase":
        """Each channel's own required fields, reported one entry per field with its path."""
        problems: list[tuple[tuple[str, ...], str]] = []
        if (self.lon is None) != (self.lat is None):
            problems.append((("lat" if self.lat is None else "lon",), "lon and lat must be given together"))
        c = self.channel
        if c in NAMED_CHANNELS and (
            self.petitioner is None or self.petitioner.anonymous or not self.petitioner.name
        ):
            problems.append((("petitioner", "name"), f"channel {c} needs a named petitioner"))
        p = self.petitioner
        if p is not None and p.notify_channel == "email" and not p.email:
            problems.append((("petitioner", "email"), "notify_channel email needs the petitioner's e-mail"))
        if c == Channel.PETITION_VISIT:
            if self.people_count is None:
                problems.append((("people_count",), "channel petition_visit records people_count"))
            elif self.people_count >= COLLECTIVE_VISIT_AT and not self.representatives:
                problems.append(
                    (
                        ("representatives",),
                        f"a visit of {COLLECTIVE_VISIT_AT} or more people (集体访) names 1 to "
                        f"{MAX_REPRESENTATIVES} representatives",
                    )
                )
        if self.representatives and (self.people_count or 0) < COLLECTIVE_VISIT_AT:
            problems.append(
                (
                    ("representatives",),
                    f"representatives are for visits of {COLLECTIVE_VISIT_AT} or more people",
                )
            )
        if c == Channel.POLICE_110 and not self.police_incident_no:
            problems.append(
                (("police_incident_no",), "channel police_110 carries the police incident number")
            )
        if c == Channel.GRID_REPORT and self.grid_worker is None:
            problems.append((("grid_worker",), "channel grid_report carries the reporting grid worker"))
        if c == Channel.PROACTIVE and not self.campaign:
            problems.append((("campaign",), "channel proactive (未诉先办) names its screening campaign"))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("channel_field", msg), loc=loc, input=getattr(self, loc[0])
                    )
                    for loc, msg in problems
                ],
            )
        return self


class Registered(BaseModel):
    """What the submitter is told: the case's identity and status."""

    case_id: str
    case_no: str
    status: str
