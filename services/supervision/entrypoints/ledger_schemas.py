"""The risk ledger's request and answer models (排查台账, docs/ledger.md)."""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dispatch_common.paging import PageOf

Word = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaceIn(_In):
    """Where the matter lies: an area code of the county package, coordinates, or an address (read as
    routing reads a case's, by the gazetteer and the area names)."""

    area: str | None = Field(None, min_length=1, max_length=32)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    address: str | None = Field(None, min_length=2, max_length=300)

    @model_validator(mode="after")
    def _something(self) -> "PlaceIn":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if not (self.area or self.address or self.lon is not None):
            raise ValueError("give an area code, coordinates or an address")
        return self


class PartyIn(_In):
    """A person the matter involves; stored encrypted, shown masked."""

    role: str = Field("party", min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(None, pattern=r"^\+?[0-9-]{5,20}$")
    id_number: str | None = Field(None, pattern=r"^[0-9A-Za-z]{6,32}$")


class SourceIn(_In):
    """Where the entry comes from: a screening campaign, a grid patrol, a warning (its id) or a case."""

    kind: str = Word
    ref: str | None = Field(
        None, max_length=100, description="the campaign's name, the warning id or the case id"
    )

    @model_validator(mode="after")
    def _ref(self) -> "SourceIn":
        if self.kind in ("warning", "case") and not self.ref:
            raise ValueError(f"a {self.kind} source names its id in `ref`")
        return self


class OwnerIn(_In):
    unit: str = Word
    person: str = Field(min_length=1, max_length=50, description="the person in charge (责任人)")


class EntryIn(_In):
    """A new entry (建账). `place` may be left out when the source (a warning, a case) places it."""

    kind: str = Word
    title: str = Field(min_length=2, max_length=200)
    description: str | None = Field(None, max_length=5000)
    place: PlaceIn | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    source: SourceIn
    risk_level: str = Word
    owner: OwnerIn
    measures: list[str] = Field(default_factory=list, max_length=50)
    due_at: AwareDatetime | None = Field(
        None, description="the limit; absent: the ledger table's for the level"
    )


class StepIn(_In):
    """A step of work on the entry (化解进展): a note and any new measures."""

    note: str = Field(min_length=1, max_length=2000)
    measures: list[str] = Field(default_factory=list, max_length=50)


class Evidence(_In):
    description: str = Field(min_length=2, max_length=2000)
    ref: str | None = Field(None, max_length=500, description="where the evidence is kept (a file, a record)")


class CloseRequestIn(_In):
    """Asking to close (申请销账): what was done, with its evidence (at least one piece)."""

    note: str = Field(min_length=1, max_length=2000)
    evidence: list[Evidence] = Field(min_length=1, max_length=50)


class ReviewIn(_In):
    """The reviewer's decision: approve (销账) or return (退回, with the reason)."""

    decision: Literal["approve", "return"]
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _reason(self) -> "ReviewIn":
        if self.decision == "return" and not self.note:
            raise ValueError("a return says why in `note`")
        return self


class CaseLinkIn(_In):
    case_id: str = Field(min_length=1, max_length=100)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Entry(BaseModel):
    """A ledger entry as every caller sees it: its parties masked."""

    entry_id: str
    entry_no: str
    kind: str
    kind_label: str
    title: str
    description: str
    place: Open
    parties: list[Open]
    source: Open
    risk_level: str
    risk_level_label: str
    owner: Open
    measures: list[str]
    status: Literal["opened", "in_progress", "close_requested", "closed"]
    status_label: str
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None = None
    closed_on_time: bool | None = None
    overdue: bool
    escalations: list[Open]
    created_by: Open
    reviewed_by: Open | None = None
    close_request: Open | None = None
    cases: list[Open]
    became_case: bool
    history: list[Open]
    version: int


class EntrySummary(BaseModel):
    entry_id: str
    entry_no: str
    kind: str
    title: str
    place: Open
    risk_level: str
    owner: Open
    status: str
    opened_at: datetime
    due_at: datetime
    overdue: bool
    became_case: bool


EntryPage = PageOf[EntrySummary]


class FigureRow(BaseModel):
    key: str
    opened: int
    open: int
    closed: int
    closed_on_time: int
    overdue_open: int
    became_case: int
    on_time_rate: float | None


class Figures(BaseModel):
    """The joint meeting's figures (联席会议) over the entries opened in the period."""

    group_by: Literal["town", "kind", "level", "age"]
    start: str | None
    end: str | None
    rows: list[FigureRow]
    total: FigureRow
