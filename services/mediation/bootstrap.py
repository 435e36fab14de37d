"""Mediation's composition root."""

from dataclasses import dataclass

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.http import create_app
from dispatch_common.runtime import Runtime
from services.mediation import handlers
from services.mediation.config import MediationSettings
from services.mediation.domain.models import RoutedDispute


@dataclass
class Mediation:
    """Everything mediation's handlers need."""

    runtime: Runtime
    mediations: AsyncCollection
    clock: Clock

    async def ensure_indexes(self) -> None:
        """Mediations are listed by case."""
        await self.mediations.create_index([("case_id", 1)])


def build(settings: MediationSettings | None = None, *, clock: Clock | None = None) -> Mediation:
    """Wire mediation's parts and its consumer."""
    settings = settings or MediationSettings()
    runtime = Runtime(settings)
    med = Mediation(
        runtime=runtime, mediations=runtime.outbox(runtime.db["mediations"]), clock=clock or SystemClock()
    )
    runtime.on_start(med.ensure_indexes)

    async def on_routed(delivery: Delivery) -> None:
        await handlers.open_mediation(
            delivery.event,
            delivery.data,
            mediations=med.mediations,
            clock=med.clock,
            consumer=subjects.MEDIATION_ON_ROUTED,
        )
        runtime.nudge()

    runtime.bus.consume(
        subject=subjects.CASE_ROUTED,
        durable=subjects.MEDIATION_ON_ROUTED,
        handler=on_routed,
        data_model=RoutedDispute,
    )
    return med


def create(settings: MediationSettings | None = None) -> FastAPI:
    """The mediation HTTP app."""
    from services.mediation.entrypoints import api

    med = build(settings)
    app = create_app(
        med.runtime,
        title="Mediation",
        description="People's mediation, legal aid and counselling tracks (人民调解).",
        include=api.include,
    )
    app.state.mediation = med
    return app
