"""A case filed by a proxy agent (信访代办员) on the petitioner's behalf (docs/agents.md).

The agent is the caller (a `proxy_agent` token names it); the submission carries the petitioner's
consent to be represented, and the registered event says who filed it, so that supervision records
the representation and notify copies the petitioner's notices to the agent.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FilingConsent(BaseModel):
    """The petitioner's consent to be represented by the filing agent."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["signed_form", "in_person", "recorded_call", "online"] = Field(
        description="signed_form: 委托代办书 signed; in_person: said to the agent face to face; "
        "recorded_call: on a recorded call; online: through the petition portal"
    )
    given_at: datetime


class AgentFiling(BaseModel):
    """What an agent's submission adds: the petitioner's consent."""

    model_config = ConfigDict(extra="forbid")

    consent: FilingConsent


def filed_by(agent_id: str, filing: AgentFiling) -> dict[str, Any]:
    """The case's and the registered event's record of the filing agent and the consent."""
    consent = filing.consent
    return {"agent_id": agent_id, "consent": {"method": consent.method, "given_at": consent.given_at}}
