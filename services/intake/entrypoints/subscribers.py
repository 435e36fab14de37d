"""Intake's NATS consumers: the ingress for external systems, and the lifecycle of the cases it keeps.

Each external system of the systems file submits on ingress.<system>.case.submit (its own stream
INGRESS_<SYSTEM>; the server lets only that system's user publish there), as a CloudEvent in the
structured or the binary mode of the NATS binding (dispatch_common/cloudevents_nats.py), and hears
back on outcome.<system>.case.<event> (its own stream OUTCOMES_<SYSTEM>, read through the consumer
outcome-<system> that intake creates, or through consumers the system makes to replay): received or
rejected at once, then the rest of the case's outcome feed (domain/feed.py). The submitting system is
the one the subject names, never what the payload says. Intake keeps what a case's followers need
from supervision's events (services/intake/lifecycle.py), never by reading another service's database.
"""

import logging
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from dispatch_common import cloudevents_nats, subjects
from dispatch_common.auth import Principal, Role
from dispatch_common.bus import Delivery
from dispatch_common.contracts import validate_envelope
from dispatch_common.envelope import Addressed, Envelope, derived_event_id, make_event
from dispatch_common.nats_permissions import ingress_consumer, outcome_consumer
from dispatch_common.streams import open311_outcome_stream, system_streams
from dispatch_common.systems import ExternalSystem
from services.intake import handlers, lifecycle
from services.intake.container import Intake
from services.intake.domain import feed
from services.intake.domain.events import IngressRejected
from services.intake.domain.models import ExternalRef, SubmitCase

log = logging.getLogger("dispatch.intake.ingress")
SOURCE = "/dispatch/intake"


def _rejection(
    submission: Envelope, data: IngressRejected, intake: Intake, system: ExternalSystem
) -> Addressed:
    """A rejection, in the system's own outcome subtree; its id is scoped by the system, as the
    submission's id is (two systems may use the same one)."""
    kind = subjects.OUTCOME_REJECTED
    event = make_event(
        type=kind,
        source=SOURCE,
        subject=submission.id,
        event_id=derived_event_id("intake-ingress", system.id, submission.id, kind),
        data=data,
        clock=intake.clock,
    )
    return Addressed(event, subjects.outcome_subject(system.id, kind))


def ingress_document(msg: Msg) -> dict[str, Any]:
    """A submission as a JSON-format document, from either mode of the CloudEvents NATS binding; one
    without `time` gets the time JetStream stored it."""
    document = cloudevents_nats.decode(msg.headers, msg.data)
    if "time" not in document:
        document["time"] = msg.metadata.timestamp.isoformat()
    return document


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


def _reference(data: dict[str, Any]) -> dict[str, str] | None:
    """The submission's external reference when it is one (to name in a rejection), else None."""
    try:
        return ExternalRef.model_validate(data.get("external_ref")).model_dump()
    except ValidationError:
        return None


async def submit_from_ingress(delivery: Delivery, *, intake: Intake, system: ExternalSystem) -> None:
    """Register a system's submission; answer accepted (with the case) or rejected (with reasons)."""
    event = delivery.event
    ref = _reference(event.data)

    async def reject(errors: list[dict[str, Any]]) -> None:
        rejected = IngressRejected(external_ref=ref, submission_id=event.id, errors=errors)
        await _publish(_rejection(event, rejected, intake, system), intake)

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
    if cmd.external_ref is None:
        await reject(
            [
                {
                    "loc": ["data", "external_ref"],
                    "msg": "a submission names its external_ref",
                    "type": "missing",
                }
            ]
        )
        return
    caller = Principal(subject=f"ingress:{system.id}", role=Role.EXTERNAL_SYSTEM)
    door = handlers.Door("nats", feed=system.id, submission_id=event.id)
    try:
        submission = await handlers.register_case(cmd, intake=intake, caller=caller, door=door)
    except handlers.IdempotencyConflict as exc:
        await reject([{"loc": ["data", "external_ref"], "msg": str(exc), "type": "conflict"}])
        return
    if submission.replayed:  # registered before: tell the sender again which case it is
        receipt = feed.received(
            submission.case, feed=system.id, submission_id=event.id, at=intake.clock.now()
        )
        await _publish(receipt, intake)
    intake.runtime.nudge()


def register(intake: Intake) -> None:
    """Consume each system's submissions (declaring its streams and its outcome consumer), and the
    lifecycle of the cases intake keeps."""
    bus = intake.runtime.bus
    bus.declare_stream(open311_outcome_stream(intake.runtime.settings))
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
        assert isinstance(submits.subject, str)
        bus.consume(
            subject=submits.subject,
            durable=submits.durable,
            handler=on_submit,
            stream=submits.stream,
            decode=ingress_document,
            validate=validate_envelope,  # the type and data are the handler's to answer
        )
    lifecycle.register(intake)
