"""Routing's incidents (同一事项): link a routed case to an incident at its resolved place, (detach.py
takes a wrongly linked one out; docs/incidents.md).

A route keeps what linking reads on its own document (`incident_place`, `routed_ts`, the text's
fingerprint): one insert writes the route, its event and its link together. A linked case is routed
to its incident's lead unit (the lead case's current route), and the event says so (`incident`).
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.similarity import Fingerprint, fingerprint
from services.routing.domain.incidents import (
    Candidate,
    IncidentLink,
    IncidentPolicy,
    decide_incident,
    place_of,
)
from services.routing.domain.models import RouteDecision, UnitRef
from services.routing.engine import RoutingEngine

INDEXES = ([("incident_place", 1), ("routed_ts", -1)], "incident_place")
"""The routes' indexes linking reads by (compound for MongoDB, one field for the embedded server)."""


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _candidate(doc: dict[str, Any]) -> Candidate:
    link = doc.get("incident") or {}
    return Candidate(
        case_id=doc["_id"],
        case_no=doc["case_no"],
        incident_id=link.get("incident_id") or doc["_id"],
        routed_at=datetime.fromtimestamp(doc["routed_ts"] / 1000, UTC),
        fingerprint=Fingerprint.from_tokens(doc["incident_text"], doc["incident_tokens"]),
    )


async def link_incident(
    case_id: str,
    text: str,
    decision: RouteDecision,
    *,
    routes: AsyncCollection,
    engine: RoutingEngine,
    policy: IncidentPolicy,
    now: datetime,
) -> tuple[RouteDecision, dict[str, Any]]:
    """The decision for a routed case with its incident applied (the lead case's unit, the reason in
    the explanation), and the fields its route document keeps for linking and for the event."""
    place = None if decision.confidential else place_of(decision.jurisdiction, policy)
    if place is None:
        return decision, {}
    print_ = await asyncio.to_thread(fingerprint, text)
    fields: dict[str, Any] = {
        "incident_place": place[1],
        "routed_ts": _ms(now),
        "incident_text": print_.text,
        "incident_tokens": list(print_.tokens),
        "incident": None,
    }
    since = _ms(now - policy.window)
    found = routes.find(
        {"incident_place": place[1], "routed_ts": {"$gte": since}},
        {"case_no": 1, "routed_ts": 1, "incident": 1, "incident_text": 1, "incident_tokens": 1},
    )
    docs = await found.sort("routed_ts", -1).limit(policy.max_candidates).to_list()
    candidates = [_candidate(d) for d in docs if d["_id"] != case_id]
    if not candidates:
        return decision, fields
    leads = {c.incident_id for c in candidates}
    lead_docs = await routes.find({"_id": {"$in": sorted(leads)}}, {"case_no": 1, "decision": 1}).to_list()
    lead_by_id = {d["_id"]: d for d in lead_docs}
    name = decision.jurisdiction.matched or engine.package.area_name(place[1])
    link = await asyncio.to_thread(
        decide_incident,
        place=place,
        place_name=name,
        at=now,
        text=print_,
        candidates=candidates,
        lead_case_nos={k: v["case_no"] for k, v in lead_by_id.items()},
        policy=policy,
    )
    if link is None or link.incident_id not in lead_by_id:
        return decision, fields
    fields["incident"] = link.to_document()
    return _attached(decision, link, lead_by_id[link.incident_id]["decision"]), fields


def _attached(decision: RouteDecision, link: IncidentLink, lead: dict[str, Any]) -> RouteDecision:
    """A linked case goes where its incident's lead case went: its lead unit, not a route of its own."""
    unit = lead.get("lead_unit")
    explanation = [line for line in decision.explanation if not line.startswith("Queue ")]
    explanation.append(f"Incident (同一事项): joins {link.lead_case_no}: {link.reason}.")
    if unit is None:
        explanation.append(
            f"Queue auto: attached to {link.lead_case_no}, which waits in the manual queue; its placement "
            "places the incident."
        )
    else:
        explanation.append(
            f"Queue auto: attached to {link.lead_case_no}, handled once by its lead unit {unit['name']} "
            f"({unit['code']}); a dispatcher can detach it."
        )
    return decision.model_copy(
        update={
            "lead_unit": UnitRef.model_validate(unit | {"role": "lead"}) if unit else None,
            "assisting_units": [],
            "queue": "auto",
            "manual_reason": None,
            "explanation": explanation,
        }
    )
