"""What notify says to proxy agents (信访代办员, docs/agents.md): that a case was given to them, that it
went up a tier, and a copy of each notice the petitioner of a case they carry is sent.

Every agent that has carried a case follows it: notify keeps their ids on its view of the case
(`agents`, from the events), and each of them has an inbox, `agent:<id>`, that a proxy_agent token
naming that agent reads.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from dispatch_common import subjects
from services.notify.domain.occasion import Occasion
from services.notify.domain.recipients import Recipient, Target

TIER_LABELS = {"village": "村级", "town": "镇级", "county": "县级"}
HOW_LABELS = {"intake": "代办员代为提交", "dispatcher": "调度员交办", "petitioner_request": "信访人申请代办"}


class RepresentedView(BaseModel):
    """What notify reads of dispatch.case.represented."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    agent_id: str
    agent_name: str
    tier: str
    how: str
    agents: list[str]


class AgentEscalatedView(BaseModel):
    """What notify reads of dispatch.case.agent_escalated."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    from_agent: str
    to_agent: str
    to_agent_name: str
    from_tier: str
    to_tier: str
    agents: list[str]


AGENT_VIEWS = (RepresentedView, AgentEscalatedView)


def agent_facts(data: RepresentedView | AgentEscalatedView) -> dict[str, Any]:
    """What notify keeps of the case: its number, and every agent that carries or carried it."""
    return {"case_no": data.case_no, "agents": list(data.agents)}


def agent_occasion(
    event_type: str, data: RepresentedView | AgentEscalatedView, base: dict[str, Any]
) -> Occasion:
    """The notices to the agents: the one given the case; both agents of a climb between tiers."""
    if event_type == subjects.CASE_REPRESENTED and isinstance(data, RepresentedView):
        values = base | {
            "agent_name": data.agent_name,
            "tier_label": TIER_LABELS.get(data.tier, data.tier),
            "how_label": HOW_LABELS.get(data.how, data.how),
        }
        return Occasion(["representation"], data.case_id, values, {"agents": [_agent(data.agent_id)]})
    assert isinstance(data, AgentEscalatedView)
    values = base | {
        "agent_name": data.to_agent_name,
        "from_tier_label": TIER_LABELS.get(data.from_tier, data.from_tier),
        "to_tier_label": TIER_LABELS.get(data.to_tier, data.to_tier),
    }
    agents = [_agent(data.from_agent), _agent(data.to_agent)]
    return Occasion(["agent_escalation"], data.case_id, values, {"agents": agents})


def _agent(agent_id: str) -> dict[str, str]:
    return {"code": agent_id, "name": agent_id}


def agent_recipient(agent_id: str, audience: str = "agent") -> Recipient:
    """An agent as a recipient: its inbox `agent:<id>`; `audience` picks the texts (its own notices,
    or the petitioner's, of which it gets a copy)."""
    return Recipient(key=f"agent:{agent_id}", audience=audience, label=f"代办员 {agent_id}")


def copies_to_agents(case: dict[str, Any]) -> list[Target]:
    """The inboxes a petitioner's notice is copied to: each agent that carries or carried the case."""
    return [Target(agent_recipient(a, "petitioner"), "inbox") for a in case.get("agents") or []]
