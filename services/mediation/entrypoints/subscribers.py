"""Mediation's NATS consumers."""

from typing import TYPE_CHECKING

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from services.mediation import handlers
from services.mediation.domain.models import RoutedDispute

if TYPE_CHECKING:
    from services.mediation.container import Mediation


def register(med: "Mediation") -> None:
    """Routed cases open mediations and referrals; rerouted cases only update what mediation knows
    of them (a `mediation` flag that appears only in a later revision opens nothing)."""

    async def on_routed(delivery: Delivery) -> None:
        made = await handlers.on_routed(
            delivery.event,
            delivery.data,
            repo=med.repo,
            rules=med.rules,
            clock=med.clock,
            consumer=subjects.MEDIATION_ON_ROUTED,
        )
        if made:
            med.runtime.nudge()

    async def on_rerouted(delivery: Delivery) -> None:
        await handlers.remember_case(delivery.data, repo=med.repo)

    # No inbox of processed events: mediations and referrals are inserted under ids derived from the
    # case, and what mediation keeps of a route is written again the same.
    med.runtime.bus.consume(
        subject=subjects.CASE_ROUTED,
        durable=subjects.MEDIATION_ON_ROUTED,
        handler=on_routed,
        data_model=RoutedDispute,
        inbox=False,
    )
    med.runtime.bus.consume(
        subject=subjects.CASE_REROUTED,
        durable=subjects.MEDIATION_ON_REROUTED,
        handler=on_rerouted,
        data_model=RoutedDispute,
        inbox=False,
    )
