"""A proxy agent's submission (代办员代为提交, docs/agents.md): checked here, carried on the door."""

import dataclasses

from fastapi import HTTPException, status

from dispatch_common.auth import Principal, Role
from services.intake.domain.agent_filing import filed_by
from services.intake.domain.models import SubmitCase
from services.intake.handlers import Door


def _unprocessable(msg: str) -> HTTPException:
    problem = [{"loc": ["body", "agent_filing"], "msg": msg, "type": "value_error"}]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)


def agent_door(door: Door, body: SubmitCase, user: Principal) -> Door:
    """The door of a submission, with the filing agent when a proxy agent files: an agent must send
    the petitioner's consent (`agent_filing`), and nobody else may file as an agent."""
    if user.role == Role.PROXY_AGENT:
        if body.agent_filing is None:
            raise _unprocessable(
                "an agent files on the petitioner's behalf only with the petitioner's consent"
            )
        return dataclasses.replace(door, agent=filed_by(user.subject, body.agent_filing))
    if body.agent_filing is not None:
        raise _unprocessable("only a proxy agent (role proxy_agent) files as an agent")
    return door
