"""How routing's API shows a route, and who may see it: shared by the route's operations and the
queues (the manual dispatch queue, the joint conference's)."""

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from dispatch_common.auth import Principal, authenticate
from services.routing.container import Routing


async def _routing(request: Request) -> Routing:
    return request.app.state.routing


CurrentUser = Annotated[Principal, Depends(authenticate)]
RoutingDeps = Annotated[Routing, Depends(_routing)]


def route_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored route as the API shows it (schemas.Route)."""
    return {
        "case_id": doc["_id"],
        "case_no": doc["case_no"],
        **doc["decision"],
        "package_version": doc["package_version"],
        "decided_at": doc["decided_at"],
        "revision": doc.get("revision", 1),
        "version": doc.get("version", 1),
        "status": doc.get("status", "routed"),
        "excluded_units": doc.get("excluded_units", []),
        "returns": doc.get("returns", []),
        "corrections": doc.get("corrections", []),
        "incident": doc.get("incident"),
    }


def assigned_units(doc: dict[str, Any]) -> set[str]:
    """The units a route gives the case to; none while it waits in the manual queue (a manual route's
    proposed unit is not assigned anything)."""
    decision = doc["decision"]
    if decision.get("queue") != "auto":
        return set()
    return {u["code"] for u in [decision.get("lead_unit") or {}, *decision.get("assisting_units", [])] if u}


def confidential(doc: dict[str, Any]) -> bool:
    """Whether the route is a confidential report's (seen only by its units and named roles)."""
    return bool(doc["decision"].get("confidential") or doc["request"].get("confidential"))


async def visible(routing: Routing, user: Principal, case_id: str, what: str) -> dict[str, Any]:
    """The route, if the caller may see it: county-wide roles and the units it assigns the case to; a
    confidential report's only its units and the county's named roles (audited). `404` otherwise."""
    doc = await routing.routes.find_one({"_id": case_id}, {"outbox": 0})
    if doc is None or not await routing.confidentiality.admit(
        user, case_id, unit_codes=assigned_units(doc), confidential=confidential(doc), what=what
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for case {case_id}")
    return doc
