"""Mediation's handlers."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.mediation.domain.models import (
    MEDIATION_FLAG,
    MediationOpened,
    RoutedDispute,
    choose_organization,
)

SOURCE = "/dispatch/mediation"


async def open_mediation(
    event: Envelope, case: RoutedDispute, *, mediations: AsyncCollection, clock: Clock, consumer: str
) -> str | None:
    """Open a people's mediation for a case routing flagged as a civil dispute; once per case."""
    if MEDIATION_FLAG not in case.flags:
        return None
    organization = choose_organization(case)
    if organization is None:
        return None  # no jurisdiction yet: the dispatcher places the case first, then routing flags it again
    mediation_id = derived_event_id("mediation", case.case_id)
    now = clock.now()
    opened = MediationOpened(
        mediation_id=mediation_id,
        case_id=case.case_id,
        organization=organization,
        type="people",
        status="opened",
        opened_at=now,
    )
    doc: dict[str, Any] = {
        "_id": mediation_id,
        "case_id": case.case_id,
        "case_no": case.case_no,
        "organization": organization.model_dump(),
        "type": "people",
        "status": "opened",
        "opened_at": now,
        "opened_by_event": event.id,
    }
    announce = make_event(
        type=subjects.MEDIATION_OPENED,
        source=SOURCE,
        subject=case.case_id,
        clock=clock,
        event_id=derived_event_id(consumer, event.id, subjects.MEDIATION_OPENED),
        data=opened,
    )
    await store.insert_aggregate(mediations, doc, [announce])  # False means opened before: nothing to do
    return mediation_id
