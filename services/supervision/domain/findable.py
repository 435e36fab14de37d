"""What a case file carries so that it can be found: top-level fields computed on every save from
the rest of the file, each an equality or a range on one indexed field (docs/architecture.md, the
portable subset). Pure.

- the supervisors' queues: the moment a case started waiting for their decision (milliseconds);
- the staff search: registration time in milliseconds, the codes of the units on the case and of
  the areas it lies in, and its masked text (never shown, only matched; none for a confidential
  report).
"""

from typing import Any

from services.supervision.domain.lifecycle import ON_DESK
from services.supervision.domain.policy import to_ms

SEARCH_TEXT_CHARS = 2000


def waiting_for(state: dict[str, Any]) -> dict[str, int | None]:
    """What a case waits for from supervisors, as the moment it started waiting, or None: an
    extension request's decision, a review's or a re-review's answer, the joint conference."""
    status = state.get("status")
    request = state.get("extension_request") or {}
    extension = request.get("at") if request and request.get("decision") is None else None
    review = {"review": state.get("review_requested_at"), "re_review": state.get("re_review_requested_at")}
    disputed = state.get("disputed_at") or state.get("assigned_at") or state.get("received_at")
    return {
        "extension_pending_ts": to_ms(extension) if status in ON_DESK else None,
        "review_pending_ts": to_ms(review.get(str(status))),
        "disputed_ts": to_ms(disputed) if status == "route_disputed" else None,
    }


def search_fields(state: dict[str, Any]) -> dict[str, Any]:
    """What the staff search matches a case file on."""
    units = [state.get("lead_unit"), *(state.get("assisting_units") or [])]
    jurisdiction = state.get("jurisdiction") or {}
    text = state.get("search_text")
    return {
        "received_ts": to_ms(state.get("received_at")),
        "unit_codes": sorted({u["code"] for u in units if u}),
        "area_codes": sorted({v for k, v in jurisdiction.items() if k in ("town", "village", "grid") and v}),
        "search_text": None if state.get("confidential") or not text else text[:SEARCH_TEXT_CHARS],
    }


def derived(state: dict[str, Any]) -> dict[str, Any]:
    """Every field of this module, for a case file's state."""
    return waiting_for(state) | search_fields(state)
