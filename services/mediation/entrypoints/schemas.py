"""What mediation's operations answer, as OpenAPI describes it to client generators.

Field names are those the routes have always answered. A record whose fields depend on its kind or
track (a referral's steps for legal aid or counselling, a mediator's fields from the seed file) is
declared with the fields every one has and keeps the others (`extra="allow"`); a list page is
`{items, limit, next_cursor}`.
"""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paging import PageHead as Page


class Open(BaseModel):
    """A record declared by its common fields; the fields of its kind are kept as they are."""

    model_config = ConfigDict(extra="allow")


class MediationHead(BaseModel):
    """What every answer shows of a mediation: no party's name or record."""

    id: str
    case_id: str
    case_no: str | None = None
    type: str
    status: str
    origin: str = "routed"
    organization: dict[str, Any]
    mediator: dict[str, Any] | None = None
    language: str | None = None
    jurisdiction: Any = None
    category: Any = None


class Mediation(MediationHead):
    """A mediation with its parties' names and records in clear (each such read is audited); the
    agreement's document is at `/agreement`."""

    parties: list[dict[str, Any]] = Field(default_factory=list)
    sessions: list[dict[str, Any]] = Field(default_factory=list)
    outcome: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    fulfilment: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    referrals: list[str] = Field(default_factory=list, description="the ids of the referrals it made")
    opened_at: datetime
    due_at: datetime | None = None
    time_limit: Any = None
    concluded_at: datetime | None = None
    explanation: list[Any] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)


class Mediations(Page):
    items: list[Mediation]


class MediationSummary(MediationHead):
    """A mediation as an organization's list shows it, with the next session planned."""

    opened_at: datetime
    due_at: datetime | None = None
    concluded_at: datetime | None = None
    next_session: dict[str, Any] | None = None


class OrganizationMediations(Page):
    unit: str
    items: list[MediationSummary]


class AuditEntry(BaseModel):
    """Who read which personal data of a mediation in clear, when, and through which endpoint."""

    mediation_id: str
    case_id: str
    subject: str
    role: str | None = None
    unit: str | None = None
    fields: list[str]
    endpoint: str | None = None
    at: datetime


class AuditEntries(Page):
    items: list[AuditEntry]


class Referral(Open):
    """A referral (legal aid, counselling, arbitration, court) with its steps; its letter is at
    `/letter`. Its `version` is its ETag."""

    id: str
    case_id: str
    kind: str
    status: str
    version: int | None = None


class Referrals(Page):
    items: list[Referral]


class ReceivedReferrals(Page):
    unit: str
    items: list[Referral]


class Organization(BaseModel):
    """A mediation organization in force: its type, the area it serves, the categories it takes."""

    code: str
    name: str
    type: str
    level: str
    jurisdiction: str
    categories: list[str] = Field(default_factory=list)
    host_unit: str | None = None
    note: str | None = None
    source: str
    active: bool = True
    edited: bool = False


class Organizations(Page):
    version: str | int | None = Field(None, description="the directory's data version")
    items: list[Organization]
    total: int = Field(description="how many organizations match, on every page")


class OrganizationDetail(Organization):
    """An organization with the edits made to it over the API; `revision` is its ETag."""

    edits: list[dict[str, Any]] = Field(default_factory=list)
    revision: int


class OrganizationActivity(OrganizationDetail):
    """An organization deactivated or taken back, and how many mediations it still has open."""

    open_mediations: int


class MediatorView(Open):
    """A mediator and their current load (open mediations); `version` is its ETag."""

    id: str
    name: str
    organization: str
    version: int
    load: int


class Mediators(Page):
    items: list[MediatorView]


class FigureRow(Open):
    """One organization's or type's figures; the group's key is named after `group_by`."""

    concluded: int
    agreements: int
    failures: int
    refusals: int
    success_rate: float | None = None
    average_days: float | None = None
    fulfilled: int
    unfulfilled: int
    fulfilment_rate: float | None = None


class Figures(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    group_by: str
    from_: date | None = Field(None, alias="from")
    to: date | None = None
    rows: list[FigureRow]


class Reloaded(Open):
    """The versions this replica applied, and `replicas`: which replica applied which."""

    replicas: list[dict[str, Any]]
