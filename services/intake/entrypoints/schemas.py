"""What intake's own HTTP API answers (Open311 keeps the GeoReport formats: open311_format.py)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from dispatch_common.paging import PageHead, PageOf
from services.intake.domain.models import ExternalRef, GridWorker
from services.intake.entrypoints.screening_replay_schemas import RulesApproval

MASKED_OR_CLEAR = "masked (e.g. `张*`, `138****5678`) unless read with `unmask=true` by an entitled caller"


class Location(BaseModel):
    """Where the petitioner said it is."""

    lon: float
    lat: float


class PetitionerView(BaseModel):
    """The petitioner as the registration shows them."""

    anonymous: bool
    name: str | None = Field(description=MASKED_OR_CLEAR)
    phone: str | None = Field(description=MASKED_OR_CLEAR)
    id_number: str | None = Field(description=MASKED_OR_CLEAR)
    email: str | None = Field(None, description=MASKED_OR_CLEAR + " (`z***@example.org`)")
    postal_address: str | None = Field(None, description=MASKED_OR_CLEAR + " (its first six characters kept)")


class ScreeningView(BaseModel):
    """The screening (rules' or a person's): outcome, nature, the reason the petitioner is told."""

    outcome: str | None = Field(description="`manual` while the case waits in the screening queue")
    nature: str | None
    hotline_nature: str | None
    reason: str | None = Field(description="phone and ID numbers in it masked unless read unmasked")
    rule_id: str | None
    rules_version: str | None
    transfer_to: str | None
    answer: str | None
    screened_by: str | None
    evidence: list[str] | None


class RepeatOf(BaseModel):
    """The earlier case of the same petitioner this one repeats (重复件)."""

    case_id: str
    case_no: str
    similarity: float


class IncidentOf(BaseModel):
    """The incident this case joins, with the other petitioners' matching cases."""

    incident_id: str
    case_ids: list[str]
    case_nos: list[str]
    similarity: float


class LinksView(BaseModel):
    """Intake's links of the case to earlier ones."""

    repeat_of: RepeatOf | None
    incident_of: IncidentOf | None
    evidence: list[str] = []
    earlier_cases: int = 0


class Registration(BaseModel):
    """A case's registration as intake holds it. Personal data and the free texts' phone and ID
    numbers are masked unless read with `unmask=true` (audited); the shape is the same either way.
    `ETag` on a read: the case's version, for If-Match on its screening."""

    case_id: str
    case_no: str
    channel: str
    text: str
    text_original: str | None
    address: str | None
    location: Location | None
    people_count: int | None
    status: str
    received_at: datetime
    external_ref: ExternalRef | None
    police_incident_no: str | None
    grid_worker: GridWorker | None
    campaign: str | None
    confidential: bool
    petitioner: PetitionerView
    representatives: int = Field(description="how many representatives (代表) the petitioner named")
    screening: ScreeningView
    links: LinksView


ScreeningQueuePage = PageOf[Registration]


class AuditEntry(BaseModel):
    """One read of the case's personal data in clear."""

    case_id: str
    subject: str
    role: str
    fields: list[str]
    at: datetime
    reason: str | None


class AuditLog(PageHead):
    """Who read the case's personal data in clear, oldest first, a page at a time."""

    items: list[AuditEntry]


class PetitionerHistoryView(BaseModel):
    """The petitioner's earlier cases (found by keyed hash); `known: false` with a `reason` when the
    petitioner cannot be recognised."""

    known: bool
    reason: str | None = None
    cases: int | None = None
    repeats: int | None = None
    last_case_no: str | None = None
    last_outcome: str | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None


class RulesReload(BaseModel):
    """The screening rules now in force, here and in every replica."""

    version: str
    digest: str = Field(description="the content hash of the two rules files")
    approval: RulesApproval | None = Field(
        None, description="the screening replay report the rules were activated on (a reload naming a replay)"
    )
    replicas: list[dict[str, Any]] = Field(description="each replica's rules version after the reload")
