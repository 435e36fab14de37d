"""Intake's profile consumer: what the petitioner profile shows of every case's later life.

One durable consumer takes the events of routing, supervision and mediation a profile line shows
(category and town, reply, rating, closing, reopening, mediations, referrals), a batch at a time,
and stores each as one small record keyed by the event's id (adapters/profile.py): a redelivered
event is stored once, so the consumer needs no inbox. Events are preferred to asking the other
services over HTTP when a profile is opened (docs/architecture.md): a profile is one service's read.
"""

from typing import Any

from dispatch_common.bus import Delivery
from dispatch_common.consumer import Reject
from dispatch_common.crypto import PiiKeys, UndecryptableError
from dispatch_common.nats_permissions import INTAKE_PROFILE
from dispatch_common.runtime import Runtime
from dispatch_common.subjects import INTAKE_ON_PROFILE
from services.intake.adapters.profile import ProfileReader, records_of


async def keep_outcomes(
    deliveries: list[Delivery], *, reader: ProfileReader, keys: PiiKeys
) -> dict[str, BaseException]:
    """Store the profile's record of each event of a batch; the failures by event id (an event whose
    sealed party keys do not open is dead-lettered alone, at once)."""
    records: list[dict[str, Any]] = []
    failed: dict[str, BaseException] = {}
    for d in deliveries:
        try:
            records += records_of(d.event.id, d.event.type, d.event.data, d.event.time, keys=keys)
        except UndecryptableError as exc:  # a value of another record: no retry will open it
            failed[d.event.id] = Reject(f"party_keys do not open for this entry: {exc}")
    try:
        await reader.keep(records)
    except Exception as exc:  # the store failed: every event of the batch is retried, then dead-lettered
        return {d.event.id: exc for d in deliveries}
    return failed


def register(runtime: Runtime, reader: ProfileReader, keys: PiiKeys) -> None:
    """Consume the events the profile shows, a batch at a time."""

    async def on_events(deliveries: list[Delivery]) -> dict[str, BaseException]:
        return await keep_outcomes(deliveries, reader=reader, keys=keys)

    runtime.bus.consume_batch(
        filter_subjects=INTAKE_PROFILE, durable=INTAKE_ON_PROFILE, handler=on_events, inbox=False
    )
