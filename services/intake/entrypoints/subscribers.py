"""Intake's NATS consumers: the ingress for external systems, and what intake learns of assignments.

External systems submit cases on ingress.case.submit and hear back on ingress.case.accepted or
ingress.case.rejected. Intake keeps who handles a case and by when (for Open311 readers) from
dispatch.case.assigned, never by reading another service's database.
"""

import logging
from datetime import datetime

from pydantic import ValidationError

from dispatch_common import subjects
from dispatch_common.auth import Principal, Role
from dispatch_common.bus import Delivery
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.intake import handlers
from services.intake.bootstrap import Intake
from services.intake.domain.events import IngressAccepted, IngressRejected
from services.intake.domain.models import Registered, SubmitCase

log = logging.getLogger("dispatch.intake.ingress")
SOURCE = "/dispatch/intake"


def _answer(
    kind: str, submission: Envelope, data: IngressAccepted | IngressRejected, intake: Intake
) -> Envelope:
    return make_event(
        type=kind,
        source=SOURCE,
        subject=getattr(data, "case_id", None) or submission.id,
        event_id=derived_event_id("intake-ingress", submission.id, kind),
        data=data,
        clock=intake.clock,
    )


async def submit_from_ingress(delivery: Delivery, *, intake: Intake) -> None:
    """Register an external submission; answer accepted (with the case) or rejected (with reasons)."""
    event = delivery.event
    ref = event.data.get("external_ref") if isinstance(event.data.get("external_ref"), dict) else None
    try:
        cmd = SubmitCase.model_validate(event.data)
    except ValidationError as exc:
        errors = [
            {"loc": ["data", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()
        ]
        rejected = IngressRejected(external_ref=ref, submission_id=event.id, errors=errors)
        await intake.runtime.bus.publish_event(
            _answer(subjects.INGRESS_CASE_REJECTED, event, rejected, intake).to_document()
        )
        return
    assert cmd.external_ref is not None  # required by proto/schemas/events/ingress.case.submit.json
    caller = Principal(subject=f"ingress:{event.source}", role=Role.EXTERNAL_SYSTEM)

    def accepted(registered: Registered) -> list[Envelope]:
        data = IngressAccepted(
            external_ref=cmd.external_ref.model_dump(), submission_id=event.id, **registered.model_dump()
        )
        return [_answer(subjects.INGRESS_CASE_ACCEPTED, event, data, intake)]

    try:
        submission = await handlers.register_case(cmd, intake=intake, caller=caller, also=accepted)
    except handlers.IdempotencyConflict as exc:
        errors = [{"loc": ["data", "external_ref"], "msg": str(exc), "type": "conflict"}]
        rejected = IngressRejected(external_ref=ref, submission_id=event.id, errors=errors)
        await intake.runtime.bus.publish_event(
            _answer(subjects.INGRESS_CASE_REJECTED, event, rejected, intake).to_document()
        )
        return
    if submission.replayed:  # registered before: tell the sender again which case it is
        await intake.runtime.bus.publish_event(accepted(submission.registered)[0].to_document())
    intake.runtime.nudge()


async def note_assignment(delivery: Delivery, *, intake: Intake) -> None:
    """Remember the lead unit and the handling deadline of an assigned case (idempotent $set).

    Datetimes go inside the ``assignment`` sub-document: the embedded server would store one set at
    the top level as a string (docs/decisions/0006).
    """
    data = delivery.event.data
    handling = [d for d in data.get("deadlines", []) if d.get("kind") == "handling"]
    assignment = {
        "lead_unit_code": data["lead_unit"]["code"],
        "lead_unit_name": data["lead_unit"]["name"],
        # the units that may read a confidential report's registration (dispatch_common/auth.may_see)
        "unit_codes": [data["lead_unit"]["code"], *(u["code"] for u in data.get("assisting_units") or [])],
        "due_at": datetime.fromisoformat(handling[0]["due_at"]) if handling else None,
        "noted_at": intake.clock.now(),
    }
    await intake.cases.cases.update_one({"_id": data["case_id"]}, {"$set": {"assignment": assignment}})


def register(intake: Intake) -> None:
    """Consume ingress.case.submit (stream INGRESS) and dispatch.case.assigned."""

    async def on_submit(delivery: Delivery) -> None:
        await submit_from_ingress(delivery, intake=intake)

    async def on_assigned(delivery: Delivery) -> None:
        await note_assignment(delivery, intake=intake)

    bus = intake.runtime.bus
    bus.consume(
        subject=subjects.INGRESS_CASE_SUBMIT,
        durable=subjects.INTAKE_INGRESS,
        handler=on_submit,
        stream=subjects.INGRESS_STREAM,
    )
    bus.consume(subject=subjects.CASE_ASSIGNED, durable=subjects.INTAKE_ON_ASSIGNED, handler=on_assigned)
