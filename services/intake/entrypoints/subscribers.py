"""Intake's NATS consumers: the ingress for external systems, and what intake learns of assignments.

Each external system of the systems file submits on ingress.<system>.case.submit (its own stream
INGRESS_<SYSTEM>; the server lets only that system's user publish there) and hears back on
outcome.<system>.case.accepted or .rejected (its own stream OUTCOMES_<SYSTEM>, read through the
consumer outcome-<system> that intake creates and only that system may read). The submitting system is
the one the subject names, never what the payload says. Intake keeps who handles a case and by when
(for Open311 readers) from dispatch.case.assigned, never by reading another service's database.
"""

import logging
from datetime import datetime
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from dispatch_common import subjects
from dispatch_common.auth import Principal, Role
from dispatch_common.bus import Delivery
from dispatch_common.envelope import Addressed, Envelope, derived_event_id, make_event
from dispatch_common.nats_permissions import ingress_consumer, outcome_consumer
from dispatch_common.streams import system_streams
from dispatch_common.systems import ExternalSystem
from services.intake import handlers
from services.intake.bootstrap import Intake
from services.intake.domain.events import IngressAccepted, IngressRejected
from services.intake.domain.models import Registered, SubmitCase

log = logging.getLogger("dispatch.intake.ingress")
SOURCE = "/dispatch/intake"


def _answer(
    kind: str,
    submission: Envelope,
    data: IngressAccepted | IngressRejected,
    intake: Intake,
    system: ExternalSystem,
) -> Addressed:
    """An answer to a system, in its own outcome subtree; its id is scoped by the system, as the
    submission's id is (two systems may use the same one)."""
    event = make_event(
        type=kind,
        source=SOURCE,
        subject=getattr(data, "case_id", None) or submission.id,
        event_id=derived_event_id("intake-ingress", system.id, submission.id, kind),
        data=data,
        clock=intake.clock,
    )
    return Addressed(event, subjects.outcome_subject(system.id, kind))


async def _publish(answer: Addressed, intake: Intake) -> None:
    await intake.runtime.bus.publish_event(answer.event.to_document(), subject=answer.subject)


def _claims(event: Envelope, system: ExternalSystem) -> list[dict[str, Any]]:
    """Where the submission claims to be from another system than the one whose subject it came on."""
    errors = []
    if event.type != subjects.INGRESS_CASE_SUBMIT:
        errors.append({"loc": ["type"], "msg": f"must be {subjects.INGRESS_CASE_SUBMIT}", "type": "type"})
    if event.source != system.source:
        msg = f"must be {system.source}, the source of system {system.id}, which this subject belongs to"
        errors.append({"loc": ["source"], "msg": msg, "type": "source_mismatch"})
    ref = event.data.get("external_ref")
    if isinstance(ref, dict) and ref.get("system") != system.id:
        msg = f"must be {system.id}, the system this subject belongs to"
        errors.append({"loc": ["data", "external_ref", "system"], "msg": msg, "type": "system_mismatch"})
    return errors


async def submit_from_ingress(delivery: Delivery, *, intake: Intake, system: ExternalSystem) -> None:
    """Register a system's submission; answer accepted (with the case) or rejected (with reasons)."""
    event = delivery.event
    ref = event.data.get("external_ref") if isinstance(event.data.get("external_ref"), dict) else None

    async def reject(errors: list[dict[str, Any]]) -> None:
        rejected = IngressRejected(external_ref=ref, submission_id=event.id, errors=errors)
        await _publish(_answer(subjects.INGRESS_CASE_REJECTED, event, rejected, intake, system), intake)

    errors = _claims(event, system)
    try:
        cmd = SubmitCase.model_validate(event.data)
    except ValidationError as exc:
        errors += [
            {"loc": ["data", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()
        ]
    if errors:
        await reject(errors)
        return
    assert cmd.external_ref is not None  # required by proto/schemas/events/ingress.case.submit.json
    caller = Principal(subject=f"ingress:{system.id}", role=Role.EXTERNAL_SYSTEM)

    def accepted(registered: Registered) -> list[Addressed]:
        data = IngressAccepted(
            external_ref=cmd.external_ref.model_dump(), submission_id=event.id, **registered.model_dump()
        )
        return [_answer(subjects.INGRESS_CASE_ACCEPTED, event, data, intake, system)]

    try:
        submission = await handlers.register_case(cmd, intake=intake, caller=caller, also=accepted)
    except handlers.IdempotencyConflict as exc:
        await reject([{"loc": ["data", "external_ref"], "msg": str(exc), "type": "conflict"}])
        return
    if submission.replayed:  # registered before: tell the sender again which case it is
        await _publish(accepted(submission.registered)[0], intake)
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
    """Consume each system's submissions (declaring its streams and its outcome consumer) and
    dispatch.case.assigned."""
    bus = intake.runtime.bus
    for system in intake.systems:

        async def on_submit(delivery: Delivery, system: ExternalSystem = system) -> None:
            await submit_from_ingress(delivery, intake=intake, system=system)

        for stream in system_streams(intake.runtime.settings, system):
            bus.declare_stream(stream)
        reads = outcome_consumer(system)
        bus.declare_consumer(
            reads.stream,
            ConsumerConfig(
                durable_name=reads.durable,
                filter_subject=reads.subject,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
        submits = ingress_consumer(system)
        bus.consume(
            subject=submits.subject, durable=submits.durable, handler=on_submit, stream=submits.stream
        )

    async def on_assigned(delivery: Delivery) -> None:
        await note_assignment(delivery, intake=intake)

    # No inbox of processed events: noting an assignment sets the same fields again.
    bus.consume(
        subject=subjects.CASE_ASSIGNED, durable=subjects.INTAKE_ON_ASSIGNED, handler=on_assigned, inbox=False
    )
