"""What an event owes: the notices (kind, recipient, channel) and the values their templates fill in.

Pure: the event's data, notify's own view of the case (what earlier events said: the petitioner's
contact, the units), the recipients file and the county's time zone in; notices out.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch_common import subjects
from services.notify.domain import lookup
from services.notify.domain.agent_notices import (
    AGENT_VIEWS,
    agent_occasion,
    agent_recipient,
    copies_to_agents,
)
from services.notify.domain.languages import petitioner_preferences
from services.notify.domain.mediation_notices import MEDIATION_VIEWS, mediation_occasion
from services.notify.domain.models import (
    NOTICE_OF_OUTCOME,
    AlarmView,
    CaseAssignedView,
    CaseScreenedView,
    HandlingView,
    InspectionCompiledView,
    PetitionerContact,
    ReroutedView,
    RouteDisputedView,
    WarningRaisedView,
    petitioner_channel,
)
from services.notify.domain.occasion import Occasion, cn_date, cn_time
from services.notify.domain.occasion import unit_ref as _unit
from services.notify.domain.reception_notices import RECEPTION_VIEWS, reception_occasion
from services.notify.domain.recipients import EVENT_AUDIENCES, Directory, Recipient, Target

__all__ = ["CaseNotKnownYet", "Notice", "Occasion", "cn_date", "cn_time", "notices", "occasion"]

NOT_GIVEN = "（答复未载明。）"
RESULT_LABELS = {"resolved": "已解决", "explained": "已解释说明", "not_supported": "诉求不予支持"}
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
INSPECTION_LISTS = ("overdue", "irregular", "stuck", "ledger")  # ledger: 0 in reports from before it
WARNING_LABELS = {
    "cluster": "聚集性预警",
    "repeat": "重复信访预警",
    "trend": "趋势预警",
    "crisis": "心理危机预警",
    "escalation": "矛盾激化预警",
}
# The units an event names by audience (the lead unit and its leader are also found on the case view).
UNITS_OF_THE_EVENT = EVENT_AUDIENCES - {"petitioner", "lead_unit", "lead_unit_leader"}
PETITIONER = Recipient(key="petitioner", audience="petitioner", label="petitioner")


class CaseNotKnownYet(Exception):
    """The notice needs what an earlier event of the case tells (the petitioner), not seen yet."""


@dataclass(frozen=True)
class Notice:
    """One message owed: a kind of notice to one recipient on one channel."""

    kind: str
    target: Target
    values: dict[str, Any]
    urgent: bool
    case_id: str | None
    contact_token: str | None = None
    label: str = ""  # the recipient as APIs show it (masked)
    level: str | None = None
    lookup_token: str | None = None  # the sealed lookup code an SMS or e-mail fills in when sent (lookup.py)
    email_token: str | None = None  # the petitioner's sealed e-mail address, opened when sent


def occasion(event_type: str, data: Any, case: dict[str, Any], *, tz: ZoneInfo, at: datetime) -> Occasion:
    """Read an event: which kinds of notice it owes and the values they need."""
    lead = case.get("lead_unit") or {}
    base: dict[str, Any] = {
        "case_no": case.get("case_no") or getattr(data, "case_no", None) or "",
        "today": cn_date(at, tz),
        "unit_name": lead.get("name", ""),
        "due_date": cn_date(case.get("handling_due_at"), tz),
    }
    case_id = getattr(data, "case_id", None)
    if isinstance(data, CaseScreenedView):
        kind = NOTICE_OF_OUTCOME.get(data.outcome)
        values = (
            base
            | {
                "reason": data.reason,
                "answer": data.answer or "",
                "transfer_to": data.transfer_to or "",
            }
            | lookup.template_values(data.petitioner.lookup_token)
        )
        return Occasion([kind] if kind else [], case_id, values, urgent=data.outcome == "emergency_transfer")
    if isinstance(data, CaseAssignedView):
        handling = next((d for d in data.deadlines if d.kind == "handling"), None)
        values = base | {
            "unit_name": data.lead_unit.name,
            "due_date": cn_date(handling.due_at if handling else None, tz),
            "assisting_names": "、".join(
                u.name for u in data.assisting_units if u.code != data.lead_unit.code
            ),
        }
        units = {
            "lead_unit": [_unit(data.lead_unit)],
            "assisting_units": [_unit(u) for u in data.assisting_units if u.code != data.lead_unit.code],
        }
        return Occasion(["assignment"], case_id, values, units)
    if isinstance(data, HandlingView):
        return _handling(event_type, data, case_id, base, case, tz)
    if isinstance(data, AlarmView):
        kind = {
            subjects.CASE_DEADLINE_WARNING: "deadline_warning",
            subjects.CASE_OVERDUE: "overdue",
            subjects.CASE_ESCALATED: "escalation",
            subjects.LEDGER_DEADLINE_WARNING: "deadline_warning",  # a risk-ledger entry's (LedgerAlarmView)
            subjects.LEDGER_OVERDUE: "overdue",
            subjects.LEDGER_ESCALATED: "escalation",
        }[event_type]
        unit = _unit(data.lead_unit) if data.lead_unit else lead or None
        values = base | {
            "unit_name": (unit or {}).get("name", ""),
            "deadline_label": data.deadline.label or data.deadline.kind,
            "due_date": cn_date(data.deadline.due_at, tz),
            "due_time": cn_time(data.deadline.due_at, tz),
            "level_label": data.label or "",
        }
        return Occasion([kind], case_id, values, {"lead_unit": [unit] if unit else []}, level=data.level)
    if isinstance(data, ReroutedView):
        if data.cause != "conference":
            return Occasion([], case_id, base)  # the new lead unit hears of it by the assignment
        new = _unit(data.lead_unit) if data.lead_unit else None
        old = _unit(data.previous_lead_unit) if data.previous_lead_unit else None
        values = base | {
            "unit_name": (new or {}).get("name", ""),
            "previous_unit_name": (old or {}).get("name", ""),
            "reason": data.reason,
        }
        units = {"lead_unit": [new] if new else [], "previous_lead_unit": [old] if old else []}
        return Occasion(["conference_decision"], case_id, values, units)
    if isinstance(data, RouteDisputedView):
        unit = _unit(data.lead_unit) if data.lead_unit else None
        values = base | {"reason": data.reason, "unit_name": (unit or {}).get("name", "")}
        return Occasion(["dispute"], case_id, values, {"lead_unit": [unit] if unit else []})
    if isinstance(data, MEDIATION_VIEWS):
        return mediation_occasion(event_type, data, base, tz=tz)
    if isinstance(data, AGENT_VIEWS):
        return agent_occasion(event_type, data, base)
    if isinstance(data, RECEPTION_VIEWS):
        return reception_occasion(data, base, tz=tz)
    if isinstance(data, WarningRaisedView):
        values = base | {
            "case_no": data.case_no or "",
            "warning_label": WARNING_LABELS.get(data.kind, data.kind),
            "reason": data.reason,
        }
        return Occasion(["warning"], data.case_id, values)
    if isinstance(data, InspectionCompiledView):  # the morning's 网巡, for those who act on it
        values = base | {"day": cn_date(data.day, tz), **{k: data.counts.get(k, 0) for k in INSPECTION_LISTS}}
        return Occasion(["daily_inspection"], None, values)
    raise TypeError(f"no notices for {type(data).__name__}")


def _handling(
    event_type: str,
    data: HandlingView,
    case_id: str,
    base: dict[str, Any],
    case: dict[str, Any],
    tz: ZoneInfo,
) -> Occasion:
    note = data.note or ""
    if event_type == subjects.CASE_PROGRESSED:
        if data.action == "progress":
            # only a note the unit meant for the petitioner (`public`) is told them; the others are internal
            return Occasion(["progress"] if data.public else [], case_id, base | {"note": note})
        if data.action == "assistance":
            named = [{"code": code, "name": code} for code in data.units]
            return Occasion(["assistance"], case_id, base | {"note": note}, {"named_units": named})
        if data.action == "extension":
            # a request waits for a supervisor's decision: tell those who decide, or it waits unseen
            return Occasion(["extension_request"], case_id, base | {"note": note, "days": data.days or 0})
        return Occasion([], case_id, base)
    if event_type == subjects.CASE_EXTENDED:
        if not data.approved:
            return Occasion([], case_id, base)
        # the reason the unit gave when it asked (not the supervisor's decision note) and the new limit
        values = base | {
            "days": data.days or 0,
            "reason": case.get("extension_reason") or "",
            "due_date": cn_date(data.handling_due_at, tz) if data.handling_due_at else base["due_date"],
        }
        return Occasion(["extension"], case_id, values)
    if event_type == subjects.CASE_REPLIED:
        values = base | {
            "note": note,
            "result_label": RESULT_LABELS.get(data.result or "", data.result or ""),
            # the parts of the 答复意见书; an answer made before they existed says they were not given
            "matter": data.matter or NOT_GIVEN,
            "facts": data.facts or NOT_GIVEN,
            "basis": data.basis or NOT_GIVEN,
            # the county's documents.json names them (notify's handler puts them over these)
            "review_body": "原办理机关的上一级机关",
            "review_days": 30,
        }
        return Occasion(["reply", "followup"], case_id, values)
    if event_type == subjects.CASE_FOLLOWED_UP:
        values = base | {
            "note": note,
            "rating_label": RATING_LABELS.get(data.rating or "", data.rating or ""),
        }
        return Occasion(["rating"], case_id, values)
    if event_type == subjects.CASE_REOPENED:
        return Occasion(["reopened"], case_id, base | {"note": note})
    if event_type == subjects.CASE_REVIEW_ANSWERED:
        return Occasion(["review_answer"], case_id, base | {"note": note, "stage": data.stage or "复查"})
    if event_type == subjects.CASE_CLOSED:
        return Occasion(["closure"], case_id, base)
    return Occasion([], case_id, base)


def notices(occ: Occasion, case: dict[str, Any], directory: Directory) -> tuple[list[Notice], list[str]]:
    """Every message an occasion owes, one per (kind, recipient, channel), as the recipients file says;
    and what could not be addressed yet (a petitioner whose screening has not been seen)."""
    out: list[Notice] = []
    waiting: list[str] = []
    for kind in occ.kinds:
        rule = directory.rule(kind)
        if rule is None:
            continue
        urgent = rule.urgent or occ.urgent
        seen: set[tuple[str, str]] = set()
        for audience in rule.audiences(occ.level):
            try:
                found = _for_audience(audience, kind, occ, case, directory, urgent)
            except CaseNotKnownYet as exc:
                waiting.append(f"{kind}: {exc}")
                continue
            for notice in found:
                key = (notice.target.recipient.key, notice.target.channel)
                if key not in seen:
                    seen.add(key)
                    out.append(notice)
        for target in directory.webhook_targets(kind):
            out.append(
                Notice(
                    kind,
                    target,
                    occ.values,
                    urgent,
                    occ.case_id,
                    label=target.recipient.label,
                    level=occ.level,
                )
            )
    return out, waiting


def _for_audience(
    audience: str, kind: str, occ: Occasion, case: dict[str, Any], directory: Directory, urgent: bool
) -> list[Notice]:
    def made(
        target: Target,
        label: str,
        token: str | None = None,
        code: str | None = None,
        email: str | None = None,
    ) -> Notice:
        return Notice(kind, target, occ.values, urgent, occ.case_id, token, label, occ.level, code, email)

    if audience == "petitioner":
        if occ.case_id is None:
            return []
        if not case.get("petitioner"):
            raise CaseNotKnownYet(f"case {occ.case_id}: the petitioner is not known yet (no screening seen)")
        contact = PetitionerContact.model_validate(petitioner_preferences(case))
        channel, label, reason = petitioner_channel(contact, confidential=bool(case.get("confidential")))
        token = contact.contact_token if channel == "sms" else None
        email = contact.email_token if channel == "email" else None
        code = contact.lookup_token if channel in lookup.CHANNELS and kind in lookup.KINDS else None
        copies = [made(target, target.recipient.label) for target in copies_to_agents(case)]
        return [made(Target(PETITIONER, channel, reason), label, token, code, email), *copies]
    if audience == "agents":  # the proxy agents an event names (docs/agents.md): their inboxes
        agents = [agent_recipient(a["code"]) for a in occ.units.get("agents", [])]
        return [made(Target(r, "inbox"), r.label) for r in agents]
    recipients: list[Recipient]
    if audience in ("lead_unit", "lead_unit_leader"):
        units = occ.units.get("lead_unit") or ([case["lead_unit"]] if case.get("lead_unit") else [])
        make = directory.unit if audience == "lead_unit" else directory.unit_leader
        recipients = [make(u["code"], u["name"]) for u in units]
    elif audience in UNITS_OF_THE_EVENT:
        recipients = [directory.unit(u["code"], u["name"]) for u in occ.units.get(audience, [])]
    else:
        recipients = directory.group(audience)
    out = []
    for recipient in recipients:
        for target in directory.targets(recipient, kind):
            address = directory.masked(recipient.key, target.channel)  # e.g. x***@county.example
            out.append(made(target, f"{recipient.label} {address}" if address else recipient.label))
    return out
