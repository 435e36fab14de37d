"""A case as an Open311 service request: `open` or `closed` as its real lifecycle says, in full for the
client that submitted it, and in public fields for anyone else.

Public: status and its note, service, agency, the times, and the place no finer than the village (its
name, from the county package); no description, no address as given, no coordinates, no contact. In
full (the submitting client): also the description and address it sent (phone and ID numbers
masked, as everywhere outside intake), its coordinates, and the answer as the status note.
"""

from datetime import datetime
from typing import Any

CLOSED_AT_INTAKE = frozenset({"not_accepted", "redirected", "transferred", "answered"})
CLOSED_LATER = frozenset({"replied", "followed_up", "closed", "review_answered"})
LABELS = {
    "screening": "正在甄别",
    "accepted": "已受理",
    "not_accepted": "不予受理",
    "redirected": "已引导至法定途径",
    "transferred": "已转有权处理机关",
    "answered": "已解答",
    "assigned": "已派单",
    "signed": "承办单位已签收",
    "in_progress": "办理中",
    "extended": "已延期办理",
    "in_mediation": "调解中",
    "replied": "已答复",
    "followed_up": "已回访",
    "reopened": "重新办理",
    "closed": "已办结",
    "review": "复查中",
    "review_answered": "复查已答复",
    "re_review": "复核中",
}


def lifecycle_status(case: dict[str, Any]) -> str:
    """The status of the case as far as intake knows it (registration, then supervision's)."""
    return (case.get("lifecycle") or {}).get("status") or case["status"]


def open311_status(case: dict[str, Any]) -> str:
    """`closed` once the case ended at intake or was answered (and not reopened since), else `open`."""
    status = lifecycle_status(case)
    return "closed" if status in CLOSED_AT_INTAKE or status in CLOSED_LATER else "open"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def place_name(case: dict[str, Any], areas: dict[str, str]) -> str | None:
    """The case's town and village by name, as the assignment placed it (nothing finer)."""
    place = (case.get("assignment") or {}).get("place") or {}
    names = [areas[c] for c in (place.get("town"), place.get("village")) if c and c in areas]
    return "".join(names) or None


def request_view(
    case: dict[str, Any], *, service_name: str | None, areas: dict[str, str], full: bool
) -> dict[str, Any]:
    """A case as a GeoReport v2 service request (every field, null where not known or not shown)."""
    assignment = case.get("assignment") or {}
    life = case.get("lifecycle") or {}
    screening = case.get("screening") or {}
    status = lifecycle_status(case)
    reply = life.get("reply") or {}
    notes = LABELS.get(status, status)
    ended = case["status"] in CLOSED_AT_INTAKE
    notice = screening.get("answer") if case["status"] == "answered" else None
    view: dict[str, Any] = {
        "service_request_id": case["case_no"],
        "status": open311_status(case),
        "status_notes": notes,
        "service_name": service_name,
        "service_code": case.get("category_hint"),
        "description": None,
        "agency_responsible": assignment.get("lead_unit_name"),
        "service_notice": notice,
        "requested_datetime": _iso(case["received_at"]),
        "updated_datetime": _iso(life.get("at") or case["received_at"]),
        "expected_datetime": _iso(assignment.get("due_at")),
        "address": place_name(case, areas),
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
    if not full:
        return view
    loc = case.get("location") or {}
    if ended and screening.get("reason"):
        notes = f"{notes}：{screening['reason']}"
    elif reply.get("text") and status in CLOSED_LATER:
        notes = f"{notes}：{reply['text']}"
    return view | {
        "status_notes": notes,
        "description": case.get("text"),
        "address": case.get("address") or view["address"],
        "lat": loc.get("lat"),
        "long": loc.get("lon"),
    }
