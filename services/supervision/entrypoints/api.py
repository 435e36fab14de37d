"""Supervision's HTTP API: the case file, a unit's worklist, and what units and supervisors do; the
routes live by noun in the modules beside this one."""

from fastapi import FastAPI

from dispatch_common.auth import Principal, Resolver
from services.supervision.bootstrap import Supervision
from services.supervision.entrypoints.deps import _area_codes, _unit_codes


def resolvers(sv: Supervision) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the case files it may see, its own unit's records."""

    async def case_id(value: str, user: Principal) -> bool:
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

    return {"case_id": case_id, "unit": unit}


def include(app: FastAPI) -> None:
    """Mount supervision's routes."""
    from services.supervision.entrypoints import (
        actions,
        admin,
        cases,
        inspection,
        kpis,
        queues,
        reception,
        recommendations,
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
        reception,
    ):
        app.include_router(routes.router)
