"""The answers and bodies of the proxy agents' operations (三级代办, docs/agents.md)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paging import PageOf
from services.supervision.domain.agents import Channel, Tier
from services.supervision.entrypoints.schemas import CaseFile


class AgentView(BaseModel):
    """An agent of the directory; `revision` is its ETag."""

    agent_id: str
    name: str
    tier: Tier
    area: str
    area_name: str | None = None
    unit: str | None = None
    channels: list[Channel]
    active: bool
    revision: int


AgentPage = PageOf[AgentView]


class AgentPatch(BaseModel):
    """The fields to change; those absent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=60)
    tier: Tier | None = None
    area: str | None = Field(None, min_length=2, max_length=32, pattern=r"^[0-9]+$")
    unit: str | None = Field(None, max_length=32)
    channels: list[Channel] | None = Field(None, min_length=1, max_length=6)
    active: bool | None = None


class AgentChange(BaseModel):
    """One change of an agent: who, when, the fields before (null: created) and after."""

    agent_id: str
    revision: int
    at: datetime
    by: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any]


AgentHistory = PageOf[AgentChange]


class RepresentationConsent(BaseModel):
    """The petitioner's consent to be represented: how it was given and when."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["signed_form", "in_person", "recorded_call", "online"] = Field(
        description="signed_form: 委托代办书 signed; in_person: said at the window; recorded_call: on a "
        "recorded call; online: through the petition portal"
    )
    given_at: datetime
    note: str | None = Field(None, max_length=500)


class TakeUp(BaseModel):
    """An agent takes up a case."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=3, max_length=48)
    how: Literal["dispatcher", "petitioner_request"] = Field(
        description="dispatcher: given to the agent by a dispatcher; petitioner_request: the petitioner asked"
    )
    consent: RepresentationConsent


class RepresentationStep(BaseModel):
    """One step of a representation: taken up, escalated to the next tier."""

    n: int
    kind: Literal["taken", "escalated"]
    from_agent: str | None
    agent_id: str
    tier: Tier
    at: datetime
    how: str | None = None


class RepresentationView(BaseModel):
    """Who represents whom on a case, with the consent and the steps."""

    case_id: str
    case_no: str
    agent_id: str
    tier: Tier
    area: str
    agents: list[str] = Field(description="every agent that has carried the case: all of them follow it")
    how: str
    consent: dict[str, Any]
    taken_at: datetime
    tier_since: datetime
    tier_due_at: datetime | None
    escalations: int
    steps: list[RepresentationStep]


class CaseRepresentation(BaseModel):
    """Whether a case is represented, and by whom (null: no agent carries it)."""

    case_id: str
    representation: RepresentationView | None


class AgentCase(BaseModel):
    """What an agent follows of a case it represents: the case file (what the petitioner is told and
    what the handling units did) and the representation."""

    representation: RepresentationView
    case: CaseFile


class AgentCaseLine(BaseModel):
    """A line of an agent's list of cases."""

    case_id: str
    case_no: str
    agent_id: str = Field(description="the agent carrying it now")
    tier: Tier
    taken_at: datetime
    since: datetime = Field(description="when the agent listed came to carry it (took it up, or by a climb)")
    open: bool = Field(description="neither resolved (化解) nor closed")


AgentCases = PageOf[AgentCaseLine]


class RepresentationFigures(BaseModel):
    """An agent's or a tier's figures (代办 and 化解)."""

    taken: int = Field(description="cases it has carried (taken up, or received by escalation)")
    resolved: int = Field(description="化解: cases resolved while it carried them (rated 满意 or 基本满意)")
    pending: int = Field(description="cases it carries now that are not resolved nor closed")
    average_hours: float | None = Field(description="mean hours from taking up to the accepted answer")
    rated: int
    satisfied: int = Field(description="rated 满意 or 基本满意")
    satisfaction: float | None = Field(description="satisfied / rated")


class AgentFigures(RepresentationFigures):
    agent_id: str
    name: str
    tier: Tier
    area: str


class TierFigures(RepresentationFigures):
    tier: Tier


class AgentReport(BaseModel):
    """Figures per agent and per tier, over the cases taken up in the period."""

    agents: list[AgentFigures]
    tiers: list[TierFigures]
