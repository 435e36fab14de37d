"""Notify's NATS consumers: one durable consumer per event type it speaks on."""

from typing import TYPE_CHECKING

from pydantic import BaseModel

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from services.notify import handlers
from services.notify.domain.models import (
    AlarmView,
    CaseAssignedView,
    CaseScreenedView,
    FulfilmentDueView,
    HandlingView,
    MediationAssignedView,
    MediationConcludedView,
    MediationEscalatedView,
    MediationOpenedView,
    MediationOverdueView,
    MediationSessionView,
    ReferralCrisisView,
    ReferralView,
    ReroutedView,
    RouteDisputedView,
    WarningRaisedView,
)

if TYPE_CHECKING:
    from services.notify.bootstrap import Notify

# subject -> (durable consumer, the part of the event notify reads)
SUBSCRIPTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    subjects.CASE_SCREENED: (subjects.NOTIFY_ON_SCREENED, CaseScreenedView),
    subjects.CASE_ASSIGNED: (subjects.NOTIFY_ON_ASSIGNED, CaseAssignedView),
    subjects.CASE_PROGRESSED: (subjects.NOTIFY_ON_PROGRESSED, HandlingView),
    subjects.CASE_EXTENDED: (subjects.NOTIFY_ON_EXTENDED, HandlingView),
    subjects.CASE_REPLIED: (subjects.NOTIFY_ON_REPLIED, HandlingView),
    subjects.CASE_FOLLOWED_UP: (subjects.NOTIFY_ON_FOLLOWED_UP, HandlingView),
    subjects.CASE_REOPENED: (subjects.NOTIFY_ON_REOPENED, HandlingView),
    subjects.CASE_DEADLINE_WARNING: (subjects.NOTIFY_ON_DEADLINE_WARNING, AlarmView),
    subjects.CASE_OVERDUE: (subjects.NOTIFY_ON_OVERDUE, AlarmView),
    subjects.CASE_ESCALATED: (subjects.NOTIFY_ON_ESCALATED, AlarmView),
    subjects.CASE_REROUTED: (subjects.NOTIFY_ON_REROUTED, ReroutedView),
    subjects.CASE_ROUTE_DISPUTED: (subjects.NOTIFY_ON_ROUTE_DISPUTED, RouteDisputedView),
    subjects.MEDIATION_OPENED: (subjects.NOTIFY_ON_MEDIATION_OPENED, MediationOpenedView),
    subjects.MEDIATION_ASSIGNED: (subjects.NOTIFY_ON_MEDIATION_ASSIGNED, MediationAssignedView),
    subjects.MEDIATION_SESSION_SCHEDULED: (
        subjects.NOTIFY_ON_MEDIATION_SESSION_SCHEDULED,
        MediationSessionView,
    ),
    subjects.MEDIATION_SESSION_RESCHEDULED: (
        subjects.NOTIFY_ON_MEDIATION_SESSION_RESCHEDULED,
        MediationSessionView,
    ),
    subjects.MEDIATION_SESSION_CANCELLED: (
        subjects.NOTIFY_ON_MEDIATION_SESSION_CANCELLED,
        MediationSessionView,
    ),
    subjects.MEDIATION_CONCLUDED: (subjects.NOTIFY_ON_MEDIATION_CONCLUDED, MediationConcludedView),
    subjects.MEDIATION_ESCALATED: (subjects.NOTIFY_ON_MEDIATION_ESCALATED, MediationEscalatedView),
    subjects.MEDIATION_FULFILMENT_DUE: (subjects.NOTIFY_ON_MEDIATION_FULFILMENT_DUE, FulfilmentDueView),
    subjects.MEDIATION_OVERDUE: (subjects.NOTIFY_ON_MEDIATION_OVERDUE, MediationOverdueView),
    subjects.REFERRAL_MADE: (subjects.NOTIFY_ON_REFERRAL_MADE, ReferralView),
    subjects.REFERRAL_ACCEPTED: (subjects.NOTIFY_ON_REFERRAL_ACCEPTED, ReferralView),
    subjects.REFERRAL_CLOSED: (subjects.NOTIFY_ON_REFERRAL_CLOSED, ReferralView),
    subjects.REFERRAL_CRISIS: (subjects.NOTIFY_ON_REFERRAL_CRISIS, ReferralCrisisView),
    subjects.WARNING_RAISED: (subjects.NOTIFY_ON_WARNING_RAISED, WarningRaisedView),
}


def register(notify: "Notify") -> None:
    """Consume every event notify speaks on; a notice that needs an event not seen yet is retried."""

    async def on_event(delivery: Delivery) -> None:
        recorded = await handlers.record_notices(
            delivery.event,
            delivery.data,
            messages=notify.messages,
            templates=notify.templates,
            directory=notify.directory,
            clock=notify.clock,
            timezone=notify.timezone,
            quiet=notify.quiet,
            county_name=notify.county_name,
            confidential_readers=notify.confidentiality.readers,
        )
        if recorded.ids:
            notify.runtime.nudge()
            for channel in recorded.channels:
                if notify.sender is not None:
                    notify.sender.wake(channel)

    for subject, (durable, model) in SUBSCRIPTIONS.items():
        notify.runtime.bus.consume(subject=subject, durable=durable, handler=on_event, data_model=model)
