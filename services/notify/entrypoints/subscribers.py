"""Notify's NATS consumers: one durable consumer per event type it speaks on."""

from typing import TYPE_CHECKING

from pydantic import BaseModel

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from services.notify import handlers
from services.notify.documents import issuer_values, record_documents
from services.notify.domain.agent_notices import AgentEscalatedView, RepresentedView
from services.notify.domain.models import (
    AlarmView,
    CaseAssignedView,
    CaseScreenedView,
    FulfilmentDueView,
    HandlingView,
    InspectionCompiledView,
    LedgerAlarmView,
    MediationAssignedView,
    MediationConcludedView,
    MediationEscalatedView,
    MediationOpenedView,
    MediationOverdueView,
    MediationSessionView,
    ReceptionBookedView,
    ReceptionDecidedView,
    ReferralCrisisView,
    ReferralView,
    ReroutedView,
    RouteDisputedView,
    WarningRaisedView,
)

if TYPE_CHECKING:
    from services.notify.container import Notify

# subject -> the part of the event notify reads
SUBSCRIPTIONS: dict[str, type[BaseModel]] = {
    subjects.CASE_SCREENED: CaseScreenedView,
    subjects.CASE_ASSIGNED: CaseAssignedView,
    subjects.CASE_PROGRESSED: HandlingView,
    subjects.CASE_EXTENDED: HandlingView,
    subjects.CASE_REPLIED: HandlingView,
    subjects.CASE_FOLLOWED_UP: HandlingView,
    subjects.CASE_REOPENED: HandlingView,
    subjects.CASE_REVIEW_ANSWERED: HandlingView,
    subjects.CASE_CLOSED: HandlingView,
    subjects.CASE_DEADLINE_WARNING: AlarmView,
    subjects.CASE_OVERDUE: AlarmView,
    subjects.CASE_ESCALATED: AlarmView,
    subjects.CASE_REROUTED: ReroutedView,
    subjects.CASE_ROUTE_DISPUTED: RouteDisputedView,
    subjects.MEDIATION_OPENED: MediationOpenedView,
    subjects.MEDIATION_ASSIGNED: MediationAssignedView,
    subjects.MEDIATION_SESSION_SCHEDULED: MediationSessionView,
    subjects.MEDIATION_SESSION_RESCHEDULED: MediationSessionView,
    subjects.MEDIATION_SESSION_CANCELLED: MediationSessionView,
    subjects.MEDIATION_CONCLUDED: MediationConcludedView,
    subjects.MEDIATION_ESCALATED: MediationEscalatedView,
    subjects.MEDIATION_FULFILMENT_DUE: FulfilmentDueView,
    subjects.MEDIATION_OVERDUE: MediationOverdueView,
    subjects.REFERRAL_MADE: ReferralView,
    subjects.REFERRAL_ACCEPTED: ReferralView,
    subjects.REFERRAL_CLOSED: ReferralView,
    subjects.REFERRAL_CRISIS: ReferralCrisisView,
    subjects.WARNING_RAISED: WarningRaisedView,
    subjects.INSPECTION_COMPILED: InspectionCompiledView,
    subjects.LEDGER_DEADLINE_WARNING: LedgerAlarmView,
    subjects.LEDGER_OVERDUE: LedgerAlarmView,
    subjects.LEDGER_ESCALATED: LedgerAlarmView,
    subjects.CASE_REPRESENTED: RepresentedView,
    subjects.CASE_AGENT_ESCALATED: AgentEscalatedView,
    subjects.RECEPTION_BOOKED: ReceptionBookedView,
    subjects.RECEPTION_DECIDED: ReceptionDecidedView,
}


def register(notify: "Notify") -> None:
    """One durable consumer takes every event notify speaks on, a batch at a time; a notice that needs
    an event not seen yet is retried.

    No inbox of processed events: each message is inserted under an id derived from its cause, kind,
    recipient and channel, and notify's view of a case only gains facts, so an event applied again
    records nothing new.
    """
    speaking = handlers.Speaking(
        templates=notify.templates,
        directory=notify.directory,
        clock=notify.clock,
        timezone=notify.timezone,
        quiet=notify.quiet,
        county_name=notify.county_name,
        confidential_readers=notify.confidentiality.readers,
        languages=tuple(notify.issuing.book.issuer.languages) if notify.issuing else ("zh",),
        letter_values=issuer_values(notify.issuing.book) if notify.issuing else {},
    )

    async def on_events(deliveries: list[Delivery]) -> dict[str, BaseException]:
        recorded, failures = await handlers.record_notices(
            deliveries, messages=notify.messages, speaking=speaking
        )
        if notify.issuing is not None:  # the formal documents (规范文书) of the same events, archived once
            await record_documents(
                deliveries,
                failures,
                messages=notify.messages,
                issuing=notify.issuing,
                speaking=speaking,
                views=recorded.views,
            )
        if recorded.ids:
            notify.runtime.nudge()
            for channel in recorded.channels:
                if notify.sender is not None:
                    notify.sender.wake(channel)
        return failures

    notify.runtime.bus.consume_batch(
        filter_subjects=tuple(SUBSCRIPTIONS),
        durable=subjects.NOTIFY_EVENTS,
        handler=on_events,
        data_models=SUBSCRIPTIONS,
        inbox=False,
    )
