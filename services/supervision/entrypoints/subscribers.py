"""Supervision's NATS consumers."""

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from services.supervision import handlers
from services.supervision.bootstrap import Supervision
from services.supervision.domain.events import CaseReceivedView, CaseRoutedView, CaseScreenedView


def register(sv: Supervision) -> None:
    """One durable consumer reads every case event: the timeline needs them all.

    Messages of one fetched batch are handled concurrently, so the handlers do not rely on order:
    opening the file and recording the route commute, and writes retry on a version conflict.
    """

    async def on_event(delivery: Delivery) -> None:
        event = delivery.event
        await handlers.record_on_timeline(delivery, files=sv.files)
        if event.type == subjects.CASE_RECEIVED:
            await handlers.open_case_file(
                CaseReceivedView.model_validate(event.data), files=sv.files, keeper=sv.keeper
            )
        elif event.type == subjects.CASE_SCREENED:
            screened = CaseScreenedView.model_validate(event.data)
            await handlers.record_screening(screened, files=sv.files, keeper=sv.keeper, at=event.time)
            if not screened.confidential:  # a report names no petitioner's repeats (its links are withheld)
                await sv.warnings.on_screened(screened.case_id, screened.case_no, screened.links)
        elif event.type in (subjects.CASE_ROUTED, subjects.CASE_REROUTED):  # a new route is a new assignment
            await handlers.assign_routed_case(
                event,
                CaseRoutedView.model_validate(event.data),
                files=sv.files,
                keeper=sv.keeper,
                clock=sv.clock,
                consumer=subjects.SUPERVISION_CASE_FILE,
            )
            doc = await sv.files.get(event.data["case_id"])
            # one mark per case: counted once; a confidential report marks no place
            if doc is not None and doc["status"] == "assigned" and not doc.get("confidential"):
                await sv.warnings.on_assigned(doc, doc.get("first_assigned_at") or doc["assigned_at"])
        elif event.type in (subjects.MEDIATION_OPENED, subjects.MEDIATION_CONCLUDED):
            await handlers.record_mediation(
                event.data["case_id"], event.type, event.data, at=event.time, files=sv.files, keeper=sv.keeper
            )
        elif event.type in (subjects.REFERRAL_CRISIS, subjects.MEDIATION_ESCALATED):
            await sv.warnings.on_danger(event.type, event.data)
        elif event.type == subjects.CASE_ROUTE_DISPUTED:
            data = event.data
            await handlers.record_dispute(
                data["case_id"], data["reason"], data["revision"], files=sv.files, keeper=sv.keeper
            )
        sv.runtime.nudge()

    sv.runtime.bus.consume(
        subject=subjects.DISPATCH_SUBJECTS, durable=subjects.SUPERVISION_CASE_FILE, handler=on_event
    )
