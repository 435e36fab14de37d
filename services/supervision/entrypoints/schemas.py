"""What supervision's operations answer, as OpenAPI describes it to client generators.

Field names are those the routes have always answered. A record whose fields depend on its kind (a
warning, a unit as the county package names it, a deadline's basis) is declared with the fields every
one has and keeps the others (`extra="allow"`); a list page is `{items, limit, next_cursor}`.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paging import PageHead as Page


class Open(BaseModel):
    """A record declared by its common fields; the fields of its kind are kept as they are."""

    model_config = ConfigDict(extra="allow")


class Unit(Open):
    """A unit on a case: its code and name, its type and its role (lead, police, assisting...)."""

    code: str
    name: str | None = None
    type: str | None = None
    role: str | None = None


class Jurisdiction(BaseModel):
    town: str | None = None
    village: str | None = None
    grid: str | None = None


class Category(BaseModel):
    code: str | None = None
    subcode: str | None = None


class Deadline(BaseModel):
    """A deadline with the time left (negative: past due)."""

    kind: str
    label: str
    start_at: datetime | None = None
    due_at: datetime
    met_at: datetime | None = None
    remaining_seconds: int
    overdue: bool
    extended_days: int = 0
    response_tier: str | None = None
    basis: Any = None


class TimelineEntry(BaseModel):
    """One event of the case, as it happened: its type, which service said it, when, and a summary."""

    event_id: str
    type: str
    source: str
    time: datetime
    summary: dict[str, Any] = Field(default_factory=dict)


class CaseFile(BaseModel):
    """The case file: state, place, units, deadlines with time left, the actions taken and the timeline."""

    case_id: str
    case_no: str
    version: int = Field(description="the ETag of the case file; send it back in If-Match with an action")
    status: str
    channel: str | None = None
    confidential: bool = Field(False, description="a report against officials (检举控告)")
    jurisdiction: Jurisdiction
    category: Category
    flags: list[str] = Field(default_factory=list)
    screening: dict[str, Any] | None = None
    tier: str | None = None
    queue: str | None = None
    manual_reason: str | None = None
    lead_unit: Unit | None = None
    suggested_lead_unit: Unit | None = None
    late_route: dict[str, Any] | None = Field(
        None, description="a route that came after the reply: not applied"
    )
    assisting_units: list[Unit] = Field(default_factory=list)
    incident: dict[str, Any] | None = Field(
        None,
        description="the incident (同一事项) the case is attached to (status `attached`): its lead case, "
        "the place and similarity that linked it; handled, answered and closed with its lead case",
    )
    received_at: datetime | None = None
    assigned_at: datetime | None = None
    signed_at: datetime | None = None
    replied_at: datetime | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    extension_request: dict[str, Any] | None = None
    reply: dict[str, Any] | None = Field(None, description="the reply; its document at /reply-document")
    rating: dict[str, Any] | str | None = None
    reopen_count: int = 0
    key_case: bool = False
    leader_holding: dict[str, Any] | None = None
    joint_supervision: dict[str, Any] | None = None
    dispute_reason: str | None = None
    escalations: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list, description="the actions taken, oldest first")
    timeline: list[TimelineEntry] = Field(default_factory=list)


class WorklistLine(BaseModel):
    """A case on a unit's worklist: the unit's role on it and its next deadline."""

    unit: str
    role: str
    case_id: str
    case_no: str
    status: str
    open: bool
    due_kind: str | None = None
    due_at: datetime | None = None
    due_ts: int | None = None
    overdue: bool
    category: str | None = None
    subcategory: str | None = None
    town: str | None = None
    village: str | None = None
    tier: str | None = None
    assigned_ts: int | None = None
    confidential: bool = False
    linked_calls: int = Field(
        0, description="the other calls attached to this case's incident (同一事项), handled with it"
    )


class Worklist(Page):
    unit: str
    items: list[WorklistLine]


class CaseLine(Open):
    """A case file as a queue or the search lists it; each list adds the fields it is about."""

    case_id: str
    case_no: str
    status: str
    channel: str | None = None
    lead_unit: Unit | None = None
    jurisdiction: Jurisdiction | None = None
    category: Category | None = None
    received_at: datetime | None = None
    confidential: bool | None = None


class CasePage(Page):
    items: list[CaseLine]


class Warning(Open):
    """An early warning (预警); the fields of its kind (a cluster's area and count, a case...) follow."""

    warning_id: str
    kind: str
    raised_at: datetime
    raised_ts: int


class Warnings(Page):
    items: list[Warning]


class TrendRow(BaseModel):
    category: str
    month: str
    count: int
    last_year: int
    increase: float | int | None = None


class Trends(BaseModel):
    month: str
    rows: list[TrendRow]


class RecommendationView(BaseModel):
    """A recommendation power (三项建议权) used on a unit."""

    recommendation_id: str
    unit: str
    kind: str
    text: str
    case_id: str | None = None
    by: dict[str, Any]
    at: datetime


class Recommendations(Page):
    unit: str
    items: list[RecommendationView]


class KpiRow(Open):
    """One group's figures; the group's own key (`unit`, `town`, ...) is named after `group_by`."""

    assigned: int
    response_rate: float | None = None
    on_time_reply_rate: float | None = None
    resolution_rate: float | None = None
    satisfaction_rate: float | None = None
    dispute_resolution_rate: float | None = None
    repeat_rate: float | None = None
    average_handling_hours: float | None = None
    counts: dict[str, int]


class Kpis(BaseModel):
    group_by: str
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    rows: list[KpiRow]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class InspectionLine(Open):
    """A case (or, on the `ledger` list, a risk-ledger entry) on a list of the daily inspection, with
    why it is there."""

    case_id: str | None = None
    entry_id: str | None = None
    confidential: bool | None = None


class Inspection(BaseModel):
    date: str
    compiled_at: datetime
    counts: dict[str, int]
    next_cursors: dict[str, str | None]
    overdue: list[InspectionLine]
    irregular: list[InspectionLine]
    stuck: list[InspectionLine]
    ledger: list[InspectionLine] = []


class InspectionList(Page):
    date: str
    list: str
    items: list[InspectionLine]


class Reprojected(BaseModel):
    case_files: int
    rollup_rows: int
