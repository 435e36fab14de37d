"""What mediation's events owe: invitations, sessions and outcomes to the petitioner and the
organization; a mediation moved to another organization or mediator to the organization (and the one
it left); a time limit passed and fulfilment checks to the organization; referrals to the receiving
center and the petitioner; and at once, outside quiet hours, a dispute that grows or a counselling
crisis to the police station. Pure.

The police station is the one mediation named in the event (the unit of the county package serving
the case's place, by the unit types of its policy); notify does not look it up again.
"""

from typing import Any
from zoneinfo import ZoneInfo

from dispatch_common import subjects
from services.notify.domain.mediation_views import (
    FulfilmentDueView,
    MediationAssignedView,
    MediationConcludedView,
    MediationEscalatedView,
    MediationOpenedView,
    MediationOverdueView,
    MediationSessionView,
    ReferralCrisisView,
    ReferralView,
)
from services.notify.domain.occasion import Occasion, cn_date, cn_time, unit_ref
from services.notify.domain.view_base import UnitRef

MEDIATION_RESULTS = {"agreed": "达成调解协议", "failed": "调解未达成协议", "refused": "当事人不同意调解"}
REFERRAL_TRACKS = {
    "legal_aid": "法律援助",
    "counselling": "心理疏导",
    "arbitration": "劳动人事争议仲裁",
    "court": "诉调对接",
}
REFERRAL_RESULTS = {
    "resolved": "已解决",
    "unresolved": "未能解决",
    "withdrawn": "当事人撤回",
    "declined": "不予接收",
    "not_eligible": "不符合法律援助条件",
}
REFERRAL_KINDS = {
    subjects.REFERRAL_MADE: "referral_made",
    subjects.REFERRAL_ACCEPTED: "referral_accepted",
    subjects.REFERRAL_CLOSED: "referral_closed",
}
NO_POLICE_NAMED = (
    "属地公安派出所"  # the text when no police unit serves the place (the other audiences still hear)
)
MEDIATION_VIEWS = (
    MediationOpenedView,
    MediationAssignedView,
    MediationSessionView,
    MediationConcludedView,
    MediationEscalatedView,
    MediationOverdueView,
    FulfilmentDueView,
    ReferralView,
    ReferralCrisisView,
)


def _police(unit: UnitRef | None) -> list[dict[str, str]]:
    return [unit_ref(unit)] if unit else []


def _assigned(data: MediationAssignedView, values: dict[str, Any]) -> Occasion:
    """A mediation given to another organization (the organization it left hears of it too), or to
    another mediator of the same organization (that organization alone)."""
    previous = data.previous_organization
    left = previous if previous is not None and previous.code != data.organization.code else None
    values = values | {
        "organization_name": data.organization.name,
        "previous_organization_name": left.name if left else "",
        "mediator_name": data.mediator.name if data.mediator else "",
        "previous_mediator_name": data.previous_mediator.name if data.previous_mediator else "",
        "moved": left is not None,
        "reason": data.reason or "",
    }
    units = {
        "organization": [unit_ref(data.organization)],
        "previous_organization": [unit_ref(left)] if left else [],
    }
    return Occasion(["mediation_assigned"], data.case_id, values, units)


def mediation_occasion(event_type: str, data: Any, base: dict[str, Any], *, tz: ZoneInfo) -> Occasion:
    """Read one of mediation's events: the kinds of notice it owes and their values."""
    case_id = data.case_id
    if isinstance(data, MediationOpenedView):
        values = base | {
            "organization_name": data.organization.name,
            "opened_date": cn_date(data.opened_at, tz),
        }
        return Occasion(["mediation"], case_id, values, {"organization": [unit_ref(data.organization)]})
    values = base | {"case_no": data.case_no}
    if isinstance(data, MediationAssignedView):
        return _assigned(data, values)
    if isinstance(data, MediationOverdueView):
        values |= {
            "organization_name": data.organization.name,
            "mediator_name": data.mediator.name if data.mediator else "",
            "deadline_label": data.deadline.label,
            "due_time": cn_time(data.deadline.due_at, tz),
        }
        return Occasion(
            ["mediation_overdue"], case_id, values, {"organization": [unit_ref(data.organization)]}
        )
    if isinstance(data, MediationSessionView):
        session = data.session
        values |= {
            "organization_name": data.organization.name,
            "session_no": session.no,
            "session_time": cn_time(session.start_at, tz),
            "place": "视频调解" if session.video and not session.place else session.place or "",
            "rescheduled": event_type == subjects.MEDIATION_SESSION_RESCHEDULED,
            "cancelled": event_type == subjects.MEDIATION_SESSION_CANCELLED,
        }
        return Occasion(
            ["mediation_session"], case_id, values, {"organization": [unit_ref(data.organization)]}
        )
    if isinstance(data, MediationConcludedView):
        values |= {
            "organization_name": data.organization.name,
            "result": data.result,
            "result_label": MEDIATION_RESULTS.get(data.result, data.result),
        }
        return Occasion(
            ["mediation_outcome"], case_id, values, {"organization": [unit_ref(data.organization)]}
        )
    if isinstance(data, MediationEscalatedView):
        values |= {
            "organization_name": data.organization.name,
            "police_name": data.police_station.name if data.police_station else NO_POLICE_NAMED,
            "reason": data.reason,
            "people_count": data.people_count or 0,
            "threats": data.threats,
        }
        units = {
            "organization": [unit_ref(data.organization)],
            "police_station": _police(data.police_station),
        }
        return Occasion(["mediation_escalation"], case_id, values, units, urgent=True)
    if isinstance(data, FulfilmentDueView):
        values |= {
            "organization_name": data.organization.name,
            "agreement_no": data.agreement.agreement_no,
            "fulfilment_due": cn_date(data.agreement.fulfilment_due, tz),
        }
        return Occasion(
            ["mediation_fulfilment"], case_id, values, {"organization": [unit_ref(data.organization)]}
        )
    if isinstance(data, ReferralCrisisView):
        values |= {
            "center_name": data.receiving_unit.name,
            "police_name": data.police_station.name if data.police_station else NO_POLICE_NAMED,
            "note": data.note or "",
        }
        units = {
            "receiving_unit": [unit_ref(data.receiving_unit)],
            "police_station": _police(data.police_station),
        }
        return Occasion(["counselling_crisis"], case_id, values, units, urgent=True)
    if isinstance(data, ReferralView):
        values |= {
            "receiving_name": data.receiving_unit.name,
            "kind_label": REFERRAL_TRACKS.get(data.kind, data.kind),
            "reason": data.reason or "",
            "result_label": REFERRAL_RESULTS.get(data.result or "", data.result or ""),
            "note": data.note or "",
        }
        units = {"receiving_unit": [unit_ref(data.receiving_unit)]}
        # the track is the level: the recipients file may tell the petitioner of some tracks only
        return Occasion([REFERRAL_KINDS[event_type]], case_id, values, units, level=data.kind)
    raise TypeError(f"no notices for {type(data).__name__}")
