"""Notify's composition root."""

from dataclasses import dataclass

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.county import county_name
from dispatch_common.http import create_app
from dispatch_common.runtime import Runtime
from services.notify import handlers
from services.notify.config import NotifySettings
from services.notify.domain.models import CaseScreenedView, Templates


@dataclass
class Notify:
    """Everything notify's handlers need."""

    runtime: Runtime
    notifications: AsyncCollection
    templates: Templates
    clock: Clock
    county_name: str

    async def ensure_indexes(self) -> None:
        """Notifications are listed by case."""
        await self.notifications.create_index([("case_id", 1), ("created_at", 1)])


def build(settings: NotifySettings | None = None, *, clock: Clock | None = None) -> Notify:
    """Wire notify's parts and its consumer."""
    settings = settings or NotifySettings()
    runtime = Runtime(settings)
    notify = Notify(
        runtime=runtime,
        notifications=runtime.outbox(runtime.db["notifications"]),
        templates=Templates(settings.templates_file),
        clock=clock or SystemClock(),
        county_name=county_name(settings.county_dir),
    )
    runtime.on_start(notify.ensure_indexes)

    async def on_screened(delivery: Delivery) -> None:
        await handlers.notify_screening(
            delivery.event,
            delivery.data,
            notifications=notify.notifications,
            templates=notify.templates,
            clock=notify.clock,
            consumer=subjects.NOTIFY_ON_SCREENED,
            county_name=notify.county_name,
        )
        runtime.nudge()

    runtime.bus.consume(
        subject=subjects.CASE_SCREENED,
        durable=subjects.NOTIFY_ON_SCREENED,
        handler=on_screened,
        data_model=CaseScreenedView,
    )
    return notify


def create(settings: NotifySettings | None = None) -> FastAPI:
    """The notify HTTP app."""
    from services.notify.entrypoints import api

    notify = build(settings)
    app = create_app(
        notify.runtime,
        title="Notify",
        description="Notices to petitioners and units (一信三反馈).",
        include=api.include,
    )
    app.state.notify = notify
    return app
