"""Referrals (转介): made from a mediation, a routing flag or a person; accepted, worked and closed by
the receiving center. Every step is checked (409 state, 403 caller), saved under the referral's
version with its event, and a crisis alerts at once in the same write.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope
from services.mediation.adapters.repository import MediationStore
from services.mediation.domain.documents import cn_date
from services.mediation.domain.events import referral_event
from services.mediation.domain.lifecycle import NotAllowed
from services.mediation.domain.models import ReferralRequest, actor
from services.mediation.domain.referrals import RESULTS, STEPS, check, may_see
from services.mediation.domain.rules import Rules, to_ms


class ReferralNotFound(Exception):
    """No referral, or not one the caller may see."""


def build_referral(
    case: dict[str, Any],
    request: ReferralRequest,
    *,
    origin: str,
    referral_id: str,
    mediation: dict[str, Any] | None,
    made_by: dict[str, Any] | None,
    rules: Rules,
    clock: Clock,
    event_id: str | None = None,
) -> tuple[dict[str, Any], list[Envelope]]:
    """A new referral and the events it owes: made, and a crisis alert for a counselling referral
    at the crisis level. `case` holds the case id, number and jurisdiction."""
    policy = rules.policy
    track = policy.referrals[request.kind]
    jurisdiction = {k: (case.get("jurisdiction") or {}).get(k) for k in ("town", "village")}
    units = rules.directory.units_of_types(track.unit_types, rules.chain(jurisdiction))
    if not units:
        raise NotAllowed(
            f"no unit of type {track.unit_types} serves the case: it cannot be referred to {track.label}"
        )
    receiving = {k: units[0][k] for k in ("code", "name", "type")}
    risk_level = request.risk_level
    if request.kind == "counselling":
        risk_level = risk_level or "unassessed"
        if risk_level not in policy.counselling.risk_levels:
            raise NotAllowed(f"risk level must be one of {sorted(policy.counselling.risk_levels)}")
    elif risk_level is not None:
        raise NotAllowed("a risk level belongs to counselling referrals")
    application = None
    if request.kind == "legal_aid" and request.matter_type is not None:
        if request.matter_type not in policy.legal_aid.matter_types:
            raise NotAllowed(f"matter type must be one of {sorted(policy.legal_aid.matter_types)}")
        application = {"matter_type": request.matter_type, "economic_hardship": request.economic_hardship}
    now = clock.now()
    doc: dict[str, Any] = {
        "_id": referral_id,
        "case_id": case["case_id"],
        "case_no": case["case_no"],
        "mediation_id": mediation["_id"] if mediation else None,
        "kind": request.kind,
        "kind_label": track.label,
        "status": "made",
        "origin": origin,
        "receiving_unit": receiving,
        "receiving_code": receiving["code"],
        "jurisdiction": jurisdiction,
        "reason": request.reason,
        "risk_level": risk_level,
        "application": application,
        "review": None,
        "handler": None,
        "sessions": 0,
        "crisis": None,
        "made_by": made_by,
        "made_at": now,
        "made_ts": to_ms(now),  # a center's list of what it receives is ordered by it
        "accepted_at": None,
        "closed_at": None,
        "result": None,
        "steps": [],
    }
    matter = policy.legal_aid.matter_types.get(request.matter_type or "")
    doc["letter_html"] = rules.documents.render(
        "referral_letter",
        {
            "referral_no": referral_id[:8].upper(),
            "case_no": doc["case_no"],
            "kind": request.kind,
            "kind_label": track.label,
            "receiving_unit": receiving,
            "from_name": mediation["organization"]["name"]
            if mediation
            else f"{rules.county_name}综合调度中心",
            "reason": request.reason or "",
            "risk_level_label": policy.counselling.risk_levels.get(risk_level or "", ""),
            "matter_label": matter.label if matter else "",
            "county_name": rules.county_name,
            "date": cn_date(now.astimezone(rules.timezone).date()),
        },
    )
    data = {
        "origin": origin,
        "reason": request.reason,
        "risk_level": risk_level,
        "matter_type": request.matter_type,
    }
    events = [
        referral_event(
            doc,
            subjects.REFERRAL_MADE,
            data,
            by=made_by,
            at=now,
            cause="made",
            clock=clock,
            event_id=event_id,
        )
    ]
    if risk_level is not None and risk_level == policy.counselling.crisis_level:
        doc["crisis"] = {"at": now, "note": request.reason, "by": made_by}
        events.append(_crisis_event(doc, request.reason, made_by, now, rules, clock, cause="made"))
    return doc, events


def _crisis_event(
    doc: dict[str, Any],
    note: str | None,
    by: dict[str, Any] | None,
    now: datetime,
    rules: Rules,
    clock: Clock,
    *,
    cause: str,
) -> Envelope:
    police = rules.police_station(doc["jurisdiction"], rules.policy.counselling.police_unit_types)
    data = {
        "risk_level": rules.policy.counselling.crisis_level,
        "note": note,
        "police_station": police,
        "jurisdiction": doc["jurisdiction"],
    }
    return referral_event(doc, subjects.REFERRAL_CRISIS, data, by=by, at=now, cause=cause, clock=clock)


async def refer(
    case_id: str,
    request: ReferralRequest,
    *,
    caller: Principal,
    repo: MediationStore,
    rules: Rules,
    clock: Clock,
    referral_id: str,
) -> dict[str, Any]:
    """A referral a person makes directly for a case mediation has heard of."""
    case = await repo.case(case_id)
    if case is None or not (
        caller.county_wide or (caller.unit is not None and caller.unit in case.get("units", []))
    ):
        raise ReferralNotFound(f"no routed case {case_id}")
    doc, events = build_referral(
        case,
        request,
        origin="direct",
        referral_id=referral_id,
        mediation=None,
        made_by=actor(caller),
        rules=rules,
        clock=clock,
    )
    if not await repo.insert_referral(doc, events):
        earlier = await repo.referral(referral_id)  # the same request again (its Idempotency-Key)
        if earlier is None:
            raise NotAllowed(f"referral {referral_id} could not be made")
        return earlier
    return doc


async def step(
    referral_id: str,
    name: str,
    details: dict[str, Any],
    *,
    caller: Principal,
    repo: MediationStore,
    rules: Rules,
    clock: Clock,
    precondition: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Take one step on a referral: accept, review, assign, record a session, raise a crisis, close.
    `precondition` sees the version read and may refuse it (If-Match); a save that loses a race reads
    it again, so a change made from a version gone by is refused there."""
    spec = STEPS[name]

    async def attempt() -> dict[str, Any]:
        doc = await repo.referral(referral_id)
        if doc is None or not may_see(caller, doc):
            raise ReferralNotFound(f"no referral {referral_id}")
        if precondition is not None:
            precondition(doc["version"])
        check(spec, doc, caller)
        now = clock.now()
        by = actor(caller)
        cause = f"{name}|{doc['version']}"
        record = {"step": name, "label": spec.label, "by": by, "at": now, **details}
        changes: dict[str, Any] = {"steps": [*doc.get("steps", []), record]}
        events: list[Envelope] = []
        if name == "accept":
            changes |= {"status": "accepted", "accepted_at": now}
            accepted = doc | changes
            events.append(
                referral_event(
                    accepted, subjects.REFERRAL_ACCEPTED, {}, by=by, at=now, cause=cause, clock=clock
                )
            )
        elif name == "review":
            eligible, reasons = rules.policy.legal_aid_eligibility(
                details["matter_type"], details["economic_hardship"]
            )
            if details.get("approve") and not eligible:
                raise NotAllowed("; ".join(reasons))
            approved = eligible and bool(details.get("approve", True))
            if not approved and not reasons:
                reasons = [details.get("note") or "refused at review"]
            changes["application"] = {
                "matter_type": details["matter_type"],
                "economic_hardship": details["economic_hardship"],
            }
            changes["review"] = {"eligible": approved, "reasons": reasons, "by": by, "at": now}
            if not approved:
                changes |= {"status": "closed", "closed_at": now, "result": "not_eligible"}
                events.append(_closed_event(doc | changes, "; ".join(reasons), by, now, cause, clock))
        elif name == "assign":
            changes["handler"] = {"name": details["name"], "at": now}
        elif name == "record_session":
            changes["sessions"] = doc.get("sessions", 0) + 1
            if details.get("risk_level"):
                if details["risk_level"] not in rules.policy.counselling.risk_levels:
                    raise NotAllowed(
                        f"risk level must be one of {sorted(rules.policy.counselling.risk_levels)}"
                    )
                changes["risk_level"] = details["risk_level"]
            if (
                changes.get("risk_level") == rules.policy.counselling.crisis_level
                and doc.get("crisis") is None
            ):
                changes["crisis"] = {"at": now, "note": details.get("note"), "by": by}
                events.append(
                    _crisis_event(doc | changes, details.get("note"), by, now, rules, clock, cause=cause)
                )
        elif name == "crisis":
            changes |= {
                "risk_level": rules.policy.counselling.crisis_level,
                "crisis": {"at": now, "note": details.get("note"), "by": by},
            }
            events.append(
                _crisis_event(doc | changes, details.get("note"), by, now, rules, clock, cause=cause)
            )
        elif name == "close":
            if details["result"] not in RESULTS:
                raise NotAllowed(f"result must be one of {sorted(RESULTS)}")
            changes |= {"status": "closed", "closed_at": now, "result": details["result"]}
            events.append(_closed_event(doc | changes, details.get("note"), by, now, cause, clock))
        return await repo.save_referral(doc, changes, events)

    return await store.retry_on_conflict(attempt)


def _closed_event(
    doc: dict[str, Any], note: str | None, by: dict[str, Any] | None, now: datetime, cause: str, clock: Clock
) -> Envelope:
    handler = doc.get("handler")
    data = {
        "result": doc["result"],
        "note": note,
        "sessions": doc.get("sessions", 0),
        "handler": {"name": handler["name"]} if handler else None,
    }
    return referral_event(doc, subjects.REFERRAL_CLOSED, data, by=by, at=now, cause=cause, clock=clock)
