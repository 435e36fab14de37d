"""Supervision's HTTP API: the case file, a unit's worklist, and what units and supervisors do; the
routes live by noun in the modules beside this one."""

from fastapi import FastAPI

from dispatch_common.auth import Principal, Resolver, Role
from services.supervision.container import Supervision
from services.supervision.domain import ledger as ledger_rules
from services.supervision.domain.agents import serves
from services.supervision.entrypoints.deps import _area_codes, _unit_codes


def resolvers(sv: Supervision) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the case files it may see, its own unit's records."""

    async def case_id(value: str, user: Principal) -> bool:
        if user.role == Role.PROXY_AGENT:  # an agent reaches the cases it carries or carried, no other
            return sv.representations is not None and await sv.representations.represents(value, user.subject)
        doc = await sv.files.files.find_one(
            {"_id": value}, {"lead_unit": 1, "assisting_units": 1, "jurisdiction": 1, "confidential": 1}
        )
        return doc is not None and sv.confidentiality.may_see(
            user,
            unit_codes=_unit_codes(doc),
            area_codes=_area_codes(doc),
            confidential=bool(doc.get("confidential")),
        )

    async def unit(value: str, user: Principal) -> bool:
        return value == user.unit

    async def entry_id(value: str, user: Principal) -> bool:  # a risk-ledger entry (domain/ledger.py)
        doc = (
            await sv.ledger.book.entries.find_one({"_id": value}, {"place": 1, "owner": 1, "created_by": 1})
            if sv.ledger is not None
            else None
        )
        return doc is not None and ledger_rules.may_see(doc, user)

    async def agent_id(value: str, user: Principal) -> bool:
        """A town's leader reaches the agents of its own town and its villages (docs/agents.md)."""
        doc = await sv.agents.get(value) if sv.agents is not None else None
        return doc is not None and user.area is not None and serves(user.area, doc["area"])

    return {"case_id": case_id, "unit": unit, "agent_id": agent_id, "entry_id": entry_id}


def include(app: FastAPI) -> None:
    """Mount supervision's routes."""
    from services.supervision.entrypoints import (
        actions,
        admin,
        agents,
        cases,
        inspection,
        kpis,
        ledger,
        queues,
        reception,
        recommendations,
        representation,
        search,
        streams,
        warnings,
        worklist,
    )

    for routes in (
        search,
        cases,
        worklist,
        actions,
        recommendations,
        warnings,
        kpis,
        admin,
        queues,
        inspection,
        streams,
        ledger,
        agents,
        representation,
        reception,
    ):
        app.include_router(routes.router)
    from services.supervision.entrypoints import progress

    progress.include(app)  # the petitioner's public progress and its page
