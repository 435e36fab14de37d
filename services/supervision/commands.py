"""What people do to a case after routing.

Every command reads the case file, checks the lifecycle (409 when the state does not allow it, 403
when the caller is not entitled), writes the change with its record, its event and the recomputed
deadlines under the file's version guard, and projects the worklist. The deadline scanner's alarms
are alarms.py; the recommendation powers are recommendations.py.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal, Role
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.lifecycle import (
    ACTIONS,
    RATINGS,
    REPLY_RESULTS,
    NotAllowed,
    check,
    unit_codes,
)
from services.supervision.domain.policy import Timekeeper
from services.supervision.domain.reply import reply_document, reply_parts
from services.supervision.handlers import SOURCE, save_file, with_deadlines

log = logging.getLogger("dispatch.supervision")

EVENT_OF_ACTION = {
    "sign": subjects.CASE_SIGNED,
    "progress": subjects.CASE_PROGRESSED,
    "assistance": subjects.CASE_PROGRESSED,
    "extension": subjects.CASE_PROGRESSED,
    "extension_decision": subjects.CASE_EXTENDED,
    "reply": subjects.CASE_REPLIED,
    "followup": subjects.CASE_FOLLOWED_UP,
    "close": subjects.CASE_CLOSED,
    "review": subjects.CASE_REVIEW_REQUESTED,
    "review_answer": subjects.CASE_REVIEW_ANSWERED,
    "re_review": subjects.CASE_REVIEW_REQUESTED,
    "re_review_answer": subjects.CASE_REVIEW_ANSWERED,
    "leader_holding": subjects.CASE_SUPERVISED,
    "joint_supervision": subjects.CASE_SUPERVISED,
}


def handling_due(deadlines: list[dict[str, Any]]) -> datetime | None:
    """The handling limit's due time among a file's deadlines."""
    return next((d["due_at"] for d in deadlines if d["kind"] == "handling"), None)


class CaseNotFound(Exception):
    """No case file, or not one the caller may see."""


@dataclass(frozen=True)
class Command:
    """A person's action on a case: its name and what they said."""

    action: str
    note: str | None = None
    details: dict[str, Any] | None = None


def actor(caller: Principal) -> dict[str, Any]:
    return {"subject": caller.subject, "role": caller.role.value, "unit": caller.unit}


def _event(doc: dict[str, Any], event_type: str, data: dict[str, Any], clock: Clock, cause: str) -> Envelope:
    return make_event(
        type=event_type,
        source=SOURCE,
        subject=doc["_id"],
        clock=clock,
        event_id=derived_event_id("supervision", doc["_id"], event_type, cause),
        data={"case_id": doc["_id"], "case_no": doc["case_no"], **data},
    )


def _changes(
    action: str, doc: dict[str, Any], cmd: Command, caller: Principal, now: datetime, keeper: Timekeeper
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What an action changes on the file, and the event's data beyond the case id and number."""
    spec = ACTIONS[action]
    details = dict(cmd.details or {})
    record = {
        "action": action,
        "label": spec.label,
        "by": actor(caller),
        "at": now,
        "note": cmd.note,
        **details,
    }
    changes: dict[str, Any] = {"actions": [*doc.get("actions", []), record]}
    if spec.moment:
        changes[f"{spec.moment}_at"] = now
    if spec.to:
        changes["status"] = spec.to
    data: dict[str, Any] = {"action": action, "by": actor(caller), "at": now, "note": cmd.note}

    if action == "extension":
        rule = keeper.policy.extension
        if doc.get("extension_request") and doc["extension_request"].get("decision") is None:
            raise NotAllowed("an extension request is waiting for its decision")
        if len(doc.get("extensions_granted") or []) >= rule.times:
            raise NotAllowed(f"a case may be extended {rule.times} time(s); it has been")
        days = int(details.get("days", 0))
        if not 1 <= days <= rule.max_days:
            raise NotAllowed(f"an extension is 1 to {rule.max_days} days")
        changes["extension_request"] = {
            "days": days,
            "reason": cmd.note,
            "by": actor(caller),
            "at": now,
            "decision": None,
        }
        data["days"] = days
    elif action == "extension_decision":
        request = doc.get("extension_request")
        if not request or request.get("decision") is not None:
            raise NotAllowed("no extension request is waiting for a decision")
        approved = bool(details.get("approve"))
        changes["extension_request"] = {
            **request,
            "decision": "approved" if approved else "refused",
            "decided_by": actor(caller),
            "decided_at": now,
        }
        data |= {"approved": approved, "days": request["days"] if approved else 0}
        if approved:
            extensions = dict(doc.get("extensions") or {})
            for rule in keeper.policy.deadlines:  # the limits the table marks extendable (handling)
                if rule.extendable:
                    extensions[rule.kind] = extensions.get(rule.kind, 0) + request["days"]
            changes |= {
                "extensions": extensions,
                "extensions_granted": [*doc.get("extensions_granted", []), request["days"]],
                "status": "extended",
            }
    elif action == "reply":
        result = details.get("result")
        if result not in REPLY_RESULTS:
            raise NotAllowed(f"result must be one of {sorted(REPLY_RESULTS)}")
        parts = reply_parts(doc, details)  # matter, facts, basis: given, or said to be missing
        changes["reply"] = {"result": result, "text": cmd.note, "by": actor(caller), "at": now, **parts}
        changes["reply"]["document_html"] = reply_document(
            doc | {"reply_parts": parts}, result, cmd.note or "", doc.get("lead_unit") or {}, now
        )
        data |= {"result": result, **parts}
    elif action == "followup":
        rating = details.get("rating")
        if rating not in RATINGS:
            raise NotAllowed(f"rating must be one of {sorted(RATINGS)}")
        changes["rating"] = {
            "rating": rating,
            "label": RATINGS[rating],
            "at": now,
            "by": actor(caller),
            "note": cmd.note,
        }
        data["rating"] = rating
        reopen = keeper.policy.followup.dissatisfied == "reopen" or bool(details.get("reopen"))
        if rating == "dissatisfied" and reopen:
            # 不满意: the case is reopened for the same lead unit with a new handling limit; the unit
            # signed for it before, so its sign limit is met at once, and earlier overdue marks go
            changes |= {
                "status": "reopened",
                "before_reopen": {k: doc.get(k) for k in ("assigned_at", "replied_at", "followed_up_at")},
                "reopened_at": now,
                "assigned_at": now,
                "signed_at": now,
                "replied_at": None,
                "followed_up_at": None,
                "overdue_kinds": [],
                "reopen_count": doc.get("reopen_count", 0) + 1,
            }
            data["reopened"] = True
        else:
            changes["status"] = "followed_up"
    elif action == "progress":
        visibility = details.get("visibility") or "internal"
        if visibility not in ("internal", "public"):
            raise NotAllowed("visibility is internal or public")
        changes["actions"][-1]["visibility"] = visibility
        data["public"] = visibility == "public"  # the event's field (notify and intake's feed read it)
    elif action == "assistance":
        asked: list[dict[str, Any]] = list(details.get("units") or [])
        if not asked:
            raise NotAllowed("name the units asked to assist")
        lead, on_case = unit_codes(doc)
        new = [{**u, "role": "assistance"} for u in asked if u["code"] != lead and u["code"] not in on_case]
        # the units asked join the case: they see it, post progress and have it on their worklist
        changes["assisting_units"] = [*doc.get("assisting_units", []), *new]
        changes["actions"][-1]["units"] = [u["code"] for u in asked]
        data["units"] = [u["code"] for u in asked]
    elif action in ("review", "re_review"):
        window = "review_request" if action == "review" else "re_review_request"
        limit = next((d for d in doc.get("deadlines") or [] if d["kind"] == window), None)
        if limit is not None and now > limit["due_at"]:
            raise NotAllowed(f"the request time ({limit['label']}) ended at {limit['due_at'].isoformat()}")
        data["stage"] = "复查" if action == "review" else "复核"
        if doc.get("status") == "reopened":
            # the petitioner asks for a review instead of waiting for the unit to handle it again:
            # the reopening ends, and the reply on file is what is reviewed, with its moments back
            changes |= doc.get("before_reopen") or {}
    elif action == "leader_holding":
        changes["leader_holding"] = {
            "leader": details.get("leader"),
            "responsibilities": details.get("responsibilities"),
            "plan": details.get("plan"),
            "by": actor(caller),
            "at": now,
        }
        changes["key_case"] = True
        data["leader"] = details.get("leader")
    elif action == "joint_supervision":
        changes["joint_supervision"] = {
            "with": details.get("with"),
            "reason": cmd.note,
            "by": actor(caller),
            "at": now,
        }
        data["with"] = details.get("with")
    elif action in ("review_answer", "re_review_answer"):
        data["stage"] = "复查" if action == "review_answer" else "复核"
    return _keep_mediation(doc, changes), data


def _keep_mediation(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """While a mediation of the case runs, handling goes on beside it without ending the state: a
    step that would move the case (progress, an approved extension) moves the state it returns to
    when the mediation concludes. A reply ends the handling, and with it the wait."""
    status = changes.get("status")
    if doc.get("status") != "in_mediation" or status not in ("in_progress", "extended"):
        return changes
    return {k: v for k, v in changes.items() if k != "status"} | {"status_before_mediation": status}


async def act(
    case_id: str,
    cmd: Command,
    *,
    caller: Principal,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock,
    confidential_readers: frozenset[Role] = frozenset(),
    precondition: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Take one action on a case: checked, recorded, announced, with its deadlines recomputed.
    `precondition` sees the version read and may refuse it (If-Match); a save that loses a race to
    another writer reads the file again, so a change made from a version gone by is refused there."""
    action = ACTIONS[cmd.action]

    async def attempt() -> dict[str, Any]:
        doc = await files.get(case_id)
        if doc is None or not caller.may_see(
            unit_codes=_units(doc),
            confidential=bool(doc.get("confidential")),
            confidential_readers=confidential_readers,
        ):
            raise CaseNotFound(f"no case {case_id}")
        if precondition is not None:
            precondition(doc["version"])
        check(action, doc, caller)
        now = clock.now()
        changes, data = _changes(cmd.action, doc, cmd, caller, now, keeper)
        event_type = subjects.CASE_REOPENED if data.get("reopened") else EVENT_OF_ACTION[cmd.action]
        data["status"] = changes.get("status", doc["status"])
        if event_type == subjects.CASE_REOPENED or (
            event_type == subjects.CASE_EXTENDED and data["approved"]
        ):
            # the handling limit the change set: what the petitioner and the submitting system are told
            due = handling_due(with_deadlines(doc, changes, keeper)["deadlines"])
            if due is not None:
                data["handling_due_at"] = due
        event = _event(doc, event_type, data, clock, cause=f"{cmd.action}|{doc['version']}")
        return await save_file(files, keeper, doc, changes, [event])

    return await store.retry_on_conflict(attempt)


def _units(doc: dict[str, Any]) -> set[str]:
    lead, assisting = unit_codes(doc)
    return ({lead} if lead else set()) | assisting
