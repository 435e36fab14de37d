"""Events intake emits (see proto/schemas/events)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class PetitionerView(BaseModel):
    """The petitioner as other services may see them: masked, contact encrypted."""

    anonymous: bool
    name_masked: str | None = None
    phone_masked: str | None = None
    contact_token: str | None = None
    email_masked: str | None = None
    email_token: str | None = None  # the e-mail address sealed like the phone (crypto.email_aad)
    name_token: str | None = None  # the name sealed like the phone (crypto.name_aad), to print a letter
    address_token: str | None = None  # the postal address (crypto.address_aad), to print a letter
    notify_channel: str | None = None
    language: str | None = None
    lookup_token: str | None = None  # the lookup code, sealed for notify (domain/lookup.py)


class CaseFacts(BaseModel):
    """What every intake event tells of a case: enough for routing, with no plain personal data."""

    case_id: str
    case_no: str
    channel: str
    text: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    people_count: int | None = None
    received_at: datetime
    petitioner: PetitionerView
    withheld: bool = False  # details withheld: a confidential report, or waiting for manual screening
    submitted_by: str | None = None  # who submitted it (a user, an external system), as the credential said


class CaseReceived(CaseFacts):
    """dispatch.case.received: a case was registered."""

    external_ref: dict[str, str] | None = None
    police_incident_no: str | None = None
    grid_worker_id: str | None = None
    campaign: str | None = None
    confidential: bool = False
    lookup: dict[str, Any] | None = None  # {version, verifier}: the lookup code's verifier
    filed_by_agent: dict[str, Any] | None = None  # a proxy agent filed it: who, with what consent


class CaseScreened(CaseFacts):
    """dispatch.case.screened: the screening outcome, by the rules or by a person."""

    outcome: str
    nature: str | None
    hotline_nature: str | None
    reason: str
    rule_id: str | None
    rules_version: str
    transfer_to: str | None
    answer: str | None
    confidential: bool
    screened_by: str
    links: dict[str, Any]
    category_hint: str | None = None  # the category the submitter chose (an Open311 service_code)


class IngressRejected(BaseModel):
    """outcome.case.rejected: a submission not registered, with every reason."""

    external_ref: dict[str, str] | None
    submission_id: str
    errors: list[dict[str, Any]]


class LookupCodeChanged(BaseModel):
    """dispatch.case.lookup_code_changed: a clerk re-issued (a new verifier) or revoked (none) the code."""

    case_id: str
    case_no: str
    version: int
    verifier: str | None
    revoked: bool
    by: str
    at: datetime
