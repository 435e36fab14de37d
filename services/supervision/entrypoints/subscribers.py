"""Supervision's NATS consumers."""

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from services.supervision import handlers, incidents
from services.supervision.container import Supervision


def register(sv: Supervision) -> None:
    """One durable consumer reads every case event: the timeline needs them all.

    The events of a fetched batch are applied together (handlers.apply_events), one write per case
    file; the steps do not rely on the order events arrive in, and writes retry on a version conflict.
    """

    async def on_events(deliveries: list[Delivery]) -> dict[str, BaseException]:
        await sv.lookup_codes.apply(deliveries)  # the lookup codes' verifiers (progress.py)
        failures = await handlers.apply_events(
            deliveries,
            files=sv.files,
            keeper=sv.keeper,
            clock=sv.clock,
            warnings=sv.warnings,
            consumer=subjects.SUPERVISION_CASE_FILE,
        )
        applied = [d for d in deliveries if d.event.id not in failures]
        await incidents.follow_leads(applied, files=sv.files, keeper=sv.keeper, clock=sv.clock)
        failures |= await _filed_by_agents(deliveries, failures)
        sv.runtime.nudge()
        return failures

    async def _filed_by_agents(
        deliveries: list[Delivery], failed: dict[str, BaseException]
    ) -> dict[str, BaseException]:
        """Cases a proxy agent filed at intake get their representation (docs/agents.md)."""
        out: dict[str, BaseException] = {}
        if sv.representations is None:
            return out
        for delivery in deliveries:
            event = delivery.event
            if (
                event.type != subjects.CASE_RECEIVED
                or event.id in failed
                or not event.data.get("filed_by_agent")
            ):
                continue
            try:
                await sv.representations.record_filing(event.data, sv.clock)
            except Exception as exc:
                out[event.id] = exc
        return out

    # No inbox of processed events: every write is idempotent on its own (the timeline is keyed by
    # event id, each step of the case file is guarded by what the file says, domain/steps.py), which
    # saves two round trips per batch on the busiest consumer of the platform.
    sv.runtime.bus.consume_batch(
        filter_subjects=(subjects.DISPATCH_SUBJECTS,),
        durable=subjects.SUPERVISION_CASE_FILE,
        handler=on_events,
        inbox=False,
    )
