"""The bodies mediation's endpoints accept: typed, bounded, extra fields refused."""

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.mediation.domain.models import NextStep, ReferralRequest
from services.mediation.domain.policy import MediationType

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=50)]
Text = Annotated[str, Field(min_length=2, max_length=2000)]
CategoryCode = Annotated[str, Field(pattern=r"^[0-9]{2}([0-9]{2})?$")]
ParticipantRole = Literal[
    "applicant",
    "respondent",
    "lawyer",
    "party_congress_deputy",
    "npc_deputy",
    "cppcc_member",
    "police",
    "expert",
    "other",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenMediation(_Body):
    """A dispatcher opens a mediation, or a unit of the case asks for one."""

    case_id: str = Field(min_length=1, max_length=128)
    type: MediationType | None = Field(None, description="people, court, police, professional or petition")
    organization: Code | None = Field(None, description="dispatchers only: the organization to give it to")
    language: str | None = Field(None, max_length=16, description="the parties' language, e.g. zh or mn")
    note: str | None = Field(None, max_length=2000)


class PartyAnswer(_Body):
    """A party and their answer: true agrees to mediate, false refuses, null not asked yet."""

    role: Literal["applicant", "respondent"]
    name: Name
    consent: bool | None = None


class Consent(_Body):
    """The parties' answers; a refusal needs its next step (a referral, or back to handling)."""

    parties: list[PartyAnswer] = Field(min_length=1, max_length=20)
    note: str | None = Field(None, max_length=2000)
    next: NextStep | None = None


class Assign(_Body):
    """Another organization (dispatchers) or mediator; neither: the rule picks a mediator again."""

    organization: Code | None = None
    mediator: Code | None = None
    reason: Text


class Participant(_Body):
    """Someone at a session: a party, or an invited lawyer, deputy or committee member (两代表一委员)."""

    role: ParticipantRole
    name: Name


class SessionRecord(_Body):
    """What happened at a session (调解记录)."""

    summary: str = Field(min_length=2, max_length=10_000)
    attendees: list[Name] = Field(default_factory=list, max_length=50)


class ScheduleSession(_Body):
    """A session in the future; with `record`, one held already (on-the-spot mediation, 现场调解)."""

    start_at: AwareDatetime
    end_at: AwareDatetime | None = None
    place: str | None = Field(None, max_length=200)
    video: bool = False
    video_link: str | None = Field(None, max_length=500)
    participants: list[Participant] = Field(default_factory=list, max_length=50)
    note: str | None = Field(None, max_length=2000)
    record: SessionRecord | None = None


class Reschedule(_Body):
    """A scheduled session moves."""

    start_at: AwareDatetime
    end_at: AwareDatetime | None = None
    place: str | None = Field(None, max_length=200)
    video: bool | None = None
    video_link: str | None = Field(None, max_length=500)
    participants: list[Participant] | None = Field(None, max_length=50)
    reason: Text


class Reason(_Body):
    """Why."""

    reason: Text


class Outcome(_Body):
    """The outcome: an agreement (its terms and fulfilment date) or no agreement with the next step."""

    result: Literal["agreed", "failed"]
    facts: str | None = Field(None, min_length=2, max_length=5000, description="纠纷主要事实、争议事项")
    terms: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=30
    )
    fulfilment_method: str | None = Field(None, min_length=1, max_length=500)
    fulfilment_due: date | None = None
    reason: str | None = Field(None, min_length=2, max_length=2000)
    note: str | None = Field(None, max_length=2000)
    next: NextStep | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Outcome":
        if self.result == "agreed":
            missing = [
                f for f in ("facts", "fulfilment_method", "fulfilment_due") if getattr(self, f) is None
            ]
            if not self.terms:
                missing.append("terms")
            if missing:
                raise ValueError(f"an agreement needs {', '.join(missing)}")
        elif self.reason is None:
            raise ValueError("no agreement needs its reason")
        return self


class FulfilmentCheck(_Body):
    """Whether the agreement was fulfilled; if not, the next step."""

    fulfilled: bool
    note: str | None = Field(None, max_length=2000)
    next: NextStep | None = None


class Escalate(_Body):
    """The dispute grew: how many people, whether someone threatens violence."""

    reason: Text
    people_count: int | None = Field(None, ge=0, le=100_000)
    threats: bool = False


class MakeReferral(ReferralRequest):
    """A referral for a case, made directly by a dispatcher or a unit of the case."""

    case_id: str = Field(min_length=1, max_length=128)


class Review(_Body):
    """The legal aid center's review of the application against the eligibility checklist."""

    matter_type: str = Field(min_length=1, max_length=64)
    economic_hardship: bool
    approve: bool = True
    note: str | None = Field(None, max_length=2000)


class Handler(_Body):
    """The lawyer or counsellor who takes the referral."""

    name: Name


class CounsellingSession(_Body):
    """A counselling session held, and the risk level after it."""

    note: str | None = Field(None, max_length=2000)
    risk_level: str | None = Field(None, max_length=32)


class Note(_Body):
    """A note."""

    note: str | None = Field(None, max_length=2000)


class Close(_Body):
    """The receiving center's result."""

    result: Literal["resolved", "unresolved", "withdrawn", "declined"]
    note: str | None = Field(None, max_length=2000)


class MediatorChange(_Body):
    """A change of a mediator's directory entry."""

    name: Name | None = None
    specialties: list[CategoryCode] | None = Field(None, max_length=30)
    languages: list[Annotated[str, Field(max_length=16)]] | None = Field(None, min_length=1, max_length=10)
    available: bool | None = None
    max_load: int | None = Field(None, ge=0, le=100)


class NewOrganization(_Body):
    """A mediation organization created over the API (an industry committee, a new stationed room)."""

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=100)]
    type: MediationType
    jurisdiction: str = Field(min_length=1, max_length=32, description="an area code of the county package")
    categories: list[CategoryCode] = Field(
        default_factory=list, max_length=50, description="taxonomy codes it takes; empty: any dispute"
    )
    host_unit: Code | None = Field(None, description="the unit of the county package that hosts it")
    note: str | None = Field(None, max_length=500)


class OrganizationChange(_Body):
    """A change of an organization: only the fields given change (`host_unit` and `note` may be null)."""

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    type: MediationType | None = None
    jurisdiction: str | None = Field(None, min_length=1, max_length=32)
    categories: list[CategoryCode] | None = Field(None, max_length=50)
    host_unit: Code | None = None
    note: str | None = Field(None, max_length=500)


def as_details(body: BaseModel) -> dict[str, object]:
    """A body as a command's details (datetimes and dates kept as Python values)."""
    return body.model_dump(mode="python")
