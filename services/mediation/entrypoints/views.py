"""A mediation as the API shows it to those who may see it (names, records in clear), and the audit
entry each such read leaves: who, role, unit, which fields, when, through which endpoint."""

from typing import Any

from dispatch_common.auth import Principal
from dispatch_common.crypto import PiiKeys
from services.mediation.container import Mediation
from services.mediation.domain.parties import clear_fields, opened_record, party_shown, person_shown


def session_view(session: dict[str, Any]) -> dict[str, Any]:
    """A session as the API shows it."""
    return {
        k: session.get(k)
        for k in (
            "no",
            "status",
            "start_at",
            "end_at",
            "place",
            "video",
            "video_link",
            "participants",
            "record",
            "changes",
            "cancel_reason",
        )
    }


def session_shown(keys: PiiKeys, mediation_id: str, session: dict[str, Any]) -> dict[str, Any]:
    """A session as the API shows it: the participants' names and the record in clear."""
    return session_view(session) | {
        "participants": [person_shown(keys, mediation_id, p) for p in session.get("participants") or []],
        "record": opened_record(keys, mediation_id, session.get("record")),
    }


AGREEMENT_DOC = ("document_enc", "document_html")  # served at its own path, never in the view


def mediation_head(doc: dict[str, Any]) -> dict[str, Any]:
    """What every answer shows of a mediation, a list's item included: no party's name or record."""
    return {
        "id": doc["_id"],
        "case_id": doc["case_id"],
        "case_no": doc.get("case_no"),
        "type": doc["type"],
        "status": doc["status"],
        "origin": doc.get("origin", "routed"),
        "organization": doc["organization"],
        "mediator": doc.get("mediator"),
        "language": doc.get("language"),
        "jurisdiction": doc.get("jurisdiction"),
        "category": doc.get("category"),
    }


def mediation_view(doc: dict[str, Any], keys: PiiKeys) -> dict[str, Any]:
    """A mediation as the API shows it (the parties' names decrypted for those who may see it); the
    agreement's document is at its own path."""
    agreement = doc.get("agreement")
    return mediation_head(doc) | {
        "parties": [party_shown(keys, doc["_id"], p) for p in doc.get("parties") or []],
        "sessions": [session_shown(keys, doc["_id"], s) for s in doc.get("sessions") or []],
        "outcome": doc.get("outcome"),
        "agreement": {k: v for k, v in agreement.items() if k not in AGREEMENT_DOC} if agreement else None,
        "fulfilment": doc.get("fulfilment"),
        "escalation": doc.get("escalation"),
        "referrals": doc.get("referrals") or [],
        "opened_at": doc["opened_at"],
        "due_at": doc.get("due_at"),
        "time_limit": doc.get("time_limit"),
        "concluded_at": doc.get("concluded_at"),
        "explanation": doc.get("explanation") or [],
        "actions": doc.get("actions") or [],
    }


async def audit_clear_read(
    med: Mediation, doc: dict[str, Any], user: Principal, endpoint: str, fields: list[str]
) -> None:
    """Record who read which personal data of a mediation in clear, when, and through which endpoint."""
    if not fields:
        return
    entry = {
        "mediation_id": doc["_id"],
        "case_id": doc["case_id"],
        "subject": user.subject,
        "role": user.role.value,
        "unit": user.unit,
        "fields": fields,
        "endpoint": endpoint,
        "at": med.clock.now(),
    }
    await med.repo.audit_clear_read(entry)


async def shown(med: Mediation, doc: dict[str, Any], user: Principal, endpoint: str) -> dict[str, Any]:
    """A mediation as the API shows it to a caller who may see it, its clear reads audited."""
    view = mediation_view(doc, med.rules.keys)
    await audit_clear_read(med, doc, user, endpoint, clear_fields(doc))
    return view
