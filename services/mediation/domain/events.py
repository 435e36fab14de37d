"""The data of mediation's and referrals' events, built from the aggregate they announce. Pure.

Ids are derived from the aggregate, the type and a cause (the version written, or an alarm key),
so a command retried after a crash owes the same ids and JetStream drops the copies.
"""

from datetime import datetime
from typing import Any

from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.mediation.domain.models import mask_name

SOURCE = "/dispatch/mediation"


def party_view(party: dict[str, Any]) -> dict[str, Any]:
    """A party or participant as events show them: role and masked name (a party's is stored masked)."""
    return {"role": party["role"], "name_masked": party.get("name_masked") or mask_name(party["name"])}


def session_view(session: dict[str, Any]) -> dict[str, Any]:
    """A session as events show it."""
    return {
        "no": session["no"],
        "status": session["status"],
        "start_at": session["start_at"],
        "end_at": session.get("end_at"),
        "place": session.get("place"),
        "video": bool(session.get("video")),
        "participants": [party_view(p) for p in session.get("participants") or []],
    }


def referral_ref(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A referral as mediation events name it."""
    if doc is None:
        return None
    return {"referral_id": doc["_id"], "kind": doc["kind"], "receiving_unit": doc["receiving_unit"]}


def _event(
    aggregate: str,
    common: dict[str, Any],
    doc: dict[str, Any],
    event_type: str,
    data: dict[str, Any],
    *,
    by: dict[str, Any] | None,
    at: datetime,
    cause: str,
    clock: Clock,
    event_id: str | None,
) -> Envelope:
    return make_event(
        type=event_type,
        source=SOURCE,
        subject=doc["case_id"],
        clock=clock,
        event_id=event_id or derived_event_id(aggregate, doc["_id"], event_type, cause),
        data={**common, "by": by, "at": at, **data},
    )


def mediation_event(
    doc: dict[str, Any],
    event_type: str,
    data: dict[str, Any],
    *,
    by: dict[str, Any] | None,
    at: datetime,
    cause: str,
    clock: Clock,
    event_id: str | None = None,
) -> Envelope:
    """An event about a mediation, with the fields every mediation event carries."""
    common = {
        "mediation_id": doc["_id"],
        "case_id": doc["case_id"],
        "case_no": doc["case_no"],
        "type": doc["type"],
        "status": doc["status"],
        "organization": doc["organization"],
        "mediator": doc.get("mediator"),
    }
    return _event(
        "mediation", common, doc, event_type, data, by=by, at=at, cause=cause, clock=clock, event_id=event_id
    )


def referral_event(
    doc: dict[str, Any],
    event_type: str,
    data: dict[str, Any],
    *,
    by: dict[str, Any] | None,
    at: datetime,
    cause: str,
    clock: Clock,
    event_id: str | None = None,
) -> Envelope:
    """An event about a referral, with the fields every referral event carries."""
    common = {
        "referral_id": doc["_id"],
        "case_id": doc["case_id"],
        "case_no": doc["case_no"],
        "mediation_id": doc.get("mediation_id"),
        "kind": doc["kind"],
        "status": doc["status"],
        "receiving_unit": doc["receiving_unit"],
    }
    return _event(
        "referral", common, doc, event_type, data, by=by, at=at, cause=cause, clock=clock, event_id=event_id
    )
