"""What the reception calendar's operations take and answer (docs/reception.md)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.supervision.entrypoints.deps import Code
from services.supervision.entrypoints.schemas import Open

Kind = Literal["reception", "visit", "visit_with_cases", "video"]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Link = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=500)]
CaseId = Annotated[str, Field(min_length=1, max_length=64)]


class Leader(BaseModel):
    """Who receives: an id the leader's office chooses (what the calendar and figures filter by), the
    leader's name and post (职务)."""

    model_config = ConfigDict(extra="forbid")
    id: Code
    name: Text
    post: Text


class SessionFields(BaseModel):
    """A session's fields; which are required depends on the kind (a town for 下访 and 带案下访, a
    meeting link for 视频接访, a place for the others): a 422 names the missing one."""

    model_config = ConfigDict(extra="forbid")
    leader: Leader
    kind: Kind = Field(
        description="reception 领导接访, visit 领导下访, visit_with_cases 带案下访, video 视频接访"
    )
    starts_at: datetime
    ends_at: datetime
    place: str | None = Field(None, max_length=200, description="the reception hall, or where in the town")
    town: Code | None = Field(None, description="the town (area code) a visit goes to")
    meeting_link: Link | None = Field(None, description="the video meeting's room (staff)")
    join_link: Link | None = Field(
        None, description="what a petitioner opens to join (sent by notify); default: the meeting link"
    )
    topics: list[Text] = Field(default_factory=list, max_length=20)
    capacity: int = Field(ge=1, le=200, description="how many cases may be booked")


class SessionChanges(BaseModel):
    """The fields to change of a planned session (If-Match its version)."""

    model_config = ConfigDict(extra="forbid")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str | None = Field(None, max_length=200)
    meeting_link: Link | None = None
    join_link: Link | None = None
    topics: list[Text] | None = Field(None, max_length=20)
    capacity: int | None = Field(None, ge=1, le=200)


class BookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: CaseId


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


class CasesTaken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_ids: list[CaseId] = Field(min_length=1, max_length=100)


class Decision(BaseModel):
    """What the leader decided (领导批示): instructions to the units, whether the leader holds the case
    (领导包案) and the time limit within which the unit must reply."""

    model_config = ConfigDict(extra="forbid")
    instructions: str = Field(min_length=2, max_length=2000)
    holding: bool = Field(False, description="the leader holds the case (领导包案)")
    plan: str | None = Field(None, max_length=10_000, description="一案一策 (default: the instructions)")
    units: list[Code] = Field(default_factory=list, max_length=10, description="units told besides the lead")
    time_limit_days: int | None = Field(None, ge=1, le=90, description="reply within so many days")


class ReceptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: CaseId
    people: int = Field(1, ge=1, le=500, description="how many people came for the case")
    decision: Decision | None = None


class Booking(Open):
    booking_id: str
    case_id: str
    case_no: str
    status: str
    walk_in: bool
    slot: int | None = None
    at: datetime


class Reception(Open):
    reception_id: str
    case_id: str
    case_no: str
    people: int
    received_at: datetime
    decision: dict[str, Any] | None = None


class Session(Open):
    """A reception session with its bookings, the cases taken along and the receptions recorded."""

    session_id: str
    version: int
    status: str
    leader: dict[str, Any]
    kind: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    places_left: int
    bookings: list[Booking]
    cases_taken: list[dict[str, Any]]
    receptions: list[Reception]


class SessionPage(BaseModel):
    items: list[Session]
    next_cursor: str | None


class OpenCase(BaseModel):
    case_id: str
    case_no: str
    status: str
    lead_unit: dict[str, Any] | None = None
    category: dict[str, Any] | None = None


class OpenCasePage(BaseModel):
    items: list[OpenCase]
    next_cursor: str | None


class LeaderFigures(BaseModel):
    leader: dict[str, Any]
    sessions_planned: int
    sessions_held: int
    people_received: int
    cases_decided: int
    cases_resolved_after: int = Field(description="of the cases decided, resolved since the decision")


class Figures(BaseModel):
    since: date
    until: date
    leaders: list[LeaderFigures]
