"""Notify's handler: record every message an event owes, once per (event, kind, recipient, channel).

Nothing is sent here. Each message is inserted under its derived id before any channel sees it, so
a redelivered event finds its messages recorded and adds nothing; an inbox message is delivered by
that insert, the others wait for the sender.
"""

import logging
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from dispatch_common.auth import Role
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope
from services.notify import metrics
from services.notify.adapters.repository import Messages
from services.notify.domain.agent_notices import AGENT_VIEWS, agent_facts
from services.notify.domain.delivery import QuietHours
from services.notify.domain.languages import choose_language, petitioner_preferences
from services.notify.domain.message import delivered_now, hold_for_quiet_hours, new_message, sent_event
from services.notify.domain.models import (
    CaseAssignedView,
    CaseScreenedView,
    HandlingView,
    MediationOpenedView,
    ReroutedView,
)
from services.notify.domain.plan import CaseNotKnownYet, notices, occasion
from services.notify.domain.recipients import Directory
from services.notify.domain.templates import Templates

log = logging.getLogger("dispatch.notify")


@dataclass(frozen=True)
class Recorded:
    """What one event left: the ids of the messages recorded now, and their channels."""

    ids: list[str]
    channels: set[str]
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Notify's views of the batch's cases as this batch left them (the documents read them)."""


def case_facts(data: BaseModel) -> dict[str, Any]:
    """What an event tells notify about its case, to keep for later notices."""
    if isinstance(data, CaseScreenedView):
        # who submitted it: an external system reads the petitioner's inbox of its own cases only
        submitted = {"submitted_by": data.submitted_by} if data.submitted_by else {}
        if data.confidential:  # never lifted by a later (or redelivered) event
            petitioner = data.petitioner.model_dump()
            return {"case_no": data.case_no, "petitioner": petitioner, "confidential": True} | submitted
        if data.withheld:  # waiting for a person to screen it: intake tells nothing of the petitioner yet
            return {"case_no": data.case_no} | submitted
        return {"case_no": data.case_no, "petitioner": data.petitioner.model_dump()} | submitted
    if isinstance(data, CaseAssignedView):
        handling = next((d for d in data.deadlines if d.kind == "handling"), None)
        return {
            "case_no": data.case_no,
            "lead_unit": {"code": data.lead_unit.code, "name": data.lead_unit.name},
            "assisting_units": [{"code": u.code, "name": u.name} for u in data.assisting_units],
            "handling_due_at": handling.due_at if handling else None,
        }
    if isinstance(data, ReroutedView) and data.lead_unit is not None:
        lead = {"code": data.lead_unit.code, "name": data.lead_unit.name}
        return {"case_no": data.case_no, "lead_unit": lead}
    if isinstance(data, MediationOpenedView):
        return {}
    if isinstance(data, AGENT_VIEWS):
        return agent_facts(data)
    if isinstance(data, HandlingView):
        facts: dict[str, Any] = {"case_no": data.case_no}
        if data.action == "extension":  # the reason the petitioner is told when the extension is approved
            facts["extension_reason"] = data.note or ""
        if data.handling_due_at is not None:  # an approved extension or a reopening set a new limit
            facts["handling_due_at"] = data.handling_due_at
        return facts
    case_no = getattr(data, "case_no", None)
    return {"case_no": case_no} if case_no else {}


def may_be_told(key: str, case: dict[str, Any], readers: frozenset[Role]) -> bool:
    """Who hears of a confidential report (检举控告): the reporter (in the inbox), the units it is
    assigned to and their leaders, and the roles that read every report; no other group, unit or
    external system, whatever the recipients file says (dispatch_common/auth.may_see)."""
    if key == "petitioner":
        return True
    kind, _, who = key.partition(":")
    units = {u["code"] for u in [case.get("lead_unit") or {}, *(case.get("assisting_units") or [])] if u}
    if kind in ("unit", "unit_leader"):
        return who in units
    return kind == "role" and who in readers


@dataclass(frozen=True)
class Speaking:
    """What notify speaks with: its templates, recipients, clock, county and quiet hours."""

    templates: Templates
    directory: Directory
    clock: Clock
    timezone: ZoneInfo
    quiet: QuietHours | None
    county_name: str
    confidential_readers: frozenset[Role] = frozenset()
    languages: tuple[str, ...] = ("zh",)  # the county's (documents.json); the first is the templates' own
    letter_values: dict[str, Any] = field(default_factory=dict)  # the county's issuer: organ, review body


def owed_messages(
    event: Envelope, data: BaseModel, case: dict[str, Any], speaking: Speaking
) -> tuple[list[tuple[dict[str, Any], list[Envelope]]], list[str]]:
    """The messages an event owes (each with the events it owes: an inbox message is sent by being
    stored), and what it waits for (a notice that needs an event of the case not seen yet)."""
    occ = occasion(event.type, data, case, tz=speaking.timezone, at=event.time)
    occ.values["county_name"] = speaking.county_name
    occ.values.update(speaking.letter_values)  # the county's issuing organ, the body a 复查 is asked of
    requested = petitioner_preferences(case).get("language")
    now = speaking.clock.now()
    owed, waiting = notices(occ, case, speaking.directory)
    if case.get("confidential"):
        owed = [n for n in owed if may_be_told(n.target.recipient.key, case, speaking.confidential_readers)]
    out: list[tuple[dict[str, Any], list[Envelope]]] = []
    for notice in owed:
        audience = notice.target.recipient.audience
        if not speaking.templates.has(notice.kind, audience):
            log.warning("no template; notice not recorded", extra={"kind": notice.kind, "audience": audience})
            continue
        choice = choose_language(
            requested if audience == "petitioner" else None,
            speaking.languages,
            lambda lang, kind=notice.kind, aud=audience: speaking.templates.has(kind, aud, language=lang),
        )
        rendered = speaking.templates.compose(
            notice.kind, audience, notice.target.channel, occ.values, language=choice.used
        )
        due = hold_for_quiet_hours(
            notice.target.channel, notice.urgent, now, speaking.quiet, speaking.timezone
        )
        case_no = occ.values.get("case_no") or None
        doc = new_message(notice, rendered, cause=event, now=now, due=due, case_no=case_no)
        doc |= choice.record()
        if notice.target.channel == "post":  # no sender: clerks print it from the print queue and post it
            doc |= {"due_ts": None, "print_status": "to_print"}
        doc["confidential"] = bool(case.get("confidential"))  # shown only as auth.may_see allows
        doc["submitted_by"] = case.get("submitted_by")  # a petitioner's message: for its submitter only
        events = []
        if notice.target.channel == "inbox":
            doc = delivered_now(doc, now)
            events.append(sent_event(doc, now, speaking.clock))
        out.append((doc, events))
    return out, waiting


async def record_notices(
    deliveries: list[Delivery], *, messages: Messages, speaking: Speaking
) -> tuple[Recorded, dict[str, BaseException]]:
    """Record the messages a batch of events owes (一信三反馈 to the petitioner, alerts to units and
    leaders): notify's views of the cases read once and stored once, the messages inserted together.
    An event whose notice needs an event of its case not seen yet fails alone (it comes again)."""
    ordered = sorted(deliveries, key=lambda d: d.sequence)
    before = await messages.cases_of(
        getattr(d.data, "case_id", None) for d in ordered if getattr(d.data, "case_id", None)
    )
    views = dict(before)
    owed: list[tuple[dict[str, Any], list[Envelope]]] = []
    failures: dict[str, BaseException] = {}
    for delivery in ordered:  # in stream order: each notice sees its case as the events before it left it
        case_id = getattr(delivery.data, "case_id", None)
        case: dict[str, Any] = {}
        if case_id:
            facts = case_facts(delivery.data)
            case = views.get(case_id, {"_id": case_id})
            if facts and any(case.get(k) != v for k, v in facts.items()):
                case = views[case_id] = {**case, **facts}
        with delivery.traced():
            made, waiting = owed_messages(delivery.event, delivery.data, case, speaking)
        owed += made
        if waiting:
            # Recorded what could be; the event comes again (back-off) for the rest, which needs an event
            # of the case not seen yet. A notice that never finds its petitioner is dead-lettered, reported.
            failures[delivery.event.id] = CaseNotKnownYet("; ".join(waiting))
    await messages.keep_views(before, views)
    inserted = await messages.add_many(owed)
    recorded = Recorded([], set(), views)
    for doc, _ in owed:
        if doc["_id"] in inserted:
            recorded.ids.append(doc["_id"])
            recorded.channels.add(doc["channel"])
            metrics.MESSAGES.labels(doc["channel"], "recorded").inc()
            if doc["status"] == "sent":
                metrics.MESSAGES.labels(doc["channel"], "sent").inc()
    return recorded, failures
