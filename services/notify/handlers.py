"""Notify's handlers: record each notice once per (event, kind, recipient, channel)."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.notify.domain.models import (
    NOTICE_OF_OUTCOME,
    CaseScreenedView,
    NotificationSent,
    Templates,
    petitioner_channel,
)

SOURCE = "/dispatch/notify"


async def notify_screening(
    event: Envelope,
    case: CaseScreenedView,
    *,
    notifications: AsyncCollection,
    templates: Templates,
    clock: Clock,
    consumer: str,
    county_name: str,
) -> str | None:
    """Tell the petitioner the screening outcome (受理告知, 不予受理告知...): the first of three feedbacks."""
    kind = NOTICE_OF_OUTCOME.get(case.outcome)
    if kind is None:
        return None  # the manual screening queue decides first; the notice follows that decision
    channel, recipient, inbox_reason = petitioner_channel(case.petitioner)
    notification_id = derived_event_id("notification", event.id, kind, recipient, channel)
    now = clock.now()
    # The inbox is delivered by storing it; SMS waits in the queue for the gateway sender.
    status = "sent" if channel == "inbox" else "queued"
    doc: dict[str, Any] = {
        "_id": notification_id,
        "case_id": case.case_id,
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "contact_token": case.petitioner.contact_token if channel == "sms" else None,
        "body": templates.render(
            kind,
            channel,
            case_no=case.case_no,
            county_name=county_name,
            reason=case.reason,
            answer=case.answer or "",
        ),
        "status": status,
        "attempts": 0,
        "created_at": now,
        "sent_at": now if status == "sent" else None,
        "channel_reason": inbox_reason,
        "cause_event_id": event.id,
    }
    events = []
    if status == "sent":
        events.append(
            make_event(
                type=subjects.NOTIFICATION_SENT,
                source=SOURCE,
                subject=case.case_id,
                clock=clock,
                event_id=derived_event_id(consumer, event.id, subjects.NOTIFICATION_SENT, notification_id),
                data=NotificationSent(
                    notification_id=notification_id,
                    case_id=case.case_id,
                    kind=kind,
                    channel=channel,
                    recipient=recipient,
                    sent_at=now,
                ),
            )
        )
    await store.insert_aggregate(notifications, doc, events)  # False: recorded before, nothing more to do
    return notification_id
