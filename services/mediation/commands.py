"""What people do to a mediation after it is opened: consent, sessions, the outcome, the fulfilment
check, escalation.

Every command reads the mediation whole, checks the lifecycle (409 when the state does not allow it,
403 when the caller is not entitled), and saves the change with its record and events under the
mediation's version. A referral the outcome asks for is inserted first with an id derived from the
mediation and its version, so a command retried after a crash finds it made and goes on.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id
from services.mediation.adapters.repository import MediationStore
from services.mediation.domain.documents import PARTY_ROLES, cn_date
from services.mediation.domain.events import mediation_event, party_view, referral_ref, session_view
from services.mediation.domain.lifecycle import ACTIONS, NotAllowed, check, may_see
from services.mediation.domain.models import NextStep, actor
from services.mediation.domain.parties import (
    is_party,
    party_name,
    protected_party,
    protected_person,
    sealed_document,
    sealed_record,
)
from services.mediation.domain.rules import Rules, derived_fields
from services.mediation.opening import MediationNotFound
from services.mediation.referral_commands import build_referral

SESSION_EVENTS = {
    "schedule_session": subjects.MEDIATION_SESSION_SCHEDULED,
    "reschedule_session": subjects.MEDIATION_SESSION_RESCHEDULED,
    "cancel_session": subjects.MEDIATION_SESSION_CANCELLED,
    "record_session": subjects.MEDIATION_SESSION_HELD,
}


@dataclass
class Change:
    """What a command changes on a mediation, the events it owes and the referral it makes."""

    changes: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (type, data) of the mediation
    referral: tuple[dict[str, Any], list[Envelope]] | None = None


async def act(
    mediation_id: str,
    action: str,
    details: dict[str, Any],
    *,
    caller: Principal,
    repo: MediationStore,
    rules: Rules,
    clock: Clock,
    precondition: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Take one action on a mediation: checked, recorded, announced.
    `precondition` sees the version read and may refuse it (If-Match); a save that loses a race reads
    it again, so a change made from a version gone by is refused there."""
    spec = ACTIONS[action]

    async def attempt() -> dict[str, Any]:
        doc = await repo.get(mediation_id)
        if doc is None or not may_see(caller, doc):
            raise MediationNotFound(f"no mediation {mediation_id}")
        if precondition is not None:
            precondition(doc["version"])
        check(spec, doc, caller)
        now = clock.now()
        change = _decide(action, doc, details, caller, now, rules, clock)
        record = {
            "action": action,
            "label": spec.label,
            "by": actor(caller),
            "at": now,
            "note": details.get("note"),
        }
        changes = change.changes | {"actions": [*doc["actions"], record]}
        if change.referral is not None:
            referral, referral_events = change.referral
            await repo.insert_referral(referral, referral_events)  # False: made by an earlier try
            changes["referrals"] = [*doc.get("referrals", []), referral["_id"]]
        state = doc | changes
        changes |= derived_fields(state)
        cause = f"{action}|{doc['version']}"
        events = [
            mediation_event(state, t, data, by=actor(caller), at=now, cause=f"{cause}|{i}", clock=clock)
            for i, (t, data) in enumerate(change.events)
        ]
        return await repo.save(doc, changes, events)

    return await store.retry_on_conflict(attempt)


def _decide(
    action: str,
    doc: dict[str, Any],
    d: dict[str, Any],
    caller: Principal,
    now: datetime,
    rules: Rules,
    clock: Clock,
) -> Change:
    if action == "consent":
        return _consent(doc, d, caller, now, rules, clock)
    if action in SESSION_EVENTS:
        return _session(action, doc, d, now, rules)
    if action == "conclude":
        return _conclude(doc, d, caller, now, rules, clock)
    if action == "check_fulfilment":
        return _fulfilment(doc, d, caller, now, rules, clock)
    if action == "escalate":
        return _escalate(doc, d, now, rules)
    raise NotAllowed(f"unknown action {action}")


def _referral(
    doc: dict[str, Any], step: NextStep, occasion: str, caller: Principal, rules: Rules, clock: Clock
) -> tuple[dict[str, Any], list[Envelope]] | None:
    if step.next_step != "referral":
        return None
    if step.referral is None:
        raise NotAllowed("name the referral: its kind and reason")
    # refusal, failure and an unfulfilled agreement each happen once to a mediation: the id depends on
    # the mediation and the occasion, so a command retried after a conflict or a crash finds its referral
    referral_id = derived_event_id("referral", doc["_id"], occasion, step.referral.kind)
    return build_referral(
        doc,
        step.referral,
        origin="mediation",
        referral_id=referral_id,
        mediation=doc,
        made_by=actor(caller),
        rules=rules,
        clock=clock,
    )


def _concluded(doc: dict[str, Any], result: str, now: datetime, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": result,
        "concluded_at": now,
        "duration_days": round((now - doc["opened_at"]).total_seconds() / 86_400, 2),
        **extra,
    }


def _concluded_event(
    outcome: dict[str, Any], agreement: dict[str, Any] | None, referral: dict[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """dispatch.mediation.concluded for an outcome."""
    data = {k: outcome[k] for k in ("result", "concluded_at", "duration_days", "reason", "next_step")}
    return subjects.MEDIATION_CONCLUDED, data | {"agreement": agreement, "referral": referral_ref(referral)}


def _consent(
    doc: dict[str, Any], d: dict[str, Any], caller: Principal, now: datetime, rules: Rules, clock: Clock
) -> Change:
    roles = rules.policy.consent.roles
    parties = [dict(p) for p in doc.get("parties") or []]
    for answer in d["parties"]:
        if answer["role"] not in roles:
            raise NotAllowed(f"a party's role is one of {roles}")
        same = next((p for p in parties if is_party(rules.keys, p, answer["role"], answer["name"])), None)
        if same is None:
            parties.append(protected_party(rules.keys, doc["_id"], answer["role"], answer["name"]))
            same = parties[-1]
        if answer.get("consent") is not None:
            same |= {"consent": answer["consent"], "answered_at": now}
    refused = [p for p in parties if p["consent"] is False]
    complete = all(any(p["role"] == r for p in parties) for r in roles) and all(p["consent"] for p in parties)
    status = "refused" if refused else "in_progress" if complete else "consent_pending"
    if doc["status"] == "escalated" and not refused:
        status = "escalated"  # an escalated dispute stays marked while the parties answer
    change = Change({"parties": parties, "status": status})
    change.events.append(
        (
            subjects.MEDIATION_CONSENT_RECORDED,
            {"parties": [party_view(p) | {"consent": p["consent"]} for p in parties]},
        )
    )
    if complete and not refused and doc.get("consented_at") is None:
        change.changes["consented_at"] = now
    if status == "refused":
        step = NextStep.model_validate(d.get("next") or {})
        change.referral = _referral(doc, step, "refusal", caller, rules, clock)
        names = "、".join(PARTY_ROLES.get(p["role"], p["role"]) for p in refused)
        reason = d.get("note") or f"{names}不同意调解"
        outcome = _concluded(doc, "refused", now, {"reason": reason, "next_step": step.next_step})
        change.changes |= {"outcome": outcome, "concluded_at": now}
        change.events.append(_concluded_event(outcome, None, change.referral[0] if change.referral else None))
    return change


def _session(action: str, doc: dict[str, Any], d: dict[str, Any], now: datetime, rules: Rules) -> Change:
    if doc.get("consented_at") is None:
        raise NotAllowed("mediation is voluntary: every party consents before a session")
    sessions = [dict(s) for s in doc.get("sessions") or []]
    reason = d.get("reason")
    if d.get("participants") is not None:
        protected = [
            protected_person(rules.keys, doc["_id"], p["role"], p["name"]) for p in d["participants"]
        ]
        d = d | {"participants": protected}
    previous_start: datetime | None = None
    if action == "schedule_session":
        if not d.get("place") and not d.get("video"):
            raise NotAllowed("a session needs a place or a video link")
        if d.get("end_at") is not None and d["end_at"] <= d["start_at"]:
            raise NotAllowed("a session ends after it starts")
        held_now = d.get("record") is not None
        if d["start_at"] <= now and not held_now:
            raise NotAllowed("a session is scheduled in the future; record one held already with its record")
        session = {
            "no": len(sessions) + 1,
            "status": "scheduled",
            "start_at": d["start_at"],
            "end_at": d.get("end_at"),
            "place": d.get("place"),
            "video": bool(d.get("video")),
            "video_link": d.get("video_link"),
            "participants": d.get("participants") or [],  # names encrypted above
            "changes": [],
            "record": None,
        }
        sessions.append(session)
        if held_now:
            if d["start_at"] > now:
                raise NotAllowed("a session is recorded once it has started")
            session |= {"status": "held", "record": sealed_record(rules.keys, doc["_id"], d["record"], now)}
            action = "record_session"
    else:
        session = next((s for s in sessions if s["no"] == d["no"]), None)
        if session is None:
            raise NotAllowed(f"no session {d['no']}")
        if session["status"] != "scheduled":
            raise NotAllowed(f"session {d['no']} is {session['status']}; only a scheduled session changes")
        if action == "reschedule_session":
            if d["start_at"] <= now:
                raise NotAllowed("a session is rescheduled to the future")
            previous_start = session["start_at"]
            session["changes"] = [*session["changes"], {"at": now, "from": previous_start, "reason": reason}]
            moved = ("start_at", "end_at", "place", "video", "video_link", "participants")
            session |= {k: d[k] for k in moved if d.get(k) is not None}  # what is not given stays
        elif action == "cancel_session":
            session |= {"status": "cancelled", "cancelled_at": now, "cancel_reason": reason}
        else:
            if session["start_at"] > now:
                raise NotAllowed("a session is recorded once it has started")
            session |= {"status": "held", "record": sealed_record(rules.keys, doc["_id"], d["record"], now)}
    data: dict[str, Any] = {"session": session_view(session), "reason": reason}
    if previous_start is not None:
        data["previous_start_at"] = previous_start
    return Change({"sessions": sessions}, [(SESSION_EVENTS[action], data)])


def _conclude(
    doc: dict[str, Any], d: dict[str, Any], caller: Principal, now: datetime, rules: Rules, clock: Clock
) -> Change:
    if not any(s["status"] == "held" for s in doc.get("sessions") or []):
        raise NotAllowed("record at least one session held before the outcome")
    result = d["result"]
    if result == "agreed":
        due: date = d["fulfilment_due"]
        today = now.astimezone(rules.timezone).date()
        if due < today:
            raise NotAllowed("the fulfilment date is today or later")
        agreement_no = f"{doc['case_no']}-{doc['_id'][:6].upper()}"
        check_at = rules.policy.fulfilment_check_at(due, rules.timezone)
        parties = [p for p in doc.get("parties") or [] if p.get("consent")]
        html = rules.documents.render(
            "agreement",
            {
                "type": doc["type"],
                "agreement_no": agreement_no,
                "case_no": doc["case_no"],
                "parties": [
                    {
                        "role": p["role"],
                        "role_label": PARTY_ROLES.get(p["role"], p["role"]),
                        "name": party_name(rules.keys, doc["_id"], p),
                    }
                    for p in parties
                ],
                "facts": d["facts"],
                "terms": d["terms"],
                "fulfilment_method": d["fulfilment_method"],
                "fulfilment_due": cn_date(due),
                "copies": len(parties) + 1,
                "organization": doc["organization"],
                "mediator": doc.get("mediator") or {"id": "", "name": ""},
                "signed_date": cn_date(today),
                "county_name": rules.county_name,
            },
        )
        agreement = {
            "agreement_no": agreement_no,
            "facts": d["facts"],
            "terms": d["terms"],
            "fulfilment_method": d["fulfilment_method"],
            "fulfilment_due": due.isoformat(),
            "check_at": check_at,
            "document_enc": sealed_document(rules.keys, doc["_id"], html),  # it names the parties
            "signed_at": now,
        }
        outcome = _concluded(doc, "agreed", now, {"reason": d.get("note"), "next_step": "fulfilment"})
        event_agreement = {
            "agreement_no": agreement_no,
            "fulfilment_due": due.isoformat(),
            "check_at": check_at,
        }
        change = Change({"status": "agreed", "agreement": agreement, "outcome": outcome, "concluded_at": now})
        change.events.append(_concluded_event(outcome, event_agreement, None))
        return change
    step = NextStep.model_validate(d.get("next") or {})
    referral = _referral(doc, step, "failure", caller, rules, clock)
    outcome = _concluded(doc, "failed", now, {"reason": d["reason"], "next_step": step.next_step})
    change = Change({"status": "failed", "outcome": outcome, "concluded_at": now}, referral=referral)
    change.events.append(_concluded_event(outcome, None, referral[0] if referral else None))
    return change


def _fulfilment(
    doc: dict[str, Any], d: dict[str, Any], caller: Principal, now: datetime, rules: Rules, clock: Clock
) -> Change:
    fulfilled = bool(d["fulfilled"])
    step = NextStep(next_step="handling") if not d.get("next") else NextStep.model_validate(d["next"])
    referral = None if fulfilled else _referral(doc, step, "unfulfilled", caller, rules, clock)
    fulfilment = {"fulfilled": fulfilled, "note": d.get("note"), "by": actor(caller), "at": now}
    next_step = "none" if fulfilled else step.next_step
    change = Change(
        {
            "status": "fulfilled" if fulfilled else "unfulfilled",
            "fulfilment": fulfilment | {"next_step": next_step},
        },
        referral=referral,
    )
    change.events.append(
        (
            subjects.MEDIATION_FULFILMENT_CHECKED,
            {
                "fulfilled": fulfilled,
                "note": d.get("note"),
                "next_step": next_step,
                "referral": referral_ref(referral[0]) if referral else None,
            },
        )
    )
    return change


def _escalate(doc: dict[str, Any], d: dict[str, Any], now: datetime, rules: Rules) -> Change:
    rule = rules.policy.escalation
    reasons = []
    people = d.get("people_count")
    if people is not None and people >= rule.people_count:
        reasons.append(f"{people} people involved (at least {rule.people_count})")
    if d.get("threats"):
        reasons.append("threats of violence")
    if not reasons:
        raise NotAllowed(
            f"a dispute escalates when at least {rule.people_count} people are involved "
            "or someone threatens violence"
        )
    police = rules.police_station(doc["jurisdiction"], rule.police_unit_types)
    escalation = {
        "reason": d["reason"],
        "people_count": people,
        "threats": bool(d.get("threats")),
        "reasons": reasons,
        "at": now,
        "police_station": police,
    }
    partners = [*doc.get("partner_units", []), *([police["code"]] if police else [])]
    change = Change({"status": "escalated", "escalation": escalation, "partner_units": partners})
    change.events.append(
        (
            subjects.MEDIATION_ESCALATED,
            {
                "reason": d["reason"],
                "people_count": people,
                "threats": bool(d.get("threats")),
                "warning": {"level": "warning", "reasons": reasons},
                "police_station": police,
                "jurisdiction": doc["jurisdiction"],
            },
        )
    )
    return change
